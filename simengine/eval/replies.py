"""What the fake Ollama says: proposals from the request alone, and the lies it tells.

A real server is a separate process: it knows only the request. So do these
functions. They read the ``<<SCENE_JSON>>`` block the prompt builder puts in the
decide message (see :mod:`simengine.storytellers.prompts`), or failing that the
schema's ``actor`` enum, and return:

* :func:`plausible_proposal`: a proposal the rules accept (a move to an exit,
  a ``knows`` relation with someone here, picking up a loose unpriced item;
  answering a repair told that a person is unknown, that person's arrival);
* :func:`inject`: the same with one contradiction of a known kind
  (:data:`INJECTION_KINDS`), each one the engine must refuse (an unknown name
  appears where canon cannot invent it: killed, or handed something), for
  measuring how the engine copes;
* :func:`invention`: a welcome ``create`` op (a stranger arrives, a thing is found);
* :func:`prose_for`: narration built from a narrate request's WHAT HAPPENED lines;
* :func:`model_entry`, :func:`show_entry`: what ``/api/tags`` and ``/api/show``
  say about a model (a qwen2.5-like 3B, Q4_K_M).

Proposals use the flat op objects of the per-call schema, as a model obeying
it would, so they also exercise the storyteller's parser.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping
from typing import Any

from simengine.storytellers.prompts import REPAIR_HEADER, WORLD_OPEN, read_scene_block

#: Contradictions noisy mode can inject, in the order their rates are summed.
INJECTION_KINDS = (
    "unknown_name", "dead_actor", "unbalanced_currency", "teleport", "protected_change",
    "invalid_json", "schema_invalid",
)
_PEOPLE = ("Odile Venn", "Bram Holloway", "Ysolde Marsh", "Tobiah Crane", "Wenna Flint")
_THINGS = ("brass compass", "sealed letter", "tin whistle", "bundle of herbs", "cracked mirror")
# Parts of names nobody in any world has: each injected stranger gets a fresh one,
# since a repair may bring one in for good and a second mention must stay a lie.
_GHOST_FIRST = ("Zebediah", "Ottoline", "Barnabus", "Philippa", "Ezekiel", "Cordelia",
                "Ignatius", "Henrietta", "Lucius", "Wilhelmina")
_GHOST_LAST = ("Quillfeather", "Ashcombe", "Thistlewood", "Marrowby", "Grimsditch",
               "Pellinore", "Fairweather", "Blackthorne", "Underhill", "Merriwether")
_GHOST_TAIL = ("", " of Nowhere", " the Younger", " the Elder", " of the Glass Abbey",
               " the Third")
_UNKNOWN_PERSON = re.compile(r"'([^'\n]{1,80})' is not a known character")


def plausible_proposal(facts: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A proposal the rules accept, from the scene block alone (flat ops, as asked)."""
    actor = facts.get("actor")
    here = facts.get("location")
    exits = list(facts.get("exits") or [])
    people = [p for p in facts.get("people") or [] if isinstance(p, dict)]
    alive = {p["id"] for p in people if p.get("alive", True)}
    names = {p["id"]: p.get("name", p["id"]) for p in people}
    relations = facts.get("relations") or []
    options: list[tuple[str, list[dict[str, Any]]]] = []
    newcomers = facts.get("newcomers") or []
    if newcomers and here:
        # The repair of an unknown name: the person arrives first (canon makes them).
        who = newcomers[0]
        return {"actor": actor, "summary": f"{who} arrives",
                "ops": [{"op": "move", "entity": who, "to": here}]}
    mover = actor if actor else (sorted(alive)[0] if alive else None)
    if mover and (mover in alive or mover not in names):
        who = names.get(mover, mover)
        if exits:
            to = rng.choice(exits)
            options.append((f"{who} goes to {to}", [{"op": "move", "entity": mover, "to": to}]))
        others = sorted(alive - {mover})
        if others and "knows" in relations and actor:
            other = rng.choice(others)
            options.append((f"{who} talks with {names[other]}",
                            [{"op": "relate", "source": mover, "relation": "knows",
                              "target": other}]))
        loose = [i for i in facts.get("items") or [] if i.get("holder") == here
                 and not i.get("value")]
        if loose and actor:
            item = rng.choice(loose)
            options.append((f"{who} picks up the {item.get('name', item['id'])}",
                            [{"op": "transfer", "item": item["id"], "to": mover}]))
    if not options:
        summary = f"{names.get(actor, actor)} waits." if actor else "The hour passes quietly."
        return {"actor": actor, "summary": summary, "ops": []}
    summary, ops = rng.choice(options)
    return {"actor": actor, "summary": summary, "ops": ops}


def inject(kind: str, proposal: dict[str, Any], facts: dict[str, Any],
           rng: random.Random) -> dict[str, Any] | str | None:
    """``proposal`` with one contradiction of ``kind``; None when the scene has no room for it."""
    p = json.loads(json.dumps(proposal))
    actor = p.get("actor")
    people = [x for x in facts.get("people") or [] if isinstance(x, dict)]
    alive = [x["id"] for x in people if x.get("alive", True)]
    subject = actor or (alive[0] if alive else None)
    exits = facts.get("exits") or []
    here = facts.get("location")
    if kind == "invalid_json":
        return '{"actor": "%s", "summary": "She goes to the' % (actor or "x")
    if kind == "schema_invalid":
        return {"actor": actor, "summary": "Something odd", "ops": [{"op": "fly", "to": here}]}
    if kind == "unknown_name":
        # Someone who does not exist, in a role that cannot invent them (canon turns
        # an unknown *mover* into a welcome arrival, so that would be no contradiction).
        ghost = f"{rng.choice(_GHOST_FIRST)} {rng.choice(_GHOST_LAST)}{rng.choice(_GHOST_TAIL)}"
        loose = [i["id"] for i in facts.get("items") or [] if i.get("holder") == here
                 and not i.get("value")]
        if loose and rng.random() < 0.5:
            p["ops"].append({"op": "transfer", "item": rng.choice(loose), "to": ghost})
        else:
            p["ops"].append({"op": "kill", "entity": ghost, "cause": "a fall from the quay"})
    elif kind == "dead_actor":
        dead = facts.get("dead") or []
        target = exits[0] if exits else here
        if dead and target:
            p["ops"].append({"op": "move", "entity": dead[0], "to": target})
        elif subject and target:
            p["ops"] = [{"op": "kill", "entity": subject, "cause": "a sudden fever"},
                        {"op": "move", "entity": subject, "to": target}]
        else:
            return None
    elif kind == "unbalanced_currency":
        if not facts.get("currency") or not subject:
            return None
        p["ops"].append({"op": "adjust", "entity": subject, "attribute": facts["currency"],
                         "by": rng.randint(3, 30)})
    elif kind == "teleport":
        far = facts.get("beyond") or []
        if not far or not subject:
            return None
        p["ops"] = [{"op": "move", "entity": subject, "to": far[0]}]
    elif kind == "protected_change":
        protected = facts.get("protected") or []
        if not protected or not subject:
            return None
        p["ops"].append({"op": "adjust", "entity": subject, "attribute": protected[0], "by": 1})
    else:
        raise ValueError(f"unknown injection {kind!r}")
    return p


def invention(facts: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """A welcome ``create`` op: a new person or thing here (flat form)."""
    here = facts.get("location")
    if not here:
        return None
    taken = {str(x.get("name", "")).lower() for x in facts.get("people") or []}
    if rng.random() < 0.5:
        name = next((n for n in rng.sample(_PEOPLE, len(_PEOPLE)) if n.lower() not in taken), None)
        if name:
            return {"op": "create", "kind": "character", "name": name,
                    "description": "a stranger who has just arrived", "at": here}
    thing = rng.choice(_THINGS)
    return {"op": "create", "kind": "item", "name": thing.capitalize(),
            "description": f"a {thing} nobody had noticed before", "at": here}


def prose_for(messages: list[dict[str, Any]]) -> str:
    """Narration from the WHAT HAPPENED lines of a narrate request."""
    text = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    happened: list[str] = []
    if "WHAT HAPPENED:" in text:
        block = text.split("WHAT HAPPENED:", 1)[1].split("\n\n", 1)[0]
        happened = [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ")]
    if len(happened) > 1:  # the op lines carry names; the summary would repeat them
        happened = happened[1:]
    sentences = [h[0].upper() + h[1:].rstrip(".") + "." for h in happened[:3] if h]
    if not sentences:
        return "The moment passes, and nothing much changes."
    return " ".join(sentences) + " The air settles again."


def scene_facts_from(body: Mapping[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The scene facts of a request: its last scene block, else the schema's actor enum.

    A repair request told that a person is unknown also yields ``newcomers``: a
    model so told often fixes it by bringing that person in properly.
    """
    facts: dict[str, Any] | None = None
    for m in reversed(messages):
        facts = read_scene_block(str(m.get("content", "")))
        if facts is not None:
            break
    for m in messages:  # the world's fixed facts sit in the system message
        world = read_scene_block(str(m.get("content", "")), WORLD_OPEN)
        if world is not None and facts is not None:
            facts = {**world, **facts}
            break
    if facts is None:
        fmt = body.get("format") if isinstance(body.get("format"), dict) else {}
        actor_enum = fmt.get("properties", {}).get("actor", {}).get("enum") or [None]
        facts = {"actor": actor_enum[0], "people": [], "exits": [], "items": []}
    if is_repair(messages):
        feedback = str(messages[-1].get("content", ""))
        # Names, not ids: an unknown slug is a typo to fix, not a person to bring in.
        names = [n for n in _UNKNOWN_PERSON.findall(feedback) if n != n.lower() or " " in n]
        if names:
            facts["newcomers"] = list(dict.fromkeys(names))
    return facts


def is_repair(messages: list[dict[str, Any]]) -> bool:
    """Does the last user message carry violations to fix?"""
    last_user = next((str(m.get("content", "")) for m in reversed(messages)
                      if m.get("role") == "user"), "")
    return last_user.startswith(REPAIR_HEADER)


def roll_injection(rates: Mapping[str, float], messages: list[dict[str, Any]],
                   rng: random.Random) -> str | None:
    """Which contradiction (if any) noisy mode tells this time.

    A repair request is answered straight with probability ``repair_success``
    (0.8 by default), so repairs sometimes succeed and sometimes do not.
    """
    if is_repair(messages) and rng.random() < rates.get("repair_success", 0.8):
        return None
    u, acc = rng.random(), 0.0
    for kind in INJECTION_KINDS:
        acc += rates.get(kind, 0.0)
        if u < acc:
            return kind
    return None


# ------------------------------------------------------------------ model facts
DETAILS = {"parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
           "parameter_size": "3.1B", "quantization_level": "Q4_K_M"}
MODIFIED_AT = "2025-12-01T10:00:00Z"


def model_tag(name: str) -> str:
    """``qwen2.5`` -> ``qwen2.5:latest``, as the server names models."""
    return name if ":" in name else f"{name}:latest"


def tokens_of(text: str) -> list[str]:
    """Crude tokens (a word with its leading space): what streams as chunks."""
    return re.findall(r"\s*\S+|\s+$", text) or ([text] if text else [])


def keep_alive_seconds(value: Any) -> float:
    """``"10m"``, ``"30s"``, ``3600`` or None (the 5 minute default) -> seconds."""
    if value is None:
        return 300.0
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)(ms|s|m|h)?", str(value).strip())
    if not m:
        return 300.0
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return float(m.group(1)) * scale


def model_entry(model: str) -> dict[str, Any]:
    """One model as ``/api/tags`` lists it."""
    digest = hashlib.sha256(model.encode()).hexdigest()
    return {"name": model, "model": model, "modified_at": MODIFIED_AT,
            "size": 1_929_912_432, "digest": digest, "details": dict(DETAILS)}


def show_entry(model: str, context_length: int) -> dict[str, Any]:
    """``/api/show`` for a model (``model_info`` must be present for the client)."""
    return {"modelfile": f"FROM {model}\n", "parameters": 'stop "<|im_end|>"',
            "template": "{{ .Prompt }}", "details": dict(DETAILS),
            "model_info": {"general.architecture": "qwen2",
                           "qwen2.context_length": context_length},
            "capabilities": ["completion", "tools"], "modified_at": MODIFIED_AT}

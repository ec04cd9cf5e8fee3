"""Fine-tuning data out of saves: one example per accepted model exchange.

An example is a decide request's messages (the stable system message and the
scene) with the proposal the engine accepted as the assistant turn, in wire
format: after canon resolved its names and, when it needed one, after repair.
So a model trained on it learns to answer the first request with what finally
passed the rules. Beats the model did not carry (its ops were dropped, or the
procedural storyteller fell back) are left out; so are player turns unless
asked for, because the player's words may be private. Narrate exchanges
(prose about an accepted beat) can be added.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from simengine.store import Save
from simengine.store.events import Event
from simengine.storytellers.prompts import PLAYER_OPEN
from simengine.world.ops import Proposal

TrainingFormat = Literal["chat-jsonl", "sharegpt"]
TRAINING_FORMATS: tuple[str, ...] = ("chat-jsonl", "sharegpt")
_SHAREGPT_ROLES = {"system": "system", "user": "human", "assistant": "gpt"}

#: Why an exchange was left out, as the summary says it.
LEFT_OUT = {
    "fallback": "the model failed and the procedural storyteller told the beat",
    "rejected": "some of the model's ops broke rules and were dropped",
    "repaired": "needed a repair or a re-ask (--only-first-try)",
    "player": "player turns (add --include-player-text; the player's words may be private)",
    "narrate_failed": "narrations cut short or failed",
    "narrate_drifted": "narrations that told what did not happen (stopped by the drift check)",
}


@dataclass
class Summary:
    """How many examples came from how many saves, and what was left out."""

    examples: int = 0
    decide_examples: int = 0
    narrate_examples: int = 0
    saves: int = 0
    saves_with_examples: int = 0
    left_out: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [
            f"{self.examples} examples ({self.decide_examples} decide, {self.narrate_examples} "
            f"narrate) from {self.saves_with_examples} of {self.saves} saves"
        ]
        out += [f"left out {n}: {LEFT_OUT[why]}" for why, n in sorted(self.left_out.items())]
        return out


def proposal_json(event: Event) -> str:
    """The accepted proposal of an event, in wire format (compact JSON)."""
    proposal = Proposal(actor=event.actor, summary=event.summary[:400], ops=event.ops)
    return json.dumps(proposal.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


def _messages(request: Any) -> list[dict[str, str]] | None:
    messages = request.get("messages") if isinstance(request, dict) else None
    if not isinstance(messages, list) or not messages:
        return None
    return [{"role": str(m.get("role")), "content": str(m.get("content", ""))}
            for m in messages if isinstance(m, dict)]


def examples(
    save: Save,
    summary: Summary,
    *,
    only_first_try: bool = False,
    include_player_text: bool = False,
    narrate: bool = False,
) -> Iterator[list[dict[str, str]]]:
    """Each example of one save as a list of chat messages (the last one the assistant's)."""
    summary.saves += 1
    before = summary.examples
    for event in save.events():
        calls = save.calls(event.id)
        decide = [c for c in calls if c.get("phase") in ("decide", "repair")]
        if not decide:
            continue  # told without a model: nothing to learn from
        accepted = [c for c in decide if c.get("accepted")]
        if not accepted or accepted[-1].get("storyteller") != event.storyteller:
            summary.left_out["fallback" if event.storyteller != decide[0].get("storyteller")
                             else "rejected"] += 1
            continue
        first = next((c for c in decide if c.get("phase") == "decide"), None)
        messages = _messages(first.get("request")) if first else None
        if messages is None:
            continue
        if only_first_try and len(decide) > 1:
            summary.left_out["repaired"] += 1
            continue
        # Only the decide request: the repair's feedback turns are not the example.
        messages = [m for m in messages if m["role"] in ("system", "user")][:2]
        # (the system message names the marker too: only a user message carries the text)
        private = event.kind == "player" or any(
            f"{PLAYER_OPEN}\n" in m["content"] for m in messages if m["role"] == "user")
        if private and not include_player_text:
            summary.left_out["player"] += 1
            continue
        summary.examples += 1
        summary.decide_examples += 1
        yield [*messages, {"role": "assistant", "content": proposal_json(event)}]
        if narrate:
            yield from _narrations(calls, summary)
    if summary.examples > before:
        summary.saves_with_examples += 1


def _narrations(calls: list[dict[str, Any]], summary: Summary) -> Iterator[list[dict[str, str]]]:
    for call in calls:
        if call.get("phase") != "narrate":
            continue
        messages = _messages(call.get("request"))
        text = call.get("response")
        if call.get("error") or not messages or not isinstance(text, str) or not text.strip():
            summary.left_out["narrate_failed"] += 1
            continue
        if call.get("accepted") is False:
            summary.left_out["narrate_drifted"] += 1
            continue
        summary.examples += 1
        summary.narrate_examples += 1
        yield [*messages, {"role": "assistant", "content": text.strip()}]


def render(example: list[dict[str, str]], fmt: TrainingFormat) -> str:
    """One JSON line: ``{"messages": [...]}`` or ShareGPT's ``{"conversations": [...]}``."""
    if fmt == "sharegpt":
        turns = [{"from": _SHAREGPT_ROLES.get(m["role"], m["role"]), "value": m["content"]}
                 for m in example]
        return json.dumps({"conversations": turns}, ensure_ascii=False)
    return json.dumps({"messages": example}, ensure_ascii=False)


def export_training(
    saves: Iterable[Save], fmt: TrainingFormat, **options: bool
) -> tuple[str, Summary]:
    """Every example of ``saves`` as JSON lines in ``fmt``, and the summary."""
    summary = Summary()
    lines = [render(ex, fmt) for save in saves for ex in examples(save, summary, **options)]
    return "".join(line + "\n" for line in lines), summary

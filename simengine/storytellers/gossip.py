"""Facts spreading without a model: answers, gossip and overhearing.

A person tells what they know when asked (:func:`answer_ops`, the ``tell`` the
player's question earns), passes on what they know to acquaintances they meet
at the pace the world's ``[story] gossip`` sets (:func:`plan_gossip`, never a
secret), and whoever stands by overhears what is said aloud (:func:`overhear`).
Every op goes through the rules like any other; every choice comes from the
RNG the caller passes.
"""

from __future__ import annotations

import random

from simengine.storytellers import dialogue
from simengine.world.ops import Learn, Op, Tell
from simengine.world.state import WorldState

#: A planned beat: its summary and its ops in bundles that stand or fall together.
Plan = tuple[str, list[list[Op]]]


def gossip_rate(state: WorldState) -> float:
    """The world's ``[story] gossip`` (0 in a world where everyone knows everything)."""
    return float(state.graph.graph.get("gossip") or 0.0)


def acquainted(state: WorldState, a: str, b: str) -> bool:
    """Any tie between two people, either way: friends, rivals and masters know each other."""
    return any(b in (src, dst) for src, _, dst in state.relations(a))


def tellable(state: WorldState, teller: str, listener: str) -> list[str]:
    """What ``teller`` could pass on to ``listener`` as gossip: known, new to them, no secret."""
    return [f for f in state.facts_known(teller)
            if not state.is_public(f) and not state.is_secret(f)
            and not state.knows(listener, f)]


def overhear(state: WorldState, teller: str, listener: str, fact: str) -> list[list[Op]]:
    """``learn`` bundles for the others standing by when ``fact`` is said aloud.

    A secret is said low: nobody overhears it.
    """
    here = state.where(teller)
    if here is None or state.is_secret(fact):
        return []
    return [[Learn(entity=p, fact=fact)] for p in state.people_at(here)
            if p not in (teller, listener) and not state.knows(p, fact)]


def telling(state: WorldState, teller: str, listener: str, fact: str) -> list[list[Op]]:
    """The ``tell`` and what the bystanders overhear, as bundles."""
    return [[Tell(entity=teller, to=listener, fact=fact)], *overhear(state, teller, listener,
                                                                        fact)]


def answer_ops(state: WorldState, teller: str, asker: str, topic: str) -> list[list[Op]]:
    """What answering "what about TOPIC?" commits: the fact told, if the teller will.

    The same choice as the words :func:`~simengine.storytellers.dialogue.answer`
    says (no dice), so the answer read and the knowledge committed agree.
    """
    fact = dialogue.fact_on(state, teller, topic, asker) if topic.strip() else None
    if fact is None or state.knows(asker, fact) or dialogue.may_share(state, teller, asker, fact):
        return []
    return telling(state, teller, asker, fact)


def plan_gossip(state: WorldState, actor: str, rng: random.Random,
                skip: frozenset[str] = frozenset()) -> Plan | None:
    """A beat of gossip: ``actor`` tells an acquaintance here something new to them.

    Happens with the world's gossip chance, when someone here (not in ``skip``)
    knows the actor and is not cold to them, and the actor knows something they
    do not (no secret).
    """
    rate = gossip_rate(state)
    if rate <= 0 or rng.random() >= rate:
        return None
    here = state.where(actor)
    if here is None:
        return None
    options = [
        (other, fact)
        for other in state.people_at(here)
        if other != actor and other not in skip and acquainted(state, actor, other)
        and dialogue.stance(state, actor, other) != "cold"
        for fact in tellable(state, actor, other)
    ]
    if not options:
        return None
    other, fact = rng.choice(options)
    summary = f"{state.name(actor)} tells {state.name(other)}: {state.fact_text(fact).strip()}"
    return summary, telling(state, actor, other, fact)

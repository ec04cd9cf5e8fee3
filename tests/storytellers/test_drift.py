"""The narration check on crafted sentences: each kind of drift is caught, clean prose passes."""

from __future__ import annotations

import pytest

from simengine.storytellers.drift import (
    DriftCheck,
    DriftGuard,
    Retell,
    retell_messages,
    split_sentences,
)
from simengine.testing.fixtures import simple_scene, tiny_state
from simengine.world.ops import Create, Kill, NewEntity, Proposal, Transfer


def checker(*ops, summary: str = "Mara looks around the dock") -> DriftCheck:
    """Saltmarsh at the dock: Mara, Silas (holding the lantern), Brother Tam (dead), rope."""
    state = tiny_state()
    scene = simple_scene(state, "mara")
    accepted = Proposal(actor="mara", summary=summary, ops=list(ops))
    state.apply(accepted.ops)
    return DriftCheck(scene, accepted, state)


def kinds(check: DriftCheck, sentence: str) -> list[str]:
    return [d.kind for d in check(sentence)]


@pytest.mark.parametrize("sentence", [
    "Zebediah Quillfeather watches from the doorway.",
    "Mara turns to see Ottoline Marrowby waiting by the nets.",
    "Zebediah nods to Mara and leaves.",
    "Captain Zebediah shrugs.",
    "Mara thinks of Old Ned's boat.",  # Ned exists, but elsewhere: the model was never told
])
def test_a_name_the_model_was_never_shown_is_drift(sentence):
    assert kinds(checker(), sentence) == ["name"]


@pytest.mark.parametrize("sentence", [
    "Brother Tam nods slowly to Mara.",
    "Tam slowly rises.",
    '"Leave me be," says Tam.',
    '"Leave me be," Tam whispers.',
    "Tam hands Mara a coin.",
])
def test_the_dead_acting_or_speaking_is_drift(sentence):
    assert "dead" in kinds(checker(), sentence)


@pytest.mark.parametrize("sentence", [
    "Silas hands Mara the lantern.",
    "You take the lantern from Silas.",
    "Mara picks up the tarred rope.",
    "Silas sells her the lantern for a song.",
])
def test_a_thing_changing_hands_that_no_op_moved_is_drift(sentence):
    assert kinds(checker(), sentence) == ["transfer"]


@pytest.mark.parametrize("sentence", [
    "Mara looks around The Dock.",
    "Footsteps go by outside and fade.",
    "Silence falls over the dock, and nobody moves.",
    "The tide keeps its secrets.",
    "You look at Silas, and he looks back.",
    "Then Silas shrugs.",
    '"Have you seen Captain Orrin of Nowhere?" Silas asks.',  # names in speech are speech
    "'Don't trust Zebediah,' Silas mutters.",
    "\u201cOttoline sent me,\u201d says Silas.",
    "Brother Tam lies under a sailcloth; he says nothing.",
    "Tam's body does not move.",
    "Tam does not answer.",
    "Mara tries to take the lantern, but Silas pulls it away.",
    "Silas wants to sell the lantern.",
    "Silas takes the lantern down from its hook.",  # his own, and still his
    "Silas grabs the lantern tighter.",
    "Mara takes out her knife.",
    "Nobody crosses the marsh at night, Mara knows.",  # the world's laws were in the prompt
    "I think so.",
])
def test_clean_prose_passes(sentence):
    assert checker()(sentence) == []


def test_what_the_beat_did_is_no_drift():
    moved = checker(Transfer(item="lantern", to="mara"), summary="Silas gives Mara the lantern")
    assert moved("Silas hands Mara the lantern.") == []
    stranger = NewEntity(id="odile", kind="character", name="Odile Venn", at="dock")
    assert checker(Create(entity=stranger))("Odile Venn steps off a boat.") == []
    dying = checker(Kill(entity="silas", cause="a fall"))
    assert dying("Silas staggers, nods once, and falls.") == []  # he dies in this very beat


def test_a_shared_surname_is_not_the_dead_man():
    state = tiny_state()
    scene = simple_scene(state, "mara")
    stranger = NewEntity(id="ezra", kind="character", name="Ezra Tam", at="dock")
    accepted = Proposal(actor="ezra", summary="Ezra Tam arrives", ops=[Create(entity=stranger)])
    state.apply(accepted.ops)
    assert DriftCheck(scene, accepted, state)("Ezra Tam nods to Mara.") == []


def test_sentences_split_outside_speech_and_at_a_pause():
    whole, rest = split_sentences('She waits. "Go away. Now," Tam says. Then Sil', final=False)
    assert whole == ["She waits.", ' "Go away. Now," Tam says.'] and rest == " Then Sil"
    assert split_sentences("A pause.", final=False) == (["A pause."], "")
    assert split_sentences('" And on.', final=False)[0] == ['"', " And on."]  # a late quote
    assert split_sentences("No stop at the end", final=True) == (["No stop at the end"], "")


async def test_the_guard_lets_clean_sentences_through_and_stops_at_drift():
    closed = []

    async def stream():
        try:
            for chunk in ["Mara looks", " around. Brother Tam", " waves at her.", " More."]:
                yield chunk
        finally:
            closed.append(True)

    guard = DriftGuard(checker())
    shown = [s async for s in guard.filter(stream())]
    assert shown == ["Mara looks around."] and guard.drifted and closed == [True]
    (attempt,) = guard.attempts
    assert attempt["sentence"] == "Brother Tam waves at her." and attempt["kinds"] == ["dead"]
    retell = guard.retell()
    assert retell.shown == "Mara looks around." and "Brother Tam is dead" in retell.reasons[0]


async def test_a_telling_cut_off_by_ctrl_c_keeps_its_mark_and_is_no_drift():
    """The engine's own "cut off" mark (it names Ctrl-C, an ellipsis inside) is not
    the model's prose: the half sentence before it is checked, the mark shown as is."""
    from simengine.storytellers.base import CUT_NOTE

    async def stream():
        for chunk in ["Mara looks", " around. She", " turns to", " " + CUT_NOTE.format(
                "stopped by Ctrl-C")]:
            yield chunk

    guard = DriftGuard(checker())
    shown = [s async for s in guard.filter(stream())]
    assert not guard.drifted and guard.held
    assert "".join(shown) == ("Mara looks around. She turns to "
                              "[… the telling was cut off here: stopped by Ctrl-C]")


def test_a_retelling_carries_the_reasons_and_what_was_read():
    base = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    messages = retell_messages(base, Retell("Mara waits.", "Mara waits. Tam waves.",
                                            ["Brother Tam is dead"]))
    assert messages[:2] == base and messages[2] == {"role": "assistant",
                                                    "content": "Mara waits. Tam waves."}
    ask = messages[3]["content"]
    assert "- Brother Tam is dead" in ask and "Mara waits." in ask and "do not repeat" in ask
    fresh = retell_messages(base, Retell("", "Tam waves.", ["Brother Tam is dead"]))
    assert "Tell it again in 2 to 4 sentences." in fresh[3]["content"]


def test_a_namesake_taking_someone_elses_thing_is_drift():
    state = tiny_state()
    scene = simple_scene(state, "mara")
    namesake = NewEntity(id="silas-2", kind="character", name="Silas Dunn", at="dock")
    accepted = Proposal(actor="silas-2", summary="Silas Dunn arrives",
                        ops=[Create(entity=namesake)])
    state.apply(accepted.ops)
    check = DriftCheck(scene, accepted, state)
    assert [d.kind for d in check("Silas Dunn takes the lantern.")] == ["transfer"]
    assert check("Silas takes the lantern down.") == []  # "Silas" alone: which one? let it be

"""The play screen's commands that tell the player about the game, and the storyteller switch.

A mixin for :class:`~simengine.tui.play.PlayScreen`: ``/look``, ``/who``,
``/inventory``, ``/save``, ``/export`` and ``/storyteller``. None of them
changes the story; they read ``Session`` and write lines into the story log.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.content import Content

from simengine.sim.tellers import TellerChoice, choose
from simengine.store import SaveError
from simengine.store.export import FORMATS, export
from simengine.storytellers.base import StorytellerError
from simengine.tui.commands import Command
from simengine.tui.views import player_view, scene_view, teller_status

if TYPE_CHECKING:
    from simengine.sim.session import Session
    from simengine.tui.widgets import StoryLog


def first_sentence(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    cut = text.find(". ")
    sentence = text if cut < 0 else text[: cut + 1]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def export_path(save_path: Path, branch: str, fmt: str) -> Path:
    """Where ``/export`` writes: next to the save, named after it and the branch."""
    return save_path.with_name(f"{save_path.stem}-{branch}.{FORMATS[fmt]}")


class GameReports:
    """Reading commands and the storyteller switch (mixed into the play screen)."""

    session: Session
    why: str
    host: str | None
    speed: float | None
    story: StoryLog
    app: Any
    #: The lore of the last committed beat (set as beats commit).
    last_lore: Any = None

    def cmd_look(self, command: Command) -> None:
        view = scene_view(self.session.state)
        self.story.system(Content.styled(view.place, "bold"))
        if view.description:
            self.story.system(" ".join(view.description.split()))
        self.story.system(f"Exits: {', '.join(view.exits) or 'none'}.")
        self.story.system(f"Here: {', '.join(view.people) or 'nobody'}."
                          + (f" Dead here: {', '.join(view.dead)}." if view.dead else ""))
        self.story.system(f"Things: {', '.join(view.things) or 'nothing'}.")

    def cmd_inventory(self, command: Command) -> None:
        view = player_view(self.session.state)
        stats = ", ".join(f"{k} {v}" for k, v in view.attributes)
        state = "" if view.alive else " (dead)"
        self.story.system(f"You are {view.name}{state}" + (f": {stats}." if stats else "."))
        self.story.system(f"You carry: {', '.join(view.carrying) or 'nothing'}.")

    def cmd_who(self, command: Command) -> None:
        state = self.session.state
        player = self.session.player
        here = state.where(player) if player else None
        if here is None:
            self.story.system("You are nowhere; nobody is with you.")
            return
        people = [c for c in state.people_at(here) if c != player]
        if not people:
            self.story.system(f"Nobody else is in {state.name(here)}.")
        for person in people:
            about = first_sentence(str(state.entity(person).get("description") or ""))
            self.story.system(f"{state.name(person)}" + (f": {about}" if about else ""))
        elsewhere = len([c for c in state.characters(alive=True)
                         if c != player and c not in people])
        if elsewhere:
            self.story.system(f"{elsewhere} others are elsewhere (see the cast panel).")

    def cmd_lore(self, command: Command) -> None:
        lore = self.last_lore
        if lore is None or not (lore.active or lore.dropped):
            self.story.system("No lore came up in the last beat.")
            return
        names = ", ".join(e.name or str(e.id) for e in lore.active) or "none"
        line = f"Lore in the last beat: {names} ({lore.used} of {lore.budget} tokens)."
        if lore.dropped:
            left = ", ".join(e.name or str(e.id) for e in lore.dropped)
            line += f" Left out by the lore budget: {left}."
        self.story.system(line)

    def cmd_known(self, command: Command) -> None:
        state, player = self.session.state, self.session.player
        known = [f for f in state.facts_known(player) if not state.is_public(f)] \
            if player else []
        if not known:
            self.story.system("You know nothing that others do not. Ask people, and look "
                              "closely at things.")
            return
        for fact in known:
            self.story.system(f"- {state.fact_text(fact)}")

    def cmd_save(self, command: Command) -> None:
        s = self.session
        self.story.system(
            f"Every beat is saved the moment it happens: {s.save.path} (branch {s.branch}, "
            f"{s.save.settings.world.tick} {s.tick}). Quitting loses nothing; "
            "`simengine play` offers it to continue.")

    def cmd_export(self, command: Command) -> None:
        fmt = command.word or "markdown"
        s = self.session
        path = export_path(Path(s.save.path), s.branch, fmt)
        try:
            path.write_text(export(s.save, fmt, s.branch), encoding="utf-8")
        except (OSError, SaveError, ValueError) as exc:
            self.story.notice(f"could not export: {exc}", "error")
            return
        self.story.notice(f"wrote the story ({fmt}) to {path}")

    # ---------------------------------------------------------- storyteller
    def cmd_storyteller(self, command: Command) -> None:
        if command.word is None:
            label, detail = teller_status(self.session.storyteller.name, self.why, self.speed)
            self.story.system(f"Storyteller: {label}.")
            if detail:
                self.story.system(detail)
            self.story.system("Change it with /storyteller auto, /storyteller procedural or "
                              "/storyteller ollama MODEL.")
            return
        model = f" {command.extra}" if command.extra else ""
        self.story.notice(f"asking for the {command.word}{model} storyteller…")
        self.switch_storyteller(command.word, command.extra)

    @work(thread=True, exclusive=True, group="teller", exit_on_error=False)
    def switch_storyteller(self, kind: str, model: str | None) -> None:
        """Build the storyteller in a thread: ``choose`` probes the server and may wait."""
        s = self.session
        try:
            choice = choose(kind, spec=s.save.settings, seed=s.seed, model=model, host=self.host)
        except StorytellerError as exc:
            self.app.call_from_thread(self._storyteller_failed, exc.reason)
            return
        self.app.call_from_thread(self._storyteller_chosen, choice)

    def _storyteller_chosen(self, choice: TellerChoice) -> None:
        # Takes effect from the next beat; a beat already in flight finishes with the old one.
        self.session.storyteller, self.session.fallback = choice.storyteller, choice.fallback
        self.why = choice.why
        self.speed = None
        self.story.notice(f"storyteller: {choice.why}")
        self.refresh_views()

    def _storyteller_failed(self, reason: str) -> None:
        self.story.notice(f"storyteller unchanged: {reason}", "error")

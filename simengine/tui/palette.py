"""The command palette (ctrl+p) of the play screen: the same actions as the keys and /commands."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from simengine.storytellers.config import picker_kinds
from simengine.tui.commands import EXPORT_FORMATS, Command


def palette_entries(screen: Any) -> list[tuple[str, str, Any]]:
    """(title, help, callback) for every palette entry of a play screen."""
    run = screen.run_command
    entries: list[tuple[str, str, Any]] = [
        ("Undo the last turn", "ctrl+z · /undo", screen.action_undo),
        ("Retell the last turn", "ctrl+r · /regenerate", screen.action_regenerate),
        ("Fork a branch here…", "ctrl+f · /fork NAME", screen.action_fork),
        ("Let time pass", "ctrl+t · /wait", screen.action_wait),
        ("Stop the turn being told", "escape", screen.action_stop),
        ("Every beat, or only what you witness", "f3 · /all", screen.action_toggle_all),
        ("Look around", "/look", partial(run, Command("look"))),
        ("Inventory", "/inventory", partial(run, Command("inventory"))),
        ("Who is here", "/who", partial(run, Command("who"))),
        ("Branches", "/branches", partial(run, Command("branches"))),
        ("Where is the save?", "/save", partial(run, Command("save"))),
    ]
    for fmt in EXPORT_FORMATS:
        entries.append((f"Export the story as {fmt}", f"/export {fmt}",
                        partial(run, Command("export", word=fmt))))
    for name in screen.session.branches():
        if name != screen.session.branch:
            entries.append((f"Switch to branch {name}", f"/switch {name}",
                            partial(run, Command("switch", word=name))))
    for kind in picker_kinds():
        if kind.name == "ollama":  # which model: the screen asks Ollama for its list
            entries.append(("Storyteller: Ollama model…", "pick a model · /storyteller ollama "
                            "MODEL", screen.ask_model))
        else:
            entries.append((f"Storyteller: {kind.name}", f"{kind.says} · /storyteller {kind.name}",
                            partial(run, Command("storyteller", word=kind.name))))
    entries.append(("Help", "f1 · /help", screen.action_help))
    return entries


class PlayCommands(Provider):
    """Offers :func:`palette_entries` for the screen the palette was opened on."""

    def _entries(self) -> list[tuple[str, str, Any]]:
        screen = self.screen
        return palette_entries(screen) if hasattr(screen, "run_command") else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

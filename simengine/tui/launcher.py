"""The launcher: start a shipped or local world, or continue a save.

Worlds come from ``worlds/*.toml`` in the working directory and from the
shipped worlds (in the package when installed from a wheel, else the
repository's ``worlds/``); saves from the saves directory. A file that does not load is listed
with its problem, never hidden and never fatal. Opening a game probes the
Ollama server (for ``auto`` and ``ollama``), so it runs in a thread worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

import simengine
from simengine.sim.start import open_or_start
from simengine.store import Save, SaveError, list_saves, saves_dir
from simengine.storytellers.base import StorytellerError
from simengine.storytellers.config import picker_kinds
from simengine.world.loader import WorldFileError, load_world


def tellers() -> list[tuple[str | None, str]]:
    """The storyteller choices the launcher always offers (None: what the world file says)."""
    return [(None, "as the world says"), *((k.name, k.name) for k in picker_kinds())]


@dataclass
class PlayOptions:
    """What the command line said: who tells the story, and where things are."""

    storyteller: str | None = None
    model: str | None = None
    host: str | None = None
    seed: int | None = None
    record: Path | None = None
    saves_dir: Path | None = None
    world_dirs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class WorldEntry:
    path: Path
    name: str
    premise: str = ""
    storyteller: str = ""
    error: str = ""


@dataclass(frozen=True)
class SaveEntry:
    path: Path
    world: str = ""
    branches: tuple[str, ...] = ()
    current: str = ""
    tick_label: str = "tick"
    tick: int = 0
    events: int = 0
    last_played: str = ""
    error: str = ""


def candidate_world_dirs() -> list[Path]:
    """Where worlds are looked for, in order: ``./worlds``, then the shipped worlds.

    Shipped worlds live in the package (``simengine/shipped_worlds``, put there by
    the wheel build) or, in a source checkout or editable install, in the
    ``worlds/`` authoring folder next to the package.
    """
    package = Path(simengine.__file__).resolve().parent
    return [Path.cwd() / "worlds", package / "shipped_worlds", package.parent / "worlds"]


def default_world_dirs() -> list[Path]:
    """The folders of :func:`candidate_world_dirs` that exist (each once)."""
    dirs: list[Path] = []
    for d in candidate_world_dirs():
        if d.is_dir() and all(d.resolve() != o.resolve() for o in dirs):
            dirs.append(d)
    return dirs


def find_worlds(dirs: list[Path]) -> list[WorldEntry]:
    """The world files in ``dirs``, broken ones too; a file that is byte for byte one
    listed from an earlier folder (a shipped world in a checkout) is listed once."""
    entries: list[WorldEntry] = []
    seen: dict[str, bytes] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.toml")):
            try:
                data = path.read_bytes()
            except OSError:
                data = None  # listed below with its problem
            if data is not None:
                if seen.get(path.name) == data:
                    continue
                seen.setdefault(path.name, data)
            try:
                spec = load_world(path)
            except WorldFileError as exc:
                lines = str(exc).strip().splitlines()
                entries.append(WorldEntry(path, path.stem, error=lines[0] if lines else "?"))
            except (OSError, UnicodeDecodeError) as exc:
                entries.append(WorldEntry(path, path.stem, error=str(exc)))
            else:
                premise = " ".join(spec.world.premise.split())
                entries.append(WorldEntry(path, spec.world.name, premise, spec.storyteller.kind))
    return entries


def find_saves(directory: Path | None = None) -> list[SaveEntry]:
    """Every save in the directory, the most recently played first."""
    entries = []
    for path in list_saves(saves_dir(directory)):
        try:
            with Save.open(path, readonly=True) as save, save.reading():
                head = save.head()
                tick = save.event(head).tick if head is not None else 0
                played = save.get_meta("last_played") or save.get_meta("created_at") or ""
                entries.append(SaveEntry(path, save.settings.world.name, tuple(save.branches()),
                                         save.current_branch, save.settings.world.tick, tick,
                                         save.event_count(), played))
        except SaveError as exc:
            entries.append(SaveEntry(path, error=str(exc).split("\n")[0]))
    return sorted(entries, key=lambda e: e.last_played, reverse=True)


def when(stamp: str) -> str:
    """A save's timestamp in local time, to the minute."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp or "never"


def world_option(entry: WorldEntry) -> Option:
    if entry.error:
        prompt = Content.assemble((entry.path.name, "bold"), "\n",
                                  (f"cannot be played: {entry.error}", "$text-error"))
        return Option(prompt, id=str(entry.path), disabled=True)
    premise = entry.premise if len(entry.premise) <= 120 else entry.premise[:119] + "…"
    prompt = Content.assemble((entry.name, "bold"), (f"  {entry.path.name}", "$text-muted"),
                              (f" · storyteller: {entry.storyteller}", "$text-muted"), "\n",
                              (premise, ""))
    return Option(prompt, id=str(entry.path))


def save_option(entry: SaveEntry) -> Option:
    if entry.error:
        prompt = Content.assemble((entry.path.name, "bold"), "\n",
                                  (f"cannot be opened: {entry.error}", "$text-error"))
        return Option(prompt, id=str(entry.path), disabled=True)
    branches = ", ".join(entry.branches)
    detail = (f"{entry.tick_label} {entry.tick} on {entry.current} · branches: {branches} · "
              f"{entry.events} events")
    prompt = Content.assemble((entry.path.stem, "bold"), (f"  {entry.world}", ""),
                              (f" · last played {when(entry.last_played)}", "$text-muted"),
                              "\n", (detail, "$text-muted"))
    return Option(prompt, id=str(entry.path))


class LauncherScreen(Screen):
    """Pick a world (a new save) or a save (continue); choose the storyteller."""

    CSS_PATH = "launcher.tcss"
    BINDINGS = [
        Binding("n", "focus_list('worlds')", "new game"),
        Binding("c", "focus_list('saves')", "continue"),
        Binding("s", "focus_tellers", "storyteller"),
        Binding("f5", "rescan", "rescan"),
    ]

    def __init__(self, options: PlayOptions):
        super().__init__()
        self.options = options
        self.tellers = tellers()
        if options.storyteller and options.storyteller not in {k for k, _ in self.tellers}:
            self.tellers.append((options.storyteller, options.storyteller))
        self.opening = False

    def compose(self) -> ComposeResult:
        yield Static("simengine · pick a world to start, or a save to continue", id="title")
        with Vertical(id="lists"):
            yield Label("New game", classes="heading")
            yield OptionList(id="worlds")
            yield Label("Continue", classes="heading")
            yield OptionList(id="saves")
        with Horizontal(id="teller-row"):
            yield Label("Storyteller:", id="teller-label")
            with RadioSet(id="tellers"):
                chosen = self.options.storyteller
                for kind, label in self.tellers:
                    yield RadioButton(label, value=kind == chosen)
        yield Static("", id="launch-status")
        yield Footer()

    def on_mount(self) -> None:
        self.action_rescan()
        worlds, saves = self.query_one("#worlds", OptionList), self.query_one("#saves", OptionList)
        # Continuing is the likely wish only when there is a save to continue; on a
        # first run the (disabled) "no saves yet" line must not hold the keys.
        playable = saves.highlighted is not None
        (saves if playable and not self.options.storyteller else worlds).focus()

    def action_rescan(self) -> None:
        dirs = self.options.world_dirs or default_world_dirs()
        worlds = self.query_one("#worlds", OptionList)
        worlds.clear_options()
        found = find_worlds(dirs)
        worlds.add_options([world_option(e) for e in found])
        if not found:
            searched = self.options.world_dirs or candidate_world_dirs()
            worlds.add_option(Option("no world files found; looked in " +
                                     ", ".join(str(d) for d in searched), disabled=True))
        saves = self.query_one("#saves", OptionList)
        saves.clear_options()
        listed = find_saves(self.options.saves_dir)
        saves.add_options([save_option(e) for e in listed])
        if not listed:
            where = saves_dir(self.options.saves_dir)
            saves.add_option(Option(f"no saves yet in {where}", disabled=True))
        for option_list in (worlds, saves):
            first = next((i for i in range(option_list.option_count)
                          if not option_list.get_option_at_index(i).disabled), None)
            option_list.highlighted = first

    def action_focus_list(self, which: str) -> None:
        self.query_one(f"#{which}", OptionList).focus()

    def action_focus_tellers(self) -> None:
        self.query_one(RadioSet).focus()

    @property
    def storyteller(self) -> str | None:
        index = self.query_one(RadioSet).pressed_index
        return self.tellers[index][0] if index >= 0 else None

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if self.opening or event.option.id is None:
            return
        self.opening = True
        kind = self.storyteller
        teller = kind or "the world's"
        self.status(f"opening {Path(event.option.id).name} with {teller} storyteller…")
        self.open_game(event.option.id, kind)

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#launch-status", Static)
        widget.update(Content(text))
        widget.set_class(error, "-error")

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def open_game(self, source: str, kind: str | None) -> None:
        """Open the game in a thread (choosing a storyteller may wait for a server)."""
        o = self.options
        try:
            session, why = open_or_start(source, saves_dir=o.saves_dir, storyteller=kind,
                                         model=o.model, host=o.host, seed=o.seed, record=o.record)
        except WorldFileError as exc:
            self.app.call_from_thread(self.failed, f"the world file has problems:\n{exc}")
        except (SaveError, StorytellerError, OSError) as exc:
            self.app.call_from_thread(self.failed, str(exc))
        else:
            self.app.call_from_thread(self.app.start_play, session, why)

    def failed(self, message: str) -> None:
        self.opening = False
        self.status(message, error=True)

"""Starting a game: a new save for a world file, or a save continued."""

from __future__ import annotations

from pathlib import Path

from simengine.sim.session import Session
from simengine.sim.tellers import TellerChoice, choose
from simengine.store import resolve_save, saves_dir
from simengine.world.loader import load_world
from simengine.world.text import fresh_name


def _unique_save(directory: Path, stem: str) -> Path:
    return directory / f"{fresh_name(stem, lambda name: (directory / f'{name}.db').exists())}.db"


def is_world_file(source: str) -> bool:
    return source.endswith(".toml")


def open_or_start(
    source: str,
    *,
    save_path: Path | None = None,
    branch: str | None = None,
    saves_dir: Path | None = None,
    narrate: bool = True,
    storyteller: str | None = None,
    model: str | None = None,
    host: str | None = None,
    seed: int | None = None,
    record: Path | None = None,
    voice: str | None = None,
) -> tuple[Session, str]:
    """A session for a world file (a new save) or a save (continued), and who tells it."""
    if is_world_file(source):
        spec = load_world(source)
        run_seed = seed if seed is not None else spec.world.seed
        directory = saves_dir_of(saves_dir)
        path = save_path or _unique_save(directory, f"{spec.world.id}-{run_seed}")
        choice = _choose(storyteller, spec, run_seed, model, host, record)
        session = Session.new(
            spec,
            path,
            branch=branch or "main",
            seed=run_seed,
            narrate=narrate,
            storyteller=choice.storyteller,
            fallback=choice.fallback,
            voice=voice,
        )
        return session, choice.why
    path = resolve_save(source, saves_dir)
    session = Session.load(path, branch=branch, seed=seed, narrate=narrate, voice=voice)
    try:
        choice = _choose(storyteller, session.save.settings, session.seed, model, host, record)
    except BaseException:
        session.close()  # let go of the save (and its lock) before the error goes up
        raise
    session.storyteller, session.fallback = choice.storyteller, choice.fallback
    return session, choice.why


def saves_dir_of(override: Path | None) -> Path:
    directory = saves_dir(override)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _choose(kind, spec, seed, model, host, record) -> TellerChoice:
    return choose(
        kind or spec.storyteller.kind, spec=spec, seed=seed, model=model, host=host, record=record
    )

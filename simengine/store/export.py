"""Exports of a save: JSON (everything), GraphML (the head state) and Markdown (the story).

:func:`write_export` puts an export on disk without ever harming a file: never
over the save it came from (whatever name, link or symlink leads there), never
over an existing file unless asked, and always through a temporary file renamed
into place, so a failed write leaves no half-written export.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from simengine.store.errors import SaveDiskFull, SaveError, SaveExists
from simengine.store.events import Event
from simengine.store.save import Save
from simengine.world.state import WorldState
from simengine.world.text import clean_text, error_message

Format = Literal["markdown", "json", "graphml"]
#: The one list of a save's export formats, each with its file suffix (the story first).
FORMATS: dict[str, str] = {"markdown": "md", "json": "json", "graphml": "graphml"}


def to_json_data(save: Save, branch: str | None = None) -> dict[str, Any]:
    """World spec, initial state, every event of every branch, branch heads and the
    state at ``branch``'s head; states as node-link data (``edges`` key)."""
    return {
        "world": save.spec.model_dump(mode="json"),
        "initial": save.initial_state().to_node_link(),
        "events": [event.wire() for event in save.events()],
        "branches": save.branches(),
        "final": save.state(branch).to_node_link(),
    }


def to_json(save: Save, branch: str | None = None) -> str:
    return clean_text(json.dumps(to_json_data(save, branch), indent=2, ensure_ascii=False) + "\n")


def graphml_graph(state: WorldState) -> nx.MultiDiGraph:
    """A copy of the state's graph that GraphML can hold: scalar attributes only.

    Lists are joined with ``; ``, ``attributes`` become ``attr.NAME`` keys, None
    values are left out, the name doubles as ``label`` (Gephi and yEd show it),
    and a key whose values mix types across nodes is written as text throughout.
    """
    g = nx.MultiDiGraph()
    world = state.world
    g.graph.update(
        {
            k: v
            for k, v in {
                "world": world.get("id"),
                "name": world.get("name"),
                "tick": state.tick,
            }.items()
            if v is not None
        }
    )
    for node_id, data in state.graph.nodes(data=True):
        flat: dict[str, Any] = {"label": data.get("name", node_id)}
        for key, value in data.items():
            if key == "attributes":
                for name, attr in value.items():
                    flat[f"attr.{name}"] = attr
            else:
                flat[key] = value
        g.add_node(node_id, **{k: _scalar(v) for k, v in flat.items() if v is not None})
    for source, target, key, data in state.graph.edges(keys=True, data=True):
        g.add_edge(
            source,
            target,
            key=key,
            **{k: _scalar(v) for k, v in data.items() if v is not None},
        )
    _unify_types(g.nodes.values())
    _unify_types(d for _, _, d in g.edges(data=True))
    return g


def to_graphml(save: Save, branch: str | None = None) -> str:
    """The state at ``branch``'s head as GraphML, for Gephi or yEd."""
    return clean_text("\n".join(nx.generate_graphml(graphml_graph(save.state(branch)))) + "\n")


def to_markdown(save: Save, branch: str | None = None) -> str:
    """The branch as a story transcript: premise, then each tick's beats in order."""
    name = branch or save.current_branch
    world = save.settings.world
    events = save.log(name)
    # Entities are never removed nor renamed, so the head knows every actor's name.
    state = save.state(name)
    lines = [f"# {world.name}", ""]
    if world.premise:
        lines += [f"_{world.premise.strip()}_", ""]
    count = f"{len(events)} event{'' if len(events) == 1 else 's'}"
    lines += [f"Branch **{name}** · {count} · save `{save.path.name}`", ""]
    by_tick: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        by_tick[event.tick].append(event)
    for tick, beats in by_tick.items():
        label = world.tick.capitalize() if world.tick else "Tick"
        lines += [f"## {label} {tick}", ""]
        for event in beats:
            actor = state.name(event.actor) if event.actor else "The world"
            if event.kind == "player" and event.intent:
                lines += [f"> **{actor}:** {_one_line(event.intent)}", ""]
            body = event.narration.strip() or (
                f"*{event.summary.strip()}*" if event.summary else ""
            )
            if body:
                lines += [body, ""]
            elif event.kind != "player":
                lines += [f"*{actor} acts.*", ""]
    if not events:
        lines += ["_Nothing has happened yet._", ""]
    return clean_text("\n".join(lines))


def export(save: Save, fmt: Format, branch: str | None = None) -> str:
    """``save`` as text in one of :data:`FORMATS`."""
    if fmt == "json":
        return to_json(save, branch)
    if fmt == "graphml":
        return to_graphml(save, branch)
    if fmt == "markdown":
        return to_markdown(save, branch)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_export(data: str | bytes, target: Path, *, source: Path, force: bool = False) -> None:
    """Write an export to ``target``, never over ``source`` (the save) or its log files.

    Args:
        data: the export (text is written as UTF-8).
        target: the file to write.
        source: the save the export comes from.
        force: replace an existing ``target`` (never the save itself).

    Raises:
        SaveError: ``target`` is the save or one of SQLite's files beside it.
        SaveExists: ``target`` exists and ``force`` is not set.
        SaveDiskFull, SaveError: the write failed (nothing is left behind).
    """
    target = Path(target)
    check_export_target(target, source=source, force=force)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = target.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise _write_error(target, err) from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails, rather than overwrites, if target appeared
            except FileExistsError as err:
                raise SaveExists(
                    f"{target} already exists; pick another file, or add --force to replace it.",
                    target,
                ) from err
            except OSError:  # a filesystem without hard links
                if target.exists():
                    raise SaveExists(f"{target} already exists.", target) from None
                os.replace(tmp, target)
    except OSError as err:
        raise _write_error(target, err) from err
    finally:
        tmp.unlink(missing_ok=True)


def check_export_target(target: Path, *, source: Path, force: bool = False) -> None:
    """Refuse a ``target`` that :func:`write_export` must not write (same errors)."""
    if is_save_file(Path(target), Path(source)):
        raise SaveError(f"refusing to write the export over the save {source}.", source)
    if Path(target).is_dir():
        raise SaveError(f"{target} is a directory; name a file to write.", target)
    if Path(target).exists() and not force:
        raise SaveExists(
            f"{target} already exists; pick another file, or add --force to replace it.", target
        )


def is_save_file(target: Path, save: Path) -> bool:
    """True when ``target`` is the save (by identity: any name, link or symlink) or
    one of the files SQLite keeps beside it."""
    real = save.resolve()
    sidecars = [real.with_name(real.name + s) for s in ("-wal", "-shm", "-journal")]
    for own in (real, *sidecars):
        try:
            if os.path.samefile(target, own):
                return True
        except OSError:
            continue
    resolved = target.resolve()
    return resolved == real or resolved in sidecars


def _write_error(target: Path, err: OSError) -> SaveError:
    if err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return SaveDiskFull(f"cannot write {target}: no room left ({error_message(err)}).", target)
    return SaveError(f"cannot write {target}: {error_message(err)}.", target)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _unify_types(records: Any) -> None:
    # GraphML declares one type per key: ints and floats meet as floats; any other
    # mix (a number here, a string there) becomes text everywhere.
    records = list(records)
    seen: dict[str, set[type]] = defaultdict(set)
    for data in records:
        for key, value in data.items():
            seen[key].add(type(value))
    for key, types in seen.items():
        if len(types) < 2:
            continue
        cast: type = float if types <= {int, float} else str
        for data in records:
            if key in data:
                data[key] = cast(data[key])


def _one_line(text: str) -> str:
    return " ".join(text.split())

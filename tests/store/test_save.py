"""The save's library API: create, append, state, branches, undo, fork, calls, meta."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from storekit import CALLS_PER_BEAT, add_beats, append_beat, beat_ops

from simengine.store import (
    SCHEMA_VERSION,
    BadEvent,
    Event,
    NoSuchBranch,
    NoSuchEvent,
    Save,
    SaveCorrupt,
    SaveError,
    SaveExists,
    SaveReadOnly,
)
from simengine.store import save as save_module
from simengine.store.schema import MIGRATION_NAMES
from simengine.world.ops import Create, Move, NewEntity
from simengine.world.spec import WorldSpec
from simengine.world.state import WorldState


def test_create_records_spec_initial_state_and_schema(save, spec):
    assert save.spec == spec
    assert save.schema_version == SCHEMA_VERSION == len(MIGRATION_NAMES)
    assert save.get_meta("schema_version") == SCHEMA_VERSION
    assert save.get_meta("engine") == "simengine"
    assert save.branches() == {"main": None}
    assert save.current_branch == "main"
    assert save.state() == WorldState.from_spec(spec)
    applied = [r["name"] for r in save.db.query("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == MIGRATION_NAMES
    assert save.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(save.db.table_names()) >= {"meta", "events", "branches", "snapshots", "calls"}


def test_a_new_game_plays_on_exactly_the_state_it_stored(save, spec):
    live = save.live_state()
    assert live.to_json() == save.initial_state().to_json()  # byte for byte, key order too
    add_beats(save, 2)
    assert save.live_state() is live
    assert live == save.state_at(2, use_snapshots=False)


def test_play_reads_the_settings_and_the_whole_spec_is_read_when_asked(tmp_path, spec):
    path = tmp_path / "lazy.db"
    Save.create(path, spec).close()
    with Save.open(path) as save:
        assert "spec" not in vars(save)  # not read by opening
        assert save.settings.world == spec.world
        assert save.settings.attributes == spec.attributes
        assert save.settings.characters == [] and save.settings.locations == []
        assert save.spec == spec


def test_a_spec_damaged_in_its_entities_is_told_when_it_is_read(tmp_path, spec):
    path = tmp_path / "spec.db"
    Save.create(path, spec).close()
    with Save.open(path) as save:
        save.db.execute(
            "UPDATE meta SET value = json_set(value, '$.characters[0].at', 7) WHERE key = 'spec'"
        )
        save.db.conn.commit()
        assert save.state() == WorldState.from_spec(spec)  # play needs none of it
        with pytest.raises(SaveCorrupt, match="world spec does not validate"):
            _ = save.spec


def test_opening_reads_the_outline_and_a_damaged_spec_is_still_refused_before_a_write(
    tmp_path, spec
):
    """Opening reads the spec's outline, kept beside it, not the whole spec (which a
    big world makes tens of megabytes): a spec that is no longer JSON is told when
    it is read, and the check before writing into a file changed since its clean
    close still refuses it."""
    path = tmp_path / "outline.db"
    Save.create(path, spec).close()
    with Save.open(path, readonly=True) as save:
        outline = save.get_meta("outline")
        assert "characters" not in outline and WorldSpec.model_validate(outline) == save.settings
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '{\"world\": ' WHERE key = 'spec'")
    conn.commit()
    conn.close()
    with Save.open(path, readonly=True) as save:
        assert save.settings.world == spec.world
        assert save.state() == WorldState.from_spec(spec)  # play needs none of it
        with pytest.raises(SaveCorrupt, match="world spec does not validate"):
            _ = save.spec
    with pytest.raises(SaveCorrupt, match="meta 'spec' is not JSON"):
        Save.open(path)


def test_create_refuses_to_overwrite(tmp_path, spec):
    target = tmp_path / "taken.db"
    target.write_text("precious")
    with pytest.raises(SaveExists, match="already exists"):
        Save.create(target, spec)
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.db"]


def test_append_returns_event_and_reopens_identically(save, tmp_path):
    event = append_beat(save, 1)
    assert isinstance(event, Event)
    assert (event.id, event.parent_id, event.depth, event.tick) == (1, None, 1, 1)
    assert event.ops == beat_ops(1)
    save.close()
    with Save.open(tmp_path / "game.db") as again:
        assert again.event(1) == event
        assert again.log() == [event]
        assert again.head() == 1


def test_ops_are_stored_as_wire_format_json(save):
    append_beat(save, 1)
    raw = save.db.execute("SELECT ops FROM events WHERE id = 1").fetchone()[0]
    assert json.loads(raw) == [op.model_dump(mode="json") for op in beat_ops(1)]
    assert json.loads(raw)[0] == {"op": "move", "entity": "mara", "to": "mill"}


def test_state_at_every_event_equals_full_replay(save):
    events = add_beats(save, 23)
    state = WorldState.from_node_link(save.initial_state().to_node_link())
    for event in events:
        state.apply(event.ops, tick=event.tick, event_id=event.id)
        assert save.state_at(event.id) == state
        assert save.state_at(event.id, use_snapshots=False) == state
    assert save.state() == state
    assert save.state_at(None) == save.initial_state()


def test_snapshots_every_n_events_along_a_path(save):
    add_beats(save, 12)
    snaps = [r[0] for r in save.db.execute("SELECT event_id FROM snapshots ORDER BY 1")]
    assert snaps == [5, 10]
    packed = save.db.execute("SELECT state FROM snapshots WHERE event_id = 10").fetchone()[0]
    assert isinstance(packed, bytes)  # zlib-packed node-link JSON
    stored = WorldState.from_node_link(json.loads(zlib.decompress(packed)))
    assert stored == save.state_at(10, use_snapshots=False)


def test_a_save_with_plain_json_snapshots_still_reads_and_writes(tmp_path, spec):
    """Saves written before snapshots were packed hold them as JSON text."""
    path = tmp_path / "old.db"
    with Save.create(path, spec, snapshot_every=5) as save:
        add_beats(save, 12)
        want = save.state_at(12, use_snapshots=False)
        for event_id, packed in save.db.execute("SELECT event_id, state FROM snapshots").fetchall():
            save.db.execute(
                "UPDATE snapshots SET state = ? WHERE event_id = ?",
                [zlib.decompress(packed).decode(), event_id],
            )
        save.db.conn.commit()
    with Save.open(path) as save:  # the check before writing accepts text snapshots
        assert save.db.execute("SELECT typeof(state) FROM snapshots").fetchall() == [
            ("text",),
            ("text",),
        ]
        assert save.state_at(12) == want
        assert save.verify() == []
        add_beats(save, 3)
        assert save.verify() == []


def test_state_at_replays_at_most_snapshot_every_events(save, monkeypatch):
    add_beats(save, 23)
    save._cache = None  # as after opening
    replayed = []
    real = WorldState.apply

    def counting(self, ops, **kw):
        replayed.append(kw.get("event_id"))
        return real(self, ops, **kw)

    monkeypatch.setattr(WorldState, "apply", counting)
    save.state_at(23)
    assert replayed == [21, 22, 23]  # from the snapshot at 20
    replayed.clear()
    save.state_at(23)
    assert replayed == []  # remembered


def test_returned_states_are_the_callers_own(save):
    add_beats(save, 3)
    mine = save.state()
    mine.apply([Move(entity="mara", to="mill")])
    assert save.state() != mine
    assert save.state() == save.state_at(3, use_snapshots=False)


def test_calls_are_logged_with_their_event(save):
    append_beat(save, 1)
    calls = save.calls(1)
    assert len(calls) == CALLS_PER_BEAT
    first = calls[0]
    assert first["phase"] == "decide" and first["accepted"] is True
    assert first["request"] == {"beat": 1} and first["violations"] == []
    assert first["prompt_tokens"] == 10 and first["latency_ms"] == 1.5
    assert calls[1]["response"] == "Beat 1 is told."
    save.record_calls([{"phase": "decide", "error": "model timed out"}])
    assert save.calls()[-1]["event_id"] is None
    assert save.calls()[-1]["error"] == "model timed out"


def test_calls_take_the_record_storytellers_make(save):
    from simengine.world.calls import Call

    call = Call(storyteller="ollama", model="qwen", phase="repair", request={"n": 1},
                response="{}", accepted=False, violations=["op 0 (move): 'x' is not known"],
                prompt_tokens=12)
    save.append(tick=1, kind="world", calls=[call])
    row = save.calls(1)[0]
    assert (row["model"], row["phase"], row["accepted"], row["prompt_tokens"]) == (
        "qwen", "repair", False, 12)
    assert row["violations"] == ["op 0 (move): 'x' is not known"]
    # Round trip: every field the save keeps (the server's own time is a run's, not a column).
    assert "model_ms" not in row
    assert Call.model_validate({k: row[k] for k in Call.model_fields if k in row}) == call


def test_set_narration_after_commit(save):
    event = save.append(tick=1, kind="npc", actor="mara", ops=beat_ops(1))
    save.set_narration(event.id, "Mara walks to the mill.", calls=[{"phase": "narrate"}])
    assert save.event(event.id).narration == "Mara walks to the mill."
    assert [c["phase"] for c in save.calls(event.id)] == ["narrate"]


def test_set_narration_of_a_missing_event_writes_nothing(save):
    event = append_beat(save, 1)
    with pytest.raises(NoSuchEvent):
        save.set_narration(event.id + 1, "Nobody walks anywhere.", calls=[{"phase": "narrate"}])
    assert len(save.calls()) == CALLS_PER_BEAT
    assert save.event(event.id).narration == "Beat 1 is told."


def test_bad_events_are_refused_and_nothing_is_written(save):
    append_beat(save, 1)
    before = save.event_count(), len(save.calls()), save.head()
    with pytest.raises(BadEvent, match="do not apply"):
        save.append(tick=2, kind="npc", ops=[Move(entity="ghost", to="inn")])
    with pytest.raises(BadEvent, match="kind"):
        save.append(tick=2, kind="god", ops=[])
    with pytest.raises(BadEvent, match="wire format"):
        save.append(tick=2, kind="npc", ops=[{"op": "teleport", "entity": "mara"}])
    with pytest.raises(BadEvent, match="call record"):
        save.append(tick=2, kind="npc", ops=[], calls=[{"phase": "decide", "modle": "x"}])
    assert (save.event_count(), len(save.calls()), save.head()) == before
    append_beat(save, 2)  # the remembered state was not spoiled by the failures
    assert save.verify() == []


class _FailingHeadMove:
    """A connection that fails as a branch head moves: the last write of an append."""

    def __init__(self, conn):
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def execute(self, sql, *args):
        if sql.startswith("UPDATE branches"):
            raise RuntimeError("disk on fire")
        return self._conn.execute(sql, *args)


def test_append_is_one_transaction(save, monkeypatch):
    append_beat(save, 1)
    monkeypatch.setattr(save.db, "conn", _FailingHeadMove(save.db.conn))
    with pytest.raises(RuntimeError):
        append_beat(save, 2)
    monkeypatch.undo()
    assert save.event_count() == 1
    assert save.head() == 1
    assert len(save.calls()) == CALLS_PER_BEAT
    append_beat(save, 2)
    assert save.verify() == []


def file_head(save, branch="main"):
    """The branch head as another process reads it from the file."""
    with Save.open(save.path, readonly=True) as reader:
        return reader.head(branch)


def test_remembered_head_survives_appends_that_roll_back(save):
    """A writable save remembers its heads; a failed append must leave them the file's."""
    add_beats(save, 2)
    with pytest.raises(BadEvent, match="do not apply"):
        save.append(tick=3, kind="npc", ops=[Move(entity="ghost", to="inn")])
    assert save.head() == file_head(save) == 2
    with pytest.raises(RuntimeError), save.db.atomic():  # a caller's transaction rolls back
        append_beat(save, 3)
        raise RuntimeError("the caller gives up")
    assert save.head() == file_head(save) == 2
    save.set_metas({})  # writes the last_played stamp still owed: not the rolled-back one's
    assert save.get_meta("last_played") == save.event(2).created_at
    event = append_beat(save, 3)
    assert (event.parent_id, event.depth) == (2, 3)
    assert save.verify() == []


def test_remembered_head_follows_undo_fork_and_move(save):
    first, second, _ = add_beats(save, 3)
    assert save.undo(2) == first.id
    assert save.head() == file_head(save) == first.id
    assert append_beat(save, 2).parent_id == first.id  # the depth came along too
    save.move_head(second.id)
    assert save.head() == file_head(save) == second.id
    assert save.fork("side", at=first.id) == first.id
    assert save.head("side") == file_head(save, "side") == first.id
    assert append_beat(save, 2, branch="side").depth == 2
    assert save.verify() == []


def test_last_played_is_written_with_meta_values_and_at_close(save):
    event = append_beat(save, 1)
    save.set_metas({"clock:main": {"tick": 1, "head": event.id}})  # a session's tick ends
    assert save.get_meta("last_played") == event.created_at
    later = append_beat(save, 2)
    save.close()
    with Save.open(save.path, readonly=True) as reader:
        assert reader.get_meta("last_played") == later.created_at


def test_created_entities_remember_their_event(save):
    event = save.append(
        tick=1,
        kind="world",
        ops=[Create(entity=NewEntity(id="wren", kind="character", name="Wren", at="ford"))],
    )
    assert save.state().entity("wren")["origin_event"] == event.id
    assert save.state_at(event.id, use_snapshots=False).entity("wren")["origin_event"] == 1


def test_undo_moves_head_back_and_deletes_nothing(save):
    add_beats(save, 6)
    assert save.undo() == 5
    assert save.undo(2) == 3
    assert [e.id for e in save.log()] == [1, 2, 3]
    assert save.event_count() == 6
    assert save.state() == save.state_at(3)
    assert save.undo(3) is None
    assert save.state() == save.initial_state()
    with pytest.raises(SaveError, match="only 0 event"):
        save.undo()


def test_append_after_undo_starts_a_sibling(save):
    add_beats(save, 4)
    save.undo(2)
    event = append_beat(save, 3)
    assert event.parent_id == 2 and event.id == 5
    assert [e.id for e in save.log()] == [1, 2, 5]
    assert save.verify() == []


def test_fork_and_switch(save):
    add_beats(save, 6)
    assert save.fork("alt", at=3) == 3
    assert save.branches() == {"main": 6, "alt": 3}
    assert save.current_branch == "main"
    save.switch("alt")
    assert save.current_branch == "alt"
    add_beats(save, 2)
    assert [e.id for e in save.log()] == [1, 2, 3, 7, 8]
    assert [e.id for e in save.log("main")] == [1, 2, 3, 4, 5, 6]
    assert save.fork("start", at=None) is None
    assert save.fork("here") == 8  # default: the current head
    with pytest.raises(SaveError, match="already has a branch"):
        save.fork("alt")
    with pytest.raises(NoSuchEvent):
        save.fork("nowhere", at=99)
    with pytest.raises(SaveError, match="branch name"):
        save.fork("no spaces")
    with pytest.raises(NoSuchBranch, match="Did you mean: main"):
        save.switch("mian")
    assert save.verify() == []


def test_current_branch_survives_reopening(save, tmp_path):
    save.fork("alt")
    save.switch("alt")
    save.close()
    with Save.open(tmp_path / "game.db", readonly=True) as again:
        assert again.current_branch == "alt"


def test_log_limit(save):
    add_beats(save, 8)
    assert [e.id for e in save.log(limit=3)] == [6, 7, 8]
    assert save.log(limit=0) == []


def test_readonly_save_refuses_writes_and_writes_nothing(save, tmp_path):
    add_beats(save, 3)
    save.close()
    path = tmp_path / "game.db"
    before = path.read_bytes()
    with Save.open(path, readonly=True) as ro:
        assert ro.state() == ro.state_at(3, use_snapshots=False)
        for attempt in (
            lambda: append_beat(ro, 4),
            lambda: ro.undo(),
            lambda: ro.fork("x"),
            lambda: ro.switch("main"),
            lambda: ro.set_meta("metrics", {}),
        ):
            with pytest.raises(SaveReadOnly, match="read-only"):
                attempt()
    assert path.read_bytes() == before


def test_meta_for_sessions(save):
    save.set_meta("metrics", {"beats": 3, "repairs": [1, 2]})
    assert save.get_meta("metrics") == {"beats": 3, "repairs": [1, 2]}
    assert save.get_meta("absent", 7) == 7
    with pytest.raises(ValueError):
        save.set_meta("schema_version", 99)


def test_store_imports_only_the_world_layer():
    # click is not listed: sqlite-utils itself imports it.
    code = (
        "import sys, simengine.store, simengine.store.export; "
        "bad = [m for m in sys.modules if m.startswith(('simengine.storytellers', "
        "'simengine.sim', 'simengine.cli', 'simengine.tui', 'textual', 'ollama'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snapshots_come_when_the_replayed_ops_outweigh_the_last_one():
    from simengine.store.save import snapshot_due, snapshot_waits

    assert snapshot_due(50, 50, replayed=1_000, base=1_000)
    assert not snapshot_due(50, 50, replayed=999, base=1_000)  # not worth its bytes yet
    assert not snapshot_due(49, 50, replayed=10**9, base=1)  # only every 50 events
    # A big state's waits for a quiet moment (Save.checkpoint), unless long overdue.
    assert not snapshot_due(7_000, 50, replayed=2_000_000, base=2_000_000)
    assert snapshot_waits(replayed=2_000_000, base=2_000_000)
    assert snapshot_due(7_000, 50, replayed=8_000_000, base=2_000_000)
    assert not snapshot_waits(replayed=1_000, base=1_000)  # small ones never wait


def test_a_big_state_is_snapshotted_rarely_and_snapshots_stay_a_fraction(tmp_path, spec):
    """Tiny ops on a world whose state is big: snapshots wait until replaying the
    ops since the last one would cost about what the snapshot itself stores."""
    data = spec.model_dump(mode="json")
    data["items"] += [
        {"id": f"crate{i}", "name": f"a crate marked {i * 7919 % 10007}", "at": "inn"}
        for i in range(400)
    ]
    big = WorldSpec.model_validate(data)
    with Save.create(tmp_path / "big.db", big, snapshot_every=1) as save:
        for n in range(1, 301):
            save.append(tick=n, kind="npc", actor="mara",
                        ops=[Move(entity="mara", to="mill" if n % 2 else "inn")])
        snaps = save.db.execute("SELECT event_id, length(state) FROM snapshots").fetchall()
        ops = save.db.execute("SELECT sum(length(ops)) FROM events").fetchone()[0]
        assert 0 < len(snaps) < 30  # not one per event, though snapshot_every is 1
        assert sum(size for _, size in snaps) <= ops
        save._cache = None  # as after opening: from the nearest snapshot
        assert save.state() == save.state_at(save.head(), use_snapshots=False)


def test_the_live_state_is_shared_and_never_moved_by_readers(tmp_path, spec):
    from simengine.world.ops import Move

    with Save.create(tmp_path / "l.db", spec) as save:
        live = save.live_state()
        first = save.append(tick=1, kind="world", ops=[])
        save.fork("alt")
        save.switch("alt")
        assert save.live_state() is live
        save.switch("main")
        before = live.copy()
        # Reading another branch's state never changes the live one.
        save.state("alt")
        save.state_at(first.id)
        assert live == before
        assert save.live_state() is live
        where = live.where(live.player) if live.player else None
        exits = live.exits(where) if where else []
        if exits:
            save.append(tick=2, kind="player", actor=live.player,
                        ops=[Move(entity=live.player, to=exits[0])])
            assert save.live_state() is live and live.where(live.player) == exits[0]


def test_a_big_states_snapshot_waits_for_the_close(tmp_path, spec, monkeypatch):
    """A snapshot too big to write within a beat is written when the game closes,
    at its head, and reopening starts from it."""
    monkeypatch.setattr(save_module, "SNAPSHOT_INLINE", 100)  # this world counts as big
    path = tmp_path / "big.db"
    with Save.create(path, spec, snapshot_every=1) as save:
        while save.replay_bytes(save.head())[0] < save._initial_size():  # until one is due
            add_beats(save, 1)
        head = save.head()
        assert save.db.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)
        want = save.state()
    with Save.open(path) as save:
        assert save.db.execute("SELECT event_id FROM snapshots").fetchall() == [(head,)]
        assert save.state() == want == save.state_at(head, use_snapshots=False)
        assert save.verify() == []
        add_beats(save, 3)  # and play goes on from it
        assert save.state() == save.state_at(head + 3, use_snapshots=False)


def test_a_long_overdue_snapshot_is_written_with_its_event(tmp_path, spec, monkeypatch):
    """A game that never closes still gets snapshots, once the ops since the last
    one reach SNAPSHOT_OVERDUE times what made one due."""
    monkeypatch.setattr(save_module, "SNAPSHOT_INLINE", 100)
    with Save.create(tmp_path / "long.db", spec, snapshot_every=1) as save:
        base = save._initial_size()
        add_beats(save, 400)
        first = save.db.execute("SELECT min(event_id) FROM snapshots").fetchone()[0]
        assert first is not None
        replayed, _ = save.replay_bytes(first - 1)
        assert replayed < save_module.SNAPSHOT_OVERDUE * base <= replayed + 200


def test_a_killed_game_with_a_waiting_snapshot_resumes_exactly(tmp_path, spec):
    """SIGKILL while a big state's snapshot waits for the close: nothing is lost,
    reopening replays from the initial state to the same head."""
    path = tmp_path / "killed.db"
    Save.create(path, spec, snapshot_every=1).close()
    kit, target = str(Path(__file__).parent), str(path)
    code = (
        "import os, signal, sys\n"
        f"sys.path.insert(0, {kit!r})\n"
        "from storekit import add_beats\n"
        "from simengine.store import Save, save as m\n"
        "m.SNAPSHOT_INLINE = 100\n"
        f"s = Save.open({target!r})\n"
        "while s.replay_bytes(s.head())[0] < s._initial_size():\n"
        "    add_beats(s, 1)\n"
        "print(s.head(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    head = int(result.stdout)
    with Save.open(path) as save:
        assert save.head() == head == save.event_count()
        assert save.db.execute("SELECT count(*) FROM snapshots").fetchone() == (0,)
        assert save.state() == save.state_at(head, use_snapshots=False)
        assert save.verify() == []


@pytest.mark.parametrize(
    "graph, words",
    [
        ({"nodes": [{"kind": "location"}], "edges": []}, "has a node without an id"),
        ({"nodes": [{"id": "inn"}], "edges": [{"source": "inn"}]},
         "has an edge without both ends"),
        ({"nodes": [{"id": "inn"}], "edges": [{"source": "inn", "target": "moon", "key": "at"}]},
         "has an edge to 'moon', which is not among its nodes"),
    ],
)
def test_a_snapshot_that_is_not_a_graph_is_named_when_read(save, graph, words):
    add_beats(save, 5)  # a snapshot at 5
    save.db.execute("UPDATE snapshots SET state = ? WHERE event_id = 5",
                    [zlib.compress(json.dumps(graph).encode())])
    save.db.conn.commit()
    save._cache = None
    with pytest.raises(SaveCorrupt, match=f"the snapshot of event #5 {words}"):
        save.state_at(5)


def test_a_snapshot_reads_back_whatever_text_its_state_held(tmp_path, spec):
    """A stored state is parsed by pydantic's reader, which refuses a lone surrogate
    that Python's writer lets through: such a state still reads back as it was."""
    with Save.create(tmp_path / "odd.db", spec) as save:
        state = save.state()
        state.set_attribute(next(state.entities("character")), "motto", "half a pair: \ud800 é")
        assert save._graph(save_module.pack_state(state), "a snapshot", packed=True) == state
        assert save._graph(state.to_json().encode("utf-8"), "a state") == state
        assert save._graph(state.to_json(), "a state") == state


def test_last_played_catches_up_after_a_crash(save):
    """A killed writer may leave ``last_played`` behind its events; the next writable
    open owes it again, so ``saves list`` shows when the game was last played."""
    path = save.path
    save.close()
    child = subprocess.run(
        [sys.executable, "-c",
         "import os, sys\nfrom simengine.store import Save\n"
         "s = Save.open(sys.argv[1])\ns.append(tick=1, kind='npc', summary='a beat')\n"
         "os._exit(0)\n", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == 0, child.stderr
    Save.open(path).close()
    with Save.open(path, readonly=True) as reader:
        newest = reader.event(reader.head()).created_at
        assert reader.get_meta("last_played") == newest


def test_metas_reads_the_values_under_one_key_prefix(save):
    save.set_metas({"salt:main:3": 1, "salt:main:10": 2, "salt:mainly:4": 5, "salu": 7})
    assert save.metas("salt:main:") == {"3": 1, "10": 2}
    assert save.metas("nothing:") == {}

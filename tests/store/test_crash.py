"""Kill a writing process at random moments: every tick is wholly there or wholly absent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from storekit import CALLS_PER_BEAT, append_beat, beat_ops

from simengine.store import Save
from simengine.store.save import snapshot_due

KIT = os.path.join(os.path.dirname(__file__), "storekit.py")
LANES = 4  # saves killed side by side, to keep the test short
ROUNDS = 6  # kills per save: 24 in all


def check_save(path) -> int:
    """Open the save after a kill and check it tick by tick; returns its event count."""
    with Save.open(path, readonly=True) as s:
        problems = s.verify()  # integrity_check, heads exist, snapshots == replays
        assert problems == [], problems
        events = s.events()
        calls = s.calls()
        by_event: dict[int, list] = {}
        for call in calls:
            by_event.setdefault(call["event_id"], []).append(call)
        assert None not in by_event  # no call outlived its event
        for event in events:  # every event whole: its content and its calls
            assert event.ops == beat_ops(event.depth)
            assert event.intent == f"beat {event.depth}"
            assert event.narration == f"Beat {event.depth} is told."
            assert [c["phase"] for c in by_event[event.id]] == ["decide", "narrate"][
                :CALLS_PER_BEAT
            ]
            # A snapshot that was due was written with its event, never without.
            replayed, base = s.replay_bytes(event.parent_id)
            own = s.db.execute("SELECT length(ops) FROM events WHERE id = ?", [event.id])
            due = snapshot_due(event.depth, s.snapshot_every, replayed + own.fetchone()[0], base)
            has = s.db.execute("SELECT 1 FROM snapshots WHERE event_id = ?", [event.id])
            assert (has.fetchone() is not None) == due
        heads = s.branches()
        assert s.current_branch in heads
        played = s.get_meta("last_played")
        if events:
            # last_played comes with the meta values of a tick's end (or a close), so it
            # may lag the events, never pass them: their created_at is the truth...
            assert played is None or played <= max(e.created_at for e in events)
        clock = s.get_meta("clock")
        if clock and clock["head"] is not None:
            # ...and it covers every event made before that tick's end was written.
            assert s.event(clock["head"]).created_at <= played
        for head in heads.values():
            if head is not None:
                replay = s.state_at(head, use_snapshots=False)
                assert s.state_at(head) == replay
                assert sum(replay.attr(c, "gold") for c in ("mara", "silas")) == 30
        return len(events)


def lane(path, seed: int) -> list[int]:
    rng = random.Random(seed)
    counts = []
    for round_ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, KIT, "write", str(path), str(seed * 100 + round_)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            if round_ % 3 == 2:
                time.sleep(rng.uniform(0.0, 0.6))  # may land while it is still opening
            else:
                assert child.stdout.readline() == b"ready\n", child.stderr.read().decode()
                time.sleep(rng.uniform(0.0, 0.25))
            assert child.poll() is None, child.stderr.read().decode()
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
        assert child.returncode == -signal.SIGKILL
        counts.append(check_save(path))
    return counts


def test_sigkill_at_random_moments_never_half_writes_a_tick(tmp_path, spec):
    paths = []
    for i in range(LANES):
        path = tmp_path / f"lane{i}.db"
        Save.create(path, spec, snapshot_every=5).close()
        paths.append(path)
    with ThreadPoolExecutor(LANES) as pool:
        counts = list(pool.map(lane, paths, range(1, LANES + 1)))
    assert sum(len(c) for c in counts) >= 20
    assert sum(c[-1] for c in counts) > 0  # the writers got somewhere
    for path in paths:  # and every save still opens for writing and takes new ticks
        with Save.open(path) as s:
            head = s.head()
            depth = s.event(head).depth if head is not None else 0
            last = append_beat(s, depth + 1)
            assert s.verify() == []
        with Save.open(path, readonly=True) as s:  # the close wrote when it was played
            assert s.get_meta("last_played") == last.created_at
    print("events per lane after each kill:", json.dumps(counts))

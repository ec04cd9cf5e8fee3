"""Any mix of appends, undos, forks and switches keeps the tree, heads and states right."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from storekit import append_beat, make_spec

from simengine.store import Save

STEP = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 3)),
    st.tuples(st.just("undo"), st.integers(1, 3)),
    st.tuples(st.just("fork"), st.integers(0, 40)),
    st.tuples(st.just("switch"), st.integers(0, 5)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=25), snapshot_every=st.integers(1, 4))
def test_random_histories(steps, snapshot_every):
    spec = make_spec()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.db"
        parents: dict[int, int | None] = {}
        depth: dict[int | None, int] = {None: 0}
        heads: dict[str, int | None] = {"main": None}
        current = "main"
        with Save.create(path, spec, snapshot_every=snapshot_every) as save:
            for action, arg in steps:
                if action == "append":
                    for _ in range(arg):
                        head = heads[current]
                        event = append_beat(save, depth[head] + 1)
                        parents[event.id] = head
                        depth[event.id] = depth[head] + 1
                        heads[current] = event.id
                elif action == "undo":
                    n = min(arg, depth[heads[current]])
                    for _ in range(n):
                        heads[current] = parents[heads[current]]
                    save.undo(n)
                elif action == "fork":
                    at = arg if arg in parents else None
                    name = f"b{len(heads)}"
                    save.fork(name, at=at)
                    heads[name] = at
                else:
                    current = sorted(heads)[arg % len(heads)]
                    save.switch(current)
                assert save.branches() == heads
                assert save.current_branch == current
            for name, head in heads.items():
                path_ids = []
                cursor = head
                while cursor is not None:
                    path_ids.append(cursor)
                    cursor = parents[cursor]
                assert [e.id for e in save.log(name)] == path_ids[::-1]
                assert save.state(name) == save.state_at(head, use_snapshots=False)
            assert save.verify() == []
        with Save.open(path, readonly=True) as again:
            assert again.branches() == heads
            for name, head in heads.items():
                assert again.state(name) == again.state_at(head, use_snapshots=False)

"""One writer per save, any number of readers, even while the writer writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner
from storekit import add_beats

from simengine.cli.saves import saves
from simengine.store import Save, SaveInUse

KIT = os.path.join(os.path.dirname(__file__), "storekit.py")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_second_writer_process_gets_a_clear_error(save):
    add_beats(save, 2)
    child = run_python(
        f"""
        from simengine.store import Save, SaveInUse
        try:
            Save.open({str(save.path)!r})
        except SaveInUse as err:
            print(err)
            raise SystemExit(3)
        """
    )
    assert child.returncode == 3, child.stderr
    assert "is in use by another process" in child.stdout
    assert f"(pid {os.getpid()})" in child.stdout


def test_second_writer_process_through_the_cli(save):
    child = run_python(
        f"""
        from simengine.cli.saves import saves
        saves(["fork", {str(save.path)!r}, "other"])
        """
    )
    assert child.returncode == 1
    assert "Error:" in child.stderr and "in use by another process" in child.stderr
    assert "Traceback" not in child.stderr


def test_second_writer_in_the_same_process_is_refused(save):
    with pytest.raises(SaveInUse, match=f"pid {os.getpid()}"):
        Save.open(save.path)
    result = CliRunner().invoke(saves, ["undo", str(save.path)])
    assert result.exit_code == 1 and "in use by another process" in result.output


def test_lock_is_released_on_close_and_on_death(save, tmp_path):
    path = save.path
    save.close()
    Save.open(path).close()
    # A writer that dies without closing leaves no lock behind.
    child = run_python(
        f"""
        import os
        from simengine.store import Save
        s = Save.open({str(path)!r})
        os._exit(0)
        """
    )
    assert child.returncode == 0, child.stderr
    Save.open(path).close()


def test_readers_see_committed_state_during_an_open_write(save):
    add_beats(save, 3)
    with save.db.atomic():
        save.db.execute("UPDATE branches SET head = NULL WHERE name = 'main'")
        with Save.open(save.path, readonly=True) as reader:  # does not wait for the writer
            assert reader.head() == 3
            assert reader.state() == reader.state_at(3, use_snapshots=False)
    with Save.open(save.path, readonly=True) as reader:
        assert reader.head() is None


def test_read_while_another_process_writes(save):
    path = save.path
    save.close()
    writer = subprocess.Popen(
        [sys.executable, KIT, "write", str(path), "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert writer.stdout.readline() == b"ready\n"
        seen = set()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            with Save.open(path, readonly=True) as reader, reader.reading():
                head = reader.head()
                log = reader.log()
                assert len(log) == (reader.event(head).depth if head is not None else 0)
                assert [e.id for e in log][-1:] == ([head] if head is not None else [])
                assert reader.state_at(head) == reader.state_at(head, use_snapshots=False)
                seen.add(reader.event_count())
        assert writer.poll() is None, writer.stderr.read().decode()
        assert len(seen) > 1  # the writer made progress while we read
    finally:
        writer.kill()
        writer.wait()

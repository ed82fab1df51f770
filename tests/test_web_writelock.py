"""web.writelock.WriterLock: one SQLite writer at a time across web worker processes."""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import time

import pytest

from web.writelock import WriterLock, lock_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def _hold(path: str, ready, release, seconds: float) -> None:  # type: ignore[no-untyped-def]
    lock = WriterLock(path)
    with lock:
        ready.set()
        release.wait(seconds)


def _record(path: str, log: str, n: int) -> None:
    """Append 'enter'/'exit' pairs under the lock; interleaving would show overlapping holders."""
    lock = WriterLock(path)
    for _ in range(n):
        with lock:
            with open(log, "a") as f:
                f.write("enter\n")
                f.flush()
            time.sleep(0.002)
            with open(log, "a") as f:
                f.write("exit\n")


def _take_in_thread(lock: WriterLock) -> tuple[threading.Thread, threading.Event]:
    """A thread that takes ``lock`` and sets the event once it holds it (started)."""
    got = threading.Event()

    def take() -> None:
        with lock:
            got.set()

    t = threading.Thread(target=take)
    t.start()
    return t, got


def test_the_lock_file_sits_beside_the_database(tmp_path):
    assert lock_path(tmp_path / "steer.db") == (tmp_path / "steer.db.steer-writer.lock").resolve()


def test_a_second_process_waits_for_the_holder_and_gets_the_lock_as_soon_as_it_is_released(tmp_path):
    ctx = mp.get_context("spawn")
    path = str(tmp_path / "w.lock")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(path, ready, release, 30))
    holder.start()
    try:
        assert ready.wait(30)
        t, got = _take_in_thread(WriterLock(path))
        assert not got.wait(0.3), "the lock was taken while another process held it"
        released_at = time.monotonic()
        release.set()
        assert got.wait(10)
        waited = time.monotonic() - released_at
        t.join()
        # woken by the kernel, not by polling with growing sleeps
        assert waited < 1.0
    finally:
        release.set()
        holder.join(10)


def test_holders_in_several_processes_never_overlap(tmp_path):
    ctx = mp.get_context("spawn")
    path, log = str(tmp_path / "w.lock"), str(tmp_path / "log.txt")
    procs = [ctx.Process(target=_record, args=(path, log, 25)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = (tmp_path / "log.txt").read_text().split()
    assert len(lines) == 150
    assert lines == ["enter", "exit"] * 75


def test_the_lock_is_reentrant_in_a_thread_and_exclusive_between_threads(tmp_path):
    lock = WriterLock(tmp_path / "w.lock")
    with lock:
        with lock:  # re-entered by the same thread (a write inside a write)
            pass
        t, other = _take_in_thread(lock)
        assert not other.wait(0.2)
    assert other.wait(5)
    t.join()
    lock.close()

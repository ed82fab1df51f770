"""SQLite under concurrent writers: nobody sees "database is locked".

engine/db.py opens every SQLite transaction with ``BEGIN IMMEDIATE`` and a 30 s busy
timeout, so a writer that finds the database locked waits (SQLite's busy handler retries
with backoff) instead of failing. These tests hold the write lock in one process while
`steer` commands in other processes try to write, and run several writer processes at
once (on both backends) — every command must succeed, with no error on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.audit import verify_chain
from engine.db import transaction
from engine.models import Event
from tests.factories import seed_url
from tests.faultkit import REPO, child_env, start_steer, wait_until

TASKS = tuple({"code": str(i), "lead": ["SKHCN"], "deadline": date(2025, 9, 30)} for i in range(1, 9))

# Holds a write transaction (BEGIN IMMEDIATE, one row updated) until told to let go.
HOLDER = r"""
import sys, time
from pathlib import Path
from sqlalchemy import text
from engine.db import make_engine, transaction
url, ready, release = sys.argv[1:4]
eng = make_engine(url)
with transaction(eng) as s:
    s.execute(text("UPDATE committee SET name = name"))
    Path(ready).touch()
    end = time.monotonic() + 120         # a safety cap; the test lets go well within the writers' 30 s
    while not Path(release).exists() and time.monotonic() < end:
        time.sleep(0.01)
    held = time.monotonic()
print(f"released {held}")
"""


def _opened(pid: int, db: Path) -> bool:
    """Whether process ``pid`` has the database file open (it has connected)."""
    try:
        return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == str(db) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see when a process has connected")
def test_sqlite_commands_wait_for_a_held_write_lock_and_all_succeed_without_a_database_is_locked_error(
        db_url, tmp_path, tmp_path_factory):
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    db = Path(db_url[len("sqlite:///"):]).resolve()
    ready, release = tmp_path / "ready", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, db_url, str(ready), str(release)], cwd=REPO,
                              env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: ready.exists() or holder.poll() is not None, 60, "the lock holder")
        assert holder.poll() is None, holder.communicate()
        writers = [start_steer(["--db", db_url, "task", "note", f"KH-TEST/{i}", "--as", "skhcn_focal",
                                "--note", f"Ghi nhận số {i}", "--percent", str(10 * i), "--now", "2025-06-02"],
                               tmp_path, f"note{i}", STEER_LANG="vi") for i in range(1, 7)]
        # writers that connected wait in BEGIN IMMEDIATE; let go once all have connected, or
        # 15 s after the first did (the busy timeout is 30 s; a loaded machine starts slowly)
        wait_until(lambda: any(_opened(w.popen.pid, db) for w in writers), 60, "a writer to connect")
        first = time.monotonic()
        wait_until(lambda: all(_opened(w.popen.pid, db) for w in writers) or time.monotonic() - first > 15, 30,
                   "the writers to connect")
        time.sleep(0.3)
        assert [w.popen.poll() for w in writers] == [None] * 6, "a writer finished while the lock was held"
        waiting = sum(_opened(w.popen.pid, db) for w in writers)
        assert waiting >= 2, "no contention: fewer than two writers reached the database while it was locked"
        release.touch()
        out, err = holder.communicate(timeout=60)
        assert holder.returncode == 0, err
        released = float(out.split()[-1])
        for w in writers:
            assert w.wait(60) == 0, w.stderr
            assert w.stderr == "", w.stderr                       # no error, no warning, no traceback
            assert "Đã ghi nhận tiến độ phần việc" in w.stdout
    finally:
        release.touch()
        if holder.poll() is None:
            holder.kill()
    assert all(w.started < released for w in writers)
    from engine.db import make_engine

    eng = make_engine(db_url)
    try:
        with transaction(eng) as s:
            assert s.execute(select(func.count()).select_from(Event).where(Event.kind == "note")).scalar() == 6
            assert verify_chain(s).ok
    finally:
        eng.dispose()


# Writes ``n`` notes on ``ref`` as ``person``, each in its own transaction, then prints OK.
NOTER = r"""
import sys
from datetime import datetime, timedelta
from engine.db import make_engine, transaction
from engine import lifecycle as lc
from engine.actors import load_actor
from engine.refs import resolve_item
url, ref, person, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
eng = make_engine(url)
base = datetime.fromisoformat("2025-06-02T09:00:00+07:00")
for i in range(n):
    with transaction(eng) as s:
        a = load_actor(s, person)
        lc.add_note(s, resolve_item(s, ref, actor=a), a, now=base + timedelta(seconds=i), text=f"{ref} #{i}")
print("OK", n)
"""


@pytest.mark.slow
def test_six_writer_processes_adding_notes_at_once_all_succeed_and_the_audit_chain_stays_valid(
        db_url, tmp_path, tmp_path_factory):
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    per, procs = 20, []
    for i in range(1, 7):
        procs.append(subprocess.Popen([sys.executable, "-c", NOTER, db_url, f"KH-TEST/{i}", "skhcn_focal", str(per)],
                                      cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == f"OK {per}", err[-3000:]
        assert "locked" not in err
    from engine.db import make_engine

    eng = make_engine(db_url)
    try:
        with transaction(eng) as s:
            assert s.execute(select(func.count()).select_from(Event).where(Event.kind == "note")).scalar() == 6 * per
            check = verify_chain(s)
            assert check.ok, check
    finally:
        eng.dispose()

"""Two processes completing the same item at the same moment: exactly one wins, the other
is told who beat it, and the log holds exactly one completion — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import lifecycle as lc
from engine.audit import verify_chain
from engine.db import make_engine, transaction
from engine.models import Event
from tests.factories import actor, at, item_of, seed_url

REPO = Path(__file__).resolve().parent.parent
NAMES = {"secretariat": "Đỗ Thị Lan", "secretariat2": "Trần Văn Bảo"}

# argv: url ref person ready_file go_file mode when
#   mode "plain":  wait, then verify (reads inside its own transaction)
#   mode "form":   read the version first (like a web form), wait, then verify with expected_version
#   mode "race":   open the transaction and read, wait, then verify in that same transaction
#                  (PostgreSQL only: both hold a snapshot of the old row; the compare-and-set decides)
WORKER = r"""
import sys, time
from pathlib import Path
url, ref, person, ready, go, mode, when = sys.argv[1:8]
from datetime import datetime
from engine.db import make_engine, transaction
from engine import lifecycle as lc
from engine.actors import load_actor
from engine.refs import resolve_item
from engine.errors import UserError
eng = make_engine(url)
now = datetime.fromisoformat(when)
def wait():
    Path(ready).touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.0005)
try:
    if mode == "race":
        with transaction(eng) as s:
            w = resolve_item(s, ref)
            a = load_actor(s, person)
            wait()
            lc.verify(s, w, a, now=now)
    else:
        version = None
        with transaction(eng) as s:
            a = load_actor(s, person)
            if mode == "form":
                version = resolve_item(s, ref).version
        wait()
        with transaction(eng) as s:
            lc.verify(s, resolve_item(s, ref), a, now=now, expected_version=version)
    print("OK")
except UserError as e:
    print("REFUSED", type(e).__name__, e)
"""


@pytest.fixture
def submitted(db_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp())
    eng = make_engine(db_url)
    with transaction(eng) as s:
        lc.submit(s, item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal"), now=at("2025-06-20 15:00"), evidence="BC 1")
    yield eng
    eng.dispose()


def race(db_url: str, tmp_path: Path, mode: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    go = tmp_path / "go"
    procs = {}
    for person, minute in (("secretariat", "00"), ("secretariat2", "01")):
        ready = tmp_path / f"ready-{person}"
        when = f"2025-06-23T08:{minute}:00+07:00"
        procs[person] = (ready, subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, "KH-TEST/1", person, str(ready), str(go), mode, when],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 60
    while not all(r.exists() for r, _ in procs.values()):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for _, p in procs.values()), [p.communicate() for _, p in procs.values()]
        time.sleep(0.005)
    go.touch()
    out = {}
    for person, (_, p) in procs.items():
        stdout, stderr = p.communicate(timeout=90)
        assert p.returncode == 0, stderr
        out[person] = stdout.strip()
    return out


def check_one_winner(engine, out: dict[str, str]) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    winners = [p for p, o in out.items() if o == "OK"]
    assert len(winners) == 1, out
    (winner,) = winners
    (loser,) = [p for p in out if p != winner]
    assert out[loser].startswith("REFUSED"), out
    assert NAMES[winner] in out[loser], out  # the loser learns who completed it
    with transaction(engine) as s:
        w = item_of(s, "KH-TEST", "1")
        done = s.execute(select(Event).where(Event.work_item_id == w.id, Event.to_status == "completed")).scalars().all()
        assert len(done) == 1 and done[0].actor == winner
        assert w.status == "completed" and w.version == 3 and w.updated_by == winner
        assert verify_chain(s).ok
    return winner, out[loser]


def test_two_processes_verifying_at_once_exactly_one_wins(submitted, db_url, tmp_path):
    _, msg = check_one_winner(submitted, race(db_url, tmp_path, "plain"))
    # the loser either lost the compare-and-set, or found the item already completed
    assert "Conflict" in msg or "Đã hoàn thành" in msg


def test_two_forms_with_the_same_version_exactly_one_wins_the_other_gets_a_conflict(submitted, db_url, tmp_path):
    _, msg = check_one_winner(submitted, race(db_url, tmp_path, "form"))
    assert "Conflict" in msg and "hãy tải lại rồi thử lại" in msg


def test_postgres_compare_and_set_decides_between_two_open_transactions(submitted, db_url, tmp_path):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; two open write transactions cannot overlap")
    _, msg = check_one_winner(submitted, race(db_url, tmp_path, "race"))
    assert "Conflict" in msg and "23/06/2025 08:0" in msg


def test_two_people_noting_the_same_item_at_once_both_succeed_without_a_version(submitted, db_url):
    """A note changes no state: without an explicit version the second writer waits, not fails."""
    import threading

    with transaction(submitted) as s:
        ref_id = item_of(s, "KH-TEST", "1").id
        before = s.execute(select(Event).where(Event.work_item_id == ref_id, Event.kind == "note")).scalars().all()
    results: dict[str, str] = {}
    first_holds = threading.Event()
    release = threading.Event()

    def first() -> None:
        with transaction(submitted) as s:
            lc.add_note(s, s.get(lc.WorkItem, ref_id), actor(s, "skhcn_focal"), now=at("2025-06-21 09:00"), text="A")
            first_holds.set()
            release.wait(10)  # keep the transaction (and its row lock on PostgreSQL) open
        results["first"] = "OK"

    def second() -> None:
        first_holds.wait(10)
        try:
            with transaction(submitted) as s:
                lc.add_note(s, s.get(lc.WorkItem, ref_id), actor(s, "secretariat"), now=at("2025-06-21 09:00"), text="B")
            results["second"] = "OK"
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            results["second"] = f"{type(exc).__name__}: {exc}"

    t1, t2 = threading.Thread(target=first), threading.Thread(target=second)
    t1.start(); t2.start()
    first_holds.wait(10)
    time.sleep(0.5)  # the second writer is now waiting (PostgreSQL row lock / SQLite write lock)
    release.set()
    t1.join(20); t2.join(20)
    assert results == {"first": "OK", "second": "OK"}
    with transaction(submitted) as s:
        notes = s.execute(select(Event).where(Event.work_item_id == ref_id, Event.kind == "note")).scalars().all()
        assert len(notes) == len(before) + 2
        assert s.get(lc.WorkItem, ref_id).version == 4  # 1 → submitted 2 → notes 3, 4
        assert verify_chain(s).ok

"""Finding 4: two loads of the same *new* plan code at once (PostgreSQL). The loser used
to die on ``UniqueViolation uq_plan_code`` (a traceback in the CLI, HTTP 500 in the web);
it must get the clear "already exists / changed by another load, retry" message instead.

The race is made deterministic: load A runs the real loader and stops just before its
commit; load B starts, sees no plan, and waits on A's uncommitted insert of the same code;
A commits; B's insert fails. (SQLite serialises writers with BEGIN IMMEDIATE, so the race
cannot happen there: PostgreSQL only.)"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from cli.main import app as cli_app
from engine import errors
from engine.db import make_engine, transaction
from engine.models import Plan
from engine.planfile import loader
from tests.factories import make_directory
from tests.web_helpers import NOW, flashes, login, running_world

PLAN = """
plan: {code: KH-RACE, title: Kế hoạch chạy đua, issued_on: 2025-03-15}
sections:
  - code: I
    title: Phần một
    tasks:
      - {code: "1", title: Nhiệm vụ một, lead: [SKHCN], deliverable: Kế hoạch, deadline: "6/2025"}
      - {code: "2", title: Nhiệm vụ hai, lead: [SNV], deliverable: Báo cáo, deadline: "12/2025"}
"""


@pytest.fixture
def pg_url(db_url):  # type: ignore[no-untyped-def]
    if not db_url.startswith("postgresql"):
        pytest.skip("the race needs concurrent writers: PostgreSQL only")
    return db_url


@pytest.fixture
def directory(pg_url):  # type: ignore[no-untyped-def]
    """The units exist already, so the loads race on the plan code alone (uq_plan_code)."""
    eng = make_engine(pg_url)
    with transaction(eng) as s:
        make_directory(s, now=NOW)
    eng.dispose()
    return pg_url


def _plan_file(tmp_path: Path) -> Path:
    p = tmp_path / "race.yaml"
    p.write_text(PLAN, encoding="utf-8")
    return p


def _wait_until_blocked(url: str, timeout: float = 20.0) -> None:
    """Until some other backend waits on a lock (load B on load A's uncommitted plan row)."""
    eng = make_engine(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with eng.connect() as c:
                n = c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")).scalar_one()
            if n:
                return
            time.sleep(0.05)
        raise AssertionError("load B never waited on load A")
    finally:
        eng.dispose()


def _race(url: str, monkeypatch, run_b) -> object:  # type: ignore[no-untyped-def]
    """Run load A (paused before its commit) and ``run_b`` (the second load) in threads;
    returns what ``run_b`` returned (or raised)."""
    real_apply = loader._apply
    release = threading.Event()
    a_ready = threading.Event()

    def apply_then_pause(session, vp, **kw):  # type: ignore[no-untyped-def]
        result = real_apply(session, vp, **kw)
        if threading.current_thread().name == "load-A":
            a_ready.set()
            assert release.wait(30)
        return result

    monkeypatch.setattr(loader, "_apply", apply_then_pause)
    out: dict[str, object] = {}

    def a() -> None:
        eng = make_engine(url)
        try:
            out["a"] = loader.load_plan_file(eng, out["file"], now=NOW)  # type: ignore[arg-type]
        finally:
            eng.dispose()

    def b() -> None:
        try:
            out["b"] = run_b()
        except BaseException as exc:  # noqa: BLE001 - the assertion is on what came out
            out["b"] = exc

    return out, a, b, a_ready, release


def _run(url, monkeypatch, tmp_path, run_b):  # type: ignore[no-untyped-def]
    out, a, b, a_ready, release = _race(url, monkeypatch, run_b)
    out["file"] = _plan_file(tmp_path)
    ta = threading.Thread(target=a, name="load-A")
    ta.start()
    assert a_ready.wait(30)
    tb = threading.Thread(target=b, name="load-B")
    tb.start()
    try:
        _wait_until_blocked(url)
    finally:
        release.set()
        ta.join(30)
        tb.join(30)
    assert out["a"].created  # type: ignore[union-attr]
    eng = make_engine(url)
    with transaction(eng) as s:
        assert s.scalar(select(func.count()).select_from(Plan).where(Plan.code == "KH-RACE")) == 1
    eng.dispose()
    return out["b"]


def test_engine_second_load_gets_a_conflict_not_a_unique_violation(pg_url, directory, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    def run_b():  # type: ignore[no-untyped-def]
        eng = make_engine(pg_url)
        try:
            return loader.load_plan_file(eng, tmp_path / "race.yaml", now=NOW)
        finally:
            eng.dispose()

    got = _run(pg_url, monkeypatch, tmp_path, run_b)
    assert isinstance(got, errors.Conflict), repr(got)
    assert "KH-RACE" in str(got) and "chạy lại" in str(got)
    # the retry the message asks for works: the file is what A loaded, so nothing changes
    eng = make_engine(pg_url)
    try:
        assert loader.load_plan_file(eng, tmp_path / "race.yaml", now=NOW).unchanged
    finally:
        eng.dispose()


def test_cli_second_load_exits_1_with_the_message_no_traceback(pg_url, directory, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    def run_b():  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli_app, ["--db", pg_url, "--lang", "en", "plan", "load",
                                            str(tmp_path / "race.yaml")])

    r = _run(pg_url, monkeypatch, tmp_path, run_b)
    assert r.exit_code == 1, (r.exit_code, r.output, r.exception)
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output and "UniqueViolation" not in r.output
    assert "KH-RACE" in r.output and "already exists" in r.output and "Retry" in r.output


def test_web_second_commit_gets_a_message_not_a_500(pg_url, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    with running_world(pg_url, tmp_path, monkeypatch, report=False) as w:
        staff, csrf = login(w.app, "secretariat")
        r = staff.post("/plans/upload", data={"csrf_token": csrf},
                       files={"file": ("race.yaml", PLAN.encode(), "application/x-yaml")})
        assert r.status_code == 200 and 'data-testid="commit-plan"' in r.text
        token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)

        def run_b():  # type: ignore[no-untyped-def]
            return staff.post("/plans/upload/commit", data={"csrf_token": csrf, "token": token})

        r = _run(pg_url, monkeypatch, tmp_path, run_b)
        assert not isinstance(r, BaseException), repr(r)
        assert r.status_code == 303, (r.status_code, r.text[:500])  # type: ignore[union-attr]
        shown = flashes(staff.get(r.headers["location"]).text)  # type: ignore[union-attr]
        assert shown and shown[0][0] == "error" and "KH-RACE" in shown[0][1] and "chạy lại" in shown[0][1]

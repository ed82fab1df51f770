"""Timeliness flips: recorded once per change, as hash-chained events, and the set-based
SQL classification agrees with engine.timeliness.classify."""

from __future__ import annotations

import shutil
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import db as dbmod
from engine import lifecycle as lc
from engine import tracking
from engine.audit import verify_chain
from engine.clock import local_datetime
from engine.db import transaction
from engine.directory_store import parse_directory_file, store_directory
from engine.history import replay_history
from engine.txcache import committee_settings
from engine.models import Event, Task, WorkItem
from engine.planfile.loader import load_plan_file
from engine.timeliness import classify
from tests.conftest import BACKENDS, _truncate_pg
from tests.factories import actor, at, ensure_chain_head, item_of, seed

PLANS = Path(__file__).resolve().parent.parent / "plans"
TASKS = (
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30)},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 6, 13)},
    {"code": "3", "lead": ["STC"], "deadline": None, "deadline_kind": "ongoing"},
    {"code": "4", "lead": ["STC"], "deadline": None},
)


def _track(engine, when: str, **kw):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return tracking.track(s, now=at(when), **kw)


def _stored(engine, code: str) -> str | None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return item_of(s, "KH-TEST", code).timeliness


def test_first_run_classifies_every_item_and_a_second_run_at_the_same_time_records_nothing(engine):
    seed(engine, tasks=TASKS)
    first = _track(engine, "2025-06-10 08:00")
    assert first.flips == 4
    assert first.by_transition == {"∅→on_track": 1, "∅→due_soon": 1, "∅→ongoing": 1, "∅→no_deadline": 1}
    assert _track(engine, "2025-06-10 08:00").flips == 0
    assert _track(engine, "2025-06-10 17:00").flips == 0
    with transaction(engine) as s:
        assert len(s.execute(select(Event).where(Event.kind == "timeliness")).all()) == 4
        assert verify_chain(s).ok


def test_item_goes_due_soon_then_overdue_then_back_on_track_after_an_extension(engine):
    seed(engine, tasks=TASKS)
    _track(engine, "2025-06-01 08:00")
    assert _stored(engine, "2") == "on_track"
    assert _track(engine, "2025-06-06 08:00").by_transition == {"on_track→due_soon": 1}  # 13/06 within 7 days
    assert _track(engine, "2025-06-13 23:59").flips == 0  # due today is not overdue
    assert _track(engine, "2025-06-14 00:01").by_transition == {"due_soon→overdue": 1}
    with transaction(engine) as s:
        item = item_of(s, "KH-TEST", "2")
        lc.request_extension(s, item, actor(s, "snv_focal"), now=at("2025-06-16 09:00"), until=date(2025, 9, 30),
                             reason="Chờ ý kiến Bộ")
        lc.approve_extension(s, item, actor(s, "chair"), now=at("2025-06-16 10:00"))
    assert _track(engine, "2025-06-17 08:00").by_transition == {"overdue→on_track": 1}
    with transaction(engine) as s:
        item = item_of(s, "KH-TEST", "2")
        events = s.execute(select(Event).where(Event.work_item_id == item.id, Event.kind == "timeliness")
                           .order_by(Event.id)).scalars().all()
        assert [(e.from_status, e.to_status) for e in events] == [
            (None, "on_track"), ("on_track", "due_soon"), ("due_soon", "overdue"), ("overdue", "on_track")]
        assert events[-1].data["deadline"] == "2025-09-30" and events[-1].actor == "system"
        assert events[2].data == {"deadline": "2025-06-13", "today": "2025-06-14", "from": "due_soon", "to": "overdue"}


def test_completion_flips_to_completed_on_time_or_late_and_the_stored_value_fits_its_column(engine):
    seed(engine, tasks=TASKS)
    _track(engine, "2025-06-14 08:00")
    with transaction(engine) as s:
        lc.submit(s, item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal"), now=at("2025-06-20 09:00"), evidence="QĐ 1")
        lc.verify(s, item_of(s, "KH-TEST", "1"), actor(s, "secretariat"), now=at("2025-06-21 09:00"))
        lc.submit(s, item_of(s, "KH-TEST", "2"), actor(s, "snv_focal"), now=at("2025-06-20 09:00"), evidence="QĐ 2")
        lc.verify(s, item_of(s, "KH-TEST", "2"), actor(s, "secretariat"), now=at("2025-06-21 09:00"))
    r = _track(engine, "2025-06-23 08:00")
    assert r.by_transition == {"on_track→completed_on_time": 1, "overdue→completed_late": 1}
    assert _stored(engine, "1") == "completed_on_time" and _stored(engine, "2") == "completed_late"
    with transaction(engine) as s:
        raw = s.execute(select(WorkItem.timeliness)).scalars().all()
        assert max(len(v) for v in raw if v) <= WorkItem.__table__.c.timeliness.type.length
    assert _track(engine, "2025-06-24 08:00").flips == 0


def test_dry_run_computes_flips_and_writes_nothing(engine):
    seed(engine, tasks=TASKS)
    r = _track(engine, "2025-06-10 08:00", dry_run=True)
    assert r.flips == 4 and r.dry_run
    with transaction(engine) as s:
        assert s.execute(select(Event.id).where(Event.kind == "timeliness")).first() is None
        assert set(s.execute(select(WorkItem.timeliness)).scalars()) == {None}


@pytest.fixture(scope="module", params=BACKENDS)
def sample_engine(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The sample province with its whole scripted history (loaded once per backend)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sample") / "sample.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_pg_schema_url")
        eng = dbmod.make_engine(url)
        _truncate_pg(eng)
        eng.dispose()
    eng = dbmod.make_engine(url)
    load_at = local_datetime(date(2025, 3, 16), time(8, 0))
    with transaction(eng) as s:
        ensure_chain_head(s)
        store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=load_at)
    load_plan_file(eng, PLANS / "sample-plan.yaml", now=load_at)
    replay_history(eng, PLANS / "sample-history.yaml")
    yield eng
    eng.dispose()


@pytest.mark.parametrize("day", ["2025-03-20", "2025-04-05", "2025-05-21", "2025-06-23", "2025-06-30",
                                 "2025-07-01", "2025-08-01"])
def test_sql_classification_agrees_with_classify_on_every_item_of_the_sample(sample_engine, day):
    today = date.fromisoformat(day)
    now = local_datetime(today, time(8, 0))
    with Session(sample_engine) as s, s.begin():
        s.execute(update(WorkItem).values(timeliness=None))  # every item is then a "flip": all classified
        _, flips = tracking.compute_flips(s, now=now)
        got = {f.work_item_id: f.to_status for f in flips}
        tz, settings = committee_settings(s)
        rows = s.execute(select(WorkItem, Task.deadline_kind).join(Task, Task.id == WorkItem.task_id)).all()
        expected = {w.id: classify(w.status, w.deadline, w.completed_at, today, deadline_kind=kind,
                                   due_soon_days=int(settings.get("due_soon_days", 7)), tz=tz) for w, kind in rows}
        s.rollback()
    assert got == expected
    assert len(expected) == 273

"""Orchestration: the Prefect flow runs track → detect → dispatch end to end (one
prefect_test_harness per session, ~12 s), and the deployments carry the daily cron in the
committee's timezone. Everything else is tested without Prefect."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.db import make_engine, transaction
from engine.models import Event, OutboxMessage, Person, Unit
from tests.factories import seed
from tests.receivers import HttpReceiver

pytest.importorskip("prefect")


def test_escalate_flow_tracks_enqueues_and_delivers_once(prefect_harness, tmp_path):
    from flows.escalate import escalate
    from flows.settings import no_heartbeat

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    eng = make_engine(url)
    from engine import db as dbmod

    dbmod.upgrade(eng)
    seed(eng, tasks=[{"code": "1", "lead": ["SNV"], "deadline": date(2025, 5, 30)},
                     {"code": "2", "lead": ["STC"], "deadline": date(2025, 6, 3)}])
    with HttpReceiver() as http:
        with transaction(eng) as s:
            for pid in ("secretariat", "secretariat2"):
                s.get(Person, pid).notify = [http.url(f"/{pid}")]
            for u in s.execute(select(Unit).where(Unit.code.in_(["SNV", "STC"]))).scalars():
                u.notify = [http.url(f"/{u.code}")]
        with no_heartbeat():
            first = escalate(db_url=url, as_of="2025-06-04")
            second = escalate(db_url=url, as_of="2025-06-04")
    assert first["track"]["flips"] == 2 and first["track"]["by_transition"] == {"∅→overdue": 2}
    assert first["track"]["events_emitted"] == 2  # one Prefect event per flip
    assert first["detect"]["by_level"]["overdue"] == 2 * 3 and first["detect"]["by_level"]["vice_chair"] == 0
    assert first["dispatch"]["by_status"] == {"sent": 4}  # SNV, STC, two secretariat members
    assert second["track"]["flips"] == 0 and second["detect"]["inserted"] == 0
    assert second["dispatch"]["batches"] == 0
    assert sorted(h.path for h in http.requests) == ["/SNV", "/STC", "/secretariat", "/secretariat2"]
    titles = {h.path: h.payload["title"] for h in http.requests}
    assert titles["/secretariat"] == "2 nhiệm vụ quá hạn — BCĐ thử nghiệm"
    assert titles["/SNV"] == "1 nhiệm vụ quá hạn — Sở Nội vụ"
    with transaction(eng) as s:
        assert len(s.execute(select(Event).where(Event.kind == "timeliness")).all()) == 2
        assert set(s.execute(select(OutboxMessage.status)).scalars()) == {"sent"}
    eng.dispose()


def test_the_daily_flow_prunes_failed_logins_older_than_the_rate_limit_window(prefect_harness, tmp_path):
    from datetime import datetime, timedelta, timezone

    from engine import db as dbmod
    from engine.accounts import DEFAULT_LOGIN_WINDOW
    from engine.models import LoginAttempt
    from flows.escalate import escalate
    from flows.settings import no_heartbeat

    url = f"sqlite:///{tmp_path / 'flow.db'}"
    eng = make_engine(url)
    dbmod.upgrade(eng)
    seed(eng, tasks=[{"code": "1", "lead": ["SNV"], "deadline": date(2025, 9, 30)}])
    run_at = datetime(2025, 6, 4, 1, 0, tzinfo=timezone.utc)  # 08:00 in Hà Nội, as the flow's as_of gives
    with transaction(eng) as s:
        s.add_all([LoginAttempt(key="user:chair", at=run_at - timedelta(days=3)),
                   LoginAttempt(key="ip:127.0.0.1", at=run_at - timedelta(seconds=DEFAULT_LOGIN_WINDOW + 60)),
                   LoginAttempt(key="user:chair", at=run_at - timedelta(seconds=60))])
    with no_heartbeat():
        out = escalate(db_url=url, as_of="2025-06-04", dispatch=False)
    assert out["housekeeping"] == {"login_attempts_pruned": 2}
    with transaction(eng) as s:
        assert [a.at.replace(tzinfo=timezone.utc) if a.at.tzinfo is None else a.at
                for a in s.execute(select(LoginAttempt)).scalars()] == [run_at - timedelta(seconds=60)]
    eng.dispose()


def test_deployments_run_daily_at_eight_on_working_days_in_the_committee_timezone():
    from flows.escalate import deployments

    daily, retry = deployments("sqlite:///steer.db", tz="Asia/Ho_Chi_Minh")
    assert (daily.flow_name, daily.name) == ("steer-escalate", "daily")
    sched = daily.schedules[0].schedule
    assert sched.cron == "0 8 * * 1-5" and sched.timezone == "Asia/Ho_Chi_Minh"
    assert daily.parameters == {"db_url": "sqlite:///steer.db", "policy": None}
    assert retry.schedules[0].schedule.interval.total_seconds() == 600

"""The database goes away in the middle of a run (PostgreSQL behind a TCP proxy this test
controls — tests/faultkit.PgProxy; the real server keeps running).

The proxy cuts at a chosen statement: it lets the statement reach the server, waits until
the server reports it complete (e.g. "INSERT 0 6": rows written inside the still-open
transaction), then drops every connection and refuses new ones instead of passing the
answer on. So the server really performed the write, and the client never committed it.

* Detection (the ``escalate`` flow's ``detect`` task, retries=2 every 5 s): a short outage
  is absorbed by one retry; a long one fails the flow run with the database error after
  the configured attempts, with no outbox row written; once the database is back a rerun
  completes and every message is delivered exactly once.
* A database already down when the flow starts fails the run at once (the committee's
  timezone is read in the flow body; no task runs, nothing is written).
* Delivery (`steer escalation dispatch`): losing the database after a receiver accepted a
  message ends the command with one clear database error (no traceback); nothing is lost
  and the accepted message is sent again — once, under the same key — after the lease.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from engine.audit import verify_chain
from engine.db import transaction
from engine.models import DeliveryAttempt, Event, OutboxMessage, Person, Unit
from tests.conftest import IN_CI, PG_URL
from tests.factories import at, seed
from tests.faultkit import KeyReceiver, PgProxy, outbox_state, seed_outbox, start_dispatcher

pytestmark = [pytest.mark.skipif(not PG_URL and not IN_CI, reason="set STEER_TEST_POSTGRES_URL"),
              pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]

TASKS = [{"code": "1", "lead": ["SNV"], "deadline": date(2025, 5, 30)},
         {"code": "2", "lead": ["STC"], "deadline": date(2025, 6, 3)}]
AS_OF = "2025-06-04"
RECIPIENTS = ["/SNV", "/STC", "/secretariat", "/secretariat2"]


def _wire(engine, r: KeyReceiver) -> None:  # type: ignore[no-untyped-def]
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        for pid in ("secretariat", "secretariat2"):
            s.get(Person, pid).notify = [r.url(f"/{pid}")]
        for u in s.execute(select(Unit).where(Unit.code.in_(["SNV", "STC"]))).scalars():
            u.notify = [r.url(f"/{u.code}")]


def _counts(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        assert verify_chain(s).ok
        return (s.execute(select(func.count()).select_from(OutboxMessage)).scalar(),
                s.execute(select(func.count()).select_from(Event).where(Event.kind == "timeliness")).scalar())


def _task_runs(state) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """run_count of each task run of a flow run, by task name."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        runs = client.read_task_runs(flow_run_filter=flow_run)
    out: dict[str, list[int]] = {}
    for tr in runs:
        out.setdefault(tr.name.rsplit("-", 1)[0], []).append(tr.run_count)
    return out


def _run_flow(url: str):  # type: ignore[no-untyped-def]
    from flows.escalate import escalate
    from flows.settings import no_heartbeat

    with no_heartbeat():  # flow-level retries (10 min apart) are for deployments; tasks still retry
        return escalate.with_options(retries=0)(db_url=url, as_of=AS_OF, return_state=True)


def test_a_short_database_outage_during_detection_is_absorbed_by_one_task_retry_and_each_message_goes_once(
        prefect_harness, engine, db_url):
    from flows.escalate import detect_task

    with KeyReceiver() as r, PgProxy() as proxy:
        _wire(engine, r)
        proxy.cut_after(b"INSERT INTO outbox", restore_after=1.0)  # back before the retry (5 s)
        state = _run_flow(proxy.url(db_url))
        got = Counter(g.path for g in r.got)
        keys = Counter(g.key for g in r.got)
    assert proxy.tripped.is_set() and proxy.trip_info["rows"] > 0
    assert state.is_completed(), state.message
    result = state.result()
    assert result["detect"]["inserted"] == 6 and result["dispatch"]["by_status"] == {"sent": 4}
    runs = _task_runs(state)
    assert detect_task.retries == 2 and runs["detect"] == [2]        # failed once, retried once
    assert runs["track"] == [1] and runs["dispatch"] == [1]
    assert sorted(got) == RECIPIENTS and set(got.values()) == {1} and set(keys.values()) == {1}
    assert _counts(engine) == (6, 2)
    assert {x["status"] for x in outbox_state(engine)} == {"sent"}


def test_a_long_database_outage_fails_the_flow_clearly_after_the_configured_retries_without_partial_writes(
        prefect_harness, engine, db_url):
    from flows.escalate import detect_task

    with KeyReceiver() as r, PgProxy() as proxy:
        _wire(engine, r)
        proxy.cut_after(b"INSERT INTO outbox")                      # and stays down
        failed = _run_flow(proxy.url(db_url))
        assert proxy.tripped.is_set()
        written = proxy.trip_info["rows"]                               # the server had inserted rows
        assert failed.is_failed()
        assert "OperationalError" in failed.message and "Connection refused" in failed.message, failed.message
        print(f"\nserver completed {proxy.trip_info['tag']!r}, then the connection died; flow run: {failed.message}")
        runs = _task_runs(failed)
        assert runs["detect"] == [detect_task.retries + 1]              # 3 attempts, then the flow fails
        assert "dispatch" not in runs and runs["track"] == [1]
        # nothing half-done: the open transaction's rows were rolled back; tracking had committed whole
        assert written > 0 and _counts(engine) == (0, 2)
        assert r.count == 0

        proxy.up()                                                      # the database is back: run again
        rerun = _run_flow(proxy.url(db_url))
        got = Counter(g.path for g in r.got)
        keys = Counter(g.key for g in r.got)
    assert rerun.is_completed(), rerun.message
    result = rerun.result()
    assert result["track"]["flips"] == 0                                # no timeliness event twice
    assert result["detect"]["inserted"] == 6 and result["dispatch"]["by_status"] == {"sent": 4}
    assert sorted(got) == RECIPIENTS and set(got.values()) == {1} and set(keys.values()) == {1}
    assert _counts(engine) == (6, 2)


def test_dispatch_losing_the_database_after_a_receiver_accepted_exits_with_one_clear_error_and_resends_once_after_the_lease(  # noqa: E501
        engine, db_url, tmp_path):
    T = at("2025-06-16 08:00")
    with KeyReceiver() as r, PgProxy() as proxy:
        seed_outbox(engine, 5, lambda c: r.url(f"/u/{c}"), now=T, per_unit=2)
        via = proxy.url(db_url)
        proxy.cut_after(b"INSERT INTO delivery_attempt")            # recording the first send
        cut = start_dispatcher(via, T, tmp_path, "cut")
        assert cut.wait(180) == 1
        assert proxy.tripped.is_set()
        err = cut.stderr
        print(f"\nserver completed {proxy.trip_info['tag']!r}, then the connection died; stderr: {err.strip()}")
        assert err.startswith("Database error: cannot use postgresql+psycopg://postgres@127.0.0.1:"), err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert r.count == 1                                             # accepted, never recorded
        accepted = r.got[0].key
        at_cut = outbox_state(engine)
        assert {x["status"] for x in at_cut} == {"sending"} and {x["claimed_by"] for x in at_cut} == {cut.worker}
        with transaction(engine) as s:
            assert s.execute(select(func.count()).select_from(DeliveryAttempt)).scalar() == 0

        proxy.up()
        early = start_dispatcher(via, T + timedelta(minutes=1), tmp_path, "early")  # within the lease: nothing
        assert early.wait(180) == 0, early.stderr
        assert r.count == 1 and outbox_state(engine) == at_cut
        after = start_dispatcher(via, T + timedelta(minutes=5, seconds=1), tmp_path, "after")
        assert after.wait(180) == 0, after.stderr
        keys = Counter(g.key for g in r.got)
    rows = outbox_state(engine)
    assert {x["status"] for x in rows} == {"sent"}
    assert set(keys) == {x["batch_key"] for x in rows} and len(keys) == 5
    assert {k: n for k, n in keys.items() if n > 1} == {accepted: 2}


def test_a_database_down_when_the_flow_starts_fails_the_run_after_the_first_reads_retries_with_the_connection_error_and_writes_nothing(
        prefect_harness, engine, db_url):
    from flows.escalate import committee_tz_task

    with KeyReceiver() as r, PgProxy() as proxy:
        _wire(engine, r)
        proxy.down()
        state = _run_flow(proxy.url(db_url))
        assert state.is_failed()
        assert "OperationalError" in state.message and "Connection refused" in state.message, state.message
        # the committee's timezone is the first read: retried, then the run fails before tracking
        assert _task_runs(state) == {"committee-timezone": [committee_tz_task.retries + 1]}
        assert _counts(engine) == (0, 0) and r.count == 0

"""The daily escalation flow: track → detect (enqueue) → dispatch.

Thin on purpose: each task wraps one engine/notifications call and returns a small,
JSON-ready summary; everything that matters (idempotency, deduplication, leases) lives in
the database, so a task retry or a second concurrent run is harmless.

* ``escalate`` — the daily run (deployment ``steer-escalate/daily``, cron
  ``0 8 * * 1-5`` in the committee's timezone). Each recorded timeliness flip is also
  emitted as a Prefect event (``steer.item.overdue`` …, resource
  ``steer.work-item.<id>``) so automations can react.
* ``dispatch_pending`` — delivers what is due (retries after backoff) between daily runs
  (deployment ``steer-dispatch/retry``, every 10 minutes).

Prefect is imported here, so import this module lazily (the CLI does).
"""

from __future__ import annotations

from flows.settings import configure

configure()

from datetime import date, datetime, time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402

MAX_EVENTS = 1000  # timeliness flips emitted as Prefect events per run (the rest are in the log)


def run_time(as_of: str | None, tz: str | None = None) -> datetime:
    """``as_of`` (YYYY-MM-DD) at 08:00 committee time, or the clock."""
    from engine import clock

    if not as_of:
        return clock.now()
    return clock.local_datetime(date.fromisoformat(as_of), time(8, 0), tz or clock.DEFAULT_TZ)


def _engine(db_url: str | None) -> Any:
    from engine.db import database_url, make_engine

    return make_engine(database_url(db_url))


def _policy(path: str | None) -> Any:
    from engine.policy import load_policy

    return load_policy(Path(path)) if path else None


@task(name="track", retries=2, retry_delay_seconds=5)
def track_task(db_url: str | None, now_iso: str, emit_events: bool = True) -> dict[str, Any]:
    """Record timeliness flips at ``now`` (engine.tracking.track)."""
    from engine import tracking
    from engine.db import transaction

    now = datetime.fromisoformat(now_iso)
    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            result = tracking.track(s, now=now)
    finally:
        eng.dispose()
    emitted = _emit(result.changes, result.today) if emit_events else 0
    return {"today": result.today.isoformat(), "flips": result.flips, "by_transition": result.by_transition,
            "events_emitted": emitted}


def _emit(changes: list[Any], today: date) -> int:
    from prefect.events import emit_event

    n = 0
    for f in changes[:MAX_EVENTS]:
        emit_event(event=f"steer.item.{f.to_status}",
                   resource={"prefect.resource.id": f"steer.work-item.{f.work_item_id}"},
                   related=[{"prefect.resource.id": f"steer.plan.{f.plan_id}", "prefect.resource.role": "plan"}],
                   payload={"from": f.from_status, "to": f.to_status, "today": today.isoformat(),
                            "deadline": f.deadline.isoformat() if f.deadline else None})
        n += 1
    return n


@task(name="housekeeping", retries=2, retry_delay_seconds=5)
def housekeeping_task(db_url: str | None, now_iso: str) -> dict[str, int]:
    """Prune expired rows (engine.maintenance.housekeeping: old failed-login attempts)."""
    from engine.db import transaction
    from engine.maintenance import housekeeping

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            return housekeeping(s, now=datetime.fromisoformat(now_iso))
    finally:
        eng.dispose()


@task(name="detect", retries=2, retry_delay_seconds=5)
def detect_task(db_url: str | None, now_iso: str, policy_path: str | None = None,
                full_rescan: bool = False) -> dict[str, Any]:
    """Enqueue the outbox rows the policy calls for (engine.escalation.detect)."""
    from engine import escalation
    from engine.db import transaction

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            r = escalation.detect(s, now=datetime.fromisoformat(now_iso), policy=_policy(policy_path),
                                  incremental=not full_rescan)
    finally:
        eng.dispose()
    return {"inserted": r.inserted, "by_level": r.by_level, "not_before": r.not_before.isoformat()}


@task(name="dispatch", retries=3, retry_delay_seconds=[10, 60, 300])
def dispatch_task(db_url: str | None, now_iso: str | None = None, policy_path: str | None = None) -> dict[str, Any]:
    """Deliver every due outbox row (notifications.delivery.dispatch)."""
    from notifications.delivery import dispatch

    eng = _engine(db_url)
    try:
        r = dispatch(eng, now=datetime.fromisoformat(now_iso) if now_iso else None, policy=_policy(policy_path))
    finally:
        eng.dispose()
    return {"batches": r.batches, "by_status": r.by_status,
            "quiet_until": r.quiet_until.isoformat() if r.quiet_until else None,
            "messages": [{"recipient": m.recipient, "subject": m.subject, "items": m.items, "status": m.status}
                         for m in r.messages]}


@flow(name="steer-escalate", log_prints=False)
def escalate(db_url: str | None = None, as_of: str | None = None, policy: str | None = None,
             dispatch: bool = True, full_rescan: bool = False) -> dict[str, Any]:
    """Daily: record timeliness flips, enqueue reminders/escalations, deliver them, prune expired rows."""
    now = run_time(as_of, committee_tz_task(db_url))
    tracked = track_task(db_url, now.isoformat())
    detected = detect_task(db_url, now.isoformat(), policy, full_rescan)
    delivered = dispatch_task(db_url, now.isoformat() if as_of else None, policy) if dispatch else None
    kept = housekeeping_task(db_url, now.isoformat())
    return {"now": now.isoformat(), "track": tracked, "detect": detected, "dispatch": delivered, "housekeeping": kept}


@flow(name="steer-dispatch", log_prints=False)
def dispatch_pending(db_url: str | None = None, policy: str | None = None) -> dict[str, Any]:
    """Deliver what is due now (retries after backoff, messages held by quiet hours)."""
    return dispatch_task(db_url, None, policy)


@task(name="committee-timezone", retries=2, retry_delay_seconds=5)
def committee_tz_task(db_url: str | None) -> str:
    """The committee's timezone: the run's first database read, retried like the others."""
    return _committee_tz(db_url)


def _committee_tz(db_url: str | None) -> str:
    from engine.db import transaction
    from engine.escalation import committee

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            return committee(s)[0]
    finally:
        eng.dispose()


def deployments(db_url: str | None = None, *, tz: str = "Asia/Ho_Chi_Minh", cron: str = "0 8 * * 1-5",
                retry_minutes: int = 10, policy: str | None = None) -> list[Any]:
    """The escalation deployments for ``prefect.serve`` (daily cron in the committee's timezone)."""
    from datetime import timedelta

    from prefect.schedules import Cron, Interval

    params = {"db_url": db_url, "policy": policy}
    return [
        escalate.to_deployment(name="daily", schedules=[Cron(cron, timezone=tz)], parameters=params,
                               description="Steer: daily timeliness tracking, reminders and escalations."),
        dispatch_pending.to_deployment(name="retry", schedules=[Interval(timedelta(minutes=retry_minutes), timezone=tz)],
                                       parameters=params, description="Steer: deliver due notifications (retries)."),
    ]

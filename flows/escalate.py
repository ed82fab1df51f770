"""The daily escalation flow: track → detect (enqueue) → dispatch.

Thin on purpose: each task wraps one engine/notifications call and returns a small,
JSON-ready summary; everything that matters (idempotency, deduplication, leases) lives in
the database, so a task retry or a second concurrent run is harmless.

* ``escalate`` — the daily run (deployment ``steer-escalate/daily``, cron
  ``0 8 * * 1-5`` in the committee's timezone). Each recorded timeliness flip is also
  emitted as a Prefect event (``steer.item.overdue`` …, resource
  ``steer.work-item.<id>`` named after the item, related plan and unit resources) so
  automations can react, and the run publishes a table artifact (flips per state, rows
  queued per level, deliveries per recipient).
* ``dispatch_pending`` — delivers what is due (retries after backoff) between daily runs
  (deployment ``steer-dispatch/retry``, every 10 minutes).

Where the database URL comes from, and what state a run ends in: ``flows/runtime.py``
(never a password in the parameters; a run whose deliveries all failed ends Failed; a
worker without ``STEER_DATABASE_URL`` fails at once, naming it). The policy travels by
value (``policy`` may be the policy mapping itself) so a worker needs no policy file.

Retries: each task retries with exponential backoff and has a timeout; the flow itself
retries twice, 10 minutes apart (a database down at 08:00 does not lose the day's run).
In-process callers (the CLI, tests) use ``escalate.with_options(retries=0)``.

Prefect is imported here, so import this module lazily (the CLI does).
"""

from __future__ import annotations

from flows.settings import configure

configure()

from datetime import date, datetime, time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.tasks import exponential_backoff  # noqa: E402

from engine.i18n import tr  # noqa: E402
from flows import runtime  # noqa: E402
from flows.runtime import MAX_EVENTS, MissingSetting, log  # noqa: E402,F401

FLOW_RETRIES = 2
FLOW_RETRY_DELAY = 600  # seconds
TASK_RETRY = dict(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.2)


def run_time(as_of: str | None, tz: str | None = None) -> datetime:
    """``as_of`` (YYYY-MM-DD) at 08:00 committee time, or the clock."""
    from engine import clock

    if not as_of:
        return clock.now()
    return clock.local_datetime(date.fromisoformat(as_of), time(8, 0), tz or clock.DEFAULT_TZ)


def _engine(db_url: str | None) -> Any:
    from engine.db import make_engine

    return make_engine(runtime.run_db_url(db_url))


def _policy(policy: dict[str, Any] | str | None) -> Any:
    """A policy given by value (the mapping of a policy file: what deployments carry) or a
    file path (the CLI's --policy); None = the default policy."""
    from engine.policy import load_policy, parse_policy

    if not policy:
        return None
    if isinstance(policy, dict):
        return parse_policy(policy, source="policy (deployment parameter)", lang=runtime.lang())
    return load_policy(Path(policy), lang=runtime.lang())


@task(name="track", timeout_seconds=600, **TASK_RETRY)
def track_task(db_url: str | None, now_iso: str, emit_events: bool = True) -> dict[str, Any]:
    """Record timeliness flips at ``now`` (engine.tracking.track)."""
    from engine import tracking
    from engine.db import transaction

    now = datetime.fromisoformat(now_iso)
    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            result = tracking.track(s, now=now)
        names: dict[int, dict[str, Any]] = {}
        if emit_events and result.changes:
            with transaction(eng) as s:
                names = runtime.item_names(s, [f.work_item_id for f in result.changes[:MAX_EVENTS]])
    finally:
        eng.dispose()
    emitted = runtime.emit_flips(result.changes, names, result.today.isoformat()) if emit_events else 0
    log(tr(runtime.lang(), "flow.log_tracked", today=result.today.isoformat(), flips=result.flips,
           detail=", ".join(f"{k} {v}" for k, v in sorted(result.by_transition.items())) or "—", events=emitted))
    return {"today": result.today.isoformat(), "flips": result.flips, "by_transition": result.by_transition,
            "events_emitted": emitted}


@task(name="housekeeping", timeout_seconds=300, **TASK_RETRY)
def housekeeping_task(db_url: str | None, now_iso: str) -> dict[str, int]:
    """Prune expired rows (engine.maintenance.housekeeping: old failed-login attempts)."""
    from engine.db import transaction
    from engine.maintenance import housekeeping

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            out = housekeeping(s, now=datetime.fromisoformat(now_iso))
    finally:
        eng.dispose()
    log(tr(runtime.lang(), "flow.log_housekeeping", detail=", ".join(f"{k} {v}" for k, v in out.items()) or "—"))
    return out


@task(name="detect", timeout_seconds=900, **TASK_RETRY)
def detect_task(db_url: str | None, now_iso: str, policy: dict[str, Any] | str | None = None,
                full_rescan: bool = False) -> dict[str, Any]:
    """Enqueue the outbox rows the policy calls for (engine.escalation.detect)."""
    from engine import escalation
    from engine.db import transaction

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            r = escalation.detect(s, now=datetime.fromisoformat(now_iso), policy=_policy(policy),
                                  incremental=not full_rescan)
    finally:
        eng.dispose()
    log(tr(runtime.lang(), "flow.log_detected", inserted=r.inserted,
           detail=", ".join(f"{k} {v}" for k, v in r.by_level.items() if v) or "—"))
    return {"inserted": r.inserted, "by_level": r.by_level, "not_before": r.not_before.isoformat()}


@task(name="dispatch", timeout_seconds=1800, retries=3, retry_delay_seconds=[10, 60, 300])
def dispatch_task(db_url: str | None, now_iso: str | None = None, policy: dict[str, Any] | str | None = None) -> dict[str, Any]:
    """Deliver every due outbox row (notifications.delivery.dispatch)."""
    from notifications.delivery import dispatch

    eng = _engine(db_url)
    try:
        r = dispatch(eng, now=datetime.fromisoformat(now_iso) if now_iso else None, policy=_policy(policy),
                     lang=runtime.lang())
    finally:
        eng.dispose()
    out = dispatch_summary(r)
    lg = runtime.lang()
    if r.quiet_until:
        log(tr(lg, "flow.log_quiet_hours", until=r.quiet_until.isoformat()))
    for m in out["messages"]:
        log(tr(lg, "flow.log_message", recipient=m["recipient_name"], items=m["items"], status=m["status"]))
    log(tr(lg, "flow.log_dispatched", batches=r.batches,
           detail=", ".join(f"{k} {v}" for k, v in sorted(r.by_status.items())) or "—"))
    return out


def dispatch_summary(r: Any) -> dict[str, Any]:
    """JSON-ready summary of a notifications.delivery.DispatchResult (no target URLs)."""
    return {"batches": r.batches, "by_status": r.by_status,
            "quiet_until": r.quiet_until.isoformat() if r.quiet_until else None,
            "messages": [{"recipient": m.recipient, "recipient_name": m.recipient_name, "subject": m.subject,
                          "items": m.items, "status": m.status} for m in r.messages]}


@flow(name="steer-escalate", log_prints=False, retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def escalate(db_url: str | None = None, as_of: str | None = None, policy: dict[str, Any] | str | None = None,
             dispatch: bool = True, full_rescan: bool = False) -> Any:
    """Daily: record timeliness flips, enqueue reminders/escalations, deliver them, prune expired rows."""
    try:
        runtime.run_db_url(db_url)
    except MissingSetting as exc:
        return runtime.failed_at_once(str(exc))
    now = run_time(as_of, committee_tz_task(db_url))
    tracked = track_task(db_url, now.isoformat())
    detected = detect_task(db_url, now.isoformat(), policy, full_rescan)
    delivered = dispatch_task(db_url, now.isoformat() if as_of else None, policy) if dispatch else None
    kept = housekeeping_task(db_url, now.isoformat())
    summary = {"now": now.isoformat(), "track": tracked, "detect": detected, "dispatch": delivered,
               "housekeeping": kept}
    runtime.publish_table("steer-escalation", runtime.escalation_table(summary),
                          tr(runtime.lang(), "flow.artifact_escalation", today=tracked["today"]))
    return runtime.final_state(summary, delivered)


@flow(name="steer-dispatch", log_prints=False, retries=1, retry_delay_seconds=60)
def dispatch_pending(db_url: str | None = None, policy: dict[str, Any] | str | None = None) -> Any:
    """Deliver what is due now (retries after backoff, messages held by quiet hours)."""
    try:
        runtime.run_db_url(db_url)
    except MissingSetting as exc:
        return runtime.failed_at_once(str(exc))
    delivered = dispatch_task(db_url, None, policy)
    if delivered["batches"]:
        runtime.publish_table("steer-dispatch", runtime.escalation_table({"dispatch": delivered}),
                              tr(runtime.lang(), "flow.artifact_dispatch"))
    return runtime.final_state(delivered, delivered)


@task(name="committee-timezone", timeout_seconds=120, **TASK_RETRY)
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
                retry_minutes: int = 10, policy: dict[str, Any] | str | None = None) -> list[Any]:
    """The escalation deployments (daily cron in the committee's timezone; delivery retries).

    ``db_url`` must carry no password (it is stored as a parameter); give it through
    ``STEER_DATABASE_URL`` instead. At most one run of each at a time: a run triggered
    while another is running is cancelled (``CANCEL_NEW``), so an hour of worker downtime
    does not start six dispatch runs at once."""
    from datetime import timedelta

    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron, Interval

    params = {"db_url": db_url, "policy": policy}
    one = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    return [
        escalate.to_deployment(name="daily", schedules=[Cron(cron, timezone=tz)], parameters=params,
                               concurrency_limit=one, tags=["steer", "escalation"],
                               description="Steer: daily timeliness tracking, reminders and escalations."),
        dispatch_pending.to_deployment(name="retry", schedules=[Interval(timedelta(minutes=retry_minutes), timezone=tz)],
                                       parameters=params, concurrency_limit=one, tags=["steer", "escalation"],
                                       description="Steer: deliver due notifications (retries)."),
    ]

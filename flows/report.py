"""Prefect flows for periodic reports: ``monthly_report`` and ``quarterly_report``.

Thin orchestration: each ``@task`` wraps one plain function here, and each plain function
makes one engine call (``engine.snapshots.generate_report``, ``engine.render.render``,
``notifications.report_delivery.enqueue_report`` + ``notifications.delivery.dispatch``), so everything can also run without
Prefect. Per run: generate + store the snapshot, render the files (xlsx, docx, html) from
the stored snapshot, deliver them to the chair, the vice-chairs and the secretariat
through the outbox (an idempotency key per report and person; retries with backoff).

Schedules (committee timezone, default Asia/Ho_Chi_Minh): the monthly report on the 20th of
each month at 08:00 (``0 8 20 * *``), the quarterly report on the 20th of the last month of
each quarter at 08:00 (``0 8 20 3,6,9,12 *``). :func:`report_deployments` builds the
deployments for ``flows/serve.py``; the schedules need a real Prefect server (the
temporary one never runs the scheduler).

Importing this module imports prefect (~2 s): import it only where a flow runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flows import settings as _quiet  # noqa: F401  (quiet Prefect environment, before prefect loads)
from prefect import flow, task
from prefect.tasks import exponential_backoff

from engine.i18n import tr
from engine.states import PlanStatus, Role
from flows import runtime
from flows.runtime import MissingSetting, log

FLOW_RETRIES = 2
FLOW_RETRY_DELAY = 900  # seconds
TASK_RETRY = dict(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.2)

MONTHLY_CRON = "0 8 20 * *"
QUARTERLY_CRON = "0 8 20 3,6,9,12 *"
DEFAULT_FORMATS: tuple[str, ...] = ("xlsx", "docx", "html")
RECIPIENT_ROLES: tuple[str, ...] = (Role.CHAIR, Role.VICE_CHAIR, Role.SECRETARIAT)


# --- plain functions (one engine call each) ------------------------------------------------


def _engine(db_url: str | None) -> Any:
    """The run's database (flows/runtime.run_db_url: never a default file)."""
    from engine.db import ensure_schema, make_engine

    eng = make_engine(runtime.run_db_url(db_url))
    ensure_schema(eng)
    return eng


def _plans(session: Any, plan: str | None) -> list[str]:
    from sqlalchemy import select

    from engine.models import Plan

    if plan:
        return [plan]
    return list(session.execute(select(Plan.code).where(Plan.status == PlanStatus.ACTIVE, Plan.parent_plan_id.is_(None))
                                .order_by(Plan.code)).scalars())


def generate(kind: str, *, db_url: str | None = None, plan: str | None = None, period: str | None = None,
             as_of: str | None = None, cutoff_day: int | None = None, lang: str = "vi",
             now: datetime | None = None) -> list[dict[str, Any]]:
    """Generate and store the report of ``kind`` for ``plan`` (default: every active top-level
    plan). Returns ``[{snapshot_id, plan, period, as_of, title, summary}]``."""
    from engine import clock
    from engine.db import transaction
    from engine.reporting import report_title
    from engine.snapshots import generate_report

    moment = now or clock.now()
    day = date.fromisoformat(as_of) if as_of else None
    eng = _engine(db_url)
    out = []
    try:
        with transaction(eng) as s:
            codes = _plans(s, plan)
        for code in codes:
            with transaction(eng) as s:
                data, snap = generate_report(s, now=moment, store=True, created_by="system", plan_code=code, kind=kind,
                                             period=period, as_of=day, cutoff_day=cutoff_day, lang=lang)
            out.append({"snapshot_id": snap, "plan": code, "period": data["period"]["key"], "as_of": data["as_of"],
                        "title": report_title(data), "summary": data["summary"]})
    finally:
        eng.dispose()
    return out


def render_files(snapshot_id: int, *, db_url: str | None = None, out_dir: str | Path | None = None,
                 formats: Sequence[str] = DEFAULT_FORMATS) -> list[str]:
    """Render a stored snapshot into ``out_dir`` (default ``$STEER_REPORT_DIR`` or ``out/reports``)."""
    from engine.db import transaction
    from engine.render import EXTENSIONS, render
    from engine.snapshots import snapshot_data

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            data = snapshot_data(s, snapshot_id)
    finally:
        eng.dispose()
    folder = Path(out_dir or os.environ.get("STEER_REPORT_DIR") or "out/reports")
    folder.mkdir(parents=True, exist_ok=True)
    from notifications.report_delivery import file_stem

    stem = file_stem(data, snapshot_id)
    paths = []
    for fmt in formats:
        path = folder / f"{stem}{EXTENSIONS[fmt]}"
        path.write_bytes(render(data, fmt))
        paths.append(str(path))
    return paths


def recipients(*, db_url: str | None = None, roles: Sequence[str] = RECIPIENT_ROLES) -> list[Any]:
    """Active people with the given roles (chair, vice-chairs, secretariat) and their notify URLs."""
    from sqlalchemy import select

    from engine.db import transaction
    from engine.models import Person
    from notifications.report_delivery import Recipient

    eng = _engine(db_url)
    try:
        with transaction(eng) as s:
            people = s.execute(select(Person).where(Person.active.is_(True), Person.role.in_(list(roles)))
                               .order_by(Person.role, Person.id)).scalars().all()
            return [Recipient(p.id, p.name, p.role, tuple(p.notify or ())) for p in people]
    finally:
        eng.dispose()


def deliver_report(report: dict[str, Any], files: Sequence[str], *, db_url: str | None = None,
                   lang: str = "vi", now: datetime | None = None) -> list[dict[str, Any]]:
    """Send the report to the chair, the vice-chairs and the secretariat through the outbox
    (notifications.report_delivery.enqueue_report: an idempotency key per report and person,
    retries with backoff like the digests), then deliver the queued reports now. One row
    per person: status ``SUCCESS`` (sent), ``PENDING`` (retried later), ``FAILED``, or
    ``NO_ADDRESS``."""
    from engine import clock
    from engine.db import transaction
    from notifications.delivery import REPORT_LEVEL, dispatch, redact
    from notifications.report_delivery import enqueue_report, report_batch_key

    s = report["summary"]
    body = tr(lang, "flow.report_mail_body", title=report["title"], as_of=date.fromisoformat(report["as_of"]),
              due=s["due"], completed=s["completed"], overdue=s["overdue"],
              files=", ".join(Path(f).name for f in files))
    people = recipients(db_url=db_url)
    formats = tuple(Path(f).suffix.lstrip(".") for f in files) or DEFAULT_FORMATS
    eng = _engine(db_url)
    try:
        with transaction(eng) as ses:
            enqueue_report(ses, people, snapshot_id=report["snapshot_id"], title=report["title"], body=body,
                           now=now or clock.now(), formats=formats)
        # reports are not reminders: quiet hours do not hold them (the digests keep theirs)
        dispatch(eng, lang=lang, levels=[REPORT_LEVEL], respect_quiet_hours=False)
        from sqlalchemy import select

        from engine.models import OutboxMessage

        with transaction(eng) as ses:
            status = dict(ses.execute(select(OutboxMessage.recipient, OutboxMessage.status).where(
                OutboxMessage.dedupe_key.in_([f"report:{report['snapshot_id']}:person:{p.id}" for p in people]))).all())
    finally:
        eng.dispose()
    out = []
    for p in people:
        st = status.get(f"person:{p.id}")
        shown = ", ".join(redact(u) for u in p.urls) or None
        out.append({"person": p.id, "role": p.role, "url": shown, "key": report_batch_key(report["snapshot_id"], p.id),
                    "status": "NO_ADDRESS" if not p.urls else ("SUCCESS" if st == "sent" else str(st or "?").upper())})
    return out


# --- Prefect tasks and flows ----------------------------------------------------------------


@task(name="generate-report", timeout_seconds=1800, **TASK_RETRY)
def generate_task(kind: str, **kwargs: Any) -> list[dict[str, Any]]:
    out = generate(kind, **kwargs)
    for r in out:
        log(tr(runtime.lang(), "flow.log_report_generated", title=r["title"], snapshot=r["snapshot_id"]))
    return out


@task(name="render-report-files", timeout_seconds=1800, **TASK_RETRY)
def render_task(snapshot_id: int, **kwargs: Any) -> list[str]:
    files = render_files(snapshot_id, **kwargs)
    log(tr(runtime.lang(), "flow.log_report_rendered", snapshot=snapshot_id, files=", ".join(files)))
    return files


@task(name="deliver-report", timeout_seconds=1800)
def deliver_task(report: dict[str, Any], files: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    rows = deliver_report(report, files, **kwargs)
    for row in rows:
        log(tr(runtime.lang(), "flow.log_report_delivery", person=row["person"], url=row["url"] or "—",
               status=row["status"]))
    return rows


def report_markdown(r: dict[str, Any], lang: str = "vi") -> str:
    """The markdown artifact of one report: summary, files, deliveries, link."""
    s = r["summary"]
    lines = [f"# {r['title']}", "",
             tr(lang, "flow.md_report_summary", as_of=date.fromisoformat(r["as_of"]), due=s["due"],
                completed=s["completed"], overdue=s["overdue"]), ""]
    base = (os.environ.get("STEER_BASE_URL") or "").rstrip("/")
    if base:
        lines += [f"[{tr(lang, 'flow.md_open_report')}]({base}/reports/{r['snapshot_id']})", ""]
    lines += [f"- `{Path(f).name}`" for f in r.get("files", [])]
    if r.get("deliveries"):
        lines += ["", "| " + tr(lang, "flow.md_deliveries") + " | | |", "|---|---|---|"]
        lines += [f"| {d['person']} | {d['url'] or '—'} | {d['status']} |" for d in r["deliveries"]]
    return "\n".join(lines)


def _delivery_verdict(out: list[dict[str, Any]]) -> dict[str, Any]:
    """The report deliveries as a dispatch-like summary for runtime.final_state."""
    tried = [d["status"] for r in out for d in r["deliveries"] if d["status"] != "NO_ADDRESS"]
    return {"by_status": {"sent": tried.count("SUCCESS"), "pending": tried.count("PENDING"),
                          "failed": len(tried) - tried.count("SUCCESS") - tried.count("PENDING")}}


def _run(kind: str, plan: str | None, period: str | None, as_of: str | None, cutoff_day: int | None,
         db_url: str | None, out_dir: str | None, deliver: bool, lang: str) -> Any:
    try:
        runtime.run_db_url(db_url)
    except MissingSetting as exc:
        return runtime.failed_at_once(str(exc))
    reports = generate_task(kind, db_url=db_url, plan=plan, period=period, as_of=as_of, cutoff_day=cutoff_day,
                            lang=lang)
    out = []
    for r in reports:
        files = render_task(r["snapshot_id"], db_url=db_url, out_dir=out_dir)
        sent = deliver_task(r, files, db_url=db_url, lang=lang) if deliver else []
        row = {**r, "files": files, "deliveries": sent}
        runtime.publish_markdown(f"steer-report-{kind}", report_markdown(row, lang), r["title"])
        out.append(row)
    return runtime.final_state(out, _delivery_verdict(out) if deliver else None)


@flow(name="monthly-report", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def monthly_report(plan: str | None = None, period: str | None = None, as_of: str | None = None,
                   cutoff_day: int | None = None, db_url: str | None = None, out_dir: str | None = None,
                   deliver: bool = True, lang: str = "vi") -> Any:
    """Monthly report: generate + store, render xlsx/docx/html, deliver to the leadership."""
    return _run("monthly", plan, period, as_of, cutoff_day, db_url, out_dir, deliver, lang)


@flow(name="quarterly-report", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def quarterly_report(plan: str | None = None, period: str | None = None, as_of: str | None = None,
                     cutoff_day: int | None = None, db_url: str | None = None, out_dir: str | None = None,
                     deliver: bool = True, lang: str = "vi") -> Any:
    """Quarterly report: generate + store, render xlsx/docx/html, deliver to the leadership."""
    return _run("quarterly", plan, period, as_of, cutoff_day, db_url, out_dir, deliver, lang)


def committee_timezone(db_url: str | None = None) -> str:
    from engine.clock import DEFAULT_TZ
    from engine.db import transaction
    from engine.txcache import committee_settings

    try:
        eng = _engine(db_url)
    except Exception:  # no database yet: schedules still get the default timezone
        return DEFAULT_TZ
    try:
        with transaction(eng) as s:
            tz, _ = committee_settings(s)
    finally:
        eng.dispose()
    return tz or DEFAULT_TZ


def deployments(db_url: str | None = None, tz: str | None = None) -> list[Any]:
    """What ``flows/serve.py`` serves: :func:`report_deployments` bound to ``db_url``."""
    return report_deployments(timezone=tz or committee_timezone(db_url),
                              parameters={"db_url": db_url} if db_url else None)  # no password: run_db_url


def report_deployments(*, timezone: str | None = None, parameters: dict[str, Any] | None = None) -> list[Any]:
    """The two cron deployments (monthly on the 20th at 08:00, quarterly on the 20th of the
    quarter's last month at 08:00), in the committee's timezone."""
    from prefect.schedules import Cron

    tz = timezone or committee_timezone()
    params = dict(parameters or {})
    return [
        monthly_report.to_deployment(name="monthly-report", schedules=[Cron(MONTHLY_CRON, timezone=tz)],
                                     parameters=params, tags=["steer", "report"], concurrency_limit=_one()),
        quarterly_report.to_deployment(name="quarterly-report", schedules=[Cron(QUARTERLY_CRON, timezone=tz)],
                                       parameters=params, tags=["steer", "report"], concurrency_limit=_one()),
    ]


def _one() -> Any:
    """At most one run at a time per report deployment; a second is cancelled."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)

"""Prefect flows for periodic reports: ``monthly_report`` and ``quarterly_report``.

Thin orchestration: each ``@task`` wraps one plain function here, and each plain function
makes one engine call (``engine.snapshots.generate_report``, ``engine.render.render``,
``notifications.report_delivery.send_report``), so everything can also run without
Prefect. Per run: generate + store the snapshot, render the files (xlsx, docx, html) from
the stored snapshot, deliver them to the chair, the vice-chairs and the secretariat.

Schedules (committee timezone, default Asia/Ho_Chi_Minh): the monthly report on the 20th of
each month at 08:00 (``0 8 20 * *``), the quarterly report on the 20th of the last month of
each quarter at 08:00 (``0 8 20 3,6,9,12 *``). :func:`report_deployments` builds the
deployments for ``flows/serve.py``; the schedules need a real Prefect server (the
temporary one never runs the scheduler).

Importing this module imports prefect (~2 s): import it only where a flow runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flows import settings as _quiet  # noqa: F401  (quiet Prefect environment, before prefect loads)
from prefect import flow, task

from engine.i18n import tr
from engine.states import PlanStatus, Role

MONTHLY_CRON = "0 8 20 * *"
QUARTERLY_CRON = "0 8 20 3,6,9,12 *"
DEFAULT_FORMATS: tuple[str, ...] = ("xlsx", "docx", "html")
RECIPIENT_ROLES: tuple[str, ...] = (Role.CHAIR, Role.VICE_CHAIR, Role.SECRETARIAT)


# --- plain functions (one engine call each) ------------------------------------------------


def _engine(db_url: str | None) -> Any:
    from engine.db import database_url, ensure_schema, make_engine

    eng = make_engine(database_url(db_url))
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
    stem = re.sub(r"[^\w.-]+", "-", f"bao-cao-{data['plan']['code']}-{data['period']['key']}-{snapshot_id}").strip("-")
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
                   lang: str = "vi") -> list[dict[str, Any]]:
    """Send the report files to the chair, the vice-chairs and the secretariat."""
    from notifications.report_delivery import send_report

    s = report["summary"]
    body = tr(lang, "flow.report_mail_body", title=report["title"], as_of=date.fromisoformat(report["as_of"]),
              due=s["due"], completed=s["completed"], overdue=s["overdue"],
              files=", ".join(Path(f).name for f in files))
    return send_report(recipients(db_url=db_url), title=report["title"], body=body, attachments=files)


# --- Prefect tasks and flows ----------------------------------------------------------------


@task(name="generate-report")
def generate_task(kind: str, **kwargs: Any) -> list[dict[str, Any]]:
    return generate(kind, **kwargs)


@task(name="render-report-files")
def render_task(snapshot_id: int, **kwargs: Any) -> list[str]:
    return render_files(snapshot_id, **kwargs)


@task(name="deliver-report")
def deliver_task(report: dict[str, Any], files: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    return deliver_report(report, files, **kwargs)


def _run(kind: str, plan: str | None, period: str | None, as_of: str | None, cutoff_day: int | None,
         db_url: str | None, out_dir: str | None, deliver: bool, lang: str) -> list[dict[str, Any]]:
    reports = generate_task(kind, db_url=db_url, plan=plan, period=period, as_of=as_of, cutoff_day=cutoff_day,
                            lang=lang)
    out = []
    for r in reports:
        files = render_task(r["snapshot_id"], db_url=db_url, out_dir=out_dir)
        sent = deliver_task(r, files, db_url=db_url, lang=lang) if deliver else []
        out.append({**r, "files": files, "deliveries": sent})
    return out


@flow(name="monthly-report")
def monthly_report(plan: str | None = None, period: str | None = None, as_of: str | None = None,
                   cutoff_day: int | None = None, db_url: str | None = None, out_dir: str | None = None,
                   deliver: bool = True, lang: str = "vi") -> list[dict[str, Any]]:
    """Monthly report: generate + store, render xlsx/docx/html, deliver to the leadership."""
    return _run("monthly", plan, period, as_of, cutoff_day, db_url, out_dir, deliver, lang)


@flow(name="quarterly-report")
def quarterly_report(plan: str | None = None, period: str | None = None, as_of: str | None = None,
                     cutoff_day: int | None = None, db_url: str | None = None, out_dir: str | None = None,
                     deliver: bool = True, lang: str = "vi") -> list[dict[str, Any]]:
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
                              parameters={"db_url": db_url} if db_url else None)


def report_deployments(*, timezone: str | None = None, parameters: dict[str, Any] | None = None) -> list[Any]:
    """The two cron deployments (monthly on the 20th at 08:00, quarterly on the 20th of the
    quarter's last month at 08:00), in the committee's timezone."""
    from prefect.schedules import Cron

    tz = timezone or committee_timezone()
    params = dict(parameters or {})
    return [
        monthly_report.to_deployment(name="monthly-report", schedules=[Cron(MONTHLY_CRON, timezone=tz)],
                                     parameters=params, tags=["steer", "report"]),
        quarterly_report.to_deployment(name="quarterly-report", schedules=[Cron(QUARTERLY_CRON, timezone=tz)],
                                       parameters=params, tags=["steer", "report"]),
    ]

"""Stored reports: every generated report's data dict is frozen in ``report_snapshot``.

A snapshot keeps the full data (figures, lists, appendix) as JSON plus its sha256, so
re-rendering it later gives the same document whatever changed in the plan since. Storing
one also appends a ``report_generated`` event to the audit log (snapshot id and checksum).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.db import id_fits
from engine.errors import UserError
from engine.i18n import tr
from engine.models import Plan, ReportSnapshot
from engine.central import ROLLUP_SCHEMA
from engine.txcache import committee_settings


def is_rollup(data: Mapping[str, Any]) -> bool:
    """A stored roll-up of the child units (engine.rollup) rather than a plan's report."""
    return data.get("schema") == ROLLUP_SCHEMA


def checksum(data: Mapping[str, Any]) -> str:
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def store_snapshot(session: Session, data: Mapping[str, Any], *, now: datetime, created_by: str = "system") -> int:
    """Store a report built by ``engine.reporting.build_report`` (or a roll-up of the child units,
    ``engine.rollup.build_rollup``: no plan); returns the snapshot id."""
    plan = data.get("plan")
    plan_id = session.execute(select(Plan.id).where(Plan.code == plan["code"])).scalar_one_or_none() if plan else None
    p = data["period"]
    frozen = json.loads(json.dumps(data, ensure_ascii=False))  # exactly what a reader will get back
    digest = checksum(frozen)
    row = ReportSnapshot(plan_id=plan_id, kind=data["kind"], period=p["key"], period_start=date.fromisoformat(p["start"]),
                         period_end=date.fromisoformat(p["end"]), as_of=date.fromisoformat(data["as_of"]),
                         cutoff_day=p.get("cutoff_day"), lang=data.get("lang", "vi"), data=frozen, checksum=digest,
                         created_by=created_by, created_at=now)
    session.add(row)
    session.flush()
    append_event(session, now=now, at=now, actor=created_by, actor_role="system", kind="report_generated",
                 plan_id=plan_id, note=f"{'rollup ' if is_rollup(data) else ''}{data['kind']} {p['key']} "
                                       f"(as of {data['as_of']})",
                 data={"snapshot_id": row.id, "kind": data["kind"], "period": p["key"], "as_of": data["as_of"],
                       "checksum": digest, **({"schema": data["schema"]} if is_rollup(data) else {})})
    return row.id


def get_snapshot(session: Session, snapshot_id: int, *, lang: str = "vi") -> ReportSnapshot:
    row = session.get(ReportSnapshot, snapshot_id) if id_fits(session, snapshot_id) else None
    if row is None:
        known = session.execute(select(ReportSnapshot.id).order_by(ReportSnapshot.id.desc()).limit(10)).scalars().all()
        hint = (tr(lang, "rep.snapshot_hint_latest", ids=", ".join(map(str, known))) if known
                else tr(lang, "rep.snapshot_hint_none"))
        raise UserError(tr(lang, "rep.snapshot_not_found", snapshot_id=snapshot_id, hint=hint))
    return row


def snapshot_data(session: Session, snapshot_id: int, *, lang: str = "vi", verify: bool = True) -> dict[str, Any]:
    """The stored data dict; with ``verify`` a changed row (checksum mismatch) is an error."""
    row = get_snapshot(session, snapshot_id, lang=lang)
    data = dict(row.data)
    if verify and checksum(data) != row.checksum:
        raise UserError(tr(lang, "rep.snapshot_altered", snapshot_id=snapshot_id))
    return data


def list_snapshots(session: Session, *, plan_code: str | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
    """Newest first: id, type ("report", or "rollup" for a stored roll-up of the child units, whose
    plan is None), plan, kind, period, period start/end, as_of, cut-off, lang, created (UTC ISO and
    committee-local dd/mm/yyyy HH:MM), author, checksum, and the summary's due/completed/overdue."""
    stmt = select(ReportSnapshot, Plan.code).outerjoin(Plan, Plan.id == ReportSnapshot.plan_id)
    if plan_code:
        stmt = stmt.where(Plan.code == plan_code)
    stmt = stmt.order_by(ReportSnapshot.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    tz, _ = committee_settings(session)
    out = []
    for row, code in session.execute(stmt).all():
        summary = (row.data or {}).get("summary", {})
        rollup = is_rollup(row.data or {})
        if rollup:  # the child units' figures summed: completed of all their items
            summary = {**summary, "completed": (summary.get("counts") or {}).get("completed")}
        out.append({"id": row.id, "type": "rollup" if rollup else "report", "plan": code, "kind": row.kind,
                    "period": row.period,
                    "period_start": row.period_start.isoformat(), "period_end": row.period_end.isoformat(),
                    "as_of": row.as_of.isoformat(), "cutoff_day": row.cutoff_day, "lang": row.lang,
                    "created_at": row.created_at.isoformat(),
                    "created_at_local": row.created_at.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M"),
                    "created_by": row.created_by,
                    "checksum": row.checksum, "due": summary.get("due"), "completed": summary.get("completed"),
                    "overdue": summary.get("overdue")})
    return out


def generate_report(session: Session, *, now: datetime, store: bool = True, created_by: str = "system",
                    **build: Any) -> tuple[dict[str, Any], int | None]:
    """Build a report (``engine.reporting.build_report`` arguments; ``as_of`` defaults to the
    committee-local date of ``now``) and store it unless ``store`` is False.

    Returns (data, snapshot id or None). The data returned is the stored JSON, so rendering
    it now or later from the snapshot gives the same output."""
    from engine.reporting import build_report, committee_today

    if build.get("as_of") is None:
        build["as_of"] = committee_today(session, now)
    data = build_report(session, **build)
    data = json.loads(json.dumps(data, ensure_ascii=False))
    snap = store_snapshot(session, data, now=now, created_by=created_by) if store else None
    return data, snap

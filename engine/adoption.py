"""Plan adoption: which units have issued their own implementing plan for a parent plan.

A provincial plan implementing a resolution asks each department (and district) to issue
its own plan ("Kế hoạch số 12/KH-SNV"). Adoption is recorded two ways, and both count:

* explicitly, with :func:`register_adoption` (a ``PlanAdoption`` row per parent plan and
  unit; registering again updates it; one ``plan_adopted`` event per change);
* implicitly, by loading the unit's own plan with ``plan.parent`` set: a plan whose
  ``parent_plan_id`` is the parent and whose ``issued_by`` unit is set counts as that
  unit's adoption (document and issue date taken from the child plan).

:func:`adoption_status` answers "14 of 17 departments have issued their plan".
"""

from __future__ import annotations

import difflib
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.clock import now as clock_now
from engine.directory_store import current_directory, ensure_units
from engine.errors import UserError
from engine.i18n import tr
from engine.models import Plan, PlanAdoption, Task, TaskUnit, Unit
from engine.states import PlanStatus, Role

Expected = Literal["lead_units", "departments"] | list[str]


def _plan(session: Session, code: str, missing: str = "query.no_plan", *, lang: str = "vi") -> Plan:
    plan = session.execute(select(Plan).where(Plan.code == code.strip())).scalar_one_or_none()
    if plan is not None:
        return plan
    codes = list(session.execute(select(Plan.code)).scalars())
    close = difflib.get_close_matches(code.strip(), codes, n=3, cutoff=0.5)
    if close:
        hint = tr(lang, "query.did_you_mean", codes=", ".join(close))
    elif codes:
        hint = tr(lang, "query.plans_loaded", codes=", ".join(sorted(codes)[:10]))
    else:
        hint = tr(lang, "query.no_plans_loaded")
    raise UserError(tr(lang, missing, code=code, hint=hint))


def resolve_unit(session: Session, ref: str, *, now: datetime, lang: str = "vi") -> Unit:
    """A unit row for a code, name or alias (a standard unit is materialised on first use)."""

    text = (ref or "").strip()
    if not text:
        raise UserError(tr(lang, "adopt.unit_missing"))
    row = session.execute(select(Unit).where(Unit.code == text)).scalar_one_or_none()
    if row is not None:
        return row
    directory = current_directory(session)
    entry = directory.get(text) or directory.resolve(text)
    if entry is None:
        known = list(directory.units)
        close = difflib.get_close_matches(text.upper(), known, n=4, cutoff=0.6)
        hint = tr(lang, "query.did_you_mean", codes=", ".join(close)) if close else tr(lang, "adopt.see_directory")
        raise UserError(tr(lang, "adopt.unit_unknown", text=text, hint=hint))
    ids = ensure_units(session, directory, {entry.code}, now)
    unit = session.get(Unit, ids[entry.code])
    assert unit is not None
    return unit


def register_adoption(session: Session, parent_code: str, unit_ref: str, *, document: str | None,
                      issued_on: date | None, actor: str, now: datetime,
                      child_plan_code: str | None = None, lang: str = "vi") -> dict[str, Any]:
    """Record that a unit issued its implementing plan for ``parent_code`` (upsert).

    Returns ``{plan, unit, unit_name, document, issued_on, child_plan, created, changed}``.
    An identical registration changes nothing and writes no event.
    """
    parent = _plan(session, parent_code, lang=lang)
    unit = resolve_unit(session, unit_ref, now=now, lang=lang)
    if unit.is_group:
        raise UserError(tr(lang, "adopt.group", name=unit.name))
    child_id = None
    if child_plan_code:
        child = _plan(session, child_plan_code, "adopt.no_unit_plan", lang=lang)
        if child.id == parent.id:
            raise UserError(tr(lang, "adopt.own_child", code=child.code))
        child_id = child.id
    doc = " ".join(document.split()) if document and document.strip() else None
    if doc is None and child_id is None:
        raise UserError(tr(lang, "adopt.document_needed"))
    if issued_on is not None and parent.issued_on is not None and issued_on < parent.issued_on:
        raise UserError(tr(lang, "adopt.issued_before_parent", issued_on=issued_on, code=parent.code,
                           parent_on=parent.issued_on))
    if issued_on is not None and issued_on > now.date() + timedelta(days=366):
        raise UserError(tr(lang, "adopt.issued_too_late", issued_on=issued_on))
    row = session.execute(
        select(PlanAdoption).where(PlanAdoption.parent_plan_id == parent.id, PlanAdoption.unit_id == unit.id)
    ).scalar_one_or_none()
    after = {"document": doc, "issued_on": issued_on, "child_plan_id": child_id}
    created = row is None
    before = None if created else {"document": row.document, "issued_on": row.issued_on,
                                   "child_plan_id": row.child_plan_id}
    changed = created or before != after
    if created:
        session.add(PlanAdoption(parent_plan_id=parent.id, unit_id=unit.id, child_plan_id=child_id, document=doc,
                                 issued_on=issued_on, registered_by=actor, registered_at=now))
    elif changed:
        row.document, row.issued_on, row.child_plan_id = doc, issued_on, child_id
        row.registered_by, row.registered_at = actor, now
    if changed:
        session.flush()
        append_event(session, now=now, actor=actor, actor_role=Role.SECRETARIAT, kind="plan_adopted",
                     plan_id=parent.id, note=f"{unit.code}: {doc or child_plan_code}",
                     data={"unit": unit.code, "before": before, "after": {**after, "child_plan": child_plan_code}})
    return {"plan": parent.code, "unit": unit.code, "unit_name": unit.name, "document": doc,
            "issued_on": issued_on.isoformat() if issued_on else None, "child_plan": child_plan_code,
            "created": created, "changed": changed}


def _expected_units(session: Session, parent: Plan, expected: Expected, now: datetime | None,
                    lang: str = "vi") -> list[Unit]:
    if expected == "lead_units":
        leads = (select(TaskUnit.unit_id).join(Task, Task.id == TaskUnit.task_id)
                 .where(Task.plan_id == parent.id, Task.status == PlanStatus.ACTIVE, TaskUnit.role == "lead"))
        q = select(Unit).where(Unit.id.in_(leads), Unit.is_group.is_(False))
        return list(session.execute(q).scalars())
    if expected == "departments":
        q = select(Unit).where(Unit.kind == "department", Unit.is_group.is_(False), Unit.active.is_(True))
        return list(session.execute(q).scalars())
    if isinstance(expected, str):
        raise UserError(tr(lang, "adopt.bad_expected", expected=expected))

    moment = now or clock_now()
    units: dict[int, Unit] = {}
    for ref in expected:
        u = resolve_unit(session, ref, now=moment, lang=lang)
        units[u.id] = u
    return list(units.values())


def adoption_status(session: Session, parent_code: str, *, expected: Expected = "lead_units",
                    now: datetime | None = None, lang: str = "vi") -> dict[str, Any]:
    """How many expected units have issued their implementing plan.

    ``expected``: "lead_units" (default: the distinct non-group lead units of the parent
    plan's active tasks), "departments" (every active unit of kind "department" in the
    database) or an explicit list of unit codes/names.

    Returns ``{plan, title, expected: int, adopted: int, units: [...], others: [...]}``;
    each unit is ``{code, name, adopted: bool, document, issued_on (ISO or None),
    child_plan (code or None)}``, sorted by code; ``others`` lists units that adopted
    without being expected (same shape).
    """
    parent = _plan(session, parent_code, lang=lang)
    units = _expected_units(session, parent, expected, now, lang)
    adopted: dict[int, dict[str, Any]] = {}
    for child in session.execute(
        select(Plan).where(Plan.parent_plan_id == parent.id, Plan.issued_by_unit_id.is_not(None),
                           Plan.status != PlanStatus.CANCELLED)
    ).scalars():
        adopted[child.issued_by_unit_id] = {"document": child.document, "issued_on": child.issued_on,
                                            "child_plan": child.code}
    registered = list(session.execute(select(PlanAdoption).where(PlanAdoption.parent_plan_id == parent.id)).scalars())
    child_ids = {a.child_plan_id for a in registered if a.child_plan_id}
    child_codes = dict(session.execute(select(Plan.id, Plan.code).where(Plan.id.in_(child_ids))).all()) \
        if child_ids else {}
    for a in registered:
        entry = adopted.setdefault(a.unit_id, {"document": None, "issued_on": None, "child_plan": None})
        entry["document"] = a.document or entry["document"]
        entry["issued_on"] = a.issued_on or entry["issued_on"]
        if a.child_plan_id:
            entry["child_plan"] = child_codes.get(a.child_plan_id)

    def item(u: Unit) -> dict[str, Any]:
        a = adopted.get(u.id)
        issued = a["issued_on"] if a else None
        return {"code": u.code, "name": u.name, "adopted": a is not None,
                "document": a["document"] if a else None, "issued_on": issued.isoformat() if issued else None,
                "child_plan": a["child_plan"] if a else None}

    expected_ids = {u.id for u in units}
    rows = sorted((item(u) for u in units), key=lambda r: r["code"])
    extra_ids = [uid for uid in adopted if uid not in expected_ids]
    others = []
    if extra_ids:
        others = sorted((item(u) for u in session.execute(select(Unit).where(Unit.id.in_(extra_ids))).scalars()),
                        key=lambda r: r["code"])
    return {"plan": parent.code, "title": parent.title, "expected": len(rows),
            "adopted": sum(1 for r in rows if r["adopted"]), "units": rows, "others": others}

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
from engine.errors import UserError
from engine.models import Plan, PlanAdoption, Task, TaskUnit, Unit
from engine.states import PlanStatus, Role

Expected = Literal["lead_units", "departments"] | list[str]


def _plan(session: Session, code: str, what: str = "kế hoạch") -> Plan:
    plan = session.execute(select(Plan).where(Plan.code == code.strip())).scalar_one_or_none()
    if plan is not None:
        return plan
    codes = list(session.execute(select(Plan.code)).scalars())
    close = difflib.get_close_matches(code.strip(), codes, n=3, cutoff=0.5)
    if close:
        hint = f" Có phải: {', '.join(close)}?"
    elif codes:
        hint = f" Các kế hoạch đã nạp: {', '.join(sorted(codes)[:10])}."
    else:
        hint = " Chưa có kế hoạch nào được nạp."
    raise UserError(f"Không có {what} mã «{code}».{hint}")


def resolve_unit(session: Session, ref: str, *, now: datetime) -> Unit:
    """A unit row for a code, name or alias (a standard unit is materialised on first use)."""
    from engine.directory_store import current_directory, ensure_units

    text = (ref or "").strip()
    if not text:
        raise UserError("Thiếu cơ quan, đơn vị (mã hoặc tên).")
    row = session.execute(select(Unit).where(Unit.code == text)).scalar_one_or_none()
    if row is not None:
        return row
    directory = current_directory(session)
    entry = directory.get(text) or directory.resolve(text)
    if entry is None:
        known = list(directory.units)
        close = difflib.get_close_matches(text.upper(), known, n=4, cutoff=0.6)
        hint = f" Có phải: {', '.join(close)}?" if close else " Xem danh mục bằng «steer directory list»."
        raise UserError(f"Không tìm thấy cơ quan, đơn vị «{text}» trong danh mục.{hint}")
    ids = ensure_units(session, directory, {entry.code}, now)
    unit = session.get(Unit, ids[entry.code])
    assert unit is not None
    return unit


def register_adoption(session: Session, parent_code: str, unit_ref: str, *, document: str | None,
                      issued_on: date | None, actor: str, now: datetime,
                      child_plan_code: str | None = None) -> dict[str, Any]:
    """Record that a unit issued its implementing plan for ``parent_code`` (upsert).

    Returns ``{plan, unit, unit_name, document, issued_on, child_plan, created, changed}``.
    An identical registration changes nothing and writes no event.
    """
    parent = _plan(session, parent_code)
    unit = resolve_unit(session, unit_ref, now=now)
    if unit.is_group:
        raise UserError(f"«{unit.name}» là một nhóm cơ quan; hãy ghi nhận kế hoạch của từng cơ quan.")
    child_id = None
    if child_plan_code:
        child = _plan(session, child_plan_code, "kế hoạch của đơn vị")
        if child.id == parent.id:
            raise UserError(f"Kế hoạch «{child.code}» không thể là kế hoạch triển khai của chính nó.")
        child_id = child.id
    doc = " ".join(document.split()) if document and document.strip() else None
    if doc is None and child_id is None:
        raise UserError("Cần số, ký hiệu văn bản kế hoạch của đơn vị (--document), ví dụ «Kế hoạch số 12/KH-SNV».")
    if issued_on is not None and parent.issued_on is not None and issued_on < parent.issued_on:
        raise UserError(f"Ngày ban hành {issued_on:%d/%m/%Y} trước ngày ban hành kế hoạch «{parent.code}» "
                        f"({parent.issued_on:%d/%m/%Y}).")
    if issued_on is not None and issued_on > now.date() + timedelta(days=366):
        raise UserError(f"Ngày ban hành {issued_on:%d/%m/%Y} không hợp lệ (ở quá xa trong tương lai).")
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


def _expected_units(session: Session, parent: Plan, expected: Expected, now: datetime | None) -> list[Unit]:
    if expected == "lead_units":
        leads = (select(TaskUnit.unit_id).join(Task, Task.id == TaskUnit.task_id)
                 .where(Task.plan_id == parent.id, Task.status == PlanStatus.ACTIVE, TaskUnit.role == "lead"))
        q = select(Unit).where(Unit.id.in_(leads), Unit.is_group.is_(False))
        return list(session.execute(q).scalars())
    if expected == "departments":
        q = select(Unit).where(Unit.kind == "department", Unit.is_group.is_(False), Unit.active.is_(True))
        return list(session.execute(q).scalars())
    if isinstance(expected, str):
        raise UserError(f"Cách tính đơn vị cần ban hành kế hoạch «{expected}» không hợp lệ; dùng lead_units, "
                        f"departments hoặc danh sách mã đơn vị.")
    from engine.clock import now as clock_now

    moment = now or clock_now()
    units: dict[int, Unit] = {}
    for ref in expected:
        u = resolve_unit(session, ref, now=moment)
        units[u.id] = u
    return list(units.values())


def adoption_status(session: Session, parent_code: str, *, expected: Expected = "lead_units",
                    now: datetime | None = None) -> dict[str, Any]:
    """How many expected units have issued their implementing plan.

    ``expected``: "lead_units" (default: the distinct non-group lead units of the parent
    plan's active tasks), "departments" (every active unit of kind "department" in the
    database) or an explicit list of unit codes/names.

    Returns ``{plan, title, expected: int, adopted: int, units: [...], others: [...]}``;
    each unit is ``{code, name, adopted: bool, document, issued_on (ISO or None),
    child_plan (code or None)}``, sorted by code; ``others`` lists units that adopted
    without being expected (same shape).
    """
    parent = _plan(session, parent_code)
    units = _expected_units(session, parent, expected, now)
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

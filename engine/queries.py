"""Read models: plans and tasks as plain dicts (JSON-ready), loaded in a few bulk queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Plan, PlanRevision, Section, Task, TaskDependency, TaskUnit, Unit, WorkItem


class NotFound(LookupError):
    pass


def derive_task_status(item_states: list[tuple[str, date | None]], *, recurring: bool = False) -> str:
    """A task's status from its items' (status, deadline).

    No items → unassigned; all cancelled → cancelled; all completed → completed; all
    submitted/completed → submitted; any blocked → blocked; any started → in_progress.
    A recurring task is judged on its earliest open occurrence.
    """
    live = [(s, d) for s, d in item_states if s != "cancelled"]
    if not item_states:
        return "unassigned"
    if not live:
        return "cancelled"
    if recurring:
        open_ = [(s, d) for s, d in live if s != "completed"]
        if not open_:
            return "completed"
        first = min(d for _, d in open_ if d is not None) if any(d for _, d in open_) else None
        live = [(s, d) for s, d in open_ if d == first]
    states = {s for s, _ in live}
    if states == {"completed"}:
        return "completed"
    if states <= {"submitted", "completed"}:
        return "submitted"
    if "blocked" in states:
        return "blocked"
    if states & {"in_progress", "submitted", "completed"}:
        return "in_progress"
    return "not_started"


def get_plan(session: Session, code: str) -> Plan:
    plan = session.execute(select(Plan).where(Plan.code == code)).scalar_one_or_none()
    if plan is None:
        known = session.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
        hint = f" Các kế hoạch hiện có: {', '.join(known)}." if known else " Chưa có kế hoạch nào được nạp."
        raise NotFound(f"Không có kế hoạch mã «{code}».{hint}")
    return plan


def list_plans(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(
        select(Task.plan_id, func.count()).where(Task.status == "active").group_by(Task.plan_id)).all())
    items = dict(session.execute(
        select(Task.plan_id, func.count()).select_from(WorkItem).join(Task).group_by(Task.plan_id)).all())
    done = dict(session.execute(
        select(Task.plan_id, func.count()).select_from(WorkItem).join(Task)
        .where(WorkItem.status == "completed").group_by(Task.plan_id)).all())
    out = []
    for p in session.execute(select(Plan).order_by(Plan.code)).scalars():
        out.append({
            "code": p.code, "title": p.title, "document": p.document,
            "issued_on": p.issued_on.isoformat() if p.issued_on else None,
            "revision": p.revision, "tasks": counts.get(p.id, 0), "work_items": items.get(p.id, 0),
            "completed_items": done.get(p.id, 0), "source_file": p.source_file,
        })
    return out


def plan_detail(session: Session, code: str) -> dict[str, Any]:
    p = get_plan(session, code)
    sections = session.execute(select(Section).where(Section.plan_id == p.id).order_by(Section.position)).scalars().all()
    revs = session.execute(select(PlanRevision).where(PlanRevision.plan_id == p.id).order_by(PlanRevision.number)).scalars().all()
    tasks = list_tasks(session, plan=code)
    by_section: dict[str | None, int] = defaultdict(int)
    by_status: dict[str, int] = defaultdict(int)
    for t in tasks:
        by_section[t["section"]] += 1
        by_status[t["status"]] += 1
    return {
        "code": p.code, "title": p.title, "document": p.document,
        "issued_on": p.issued_on.isoformat() if p.issued_on else None,
        "issued_by": p.issued_by.name if p.issued_by else None,
        "parent": p.parent.code if p.parent else None,
        "revision": p.revision,
        "sections": [{"code": s.code, "title": s.title, "tasks": by_section.get(s.code, 0)} for s in sections],
        "status": dict(by_status),
        "tasks": len(tasks),
        "revisions": [{"number": r.number, "loaded_at": r.loaded_at.isoformat(), "source_file": r.source_file,
                       "added": r.added, "changed": r.changed, "cancelled": r.cancelled, "loaded_by": r.loaded_by}
                      for r in revs],
    }


def resolve_unit(session: Session, ref: str) -> Unit:
    """A unit by code, name or alias (the directory's matching rules)."""
    from engine.directory_store import current_directory

    u = session.execute(select(Unit).where(Unit.code == ref)).scalar_one_or_none()
    if u is not None:
        return u
    entry = current_directory(session).resolve(ref)
    if entry is not None:
        u = session.execute(select(Unit).where(Unit.code == entry.code)).scalar_one_or_none()
        if u is not None:
            return u
    raise NotFound(f"Không có đơn vị «{ref}» trong danh mục (dùng mã, tên hoặc tên viết tắt).")


def list_tasks(session: Session, *, plan: str | None = None, unit: str | None = None, status: str | None = None,
               include_cancelled: bool = False) -> list[dict[str, Any]]:
    stmt = select(Task, Plan.code).join(Plan, Plan.id == Task.plan_id)
    if plan:
        p = get_plan(session, plan)
        stmt = stmt.where(Task.plan_id == p.id)
    if unit:
        u = resolve_unit(session, unit)
        stmt = stmt.where(Task.id.in_(select(TaskUnit.task_id).where(TaskUnit.unit_id == u.id, TaskUnit.role == "lead")))
    if not include_cancelled and status != "cancelled":
        stmt = stmt.where(Task.status == "active")
    rows = session.execute(stmt.order_by(Plan.code, Task.position)).all()
    ids = [t.id for t, _ in rows]
    if not ids:
        return []
    units = {u.id: u for u in session.execute(select(Unit)).scalars()}
    sections = dict(session.execute(select(Section.id, Section.code)).all())
    leads: dict[int, list[str]] = defaultdict(list)
    coords: dict[int, list[str]] = defaultdict(list)
    tu_stmt = select(TaskUnit).order_by(TaskUnit.task_id, TaskUnit.position)
    items: dict[int, list[tuple[str, date | None]]] = defaultdict(list)
    item_stmt = select(WorkItem.task_id, WorkItem.status, WorkItem.deadline)
    dep_stmt = select(TaskDependency)
    if plan:
        tu_stmt = tu_stmt.where(TaskUnit.task_id.in_(select(Task.id).where(Task.plan_id == p.id)))
        item_stmt = item_stmt.where(WorkItem.task_id.in_(select(Task.id).where(Task.plan_id == p.id)))
        dep_stmt = dep_stmt.where(TaskDependency.task_id.in_(select(Task.id).where(Task.plan_id == p.id)))
    for tu in session.execute(tu_stmt).scalars():
        (leads if tu.role == "lead" else coords)[tu.task_id].append(units[tu.unit_id].name)
    for tid, st, dl in session.execute(item_stmt):
        items[tid].append((st, dl))
    code_of = {t.id: t.code for t, _ in rows}
    deps: dict[int, list[str]] = defaultdict(list)
    for d in session.execute(dep_stmt).scalars():
        deps[d.task_id].append(code_of.get(d.depends_on_id, str(d.depends_on_id)))
    out = []
    for t, plan_code in rows:
        st = "cancelled" if t.status == "cancelled" else derive_task_status(items[t.id], recurring=t.deadline_kind == "recurring")
        if status and st != status:
            continue
        out.append({
            "plan": plan_code,
            "code": t.code,
            "title": t.title,
            "section": sections.get(t.section_id) if t.section_id else None,
            "lead_units": leads[t.id],
            "coordinating_units": coords[t.id],
            "deliverable": t.deliverable,
            "deadline": t.deadline.isoformat() if t.deadline else None,
            "deadline_text": t.deadline_text,
            "deadline_kind": t.deadline_kind,
            "recurrence": t.recurrence,
            "depends_on": sorted(deps[t.id]),
            "vice_chair": t.vice_chair_id,
            "status": st,
            "work_items": len(items[t.id]),
        })
    return out

"""Read models: plans and tasks as plain dicts (JSON-ready), loaded in a few bulk queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.actors import unit_scope
from engine.days import fmt_local
from engine.directory_store import current_directory
from engine.errors import NotFound, PermissionDenied
from engine.i18n import tr
from engine.lifecycle import blocking_dependencies
from engine.models import (
    Event, ExtensionRequest, Person, Plan, PlanRevision, Section, Task, TaskDependency, TaskUnit, Unit, WorkItem,
)
from engine.permissions import allowed_actions, visible_filter
from engine.refs import item_ref, item_refs
from engine.states import OPEN_STATES, PlanStatus, Role, Status, derive_task_status
from engine.timeliness import classify
from engine.txcache import committee_settings


def get_plan(session: Session, code: str, *, lang: str = "vi") -> Plan:
    plan = session.execute(select(Plan).where(Plan.code == code)).scalar_one_or_none()
    if plan is None:
        known = session.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
        hint = tr(lang, "query.plans_known", codes=", ".join(known)) if known else tr(lang, "query.no_plans_loaded")
        raise NotFound(tr(lang, "query.no_plan", code=code, hint=hint))
    return plan


def list_plans(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(
        select(Task.plan_id, func.count()).where(Task.status == PlanStatus.ACTIVE).group_by(Task.plan_id)).all())
    items = dict(session.execute(
        select(Task.plan_id, func.count()).select_from(WorkItem).join(Task).group_by(Task.plan_id)).all())
    done = dict(session.execute(
        select(Task.plan_id, func.count()).select_from(WorkItem).join(Task)
        .where(WorkItem.status == Status.COMPLETED).group_by(Task.plan_id)).all())
    out = []
    for p in session.execute(select(Plan).order_by(Plan.code)).scalars():
        out.append({
            "code": p.code, "title": p.title, "document": p.document,
            "issued_on": p.issued_on.isoformat() if p.issued_on else None,
            "revision": p.revision, "tasks": counts.get(p.id, 0), "work_items": items.get(p.id, 0),
            "completed_items": done.get(p.id, 0), "source_file": p.source_file,
        })
    return out


def plan_detail(session: Session, code: str, *, lang: str = "vi") -> dict[str, Any]:
    p = get_plan(session, code, lang=lang)
    sections = session.execute(select(Section).where(Section.plan_id == p.id).order_by(Section.position)).scalars().all()
    revs = session.execute(select(PlanRevision).where(PlanRevision.plan_id == p.id).order_by(PlanRevision.number)).scalars().all()
    tasks = list_tasks(session, plan=code, lang=lang)
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


def resolve_unit(session: Session, ref: str, *, lang: str = "vi") -> Unit:
    """A unit by code, name or alias (the directory's matching rules)."""
    u = session.execute(select(Unit).where(Unit.code == ref)).scalar_one_or_none()
    if u is not None:
        return u
    entry = current_directory(session).resolve(ref)
    if entry is not None:
        u = session.execute(select(Unit).where(Unit.code == entry.code)).scalar_one_or_none()
        if u is not None:
            return u
    raise NotFound(tr(lang, "query.no_unit", ref=ref))


def list_tasks(session: Session, *, plan: str | None = None, unit: str | None = None, status: str | None = None,
               include_cancelled: bool = False, lang: str = "vi") -> list[dict[str, Any]]:
    stmt = select(Task, Plan.code).join(Plan, Plan.id == Task.plan_id)
    if plan:
        p = get_plan(session, plan, lang=lang)
        stmt = stmt.where(Task.plan_id == p.id)
    if unit:
        u = resolve_unit(session, unit, lang=lang)
        stmt = stmt.where(Task.id.in_(select(TaskUnit.task_id).where(TaskUnit.unit_id == u.id, TaskUnit.role == "lead")))
    if not include_cancelled and status != Status.CANCELLED:
        stmt = stmt.where(Task.status == PlanStatus.ACTIVE)
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
        st = Status.CANCELLED if t.status == PlanStatus.CANCELLED else derive_task_status(items[t.id], recurring=t.deadline_kind == "recurring")
        if status and st != status:
            continue
        # the deadline in force: the items' own deadline when they all share one that differs from
        # the plan's (an approved extension); None when they agree with the plan or differ among units
        own = {dl for _st, dl in items[t.id] if dl is not None}
        in_force = next(iter(own)) if len(own) == 1 and t.deadline_kind != "recurring" else None
        out.append({
            "plan": plan_code,
            "code": t.code,
            "title": t.title,
            "section": sections.get(t.section_id) if t.section_id else None,
            "lead_units": leads[t.id],
            "coordinating_units": coords[t.id],
            "deliverable": t.deliverable,
            "deadline": t.deadline.isoformat() if t.deadline else None,
            "deadline_in_force": (in_force.isoformat() if in_force is not None and in_force != t.deadline
                                  else None),
            "deadline_text": t.deadline_text,
            "deadline_kind": t.deadline_kind,
            "recurrence": t.recurrence,
            "depends_on": sorted(deps[t.id]),
            "vice_chair": t.vice_chair_id,
            "status": st,
            "work_items": len(items[t.id]),
        })
    return out


# --- work items (lifecycle) ------------------------------------------------------------------------


def list_items(session: Session, *, plan: str | None = None, unit: str | None = None, status: str | None = None,
               actor: Any = None, due_within: int | None = None, today: date | None = None,
               include_cancelled: bool = False, lang: str = "vi") -> list[dict[str, Any]]:
    """Work items as dicts (JSON-ready), filtered.

    ``actor`` (engine.actors.Actor): only the items they may see. ``due_within`` N (needs
    ``today``, the committee-local date): open items whose deadline in force falls in
    [today, today + N]. ``timeliness`` is engine.timeliness.classify on ``today``."""
    tz, settings = committee_settings(session)
    due_soon_days = int(settings.get("due_soon_days", 7))
    stmt = (select(WorkItem, Task, Plan.code, Unit)
            .join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
            .join(Unit, Unit.id == WorkItem.unit_id)
            .where(visible_filter(actor)))
    if plan:
        stmt = stmt.where(Task.plan_id == get_plan(session, plan, lang=lang).id)
    if unit:
        u = resolve_unit(session, unit, lang=lang)
        if actor is not None and actor.role == Role.FOCAL_POINT and u.code not in unit_scope(actor):
            raise PermissionDenied(tr(lang, "lc.denied_unit_items", name=actor.name, pid=actor.id,
                                      unit=actor.unit_code or tr(lang, "lc.no_unit"), unit_name=u.name,
                                      unit_code=u.code))
        stmt = stmt.where(WorkItem.unit_id == u.id)
    if status:
        stmt = stmt.where(WorkItem.status == status)
    elif not include_cancelled:
        stmt = stmt.where(WorkItem.status != Status.CANCELLED)
    if due_within is not None:
        if today is None:
            raise ValueError("due_within needs today")
        stmt = stmt.where(WorkItem.status.in_(OPEN_STATES), WorkItem.deadline.is_not(None),
                          WorkItem.deadline >= today, WorkItem.deadline <= today + timedelta(days=due_within))
    rows = session.execute(stmt.order_by(Plan.code, Task.position, WorkItem.deadline, Unit.code, WorkItem.occurrence)).all()
    refs = item_refs(session, [w for w, *_ in rows])
    out = []
    for w, t, plan_code, u in rows:
        out.append({
            "id": w.id, "ref": refs[w.id], "plan": plan_code, "task": t.code, "title": t.title,
            "unit": u.code, "unit_name": u.name, "occurrence": w.occurrence or None,
            "deadline": w.deadline.isoformat() if w.deadline else None,
            "original_deadline": w.original_deadline.isoformat() if w.original_deadline else None,
            "deadline_kind": t.deadline_kind, "status": w.status,
            "timeliness": classify(w.status, w.deadline, w.completed_at, today, deadline_kind=t.deadline_kind,
                                   due_soon_days=due_soon_days, tz=tz, completion=w.completion) if today else None,
            "completion": w.completion, "version": w.version,
        })
    return out


def _event_dict(session: Session, e: Any, tz: str, names: dict[str, str], refs: dict[int, str]) -> dict[str, Any]:
    return {
        "id": e.id, "at": e.at.isoformat(), "at_local": fmt_local(e.at, tz), "actor": e.actor,
        "actor_name": names.get(e.actor, e.actor), "actor_role": e.actor_role, "kind": e.kind,
        "item": refs.get(e.work_item_id) if e.work_item_id else None, "work_item_id": e.work_item_id,
        "from_status": e.from_status, "to_status": e.to_status, "note": e.note, "evidence": e.evidence,
        "percent": e.percent,
        "deadline_before": e.deadline_before.isoformat() if e.deadline_before else None,
        "deadline_after": e.deadline_after.isoformat() if e.deadline_after else None,
        "data": e.data or {},
    }


def event_log(session: Session, *, item_id: int | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` events (all, or one item's), oldest first, as dicts."""
    tz, _ = committee_settings(session)
    stmt = select(Event)
    if item_id is not None:
        stmt = stmt.where(Event.work_item_id == item_id)
    stmt = stmt.order_by(Event.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    events = list(reversed(session.execute(stmt).scalars().all()))
    names = dict(session.execute(select(Person.id, Person.name)).all())
    ids = {e.work_item_id for e in events if e.work_item_id}
    items = session.execute(select(WorkItem).where(WorkItem.id.in_(ids))).scalars().all() if ids else []
    refs = item_refs(session, list(items))
    return [_event_dict(session, e, tz, names, refs) for e in events]


def item_detail(session: Session, item: WorkItem, *, today: date | None = None, lang: str = "vi") -> dict[str, Any]:
    """Everything about one work item: fields, timeliness, allowed actions, full history, extensions."""
    task = item.task
    plan = session.get(Plan, task.plan_id)
    tz, settings = committee_settings(session, task.plan_id)
    names = dict(session.execute(select(Person.id, Person.name)).all())
    deps = session.execute(select(Task.code).join(TaskDependency, TaskDependency.depends_on_id == Task.id)
                           .where(TaskDependency.task_id == task.id).order_by(Task.position)).scalars().all()
    exts = session.execute(select(ExtensionRequest).where(ExtensionRequest.work_item_id == item.id)
                           .order_by(ExtensionRequest.id)).scalars().all()

    def iso(v: Any) -> str | None:
        return v.isoformat() if v is not None else None

    return {
        "id": item.id, "ref": item_ref(item, session), "plan": plan.code if plan else None, "task": task.code,
        "title": task.title, "deliverable": task.deliverable, "unit": item.unit.code, "unit_name": item.unit.name,
        "occurrence": item.occurrence or None, "status": item.status, "version": item.version,
        "deadline": iso(item.deadline), "original_deadline": iso(item.original_deadline),
        "deadline_text": task.deadline_text, "deadline_kind": task.deadline_kind,
        "started_at": iso(item.started_at), "submitted_at": iso(item.submitted_at),
        "completed_at": iso(item.completed_at), "completed_at_local": fmt_local(item.completed_at, tz)
        if item.completed_at else None,
        "completion": item.completion, "blocked_reason": item.blocked_reason,
        "timeliness": classify(item.status, item.deadline, item.completed_at, today, deadline_kind=task.deadline_kind,
                               due_soon_days=int(settings.get("due_soon_days", 7)), tz=tz,
                               completion=item.completion) if today else None,
        "vice_chair": task.vice_chair_id, "vice_chair_name": names.get(task.vice_chair_id or "", None),
        "depends_on": list(deps), "waiting_for": blocking_dependencies(session, task.id),
        "allowed_actions": allowed_actions(item),
        "timezone": tz,
        "events": event_log(session, item_id=item.id, limit=None),
        "extension_requests": [{
            "id": r.id, "requested_by": r.requested_by, "requested_by_name": names.get(r.requested_by, r.requested_by),
            "requested_at": iso(r.requested_at), "requested_at_local": fmt_local(r.requested_at, tz),
            "until": iso(r.until), "previous_deadline": iso(r.previous_deadline), "reason": r.reason,
            "status": r.status, "decided_by": r.decided_by, "decided_by_name": names.get(r.decided_by or "", r.decided_by),
            "decided_at": iso(r.decided_at), "decided_at_local": fmt_local(r.decided_at, tz) if r.decided_at else None,
            "decision_note": r.decision_note,
        } for r in exts],
    }

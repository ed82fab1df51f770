"""Work-item listings shared by the pages and the JSON API (visibility from engine.lifecycle)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.permissions import visible_filter
from engine.refs import item_refs
from engine.states import OPEN_STATES, STATUSES, Status
from engine.txcache import committee_settings
from engine.models import EscalationAck, Plan, Task, Unit, WorkItem
from engine.textsearch import matching_task_ids, matching_unit_ids
from web.core import User

PAGE = 100


def item_rows(s: Session, user: User, *, today: date, status: str | None, unit: str | None, plan: str | None,
               q: str | None, page: int, overdue_only: bool = False, page_size: int = PAGE,
               due_within: int | None = None, offset: int | None = None,
               level: tuple[date | None, date] | None = None,
               acknowledged: bool | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of the items ``user`` may see, and how many there are. ``unit`` and ``q`` are
    searches (engine.textsearch); ``level``: deadlines in (earliest or None, latest) — an
    escalation level's window (web.pages' overdue list); ``acknowledged``: whether someone
    acknowledged the escalation for the deadline in force."""
    from engine.timeliness import classify

    tz, settings = committee_settings(s)
    due_soon_days = int(settings.get("due_soon_days", 7))
    stmt = (select(WorkItem, Task, Plan.code, Unit)
            .join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
            .join(Unit, Unit.id == WorkItem.unit_id)
            .where(visible_filter(user.actor)))
    if status == "open" or overdue_only:
        stmt = stmt.where(WorkItem.status.in_(OPEN_STATES))
    elif status in STATUSES:
        stmt = stmt.where(WorkItem.status == status)
    else:
        stmt = stmt.where(WorkItem.status != Status.CANCELLED)
    if overdue_only:
        stmt = stmt.where(WorkItem.deadline.is_not(None), WorkItem.deadline < today)
    if due_within is not None:
        from datetime import timedelta

        stmt = stmt.where(WorkItem.status.in_(OPEN_STATES), WorkItem.deadline.is_not(None),
                          WorkItem.deadline <= today + timedelta(days=due_within))
    if unit and unit.strip():
        # code, name or alias, any case, with or without diacritics (engine.textsearch)
        stmt = stmt.where(Unit.id.in_(matching_unit_ids(s, unit)))
    if plan:
        stmt = stmt.where(Plan.code == plan)
    if q and q.strip():
        stmt = stmt.where(Task.id.in_(matching_task_ids(s, q)))
    if level is not None:
        low, high = level
        if low is not None:
            stmt = stmt.where(WorkItem.deadline >= low)
        stmt = stmt.where(WorkItem.deadline <= high)
    if acknowledged is not None:
        acked = (select(EscalationAck.id).where(EscalationAck.work_item_id == WorkItem.id,
                                                EscalationAck.deadline == WorkItem.deadline).exists())
        stmt = stmt.where(acked if acknowledged else ~acked)
    total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    open_first = case((WorkItem.status.in_(OPEN_STATES), 0), else_=1)
    no_deadline_last = case((WorkItem.deadline.is_(None), 1), else_=0)
    stmt = stmt.order_by(open_first, no_deadline_last, WorkItem.deadline, Plan.code, Task.position, WorkItem.id)
    start = max(offset, 0) if offset is not None else max(page, 0) * page_size
    rows = s.execute(stmt.limit(page_size).offset(start)).all()
    refs = item_refs(s, [w for w, *_ in rows])
    out = []
    for w, task, plan_code, u in rows:
        out.append({
            "id": w.id, "ref": refs[w.id], "plan": plan_code, "task": task.code, "title": task.title,
            "unit": u.code, "unit_name": u.name, "occurrence": w.occurrence or None, "deadline": w.deadline,
            "status": w.status, "version": w.version, "completion": w.completion,
            "timeliness": classify(w.status, w.deadline, w.completed_at, today, deadline_kind=task.deadline_kind,
                                   due_soon_days=due_soon_days, tz=tz),
            "days_overdue": (today - w.deadline).days if w.deadline and today > w.deadline else None,
        })
    return out, total

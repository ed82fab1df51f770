"""Which occurrences of a recurring task exist, and creating the missing ones.

One implementation of "which occurrences exist": :func:`item_deadlines` is used by the
plan loader (work items created at load time) and by :func:`generate_occurrences`
(work items created later, as the horizon moves forward), so both always agree.

Window rules (committee-local calendar dates):

* An occurrence exists when its due date lies in ``[start, today + horizon]``.
* ``start`` is the later of the task's ``recurrence_starts`` and the plan's issue
  date (or, without an issue date, the day the task was created). An occurrence due
  before the plan was issued is never created: "Hằng tháng từ 1/2025" in a plan issued
  on 15/3/2025 starts with March. This is exactly what the loader does at load time.
* ``horizon`` is ``Committee.settings["recurrence_horizon_days"]`` (default 400 days),
  or the ``horizon_days`` argument.
* Occurrence keys come from :func:`engine.deadlines.period_key` ("2025", "2025-06",
  "2025-Q2", or an ISO date), so (task, unit, occurrence) is stable and unique.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.clock import local_date
from engine.deadlines import DeadlineSpec, occurrences, period_key
from engine.errors import UserError
from engine.i18n import tr
from engine.models import Committee, Plan, Task, TaskUnit, WorkItem
from engine.states import PlanStatus, Status

DEFAULT_HORIZON_DAYS = 400
MAX_HORIZON_DAYS = 3660


def item_deadlines(spec: DeadlineSpec, *, start: date, until: date) -> list[tuple[str, date | None]]:
    """(occurrence key, deadline) of the work items one lead unit gets for a task.

    Recurring: one per due date in ``[max(start, spec.starts), until]``; anything else:
    the single item ``("", spec.due)``.
    """
    if spec.kind == "recurring":
        first = max(start, spec.starts) if spec.starts else start
        return [(period_key(spec, d), d) for d in occurrences(spec, first, until)]
    return [("", spec.due)]


def window_start(*, recurrence_starts: date | None, issued_on: date | None, created_on: date) -> date:
    """First day occurrences may fall on: the later of the start and the plan's issue date."""
    base = issued_on or created_on
    return max(base, recurrence_starts) if recurrence_starts else base


def task_deadline_spec(task: Any) -> DeadlineSpec:
    """Rebuild the DeadlineSpec stored on a Task row (or any row with the same columns)."""
    return DeadlineSpec(
        text=task.deadline_text or "",
        kind=task.deadline_kind,
        due=task.deadline,
        recurrence=task.recurrence,
        starts=task.recurrence_starts,
    )


def horizon_setting(session: Session, lang: str = "vi") -> tuple[str, int]:
    """(committee timezone, recurrence horizon in days) from the committee settings."""
    c = session.get(Committee, 1)
    if c is None:
        return "Asia/Ho_Chi_Minh", DEFAULT_HORIZON_DAYS
    raw = (c.settings or {}).get("recurrence_horizon_days", DEFAULT_HORIZON_DAYS)
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise UserError(tr(lang, "rec.bad_horizon_setting", raw=raw)) from None
    return c.timezone or "Asia/Ho_Chi_Minh", days


@dataclass(frozen=True)
class GenerateResult:
    created: int
    until: date
    horizon_days: int
    by_plan: dict[str, int]


def generate_occurrences(session: Session, *, now: datetime, horizon_days: int | None = None,
                         actor: str = "system", lang: str = "vi") -> int:
    """Create the missing work items of every active recurring task; returns how many.

    See :func:`generate_occurrences_report` for the details.
    """
    return generate_occurrences_report(session, now=now, horizon_days=horizon_days, actor=actor, lang=lang).created


def generate_occurrences_report(session: Session, *, now: datetime, horizon_days: int | None = None,
                                actor: str = "system", lang: str = "vi") -> GenerateResult:
    """Create the missing work items of every active recurring task, for every lead unit.

    Set-based: one query for the tasks and their lead units, one for the existing
    occurrences, one bulk insert (``ON CONFLICT DO NOTHING``, so a concurrent run cannot
    fail on the unique constraint). Idempotent: a second run creates nothing. Writes one
    ``occurrences_generated`` event when anything was created. Runs in the caller's
    transaction.
    """
    tz, setting = horizon_setting(session, lang)
    horizon = setting if horizon_days is None else int(horizon_days)
    if not 0 <= horizon <= MAX_HORIZON_DAYS:
        raise UserError(tr(lang, "rec.horizon_range", max_days=MAX_HORIZON_DAYS, horizon=horizon))
    today = local_date(now, tz)
    until = today + timedelta(days=horizon)

    rows = session.execute(
        select(Task.id, Task.deadline, Task.deadline_text, Task.deadline_kind, Task.recurrence,
               Task.recurrence_starts, Task.created_at, Plan.issued_on, Plan.code, TaskUnit.unit_id)
        .join(Plan, Plan.id == Task.plan_id)
        .join(TaskUnit, TaskUnit.task_id == Task.id)
        .where(Task.deadline_kind == "recurring", Task.recurrence.is_not(None), Task.status == PlanStatus.ACTIVE,
               Plan.status == PlanStatus.ACTIVE, TaskUnit.role == "lead")
        .order_by(Task.id, TaskUnit.position, TaskUnit.unit_id)
    ).all()
    if not rows:
        return GenerateResult(0, until, horizon, {})
    recurring_ids = (
        select(Task.id).join(Plan, Plan.id == Task.plan_id)
        .where(Task.deadline_kind == "recurring", Task.status == PlanStatus.ACTIVE, Plan.status == PlanStatus.ACTIVE)
    )
    have = {tuple(r) for r in session.execute(
        select(WorkItem.task_id, WorkItem.unit_id, WorkItem.occurrence).where(WorkItem.task_id.in_(recurring_ids))
    )}

    wanted_by_task: dict[int, list[tuple[str, date | None]]] = {}
    new_rows: list[dict[str, Any]] = []
    plan_of: dict[int, str] = {}
    for r in rows:
        if r.id not in wanted_by_task:
            start = window_start(recurrence_starts=r.recurrence_starts, issued_on=r.issued_on,
                                 created_on=local_date(r.created_at, tz))
            wanted_by_task[r.id] = item_deadlines(task_deadline_spec(r), start=start, until=until)
            plan_of[r.id] = r.code
        for occ, due in wanted_by_task[r.id]:
            if (r.id, r.unit_id, occ) in have:
                continue
            have.add((r.id, r.unit_id, occ))
            new_rows.append(dict(task_id=r.id, unit_id=r.unit_id, occurrence=occ, deadline=due,
                                 original_deadline=due, status=Status.NOT_STARTED, version=1,
                                 updated_by=actor, updated_at=now, created_at=now))
    if not new_rows:
        return GenerateResult(0, until, horizon, {})

    created_task_ids = _insert_missing(session, new_rows)
    by_plan = Counter(plan_of[t] for t in created_task_ids)
    created = len(created_task_ids)
    if created:
        append_event(session, now=now, actor=actor, actor_role="system", kind="occurrences_generated",
                     data={"count": created, "until": until.isoformat(), "horizon_days": horizon,
                           "by_plan": dict(sorted(by_plan.items()))})
    return GenerateResult(created, until, horizon, dict(sorted(by_plan.items())))


def _insert_missing(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows, skipping any (task, unit, occurrence) that appeared meanwhile; task ids inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        from sqlalchemy import insert as plain_insert

        session.execute(plain_insert(WorkItem), rows)
        return [r["task_id"] for r in rows]
    stmt = (
        dialect_insert(WorkItem)
        .on_conflict_do_nothing(index_elements=["task_id", "unit_id", "occurrence"])
        .returning(WorkItem.task_id)
    )
    return list(session.execute(stmt, rows).scalars().all())

"""Timeliness transitions ("flips"): the first step of every daily run.

For every work item, the timeliness at ``now`` (``engine.timeliness.classify`` on the
committee-local date) is compared with the last recorded one (``WorkItem.timeliness``).
Each change — on_track → due_soon → overdue, back to on_track after an approved
extension, overdue → completed_late on completion, ... — becomes one hash-chained event
(kind ``"timeliness"``, ``from_status``/``to_status`` = old/new, ``data`` with the deadline)
and the new value is stored on the item. Like healthchecks' Flip rows, the history of
these events is what reports and the heat map read. Running twice for the same ``now``
records nothing the second time.

Speed: the open (and cancelled) items are classified by one SQL ``CASE`` that mirrors
``classify`` rule for rule (``tests/test_tracking.py`` proves they agree on the sample
plan); completed items whose stored value is not a completed one yet — few per run — go
through ``classify`` itself. The new values are stored with one ``UPDATE … WHERE id IN
(…)`` per value (and per ``UPDATE_CHUNK`` items), not one statement per item.

Stored values are ``engine.timeliness`` names as they are (``WorkItem.timeliness`` and
``Event.from_status``/``to_status`` are 32 characters wide); event data repeats them under
``from``/``to``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, literal, or_, select, update
from sqlalchemy.orm import Session

from engine.audit import append_events
from engine.clock import local_date, require_aware
from engine.models import Event, Plan, Task, WorkItem
from engine.states import Status
from engine.timeliness import DEFAULT_DUE_SOON_DAYS, Timeliness, classify
from engine.txcache import committee_settings

SYSTEM_ACTOR = "system"
EVENT_KIND = "timeliness"
COMPLETED_VALUES = (Timeliness.COMPLETED_ON_TIME, Timeliness.COMPLETED_LATE, Timeliness.COMPLETED)
UPDATE_CHUNK = 5000  # ids per UPDATE (well under the bound-parameter limits)


@dataclass(frozen=True)
class Flip:
    work_item_id: int
    plan_id: int
    task_id: int
    from_status: str | None
    to_status: str
    deadline: date | None


@dataclass
class TrackResult:
    today: date
    flips: int = 0
    by_transition: dict[str, int] = field(default_factory=dict)  # "overdue→completed_late": n
    changes: list[Flip] = field(default_factory=list)
    dry_run: bool = False


def _due_soon_groups(session: Session, default: int) -> list[tuple[int, list[int] | None]]:
    """(due_soon_days, plan ids or None = every other plan): plans may override the committee."""
    overrides: dict[int, list[int]] = {}
    for pid, settings in session.execute(select(Plan.id, Plan.settings)).all():
        if settings and "due_soon_days" in settings and int(settings["due_soon_days"]) != default:
            overrides.setdefault(int(settings["due_soon_days"]), []).append(pid)
    groups: list[tuple[int, list[int] | None]] = [(n, ids) for n, ids in overrides.items()]
    groups.append((default, None))
    return groups


def timeliness_case(today: date, due_soon_days: int) -> Any:
    """SQL mirror of ``classify`` for items that are not completed (joined with ``Task``)."""
    return case(
        (WorkItem.status == Status.CANCELLED, literal(Timeliness.CANCELLED, String)),
        (Task.deadline_kind == "ongoing", literal(Timeliness.ONGOING, String)),
        (WorkItem.deadline.is_(None), literal(Timeliness.NO_DEADLINE, String)),
        (WorkItem.deadline < today, literal(Timeliness.OVERDUE, String)),
        (WorkItem.deadline <= today + timedelta(days=due_soon_days), literal(Timeliness.DUE_SOON, String)),
        else_=literal(Timeliness.ON_TRACK, String),
    )


def compute_flips(session: Session, *, now: datetime) -> tuple[date, list[Flip]]:
    """Every item whose timeliness at ``now`` differs from the stored one (nothing written)."""
    require_aware(now)
    tz, settings = committee_settings(session)
    today = local_date(now, tz)
    default_days = int(settings.get("due_soon_days", DEFAULT_DUE_SOON_DAYS))
    flips: list[Flip] = []
    done_groups = []
    for days, plan_ids in _due_soon_groups(session, default_days):
        new = timeliness_case(today, days).label("new")
        stmt = (select(WorkItem.id, Task.plan_id, WorkItem.task_id, WorkItem.timeliness, new, WorkItem.deadline)
                .join(Task, Task.id == WorkItem.task_id)
                .where(WorkItem.status != Status.COMPLETED,
                       or_(WorkItem.timeliness.is_(None), WorkItem.timeliness != timeliness_case(today, days))))
        if plan_ids is not None:
            stmt = stmt.where(Task.plan_id.in_(plan_ids))
        else:
            others = [pid for _, ids in done_groups for pid in ids]
            if others:
                stmt = stmt.where(Task.plan_id.not_in(others))
        for wid, pid, tid, old, value, deadline in session.execute(stmt.order_by(WorkItem.id)):
            flips.append(Flip(wid, pid, tid, old, value, deadline))
        if plan_ids is not None:
            done_groups.append((days, plan_ids))
    stmt = (select(WorkItem.id, Task.plan_id, WorkItem.task_id, WorkItem.timeliness, WorkItem.status,
                   WorkItem.deadline, WorkItem.completed_at, Task.deadline_kind, WorkItem.completion)
            .join(Task, Task.id == WorkItem.task_id)
            .where(WorkItem.status == Status.COMPLETED,
                   or_(WorkItem.timeliness.is_(None), WorkItem.timeliness.not_in(COMPLETED_VALUES))))
    for wid, pid, tid, old, status, deadline, completed_at, kind, completion in session.execute(stmt.order_by(WorkItem.id)):
        value = classify(status, deadline, completed_at, today, deadline_kind=kind, tz=tz, completion=completion)
        if old != value:
            flips.append(Flip(wid, pid, tid, old, value, deadline))
    flips.sort(key=lambda f: f.work_item_id)
    return today, flips


def track(session: Session, *, now: datetime, dry_run: bool = False) -> TrackResult:
    """Record every timeliness change at ``now`` (one event each) in the caller's transaction."""
    today, flips = compute_flips(session, now=now)
    result = TrackResult(today=today, flips=len(flips), changes=flips, dry_run=dry_run)
    result.by_transition = dict(Counter(f"{f.from_status or '∅'}→{f.to_status}" for f in flips))
    if dry_run or not flips:
        return result
    # the items first, then the events: like every writer (an action's compare-and-set, then
    # its event; a plan load's rows, then its events) take item rows before the audit chain's
    # head, or a concurrent action holding an item and waiting for the head at its commit
    # deadlocks with this pass. One UPDATE per new value (and per UPDATE_CHUNK items).
    table = WorkItem.__table__
    by_value: dict[str, list[int]] = {}
    for f in flips:
        by_value.setdefault(f.to_status, []).append(f.work_item_id)
    for value, ids in by_value.items():
        for i in range(0, len(ids), UPDATE_CHUNK):
            session.execute(update(table).where(table.c.id.in_(ids[i:i + UPDATE_CHUNK])).values(timeliness=value))
    append_events(session, ({
        "at": now, "actor": SYSTEM_ACTOR, "actor_role": SYSTEM_ACTOR, "kind": EVENT_KIND,
        "plan_id": f.plan_id, "task_id": f.task_id, "work_item_id": f.work_item_id,
        "from_status": f.from_status, "to_status": f.to_status,
        "data": {"deadline": f.deadline.isoformat() if f.deadline else None, "today": today.isoformat(),
                 "from": f.from_status, "to": f.to_status},
    } for f in flips), now=now)
    return result


def history(session: Session, work_item_id: int) -> list[tuple[datetime, str | None, str]]:
    """(at, from, to) of an item's recorded flips, oldest first (canonical names)."""
    rows = session.execute(select(Event.at, Event.from_status, Event.to_status)
                           .where(Event.work_item_id == work_item_id, Event.kind == EVENT_KIND)
                           .order_by(Event.id)).all()
    return [(at, a, b or "") for at, a, b in rows]

"""Timeliness of a work item, decided in one place.

Pure functions: the caller passes the committee-local ``today`` (a ``date``) and the
committee timezone; nothing here reads the clock or the database. Escalation, reports,
the web colours and the lifecycle (``WorkItem.completion``) all use these two functions,
so "late", "due soon" and "overdue" mean the same thing everywhere.

Deadlines are whole local days: an item due on 30/06 is on time for all of 30/06 in the
committee's timezone, and overdue from 01/07.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from engine.clock import DEFAULT_TZ, local_date

Timeliness = Literal[
    "on_track", "due_soon", "overdue", "completed_on_time", "completed_late", "completed",
    "ongoing", "no_deadline", "cancelled",
]  # fmt: skip
Completion = Literal["on_time", "late"]

TIMELINESS_VALUES: tuple[str, ...] = (
    "on_track", "due_soon", "overdue", "completed_on_time", "completed_late", "completed",
    "ongoing", "no_deadline", "cancelled",
)  # fmt: skip
DEFAULT_DUE_SOON_DAYS = 7


def completion_of(completed_at: datetime, deadline: date | None, tz: str = DEFAULT_TZ) -> Completion:
    """``"on_time"`` when the local date of ``completed_at`` (in ``tz``) is on or before
    ``deadline``, else ``"late"``. No deadline → ``"on_time"``.

    Completing at 23:30 local time on the deadline day is on time; at 00:10 the next
    local day it is late, whatever the UTC date says.
    """
    if deadline is None:
        return "on_time"
    return "on_time" if local_date(completed_at, tz) <= deadline else "late"


def classify(
    status: str,
    deadline: date | None,
    completed_at: datetime | None,
    today: date,
    *,
    deadline_kind: str | None = None,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
    tz: str = DEFAULT_TZ,
) -> Timeliness:
    """Classify one work item on the committee-local day ``today``.

    Rules, first match wins:

    - ``status == "cancelled"`` → ``cancelled``.
    - ``status == "completed"``: with both ``completed_at`` and a ``deadline`` (and not an
      ongoing task) → ``completed_on_time`` / ``completed_late`` by :func:`completion_of`;
      otherwise (no deadline, ongoing task, imported without a date) → ``completed``.
    - ``deadline_kind == "ongoing"`` (thường xuyên) → ``ongoing``: never due soon, never
      overdue.
    - no ``deadline`` → ``no_deadline``.
    - ``today > deadline`` → ``overdue`` (any open status, including submitted but not
      yet verified and blocked).
    - ``today <= deadline <= today + due_soon_days`` → ``due_soon`` (so an item due
      today is due soon, not overdue).
    - otherwise → ``on_track``.

    ``deadline`` is the deadline in force (after approved extensions), not the original.
    """
    if status == "cancelled":
        return "cancelled"
    if status == "completed":
        if completed_at is None or deadline is None or deadline_kind == "ongoing":
            return "completed"
        return "completed_on_time" if completion_of(completed_at, deadline, tz) == "on_time" else "completed_late"
    if deadline_kind == "ongoing":
        return "ongoing"
    if deadline is None:
        return "no_deadline"
    if today > deadline:
        return "overdue"
    if deadline <= today + timedelta(days=due_soon_days):
        return "due_soon"
    return "on_track"


def days_left(deadline: date | None, today: date) -> int | None:
    """Calendar days from ``today`` to ``deadline`` (negative when overdue; None without one)."""
    return None if deadline is None else (deadline - today).days

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
from enum import StrEnum
from typing import Literal

from engine.clock import DEFAULT_TZ, local_date
from engine.states import Status


class Timeliness(StrEnum):
    """A work item's timeliness class — its own vocabulary, not a lifecycle ``Status``
    (``completed`` and ``cancelled`` are spelled the same; the values are the strings stored
    in ``WorkItem.timeliness`` and sent in JSON)."""

    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    COMPLETED_ON_TIME = "completed_on_time"
    COMPLETED_LATE = "completed_late"
    COMPLETED = "completed"
    ONGOING = "ongoing"
    NO_DEADLINE = "no_deadline"
    CANCELLED = "cancelled"


Completion = Literal["on_time", "late"]

TIMELINESS_VALUES: tuple[str, ...] = tuple(Timeliness)
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
    completion: str | None = None,
) -> Timeliness:
    """Classify one work item on the committee-local day ``today``.

    Rules, first match wins:

    - ``status == "cancelled"`` → ``cancelled``.
    - ``status == "completed"``: with both ``completed_at`` and a ``deadline`` (and not an
      ongoing task) → ``completed_on_time`` / ``completed_late`` by :func:`completion_of`;
      otherwise (no deadline, ongoing task, imported without a date: ``completion ==
      "unknown"``, whose ``completed_at`` is only the import time) → ``completed``.
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
    if status == Status.CANCELLED:
        return Timeliness.CANCELLED
    if status == Status.COMPLETED:
        if completed_at is None or deadline is None or deadline_kind == "ongoing" or completion == "unknown":
            return Timeliness.COMPLETED
        if completion_of(completed_at, deadline, tz) == "on_time":
            return Timeliness.COMPLETED_ON_TIME
        return Timeliness.COMPLETED_LATE
    if deadline_kind == "ongoing":
        return Timeliness.ONGOING
    if deadline is None:
        return Timeliness.NO_DEADLINE
    if today > deadline:
        return Timeliness.OVERDUE
    if deadline <= today + timedelta(days=due_soon_days):
        return Timeliness.DUE_SOON
    return Timeliness.ON_TRACK


def days_left(deadline: date | None, today: date) -> int | None:
    """Calendar days from ``today`` to ``deadline`` (negative when overdue; None without one)."""
    return None if deadline is None else (deadline - today).days

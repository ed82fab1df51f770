"""The only module that reads the wall clock. Everything else takes ``now`` as an argument."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def now() -> datetime:
    """Aware UTC now. ``STEER_NOW`` (ISO datetime with offset) pins it, for demos and tests."""
    pinned = os.environ.get("STEER_NOW")
    if pinned:
        return require_aware(datetime.fromisoformat(pinned)).astimezone(timezone.utc)
    return datetime.now(timezone.utc)


def require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: give a timezone")
    return value


def local_date(moment: datetime, tz: str = DEFAULT_TZ) -> date:
    """The committee-local calendar date of an aware instant."""
    return require_aware(moment).astimezone(ZoneInfo(tz)).date()


def local_datetime(day: date, at: time = time(0, 0), tz: str = DEFAULT_TZ) -> datetime:
    """An aware UTC instant for a committee-local date and time."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def end_of_local_day(day: date, tz: str = DEFAULT_TZ) -> datetime:
    return local_datetime(day, time(23, 59, 59, 999999), tz)


def stopwatch() -> Callable[[], float]:
    """Seconds elapsed since the call, for work budgets (a PDF read's time limit). Not the wall
    clock: a monotonic counter, unaffected by STEER_NOW or clock changes."""
    from time import monotonic

    start = monotonic()
    return lambda: monotonic() - start

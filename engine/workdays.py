"""Vietnamese working-day calendar (pure, no database).

A working day is Monday–Friday that is not a Vietnamese public holiday, as given by
the ``holidays`` package (``holidays.country_holidays("VN")``: Tết Nguyên Đán with its
official extra days, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh 2/9 plus its adjacent
day, observed/substituted days), with two overrides a committee can configure:

* ``extra_holidays`` — extra days off (e.g. a provincial decision); always off.
* ``extra_workdays`` — compensatory working days (usually Saturdays worked in exchange
  for a bridge day off); always on, even when the package calls them a holiday.

Weekend days that the package itself records as compensatory working days (for
example Saturday 26/04/2025, worked in exchange for Friday 02/05/2025) are working
days too.

Holiday data are loaded once per year and cached on the calendar instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays

__all__ = ["WorkCalendar", "default_calendar"]

_EXTRA_HOLIDAY_NAME = "Ngày nghỉ bổ sung"


@dataclass(frozen=True)
class _YearData:
    """The package's holidays of one year and its compensatory weekend workdays."""

    holidays: dict[date, str]
    weekend_workdays: frozenset[date]


class WorkCalendar:
    """Working days in Vietnam (Mon–Fri minus public holidays, with overrides)."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self._extra_holidays: frozenset[date] = frozenset(extra_holidays)
        self._extra_workdays: frozenset[date] = frozenset(extra_workdays)
        both = self._extra_holidays & self._extra_workdays
        if both:
            listed = ", ".join(d.strftime("%d/%m/%Y") for d in sorted(both))
            raise ValueError(
                f"Ngày vừa là ngày nghỉ bổ sung vừa là ngày làm việc bù: {listed}"
            )
        # Per-instance cache, filled lazily; never shared between calendars.
        self._years: dict[int, _YearData] = {}

    # -- data -------------------------------------------------------------

    def _year(self, year: int) -> _YearData:
        data = self._years.get(year)
        if data is None:
            vn = holidays.country_holidays("VN", years=year, language="vi")
            days = {d: str(name) for d, name in vn.items() if d.year == year}
            workdays = frozenset(
                d for d in getattr(vn, "weekend_workdays", set()) if d.year == year
            )
            data = _YearData(holidays=days, weekend_workdays=workdays)
            self._years[year] = data
        return data

    def holidays_in(self, year: int) -> dict[date, str]:
        """Days off of ``year`` (public holidays and extra holidays), date -> Vietnamese name.

        Weekend holidays are included as the package reports them (e.g. Mùng bốn Tết on
        a Saturday). Days declared as ``extra_workdays`` are left out. Returns a new dict
        sorted by date; mutating it does not affect the calendar.
        """
        merged = dict(self._year(year).holidays)
        for d in self._extra_holidays:
            if d.year == year:
                merged.setdefault(d, _EXTRA_HOLIDAY_NAME)
        for d in self._extra_workdays:
            merged.pop(d, None)
        return dict(sorted(merged.items()))

    # -- queries ------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True when civil servants work on ``d``."""
        if d in self._extra_holidays:
            return False
        if d in self._extra_workdays:
            return True
        data = self._year(d.year)
        if d.weekday() >= 5:
            return d in data.weekend_workdays
        return d not in data.holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day strictly after ``start`` (``n`` >= 1).

        ``n`` <= -1 counts backwards (the |n|-th working day strictly before ``start``);
        ``n`` == 0 returns ``start`` unchanged, whether or not it is a working day.
        """
        if n == 0:
            return start
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        d = start
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Number of working days ``d`` with ``a < d <= b``.

        Mirror-symmetric: ``working_days_between(b, a) == -working_days_between(a, b)``;
        0 when ``a == b``. Consistent with :meth:`add_working_days` for ``n >= 0``:
        ``working_days_between(a, add_working_days(a, n)) == n``; for ``n < 0`` the same
        holds only when ``a`` itself is a working day (the mirror window is ``(b, a]``).
        """
        if a == b:
            return 0
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        d = a
        one = timedelta(days=1)
        while d < b:
            d += one
            if self.is_working_day(d):
                count += 1
        return count


@cache
def default_calendar() -> WorkCalendar:
    """The shared calendar without overrides (package holidays only)."""
    return WorkCalendar()

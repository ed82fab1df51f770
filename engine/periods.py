"""Calendar periods as people write them: months, quarters, halves, years.

One grammar for every place that reads a period ("2025-05" / "05/2025", "2025-Q2" /
"Q2/2025", "2025-H1" / "H1/2025", "2025"): reports (``engine.reporting.parse_period``) and
indicator measurements (``engine.indicators.parse_period``) read the text here and build
their own period objects; month arithmetic (``month_end``, ``add_months``) lives here too.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date
from typing import Literal

PeriodKind = Literal["month", "quarter", "half", "year"]
MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3, "half": 6, "year": 12}

# (pattern, kind, whether the number comes before the year)
_FORMS: tuple[tuple[re.Pattern[str], PeriodKind, bool], ...] = (
    (re.compile(r"(\d{4})-(\d{1,2})"), "month", False),
    (re.compile(r"(\d{1,2})\s*/\s*(\d{4})"), "month", True),
    (re.compile(r"(\d{4})\s*-\s*q([1-4])", re.I), "quarter", False),
    (re.compile(r"q([1-4])\s*[/-]\s*(\d{4})", re.I), "quarter", True),
    (re.compile(r"(\d{4})\s*-\s*h([12])", re.I), "half", False),
    (re.compile(r"h([12])\s*[/-]\s*(\d{4})", re.I), "half", True),
    (re.compile(r"(\d{4})"), "year", False),
)


def read_period(text: str) -> tuple[PeriodKind, int, int] | None:
    """(kind, year, number) of a period's text — the number is the month, quarter or half
    (1 for a year) — or None when the text is no period. Ranges (a month 1–12, a year
    2000–2100) are the caller's to check, so it can name the mistake."""
    s = (text or "").strip()
    for rx, kind, number_first in _FORMS:
        m = rx.fullmatch(s)
        if not m:
            continue
        if kind == "year":
            return kind, int(m.group(1)), 1
        a, b = int(m.group(1)), int(m.group(2))
        year, number = (b, a) if number_first else (a, b)
        return kind, year, number
    return None


def month_end(year: int, month: int) -> date:
    """The last day of the month."""
    return date(year, month, monthrange(year, month)[1])


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    """(year, month) ``delta`` months after (before, if negative) ``year``-``month``."""
    idx = year * 12 + (month - 1) + delta
    return idx // 12, idx % 12 + 1


def first_month(kind: PeriodKind, number: int) -> int:
    """The first month of the ``number``-th period of ``kind`` in a year (Q3 → 7)."""
    return (number - 1) * MONTHS_IN[kind] + 1

"""The deadline language of Vietnamese action plans (pure functions, no database).

``parse_deadline`` turns the text of a "Thời gian hoàn thành" cell into a
:class:`DeadlineSpec`. The text is first normalised (NFC, lower case, footnote marks,
markdown emphasis, ``<br>``, NBSP, parenthesised remarks such as "(đợt 1)" and
trailing punctuation removed), then matched against an ordered table of regular
expressions, one per form. The first form whose handler accepts the text wins.

Forms and their meaning (all dates are committee-local calendar dates):

=============================================  ==========================================
text (examples)                                meaning
=============================================  ==========================================
"Thường xuyên", "Liên tục", "Hằng ngày"        kind="ongoing" (no due date)
"Hằng năm", "Hàng năm"                         recurring yearly, due 31/12 ("0 0 31 12 *")
"2025 và những năm tiếp theo",                 recurring yearly with starts=2025-01-01
"Từ 2025, hằng năm", "Hằng năm từ 2025"        and due=2025-12-31 (first occurrence)
"Trước ngày 15/12 hằng năm"                    recurring yearly on 15/12 ("0 0 15 12 *")
"Hằng quý"                                     last day of each quarter ("0 0 L 3,6,9,12 *")
"Trước ngày 15 của tháng cuối quý"             "0 0 15 3,6,9,12 *"
"6 tháng một lần", "Hằng 6 tháng"              30/6 and 31/12 ("0 0 L 6,12 *")
"Hằng tháng"                                   last day of each month ("0 0 L * *")
"Trước ngày 20 hằng tháng"                     the 20th of each month ("0 0 20 * *")
"Hằng tuần" / "Thứ Sáu hằng tuần"              every Friday / the named weekday
"Trong 15 ngày làm việc [kể từ ngày ban        issued_on + 15 working days (WorkCalendar);
hành]", "trong 30 ngày", "trong 2 tháng"       calendar days / weeks / months otherwise
"15/6/2025", "2025-06-15", "ngày 15 tháng 6    that day (precision "day")
năm 2025", "Trước ngày 15/6/2025"
"6/2025", "Tháng 6/2025", "T6/2025"            last day of the month ("month")
"Quý II/2025", "Q2/2025"                       last day of the quarter ("quarter")
"6 tháng đầu/cuối năm 2025"                    30/6 or 31/12 ("half")
"2025", "Năm 2025", "Cuối năm 2025"            31/12 ("year")
"2025 - 2026", "Giai đoạn 2025-2030",          end of the last period, starts = start of
"Từ 6/2025 đến 12/2025"                        the first period ("range")
=============================================  ==========================================

Design decisions a caller must know:

* "Trước <ngày>" (before a *day*) means that day: "Trước ngày 15/6/2025" -> 2025-06-15,
  as Vietnamese administrative usage reads it. "Trước <tháng/quý/nửa năm/năm>" (before
  a *period*) means the last day before that period starts, i.e. the task must be
  done before the period begins: "Trước tháng 6/2025" -> 2025-05-31,
  "Trước quý III/2025" -> 2025-06-30, "Trước năm 2026" -> 2025-12-31.
* "Trong/Đến/Đến hết/Chậm nhất/Cuối <period>" mean the end of that period.
* A date without a year ("30/6", "Tháng 6", "Quý II", "6 tháng đầu năm") needs
  ``issued_on``: it is the first such period ending on or after the plan's issue date.
  Without ``issued_on`` it is a :class:`DeadlineError`.
* Durations ("trong 15 ngày làm việc") count from ``issued_on`` (exclusive); only the
  anchors "kể từ ngày ban hành / ký (kế hoạch)" are accepted. Working days use
  ``calendar`` (default :func:`engine.workdays.default_calendar`); calendar days, weeks
  and months are plain date arithmetic (months clamp to the month's last day) and are
  not moved off weekends or holidays. A bare "6 tháng" is such a duration; the
  half-yearly recurrence needs "hằng/mỗi 6 tháng", "6 tháng một lần" or "định kỳ 6 tháng".
* A monthly day 29–31 or a yearly 29/2 is rejected (not every month/year has it);
  "hằng tháng" without a day means the last day of the month.
* ``precision`` is set for kind "date" only; ``starts`` is set for recurring texts with
  a start and for ranges (first day of the first period).
* Years must lie in 2000..2100; impossible dates (31/2/2025), months (13/2025) and
  quarters (Quý V/2025) are errors, never guesses. Two-digit years are not accepted.
* ``occurrences`` computes due dates with croniter on timezone-aware datetimes at
  00:00 Asia/Ho_Chi_Minh and returns their dates.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import croniter

from engine.errors import UserError
from engine.periods import month_end
from engine.i18n import DEFAULT_LANG, tr
from engine.workdays import WorkCalendar, default_calendar

__all__ = [
    "DeadlineError",
    "DeadlineKind",
    "DeadlineSpec",
    "Precision",
    "TIMEZONE",
    "occurrences",
    "parse_deadline",
    "period_key",
]

DeadlineKind = Literal["date", "ongoing", "recurring"]
Precision = Literal["day", "month", "quarter", "half", "year", "range"]

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")

MIN_YEAR = 2000
MAX_YEAR = 2100


@dataclass(frozen=True)
class DeadlineSpec:
    """The meaning of one deadline text."""

    text: str
    kind: DeadlineKind | None
    due: date | None = None
    recurrence: str | None = None
    starts: date | None = None
    precision: Precision | None = None


class DeadlineError(UserError, ValueError):
    """A deadline text that cannot be understood; the message is Vietnamese.

    ``text`` is the offending text (stripped), ``reason`` the explanation alone.
    """

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"Không hiểu thời hạn «{text}»: {reason}")


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

_SPACES = re.compile(r"[\u00a0\u2007\u202f\u2009\u200a\u3000]")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_SUPERSCRIPTS = re.compile(r"[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+")
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_QUOTES = re.compile(r"[\"'`“”‘’«»]")
_WS = re.compile(r"\s+")
_EDGE = " .,;:*-•+"
# A sign stuck to a number at either end ("-1/2025", "+6/2025", "6/2025-"); "- 6/2025" is a bullet.
_SIGNED = re.compile(r"^[-+]+(?=\d)|(?<=\d)[-+]+$")


def _clean(text: str) -> str:
    """Normalise a deadline text for matching (NFC, lower case, noise removed)."""
    s = unicodedata.normalize("NFC", text)
    s = _BR.sub(" ", s)
    s = _SPACES.sub(" ", s)
    s = _INVISIBLE.sub("", s)
    s = _SUPERSCRIPTS.sub("", s)
    s = _PARENS.sub(" ", s)
    s = s.replace("*", "").replace("__", "")
    s = _DASHES.sub("-", s)
    s = _QUOTES.sub("", s)
    s = _WS.sub(" ", s.lower())
    return s.strip(_EDGE)


def _rx(pattern: str) -> re.Pattern[str]:
    # Source literals are normalised too, so matching never depends on editor form.
    return re.compile(unicodedata.normalize("NFC", pattern))


# ---------------------------------------------------------------------------
# Periods: one calendar span named by the text ("6/2025", "Quý II/2025", ...)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    first: date
    last: date
    precision: Precision


@dataclass(frozen=True)
class _Ctx:
    text: str
    issued_on: date | None
    calendar: WorkCalendar | None

    def error(self, reason: str) -> DeadlineError:
        return DeadlineError(self.text, reason)


def _year(ctx: _Ctx, raw: str) -> int:
    y = int(raw)
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise ctx.error(f"năm {y} nằm ngoài khoảng {MIN_YEAR}–{MAX_YEAR}")
    return y


def _month(ctx: _Ctx, raw: str, *, year_hint: bool = False) -> int:
    m = int(raw)
    if not 1 <= m <= 12:
        hint = "; nếu đó là năm, hãy viết đủ 4 chữ số (ví dụ 6/2025)" if year_hint else ""
        raise ctx.error(f"không có tháng {m}{hint}")
    return m


_ROMAN_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def _quarter(ctx: _Ctx, raw: str) -> int:
    q = int(raw) if raw.isdigit() else _ROMAN_QUARTERS.get(raw, 0)
    if not 1 <= q <= 4:
        raise ctx.error(f"không có quý {raw.upper()} (chỉ có quý I–IV)")
    return q


def _day(ctx: _Ctx, y: int, m: int, d: int) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise ctx.error(f"ngày {d}/{m}/{y} không tồn tại") from None


def _month_period(y: int, m: int) -> _Period:
    return _Period(date(y, m, 1), month_end(y, m), "month")


def _quarter_period(y: int, q: int) -> _Period:
    return _Period(date(y, 3 * q - 2, 1), month_end(y, 3 * q), "quarter")


def _half_period(y: int, h: int) -> _Period:
    if h == 1:
        return _Period(date(y, 1, 1), date(y, 6, 30), "half")
    return _Period(date(y, 7, 1), date(y, 12, 31), "half")


def _year_period(y: int) -> _Period:
    return _Period(date(y, 1, 1), date(y, 12, 31), "year")


def _with_year(ctx: _Ctx, raw_year: str | None, make: Callable[[int], _Period]) -> _Period:
    """Build a period from an explicit year, or infer the year from ``issued_on``."""
    if raw_year is not None:
        return make(_year(ctx, raw_year))
    if ctx.issued_on is None:
        raise ctx.error("thiếu năm; cần biết ngày ban hành kế hoạch để suy ra năm")
    y = _year(ctx, str(ctx.issued_on.year))
    period = make(y)
    if period.last < ctx.issued_on:
        period = make(_year(ctx, str(y + 1)))
    return period


def _group(m: re.Match[str], name: str) -> str | None:
    """A named group's text, or None when the form has no such group or it is unset."""
    return m.groupdict().get(name)


def _p_day(m: re.Match[str], ctx: _Ctx) -> _Period:
    raw_year = _group(m, "y")
    month = _month(ctx, m["m"], year_hint=raw_year is None)
    day = int(m["d"])

    def make(y: int) -> _Period:
        d = _day(ctx, y, month, day)
        return _Period(d, d, "day")

    return _with_year(ctx, raw_year, make)


def _p_month(m: re.Match[str], ctx: _Ctx) -> _Period:
    month = _month(ctx, m["m"])
    return _with_year(ctx, m["y"], lambda y: _month_period(y, month))


def _p_quarter(m: re.Match[str], ctx: _Ctx) -> _Period:
    q = _quarter(ctx, m["q"])
    return _with_year(ctx, m["y"], lambda y: _quarter_period(y, q))


def _p_half(m: re.Match[str], ctx: _Ctx) -> _Period:
    h = 2 if m["h"] == "cuối" else 1
    return _with_year(ctx, m["y"], lambda y: _half_period(y, h))


def _p_first_half(m: re.Match[str], ctx: _Ctx) -> _Period:
    return _with_year(ctx, m["y"], lambda y: _half_period(y, 1))


def _p_year(m: re.Match[str], ctx: _Ctx) -> _Period:
    return _year_period(_year(ctx, m["y"]))


_Y = r"(?P<y>\d{4})"
_D = r"(?P<d>\d{1,2})"
_M = r"(?P<m>\d{1,2})"
_DSEP = r"\s*[/.-]\s*"
# Between a month/quarter number and its year: "6/2025", "6-2025", "6 năm 2025", "6 2025".
_PSEP = r"(?:\s*[/.-]\s*|\s*,?\s*năm\s+|\s+)"
_NGAY = r"(?:ngày\s+)?"

_PeriodBuilder = Callable[[re.Match[str], _Ctx], _Period]

# Ordered: the first full match decides (and may raise for an impossible value).
_PERIOD_FORMS: tuple[tuple[str, re.Pattern[str], _PeriodBuilder], ...] = (
    ("day d/m/y", _rx(rf"{_NGAY}{_D}{_DSEP}{_M}{_DSEP}{_Y}"), _p_day),
    ("day iso", _rx(rf"{_NGAY}{_Y}{_DSEP}{_M}{_DSEP}{_D}"), _p_day),
    (
        "day words",
        _rx(rf"{_NGAY}{_D}\s+tháng\s+{_M}(?:(?:\s*,?\s*năm\s+|\s*[/-]\s*){_Y})?"),
        _p_day,
    ),
    ("day d/m", _rx(rf"{_NGAY}{_D}\s*/\s*{_M}"), _p_day),
    ("half", _rx(rf"(?:(?:6|sáu)\s+tháng|nửa)\s+(?P<h>đầu|cuối)(?:\s+năm)?(?:\s*[/,-]?\s*{_Y})?"), _p_half),
    ("first half", _rx(rf"(?:6|sáu)\s+tháng(?:\s+năm\s+|\s*/\s*){_Y}"), _p_first_half),
    ("quarter", _rx(rf"q(?:uý|úy)?\s*(?P<q>[ivxl]+|\d{{1,2}})(?:{_PSEP}{_Y})?"), _p_quarter),
    ("month labelled", _rx(rf"(?:tháng|t)\s*{_M}(?:{_PSEP}{_Y})?"), _p_month),
    ("month m/y", _rx(rf"{_M}{_DSEP}{_Y}"), _p_month),
    ("month iso", _rx(rf"{_Y}-{_M}"), _p_month),
    ("year", _rx(rf"(?:năm\s+)?{_Y}"), _p_year),
)


def _match_period(fragment: str, ctx: _Ctx) -> _Period | None:
    """The period named by ``fragment``; None if no form matches it."""
    for _name, pattern, build in _PERIOD_FORMS:
        m = pattern.fullmatch(fragment)
        if m:
            return build(m, ctx)
    return None


# ---------------------------------------------------------------------------
# Recurrences: cron strings (minute hour day-of-month month day-of-week)
# ---------------------------------------------------------------------------

_EVERY = r"(?:hằng|hàng|mỗi)"
_RLEAD = r"(?:(?:báo cáo|thực hiện|nhiệm vụ|định k[ỳì])\s+)*"
_BY = r"(?:(?:trước|vào|chậm nhất(?:\s+là)?|hạn)\s+)?"
_WEEKDAYS = {
    "thứ hai": 1, "thứ 2": 1, "thứ ba": 2, "thứ 3": 2, "thứ tư": 3, "thứ 4": 3,
    "thứ năm": 4, "thứ 5": 4, "thứ sáu": 5, "thứ 6": 5, "thứ bảy": 6, "thứ 7": 6,
    "chủ nhật": 0,
}  # fmt: skip

_CronBuilder = Callable[[re.Match[str], _Ctx], str]


def _monthly_day(ctx: _Ctx, raw: str) -> int:
    d = int(raw)
    if not 1 <= d <= 28:
        raise ctx.error(
            f"không phải tháng nào cũng có ngày {d}; dùng ngày 1–28 hoặc «hằng tháng» (cuối tháng)"
        )
    return d


def _c_yearly(m: re.Match[str], ctx: _Ctx) -> str:
    return "0 0 31 12 *"


def _c_yearly_day(m: re.Match[str], ctx: _Ctx) -> str:
    month = _month(ctx, m["m"])
    day = int(m["d"])
    _day(ctx, 2025, month, day)  # a non-leap year: 29/2 is not a yearly date
    return f"0 0 {day} {month} *"


def _c_yearly_month(m: re.Match[str], ctx: _Ctx) -> str:
    return f"0 0 L {_month(ctx, m['m'])} *"


def _c_half_yearly(m: re.Match[str], ctx: _Ctx) -> str:
    return "0 0 L 6,12 *"


def _c_quarterly(m: re.Match[str], ctx: _Ctx) -> str:
    return "0 0 L 3,6,9,12 *"


def _c_quarterly_day(m: re.Match[str], ctx: _Ctx) -> str:
    d = int(m["d"])
    if not 1 <= d <= 30:
        raise ctx.error(f"tháng cuối quý không phải lúc nào cũng có ngày {d}; dùng ngày 1–30")
    return f"0 0 {d} 3,6,9,12 *"


def _c_monthly(m: re.Match[str], ctx: _Ctx) -> str:
    return "0 0 L * *"


def _c_monthly_day(m: re.Match[str], ctx: _Ctx) -> str:
    return f"0 0 {_monthly_day(ctx, m['d'])} * *"


def _c_weekly(m: re.Match[str], ctx: _Ctx) -> str:
    return "0 0 * * 5"


def _c_weekly_day(m: re.Match[str], ctx: _Ctx) -> str:
    return f"0 0 * * {_WEEKDAYS[_WS.sub(' ', m['w'])]}"


_DOW = r"(?P<w>thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật)"

_RECURRENCE_FORMS: tuple[tuple[str, re.Pattern[str], _CronBuilder], ...] = (
    ("yearly", _rx(rf"{_RLEAD}{_EVERY}\s+năm"), _c_yearly),
    (
        "yearly on d/m",
        _rx(rf"{_RLEAD}{_BY}{_NGAY}{_D}\s*/\s*{_M}\s+(?:của\s+)?{_EVERY}\s+năm"),
        _c_yearly_day,
    ),
    (
        "yearly, on d/m",
        _rx(rf"{_RLEAD}{_EVERY}\s+năm\s*,?\s*{_BY}{_NGAY}{_D}\s*/\s*{_M}"),
        _c_yearly_day,
    ),
    (
        "yearly in month",
        _rx(rf"{_RLEAD}(?:(?:trong|vào)\s+)?tháng\s+{_M}\s+(?:của\s+)?{_EVERY}\s+năm"),
        _c_yearly_month,
    ),
    (
        "half-yearly",
        _rx(
            rf"{_RLEAD}(?:{_EVERY}\s+(?:6|sáu)\s+tháng|{_EVERY}\s+nửa\s+năm"
            r"|(?:6|sáu)\s+tháng\s+(?:một|1)\s+lần|định\s+k[ỳì]\s+(?:6|sáu)\s+tháng)"
        ),
        _c_half_yearly,
    ),
    ("quarterly", _rx(rf"{_RLEAD}{_EVERY}\s+quý"), _c_quarterly),
    (
        "quarterly on day",
        _rx(
            rf"{_RLEAD}(?:{_EVERY}\s+quý\s*,?\s*)?{_BY}ngày\s+{_D}\s+(?:của\s+)?"
            rf"tháng\s+cuối\s+(?:của\s+)?(?:{_EVERY}\s+)?quý"
        ),
        _c_quarterly_day,
    ),
    ("monthly", _rx(rf"{_RLEAD}{_EVERY}\s+tháng"), _c_monthly),
    (
        "monthly on day",
        _rx(rf"{_RLEAD}{_BY}ngày\s+{_D}\s+(?:của\s+)?{_EVERY}\s+tháng"),
        _c_monthly_day,
    ),
    (
        "monthly, on day",
        _rx(rf"{_RLEAD}{_EVERY}\s+tháng\s*,?\s*{_BY}ngày\s+{_D}"),
        _c_monthly_day,
    ),
    ("weekly", _rx(rf"{_RLEAD}{_EVERY}\s+tuần"), _c_weekly),
    ("weekly on day", _rx(rf"{_RLEAD}{_BY}(?:ngày\s+)?{_DOW}\s+{_EVERY}\s+tuần"), _c_weekly_day),
)


def _match_recurrence(fragment: str, ctx: _Ctx) -> str | None:
    """The cron string for a recurrence phrase; None if no form matches it."""
    for _name, pattern, build in _RECURRENCE_FORMS:
        m = pattern.fullmatch(fragment)
        if m:
            cron = build(m, ctx)
            if not croniter.is_valid(cron):  # pragma: no cover - table invariant
                raise ctx.error(f"lịch lặp «{cron}» không hợp lệ")
            return cron
    return None


# ---------------------------------------------------------------------------
# Time helpers (aware datetimes only)
# ---------------------------------------------------------------------------


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=TIMEZONE)


def _require_aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed here: {dt!r}")
    return dt


def _iter_due(recurrence: str, first: date) -> Iterator[date]:
    """Due dates of ``recurrence`` on or after ``first``, in order."""
    it = croniter(recurrence, _require_aware(_midnight(first) - timedelta(seconds=1)))
    while True:
        nxt = _require_aware(it.get_next(datetime))
        yield nxt.astimezone(TIMEZONE).date()


def _add_months(d: date, n: int) -> date:
    y, m0 = divmod(d.month - 1 + n, 12)
    y += d.year
    return date(y, m0 + 1, min(d.day, monthrange(y, m0 + 1)[1]))


# ---------------------------------------------------------------------------
# Top-level forms
# ---------------------------------------------------------------------------

_Handler = Callable[[re.Match[str], _Ctx], DeadlineSpec | None]


def _recurring(ctx: _Ctx, cron: str, starts: date | None) -> DeadlineSpec:
    due = next(_iter_due(cron, starts)) if starts is not None else None
    return DeadlineSpec(ctx.text, "recurring", due=due, recurrence=cron, starts=starts)


def _h_ongoing(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec:
    return DeadlineSpec(ctx.text, "ongoing")


def _h_years_following(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec:
    return _recurring(ctx, "0 0 31 12 *", date(_year(ctx, m["y"]), 1, 1))


def _h_recurrence(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec | None:
    cron = _match_recurrence(m["r"], ctx)
    return None if cron is None else _recurring(ctx, cron, None)


_SPLIT = re.compile(r"\s*[,;]\s*|\s+")


def _first_split(
    rest: str, ctx: _Ctx, sep: re.Pattern[str], accept: Callable[[str, str], DeadlineSpec | None]
) -> DeadlineSpec | None:
    """Try every split of ``rest`` at ``sep``; the first accepted split wins.

    A DeadlineError from a fragment is kept and re-raised only if no split works, so
    a fragment that merely looks like an invalid date cannot hide a valid reading.
    """
    first_error: DeadlineError | None = None
    for sm in sep.finditer(rest):
        left, right = rest[: sm.start()].strip(_EDGE), rest[sm.end() :].strip(_EDGE)
        if not left or not right:
            continue
        try:
            spec = accept(left, right)
        except DeadlineError as exc:
            first_error = first_error or exc
            continue
        if spec is not None:
            return spec
    if first_error is not None:
        raise first_error
    return None


def _h_from_then_recurrence(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec | None:
    def accept(left: str, right: str) -> DeadlineSpec | None:
        cron = _match_recurrence(right, ctx)
        if cron is None:
            return None
        period = _match_period(left, ctx)
        return None if period is None else _recurring(ctx, cron, period.first)

    return _first_split(m["rest"], ctx, _SPLIT, accept)


def _h_recurrence_then_from(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec | None:
    cron = _match_recurrence(m["r"], ctx)
    if cron is None:
        return None
    period = _match_period(m["p"], ctx)
    return None if period is None else _recurring(ctx, cron, period.first)


_ANCHOR = _rx(
    r"(?:ngày\s+)?(?:(?:ký\s+)?ban hành|ký)(?:\s+(?:kế hoạch|văn bản|quyết định|chương trình))?"
    r"(?:\s+này)?"
    r"|(?:ngày\s+)?(?:kế hoạch|văn bản|quyết định|chương trình)(?:\s+này)?\s+(?:được\s+)?"
    r"(?:ký\s+)?(?:ban hành|ký)"
)


def _h_duration(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec:
    anchor = m["anchor"]
    if anchor is not None and not _ANCHOR.fullmatch(anchor):
        raise ctx.error(
            f"chỉ tính được thời hạn kể từ ngày ban hành kế hoạch, chưa hỗ trợ mốc «{anchor}»"
        )
    n = int(m["n"])
    if n <= 0:
        raise ctx.error("số ngày/tuần/tháng phải lớn hơn 0")
    if ctx.issued_on is None:
        raise ctx.error("cần biết ngày ban hành kế hoạch để tính hạn")
    unit = _WS.sub(" ", m["u"])
    start = ctx.issued_on
    try:
        if unit == "ngày làm việc":
            due = (ctx.calendar or default_calendar()).add_working_days(start, n)
        elif unit == "ngày":
            due = start + timedelta(days=n)
        elif unit == "tuần":
            due = start + timedelta(weeks=n)
        else:
            due = _add_months(start, n)
    except (OverflowError, ValueError):
        due = date.max
    if due.year > MAX_YEAR:
        raise ctx.error(f"hạn tính được nằm sau năm {MAX_YEAR}")
    return DeadlineSpec(ctx.text, "date", due=due, precision="day")


def _h_before_period(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec | None:
    period = _match_period(m["p"], ctx)
    if period is None:
        return None
    # Before a day = that day; before a month/quarter/half/year = the day before it starts.
    due = period.last if period.precision == "day" else period.first - timedelta(days=1)
    if due.year < MIN_YEAR:
        raise ctx.error(f"hạn tính được nằm trước năm {MIN_YEAR}")
    return DeadlineSpec(ctx.text, "date", due=due, precision=period.precision)


def _h_at_period(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec | None:
    period = _match_period(m["p"], ctx)
    if period is None:
        return None
    return DeadlineSpec(ctx.text, "date", due=period.last, precision=period.precision)


_RANGE_SEP = re.compile(r"\s*-\s*|\s+(?:đến|tới)(?:\s+hết)?\s+")


def _h_range(m: re.Match[str], ctx: _Ctx) -> DeadlineSpec | None:
    def accept(left: str, right: str) -> DeadlineSpec | None:
        a = _match_period(left, ctx)
        if a is None:
            return None
        b = _match_period(right, ctx)
        if b is None:
            return None
        if b.last < a.last:
            raise ctx.error("thời điểm kết thúc trước thời điểm bắt đầu")
        return DeadlineSpec(ctx.text, "date", due=b.last, starts=a.first, precision="range")

    return _first_split(m["rest"], ctx, _RANGE_SEP, accept)


_VERB = r"(?:(?:hoàn thành|thực hiện|báo cáo|thời hạn|hạn chót|hạn)\s*:?\s+)?"
_AT = r"(?:(?:trong|vào|đến hết|đến|hết|chậm nhất(?:\s+là)?|muộn nhất(?:\s+là)?|không quá|cuối)\s+)?"

# Ordered: the first form whose handler returns a spec wins; handlers return None to
# pass the text on, and raise DeadlineError when the form is right but a value is not.
_FORMS: tuple[tuple[str, re.Pattern[str], _Handler], ...] = (
    (
        "ongoing",
        _rx(
            r"(?:nhiệm vụ\s+|thực hiện\s+)?(?:thường xuyên|liên tục|hằng ngày|hàng ngày)"
            r"(?:\s*(?:,|;|và|-)?\s*(?:thường xuyên|liên tục))?"
        ),
        _h_ongoing,
    ),
    (
        "year and following years",
        _rx(
            rf"(?:(?:kể\s+)?từ\s+)?(?:năm\s+)?{_Y}\s*,?\s*(?:và|cho)\s+(?:những|các)\s+năm\s+"
            r"(?:tiếp theo|sau(?:\s+đó)?|kế tiếp)"
        ),
        _h_years_following,
    ),
    ("recurrence", _rx(r"(?P<r>.+)"), _h_recurrence),
    ("from period, recurrence", _rx(r"(?:kể\s+)?từ\s+(?P<rest>.+)"), _h_from_then_recurrence),
    (
        "recurrence from period",
        _rx(r"(?P<r>.+?)\s*,?\s*(?:kể\s+)?từ\s+(?P<p>.+)"),
        _h_recurrence_then_from,
    ),
    (
        "duration",
        _rx(
            r"(?:(?:hoàn thành|thực hiện)\s+)?"
            r"(?:(?:trong(?:\s+vòng|\s+thời hạn)?|chậm nhất(?:\s+là)?|không quá|sau)\s+)?"
            r"(?P<n>\d{1,3})\s+(?P<u>ngày\s+làm\s+việc|ngày|tuần|tháng)"
            r"(?:\s*,?\s*(?:kể\s+)?từ\s+(?P<anchor>.+))?"
        ),
        _h_duration,
    ),
    ("before period", _rx(rf"{_VERB}trước\s+(?P<p>.+)"), _h_before_period),
    ("at period", _rx(rf"{_VERB}{_AT}(?P<p>.+)"), _h_at_period),
    (
        "range",
        _rx(r"(?:(?:trong\s+)?giai đoạn\s+|(?:kể\s+)?từ\s+|năm\s+)?(?P<rest>.+)"),
        _h_range,
    ),
)

_EXAMPLES = "6/2025, Quý II/2025, 15/6/2025, 2025, 2025-2026, Thường xuyên, Hằng năm"


def parse_deadline(
    text: str | None,
    *,
    issued_on: date | None = None,
    calendar: WorkCalendar | None = None,
) -> DeadlineSpec:
    """Parse a deadline cell; see the module docstring for the language.

    Empty text (None, "", whitespace) gives ``DeadlineSpec(text="", kind=None)``; a text
    that is only noise (e.g. "(*)") gives ``kind=None`` with the text kept. Raises
    :class:`DeadlineError` for anything else it does not understand.
    """
    original = (text or "").strip()
    cleaned = _clean(original)
    if not cleaned:
        return DeadlineSpec(text=original, kind=None)
    ctx = _Ctx(text=original, issued_on=issued_on, calendar=calendar)
    signed = _SIGNED.search(_DASHES.sub("-", _INVISIBLE.sub("", unicodedata.normalize("NFC", original))).strip())
    if signed:  # "-1/2025" is not "1/2025" with a stray bullet: the edge strip must not eat a sign
        raise ctx.error(tr(DEFAULT_LANG, "inputs.deadline_signed", sign=signed.group(0)[0]))
    for _name, pattern, handler in _FORMS:
        m = pattern.fullmatch(cleaned)
        if m is None:
            continue
        spec = handler(m, ctx)
        if spec is not None:
            return spec
    raise ctx.error(f"không khớp dạng thời hạn nào đã biết (ví dụ: {_EXAMPLES})")


def occurrences(spec: DeadlineSpec, start: date, end: date) -> list[date]:
    """Due dates of ``spec`` within ``start <= d <= end`` (inclusive), in order.

    Recurring: every cron occurrence (00:00 Asia/Ho_Chi_Minh) in the window, never
    before ``spec.starts``. Date kind: ``[due]`` when inside the window. Ongoing or
    empty: ``[]``. Pure and deterministic: the same arguments give the same list.
    """
    if end < start:
        return []
    if spec.kind == "date":
        return [spec.due] if spec.due is not None and start <= spec.due <= end else []
    if spec.kind != "recurring" or spec.recurrence is None:
        return []
    lo = max(start, spec.starts) if spec.starts is not None else start
    out: list[date] = []
    for d in _iter_due(spec.recurrence, lo):
        if d > end:
            break
        out.append(d)
    return out


def period_key(spec: DeadlineSpec, due: date) -> str:
    """A stable key for one occurrence of ``spec`` due on ``due``.

    Yearly recurrences (one fixed month) -> "2025"; monthly -> "2025-06"; quarterly
    (months 3,6,9,12) -> "2025-Q2"; anything else (weekly, half-yearly, non-recurring)
    -> the ISO date "2025-06-30".
    """
    if spec.kind == "recurring" and spec.recurrence:
        fields = spec.recurrence.split()
        if len(fields) == 5:
            _minute, _hour, _dom, month, dow = fields
            if dow == "*":
                if month == "*":
                    return f"{due.year:04d}-{due.month:02d}"
                if month == "3,6,9,12":
                    return f"{due.year:04d}-Q{(due.month - 1) // 3 + 1}"
                if month.isdigit():
                    return f"{due.year:04d}"
    return due.isoformat()

"""Periodic progress reports (báo cáo định kỳ): period maths and the report data.

:func:`build_report` returns the whole report as a plain, JSON-serialisable dict tree
(documented in ``docs/report-schema.md``); the renderers in ``engine.render`` turn it into
Markdown, HTML, XLSX and DOCX, and ``engine.snapshots`` stores it. Nothing here reads the
clock: the caller passes the as-of date.

Periods
    ``monthly`` (key "2025-05"), ``quarterly`` ("2025-Q2"), ``semiannual`` ("2025-H1") and
    ``annual`` ("2025"). Without a cut-off a period is the calendar month/quarter/half/year.
    With ``cutoff_day=N`` (1..28) statistics run from day N+1 of the month before the
    period's first month to day N of its last month: ``cutoff_day=14`` makes month 05/2025
    run 15/04/2025 .. 14/05/2025 and Q2/2025 run 15/03/2025 .. 14/06/2025. The default
    period for a date (:func:`period_for`) is the one *labelled* with that date's month:
    on 20/05 the monthly period is 05/2025 (calendar 01/05..31/05, or 15/04..14/05 with
    cut-off 14).

As of a date
    Everything is computed from the event log at the end of the as-of day ``E`` (committee
    timezone), so later updates never change a report for a past as-of date:

    - the status of a work item at T is the ``to_status`` of its last "status" event with
      ``at <= T`` (before its first event: that event's ``from_status``; no events: the
      stored status);
    - the deadline in force at T is the ``deadline_after`` of its last "extension_approved"
      or "deadline_changed" event with ``at <= T`` (before the first: that event's
      ``deadline_before``; none: the stored deadline) — the original deadline plus the
      extensions approved by T;
    - completion (on time / late) is judged against the deadline in force when the item
      was completed, exactly as the lifecycle records it; imported history without a
      completion date stays ``unknown``;
    - work items and tasks created after T do not exist yet.

Counting (the unit of accountability is the work item: one lead unit's share of a task,
one occurrence of a recurring task; task-level counts are given too)
    Let ``P`` be the period end and ``D = max(P, E)`` ("due by"). Items cancelled at E are
    left out. Every other item in scope falls in exactly one bucket:

    ``completed``                    completed at E (``completed_on_time`` /
                                     ``completed_late`` / ``completed_unknown``; of
                                     which ``completed_due`` had a deadline <= D and
                                     ``completed_ahead`` a later one or none)
    ``overdue``                      open, deadline < E
    ``in_progress_within_deadline``  open, E <= deadline <= D (an item due on the as-of
                                     day is due, not overdue)
    ``not_yet_due``                  open, deadline > D
    ``ongoing``                      an ongoing task (thường xuyên): never due;
                                     ``ongoing_with_results`` when it has a progress
                                     note dated within the period (S .. min(P, E))
    ``no_deadline``                  open, no deadline (not ongoing)

    ``due = completed_due + in_progress_within_deadline + overdue`` and
    ``total = completed + in_progress_within_deadline + overdue + not_yet_due + ongoing
    + no_deadline``. A recurring task counts only its occurrences whose deadline falls in
    ``[period start, D]``; earlier occurrences were counted by earlier reports.

Unit status (green / yellow / red), configurable (``Committee.settings["status_rules"]``
or a YAML file, see :func:`parse_rules`); defaults: red = at least one overdue item;
yellow = an open item due within 7 days of E with no progress (note or status change)
since the period start, or an on-time rate (on time / (on time + late)) under 80 %;
green otherwise. Units are ranked green, yellow, red, then by fewer overdue items, higher
completion rate, higher on-time rate, code.

Changes since the previous report: the previous period of the same kind, computed as of
its own end (with the same rules): items newly completed, newly overdue, and extensions
approved from the period start to E.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, null, or_, select, true
from sqlalchemy.orm import Session

from engine.clock import DEFAULT_TZ, end_of_local_day, local_date, local_datetime
from engine.errors import UserError
from engine.models import Committee, Event, Person, Plan, Section, Task, Unit, WorkItem
from engine.timeliness import completion_of

SCHEMA = "steer.report/1"
KINDS: dict[str, int] = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
KIND_ALIASES = {"month": "monthly", "quarter": "quarterly", "half": "semiannual", "semi-annual": "semiannual",
                "6-month": "semiannual", "year": "annual", "yearly": "annual"}
BUCKETS: tuple[str, ...] = ("completed", "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing",
                            "no_deadline")  # the partition of the counted work items
COUNT_KEYS: tuple[str, ...] = (
    "total", "due", "completed", "completed_on_time", "completed_late", "completed_unknown", "completed_due",
    "completed_ahead", "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing", "ongoing_with_results",
    "no_deadline", "due_soon", "due_soon_without_progress", "cancelled",
)  # fmt: skip
DEADLINE_EVENTS = ("extension_approved", "deadline_changed")
ROMAN = ("I", "II", "III", "IV")


def _t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


# =====================================================================================
# Periods
# =====================================================================================


@dataclass(frozen=True)
class ReportPeriod:
    """One reporting period. ``number``: month 1-12, quarter 1-4, half 1-2, 1 for a year."""

    kind: str  # monthly|quarterly|semiannual|annual
    year: int
    number: int
    start: date
    end: date
    cutoff_day: int | None = None

    @property
    def key(self) -> str:
        if self.kind == "monthly":
            return f"{self.year:04d}-{self.number:02d}"
        if self.kind == "quarterly":
            return f"{self.year:04d}-Q{self.number}"
        if self.kind == "semiannual":
            return f"{self.year:04d}-H{self.number}"
        return f"{self.year:04d}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "year": self.year, "number": self.number,
                "start": self.start.isoformat(), "end": self.end.isoformat(), "cutoff_day": self.cutoff_day}


def normalise_kind(kind: str, *, lang: str = "vi") -> str:
    k = (kind or "").strip().lower()
    k = KIND_ALIASES.get(k, k)
    if k not in KINDS:
        raise UserError(_t(lang, f"Loại báo cáo «{kind}» không hợp lệ; dùng: {', '.join(KINDS)}.",
                           f"Unknown report kind «{kind}»; use: {', '.join(KINDS)}."))
    return k


def check_cutoff(cutoff_day: int | None, *, lang: str = "vi") -> int | None:
    if cutoff_day in (None, 0):
        return None
    if not isinstance(cutoff_day, int) or not 1 <= cutoff_day <= 28:
        raise UserError(_t(lang, f"Ngày chốt số liệu «{cutoff_day}» không hợp lệ: dùng 1–28 (ví dụ 14: kỳ tháng "
                                 "chạy từ ngày 15 tháng trước đến ngày 14 tháng này), hoặc bỏ trống để tính theo tháng dương lịch.",
                           f"Invalid cut-off day «{cutoff_day}»: use 1-28 (e.g. 14: a month runs from the 15th of the "
                           "previous month to the 14th), or leave it out for calendar periods."))
    return cutoff_day


def _month_end(y: int, m: int) -> date:
    return date(y, m, monthrange(y, m)[1])


def _add_months(y: int, m: int, delta: int) -> tuple[int, int]:
    idx = y * 12 + (m - 1) + delta
    return idx // 12, idx % 12 + 1


def make_period(kind: str, year: int, number: int = 1, *, cutoff_day: int | None = None) -> ReportPeriod:
    """The period ``number`` of ``year`` (month 1-12, quarter 1-4, half 1-2; 1 for a year)."""
    kind = normalise_kind(kind)
    cutoff_day = check_cutoff(cutoff_day)
    span = KINDS[kind]
    count = 12 // span
    if not 1 <= number <= count:
        raise UserError(f"Kỳ số {number} không hợp lệ cho loại {kind} (1–{count}).")
    last = number * span
    first = last - span + 1
    if cutoff_day is None:
        start, end = date(year, first, 1), _month_end(year, last)
    else:
        py, pm = _add_months(year, first, -1)
        start, end = date(py, pm, cutoff_day + 1), date(year, last, cutoff_day)
    return ReportPeriod(kind, year, number, start, end, cutoff_day)


_PERIOD_FORMS: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(r"(\d{4})-(\d{1,2})"), "monthly", False),
    (re.compile(r"(\d{1,2})\s*/\s*(\d{4})"), "monthly", True),
    (re.compile(r"(\d{4})\s*-\s*q([1-4])", re.I), "quarterly", False),
    (re.compile(r"q([1-4])\s*[/-]\s*(\d{4})", re.I), "quarterly", True),
    (re.compile(r"(\d{4})\s*-\s*h([12])", re.I), "semiannual", False),
    (re.compile(r"h([12])\s*[/-]\s*(\d{4})", re.I), "semiannual", True),
    (re.compile(r"(\d{4})"), "annual", False),
)
PERIOD_EXAMPLES = "2025-05 (tháng), 2025-Q2 (quý), 2025-H1 (6 tháng), 2025 (năm)"


def parse_period(text: str, *, kind: str | None = None, cutoff_day: int | None = None,
                 lang: str = "vi") -> ReportPeriod:
    """"2025-05" / "05/2025", "2025-Q2" / "Q2/2025", "2025-H1" / "H1/2025", "2025".

    With ``kind`` the text must be of that kind ("2025-Q2" for a monthly report is an error)."""
    s = (text or "").strip()
    want = normalise_kind(kind, lang=lang) if kind else None
    for rx, k, swapped in _PERIOD_FORMS:
        m = rx.fullmatch(s)
        if not m:
            continue
        if k == "annual":
            y, n = int(m.group(1)), 1
        else:
            a, b = int(m.group(1)), int(m.group(2))
            y, n = (b, a) if swapped else (a, b)
        if not 2000 <= y <= 2100:
            raise UserError(_t(lang, f"Kỳ «{s}»: năm {y} nằm ngoài khoảng 2000–2100.",
                               f"Period «{s}»: year {y} is outside 2000-2100."))
        if k == "monthly" and not 1 <= n <= 12:
            raise UserError(_t(lang, f"Kỳ «{s}»: không có tháng {n}.", f"Period «{s}»: there is no month {n}."))
        if want and k != want:
            raise UserError(_t(lang, f"Kỳ «{s}» không phải kỳ {kind_label(want, 'vi')}; ví dụ: {_example(want)}.",
                               f"Period «{s}» is not a {want} period; e.g. {_example(want)}."))
        return make_period(k, y, n, cutoff_day=cutoff_day)
    raise UserError(_t(lang, f"Kỳ báo cáo «{s}» không hợp lệ; dùng một trong các dạng: {PERIOD_EXAMPLES}.",
                       f"Invalid period «{s}»; use one of: 2025-05 (month), 2025-Q2 (quarter), 2025-H1 "
                       "(half year), 2025 (year)."))


def _example(kind: str) -> str:
    return {"monthly": "2025-05", "quarterly": "2025-Q2", "semiannual": "2025-H1", "annual": "2025"}[kind]


def period_for(kind: str, day: date, *, cutoff_day: int | None = None) -> ReportPeriod:
    """The period of ``kind`` labelled with ``day``'s calendar month (see the module docstring)."""
    kind = normalise_kind(kind)
    span = KINDS[kind]
    return make_period(kind, day.year, (day.month - 1) // span + 1, cutoff_day=cutoff_day)


def previous_period(p: ReportPeriod) -> ReportPeriod:
    span = KINDS[p.kind]
    y, m = _add_months(p.year, p.number * span, -span)
    return make_period(p.kind, y, m // span, cutoff_day=p.cutoff_day)


def kind_label(kind: str, lang: str = "vi") -> str:
    vi = {"monthly": "tháng", "quarterly": "quý", "semiannual": "6 tháng", "annual": "năm"}
    en = {"monthly": "monthly", "quarterly": "quarterly", "semiannual": "half-yearly", "annual": "annual"}
    return (en if lang == "en" else vi)[kind]


def period_label(p: ReportPeriod | Mapping[str, Any], lang: str = "vi") -> str:
    """"tháng 05/2025", "quý II/2025", "6 tháng đầu năm 2025", "năm 2025" (English with lang="en")."""
    if isinstance(p, Mapping):
        kind, year, number = p["kind"], p["year"], p["number"]
    else:
        kind, year, number = p.kind, p.year, p.number
    if kind == "monthly":
        return _t(lang, f"tháng {number:02d}/{year}", f"{date(year, number, 1):%B %Y}")
    if kind == "quarterly":
        return _t(lang, f"quý {ROMAN[number - 1]}/{year}", f"Q{number} {year}")
    if kind == "semiannual":
        return _t(lang, f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}",
                  f"{'first' if number == 1 else 'second'} half of {year}")
    return _t(lang, f"năm {year}", f"{year}")


# =====================================================================================
# Unit status rules
# =====================================================================================


@dataclass(frozen=True)
class StatusRules:
    """Green / yellow / red rules for a unit (see the module docstring)."""

    red_overdue_at_least: int = 1
    yellow_due_within_days: int | None = 7
    yellow_require_progress: bool = True
    yellow_on_time_rate_below: float | None = 0.8
    yellow_overdue_at_least: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "red": {"overdue_at_least": self.red_overdue_at_least},
            "yellow": {"due_within_days": self.yellow_due_within_days,
                       "without_progress": self.yellow_require_progress,
                       "on_time_rate_below": self.yellow_on_time_rate_below,
                       "overdue_at_least": self.yellow_overdue_at_least},
        }


RULE_KEYS = {"red": {"overdue_at_least"},
             "yellow": {"due_within_days", "without_progress", "on_time_rate_below", "overdue_at_least"}}


def parse_rules(raw: Any, *, source: str = "status_rules", lang: str = "vi") -> StatusRules:
    """Rules from a mapping such as::

        red:    {overdue_at_least: 1}
        yellow: {due_within_days: 7, without_progress: true, on_time_rate_below: 0.8}

    Missing keys keep their defaults; ``null`` switches a yellow rule off. A rate may be
    written 0.8 or 80 (percent). Errors name the source and the key."""
    if raw is None:
        return StatusRules()
    if not isinstance(raw, Mapping):
        raise UserError(_t(lang, f"{source}: quy tắc xếp loại phải là một bảng có «red» và/hoặc «yellow».",
                           f"{source}: the status rules must be a mapping with «red» and/or «yellow»."))
    bad = set(raw) - set(RULE_KEYS)
    if bad:
        raise UserError(_t(lang, f"{source}: khóa không hợp lệ {', '.join(sorted(map(str, bad)))}; dùng red, yellow.",
                           f"{source}: unknown key(s) {', '.join(sorted(map(str, bad)))}; use red, yellow."))
    vals: dict[str, Any] = {}
    for level, keys in RULE_KEYS.items():
        sub = raw.get(level) or {}
        if not isinstance(sub, Mapping):
            raise UserError(_t(lang, f"{source}.{level} phải là một bảng.", f"{source}.{level} must be a mapping."))
        unknown = set(sub) - keys
        if unknown:
            raise UserError(_t(lang, f"{source}.{level}: khóa không hợp lệ {', '.join(sorted(map(str, unknown)))}; "
                                     f"dùng {', '.join(sorted(keys))}.",
                               f"{source}.{level}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                               f"use {', '.join(sorted(keys))}."))
        for k, v in sub.items():
            where = f"{source}.{level}.{k}"
            if k == "without_progress":
                if not isinstance(v, bool):
                    raise UserError(_t(lang, f"{where} phải là true hoặc false (nhận «{v}»).",
                                       f"{where} must be true or false (got «{v}»)."))
                vals["yellow_require_progress"] = v
                continue
            if v is None:
                if level == "red":
                    raise UserError(_t(lang, f"{where} không được để trống.", f"{where} cannot be empty."))
                vals[f"{level}_{k}"] = None
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UserError(_t(lang, f"{where} phải là một số (nhận «{v}»).", f"{where} must be a number (got «{v}»)."))
            if k == "on_time_rate_below":
                rate = float(v) / 100 if v > 1 else float(v)
                if not 0 <= rate <= 1:
                    raise UserError(_t(lang, f"{where} phải nằm trong 0–1 hoặc 0–100% (nhận «{v}»).",
                                       f"{where} must be within 0-1 or 0-100% (got «{v}»)."))
                vals[f"{level}_{k}"] = rate
            else:
                if v < 0 or int(v) != v or (k == "overdue_at_least" and v < 1):
                    raise UserError(_t(lang, f"{where} phải là số nguyên {'≥ 1' if k == 'overdue_at_least' else '≥ 0'} "
                                             f"(nhận «{v}»).",
                                       f"{where} must be a whole number {'>= 1' if k == 'overdue_at_least' else '>= 0'} "
                                       f"(got «{v}»)."))
                vals[f"{level}_{k}"] = int(v)
    return StatusRules(**vals)


def load_rules_file(path: str | Path, *, lang: str = "vi") -> StatusRules:
    """Rules from a YAML file (the mapping of :func:`parse_rules`, optionally under ``status_rules:``)."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UserError(_t(lang, f"Không đọc được tệp quy tắc «{p}»: {exc.strerror or exc}.",
                           f"Cannot read the rules file «{p}»: {exc.strerror or exc}.")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" ({_t(lang, 'dòng', 'line')} {mark.line + 1})" if mark else ""
        raise UserError(_t(lang, f"Tệp quy tắc «{p}» có lỗi cú pháp YAML{where}.",
                           f"The rules file «{p}» is not valid YAML{where}.")) from None
    if isinstance(data, Mapping) and "status_rules" in data:
        data = data["status_rules"]
    return parse_rules(data, source=p.name, lang=lang)


def committee_rules(session: Session, *, lang: str = "vi") -> StatusRules:
    c = session.execute(select(Committee).order_by(Committee.id).limit(1)).scalar_one_or_none()
    raw = (c.settings or {}).get("status_rules") if c is not None else None
    return parse_rules(raw, source="Committee.settings.status_rules", lang=lang)


def unit_status(counts: Mapping[str, Any], rules: StatusRules) -> tuple[str, list[dict[str, Any]]]:
    """(green|yellow|red, reasons) for one unit's counts."""
    reasons: list[dict[str, Any]] = []
    if counts["overdue"] >= rules.red_overdue_at_least:
        reasons.append({"rule": "overdue", "level": "red", "count": counts["overdue"]})
        return "red", reasons
    if rules.yellow_overdue_at_least is not None and counts["overdue"] >= rules.yellow_overdue_at_least:
        reasons.append({"rule": "overdue", "level": "yellow", "count": counts["overdue"]})
    if rules.yellow_due_within_days is not None:
        n = counts["due_soon_without_progress"] if rules.yellow_require_progress else counts["due_soon"]
        if n:
            reasons.append({"rule": "due_soon_without_progress" if rules.yellow_require_progress else "due_soon",
                            "level": "yellow", "count": n, "days": rules.yellow_due_within_days})
    rate = counts.get("on_time_rate")
    if rules.yellow_on_time_rate_below is not None and rate is not None and rate < rules.yellow_on_time_rate_below * 100:
        reasons.append({"rule": "on_time_rate", "level": "yellow", "rate": rate,
                        "threshold": round(rules.yellow_on_time_rate_below * 100, 1)})
    return ("yellow" if reasons else "green"), reasons


# =====================================================================================
# The plan, and each work item's state at an instant (from the event log)
# =====================================================================================


@dataclass
class _Loaded:
    plan: Plan
    tz: str
    settings: dict[str, Any]
    committee: Committee | None
    tasks: list[Any]  # Row(id, code, position, title, deliverable, lead_text, ..., created_at, status)
    sections: dict[int, tuple[str, str, int]]
    units: dict[int, tuple[str, str]]
    people: dict[str, str]
    imported: dict[int, str]  # completing event id -> completion recorded at import
    deadline_changes: bool  # the plan has "deadline_changed" events (plan revisions)


class _State:
    """One work item at one instant."""

    __slots__ = ("id", "task_id", "unit_id", "occurrence", "status", "deadline", "completed_at", "completion")

    def __init__(self, id: int, task_id: int, unit_id: int, occurrence: str, status: str, deadline: date | None,
                 completed_at: datetime | None, completion: str | None) -> None:
        self.id, self.task_id, self.unit_id, self.occurrence = id, task_id, unit_id, occurrence
        self.status, self.deadline, self.completed_at, self.completion = status, deadline, completed_at, completion


def _plan_for(session: Session, plan_code: str | None, lang: str) -> Plan:
    if plan_code:
        plan = session.execute(select(Plan).where(Plan.code == plan_code.strip())).scalar_one_or_none()
        if plan is None:
            known = session.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
            hint = _t(lang, f" Các kế hoạch hiện có: {', '.join(known)}." if known else " Chưa có kế hoạch nào được nạp.",
                      f" Loaded plans: {', '.join(known)}." if known else " No plan is loaded.")
            raise UserError(_t(lang, f"Không có kế hoạch mã «{plan_code}».{hint}", f"There is no plan «{plan_code}».{hint}"))
        return plan
    plans = session.execute(select(Plan).where(Plan.status != "cancelled", Plan.parent_plan_id.is_(None))
                            .order_by(Plan.code)).scalars().all()
    if len(plans) == 1:
        return plans[0]
    if not plans:
        raise UserError(_t(lang, "Chưa có kế hoạch nào được nạp (dùng «steer plan load»).",
                           "No plan is loaded (use «steer plan load»)."))
    raise UserError(_t(lang, f"Có {len(plans)} kế hoạch; hãy chọn một bằng --plan: {', '.join(p.code for p in plans)}.",
                       f"There are {len(plans)} plans; pick one with --plan: {', '.join(p.code for p in plans)}."))


def _load(session: Session, plan: Plan) -> _Loaded:
    committee = session.execute(select(Committee).order_by(Committee.id).limit(1)).scalar_one_or_none()
    tz = (committee.timezone if committee is not None else None) or DEFAULT_TZ
    settings = dict(committee.settings or {}) if committee is not None else {}
    settings.update(plan.settings or {})
    tasks = session.execute(
        select(Task.id, Task.code, Task.position, Task.title, Task.deliverable, Task.lead_text, Task.coordinating_text,
               Task.deadline, Task.deadline_text, Task.deadline_kind, Task.section_id, Task.created_at, Task.status)
        .where(Task.plan_id == plan.id).order_by(Task.position, Task.id)).all()
    sections = {sid: (code, title, pos) for sid, code, title, pos in session.execute(
        select(Section.id, Section.code, Section.title, Section.position).where(Section.plan_id == plan.id))}
    units = {uid: (code, name) for uid, code, name in session.execute(select(Unit.id, Unit.code, Unit.name))}
    imported: dict[int, str] = {}
    changes = False
    for eid, kind, data in session.execute(  # one pass over the plan's log for both
        select(Event.id, Event.kind, case((Event.kind == "status", Event.data), else_=None))
        .where(Event.plan_id == plan.id,
               or_(Event.kind == "deadline_changed",
                   and_(Event.kind == "status", Event.to_status == "completed", Event.actor == "import")))
    ):
        if kind == "deadline_changed":
            changes = True
            continue
        c = (data or {}).get("completion") if isinstance(data, dict) else None
        if c in ("on_time", "late", "unknown"):
            imported[eid] = c
    people = dict(session.execute(select(Person.id, Person.name)).all())
    return _Loaded(plan, tz, settings, committee, list(tasks), sections, units, people, imported, changes)


def _states(session: Session, ld: _Loaded, cuts: Sequence[datetime]) -> list[list[_State]]:
    """For each instant in ``cuts``: every work item (of a task) created by then, with its
    status, deadline in force and completion at that instant, resolved in one SQL query.

    Per item and instant: the last status event and the last deadline event at or before
    the instant. Before its first status event an item was in that event's ``from_status``
    (normally not_started); before its first deadline event its deadline was that event's
    ``deadline_before``. SQLite answers with index seeks on ``ix_event_item_kind_at`` (one per
    item and instant); PostgreSQL with ``DISTINCT ON`` passes over the plan's log (hash joins).
    """
    w, t, ev = WorkItem.__table__, Task.__table__, Event.__table__
    plan_id = ld.plan.id
    # one kind per lookup, so the index gives the order (an IN over kinds would sort per item)
    dl_kinds = DEADLINE_EVENTS if ld.deadline_changes else ("extension_approved",)
    first_cut = min(cuts)
    moved = true() if ld.deadline_changes else w.c.deadline.is_distinct_from(w.c.original_deadline)
    on_sqlite = session.get_bind().dialect.name == "sqlite"

    def kind_is(e: Any, kinds: tuple[str, ...]) -> Any:
        return e.c.kind == kinds[0] if len(kinds) == 1 else e.c.kind.in_(kinds)

    def seek(kinds: tuple[str, ...], col: str, cut: datetime | None) -> Any:
        """Correlated: the ``col`` of the item's last event of ``kinds`` at or before ``cut``
        (``cut`` None: its first event ever)."""
        e = ev.alias()
        q = select(e.c[col]).where(e.c.work_item_id == w.c.id, kind_is(e, kinds))
        if cut is None:
            return q.order_by(e.c.at.asc(), e.c.id.asc()).limit(1).scalar_subquery()
        return q.where(e.c.at <= cut).order_by(e.c.at.desc(), e.c.id.desc()).limit(1).scalar_subquery()

    def per_item(kinds: tuple[str, ...], cols: tuple[str, ...], cut: datetime | None, name: str) -> Any:
        """PostgreSQL: one row per item, its last event of ``kinds`` at or before ``cut``
        (``cut`` None: its first event ever)."""
        e = ev.alias()
        q = select(e.c.work_item_id, *(e.c[c] for c in cols)).where(
            e.c.plan_id == plan_id, e.c.work_item_id.is_not(None), kind_is(e, kinds))
        if cut is None:
            q = q.order_by(e.c.work_item_id, e.c.at.asc(), e.c.id.asc())
        else:
            q = q.where(e.c.at <= cut).order_by(e.c.work_item_id, e.c.at.desc(), e.c.id.desc())
        from sqlalchemy.dialects.postgresql import distinct_on

        return q.ext(distinct_on(e.c.work_item_id)).subquery(name)

    cols: list[Any] = [w.c.id, w.c.task_id, w.c.unit_id, w.c.occurrence, w.c.status, w.c.deadline,
                       w.c.completed_at, w.c.completion]
    joined: Any = w.join(t, t.c.id == w.c.task_id)
    if on_sqlite:
        st_ids = {k: seek(("status",), "id", cut) for k, cut in enumerate(cuts)}
        dl_ids = {k: seek(dl_kinds, "id", cut) for k, cut in enumerate(cuts)}
        k0 = cuts.index(first_cut)
        base_cols = [*cols]
        for k in range(len(cuts)):
            base_cols += [st_ids[k].label(f"st_id_{k}"), dl_ids[k].label(f"dl_id_{k}")]
        base_cols += [case((and_(w.c.status != "not_started"), 1), else_=0).label("maybe_prev"),
                      case((moved, 1), else_=0).label("moved")]
        base_cols += [case((and_(w.c.created_at <= cut, t.c.created_at <= cut), 1), else_=0).label(f"exists_{k}")
                      for k, cut in enumerate(cuts)]
        base = (select(*base_cols).select_from(joined)
                .where(t.c.plan_id == plan_id, w.c.created_at <= max(cuts), t.c.created_at <= max(cuts))
                .subquery("base"))
        out_cols: list[Any] = [base.c[c.name] for c in cols]

        def first_seek(kinds: tuple[str, ...], col: str) -> Any:
            e = ev.alias()
            return (select(e.c[col]).where(e.c.work_item_id == base.c.id, kind_is(e, kinds))
                    .order_by(e.c.at.asc(), e.c.id.asc()).limit(1).scalar_subquery())

        out_cols += [
            case((and_(base.c[f"st_id_{k0}"].is_(None), base.c.maybe_prev == 1), first_seek(("status",), "from_status")),
                 else_=None),
            case((and_(base.c[f"dl_id_{k0}"].is_(None), base.c.moved == 1), first_seek(dl_kinds, "id")), else_=None),
            null(),
        ]
        outer: Any = base
        for k in range(len(cuts)):
            st, dl = ev.alias(f"st_{k}"), ev.alias(f"dl_{k}")
            outer = outer.outerjoin(st, st.c.id == base.c[f"st_id_{k}"]).outerjoin(dl, dl.c.id == base.c[f"dl_id_{k}"])
            out_cols += [base.c[f"exists_{k}"], st.c.id, st.c.to_status,
                         case((st.c.to_status == "completed", st.c.at), else_=None), dl.c.id, dl.c.deadline_after]
        stmt = select(*out_cols).select_from(outer)
    else:
        first_st = per_item(("status",), ("from_status",), None, "first_st")
        first_dl = per_item(dl_kinds, ("id", "deadline_before"), None, "first_dl")
        joined = joined.outerjoin(first_st, first_st.c.work_item_id == w.c.id) \
            .outerjoin(first_dl, first_dl.c.work_item_id == w.c.id)
        out_cols = [*cols, first_st.c.from_status, first_dl.c.id, first_dl.c.deadline_before]
        for k, cut in enumerate(cuts):
            st = per_item(("status",), ("id", "to_status", "at"), cut, f"st_{k}")
            dl = per_item(dl_kinds, ("id", "deadline_after"), cut, f"dl_{k}")
            joined = joined.outerjoin(st, st.c.work_item_id == w.c.id).outerjoin(dl, dl.c.work_item_id == w.c.id)
            out_cols += [case((and_(w.c.created_at <= cut, t.c.created_at <= cut), 1), else_=0), st.c.id, st.c.to_status,
                         case((st.c.to_status == "completed", st.c.at), else_=None), dl.c.id, dl.c.deadline_after]
        stmt = (select(*out_cols).select_from(joined)
                .where(t.c.plan_id == plan_id, w.c.created_at <= max(cuts), t.c.created_at <= max(cuts)))
    rows = session.execute(stmt).all()
    # deadline_before of each item's first deadline event (SQLite returns only its id)
    firsts: dict[int, date | None] = {}
    if on_sqlite:
        ids = [r[9] for r in rows if r[9] is not None]
        for i in range(0, len(ids), 500):
            firsts.update(session.execute(select(Event.id, Event.deadline_before)
                                          .where(Event.id.in_(ids[i:i + 500]))).all())
    else:
        firsts = {r[9]: r[10] for r in rows if r[9] is not None}
    n = len(cuts)
    outs: list[list[_State]] = [[] for _ in cuts]
    tz, imported = ld.tz, ld.imported
    for r in rows:
        iid, tid, uid, occ, cur, cur_dl, cur_done, cur_completion, first_from, first_dl_id, _ = r[:11]
        initial_dl = firsts[first_dl_id] if first_dl_id is not None else cur_dl
        seen: tuple[Any, Any, _State] | None = None  # (status event, deadline event, state) of an earlier instant
        for k in range(n):
            exists, st_id, st_to, st_at, dl_id, dl_after = r[11 + 6 * k: 17 + 6 * k]
            if not exists:
                continue
            if seen is not None and seen[0] == st_id and seen[1] == dl_id:
                outs[k].append(seen[2])  # same events in force: the same state (states are never mutated)
                continue
            deadline = dl_after if dl_id is not None else initial_dl
            status = st_to if st_id is not None else (first_from or cur)
            if status != "completed":
                outs[k].append(_State(iid, tid, uid, occ, status, deadline, None, None))
            elif st_id is None:  # completed without any event (written directly): what is stored
                outs[k].append(_State(iid, tid, uid, occ, status, deadline, cur_done, cur_completion))
            else:
                if cur == "completed" and cur_completion and cur_done == st_at:
                    completion = cur_completion  # exactly what the lifecycle recorded, still in force
                else:
                    completion = imported.get(st_id) or completion_of(st_at, deadline, tz)
                outs[k].append(_State(iid, tid, uid, occ, status, deadline, st_at, completion))
            seen = (st_id, dl_id, outs[k][-1])
    return outs


def _items_with_events(session: Session, plan_id: int, kinds: tuple[str, ...], start: datetime,
                       end: datetime) -> set[int]:
    """Work items with an event of ``kinds`` in [start, end]."""
    return set(session.execute(
        select(Event.work_item_id).where(Event.plan_id == plan_id, Event.kind.in_(kinds), Event.at >= start,
                                         Event.at <= end, Event.work_item_id.is_not(None)).distinct()).scalars())


# =====================================================================================
# Classification and counting
# =====================================================================================


@dataclass(frozen=True)
class _Window:
    start: date  # period start S
    end: date  # period end P
    as_of: date  # E
    due_by: date  # D = max(P, E)
    cut: datetime  # end of E, UTC
    start_at: datetime  # start of S, UTC
    period_cut: datetime  # end of min(P, E), UTC
    due_soon_days: int


def _window(p: ReportPeriod, as_of: date, tz: str, due_soon_days: int) -> _Window:
    return _Window(p.start, p.end, as_of, max(p.end, as_of), end_of_local_day(as_of, tz),
                   local_datetime(p.start, tz=tz), end_of_local_day(min(p.end, as_of), tz), due_soon_days)


class _Classified:
    __slots__ = ("state", "bucket", "note_in_period", "progress", "due_soon")

    def __init__(self, state: _State, bucket: str, note_in_period: bool = False, progress: bool = False,
                 due_soon: bool = False) -> None:
        self.state, self.bucket = state, bucket
        self.note_in_period, self.progress, self.due_soon = note_in_period, progress, due_soon


def _classify(session: Session, ld: _Loaded, w: _Window, kinds: Mapping[int, str | None],
              states: list[_State]) -> list[_Classified]:
    """Each item at the end of E in its bucket (recurring occurrences outside [S, D]: "out_of_scope")."""
    noted = _items_with_events(session, ld.plan.id, ("note",), w.start_at, w.period_cut)
    active = _items_with_events(session, ld.plan.id, ("note", "status"), w.start_at, w.cut)
    soon = w.as_of + timedelta(days=w.due_soon_days)
    start, as_of, due_by = w.start, w.as_of, w.due_by
    kget = kinds.get
    out: list[_Classified] = []
    append = out.append
    C = _Classified
    for st in states:  # hot loop: positional construction, locals only
        kind = kget(st.task_id)
        status = st.status
        if status == "cancelled":
            append(C(st, "cancelled", False, False, False))
            continue
        dl = st.deadline
        if kind == "recurring" and (dl is None or not (start <= dl <= due_by)):
            append(C(st, "out_of_scope", False, False, False))  # counted by another period's report
            continue
        if kind == "ongoing":
            append(C(st, "ongoing", st.id in noted, False, False))
            continue
        if status == "completed":
            append(C(st, "completed", False, st.id in active, False))
            continue
        if dl is None:
            append(C(st, "no_deadline", False, st.id in active, False))
        elif dl < as_of:
            append(C(st, "overdue", False, st.id in active, False))
        elif dl <= due_by:
            append(C(st, "in_progress_within_deadline", False, st.id in active, dl <= soon))
        else:
            append(C(st, "not_yet_due", False, st.id in active, dl <= soon))
    return out


def _empty_counts() -> dict[str, Any]:
    return dict.fromkeys(COUNT_KEYS, 0)


def _sig(c: _Classified, due_by: date) -> tuple[Any, ...]:
    """What counting looks at in one classified item (few distinct values: items are
    tallied by signature, then each signature's count keys are added once)."""
    b = c.bucket
    if b == "completed":
        dl = c.state.deadline
        return (b, c.state.completion, dl is not None and dl <= due_by, False, c.due_soon, c.progress)
    if b == "ongoing":
        return (b, None, False, c.note_in_period, c.due_soon, c.progress)
    return (b, None, False, False, c.due_soon, c.progress)


def _sig_keys(sig: tuple[Any, ...]) -> list[str]:
    """The count keys an item of signature ``sig`` increments."""
    b, completion, dl_due, noted, due_soon, progress = sig
    if b == "cancelled":
        out = ["cancelled"]
    else:
        out = ["total", b]
        if b == "completed":
            out.append("completed_" + (completion or "unknown"))
            out += ["completed_due", "due"] if dl_due else ["completed_ahead"]
        elif b in ("overdue", "in_progress_within_deadline"):
            out.append("due")
        elif b == "ongoing" and noted:
            out.append("ongoing_with_results")
        if due_soon:
            out.append("due_soon")
            if not progress:
                out.append("due_soon_without_progress")
    return out


def _pct(num: int, den: int) -> float | None:
    return round(num * 100.0 / den, 1) if den else None


def _finish(counts: dict[str, Any]) -> dict[str, Any]:
    counts["percent"] = {
        "completed_of_due": _pct(counts["completed_due"], counts["due"]),
        "on_time_of_completed": _pct(counts["completed_on_time"], counts["completed_on_time"] + counts["completed_late"]),
        "overdue_of_due": _pct(counts["overdue"], counts["due"]),
        "completed_of_total": _pct(counts["completed"], counts["total"] - counts["ongoing"]),
        "ongoing_with_results_of_ongoing": _pct(counts["ongoing_with_results"], counts["ongoing"]),
    }
    return counts


def _count(rows: Iterable[_Classified], w: _Window) -> dict[str, Any]:
    counts = _empty_counts()
    tally: dict[tuple[Any, ...], int] = defaultdict(int)
    due_by = w.due_by
    for c in rows:
        tally[_sig(c, due_by)] += 1
    for sig, n in tally.items():
        for k in _sig_keys(sig):
            counts[k] += n
    return _finish(counts)


_TASK_ORDER = ("ongoing", "overdue", "in_progress_within_deadline", "not_yet_due", "no_deadline")


def _task_bucket(cs: list[_Classified], w: _Window) -> tuple[str, str | None, bool]:
    """(bucket, completion, is_due) of a task from its in-scope live items: the worst item wins."""
    if len(cs) == 1:
        c = cs[0]
        if c.bucket == "completed":
            dl = c.state.deadline
            return "completed", c.state.completion or "unknown", dl is not None and dl <= w.due_by
        return c.bucket, None, c.bucket in ("overdue", "in_progress_within_deadline")
    buckets = {c.bucket for c in cs}
    for b in _TASK_ORDER:
        if b in buckets:
            return b, None, b in ("overdue", "in_progress_within_deadline")
    completions = {c.state.completion for c in cs}
    completion = "late" if "late" in completions else ("unknown" if "unknown" in completions or None in completions
                                                         else "on_time")
    due = any(c.state.deadline is not None and c.state.deadline <= w.due_by for c in cs)
    return "completed", completion, due


_UNASSIGNED = ("unassigned", None, False, False, False, False)
_CANCELLED = ("cancelled", None, False, False, False, False)


def _task_infos(by_task: Mapping[int, list[_Classified]], task_ids: Iterable[int],
                w: _Window) -> dict[int, tuple[str, str | None, bool, bool, bool, bool]]:
    """Per task: (bucket, completion, is_due, ongoing with results, due soon, due soon without progress).

    A task is due soon without progress when one of its items is (an item due soon whose unit
    recorded nothing since the period start)."""
    out: dict[int, tuple[str, str | None, bool, bool, bool, bool]] = {}
    for tid in task_ids:
        all_cs = by_task.get(tid)
        if all_cs is None:
            out[tid] = _UNASSIGNED
            continue
        cs = [c for c in all_cs if c.bucket != "cancelled"]
        if not cs:
            out[tid] = _CANCELLED
            continue
        bucket, completion, due = _task_bucket(cs, w)
        results = bucket == "ongoing" and any(c.note_in_period for c in cs)
        soon = [c for c in cs if c.due_soon]
        out[tid] = (bucket, completion, due, results, bool(soon), any(not c.progress for c in soon))
    return out


def _task_counts(infos: Mapping[int, tuple[str, str | None, bool, bool, bool, bool]],
                 task_ids: Iterable[int]) -> dict[str, Any]:
    counts = _empty_counts()
    counts["unassigned"] = 0
    for tid in task_ids:
        bucket, completion, due, results, soon, soon_without = infos[tid]
        if bucket in ("unassigned", "cancelled"):
            counts[bucket] += 1
            continue
        counts["total"] += 1
        counts[bucket] += 1
        if bucket == "completed":
            counts["completed_" + (completion or "unknown")] += 1
            counts["completed_due" if due else "completed_ahead"] += 1
        if due:
            counts["due"] += 1
        if results:
            counts["ongoing_with_results"] += 1
        if soon:
            counts["due_soon"] += 1
            if soon_without:
                counts["due_soon_without_progress"] += 1
    return _finish(counts)


# =====================================================================================
# The report
# =====================================================================================


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


class _Refs:
    """Canonical item references ("PLAN/TASK", "@UNIT" when the task has several lead units,
    "#OCCURRENCE"), made on demand: a report shows only some of its items."""

    def __init__(self, ld: _Loaded, states: Iterable[_State], tasks: Mapping[int, Any]) -> None:
        self.ld, self.tasks = ld, tasks
        self.states: dict[int, _State] = {}
        units_per_task: dict[int, set[int]] = defaultdict(set)
        for st in states:
            self.states[st.id] = st
            units_per_task[st.task_id].add(st.unit_id)
        self.multi = {tid for tid, us in units_per_task.items() if len(us) > 1}

    def __getitem__(self, item_id: int) -> str:
        st = self.states[item_id]
        ref = f"{self.ld.plan.code}/{self.tasks[st.task_id].code}"
        if st.task_id in self.multi:
            ref += f"@{self.ld.units[st.unit_id][0]}"
        if st.occurrence:
            ref += f"#{st.occurrence}"
        return ref

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.states


def _header(ld: _Loaded, session: Session) -> dict[str, Any]:
    c = ld.committee
    name = c.name if c is not None else "Ban Chỉ đạo"
    settings = ld.settings
    m = re.search(r"\b(tỉnh|thành phố)\s+(.+)$", name, re.IGNORECASE)
    place = settings.get("report_place") or (m.group(2).strip() if m else None)
    authority = settings.get("report_authority")
    if not authority:
        issuer = session.get(Unit, ld.plan.issued_by_unit_id) if ld.plan.issued_by_unit_id else None
        if issuer is not None and issuer.kind == "province":
            authority = issuer.name
        elif m:
            authority = f"Ủy ban nhân dân {m.group(1).lower()} {m.group(2).strip()}"
    recipients = settings.get("report_recipients")
    return {
        "name": name, "short_name": c.short_name if c is not None else None,
        "authority": authority, "place": place, "timezone": ld.tz,
        "recipients": [str(r) for r in recipients] if isinstance(recipients, list) else None,
        "signer_title": settings.get("report_signer_title"), "signer_name": settings.get("report_signer_name"),
    }


def _indicators(session: Session, plan: Plan, p: ReportPeriod, cut: datetime) -> list[dict[str, Any]]:
    """indicator_status for the plan, with values as recorded by the as-of instant (event log)."""
    from engine import indicators as ind

    rows = ind.indicator_status(session, None, as_of_period=p.key, plan_code=plan.code)
    if not rows:
        return []
    codes = {r["code"] for r in rows}
    limit = ind.parse_period(p.key)
    history: dict[str, dict[str, dict[str, Any] | None]] = defaultdict(dict)
    seen: set[str] = set()
    for at, data in session.execute(
        select(Event.at, Event.data).where(Event.kind == "measurement_recorded").order_by(Event.at, Event.id)
    ):
        code = (data or {}).get("indicator")
        if code not in codes:
            continue
        seen.add(code)
        if at <= cut:
            history[code][data.get("period")] = data.get("after")
    out = []
    for r in rows:
        r = dict(r)
        if r["code"] in seen:
            ms = []
            for key, val in history.get(r["code"], {}).items():
                if val is None:
                    continue
                per = ind.parse_period(key)
                if per.end <= limit.end:
                    ms.append((per, key, val))
            ms.sort(key=lambda x: (x[0].end, x[0].span))
            latest = ms[-1] if ms else None
            prev = ms[-2] if len(ms) > 1 else None
            value = latest[2].get("value") if latest else None
            pvalue = prev[2].get("value") if prev else None
            direction = None
            if value is not None and pvalue is not None:
                delta = value - pvalue
                direction = "flat" if abs(delta) <= 1e-9 else ("up" if delta > 0 else "down")
            hib = r.get("higher_is_better")
            target = ind.target_from_row(r["comparator"], r["target_low"], r["target_high"], r["target"] or "",
                                         r["unit_of_measure"])
            r.update(period=latest[1] if latest else None, value=value,
                     value_text=latest[2].get("value_text") if latest else None,
                     source=latest[2].get("source") if latest else None,
                     previous_period=prev[1] if prev else None, previous_value=pvalue, direction=direction,
                     improving=None if direction in (None, "flat") or hib is None else ((direction == "up") == hib),
                     on_track=ind.on_track(target, value) if latest else None)
        r.pop("recorded_at", None)  # a wall-clock stamp, not a figure of the report
        out.append(r)
    return out


def _adoption(session: Session, plan: Plan, cut: datetime) -> dict[str, Any] | None:
    """adoption_status, counting only adoptions registered (or child plans loaded) by the as-of instant."""
    from engine.adoption import adoption_status

    expected = (plan.settings or {}).get("adoption_expected", "lead_units")
    status = adoption_status(session, plan.code, expected=expected, now=cut)
    if not status["expected"] and not status["others"]:
        return None
    registered: dict[str, dict[str, Any] | None] = {}
    for at, data in session.execute(
        select(Event.at, Event.data).where(Event.kind == "plan_adopted", Event.plan_id == plan.id)
        .order_by(Event.at, Event.id)
    ):
        if at <= cut and data and data.get("unit"):
            registered[data["unit"]] = data.get("after")
    children = {code for code, in session.execute(
        select(Unit.code).join(Plan, Plan.issued_by_unit_id == Unit.id)
        .where(Plan.parent_plan_id == plan.id, Plan.created_at <= cut, Plan.status != "cancelled"))}

    def fix(u: dict[str, Any]) -> dict[str, Any]:
        u = dict(u)
        known = u["code"] in registered or u["code"] in children
        if not known:
            u.update(adopted=False, document=None, issued_on=None, child_plan=None)
        elif u["code"] in registered and u["code"] not in children:
            after = registered[u["code"]] or {}
            issued = after.get("issued_on")
            u.update(document=after.get("document"), issued_on=str(issued)[:10] if issued else None)
        return u

    units = [fix(u) for u in status["units"]]
    others = [o for o in (fix(u) for u in status["others"]) if o["adopted"]]
    return {"plan": status["plan"], "expected": len(units), "adopted": sum(1 for u in units if u["adopted"]),
            "percent": _pct(sum(1 for u in units if u["adopted"]), len(units)), "units": units, "others": others}


def _timeline(session: Session, ld: _Loaded, universe: list[_Classified], w: _Window) -> list[dict[str, Any]]:
    """Cumulative completed vs due work items (recurring occurrences included, ongoing tasks and
    items cancelled by E not) at each month end from the first item to E, and at E."""
    if not universe:
        return []
    tz = ld.tz
    ids = {c.state.id for c in universe}
    deltas: dict[date, int] = defaultdict(int)
    due_at: dict[date, int] = defaultdict(int)
    for c in universe:
        if c.state.deadline is not None:
            due_at[c.state.deadline] += 1
    done: set[int] = set()
    touched: set[int] = set()
    for wid, at, to_status in session.execute(
        select(Event.work_item_id, Event.at, Event.to_status)
        .where(Event.plan_id == ld.plan.id, Event.kind == "status", Event.at <= w.cut,
               or_(Event.to_status == "completed", Event.from_status == "completed"))
        .order_by(Event.at, Event.id)
    ):
        if wid not in ids:
            continue
        touched.add(wid)
        if to_status == "completed" and wid not in done:
            deltas[local_date(at, tz)] += 1
            done.add(wid)
        elif to_status != "completed" and wid in done:
            deltas[local_date(at, tz)] -= 1
            done.discard(wid)
    for c in universe:  # completed without any event (written directly)
        if c.state.id not in touched and c.state.status == "completed" and c.state.completed_at is not None:
            deltas[local_date(c.state.completed_at, tz)] += 1
    first = session.execute(
        select(func.min(WorkItem.created_at)).join(Task, Task.id == WorkItem.task_id)
        .where(Task.plan_id == ld.plan.id, WorkItem.created_at <= w.cut)).scalar_one()
    start = local_date(first, tz) if first is not None else w.as_of
    points: list[date] = []
    y, m = start.year, start.month
    while True:
        end = _month_end(y, m)
        if end >= w.as_of:
            break
        points.append(end)
        y, m = _add_months(y, m, 1)
    points = points[-35:] + [w.as_of]
    out = []
    done_days, due_days = sorted(deltas), sorted(due_at)
    i = j = 0
    n_done = n_due = 0
    for pt in points:
        while i < len(done_days) and done_days[i] <= pt:
            n_done += deltas[done_days[i]]
            i += 1
        while j < len(due_days) and due_days[j] <= pt:
            n_due += due_at[due_days[j]]
            j += 1
        out.append({"date": pt.isoformat(), "completed": n_done, "due": n_due})
    return out


def build_report(session: Session, *, plan_code: str | None = None, kind: str = "monthly",
                 period: str | ReportPeriod | None = None, as_of: date, cutoff_day: int | None = None,
                 rules: StatusRules | None = None, lang: str = "vi") -> dict[str, Any]:
    """The report data (a JSON-ready dict; see ``docs/report-schema.md``).

    ``period``: a key ("2025-05", "2025-Q2", ...) or a :class:`ReportPeriod`; default the
    period of ``kind`` labelled with ``as_of``'s month. ``as_of``: the committee-local
    date the figures are computed at. ``rules``: default the committee's
    ``settings["status_rules"]`` (or the built-in defaults). The result depends only on
    the database as it stood at the end of ``as_of`` and on the arguments."""
    kind = normalise_kind(kind, lang=lang)
    plan = _plan_for(session, plan_code, lang)
    if cutoff_day is None:
        raw_cut = ((plan.settings or {}).get("report_cutoff_day"))
        cutoff_day = int(raw_cut) if isinstance(raw_cut, int) else None
    cutoff_day = check_cutoff(cutoff_day, lang=lang)
    if isinstance(period, ReportPeriod):
        p = period
    elif period:
        p = parse_period(period, kind=kind, cutoff_day=cutoff_day, lang=lang)
    else:
        p = period_for(kind, as_of, cutoff_day=cutoff_day)
    if as_of < p.start:
        raise UserError(_t(lang, f"Ngày số liệu {as_of:%d/%m/%Y} trước ngày bắt đầu kỳ {period_label(p)} "
                                 f"({p.start:%d/%m/%Y}).",
                           f"The as-of date {as_of.isoformat()} is before the start of {period_label(p, 'en')} "
                           f"({p.start.isoformat()})."))
    rules = rules or committee_rules(session, lang=lang)
    ld = _load(session, plan)
    due_soon_days = rules.yellow_due_within_days if rules.yellow_due_within_days is not None else 7
    w = _window(p, as_of, ld.tz, due_soon_days)
    pp = previous_period(p)
    wp = _window(pp, pp.end, ld.tz, due_soon_days)
    # rows of _load: (id, ..., deadline_kind [9], section_id [10], created_at [11], status)
    tasks_now = {t[0]: t for t in ld.tasks if t[11] <= w.cut}
    kinds_now = {tid: t[9] for tid, t in tasks_now.items()}
    kinds_prev = {t[0]: t[9] for t in ld.tasks if t[11] <= wp.cut}
    states_now, states_prev = _states(session, ld, [w.cut, wp.cut])
    everything = _classify(session, ld, w, kinds_now, states_now)
    classified = [c for c in everything if c.bucket != "out_of_scope"]
    prev_classified = [c for c in _classify(session, ld, wp, kinds_prev, states_prev) if c.bucket != "out_of_scope"]
    refs = _Refs(ld, (c.state for c in everything), tasks_now)
    units = ld.units

    by_task: dict[int, list[_Classified]] = defaultdict(list)
    for c in classified:
        by_task[c.state.task_id].append(c)
    # tasks whose items all lie outside the period (recurring, no occurrence in it) are left out
    task_has_items = {c.state.task_id for c in everything}
    counted_tasks = [tid for tid in tasks_now if tid in by_task or tid not in task_has_items]
    infos = _task_infos(by_task, counted_tasks, w)
    # one pass: the plan, each section and each unit
    section_of = {tid: t[10] for tid, t in tasks_now.items()}
    summary = _empty_counts()
    sec_counts: dict[int | None, dict[str, Any]] = defaultdict(_empty_counts)
    unit_counts: dict[int, dict[str, Any]] = defaultdict(_empty_counts)
    tally: dict[tuple[Any, ...], int] = defaultdict(int)  # (section, unit, signature) -> items
    due_by = w.due_by
    for c in classified:
        st = c.state
        tally[(section_of[st.task_id], st.unit_id, _sig(c, due_by))] += 1
    for (sid, uid, sig), n in tally.items():
        sc, uc = sec_counts[sid], unit_counts[uid]
        for k in _sig_keys(sig):
            summary[k] += n
            sc[k] += n
            uc[k] += n
    _finish(summary)
    task_summary = _task_counts(infos, counted_tasks)

    # --- sections
    sections_out = []
    sec_tasks: dict[int | None, list[int]] = defaultdict(list)
    for tid, sid in section_of.items():
        sec_tasks[sid].append(tid)
    order = sorted(sec_tasks, key=lambda sid: (sid is None, ld.sections.get(sid, ("", "", 0))[2] if sid else 0))
    for sid in order:
        code, title, _pos = ld.sections.get(sid, (None, None, 0)) if sid is not None else (None, None, 0)
        tids = sec_tasks[sid]
        sections_out.append({"code": code, "title": title, "tasks": len(tids),
                             "counts": _finish(sec_counts[sid]) if sid in sec_counts else _finish(_empty_counts()),
                             "task_counts": _task_counts(infos, [t for t in tids if t in infos])})

    # --- units
    units_out = []
    for uid, counts in unit_counts.items():
        _finish(counts)
        if counts["total"] == 0:
            continue
        counts["on_time_rate"] = counts["percent"]["on_time_of_completed"]
        counts["completion_rate"] = counts["percent"]["completed_of_due"]
        status, reasons = unit_status(counts, rules)
        code, name = units[uid]
        units_out.append({"unit": code, "name": name, "status": status, "reasons": reasons, "counts": counts})
    rank_key = {"green": 0, "yellow": 1, "red": 2}
    units_out.sort(key=lambda u: (rank_key[u["status"]], u["counts"]["overdue"],
                                  -(u["counts"]["completion_rate"] if u["counts"]["completion_rate"] is not None else -1),
                                  -(u["counts"]["on_time_rate"] if u["counts"]["on_time_rate"] is not None else -1),
                                  u["unit"]))
    for n, u in enumerate(units_out, start=1):
        u["rank"] = n
    status_totals = {s: sum(1 for u in units_out if u["status"] == s) for s in ("green", "yellow", "red")}

    # --- appendix: one row per task
    notes = _latest_texts(session, plan.id, w.cut, ld.tz)
    zone = ZoneInfo(ld.tz)
    tasks_out = []
    sections = ld.sections
    for tid, t in tasks_now.items():
        (_id, t_code, _pos, t_title, t_deliverable, t_lead, t_coord, t_deadline, t_deadline_text, t_kind, t_section,
         _created, _status) = t  # a Row: unpack once (attribute access is slow in this loop)
        all_cs = by_task.get(tid, ())
        info = infos.get(tid)
        bucket, completion = (info[0], info[1]) if info is not None else ("no_occurrence", None)
        live = done = 0
        in_force: set[date] = set()
        late_units: set[str] = set()
        for c in all_cs:  # one pass over the task's items
            b = c.bucket
            if b == "cancelled":
                continue
            live += 1
            if b == "completed":
                done += 1
            elif b == "overdue":
                late_units.add(units[c.state.unit_id][0])
            if c.state.deadline is not None:
                in_force.add(c.state.deadline)
        deadlines = sorted(in_force)
        note = notes.get(tid)
        items = []
        if len(all_cs) > 1:  # a task with one item: its row says it all
            for c in sorted(all_cs, key=lambda c: (units[c.state.unit_id][0], c.state.occurrence or "")):
                st = c.state
                unit = units[st.unit_id]
                items.append({"ref": refs[st.id], "unit": unit[0], "unit_name": unit[1],
                              "occurrence": st.occurrence or None,
                              "deadline": st.deadline.isoformat() if st.deadline is not None else None,
                              "status": st.status, "bucket": c.bucket,
                              "completed_on": st.completed_at.astimezone(zone).date().isoformat()
                              if st.completed_at is not None else None,
                              "completion": st.completion})
        tasks_out.append({
            "code": t_code, "section": sections[t_section][0] if t_section in sections else None,
            "title": t_title, "deliverable": t_deliverable or "", "lead": t_lead or "",
            "coordinating": t_coord or "", "deadline_text": t_deadline_text or "",
            "deadline": t_deadline.isoformat() if t_deadline is not None else None, "deadline_kind": t_kind,
            "deadlines_in_force": [d.isoformat() for d in deadlines],
            "extended": t_kind == "date" and any(d != t_deadline for d in deadlines),
            "status": bucket, "completion": completion, "units_total": live, "units_completed": done,
            "overdue_units": sorted(late_units),
            "result": note["text"] if note else None, "result_date": note["date"] if note else None,
            "percent": note["percent"] if note else None,
            "items": items,
        })

    overdue = sorted(
        ({"ref": refs[c.state.id], "task": tasks_now[c.state.task_id].code, "title": tasks_now[c.state.task_id].title,
          "unit": units[c.state.unit_id][0], "unit_name": units[c.state.unit_id][1],
          "deadline": _iso(c.state.deadline), "days_overdue": (w.as_of - c.state.deadline).days,
          "status": c.state.status}
         for c in classified if c.bucket == "overdue" and c.state.deadline is not None),
        key=lambda r: (-r["days_overdue"], r["ref"]))

    changes = _changes(session, ld, classified, prev_classified, {c.state.id: c.state for c in everything}, refs,
                       tasks_now, w, wp, pp, lang)
    universe = [c for c in everything if c.bucket != "cancelled" and kinds_now.get(c.state.task_id) != "ongoing"]

    return {
        "schema": SCHEMA,
        "lang": "en" if lang == "en" else "vi",
        "kind": kind,
        "period": {**p.as_dict(), "label": period_label(p, lang)},
        "as_of": as_of.isoformat(),
        "due_by": w.due_by.isoformat(),
        "committee": _header(ld, session),
        "plan": {"code": plan.code, "title": plan.title, "document": plan.document,
                 "issued_on": _iso(plan.issued_on)},
        "rules": rules.as_dict(),
        "counting_unit": "work_item",
        "summary": summary,
        "task_summary": task_summary,
        "sections": sections_out,
        "units": units_out,
        "unit_status_totals": status_totals,
        "adoption": _adoption(session, plan, w.cut),
        "indicators": _indicators(session, plan, p, w.cut),
        "changes": changes,
        "overdue_items": overdue,
        "timeline": _timeline(session, ld, universe, w),
        "tasks": tasks_out,
    }


def _latest_texts(session: Session, plan_id: int, cut: datetime, tz: str) -> dict[int, dict[str, Any]]:
    """Per task: the latest progress note at or before ``cut`` (else the latest evidence given
    with a status change): one window query over the plan's log."""
    is_note = Event.kind == "note"
    text = case((is_note, Event.note), else_=Event.evidence)
    rn = func.row_number().over(partition_by=Event.task_id,
                                order_by=(case((is_note, 0), else_=1), Event.at.desc(), Event.id.desc())).label("rn")
    inner = (select(Event.task_id.label("task_id"), text.label("text"), Event.percent.label("percent"),
                    Event.at.label("at"), Event.kind.label("kind"), rn)
             .where(Event.plan_id == plan_id, Event.task_id.is_not(None), Event.at <= cut,
                    or_(and_(is_note, Event.note.is_not(None)),
                        and_(Event.kind == "status", Event.evidence.is_not(None))))
             .subquery())
    zone = ZoneInfo(tz)
    out: dict[int, dict[str, Any]] = {}
    for tid, body, percent, at, kind in session.execute(
            select(inner.c.task_id, inner.c.text, inner.c.percent, inner.c.at, inner.c.kind).where(inner.c.rn == 1)):
        out[tid] = {"text": body, "percent": percent if kind == "note" else None,
                    "date": at.astimezone(zone).date().isoformat(), "kind": kind}
    return out


def _changes(session: Session, ld: _Loaded, now_cs: list[_Classified], prev_cs: list[_Classified],
             states: Mapping[int, _State], refs: _Refs, tasks: Mapping[int, Any], w: _Window,
             wp: _Window, pp: ReportPeriod, lang: str) -> dict[str, Any]:
    prev_by_item = {c.state.id: c for c in prev_cs}
    newly_completed, newly_overdue = [], []
    units = ld.units

    def base(s: _State) -> dict[str, Any]:
        t = tasks[s.task_id]
        return {"ref": refs[s.id], "task": t.code, "title": t.title, "unit": units[s.unit_id][0],
                "unit_name": units[s.unit_id][1]}

    for c in now_cs:
        s = c.state
        before = prev_by_item.get(s.id)
        if s.status == "completed" and c.bucket != "ongoing" and (before is None or before.state.status != "completed"):
            newly_completed.append({**base(s), "completed_on": _iso(local_date(s.completed_at, ld.tz))
                                    if s.completed_at else None, "completion": s.completion,
                                    "deadline": _iso(s.deadline)})
        if c.bucket == "overdue" and (before is None or before.bucket != "overdue"):
            newly_overdue.append({**base(s), "deadline": _iso(s.deadline),
                                  "days_overdue": (w.as_of - s.deadline).days if s.deadline else None})
    extensions = []
    for _eid, wid, at, actor, note, before_dl, after_dl in session.execute(
        select(Event.id, Event.work_item_id, Event.at, Event.actor, Event.note, Event.deadline_before,
               Event.deadline_after)
        .where(Event.plan_id == ld.plan.id, Event.kind == "extension_approved", Event.at >= w.start_at,
               Event.at <= w.cut, Event.work_item_id.is_not(None))
        .order_by(Event.at, Event.id)
    ):
        s = states.get(wid)
        if s is None or s.id not in refs:
            continue
        extensions.append({**base(s), "approved_on": local_date(at, ld.tz).isoformat(), "from": _iso(before_dl),
                           "to": _iso(after_dl), "approved_by": actor,
                           "approved_by_name": ld.people.get(actor, actor), "note": note})
    newly_completed.sort(key=lambda r: (r["completed_on"] or "", r["ref"]))
    newly_overdue.sort(key=lambda r: (r["deadline"] or "", r["ref"]))
    return {
        "previous": {"period": {**pp.as_dict(), "label": period_label(pp, lang)},
                     "as_of": wp.as_of.isoformat(), "summary": _count(prev_cs, wp)},
        "since": wp.as_of.isoformat(),
        "newly_completed": newly_completed,
        "newly_overdue": newly_overdue,
        "extensions": extensions,
    }


def committee_today(session: Session, now: datetime) -> date:
    """The committee-local calendar date of the instant ``now`` (the default as-of date)."""
    tz = session.execute(select(Committee.timezone).order_by(Committee.id).limit(1)).scalar_one_or_none()
    return local_date(now, tz or DEFAULT_TZ)


def report_title(data: Mapping[str, Any]) -> str:
    """"Báo cáo tình hình thực hiện KH-57-LS tháng 05/2025" (for file names and mail subjects)."""
    lang = data.get("lang", "vi")
    return _t(lang, f"Báo cáo tình hình thực hiện {data['plan']['code']} {data['period']['label']}",
              f"Progress report {data['plan']['code']} {data['period']['label']}")


__all__ = [
    "COUNT_KEYS", "KINDS", "SCHEMA", "ReportPeriod", "StatusRules", "build_report", "check_cutoff", "committee_today",
    "committee_rules", "kind_label", "load_rules_file", "make_period", "normalise_kind", "parse_period",
    "parse_rules", "period_for", "period_label", "previous_period", "report_title", "unit_status",
]

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
or a YAML file, see :func:`parse_rules`). The default rule, ``share_due``
(``engine.heatrules``): of the unit's items due by the milestone M (default E, the as-of date;
optionally one plan section only), the share completed at E: green from 90 %, yellow from
70 %, red below (each unit's ``due_tally`` gives the figures and the overdue ones). The named
rule ``any_overdue`` (the former default): red = at least one overdue item;
yellow = an open item due within 7 days of E with no progress (note or status change)
since the period start, or an on-time rate (on time / (on time + late)) under 80 %;
green otherwise. Units are ranked green, yellow, red, then (share_due) by the higher share of
due items done, then by fewer overdue items, higher completion rate, higher on-time rate, code.

Changes since the previous report: the previous period of the same kind, computed as of
its own end (with the same rules): items newly completed, newly overdue, and extensions
approved from the period start to E.
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, and_, case, func, null, or_, select, true, type_coerce
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from engine import heatrules
from engine.clock import DEFAULT_TZ, end_of_local_day, local_date, local_datetime
from engine.documents import find_documents
from engine.errors import NotFound, UserError
from engine.i18n import norm_lang, tr
from engine.models import Committee, Event, Person, Plan, Section, Task, Unit, WorkItem
from engine.periods import add_months, month_end, read_period
from engine.states import PlanStatus, Role, Status
from engine.timeliness import completion_of
from engine.txcache import committee_row, committee_settings

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
        raise UserError(tr(lang, "rep.unknown_report_kind_use", kind=kind, KINDS=', '.join(KINDS)))
    return k


def check_cutoff(cutoff_day: int | None, *, lang: str = "vi") -> int | None:
    if cutoff_day in (None, 0):
        return None
    if not isinstance(cutoff_day, int) or not 1 <= cutoff_day <= 28:
        raise UserError(tr(lang, "rep.invalid_cut_off_day_use", cutoff_day=cutoff_day))
    return cutoff_day


def check_as_of(as_of: date, *, lang: str = "vi") -> date:
    """The as-of date of a report, within the years periods can have (2000-2100, as
    :func:`parse_period`): a date far outside would only overflow the date arithmetic."""
    if not 2000 <= as_of.year <= 2100:
        d, m, y = as_of.day, as_of.month, as_of.year
        raise UserError(tr(lang, "rep.as_date_outside_years_2000", d=d, m=m, y=y))
    return as_of


def make_period(kind: str, year: int, number: int = 1, *, cutoff_day: int | None = None,
                lang: str = "vi") -> ReportPeriod:
    """The period ``number`` of ``year`` (month 1-12, quarter 1-4, half 1-2; 1 for a year)."""
    kind = normalise_kind(kind, lang=lang)
    cutoff_day = check_cutoff(cutoff_day, lang=lang)
    span = KINDS[kind]
    count = 12 // span
    if not 1 <= number <= count:
        raise UserError(tr(lang, "rep.bad_period_number", number=number, kind=kind, count=count))
    last = number * span
    first = last - span + 1
    if cutoff_day is None:
        start, end = date(year, first, 1), month_end(year, last)
    else:
        py, pm = add_months(year, first, -1)
        start, end = date(py, pm, cutoff_day + 1), date(year, last, cutoff_day)
    return ReportPeriod(kind, year, number, start, end, cutoff_day)


# engine.periods' kinds -> report kinds
_REPORT_KIND = {"month": "monthly", "quarter": "quarterly", "half": "semiannual", "year": "annual"}


def parse_period(text: str, *, kind: str | None = None, cutoff_day: int | None = None,
                 lang: str = "vi") -> ReportPeriod:
    """"2025-05" / "05/2025", "2025-Q2" / "Q2/2025", "2025-H1" / "H1/2025", "2025".

    With ``kind`` the text must be of that kind ("2025-Q2" for a monthly report is an error)."""
    s = (text or "").strip()
    want = normalise_kind(kind, lang=lang) if kind else None
    found = read_period(s)
    if found is None:
        raise UserError(tr(lang, "rep.invalid_period", s=s))
    k, y, n = _REPORT_KIND[found[0]], found[1], found[2]
    if not 2000 <= y <= 2100:
        raise UserError(tr(lang, "rep.period_year_outside_2000_2100", s=s, y=y))
    if k == "monthly" and not 1 <= n <= 12:
        raise UserError(tr(lang, "rep.period_there_no_month", s=s, n=n))
    if want and k != want:
        raise UserError(tr(lang, "rep.period_not_of_kind", s=s, kind=tr(lang, f"rep.kind_word.{want}"),
                           example=_example(want)))
    return make_period(k, y, n, cutoff_day=cutoff_day, lang=lang)


def _example(kind: str) -> str:
    return {"monthly": "2025-05", "quarterly": "2025-Q2", "semiannual": "2025-H1", "annual": "2025"}[kind]


def period_for(kind: str, day: date, *, cutoff_day: int | None = None) -> ReportPeriod:
    """The period of ``kind`` labelled with ``day``'s calendar month (see the module docstring)."""
    kind = normalise_kind(kind)
    span = KINDS[kind]
    return make_period(kind, day.year, (day.month - 1) // span + 1, cutoff_day=cutoff_day)


def previous_period(p: ReportPeriod) -> ReportPeriod:
    span = KINDS[p.kind]
    y, m = add_months(p.year, p.number * span, -span)
    return make_period(p.kind, y, m // span, cutoff_day=p.cutoff_day)


def kind_label(kind: str, lang: str = "vi") -> str:
    return tr(lang, f"rep.kind.{kind}")


def period_label(p: ReportPeriod | Mapping[str, Any], lang: str = "vi") -> str:
    """"tháng 5/2025", "quý II/2025", "6 tháng đầu năm 2025", "năm 2025" (English with lang="en")."""
    if isinstance(p, Mapping):
        kind, year, number = p["kind"], p["year"], p["number"]
    else:
        kind, year, number = p.kind, p.year, p.number
    if kind == "monthly":
        return tr(lang, "rep.period.monthly", month=date(year, number, 1))
    if kind == "quarterly":
        return tr(lang, "rep.period.quarterly", quarter=tr(lang, f"rep.quarter.{number}"), year=year)
    if kind == "semiannual":
        return tr(lang, "rep.period.first_half" if number == 1 else "rep.period.second_half", year=year)
    return tr(lang, "rep.period.annual", year=year)


def period_key_label(key: str, lang: str = "vi") -> str:
    """The words of a period key as stored ("2025-07" -> "tháng 7/2025", "2025-Q2" -> "quý
    II/2025", "2025-H1", "2025"); the key itself when it is no period."""
    from engine.periods import read_period

    found = read_period(key)
    if found is None:
        return key
    kind, year, number = found
    kinds = {"month": "monthly", "quarter": "quarterly", "half": "semiannual", "year": "annual"}
    try:
        return period_label({"kind": kinds[kind], "year": year, "number": number}, lang)
    except (KeyError, ValueError):
        return key


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
    # which rule colours the units (engine.heatrules): "share_due" (default) or "any_overdue"
    # (the red/yellow conditions above); the share rule's thresholds and optional scope
    rule: str = heatrules.DEFAULT_RULE
    green_at: float = heatrules.DEFAULT_GREEN_AT
    yellow_at: float = heatrules.DEFAULT_YELLOW_AT
    milestone: date | None = None
    section: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "green_at": self.green_at, "yellow_at": self.yellow_at,
            "milestone": _iso(self.milestone), "section": self.section,
            "red": {"overdue_at_least": self.red_overdue_at_least},
            "yellow": {"due_within_days": self.yellow_due_within_days,
                       "without_progress": self.yellow_require_progress,
                       "on_time_rate_below": self.yellow_on_time_rate_below,
                       "overdue_at_least": self.yellow_overdue_at_least},
        }


RULE_KEYS = {"red": {"overdue_at_least"},
             "yellow": {"due_within_days", "without_progress", "on_time_rate_below", "overdue_at_least"}}
TOP_RULE_KEYS = ("rule", "green_at", "yellow_at", "milestone", "section")  # engine.heatrules.parse_share


def parse_rules(raw: Any, *, source: str = "status_rules", lang: str = "vi") -> StatusRules:
    """Rules from a mapping such as::

        rule: share_due            # or any_overdue (the red/yellow conditions below)
        green_at: 0.9              # share_due: green from 90 % of the due items done,
        yellow_at: 0.7             #   yellow from 70 %, red below
        milestone: 2025-08-10      # optional: items due by this date (default the as-of date)
        section: II                # optional: one plan section only
        red:    {overdue_at_least: 1}
        yellow: {due_within_days: 7, without_progress: true, on_time_rate_below: 0.8}

    Missing keys keep their defaults; ``null`` switches a yellow rule off. A rate may be
    written 0.8 or 80 (percent). Errors name the source and the key."""
    if raw is None:
        return StatusRules()
    if not isinstance(raw, Mapping):
        raise UserError(tr(lang, "rep.status_rules_must_be_mapping", source=source))
    bad = set(raw) - set(RULE_KEYS) - set(TOP_RULE_KEYS)
    if bad:
        raise UserError(tr(lang, "rep.unknown_key_s_use_red", source=source, sorted=', '.join(sorted(map(str, bad)))))
    vals: dict[str, Any] = heatrules.parse_share(raw, source=source, lang=lang)
    for level, keys in RULE_KEYS.items():
        sub = raw.get(level) or {}
        if not isinstance(sub, Mapping):
            raise UserError(tr(lang, "rep.must_be_mapping", source=source, level=level))
        unknown = set(sub) - keys
        if unknown:
            raise UserError(tr(lang, "rep.unknown_key_s_use", source=source, level=level,
                               sorted=', '.join(sorted(map(str, unknown))),
                               sorted2=', '.join(sorted(keys))))
        for k, v in sub.items():
            where = f"{source}.{level}.{k}"
            if k == "without_progress":
                if not isinstance(v, bool):
                    raise UserError(tr(lang, "rep.must_be_true_or_false", where=where, v=v))
                vals["yellow_require_progress"] = v
                continue
            if v is None:
                if level == "red":
                    raise UserError(tr(lang, "rep.cannot_be_empty", where=where))
                vals[f"{level}_{k}"] = None
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UserError(tr(lang, "rep.must_be_number_got", where=where, v=v))
            if k == "on_time_rate_below":
                rate = float(v) / 100 if v > 1 else float(v)
                if not 0 <= rate <= 1:
                    raise UserError(tr(lang, "rep.must_be_within_0_1", where=where, v=v))
                vals[f"{level}_{k}"] = rate
            else:
                if v < 0 or int(v) != v or (k == "overdue_at_least" and v < 1):
                    key = "rep.rule_whole_number_min1" if k == "overdue_at_least" else "rep.rule_whole_number_min0"
                    raise UserError(tr(lang, key, where=where, v=v))
                vals[f"{level}_{k}"] = int(v)
    return StatusRules(**vals)


def load_rules_file(path: str | Path, *, lang: str = "vi") -> StatusRules:
    """Rules from a YAML file (the mapping of :func:`parse_rules`, optionally under ``status_rules:``)."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UserError(tr(lang, "rep.cannot_read_rules_file", p=p, value=exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" ({tr(lang, 'rep.line')} {mark.line + 1})" if mark else ""
        raise UserError(tr(lang, "rep.rules_file_not_valid_yaml", p=p, where=where)) from None
    if isinstance(data, Mapping) and "status_rules" in data:
        data = data["status_rules"]
    return parse_rules(data, source=p.name, lang=lang)


def committee_rules(session: Session, *, lang: str = "vi") -> StatusRules:
    c = committee_row(session)
    raw = (c.settings or {}).get("status_rules") if c is not None else None
    return parse_rules(raw, source="Committee.settings.status_rules", lang=lang)


def with_rule(rules: StatusRules, name: str | None, *, lang: str = "vi") -> StatusRules:
    """``rules`` with the colour rule ``name`` (``share_due`` / ``any_overdue``); None keeps it."""
    if not name:
        return rules
    from dataclasses import replace

    return replace(rules, **heatrules.parse_share({"rule": name}, source="rule", lang=lang))


def unit_status(counts: Mapping[str, Any], rules: StatusRules,
                due_tally: Mapping[str, Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(green|yellow|red, reasons) for one unit: the ``share_due`` rule from its ``due_tally``
    (:meth:`engine.heatrules.DueTally.as_dict`), or the ``any_overdue`` rule from its counts."""
    if rules.rule == heatrules.SHARE_DUE and due_tally is not None:
        return heatrules.share_status(due_tally, green_at=rules.green_at, yellow_at=rules.yellow_at)
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
# The plan, and each work item's state at the as-of instant (from the event log)
# =====================================================================================


@dataclass
class _Loaded:
    plan: Plan
    tz: str
    settings: dict[str, Any]
    committee: Committee | None
    # the tasks created by the as-of instant, in plan order: (id, code, title, deliverable, lead_text,
    # coordinating_text, deadline, deadline_text, deadline_kind, section_id)
    tasks: list[tuple[Any, ...]]
    sections: dict[int, tuple[str, str, int]]
    units: dict[int, tuple[str, str]]
    people: dict[str, str]
    deadline_changes: bool  # the plan has "deadline_changed" events (plan revisions)


def _plan_for(session: Session, plan_code: str | None, lang: str) -> Plan:
    if plan_code:
        plan = session.execute(select(Plan).where(Plan.code == plan_code.strip())).scalar_one_or_none()
        if plan is None:
            known = session.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
            hint = tr(lang, "rep.hint_loaded_plans", plans=", ".join(known)) if known else tr(lang, "rep.hint_no_plan")
            raise NotFound(tr(lang, "rep.there_no_plan", plan_code=plan_code, hint=hint))
        return plan
    plans = session.execute(select(Plan).where(Plan.status != PlanStatus.CANCELLED, Plan.parent_plan_id.is_(None))
                            .order_by(Plan.code)).scalars().all()
    if len(plans) == 1:
        return plans[0]
    if not plans:
        raise UserError(tr(lang, "rep.no_plan_loaded_use_steer"))
    raise UserError(tr(lang, "rep.there_plans_pick_one_with", n_plans=len(plans),
                       items=', '.join(p.code for p in plans)))


def _load(session: Session, plan: Plan, cut: datetime) -> _Loaded:
    committee = committee_row(session)
    tz = (committee.timezone if committee is not None else None) or DEFAULT_TZ
    settings = dict(committee.settings or {}) if committee is not None else {}
    settings.update(plan.settings or {})
    tasks = session.execute(
        select(Task.id, Task.code, Task.title, Task.deliverable, Task.lead_text, Task.coordinating_text,
               Task.deadline, Task.deadline_text, Task.deadline_kind, Task.section_id)
        .where(Task.plan_id == plan.id, Task.created_at <= cut).order_by(Task.position, Task.id)).all()
    sections = {sid: (code, title, pos) for sid, code, title, pos in session.execute(
        select(Section.id, Section.code, Section.title, Section.position).where(Section.plan_id == plan.id))}
    units = {uid: (code, name) for uid, code, name in session.execute(select(Unit.id, Unit.code, Unit.name))}
    changes = session.execute(select(Event.id).where(Event.plan_id == plan.id, Event.kind == "deadline_changed")
                              .limit(1)).first() is not None
    people = dict(session.execute(select(Person.id, Person.name)).all())
    return _Loaded(plan, tz, settings, committee, list(tasks), sections, units, people, changes)


# A work item's state, as the statements of _state_rows return it (one row per item):
# (id, task_id, unit_id, occurrence, status, deadline, completed_at, final, completion, imported, exists_before)
# where completed_at is raw (SQLite: naive UTC) and set when the status is completed; ``final``: 1 when
# ``completion`` is the completion in force (what the lifecycle recorded for this completion, or what is
# stored for an item completed without events), else it is judged (or taken from the import);
# ``imported``: the id of the importing event that completed the item; ``exists_before``: 1 when the item
# (and its task) existed at the previous report's instant.


def _state_rows(session: Session, ld: _Loaded, cut: datetime, before: datetime, *,
                changed_by: datetime | None = None) -> list[tuple[Any, ...]]:
    """Every work item (of a task) that exists at ``cut``, with its status, deadline in force and
    completion at that instant, in one SQL statement.

    Per item: the last status event and the last deadline event at or before ``cut``. Before its
    first status event an item was in that event's ``from_status`` (looked up unless the item is
    stored as not started); before its first deadline event its deadline was that event's
    ``deadline_before`` (looked up when the stored deadline moved, or the plan was revised). Those
    first events are looked up only for the few items that need them (``CASE`` evaluates its
    branches lazily).

    ``changed_by``: just the items with a status or deadline event in (``cut``, ``changed_by``] —
    the previous report (``cut``) needs its own states only for those; every other item was then
    as it is at ``changed_by``. SQLite, and PostgreSQL for those few items, answer with index seeks on
    ``ix_event_item_kind_at`` (one per item); PostgreSQL answers for all items with ``DISTINCT ON``
    passes over the plan's log (hash joins).
    """
    w, t, ev = WorkItem.__table__, Task.__table__, Event.__table__
    plan_id = ld.plan.id
    # one kind per lookup, so the index gives the order (an IN over kinds would sort per item)
    dl_kinds = DEADLINE_EVENTS if ld.deadline_changes else ("extension_approved",)
    moved = true() if ld.deadline_changes else w.c.deadline.is_distinct_from(w.c.original_deadline)
    mode = ("seek" if session.get_bind().dialect.name != "postgresql"
            else "lateral" if changed_by is not None else "distinct_on")

    def kind_is(e: Any, kinds: tuple[str, ...]) -> Any:
        return e.c.kind == kinds[0] if len(kinds) == 1 else e.c.kind.in_(kinds)

    def last(kinds: tuple[str, ...], names: tuple[str, ...], item: Any) -> Any:
        """The item's last event of ``kinds`` at or before ``cut`` (correlated)."""
        e = ev.alias()
        return (select(*(e.c[c] for c in names)).where(e.c.work_item_id == item, kind_is(e, kinds), e.c.at <= cut)
                .order_by(e.c.at.desc(), e.c.id.desc()).limit(1))

    def first(kinds: tuple[str, ...], col: str, item: Any) -> Any:
        e = ev.alias()
        return (select(e.c[col]).where(e.c.work_item_id == item, kind_is(e, kinds))
                .order_by(e.c.at.asc(), e.c.id.asc()).limit(1).scalar_subquery())

    cols: list[Any] = [w.c.id, w.c.task_id, w.c.unit_id, w.c.occurrence, w.c.status, w.c.deadline,
                       type_coerce(w.c.completed_at, DateTime()).label("completed_at"),  # raw: converted when used
                       w.c.completion, case((moved, 1), else_=0).label("moved"),
                       case((and_(w.c.created_at <= before, t.c.created_at <= before), 1), else_=0).label("exists_before")]
    items: Any = w.join(t, t.c.id == w.c.task_id)
    if changed_by is not None:  # driven by the few changed items (a derived table, so SQLite starts from it)
        e = ev.alias()
        changed = (select(e.c.work_item_id)
                   .where(e.c.plan_id == plan_id, e.c.kind.in_(("status", *dl_kinds)), e.c.at > cut,
                          e.c.at <= changed_by, e.c.work_item_id.is_not(None)).distinct().subquery("changed"))
        items = changed.join(w, w.c.id == changed.c.work_item_id).join(t, t.c.id == w.c.task_id)
    if mode == "seek":
        cols += [last(("status",), ("id",), w.c.id).scalar_subquery().label("st_id"),
                 last(dl_kinds, ("id",), w.c.id).scalar_subquery().label("dl_id")]
    base = (select(*cols).select_from(items)
            .where(t.c.plan_id == plan_id, w.c.created_at <= cut, t.c.created_at <= cut).subquery("base"))
    b = base.c
    if mode == "seek":
        st, dl = ev.alias("st"), ev.alias("dl")
        joined = base.outerjoin(st, st.c.id == b.st_id).outerjoin(dl, dl.c.id == b.dl_id)
    elif mode == "lateral":
        st = last(("status",), ("id", "to_status", "at", "actor"), b.id).lateral("st")
        dl = last(dl_kinds, ("id", "deadline_after"), b.id).lateral("dl")
        joined = base.outerjoin(st, true()).outerjoin(dl, true())
    else:
        from sqlalchemy.dialects.postgresql import distinct_on

        def last_each(kinds: tuple[str, ...], names: tuple[str, ...], name: str) -> Any:
            e = ev.alias()
            return (select(e.c.work_item_id, *(e.c[c] for c in names))
                    .where(e.c.plan_id == plan_id, e.c.work_item_id.is_not(None), kind_is(e, kinds), e.c.at <= cut)
                    .order_by(e.c.work_item_id, e.c.at.desc(), e.c.id.desc())
                    .ext(distinct_on(e.c.work_item_id)).subquery(name))

        st = last_each(("status",), ("id", "to_status", "at", "actor"), "st")
        dl = last_each(dl_kinds, ("id", "deadline_after"), "dl")
        joined = base.outerjoin(st, st.c.work_item_id == b.id).outerjoin(dl, dl.c.work_item_id == b.id)
    s_id, s_to, s_actor, d_id = st.c.id, st.c.to_status, st.c.actor, dl.c.id
    s_at = type_coerce(st.c.at, DateTime())
    status = case((s_id.is_not(None), s_to),
                  (b.status != Status.NOT_STARTED, func.coalesce(first(("status",), "from_status", b.id), b.status)),
                  else_=b.status)
    deadline = case((d_id.is_not(None), dl.c.deadline_after),
                    (and_(b.moved == 1, first(dl_kinds, "id", b.id).is_not(None)),
                     first(dl_kinds, "deadline_before", b.id)),
                    else_=b.deadline)
    stmt = select(
        b.id, b.task_id, b.unit_id, b.occurrence, status, deadline,
        case((s_id.is_(None), b.completed_at), (s_to == Status.COMPLETED, s_at), else_=None),
        # the completion the lifecycle recorded is still in force (or no status event: what is stored)
        case((s_id.is_(None), 1), (and_(s_to == Status.COMPLETED, b.status == Status.COMPLETED, b.completion.is_not(None),
                                        b.completion != "", b.completed_at == st.c.at), 1), else_=0),
        b.completion,
        case((and_(s_to == Status.COMPLETED, s_actor == "import"), s_id), else_=null()),
        b.exists_before,
    ).select_from(joined)
    return session.execute(stmt).all()


def _imported(session: Session, event_ids: Iterable[int]) -> dict[int, str]:
    """The completion (on time / late / unknown) recorded by importing events (a state row's
    10th column: the event that completed an item is an import), by event id."""
    ids = sorted(event_ids)
    out: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        for eid, data in session.execute(select(Event.id, Event.data).where(Event.id.in_(ids[i:i + 500]))):
            c = data.get("completion") if isinstance(data, dict) else None
            if c in ("on_time", "late", "unknown"):
                out[eid] = c
    return out


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


def _sig(bucket: str, completion: str | None = None, due: bool = False, noted: bool = False, due_soon: bool = False,
         progress: bool = False) -> tuple[Any, ...]:
    return (bucket, completion, due, noted, due_soon, progress)


OUT = "out_of_scope"
_OUT_SIG = _sig(OUT)
_CANCELLED_SIG = _sig("cancelled")
_ONGOING_SIG, _NOTED_SIG = _sig("ongoing"), _sig("ongoing", noted=True)
_NO_DEADLINE_SIG, _OVERDUE_SIG = _sig("no_deadline"), _sig("overdue")
# open, not overdue: [bucket][due soon][progress]
_OPEN_SIGS = {b: ((_sig(b), _sig(b)), (_sig(b, due_soon=True), _sig(b, due_soon=True, progress=True)))
              for b in ("in_progress_within_deadline", "not_yet_due")}


def _classifier(session: Session, ld: _Loaded, w: _Window,
                kinds: Mapping[int, str | None]) -> Callable[[int, int, str, date | None, str | None], tuple[Any, ...]]:
    """Puts an item in its bucket for one window (recurring occurrences outside [S, D]: OUT)::

        completed                    completed at E
        overdue                      open, deadline < E
        in_progress_within_deadline  open, E <= deadline <= D
        not_yet_due                  open, deadline > D
        ongoing                      an ongoing task (noted: a progress note in the period)
        no_deadline                  open, no deadline

    and returns what counting looks at: the signature (bucket, completion, due by D, noted, due
    soon, progress since the period start). Signatures take few distinct values (the same tuple
    objects are returned), so items are tallied by signature and each signature's count keys
    are added once."""
    noted = _items_with_events(session, ld.plan.id, ("note",), w.start_at, w.period_cut)
    active = _items_with_events(session, ld.plan.id, ("note", "status"), w.start_at, w.cut)
    start, as_of, due_by = w.start, w.as_of, w.due_by
    soon = as_of + timedelta(days=w.due_soon_days)
    within, not_yet = _OPEN_SIGS["in_progress_within_deadline"], _OPEN_SIGS["not_yet_due"]
    done_sigs: dict[tuple[str | None, bool], tuple[Any, ...]] = {}

    def classify(iid: int, tid: int, status: str, dl: date | None, completion: str | None) -> tuple[Any, ...]:
        if status == Status.CANCELLED:
            return _CANCELLED_SIG
        kind = kinds[tid]
        if kind == "recurring" and (dl is None or dl < start or dl > due_by):
            return _OUT_SIG  # counted by another period's report
        if kind == "ongoing":
            return _NOTED_SIG if iid in noted else _ONGOING_SIG
        if status == Status.COMPLETED:
            key = (completion, dl is not None and dl <= due_by)
            sig = done_sigs.get(key)
            if sig is None:
                sig = done_sigs[key] = _sig("completed", *key)
            return sig
        if dl is None:
            return _NO_DEADLINE_SIG
        if dl < as_of:
            return _OVERDUE_SIG
        sigs = within if dl <= due_by else not_yet
        if dl <= soon:
            return sigs[1][iid in active]
        return sigs[0][0]

    return classify


def _empty_counts() -> dict[str, Any]:
    return dict.fromkeys(COUNT_KEYS, 0)


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


def _add_tally(counts: dict[str, Any], tally: Mapping[tuple[Any, ...], int]) -> dict[str, Any]:
    for sig, n in tally.items():
        for k in _sig_keys(sig):
            counts[k] += n
    return counts


_TASK_ORDER = ("ongoing", "overdue", "in_progress_within_deadline", "not_yet_due", "no_deadline")
_DUE = frozenset(("overdue", "in_progress_within_deadline"))
_UNASSIGNED = ("unassigned", None, False, False, False, False)
_CANCELLED = ("cancelled", None, False, False, False, False)

# an item counted in the report (in the period's scope), as build_report keeps it
# (id, task_id, unit_id, occurrence, status, deadline, completed_at, completion, signature)
_ID, _TID, _UID, _OCC, _STATUS, _DL, _DONE, _COMPLETION, _SIG = range(9)


def _task_info(cs: Sequence[tuple[Any, ...]], due_by: date) -> tuple[str, str | None, bool, bool, bool, bool]:
    """(bucket, completion, is_due, ongoing with results, due soon, due soon without progress) of a
    task from its in-scope items: the worst live item wins.

    A task is due soon without progress when one of its items is (an item due soon whose unit
    recorded nothing since the period start)."""
    if len(cs) == 1:
        sig = cs[0][_SIG]
        b = sig[0]
        if b == "cancelled":
            return _CANCELLED
        if b == "completed":
            return "completed", cs[0][_COMPLETION] or "unknown", sig[2], False, False, False
        return b, None, b in _DUE, sig[3], sig[4], sig[4] and not sig[5]
    live = [c for c in cs if c[_SIG][0] != "cancelled"]
    if not live:
        return _CANCELLED
    buckets = {c[_SIG][0] for c in live}
    completion: str | None = None
    for b in _TASK_ORDER:
        if b in buckets:
            due = b in _DUE
            break
    else:
        b = "completed"
        completions = {c[_COMPLETION] for c in live}
        completion = "late" if "late" in completions else ("unknown" if "unknown" in completions or None in completions
                                                           else "on_time")
        due = any(c[_DL] is not None and c[_DL] <= due_by for c in live)
    results = b == "ongoing" and any(c[_SIG][3] for c in live)
    soon = [c for c in live if c[_SIG][4]]
    return b, completion, due, results, bool(soon), any(not c[_SIG][5] for c in soon)


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


class _IsoDates(dict):  # type: ignore[type-arg]
    """date -> ISO text (None -> None), each date formatted once."""

    def __missing__(self, d: date | None) -> str | None:
        s = self[d] = d.isoformat() if d is not None else None
        return s


def _utc(moment: datetime) -> datetime:
    """A raw instant read from the database as an aware one (SQLite keeps naive UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _header(ld: _Loaded, session: Session) -> dict[str, Any]:
    return _header_of(session, ld.committee, ld.settings, ld.tz, ld.plan.issued_by_unit_id)


def committee_header(session: Session) -> dict[str, Any]:
    """The committee's header block (name, authority, place, signer …) as a report has it, for a
    document that belongs to no plan (the roll-up of the child units, engine.rollup)."""
    from engine.txcache import committee_row, committee_settings

    tz, settings = committee_settings(session)
    return _header_of(session, committee_row(session), settings, tz, None)


def _header_of(session: Session, c: Committee | None, settings: dict[str, Any], tz: str,
               issuer_unit_id: int | None) -> dict[str, Any]:
    name = c.name if c is not None else "Ban Chỉ đạo"
    m = re.search(r"\b(tỉnh|thành phố)\s+(.+)$", name, re.IGNORECASE)
    place = settings.get("report_place") or (m.group(2).strip() if m else None)
    authority = settings.get("report_authority")
    if not authority:
        issuer = session.get(Unit, issuer_unit_id) if issuer_unit_id else None
        if issuer is not None and issuer.kind == "province":
            authority = issuer.name
        elif m:
            authority = f"Ủy ban nhân dân {m.group(1).lower()} {m.group(2).strip()}"
    recipients = settings.get("report_recipients")
    return {
        "name": name, "short_name": c.short_name if c is not None else None,
        "authority": authority, "place": place, "timezone": tz,
        "recipients": [str(r) for r in recipients] if isinstance(recipients, list) else None,
        "signer_title": settings.get("report_signer_title"), "signer_name": settings.get("report_signer_name"),
        "signer": _signer(session, settings.get("report_signer")),
    }


def _signer(session: Session, choice: Any) -> dict[str, Any] | None:
    """Who signs the report, from the directory: the person ``choice`` names (setting
    ``report_signer``: a person id, or the role "chair" / "vice_chair"), by default the chair; the
    first vice-chair in id order when there is no chair. ``role`` decides the signature title
    (TM. BAN CHỈ ĐẠO / TRƯỞNG BAN, or KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN)."""
    leaders = session.execute(
        select(Person.id, Person.name, Person.title, Person.role)
        .where(Person.role.in_((Role.CHAIR, Role.VICE_CHAIR)), Person.active.is_(True)).order_by(Person.id)).all()
    pick = [p for p in leaders if p.id == choice] or [p for p in leaders if p.role == (choice or Role.CHAIR)] \
        or [p for p in leaders if p.role == Role.CHAIR] or list(leaders)
    if not pick:
        return None
    p = pick[0]
    return {"person": p.id, "name": p.name, "title": p.title, "role": p.role}


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


def _adoption(session: Session, plan: Plan, cut: datetime, lang: str = "vi") -> dict[str, Any] | None:
    """adoption_status, counting only adoptions registered (or child plans loaded) by the as-of instant."""
    from engine.adoption import adoption_status

    expected = (plan.settings or {}).get("adoption_expected", "lead_units")
    status = adoption_status(session, plan.code, expected=expected, now=cut, lang=lang)
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
        .where(Plan.parent_plan_id == plan.id, Plan.created_at <= cut, Plan.status != PlanStatus.CANCELLED))}

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


def _timeline(session: Session, ld: _Loaded, universe: set[int], due_at: Mapping[date, int],
              done_without_events: Sequence[tuple[int, datetime]], w: _Window) -> list[dict[str, Any]]:
    """Cumulative completed vs due work items (recurring occurrences included, ongoing tasks and
    items cancelled by E not) at each month end from the first item to E, and at E.

    ``universe``: those items; ``due_at``: how many of them fall due on each day;
    ``done_without_events``: (id, completed_at) of those completed at E."""
    if not universe:
        return []
    tz = ld.tz
    first = session.execute(
        select(func.min(WorkItem.created_at)).join(Task, Task.id == WorkItem.task_id)
        .where(Task.plan_id == ld.plan.id, WorkItem.created_at <= w.cut)).scalar_one()
    start = local_date(first, tz) if first is not None else w.as_of
    points: list[date] = []
    y, m = start.year, start.month
    while True:
        end = month_end(y, m)
        if end >= w.as_of:
            break
        points.append(end)
        y, m = add_months(y, m, 1)
    points = points[-35:] + [w.as_of]
    # a completion on local day d counts at the first point >= d, i.e. at the first point whose
    # end (the instant the report cuts at) is >= the completing instant: the statement says which
    ends = [end_of_local_day(pt, tz) for pt in points]
    slot = case(*((Event.at <= end, i) for i, end in enumerate(ends)), else_=len(ends))
    deltas = [0] * (len(points) + 1)  # the last slot: after E (never shown)
    done: set[int] = set()
    touched: set[int] = set()
    for wid, i, to_status in session.execute(
        select(Event.work_item_id, slot, Event.to_status)
        .where(Event.plan_id == ld.plan.id, Event.kind == "status", Event.at <= w.cut,
               or_(Event.to_status == Status.COMPLETED, Event.from_status == Status.COMPLETED))
        .order_by(Event.at, Event.id)
    ).all():
        if wid not in universe:
            continue
        touched.add(wid)
        if to_status == Status.COMPLETED:
            if wid not in done:
                deltas[i] += 1
                done.add(wid)
        elif wid in done:
            deltas[i] -= 1
            done.discard(wid)
    for iid, completed_at in done_without_events:  # completed without any event (written directly)
        if iid not in touched and completed_at is not None:
            deltas[bisect_left(ends, completed_at)] += 1
    due_days = sorted(due_at)
    out = []
    j = n_done = n_due = 0
    for i, pt in enumerate(points):
        n_done += deltas[i]
        while j < len(due_days) and due_days[j] <= pt:
            n_due += due_at[due_days[j]]
            j += 1
        out.append({"date": pt.isoformat(), "completed": n_done, "due": n_due})
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the report is built: it allocates a few hundred thousand
    tuples and dicts (none in a cycle), and the collector's passes over them cost about as much as
    building them. Reference counting still frees everything; the collector is back on afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def _without_jit(session: Session) -> Iterator[None]:
    """PostgreSQL: no JIT compilation for the report's statements (restored afterwards).

    The report's few large statements cost enough for the planner to JIT-compile them, and
    compiling (seconds) costs far more than it saves on a plan's hundred thousand rows."""
    before = session.execute(sql_text("SELECT current_setting('jit', true)")).scalar_one() \
        if session.get_bind().dialect.name == "postgresql" else None
    if before is None:  # not PostgreSQL, or one without JIT
        yield
        return
    session.execute(sql_text("SELECT set_config('jit', 'off', true)"))
    try:
        yield
    finally:
        session.execute(sql_text("SELECT set_config('jit', :v, true)"), {"v": before})


def build_report(session: Session, *, plan_code: str | None = None, kind: str = "monthly",
                 period: str | ReportPeriod | None = None, as_of: date, cutoff_day: int | None = None,
                 rules: StatusRules | None = None, lang: str = "vi") -> dict[str, Any]:
    """The report data (a JSON-ready dict; see ``docs/report-schema.md``).

    ``period``: a key ("2025-05", "2025-Q2", ...) or a :class:`ReportPeriod`; default the
    period of ``kind`` labelled with ``as_of``'s month. ``as_of``: the committee-local
    date the figures are computed at. ``rules``: default the committee's
    ``settings["status_rules"]`` (or the built-in defaults). The result depends only on
    the database as it stood at the end of ``as_of`` and on the arguments."""
    with _without_jit(session), _gc_paused():
        return _build_report(session, plan_code=plan_code, kind=kind, period=period, as_of=as_of,
                             cutoff_day=cutoff_day, rules=rules, lang=lang)


def _build_report(session: Session, *, plan_code: str | None, kind: str, period: str | ReportPeriod | None,
                  as_of: date, cutoff_day: int | None, rules: StatusRules | None, lang: str) -> dict[str, Any]:
    kind = normalise_kind(kind, lang=lang)
    as_of = check_as_of(as_of, lang=lang)
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
        raise UserError(tr(lang, "rep.as_of_before_period", as_of=as_of, period=period_label(p, lang), start=p.start))
    rules = rules or committee_rules(session, lang=lang)
    tz, _ = committee_settings(session)
    due_soon_days = rules.yellow_due_within_days if rules.yellow_due_within_days is not None else 7
    w = _window(p, as_of, tz, due_soon_days)
    pp = previous_period(p)
    wp = _window(pp, pp.end, tz, due_soon_days)
    first = session.scalar(select(func.min(Task.created_at)).where(Task.plan_id == plan.id))
    notice = None
    if first is not None and _utc(first) > w.cut:
        # Nothing of the plan existed at the end of as_of: the all-zero figures would read as
        # "nothing done". The report says so (a tracker's statuses can be dated with --status-date).
        notice = tr(lang, "rep.before_any_data", as_of=as_of.strftime("%d/%m/%Y"), plan=plan.code,
                    first=local_date(_utc(first), tz).strftime("%d/%m/%Y"))
    ld = _load(session, plan, w.cut)
    units = ld.units
    plan_ref = plan.code + "/"
    # (id, code, title, deliverable, lead_text, coordinating_text, deadline, deadline_text, deadline_kind, section_id)
    tasks_now = {t[0]: t for t in ld.tasks}
    kinds = {tid: t[8] for tid, t in tasks_now.items()}
    section_of = {tid: t[9] for tid, t in tasks_now.items()}

    # --- every item at E, and at the previous report's instant: the same state unless a status or
    # deadline event came in between (those few items are looked up again)
    rows = _state_rows(session, ld, w.cut, wp.cut)
    changed = _state_rows(session, ld, wp.cut, wp.cut, changed_by=w.cut)
    imported = _imported(session, {r[9] for r in rows if r[9] is not None} | {r[9] for r in changed if r[9] is not None})
    before: dict[int, tuple[str, date | None, str | None]] = {}
    for iid, _tid, _uid, _occ, status, dl, done_at, final, completion, imp, _ex in changed:
        if status == Status.COMPLETED and not final:
            completion = imported.get(imp) or completion_of(_utc(done_at), dl, tz)
        before[iid] = (status, dl, completion if status == Status.COMPLETED else None)
    classify, classify_before = _classifier(session, ld, w, kinds), _classifier(session, ld, wp, kinds)

    tally: dict[tuple[Any, ...], int] = defaultdict(int)  # (section, unit, signature) -> items
    prev_tally: dict[tuple[Any, ...], int] = defaultdict(int)  # signature at the previous instant -> items
    by_task: dict[int, list[tuple[Any, ...]]] = defaultdict(list)  # in-scope items of each task
    unit_of_task: dict[int, int] = {}
    multi: set[int] = set()  # tasks with several lead units
    universe: set[int] = set()  # for the timeline: not cancelled, not of an ongoing task
    due_at: dict[date, int] = defaultdict(int)
    done_items: list[tuple[int, datetime]] = []
    overdue_cs: list[tuple[Any, ...]] = []
    newly_completed_cs: list[tuple[Any, ...]] = []
    newly_overdue_cs: list[tuple[Any, ...]] = []
    for row in rows:
        iid, tid, uid, occ, status, dl, done_at, final, completion, imp, existed = row
        if status == Status.COMPLETED:
            if done_at is not None and done_at.tzinfo is None:
                done_at = done_at.replace(tzinfo=timezone.utc)  # SQLite keeps naive UTC
            if not final:
                completion = imported.get(imp) or completion_of(done_at, dl, tz)
        else:
            done_at = completion = None
        if unit_of_task.setdefault(tid, uid) != uid:
            multi.add(tid)
        sig = classify(iid, tid, status, dl, completion)
        if status != Status.CANCELLED and kinds[tid] != "ongoing":
            universe.add(iid)
            if dl is not None:
                due_at[dl] += 1
            if done_at is not None:
                done_items.append((iid, done_at))
        if existed:
            b = before.get(iid)
            b_status = status if b is None else b[0]
            psig = classify_before(iid, tid, b_status, dl, completion) if b is None else \
                classify_before(iid, tid, *b)
            if psig is not _OUT_SIG:
                prev_tally[psig] += 1
        else:
            psig = _OUT_SIG  # not there yet
        bucket = sig[0]
        if bucket == OUT:
            continue
        c = (iid, tid, uid, occ, status, dl, done_at, completion, sig)
        by_task[tid].append(c)
        tally[(section_of[tid], uid, sig)] += 1
        if bucket == "overdue":
            overdue_cs.append(c)
            if psig[0] != "overdue":
                newly_overdue_cs.append(c)
        elif bucket == "completed" and (psig is _OUT_SIG or b_status != Status.COMPLETED):
            newly_completed_cs.append(c)

    unit_code = {uid: u[0] for uid, u in units.items()}

    def ref(tid: int, uid: int, occ: str) -> str:
        r = plan_ref + tasks_now[tid][1]
        if tid in multi:
            r += "@" + unit_code[uid]
        return r + "#" + occ if occ else r

    # --- the plan, each section and each unit
    summary = _empty_counts()
    sec_counts: dict[int | None, dict[str, Any]] = defaultdict(_empty_counts)
    unit_counts: dict[int, dict[str, Any]] = defaultdict(_empty_counts)
    for (sid, uid, sig), n in tally.items():
        sc, uc = sec_counts[sid], unit_counts[uid]
        for k in _sig_keys(sig):
            summary[k] += n
            sc[k] += n
            uc[k] += n
    _finish(summary)
    # tasks whose items all lie outside the period (recurring, no occurrence in it) are left out
    infos: dict[int, tuple[str, str | None, bool, bool, bool, bool]] = {}
    due_by = w.due_by
    for tid in tasks_now:
        cs = by_task.get(tid)
        if cs is not None:
            infos[tid] = _task_info(cs, due_by)
        elif tid not in unit_of_task:
            infos[tid] = _UNASSIGNED
    task_summary = _task_counts(infos, infos)

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

    # --- units: the items due by the milestone (the share_due rule), then each unit's colour
    milestone = rules.milestone or as_of
    tallies = _due_tallies(by_task, kinds, section_of, ld.sections, rules.section, milestone, as_of,
                           lambda tid: tasks_now[tid][1], ref)
    units_out = []
    for uid, counts in unit_counts.items():
        _finish(counts)
        if counts["total"] == 0:
            continue
        counts["on_time_rate"] = counts["percent"]["on_time_of_completed"]
        counts["completion_rate"] = counts["percent"]["completed_of_due"]
        due_tally = tallies.get(uid, heatrules.DueTally()).as_dict(milestone)
        status, reasons = unit_status(counts, rules, due_tally)
        code, name = units[uid]
        units_out.append({"unit": code, "name": name, "status": status, "reasons": reasons, "counts": counts,
                          "due_tally": due_tally})
    rank_key = {"green": 0, "yellow": 1, "red": 2}
    share_first = rules.rule == heatrules.SHARE_DUE
    units_out.sort(key=lambda u: (rank_key[u["status"]],
                                  -(u["due_tally"]["share"] if share_first and u["due_tally"]["share"] is not None
                                    else 100.0),
                                  u["counts"]["overdue"],
                                  -(u["counts"]["completion_rate"] if u["counts"]["completion_rate"] is not None else -1),
                                  -(u["counts"]["on_time_rate"] if u["counts"]["on_time_rate"] is not None else -1),
                                  u["unit"]))
    for n, u in enumerate(units_out, start=1):
        u["rank"] = n
    status_totals = {s: sum(1 for u in units_out if u["status"] == s) for s in ("green", "yellow", "red")}

    # --- appendix: one row per task
    unit_name = {uid: u[1] for uid, u in units.items()}
    tasks_out = _appendix(session, ld, by_task, infos, ref, unit_code, unit_name, w)

    # most overdue first (references are unique: the keys never tie)
    as_of_day = w.as_of
    overdue_keyed = []
    for _iid, tid, uid, occ, status, dl, _done, _c, _sig in overdue_cs:
        r = ref(tid, uid, occ)
        days = (as_of_day - dl).days
        overdue_keyed.append(((-days, r), {"ref": r, "task": tasks_now[tid][1], "title": tasks_now[tid][2],
                                           "unit": unit_code[uid], "unit_name": unit_name[uid],
                                           "deadline": dl.isoformat(), "days_overdue": days, "status": status}))
    overdue_keyed.sort(key=itemgetter(0))
    overdue = [row for _key, row in overdue_keyed]

    changes = _changes(session, ld, newly_completed_cs, newly_overdue_cs, prev_tally, ref, tasks_now,
                       w, wp, pp, lang)

    return {
        **({"notice": notice} if notice else {}),
        "schema": SCHEMA,
        "lang": norm_lang(lang),
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
        "adoption": _adoption(session, plan, w.cut, lang),
        "indicators": _indicators(session, plan, p, w.cut),
        "changes": changes,
        "overdue_items": overdue,
        "timeline": _timeline(session, ld, universe, due_at, done_items, w),
        "tasks": tasks_out,
    }


def _due_tallies(by_task: Mapping[int, list[tuple[Any, ...]]], kinds: Mapping[int, str | None],
                 section_of: Mapping[int, int | None], sections: Mapping[int, tuple[str, str, int]],
                 section: str | None, milestone: date, as_of: date, task_code: Callable[[int], str],
                 ref: Callable[[int, int, str], str]) -> dict[int, heatrules.DueTally]:
    """Per unit: its counted items with a deadline on or before ``milestone`` (not cancelled, not
    of an ongoing task; only plan section ``section`` when given), how many are completed at E,
    and the open ones past their deadline at E."""
    out: dict[int, heatrules.DueTally] = defaultdict(heatrules.DueTally)
    for tid, cs in by_task.items():
        if kinds[tid] == "ongoing":
            continue
        if section is not None:
            sid = section_of[tid]
            if sid is None or sections.get(sid, ("",))[0] != section:
                continue
        for iid, _tid, uid, occ, status, dl, _done, _completion, sig in cs:
            if sig is _CANCELLED_SIG or dl is None or dl > milestone:
                continue
            late = None
            if status != Status.COMPLETED and dl < as_of:
                late = {"task": task_code(tid), "ref": ref(tid, uid, occ), "days_overdue": (as_of - dl).days}
            out[uid].add(completed=status == Status.COMPLETED, overdue_item=late)
    return out


def _appendix(session: Session, ld: _Loaded, by_task: Mapping[int, list[tuple[Any, ...]]],
              infos: Mapping[int, tuple[Any, ...]], ref: Callable[[int, int, str], str], unit_code: Mapping[int, str],
              unit_name: Mapping[int, str], w: _Window) -> list[dict[str, Any]]:
    """One row per task created by E, in plan order: what the plan asked, the deadlines in force,
    the task's bucket, how many of its units are done or late, its latest result, and (a task
    with several items in the period) each item."""
    notes = _latest_texts(session, ld.plan.id, w.cut, ld.tz)
    evidence = _latest_documents(session, ld.plan.id, w.cut)
    zone = ZoneInfo(ld.tz)
    tasks_out = []
    sections = ld.sections
    isos: dict[date | None, str | None] = _IsoDates()  # few distinct deadlines: format each once

    no_items: tuple[tuple[Any, ...], ...] = ()
    for t_id, t_code, t_title, t_deliverable, t_lead, t_coord, t_deadline, t_deadline_text, t_kind, t_section in ld.tasks:
        cs = by_task.get(t_id, no_items)
        info = infos.get(t_id)
        bucket, completion = (info[0], info[1]) if info is not None else ("no_occurrence", None)
        items = []
        if len(cs) == 1:  # most tasks: one lead unit, or one occurrence in the period
            c = cs[0]
            b, dl = c[_SIG][0], c[_DL]
            if b == "cancelled":
                live = done = 0
                deadlines, late_units, extended = [], [], False
            else:
                live, done = 1, int(b == "completed")
                late_units = [unit_code[c[_UID]]] if b == "overdue" else []
                deadlines = [isos[dl]] if dl is not None else []
                extended = t_kind == "date" and dl is not None and dl != t_deadline
        else:
            live = done = 0
            in_force: set[date] = set()
            late: set[str] = set()
            for c in cs:  # one pass over the task's items
                b = c[_SIG][0]
                if b == "cancelled":
                    continue
                live += 1
                if b == "completed":
                    done += 1
                elif b == "overdue":
                    late.add(unit_code[c[_UID]])
                if c[_DL] is not None:
                    in_force.add(c[_DL])
            deadlines = [isos[d] for d in sorted(in_force)]
            late_units = sorted(late)
            extended = t_kind == "date" and any(d != t_deadline for d in in_force)
            for c in sorted(cs, key=lambda c: (unit_code[c[_UID]], c[_OCC] or "")):
                _iid, _tid, uid, occ, st_status, dl, done_at, st_completion, sig = c
                items.append({"ref": ref(t_id, uid, occ), "unit": unit_code[uid], "unit_name": unit_name[uid],
                              "occurrence": occ or None, "deadline": isos[dl],
                              "status": st_status, "bucket": sig[0],
                              "completed_on": done_at.astimezone(zone).date().isoformat()
                              if done_at is not None else None,
                              "completion": st_completion})
        note = notes.get(t_id)
        tasks_out.append({
            "code": t_code, "section": sections[t_section][0] if t_section in sections else None,
            "title": t_title, "deliverable": t_deliverable or "", "lead": t_lead or "",
            "coordinating": t_coord or "", "deadline_text": t_deadline_text or "",
            "deadline": isos[t_deadline], "deadline_kind": t_kind,
            "deadlines_in_force": deadlines, "extended": extended,
            "status": bucket, "completion": completion, "units_total": live, "units_completed": done,
            "overdue_units": late_units,
            "result": note[0] if note else None, "result_date": note[1] if note else None,
            "percent": note[2] if note else None,
            "documents": evidence.get(t_id, []),
            "items": items,
        })

    return tasks_out


def _latest_documents(session: Session, plan_id: int, cut: datetime) -> dict[int, list[dict[str, Any]]]:
    """Per task: the official documents (engine.documents) its latest evidence at or before
    ``cut`` cites — what the committee checks a result by. Only events that carry evidence
    are read (submissions and notes with evidence: few per task)."""
    latest: dict[int, str] = {}
    for task_id, text in session.execute(
            select(Event.task_id, Event.evidence).where(Event.plan_id == plan_id, Event.task_id.is_not(None),
                                                        Event.evidence.is_not(None), Event.at <= cut,
                                                        Event.kind.in_(("status", "note")))
            .order_by(Event.at, Event.id)).all():
        latest[task_id] = text
    out: dict[int, list[dict[str, Any]]] = {}
    for task_id, text in latest.items():
        found = [d.as_dict() for d in find_documents(text)]
        if found:
            out[task_id] = found
    return out


def _latest_texts(session: Session, plan_id: int, cut: datetime, tz: str) -> dict[int, tuple[Any, ...]]:
    """Per task created by ``cut``: (text, local date, percent) of its latest progress note at or
    before ``cut``, else of the latest evidence given with a status change (no percent then).

    SQLite: two index seeks per task on ``ix_event_task_kind_at``; PostgreSQL: one ``DISTINCT ON``
    pass over the plan's notes and evidence."""
    t, ev = Task.__table__, Event.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import distinct_on

        e = ev.alias("e")
        is_note = e.c.kind == "note"
        latest: Any = (
            select(e.c.task_id, e.c.id)
            .where(e.c.plan_id == plan_id, e.c.task_id.is_not(None), e.c.at <= cut,
                   or_(and_(is_note, e.c.note.is_not(None)), and_(e.c.kind == "status", e.c.evidence.is_not(None))))
            .order_by(e.c.task_id, case((is_note, 0), else_=1), e.c.at.desc(), e.c.id.desc())
            .ext(distinct_on(e.c.task_id)).subquery("latest"))
    else:
        def last(kind: str, col: str) -> Any:
            e = ev.alias()
            return (select(e.c.id).where(e.c.task_id == t.c.id, e.c.kind == kind, e.c.at <= cut,
                                         e.c.plan_id == plan_id, e.c[col].is_not(None))
                    .order_by(e.c.at.desc(), e.c.id.desc()).limit(1).scalar_subquery())

        latest = (select(t.c.id.label("task_id"),
                         func.coalesce(last("note", "note"), last("status", "evidence")).label("id"))
                  .where(t.c.plan_id == plan_id, t.c.created_at <= cut).subquery("latest"))
    e = ev.alias("e")
    is_note = e.c.kind == "note"
    zone = ZoneInfo(tz)
    out: dict[int, tuple[Any, ...]] = {}
    for tid, body, percent, at, note in session.execute(
            select(latest.c.task_id, case((is_note, e.c.note), else_=e.c.evidence), e.c.percent,
                   type_coerce(e.c.at, DateTime()), is_note)
            .select_from(latest.join(e, e.c.id == latest.c.id))).all():
        out[tid] = (body, _utc(at).astimezone(zone).date().isoformat(), percent if note else None)
    return out


def _changes(session: Session, ld: _Loaded, newly_completed_cs: list[tuple[Any, ...]],
             newly_overdue_cs: list[tuple[Any, ...]], prev_tally: Mapping[tuple[Any, ...], int],
             ref: Callable[[int, int, str], str], tasks: Mapping[int, Any], w: _Window,
             wp: _Window, pp: ReportPeriod, lang: str) -> dict[str, Any]:
    """Items completed now but not at the previous report's instant (or not counted then), overdue
    now but not then, and the extensions approved from the period start to E."""
    units = ld.units

    def base(tid: int, uid: int, occ: str) -> dict[str, Any]:
        t = tasks[tid]
        return {"ref": ref(tid, uid, occ), "task": t[1], "title": t[2], "unit": units[uid][0],
                "unit_name": units[uid][1]}

    newly_completed = [{**base(tid, uid, occ), "completed_on": _iso(local_date(done_at, ld.tz)) if done_at else None,
                        "completion": completion, "deadline": _iso(dl)}
                       for _iid, tid, uid, occ, _s, dl, done_at, completion, sig in newly_completed_cs
                       if sig[0] != "ongoing"]
    newly_overdue = [{**base(tid, uid, occ), "deadline": _iso(dl), "days_overdue": (w.as_of - dl).days if dl else None}
                     for _iid, tid, uid, occ, _s, dl, _done, _c, _sig in newly_overdue_cs]
    extensions = []
    for tid, uid, occ, at, actor, note, before_dl, after_dl in session.execute(  # of the items existing at E
        select(WorkItem.task_id, WorkItem.unit_id, WorkItem.occurrence, Event.at, Event.actor, Event.note,
               Event.deadline_before, Event.deadline_after)
        .join(WorkItem, WorkItem.id == Event.work_item_id).join(Task, Task.id == WorkItem.task_id)
        .where(Event.plan_id == ld.plan.id, Event.kind == "extension_approved", Event.at >= w.start_at,
               Event.at <= w.cut, Task.plan_id == ld.plan.id, WorkItem.created_at <= w.cut, Task.created_at <= w.cut)
        .order_by(Event.at, Event.id)
    ):
        extensions.append({**base(tid, uid, occ), "approved_on": local_date(at, ld.tz).isoformat(), "from": _iso(before_dl),
                           "to": _iso(after_dl), "approved_by": actor,
                           "approved_by_name": ld.people.get(actor, actor), "note": note})
    newly_completed.sort(key=lambda r: (r["completed_on"] or "", r["ref"]))
    newly_overdue.sort(key=lambda r: (r["deadline"] or "", r["ref"]))
    return {
        "previous": {"period": {**pp.as_dict(), "label": period_label(pp, lang)},
                     "as_of": wp.as_of.isoformat(), "summary": _finish(_add_tally(_empty_counts(), prev_tally))},
        "since": wp.as_of.isoformat(),
        "newly_completed": newly_completed,
        "newly_overdue": newly_overdue,
        "extensions": extensions,
    }


def committee_today(session: Session, now: datetime) -> date:
    """The committee-local calendar date of the instant ``now`` (the default as-of date); the
    committee row as ``engine.lifecycle.committee_settings`` reads it (no statement when this
    transaction loaded it already)."""

    return local_date(now, committee_settings(session)[0])


def report_title(data: Mapping[str, Any]) -> str:
    """"Báo cáo tình hình thực hiện KH-57-LS tháng 5/2025" (for file names and mail subjects); a
    stored roll-up (engine.rollup): "Báo cáo tổng hợp các đơn vị cấp dưới tháng 5/2025"."""
    lang = data.get("lang", "vi")
    if data.get("schema") == "steer.rollup/1":
        return tr(lang, "rollup.report_title", label=data["period"]["label"])
    return tr(lang, "rep.progress_report", code=data['plan']['code'], label=data['period']['label'])


__all__ = [
    "COUNT_KEYS", "KINDS", "SCHEMA", "ReportPeriod", "StatusRules", "build_report", "check_cutoff", "committee_today",
    "committee_header", "committee_rules", "kind_label", "load_rules_file", "make_period", "normalise_kind", "parse_period",
    "parse_rules", "period_for", "period_label", "previous_period", "report_title", "unit_status", "with_rule",
]


"""The report as a document: numbered parts with paragraphs and tables, built from the data dict.

Every output format (Markdown, HTML, XLSX, DOCX) renders this same structure, so the
formats always say the same thing. Cells are plain values (str, int, float, None);
``Table.percent_cols`` marks percentages and ``Table.status_col`` the green/yellow/red
column, so each format can style them its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.i18n import tr
from engine.render.labels import (
    PERCENT_KEYS,
    SUMMARY_KEYS,
    authority_line,
    fmt_date,
    fmt_num,
    fmt_pct,
    long_date,
    pick,
)


@dataclass
class Table:
    key: str  # sheet name (XLSX), anchor (HTML)
    title: str
    headers: list[str]
    rows: list[list[Any]]
    widths: list[int]  # relative column widths (characters)
    percent_cols: frozenset[int] = frozenset()
    status_col: int | None = None  # cells are "green" | "yellow" | "red"
    empty: str = ""


@dataclass
class Part:
    number: str  # "I", "II", ... ("" for the appendix)
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)


@dataclass
class View:
    lang: str
    authority: str  # "UBND TỈNH LÂM SƠN"
    committee: str  # "BAN CHỈ ĐẠO …"
    place_date: str  # "Lâm Sơn, ngày 24 tháng 05 năm 2025"
    title: str  # "BÁO CÁO"
    subtitle: str  # "Tình hình thực hiện … tháng 5/2025"
    scope_line: str
    parts: list[Part]
    appendix: Part
    recipients: list[str]
    signer_title: str
    signer_name: str


def status_text(value: str, lang: str) -> str:
    return pick("unit_status", value, lang)


def cell_text(value: Any, lang: str, *, percent: bool = False, status: bool = False) -> str:
    """The text of a cell as Markdown, HTML and DOCX show it."""
    if status and isinstance(value, str):
        return status_text(value, lang)
    if percent:
        return fmt_pct(value, lang)
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return fmt_num(value, lang)
    return str(value)


def task_progress(task: Mapping[str, Any], lang: str) -> str:
    """The «Tiến độ» cell of the appendix."""
    b = task["status"]
    text = pick("bucket", b, lang)
    if b == "completed" and task.get("completion"):
        text += f" ({pick('completion', task['completion'], lang)})"
    n, done = task.get("units_total", 0), task.get("units_completed", 0)
    if n > 1:
        text += tr(lang, "render.items_completed", done=done, n=n)
    if task.get("overdue_units") and (n > 1 or task.get("deadline_kind") == "recurring"):
        text += tr(lang, "render.overdue") + ", ".join(task["overdue_units"])
    return text


def task_deadline(task: Mapping[str, Any], lang: str) -> str:
    text = task.get("deadline_text") or fmt_date(task.get("deadline"), lang)
    if task.get("extended") and task.get("deadlines_in_force"):
        text += tr(lang, "render.extended") + ", ".join(
            fmt_date(d, lang) for d in task["deadlines_in_force"]) + ")"
    return text


def _summary_tables(data: Mapping[str, Any], lang: str) -> list[Table]:
    s, ts = data["summary"], data["task_summary"]
    rows: list[list[Any]] = [[pick("summary", k, lang), s[k], ts.get(k)] for k in SUMMARY_KEYS]
    pct_rows = [[pick("percent", k, lang), s["percent"][k], ts["percent"][k]] for k in PERCENT_KEYS]
    return [Table("summary", tr(lang, "render.table_1_summary"),
                  [tr(lang, "render.measure"), tr(lang, "render.work_items"), tr(lang, "render.tasks")],
                  rows, [52, 14, 14]),
            Table("summary_pct", tr(lang, "render.table_2_rates"),
                  [tr(lang, "render.rate"), tr(lang, "render.work_items"), tr(lang, "render.tasks")],
                  pct_rows, [52, 14, 14], percent_cols=frozenset({1, 2}))]


def _general(data: Mapping[str, Any], lang: str) -> Part:
    s, ts = data["summary"], data["task_summary"]
    p = s["percent"]
    u = data["unit_status_totals"]
    paras = [
        tr(lang, "render.plan_has_tasks_tracked_this", total=fmt_num(ts['total'] + ts['cancelled'], lang),
           total2=fmt_num(s['total'], lang)),
        tr(lang, "render.work_items_completed_on_time", completed=fmt_num(s['completed'], lang),
           completed_on_time=fmt_num(s['completed_on_time'], lang),
           completed_late=fmt_num(s['completed_late'], lang),
           completed_unknown=fmt_num(s['completed_unknown'], lang),
           completed_ahead=fmt_num(s['completed_ahead'], lang)),
        tr(lang, "render.work_items_due_deadline_on", due=fmt_num(s['due'], lang),
           due_by=fmt_date(data['due_by'], lang), completed_due=fmt_num(s['completed_due'], lang),
           completed_of_due=fmt_pct(p['completed_of_due'], lang),
           in_progress_within_deadline=fmt_num(s['in_progress_within_deadline'], lang),
           overdue=fmt_num(s['overdue'], lang), overdue_of_due=fmt_pct(p['overdue_of_due'], lang),
           not_yet_due=fmt_num(s['not_yet_due'], lang)),
        tr(lang, "render.ongoing_tasks_work_items_with", ongoing=fmt_num(s['ongoing'], lang),
           ongoing_with_results=fmt_num(s['ongoing_with_results'], lang)),
        tr(lang, "render.units_green_yellow_red", green=u['green'], yellow=u['yellow'], red=u['red']),
    ]
    return Part("I", tr(lang, "render.overview"), paras, _summary_tables(data, lang))


def _counts_cols(c: Mapping[str, Any]) -> list[Any]:
    return [c["total"], c["due"], c["completed"], c["in_progress_within_deadline"], c["overdue"], c["not_yet_due"],
            c["ongoing"], c["percent"]["completed_of_due"]]


def _counts_headers(lang: str) -> list[str]:
    return [tr(lang, "render.items"), tr(lang, "render.due"), tr(lang, "render.completed"),
            tr(lang, "render.within_deadline"), tr(lang, "render.overdue_2"),
            tr(lang, "render.not_yet_due"), tr(lang, "render.ongoing"),
            tr(lang, "render.completed_due")]


def _sections(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for s in data["sections"]:
        rows.append([s["code"] or "—", s["title"] or tr(lang, "render.no_section"), s["tasks"],
                     *_counts_cols(s["counts"])])
    table = Table("sections", tr(lang, "render.table_3_by_plan_section"),
                  [tr(lang, "render.section"), tr(lang, "render.title"), tr(lang, "render.tasks"),
                   *_counts_headers(lang)],
                  rows, [6, 48, 9, 9, 8, 10, 9, 8, 10, 10, 11], percent_cols=frozenset({10}))
    return Part("II", tr(lang, "render.results_by_plan_section"), [], [table])


def reason_text(r: Mapping[str, Any], lang: str) -> str:
    rule = r.get("rule")
    if rule == "overdue":
        return tr(lang, "render.overdue_3", count=r['count'])
    if rule in ("due_soon_without_progress", "due_soon"):
        extra = tr(lang, "render.without_progress_this_period") \
            if rule == "due_soon_without_progress" else ""
        return tr(lang, "render.due_within_days", count=r['count'], days=r['days'], extra=extra)
    if rule == "on_time_rate":
        return tr(lang, "render.on_time_rate", rate=fmt_pct(r['rate'], lang), threshold=fmt_pct(r['threshold'], lang))
    return str(rule)


def _rules_text(data: Mapping[str, Any], lang: str) -> str:
    r = data["rules"]
    red, yellow = r["red"], r["yellow"]
    parts = [tr(lang, "render.rule_red", n=red["overdue_at_least"])]
    alternatives = []
    if yellow.get("due_within_days") is not None:
        key = "render.rule_due_within_without_progress" if yellow.get("without_progress") else "render.rule_due_within"
        alternatives.append(tr(lang, key, days=yellow["due_within_days"]))
    if yellow.get("on_time_rate_below") is not None:
        alternatives.append(tr(lang, "render.rule_on_time_below", rate=fmt_pct(yellow["on_time_rate_below"] * 100, lang)))
    if yellow.get("overdue_at_least") is not None:
        alternatives.append(tr(lang, "render.rule_overdue_at_least", n=yellow["overdue_at_least"]))
    if alternatives:
        parts.append(tr(lang, "render.rule_yellow", rules=tr(lang, "render.rule_or").join(alternatives)))
    parts.append(tr(lang, "render.rule_green"))
    return tr(lang, "render.rules", rules="; ".join(parts))


def _units(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for u in data["units"]:
        c = u["counts"]
        rows.append([u["rank"], u["name"], u["status"], c["total"], c["due"], c["completed"], c["completed_on_time"],
                     c["completed_late"], c["in_progress_within_deadline"], c["overdue"], c["not_yet_due"],
                     c["ongoing"], c["completion_rate"], c["on_time_rate"],
                     "; ".join(reason_text(r, lang) for r in u["reasons"])])
    table = Table("units", tr(lang, "render.table_4_results_rating_by"),
                  [tr(lang, "render.rank"), tr(lang, "render.unit"), tr(lang, "render.rating"),
                   tr(lang, "render.items"), tr(lang, "render.due"), tr(lang, "render.completed"),
                   tr(lang, "render.on_time"), tr(lang, "render.late"), tr(lang, "render.within_deadline"),
                   tr(lang, "render.overdue_2"), tr(lang, "render.not_yet_due"),
                   tr(lang, "render.ongoing"), tr(lang, "render.completed_due"),
                   tr(lang, "render.on_time_rate_2"), tr(lang, "render.why")],
                  rows, [6, 34, 9, 9, 8, 10, 9, 8, 10, 8, 10, 10, 11, 11, 36],
                  percent_cols=frozenset({12, 13}), status_col=2)
    return Part("III", tr(lang, "render.results_by_unit"), [_rules_text(data, lang)], [table])


def _adoption(data: Mapping[str, Any], lang: str) -> Part:
    a = data.get("adoption")
    title = tr(lang, "render.implementing_plans_issued")
    if not a:
        return Part("IV", title, [tr(lang, "render.no_unit_expected_issue_implementing")])
    paras = [tr(lang, "render.units_have_issued_their_implementing", adopted=a['adopted'], expected=a['expected'],
                percent=fmt_pct(a['percent'], lang))]
    rows = [[u["name"], tr(lang, "render.issued") if u["adopted"] else tr(lang, "render.not_yet"),
             u.get("document") or "—", fmt_date(u.get("issued_on"), lang)] for u in a["units"]]
    table = Table("adoption", tr(lang, "render.table_5_implementing_plans"),
                  [tr(lang, "render.unit"), tr(lang, "render.status"), tr(lang, "render.document"),
                   tr(lang, "render.issued_on")], rows, [40, 16, 36, 14])
    return Part("IV", title, paras, [table])


def _indicators(data: Mapping[str, Any], lang: str) -> Part:
    title = tr(lang, "render.indicators")
    inds = data.get("indicators") or []
    if not inds:
        return Part("V", title, [tr(lang, "render.plan_has_no_tracked_indicators")])
    rows = []
    for i in inds:
        value = i.get("value") if i.get("value") is not None else i.get("value_text")
        track = None if i.get("on_track") is None else (tr(lang, "render.on_track") if i["on_track"]
                                                        else tr(lang, "render.off_track"))
        rows.append([i["code"], i["name"], i.get("unit_of_measure") or "", i.get("target") or "",
                     i.get("period") or "—", value, i.get("previous_period") or "—", i.get("previous_value"),
                     pick("direction", i.get("direction"), lang), track or "—"])
    table = Table("indicators", tr(lang, "render.table_6_indicators"),
                  [tr(lang, "render.code"), tr(lang, "render.indicator"), tr(lang, "render.unit_2"),
                   tr(lang, "render.target"), tr(lang, "render.period"), tr(lang, "render.value"),
                   tr(lang, "render.previous_period"), tr(lang, "render.previous_value"),
                   tr(lang, "render.direction"), tr(lang, "render.assessment")],
                  rows, [9, 44, 10, 16, 9, 10, 10, 10, 10, 11])
    on = sum(1 for i in inds if i.get("on_track") is True)
    off = sum(1 for i in inds if i.get("on_track") is False)
    none = len(inds) - on - off
    paras = [tr(lang, "render.indicators_on_track_off_track", n_inds=len(inds), on=on, off=off, none=none)]
    return Part("V", title, paras, [table])


def _changes(data: Mapping[str, Any], lang: str) -> Part:
    ch = data["changes"]
    prev = ch["previous"]
    ps, s = prev["summary"], data["summary"]
    keys = ("due", "completed", "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing_with_results")
    rows = [[pick("summary", k, lang).strip(" -"), ps[k], s[k], s[k] - ps[k]] for k in keys]
    compare = Table("compare", tr(lang, "render.table_7_compared_with_previous"),
                    [tr(lang, "render.measure"),
                     tr(lang, "render.previous", as_of=fmt_date(prev['as_of'], lang)),
                     tr(lang, "render.this_period", as_of=fmt_date(data['as_of'], lang)),
                     tr(lang, "render.change")], rows, [40, 18, 18, 12])
    done = Table("newly_completed", tr(lang, "render.table_8_newly_completed"),
                 [tr(lang, "render.item"), tr(lang, "render.task"), tr(lang, "render.unit"),
                  tr(lang, "render.completed_on"), tr(lang, "render.timeliness")],
                 [[r["ref"], r["title"], r["unit_name"], fmt_date(r["completed_on"], lang),
                   pick("completion", r["completion"], lang)] for r in ch["newly_completed"]],
                 [18, 50, 26, 14, 14], empty=tr(lang, "render.none"))
    late = Table("newly_overdue", tr(lang, "render.table_9_newly_overdue"),
                 [tr(lang, "render.item"), tr(lang, "render.task"), tr(lang, "render.unit"),
                  tr(lang, "render.deadline"), tr(lang, "render.days_overdue")],
                 [[r["ref"], r["title"], r["unit_name"], fmt_date(r["deadline"], lang), r["days_overdue"]]
                  for r in ch["newly_overdue"]], [18, 50, 26, 14, 12], empty=tr(lang, "render.none"))
    ext = Table("extensions", tr(lang, "render.table_10_extensions_granted"),
                [tr(lang, "render.item"), tr(lang, "render.task"), tr(lang, "render.unit"),
                 tr(lang, "render.from"), tr(lang, "render.to"), tr(lang, "render.approved_by"),
                 tr(lang, "render.on")],
                [[r["ref"], r["title"], r["unit_name"], fmt_date(r["from"], lang), fmt_date(r["to"], lang),
                  r["approved_by_name"], fmt_date(r["approved_on"], lang)] for r in ch["extensions"]],
                [18, 44, 24, 12, 12, 20, 12], empty=tr(lang, "render.none"))
    para = tr(lang, "render.compared_with_figures_as_newly", label=prev['period']['label'],
              as_of=fmt_date(prev['as_of'], lang), n_newly_completed=len(ch['newly_completed']),
              n_newly_overdue=len(ch['newly_overdue']), n_extensions=len(ch['extensions']))
    return Part("VI", tr(lang, "render.changes_since_previous_period"), [para],
                [compare, done, late, ext])


def _problems(data: Mapping[str, Any], lang: str) -> Part:
    rows = [[r["ref"], r["title"], r["unit_name"], fmt_date(r["deadline"], lang), r["days_overdue"],
             pick("item_status", r["status"], lang)] for r in data["overdue_items"]]
    table = Table("overdue", tr(lang, "render.table_11_overdue_work_items"),
                  [tr(lang, "render.item"), tr(lang, "render.task"), tr(lang, "render.unit"),
                   tr(lang, "render.deadline"), tr(lang, "render.days_overdue"),
                   tr(lang, "render.status_2")], rows, [18, 50, 26, 12, 10, 16],
                  empty=tr(lang, "render.no_overdue_work_item"))
    red = [u["name"] for u in data["units"] if u["status"] == "red"]
    paras = [tr(lang, "render.overdue_left_at_units", n=len(rows), units=len(red), names=", ".join(red)) if red
             else tr(lang, "render.overdue_left", n=len(rows))]
    return Part("VII", tr(lang, "render.problems"), paras, [table])


def _proposals(data: Mapping[str, Any], lang: str) -> Part:
    bullets = []
    red = [u["name"] for u in data["units"] if u["status"] == "red"]
    yellow = [u["name"] for u in data["units"] if u["status"] == "yellow"]
    if red:
        bullets.append(tr(lang, "render.propose_red", units=", ".join(red)))
    if yellow:
        bullets.append(tr(lang, "render.propose_yellow", units=", ".join(yellow)))
    bullets.append(tr(lang, "render.all_units_keep_recording_progress"))
    return Part("VIII", tr(lang, "render.proposals"), [], [], bullets)


def _appendix(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for task in data["tasks"]:
        result = task.get("result") or "—"
        if task.get("result_date"):
            result += f" ({fmt_date(task['result_date'], lang)})"
        lead = task.get("lead") or "—"
        if task.get("coordinating"):
            lead += tr(lang, "render.with") + task["coordinating"]
        rows.append([task["code"], task["title"], task.get("deliverable") or "—", task_deadline(task, lang), lead,
                     task_progress(task, lang), result])
    table = Table("appendix", tr(lang, "render.progress_each_task"),
                  [tr(lang, "render.no_2"), tr(lang, "render.task"), tr(lang, "render.expected_result"),
                   tr(lang, "render.deadline_2"), tr(lang, "render.responsible"),
                   tr(lang, "render.progress"), tr(lang, "render.current_result")],
                  rows, [6, 50, 26, 16, 30, 24, 44])
    return Part("", tr(lang, "render.appendix"), [
        tr(lang, "render.progress_each_task_as", as_of=fmt_date(data['as_of'], lang))], [table])


def build_view(data: Mapping[str, Any]) -> View:
    lang = data.get("lang", "vi")
    c = data["committee"]
    plan = data["plan"]
    place = c.get("place")
    as_of = data["as_of"]
    place_date = (f"{place}, " if place else "") + long_date(as_of, lang)
    plan_ref = plan.get("document") or plan["code"]
    subtitle = tr(lang, "render.progress_2", plan_ref=plan_ref, label=data['period']['label'])
    p = data["period"]
    scope = tr(lang, "render.reporting_period_figures_as_end", start=fmt_date(p['start'], lang),
               end=fmt_date(p['end'], lang), as_of=fmt_date(as_of, lang))
    parts = [_general(data, lang), _sections(data, lang), _units(data, lang), _adoption(data, lang),
             _indicators(data, lang), _changes(data, lang), _problems(data, lang), _proposals(data, lang)]
    recipients = c.get("recipients") or [
        tr(lang, "render.chair_vice_chairs_for_information"),
        tr(lang, "render.members_steering_committee"),
        tr(lang, "render.departments_localities"),
        tr(lang, "render.file"),
    ]
    return View(
        lang=lang,
        authority=authority_line(c.get("authority"), lang),
        committee=(c.get("name") or "").upper(),
        place_date=place_date,
        title=tr(lang, "render.report"),
        subtitle=subtitle,
        scope_line=scope,
        parts=parts,
        appendix=_appendix(data, lang),
        recipients=recipients,
        signer_title=c.get("signer_title") or tr(lang, "render.for_steering_committee"),
        signer_name=c.get("signer_name") or "",
    )

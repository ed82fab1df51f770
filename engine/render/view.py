"""The report as a document: numbered parts with paragraphs and tables, built from the data dict.

Every output format (Markdown, HTML, XLSX, DOCX) renders this same structure, so the
formats always say the same thing. Cells are plain values (str, int, float, None);
``Table.percent_cols`` marks percentages and ``Table.status_col`` the green/yellow/red
column, so each format can style them its own way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine import heatrules
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
from engine.states import Role


@dataclass
class Table:
    key: str  # sheet name (XLSX), anchor (HTML)
    title: str
    headers: list[str]
    rows: list[list[Any]]
    widths: list[int]  # relative column widths (characters): a hint; the DOCX and XLSX measure the cells
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
    signer_title: str  # one line per line of the title block: "TM. BAN CHỈ ĐẠO\nTRƯỞNG BAN"
    signer_name: str
    attached: str = ""  # the appendix's "(Kèm theo Báo cáo số … ngày … của …)"
    sheet_names: dict[str, str] = field(default_factory=dict)  # part number -> XLSX sheet name, when not a report's

    @property
    def signer_lines(self) -> list[str]:
        return self.signer_title.split("\n")

    @property
    def tables(self) -> list[Table]:
        """Every table of the document in order: the body's numbered ones, then the appendix's."""
        return [tb for part in [*self.parts, self.appendix] for tb in part.tables]


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
    if isinstance(value, date):
        return fmt_date(value.isoformat(), lang)
    if isinstance(value, (int, float)):
        return fmt_num(value, lang)
    return str(value)


def _day(iso: str | None) -> date | None:
    """A date cell: a ``date`` (each format shows it its way: dd/mm/yyyy text, an XLSX date)."""
    return date.fromisoformat(iso[:10]) if iso else None


def task_progress(task: Mapping[str, Any], lang: str, names: Mapping[str, str] | None = None) -> str:
    """The «Tiến độ» cell of the appendix; ``names``: unit code -> name (units are named, not coded)."""
    b = task["status"]
    text = pick("bucket", b, lang)
    if b == "completed" and task.get("completion"):
        text += f" ({pick('completion', task['completion'], lang)})"
    n, done = task.get("units_total", 0), task.get("units_completed", 0)
    if n > 1:
        text += tr(lang, "render.items_completed", done=done, n=n)
    if task.get("overdue_units") and (n > 1 or task.get("deadline_kind") == "recurring"):
        text += tr(lang, "render.overdue") + ", ".join((names or {}).get(u, u) for u in task["overdue_units"])
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
    return [Table("summary", tr(lang, "render.table_summary"),
                  [tr(lang, "render.measure"), tr(lang, "render.work_items"), tr(lang, "render.tasks")],
                  rows, [52, 14, 14]),
            Table("summary_pct", tr(lang, "render.table_rates"),
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
    table = Table("sections", tr(lang, "render.table_by_plan_section"),
                  [tr(lang, "render.section"), tr(lang, "render.title"), tr(lang, "render.tasks"),
                   *_counts_headers(lang)],
                  rows, [6, 48, 9, 9, 8, 10, 9, 8, 10, 10, 11], percent_cols=frozenset({10}))
    return Part("II", tr(lang, "render.results_by_plan_section"), [], [table])


def reason_text(r: Mapping[str, Any], lang: str) -> str:
    rule = r.get("rule")
    if rule == heatrules.SHARE_DUE:
        return heatrules.reason_text(r, lang)
    if rule == "overdue":
        return tr(lang, "render.overdue_3", count=r['count'])
    if rule in ("due_soon_without_progress", "due_soon"):
        extra = tr(lang, "render.without_progress_this_period") \
            if rule == "due_soon_without_progress" else ""
        return tr(lang, "render.due_within_days", count=r['count'], days=r['days'], extra=extra)
    if rule == "on_time_rate":
        return tr(lang, "render.on_time_rate", rate=fmt_pct(r['rate'], lang), threshold=fmt_pct(r['threshold'], lang))
    return str(rule)


def rules_text(data: Mapping[str, Any], lang: str) -> str:
    """The colour rule of a report's units in words (the legend of the heat map and of Bảng 4)."""
    return _rules_text(data, lang)


def _rules_text(data: Mapping[str, Any], lang: str) -> str:
    r = data["rules"]
    share = heatrules.legend_text(r, lang, milestone=_milestone(data))
    if share is not None:
        return share
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


def _milestone(data: Mapping[str, Any]) -> str | None:
    """The milestone the share_due rule counted up to (every unit's tally carries it)."""
    for u in data.get("units") or ():
        if u.get("due_tally"):
            return str(u["due_tally"]["milestone"])
    return (data.get("rules") or {}).get("milestone") or data.get("as_of")


def _units(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for u in data["units"]:
        c = u["counts"]
        rows.append([u["rank"], u["name"], u["status"], c["total"], c["due"], c["completed"], c["completed_on_time"],
                     c["completed_late"], c["in_progress_within_deadline"], c["overdue"], c["not_yet_due"],
                     c["ongoing"], c["completion_rate"], c["on_time_rate"],
                     "; ".join(reason_text(r, lang) for r in u["reasons"])])
    table = Table("units", tr(lang, "render.table_results_rating_by"),
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
             u.get("document") or "—", _day(u.get("issued_on"))] for u in a["units"]]
    table = Table("adoption", tr(lang, "render.table_implementing_plans"),
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
    table = Table("indicators", tr(lang, "render.table_indicators"),
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
    compare = Table("compare", tr(lang, "render.table_compared_with_previous"),
                    [tr(lang, "render.measure"),
                     tr(lang, "render.previous", as_of=fmt_date(prev['as_of'], lang)),
                     tr(lang, "render.this_period", as_of=fmt_date(data['as_of'], lang)),
                     tr(lang, "render.change")], rows, [40, 18, 18, 12])
    done = Table("newly_completed", tr(lang, "render.table_newly_completed"),
                 [tr(lang, "render.no_2"), tr(lang, "render.task"), tr(lang, "render.unit"),
                  tr(lang, "render.completed_on"), tr(lang, "render.timeliness")],
                 [[item_no(r, lang), r["title"], r["unit_name"], _day(r["completed_on"]),
                   pick("completion", r["completion"], lang)] for r in ch["newly_completed"]],
                 [18, 50, 26, 14, 14], empty=tr(lang, "render.none"))
    late = Table("newly_overdue", tr(lang, "render.table_newly_overdue"),
                 [tr(lang, "render.no_2"), tr(lang, "render.task"), tr(lang, "render.unit"),
                  tr(lang, "render.deadline"), tr(lang, "render.days_overdue")],
                 [[item_no(r, lang), r["title"], r["unit_name"], _day(r["deadline"]), r["days_overdue"]]
                  for r in ch["newly_overdue"]], [18, 50, 26, 14, 12], empty=tr(lang, "render.none"))
    ext = Table("extensions", tr(lang, "render.table_extensions_granted"),
                [tr(lang, "render.no_2"), tr(lang, "render.task"), tr(lang, "render.unit"),
                 tr(lang, "render.from"), tr(lang, "render.to"), tr(lang, "render.approved_by"),
                 tr(lang, "render.on")],
                [[item_no(r, lang), r["title"], r["unit_name"], _day(r["from"]), _day(r["to"]),
                  r["approved_by_name"], _day(r["approved_on"])] for r in ch["extensions"]],
                [18, 44, 24, 12, 12, 20, 12], empty=tr(lang, "render.none"))
    para = tr(lang, "render.compared_with_figures_as_newly", label=prev['period']['label'],
              as_of=fmt_date(prev['as_of'], lang), n_newly_completed=len(ch['newly_completed']),
              n_newly_overdue=len(ch['newly_overdue']), n_extensions=len(ch['extensions']))
    return Part("VI", tr(lang, "render.changes_since_previous_period"), [para],
                [compare, done, late, ext])


def _problems(data: Mapping[str, Any], lang: str) -> Part:
    rows = [[item_no(r, lang), r["title"], r["unit_name"], _day(r["deadline"]), r["days_overdue"],
             pick("item_status", r["status"], lang)] for r in data["overdue_items"]]
    table = Table("overdue", tr(lang, "render.table_overdue_work_items"),
                  [tr(lang, "render.no_2"), tr(lang, "render.task"), tr(lang, "render.unit"),
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


def _same_day(text: str, iso: str) -> bool:
    """``text`` is the date ``iso`` written d/m/yyyy (with or without leading zeros)."""
    m = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", text)
    return m is not None and (int(m[3]), int(m[2]), int(m[1])) == tuple(int(x) for x in iso[:10].split("-"))


def item_no(item: Mapping[str, Any], lang: str) -> str:
    """A work item as the document names it: the task's number (the appendix's «TT») and, for a
    recurring task, the occurrence ("53 (kỳ 7/2025)", "64 (kỳ 30/06/2025)"); the unit is named in
    its own column, so the reference's unit code ("KH-57-LS/64@CAT#2025-06-30") is not shown."""
    ref = item.get("ref") or ""
    task = item.get("task") or ref.split("/", 1)[-1].split("@")[0].split("#")[0]
    occ = ref.split("#", 1)[1] if "#" in ref else ""
    if not occ:
        return task
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", occ):
        occ = fmt_date(occ, lang)
    elif m := re.fullmatch(r"(\d{4})-(\d{2})", occ):
        occ = f"{int(m[2])}/{m[1]}"
    return tr(lang, "render.occurrence", task=task, occurrence=occ)


def unit_names(data: Mapping[str, Any]) -> dict[str, str]:
    """Unit code -> name, from every place the report names a unit."""
    names: dict[str, str] = {}
    for task in data.get("tasks", []):
        for it in task.get("items") or []:
            if it.get("unit") and it.get("unit_name"):
                names[it["unit"]] = it["unit_name"]
    for u in [*(data.get("adoption") or {}).get("units", []), *(data.get("adoption") or {}).get("others", [])]:
        if u.get("code") and u.get("name"):
            names[u["code"]] = u["name"]
    for u in data.get("units", []):
        names[u["unit"]] = u["name"]
    return names


def _appendix(data: Mapping[str, Any], lang: str) -> Part:
    names = unit_names(data)
    rows = []
    for task in data["tasks"]:
        result = task.get("result") or "—"
        if task.get("result_date"):
            result += f" ({fmt_date(task['result_date'], lang)})"
        lead = task.get("lead") or "—"
        if task.get("coordinating"):
            lead += tr(lang, "render.with") + task["coordinating"]
        # a deadline that is just a date (the plan's "15/06/2025" included) is a date cell
        plain_date = task.get("deadline") and not task.get("extended") and (
            not task.get("deadline_text") or _same_day(task["deadline_text"], task["deadline"]))
        deadline = _day(task["deadline"]) if plain_date else task_deadline(task, lang)
        rows.append([task["code"], task["title"], task.get("deliverable") or "—", deadline, lead,
                     task_progress(task, lang, names), result])
    table = Table("appendix", tr(lang, "render.progress_each_task"),
                  [tr(lang, "render.no_2"), tr(lang, "render.task"), tr(lang, "render.expected_result"),
                   tr(lang, "render.deadline_2"), tr(lang, "render.responsible"),
                   tr(lang, "render.progress"), tr(lang, "render.current_result")],
                  rows, [6, 50, 26, 16, 30, 24, 44])
    return Part("", tr(lang, "render.appendix"), [
        tr(lang, "render.progress_each_task_as", as_of=fmt_date(data['as_of'], lang))], [table])


def number_tables(parts: list[Any], lang: str) -> None:
    """"Bảng 1. …", "Bảng 2. …": the parts' tables numbered in the order they appear, so a part
    without a table leaves no gap (the plan report and the roll-up alike)."""
    n = 0
    for part in parts:
        for tb in part.tables:
            n += 1
            tb.title = tr(lang, "render.table_caption", n=n, title=tb.title)


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
    if data.get("notice"):  # the date is before the plan had any data (engine.reporting)
        scope = f"{scope} {data['notice']}"
    parts = [_general(data, lang), _sections(data, lang), _units(data, lang), _adoption(data, lang),
             _indicators(data, lang), _changes(data, lang), _problems(data, lang), _proposals(data, lang)]
    number_tables(parts, lang)
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
        signer_title=c.get("signer_title") or _signer_title(c.get("signer"), lang),
        signer_name=c.get("signer_name") or (c.get("signer") or {}).get("name") or "",
        attached=tr(lang, "render.appendix_attached", date=long_date(as_of, lang), committee=c.get("name") or ""),
    )


def signer_title(signer: Mapping[str, Any] | None, lang: str) -> str:
    return _signer_title(signer, lang)


def _signer_title(signer: Mapping[str, Any] | None, lang: str) -> str:
    """The title block over the signature: the chair signs for the committee (TM. BAN CHỈ ĐẠO /
    TRƯỞNG BAN), a vice-chair for the chair (KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN); without a
    directory signer (older snapshots) just TM. BAN CHỈ ĐẠO."""
    if not signer:
        return tr(lang, "render.for_steering_committee")
    return tr(lang, "render.signer_vice_chair" if signer.get("role") == Role.VICE_CHAIR else "render.signer_chair")

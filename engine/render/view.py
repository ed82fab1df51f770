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

from engine.render.labels import (
    BUCKET,
    COMPLETION,
    DIRECTION,
    ITEM_STATUS,
    PERCENT_ROWS,
    SUMMARY_ROWS,
    UNIT_STATUS,
    authority_short,
    fmt_date,
    fmt_num,
    fmt_pct,
    long_date,
    pick,
    t,
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
    subtitle: str  # "Tình hình thực hiện … tháng 05/2025"
    scope_line: str
    parts: list[Part]
    appendix: Part
    recipients: list[str]
    signer_title: str
    signer_name: str


def status_text(value: str, lang: str) -> str:
    return pick(UNIT_STATUS, value, lang)


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
    text = pick(BUCKET, b, lang)
    if b == "completed" and task.get("completion"):
        text += f" ({pick(COMPLETION, task['completion'], lang)})"
    n, done = task.get("units_total", 0), task.get("units_completed", 0)
    if n > 1:
        text += t(lang, f"; {done}/{n} phần việc hoàn thành", f"; {done}/{n} items completed")
    if task.get("overdue_units") and (n > 1 or task.get("deadline_kind") == "recurring"):
        text += t(lang, "; quá hạn: ", "; overdue: ") + ", ".join(task["overdue_units"])
    return text


def task_deadline(task: Mapping[str, Any], lang: str) -> str:
    text = task.get("deadline_text") or fmt_date(task.get("deadline"), lang)
    if task.get("extended") and task.get("deadlines_in_force"):
        text += t(lang, " (gia hạn đến ", " (extended to ") + ", ".join(
            fmt_date(d, lang) for d in task["deadlines_in_force"]) + ")"
    return text


def _summary_tables(data: Mapping[str, Any], lang: str) -> list[Table]:
    s, ts = data["summary"], data["task_summary"]
    rows: list[list[Any]] = [[label_en if lang == "en" else label_vi, s[k], ts.get(k)]
                             for k, label_vi, label_en in SUMMARY_ROWS]
    pct_rows = [[label_en if lang == "en" else label_vi, s["percent"][k], ts["percent"][k]]
                for k, label_vi, label_en in PERCENT_ROWS]
    return [Table("summary", t(lang, "Bảng 1. Tổng hợp tình hình thực hiện", "Table 1. Summary"),
                  [t(lang, "Nội dung", "Measure"), t(lang, "Phần việc", "Work items"), t(lang, "Nhiệm vụ", "Tasks")],
                  rows, [52, 14, 14]),
            Table("summary_pct", t(lang, "Bảng 2. Các tỷ lệ", "Table 2. Rates"),
                  [t(lang, "Tỷ lệ", "Rate"), t(lang, "Phần việc", "Work items"), t(lang, "Nhiệm vụ", "Tasks")],
                  pct_rows, [52, 14, 14], percent_cols=frozenset({1, 2}))]


def _general(data: Mapping[str, Any], lang: str) -> Part:
    s, ts = data["summary"], data["task_summary"]
    p = s["percent"]
    u = data["unit_status_totals"]
    paras = [
        t(lang,
          f"Kế hoạch có {fmt_num(ts['total'] + ts['cancelled'], lang)} nhiệm vụ được theo dõi trong kỳ, giao thành "
          f"{fmt_num(s['total'], lang)} phần việc (mỗi đơn vị chủ trì một phần việc; nhiệm vụ định kỳ tính theo "
          f"từng kỳ thực hiện trong kỳ báo cáo).",
          f"The plan has {fmt_num(ts['total'] + ts['cancelled'], lang)} tasks tracked this period, assigned as "
          f"{fmt_num(s['total'], lang)} work items (one per lead unit; recurring tasks count their occurrences "
          "in the period)."),
        t(lang,
          f"Đã hoàn thành {fmt_num(s['completed'], lang)} phần việc ({fmt_num(s['completed_on_time'], lang)} đúng hạn, "
          f"{fmt_num(s['completed_late'], lang)} trễ hạn, {fmt_num(s['completed_unknown'], lang)} chưa rõ thời điểm "
          f"hoàn thành), trong đó {fmt_num(s['completed_ahead'], lang)} phần việc hoàn thành trước khi đến hạn.",
          f"{fmt_num(s['completed'], lang)} work items are completed ({fmt_num(s['completed_on_time'], lang)} on time, "
          f"{fmt_num(s['completed_late'], lang)} late, {fmt_num(s['completed_unknown'], lang)} with unknown "
          f"timeliness), {fmt_num(s['completed_ahead'], lang)} of them before becoming due."),
        t(lang,
          f"Có {fmt_num(s['due'], lang)} phần việc đã đến hạn (thời hạn đến {fmt_date(data['due_by'], lang)}): "
          f"hoàn thành {fmt_num(s['completed_due'], lang)} ({fmt_pct(p['completed_of_due'], lang)}); đang thực hiện "
          f"trong hạn {fmt_num(s['in_progress_within_deadline'], lang)}; quá hạn chưa hoàn thành "
          f"{fmt_num(s['overdue'], lang)} ({fmt_pct(p['overdue_of_due'], lang)}). Chưa đến hạn: "
          f"{fmt_num(s['not_yet_due'], lang)} phần việc.",
          f"{fmt_num(s['due'], lang)} work items are due (deadline on or before {fmt_date(data['due_by'], lang)}): "
          f"{fmt_num(s['completed_due'], lang)} completed ({fmt_pct(p['completed_of_due'], lang)}), "
          f"{fmt_num(s['in_progress_within_deadline'], lang)} in progress within deadline, {fmt_num(s['overdue'], lang)} "
          f"overdue ({fmt_pct(p['overdue_of_due'], lang)}). Not yet due: {fmt_num(s['not_yet_due'], lang)}."),
        t(lang,
          f"Nhiệm vụ thường xuyên: {fmt_num(s['ongoing'], lang)} phần việc, {fmt_num(s['ongoing_with_results'], lang)} "
          f"phần việc có kết quả (ghi nhận tiến độ) trong kỳ.",
          f"Ongoing tasks: {fmt_num(s['ongoing'], lang)} work items, {fmt_num(s['ongoing_with_results'], lang)} "
          "with results (progress notes) this period."),
        t(lang,
          f"Xếp loại đơn vị: {u['green']} xanh, {u['yellow']} vàng, {u['red']} đỏ.",
          f"Units: {u['green']} green, {u['yellow']} yellow, {u['red']} red."),
    ]
    return Part("I", t(lang, "TÌNH HÌNH CHUNG", "OVERVIEW"), paras, _summary_tables(data, lang))


def _counts_cols(c: Mapping[str, Any]) -> list[Any]:
    return [c["total"], c["due"], c["completed"], c["in_progress_within_deadline"], c["overdue"], c["not_yet_due"],
            c["ongoing"], c["percent"]["completed_of_due"]]


def _counts_headers(lang: str) -> list[str]:
    return [t(lang, "Phần việc", "Items"), t(lang, "Đến hạn", "Due"), t(lang, "Hoàn thành", "Completed"),
            t(lang, "Trong hạn", "Within deadline"), t(lang, "Quá hạn", "Overdue"),
            t(lang, "Chưa đến hạn", "Not yet due"), t(lang, "Thường xuyên", "Ongoing"),
            t(lang, "Tỷ lệ HT/đến hạn", "Completed/due")]


def _sections(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for s in data["sections"]:
        rows.append([s["code"] or "—", s["title"] or t(lang, "(không thuộc phần nào)", "(no section)"), s["tasks"],
                     *_counts_cols(s["counts"])])
    table = Table("sections", t(lang, "Bảng 3. Kết quả theo phần của kế hoạch", "Table 3. By plan section"),
                  [t(lang, "Phần", "Section"), t(lang, "Nội dung", "Title"), t(lang, "Nhiệm vụ", "Tasks"),
                   *_counts_headers(lang)],
                  rows, [6, 48, 9, 9, 8, 10, 9, 8, 10, 10, 11], percent_cols=frozenset({10}))
    return Part("II", t(lang, "KẾT QUẢ THEO TỪNG PHẦN CỦA KẾ HOẠCH", "RESULTS BY PLAN SECTION"), [], [table])


def reason_text(r: Mapping[str, Any], lang: str) -> str:
    rule = r.get("rule")
    if rule == "overdue":
        return t(lang, f"{r['count']} phần việc quá hạn", f"{r['count']} overdue")
    if rule in ("due_soon_without_progress", "due_soon"):
        extra = t(lang, " chưa có tiến độ trong kỳ", " without progress this period") \
            if rule == "due_soon_without_progress" else ""
        return t(lang, f"{r['count']} phần việc đến hạn trong {r['days']} ngày{extra}",
                 f"{r['count']} due within {r['days']} days{extra}")
    if rule == "on_time_rate":
        return t(lang, f"tỷ lệ đúng hạn {fmt_pct(r['rate'], lang)} < {fmt_pct(r['threshold'], lang)}",
                 f"on-time rate {fmt_pct(r['rate'], lang)} < {fmt_pct(r['threshold'], lang)}")
    return str(rule)


def _rules_text(data: Mapping[str, Any], lang: str) -> str:
    r = data["rules"]
    red, yellow = r["red"], r["yellow"]
    parts_vi = [f"đỏ: có từ {red['overdue_at_least']} phần việc quá hạn"]
    parts_en = [f"red: at least {red['overdue_at_least']} overdue item(s)"]
    y_vi, y_en = [], []
    if yellow.get("due_within_days") is not None:
        y_vi.append(f"có phần việc đến hạn trong {yellow['due_within_days']} ngày"
                    + (" mà chưa có tiến độ trong kỳ" if yellow.get("without_progress") else ""))
        y_en.append(f"an item due within {yellow['due_within_days']} days"
                    + (" without progress this period" if yellow.get("without_progress") else ""))
    if yellow.get("on_time_rate_below") is not None:
        y_vi.append(f"tỷ lệ đúng hạn dưới {fmt_pct(yellow['on_time_rate_below'] * 100, lang)}")
        y_en.append(f"an on-time rate under {fmt_pct(yellow['on_time_rate_below'] * 100, lang)}")
    if yellow.get("overdue_at_least") is not None:
        y_vi.append(f"có từ {yellow['overdue_at_least']} phần việc quá hạn")
        y_en.append(f"at least {yellow['overdue_at_least']} overdue item(s)")
    if y_vi:
        parts_vi.append("vàng: " + " hoặc ".join(y_vi))
        parts_en.append("yellow: " + " or ".join(y_en))
    parts_vi.append("xanh: các trường hợp còn lại")
    parts_en.append("green: otherwise")
    return t(lang, "Tiêu chí xếp loại — " + "; ".join(parts_vi) + ".", "Rating rules — " + "; ".join(parts_en) + ".")


def _units(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for u in data["units"]:
        c = u["counts"]
        rows.append([u["rank"], u["name"], u["status"], c["total"], c["due"], c["completed"], c["completed_on_time"],
                     c["completed_late"], c["in_progress_within_deadline"], c["overdue"], c["not_yet_due"],
                     c["ongoing"], c["completion_rate"], c["on_time_rate"],
                     "; ".join(reason_text(r, lang) for r in u["reasons"])])
    table = Table("units", t(lang, "Bảng 4. Kết quả và xếp loại theo đơn vị", "Table 4. Results and rating by unit"),
                  [t(lang, "Hạng", "Rank"), t(lang, "Đơn vị", "Unit"), t(lang, "Xếp loại", "Rating"),
                   t(lang, "Phần việc", "Items"), t(lang, "Đến hạn", "Due"), t(lang, "Hoàn thành", "Completed"),
                   t(lang, "Đúng hạn", "On time"), t(lang, "Trễ hạn", "Late"), t(lang, "Trong hạn", "Within deadline"),
                   t(lang, "Quá hạn", "Overdue"), t(lang, "Chưa đến hạn", "Not yet due"),
                   t(lang, "Thường xuyên", "Ongoing"), t(lang, "Tỷ lệ HT/đến hạn", "Completed/due"),
                   t(lang, "Tỷ lệ đúng hạn", "On-time rate"), t(lang, "Lý do", "Why")],
                  rows, [6, 34, 9, 9, 8, 10, 9, 8, 10, 8, 10, 10, 11, 11, 36],
                  percent_cols=frozenset({12, 13}), status_col=2)
    return Part("III", t(lang, "KẾT QUẢ THEO ĐƠN VỊ", "RESULTS BY UNIT"), [_rules_text(data, lang)], [table])


def _adoption(data: Mapping[str, Any], lang: str) -> Part:
    a = data.get("adoption")
    title = t(lang, "TÌNH HÌNH BAN HÀNH KẾ HOẠCH TRIỂN KHAI", "IMPLEMENTING PLANS ISSUED")
    if not a:
        return Part("IV", title, [t(lang, "Kế hoạch không yêu cầu đơn vị ban hành kế hoạch triển khai (hoặc chưa có "
                                          "đơn vị chủ trì).", "No unit is expected to issue an implementing plan.")])
    paras = [t(lang, f"{a['adopted']}/{a['expected']} đơn vị đã ban hành kế hoạch triển khai "
                     f"({fmt_pct(a['percent'], lang)}).",
               f"{a['adopted']} of {a['expected']} units have issued their implementing plan "
               f"({fmt_pct(a['percent'], lang)}).")]
    rows = [[u["name"], t(lang, "Đã ban hành", "Issued") if u["adopted"] else t(lang, "Chưa ban hành", "Not yet"),
             u.get("document") or "—", fmt_date(u.get("issued_on"), lang)] for u in a["units"]]
    table = Table("adoption", t(lang, "Bảng 5. Ban hành kế hoạch triển khai", "Table 5. Implementing plans"),
                  [t(lang, "Đơn vị", "Unit"), t(lang, "Tình hình", "Status"), t(lang, "Văn bản", "Document"),
                   t(lang, "Ngày ban hành", "Issued on")], rows, [40, 16, 36, 14])
    return Part("IV", title, paras, [table])


def _indicators(data: Mapping[str, Any], lang: str) -> Part:
    title = t(lang, "THỰC HIỆN CÁC CHỈ TIÊU", "INDICATORS")
    inds = data.get("indicators") or []
    if not inds:
        return Part("V", title, [t(lang, "Kế hoạch chưa có chỉ tiêu được theo dõi.", "The plan has no tracked indicators.")])
    rows = []
    for i in inds:
        value = i.get("value") if i.get("value") is not None else i.get("value_text")
        track = None if i.get("on_track") is None else (t(lang, "Đạt", "On track") if i["on_track"]
                                                        else t(lang, "Chưa đạt", "Off track"))
        rows.append([i["code"], i["name"], i.get("unit_of_measure") or "", i.get("target") or "",
                     i.get("period") or "—", value, i.get("previous_period") or "—", i.get("previous_value"),
                     pick(DIRECTION, i.get("direction"), lang), track or "—"])
    table = Table("indicators", t(lang, "Bảng 6. Các chỉ tiêu", "Table 6. Indicators"),
                  [t(lang, "Mã", "Code"), t(lang, "Chỉ tiêu", "Indicator"), t(lang, "Đơn vị tính", "Unit"),
                   t(lang, "Mục tiêu", "Target"), t(lang, "Kỳ", "Period"), t(lang, "Giá trị", "Value"),
                   t(lang, "Kỳ trước", "Previous period"), t(lang, "Giá trị kỳ trước", "Previous value"),
                   t(lang, "Xu hướng", "Direction"), t(lang, "Đánh giá", "Assessment")],
                  rows, [9, 44, 10, 16, 9, 10, 10, 10, 10, 11])
    on = sum(1 for i in inds if i.get("on_track") is True)
    off = sum(1 for i in inds if i.get("on_track") is False)
    none = len(inds) - on - off
    paras = [t(lang, f"{len(inds)} chỉ tiêu: {on} đạt mục tiêu, {off} chưa đạt, {none} chưa có số liệu hoặc "
                     "là chỉ tiêu định tính.",
               f"{len(inds)} indicators: {on} on track, {off} off track, {none} without a value or qualitative.")]
    return Part("V", title, paras, [table])


def _changes(data: Mapping[str, Any], lang: str) -> Part:
    ch = data["changes"]
    prev = ch["previous"]
    ps, s = prev["summary"], data["summary"]
    keys = ("due", "completed", "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing_with_results")
    names = {k: (vi, en) for k, vi, en in SUMMARY_ROWS}
    rows = [[t(lang, names[k][0], names[k][1]).strip(" -"), ps[k], s[k], s[k] - ps[k]] for k in keys]
    compare = Table("compare", t(lang, "Bảng 7. So sánh với kỳ trước", "Table 7. Compared with the previous period"),
                    [t(lang, "Nội dung", "Measure"),
                     t(lang, f"Kỳ trước ({fmt_date(prev['as_of'], lang)})", f"Previous ({fmt_date(prev['as_of'], lang)})"),
                     t(lang, f"Kỳ này ({fmt_date(data['as_of'], lang)})", f"This period ({fmt_date(data['as_of'], lang)})"),
                     t(lang, "Tăng/giảm", "Change")], rows, [40, 18, 18, 12])
    done = Table("newly_completed", t(lang, "Bảng 8. Phần việc mới hoàn thành", "Table 8. Newly completed"),
                 [t(lang, "Phần việc", "Item"), t(lang, "Nhiệm vụ", "Task"), t(lang, "Đơn vị", "Unit"),
                  t(lang, "Ngày hoàn thành", "Completed on"), t(lang, "Đánh giá", "Timeliness")],
                 [[r["ref"], r["title"], r["unit_name"], fmt_date(r["completed_on"], lang),
                   pick(COMPLETION, r["completion"], lang)] for r in ch["newly_completed"]],
                 [18, 50, 26, 14, 14], empty=t(lang, "Không có.", "None."))
    late = Table("newly_overdue", t(lang, "Bảng 9. Phần việc mới quá hạn", "Table 9. Newly overdue"),
                 [t(lang, "Phần việc", "Item"), t(lang, "Nhiệm vụ", "Task"), t(lang, "Đơn vị", "Unit"),
                  t(lang, "Thời hạn", "Deadline"), t(lang, "Số ngày quá hạn", "Days overdue")],
                 [[r["ref"], r["title"], r["unit_name"], fmt_date(r["deadline"], lang), r["days_overdue"]]
                  for r in ch["newly_overdue"]], [18, 50, 26, 14, 12], empty=t(lang, "Không có.", "None."))
    ext = Table("extensions", t(lang, "Bảng 10. Gia hạn đã chấp thuận", "Table 10. Extensions granted"),
                [t(lang, "Phần việc", "Item"), t(lang, "Nhiệm vụ", "Task"), t(lang, "Đơn vị", "Unit"),
                 t(lang, "Thời hạn cũ", "From"), t(lang, "Thời hạn mới", "To"), t(lang, "Người chấp thuận", "Approved by"),
                 t(lang, "Ngày", "On")],
                [[r["ref"], r["title"], r["unit_name"], fmt_date(r["from"], lang), fmt_date(r["to"], lang),
                  r["approved_by_name"], fmt_date(r["approved_on"], lang)] for r in ch["extensions"]],
                [18, 44, 24, 12, 12, 20, 12], empty=t(lang, "Không có.", "None."))
    para = t(lang, f"So với {prev['period']['label']} (số liệu đến {fmt_date(prev['as_of'], lang)}): "
                   f"{len(ch['newly_completed'])} phần việc mới hoàn thành, {len(ch['newly_overdue'])} phần việc mới "
                   f"quá hạn, {len(ch['extensions'])} lượt gia hạn được chấp thuận.",
             f"Compared with {prev['period']['label']} (figures as of {fmt_date(prev['as_of'], lang)}): "
             f"{len(ch['newly_completed'])} newly completed, {len(ch['newly_overdue'])} newly overdue, "
             f"{len(ch['extensions'])} extensions granted.")
    return Part("VI", t(lang, "NHỮNG THAY ĐỔI SO VỚI KỲ TRƯỚC", "CHANGES SINCE THE PREVIOUS PERIOD"), [para],
                [compare, done, late, ext])


def _problems(data: Mapping[str, Any], lang: str) -> Part:
    rows = [[r["ref"], r["title"], r["unit_name"], fmt_date(r["deadline"], lang), r["days_overdue"],
             pick(ITEM_STATUS, r["status"], lang)] for r in data["overdue_items"]]
    table = Table("overdue", t(lang, "Bảng 11. Phần việc quá hạn chưa hoàn thành", "Table 11. Overdue work items"),
                  [t(lang, "Phần việc", "Item"), t(lang, "Nhiệm vụ", "Task"), t(lang, "Đơn vị", "Unit"),
                   t(lang, "Thời hạn", "Deadline"), t(lang, "Số ngày quá hạn", "Days overdue"),
                   t(lang, "Trạng thái", "Status")], rows, [18, 50, 26, 12, 10, 16],
                  empty=t(lang, "Không có phần việc quá hạn.", "No overdue work item."))
    red = [u["name"] for u in data["units"] if u["status"] == "red"]
    paras = [t(lang, f"Còn {len(rows)} phần việc quá hạn chưa hoàn thành"
                     + (f" tại {len(red)} đơn vị: {', '.join(red)}." if red else "."),
               f"{len(rows)} work items are overdue" + (f" at {len(red)} units: {', '.join(red)}." if red else "."))]
    return Part("VII", t(lang, "TỒN TẠI, HẠN CHẾ", "PROBLEMS"), paras, [table])


def _proposals(data: Mapping[str, Any], lang: str) -> Part:
    bullets = []
    red = [u["name"] for u in data["units"] if u["status"] == "red"]
    yellow = [u["name"] for u in data["units"] if u["status"] == "yellow"]
    if red:
        bullets.append(t(lang, "Đề nghị Thủ trưởng các đơn vị có phần việc quá hạn (" + ", ".join(red) + ") tập trung "
                               "chỉ đạo hoàn thành, báo cáo nguyên nhân và thời hạn hoàn thành.",
                         "Heads of the units with overdue items (" + ", ".join(red) + ") to finish them and report "
                         "the cause and a completion date."))
    if yellow:
        bullets.append(t(lang, "Đề nghị các đơn vị " + ", ".join(yellow) + " cập nhật tiến độ các phần việc sắp đến hạn.",
                         "Units " + ", ".join(yellow) + " to update the progress of items falling due soon."))
    bullets.append(t(lang, "Các đơn vị tiếp tục cập nhật tiến độ, kết quả thực hiện trên hệ thống trước ngày chốt "
                           "số liệu của kỳ tiếp theo.",
                     "All units to keep recording progress before the next cut-off date."))
    return Part("VIII", t(lang, "KIẾN NGHỊ, ĐỀ XUẤT", "PROPOSALS"), [], [], bullets)


def _appendix(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for task in data["tasks"]:
        result = task.get("result") or "—"
        if task.get("result_date"):
            result += f" ({fmt_date(task['result_date'], lang)})"
        lead = task.get("lead") or "—"
        if task.get("coordinating"):
            lead += t(lang, "; phối hợp: ", "; with: ") + task["coordinating"]
        rows.append([task["code"], task["title"], task.get("deliverable") or "—", task_deadline(task, lang), lead,
                     task_progress(task, lang), result])
    table = Table("appendix", t(lang, "Tình hình thực hiện các nhiệm vụ", "Progress of each task"),
                  [t(lang, "TT", "No."), t(lang, "Nhiệm vụ", "Task"), t(lang, "Kết quả yêu cầu", "Expected result"),
                   t(lang, "Thời gian hoàn thành", "Deadline"), t(lang, "Cơ quan thực hiện", "Responsible"),
                   t(lang, "Tiến độ", "Progress"), t(lang, "Kết quả hiện nay", "Current result")],
                  rows, [6, 50, 26, 16, 30, 24, 44])
    return Part("", t(lang, "PHỤ LỤC", "APPENDIX"), [
        t(lang, f"Tình hình thực hiện các nhiệm vụ (số liệu đến {fmt_date(data['as_of'], lang)})",
          f"Progress of each task (as of {fmt_date(data['as_of'], lang)})")], [table])


def build_view(data: Mapping[str, Any]) -> View:
    lang = data.get("lang", "vi")
    c = data["committee"]
    plan = data["plan"]
    place = c.get("place")
    as_of = data["as_of"]
    place_date = (f"{place}, " if place else "") + long_date(as_of, lang)
    plan_ref = plan.get("document") or plan["code"]
    subtitle = t(lang, f"Tình hình thực hiện {plan_ref} {data['period']['label']}",
                 f"Progress of {plan_ref}, {data['period']['label']}")
    p = data["period"]
    scope = t(lang, f"Kỳ báo cáo: từ {fmt_date(p['start'], lang)} đến {fmt_date(p['end'], lang)}; số liệu tính đến "
                    f"hết {fmt_date(as_of, lang)}.",
              f"Reporting period {fmt_date(p['start'], lang)} to {fmt_date(p['end'], lang)}; figures as of the end of "
              f"{fmt_date(as_of, lang)}.")
    parts = [_general(data, lang), _sections(data, lang), _units(data, lang), _adoption(data, lang),
             _indicators(data, lang), _changes(data, lang), _problems(data, lang), _proposals(data, lang)]
    recipients = c.get("recipients") or [
        t(lang, "Trưởng ban, các Phó Trưởng ban (để b/c);", "The chair and vice-chairs (for information);"),
        t(lang, "Các thành viên Ban Chỉ đạo;", "Members of the steering committee;"),
        t(lang, "Các sở, ban, ngành, địa phương;", "Departments and localities;"),
        t(lang, "Lưu: VT.", "File."),
    ]
    return View(
        lang=lang,
        authority=authority_short(c.get("authority")) if lang != "en" else (c.get("authority") or "").upper(),
        committee=(c.get("name") or "").upper(),
        place_date=place_date,
        title=t(lang, "BÁO CÁO", "REPORT"),
        subtitle=subtitle,
        scope_line=scope,
        parts=parts,
        appendix=_appendix(data, lang),
        recipients=recipients,
        signer_title=c.get("signer_title") or t(lang, "TM. BAN CHỈ ĐẠO", "FOR THE STEERING COMMITTEE"),
        signer_name=c.get("signer_name") or "",
    )

"""Progress sheets: a unit reports the way it already does — a pre-filled Excel sheet goes
out, the filled sheet comes back in.

* ``export_sheet`` writes one unit's open items into an .xlsx: a first sheet of
  instructions, then the table. The item reference and version sit in hidden, locked
  columns (the sheet is protected without a password, so a clerk cannot change them by
  accident, while rows can still be sorted or added); title, deliverable, deadline in force
  and current status are locked too; the columns to fill (status from a Vietnamese
  data-validation list, result, evidence document, percent, difficulties, extension) are
  open. A very hidden sheet ``_steer`` records the unit, the plan and the period.
  Text goes through ``engine.safetext.xlsx_cell`` (never a formula), dates are real
  dd/mm/yyyy date cells, the font is Times New Roman.
* ``read_sheet`` (pure: bytes in, ``Sheet`` out; the web runs it in a child process, see
  ``read_sheet_isolated``) reads a filled sheet as a person may have left it: rows
  reordered, rows added, cells merged, dates typed as text. Columns are found by their
  header text, not their place. The Office size limits of plan files apply
  (``engine.planfile.office``); a formula anywhere in the table is refused. calamine (Rust)
  reads the usual sheet, openpyxl the unusual one (see ``_OPENPYXL_ONLY``): the same rows.
* ``plan_import`` compares each row with the database: what will change (a status
  transition, a note, an evidence document, an extension request) and every conflict (the
  item changed since the export, an illegal transition, a row of another unit, an unknown
  reference, a value that cannot be read), each with its row number.
* ``apply_import`` performs the planned commands — all rows or none, or with
  ``skip_conflicts`` the rows without conflicts — each through the one action path
  (``engine.commands.perform_many``: every command checked as by ``perform``, the writes
  done in bulk), as the unit's focal point; every event records the file
  (name, sha256, row) as its source, and one ``progress_import`` event records the sheet.
* ``missing_reports`` lists the units that have not sent their sheet for a period (or have
  items without an update in it); ``queue_reminders`` puts one ``report_missing``
  reminder per unit and period into the escalation outbox.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine import commands as cmds
from engine import documents as docs
from engine.actors import Actor, load_actor
from engine.audit import append_event
from engine.clock import local_date
from engine.days import fmt_date, fmt_local, read_day
from engine.errors import InputFileError, PermissionDenied, UserError
from engine.i18n import DEFAULT_LANG, tr
from engine.lifecycle import EVENT_SOURCE
from engine.models import Event, OutboxMessage, Person, Plan, Task, Unit, WorkItem
from engine.refs import item_refs
from engine.reporting import period_key_label
from engine.safetext import xlsx_cell
from engine.states import OPEN_STATES, PlanStatus, Role, Status, status_label
from engine.txcache import FORGET_ON_ROLLBACK, committee_settings, custom_plans, items_by_task_codes, tx_facts

FORMAT = "steer-progress/1"
META_SHEET = "_steer"
FONT = "Times New Roman"
REPORT_MISSING = "report_missing"  # the outbox level of a missing-report reminder
IMPORT_EVENT = "progress_import"
SOURCE_KEY = EVENT_SOURCE  # session.info: the source every event of the import records

# The table's columns, in export order: (key, header catalog key, width, filled by the unit)
COLUMNS: tuple[tuple[str, str, int, bool], ...] = (
    ("ref", "prog.h.ref", 24, False), ("version", "prog.h.version", 8, False),
    ("no", "prog.h.no", 5, False), ("plan", "prog.h.plan", 12, False), ("task", "prog.h.task", 8, False),
    ("title", "prog.h.title", 42, False), ("deliverable", "prog.h.deliverable", 26, False),
    ("deadline", "prog.h.deadline", 12, False), ("current", "prog.h.current", 16, False),
    ("status", "prog.h.status", 22, True), ("result", "prog.h.result", 40, True),
    ("doc", "prog.h.doc", 30, True), ("doc_date", "prog.h.doc_date", 13, True),
    ("doc_issuer", "prog.h.doc_issuer", 20, True), ("percent", "prog.h.percent", 11, True),
    ("blockers", "prog.h.blockers", 32, True), ("ext_until", "prog.h.ext_until", 14, True),
    ("ext_reason", "prog.h.ext_reason", 26, True),
)  # fmt: skip
FILL_KEYS = tuple(k for k, _, _, fill in COLUMNS if fill)
HIDDEN_KEYS = ("ref", "version")
# the states a unit may set in its sheet, in list order (submitted: "done, send for verification")
SHEET_STATES: tuple[str, ...] = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.SUBMITTED, Status.BLOCKED)
HEADER_ROW = 4  # the table's header row in an exported sheet (1-3: title, subtitle, blank)


def _fold(text: Any) -> str:
    return _fold_str(str(text or ""))


@lru_cache(maxsize=4096)  # status words and headers recur on every row of every sheet
def _fold_str(text: str) -> str:
    """Lower case, no diacritics (đ as d), single spaces: how headers and status words compare."""
    s = unicodedata.normalize("NFD", str(text or "").replace("Đ", "D").replace("đ", "d"))
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn").casefold()
    return re.sub(r"[\s\u00a0]+", " ", s).strip(" .:*")


def state_choice(status: str, lang: str) -> str:
    """The word of ``status`` in the sheet's list."""
    return tr(lang, "prog.status_done") if status == Status.SUBMITTED else status_label(status, lang)


def _status_words() -> dict[str, str]:
    """Every accepted spelling (folded) -> status: both languages' list words and labels, and
    a few common words ("hoàn thành")."""
    out: dict[str, str] = {}
    for lang in ("vi", "en"):
        for st in SHEET_STATES:
            out[_fold(state_choice(st, lang))] = st
            out[_fold(status_label(st, lang))] = st
    out.update({_fold(w): st for w, st in (
        ("Hoàn thành", Status.SUBMITTED), ("Đã hoàn thành", Status.SUBMITTED), ("Đã xong", Status.SUBMITTED),
        ("Xong", Status.SUBMITTED), ("Vướng mắc", Status.BLOCKED), ("Tạm dừng", Status.BLOCKED),
        ("Đang làm", Status.IN_PROGRESS), ("Chưa thực hiện", Status.NOT_STARTED),
        ("Chưa triển khai", Status.NOT_STARTED), ("Đang triển khai", Status.IN_PROGRESS))})
    return out


# --- export -----------------------------------------------------------------------------------------------


@dataclass
class ExportRow:
    ref: str
    version: int
    plan: str
    task: str
    title: str
    deliverable: str
    deadline: date | None
    status: str


@dataclass
class ExportedSheet:
    unit_code: str
    unit_name: str
    plan_code: str | None
    period: str
    rows: list[ExportRow]
    data: bytes

    @property
    def filename(self) -> str:
        plan = f"-{self.plan_code}" if self.plan_code else ""
        return _safe_name(f"tien-do-{self.unit_code}{plan}-{self.period}.xlsx")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _unit(session: Session, code: str, lang: str) -> Unit:
    u = session.execute(select(Unit).where(func.upper(Unit.code) == code.strip().upper())).scalar_one_or_none()
    if u is None:
        raise UserError(tr(lang, "prog.no_unit", unit=code))
    return u


def _plan(session: Session, code: str | None, lang: str) -> Plan | None:
    if not code:
        return None
    p = session.execute(select(Plan).where(Plan.code == code.strip())).scalar_one_or_none()
    if p is None:
        raise UserError(tr(lang, "prog.no_plan", plan=code))
    return p


def open_items(session: Session, unit_id: int, plan_id: int | None = None) -> list[WorkItem]:
    """The unit's open items of active tasks and plans, in plan and task order."""
    stmt = (select(WorkItem).join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
            .where(WorkItem.unit_id == unit_id, WorkItem.status.in_(OPEN_STATES),
                   Task.status == PlanStatus.ACTIVE, Plan.status == PlanStatus.ACTIVE))
    if plan_id is not None:
        stmt = stmt.where(Plan.id == plan_id)
    return list(session.execute(stmt.order_by(Plan.code, Task.position, WorkItem.occurrence, WorkItem.id)).scalars())


def export_sheet(session: Session, unit_code: str, *, now: datetime, period: str, plan_code: str | None = None,
                 lang: str = DEFAULT_LANG) -> ExportedSheet:
    """The progress sheet of one unit (see the module doc)."""
    unit = _unit(session, unit_code, lang)
    plan = _plan(session, plan_code, lang)
    items = open_items(session, unit.id, plan.id if plan else None)
    refs = item_refs(session, items)
    plans = dict(session.execute(select(Plan.id, Plan.code)).all())
    rows = [ExportRow(ref=refs[w.id], version=w.version, plan=plans.get(w.task.plan_id, ""), task=w.task.code
                      + (f" ({w.occurrence})" if w.occurrence else ""), title=w.task.title,
                      deliverable=w.task.deliverable or "", deadline=w.deadline, status=w.status) for w in items]
    tz, _ = committee_settings(session, plan.id if plan else None)
    data = write_sheet(unit.code, unit.name, rows, period=period, plan_code=plan.code if plan else None,
                       today=local_date(now, tz), exported_at=now, lang=lang)
    return ExportedSheet(unit.code, unit.name, plan.code if plan else None, period, rows, data)


def export_all(session: Session, *, now: datetime, period: str, plan_code: str | None = None,
               lang: str = DEFAULT_LANG) -> list[ExportedSheet]:
    """One sheet per unit with open items (group units excluded: they have no focal point)."""
    plan = _plan(session, plan_code, lang)
    stmt = (select(Unit.code).join(WorkItem, WorkItem.unit_id == Unit.id).join(Task, Task.id == WorkItem.task_id)
            .where(WorkItem.status.in_(OPEN_STATES), Unit.is_group.is_(False), Task.status == PlanStatus.ACTIVE))
    if plan is not None:
        stmt = stmt.where(Task.plan_id == plan.id)
    codes = sorted(set(session.execute(stmt).scalars()))
    return [export_sheet(session, c, now=now, period=period, plan_code=plan_code, lang=lang) for c in codes]


def write_sheet(unit_code: str, unit_name: str, rows: Sequence[ExportRow], *, period: str, plan_code: str | None,
                today: date, exported_at: datetime, lang: str = DEFAULT_LANG) -> bytes:
    """The .xlsx bytes of a progress sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    guide = wb.active
    guide.title = tr(lang, "prog.sheet_guide")
    ws = wb.create_sheet(tr(lang, "prog.sheet_data"))
    meta = wb.create_sheet(META_SHEET)
    meta.sheet_state = "veryHidden"
    font, bold = Font(name=FONT, size=12), Font(name=FONT, size=12, bold=True)
    choices = [state_choice(s, lang) for s in SHEET_STATES]
    unit_label = f"{unit_name} ({unit_code})"

    # instructions (row heights set: spreadsheet programs do not grow wrapped rows of a generated file)
    guide_width = 80
    guide.column_dimensions["A"].width = guide_width
    xlsx_cell(guide, 1, 1, tr(lang, "prog.guide_title")).font = Font(name=FONT, size=14, bold=True)
    xlsx_cell(guide, 2, 1, unit_label).font = bold
    lines = [tr(lang, "prog.guide_1", sheet=ws.title, unit=unit_label),
             tr(lang, "prog.guide_2", choices="; ".join(choices)), tr(lang, "prog.guide_3"),
             tr(lang, "prog.guide_4"), tr(lang, "prog.guide_5"), tr(lang, "prog.guide_6"), tr(lang, "prog.guide_7")]
    for i, line in enumerate(lines, start=4):
        c = xlsx_cell(guide, i, 1, line)
        c.font, c.alignment = font, Alignment(wrap_text=True, vertical="top")
        guide.row_dimensions[i].height = _height(line, guide_width)
    guide.page_setup.orientation = "portrait"
    guide.sheet_properties.pageSetUpPr.fitToPage = True
    guide.page_setup.fitToWidth, guide.page_setup.fitToHeight = 1, 0

    # the table
    last_col = get_column_letter(len(COLUMNS))
    xlsx_cell(ws, 1, 1, tr(lang, "prog.title", unit=unit_label)).font = Font(name=FONT, size=14, bold=True)
    xlsx_cell(ws, 2, 1, tr(lang, "prog.subtitle", period=period_key_label(period, lang), day=fmt_date(today), n=len(rows))).font = font
    ws.merge_cells(f"A1:{last_col}1")
    ws.merge_cells(f"A2:{last_col}2")
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="D9E1F2")
    fill_fill = PatternFill("solid", fgColor="FFF9E5")
    locked, unlocked = Protection(locked=True), Protection(locked=False)
    for col, (key, label, width, fill) in enumerate(COLUMNS, start=1):
        c = xlsx_cell(ws, HEADER_ROW, col, tr(lang, label))
        c.font, c.fill, c.border = bold, head_fill, border
        c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = width
        if key in HIDDEN_KEYS:
            ws.column_dimensions[letter].hidden = True
    ws.row_dimensions[HEADER_ROW].height = 45
    date_fmt = "dd/mm/yyyy"
    for i, r in enumerate(rows, start=1):
        n = HEADER_ROW + i
        values: dict[str, Any] = {"ref": r.ref, "version": r.version, "no": i, "plan": r.plan, "task": r.task,
                                  "title": _cell_text(r.title), "deliverable": _cell_text(r.deliverable),
                                  "deadline": r.deadline, "current": status_label(r.status, lang)}
        ws.row_dimensions[n].height = max(_height(str(values[k] or ""), w) for k, _, w, _ in COLUMNS
                                          if k in ("title", "deliverable", "current"))
        for col, (key, _, _, fill) in enumerate(COLUMNS, start=1):
            c = xlsx_cell(ws, n, col, values.get(key))
            c.font, c.border = font, border
            c.alignment = Alignment(wrap_text=True, vertical="top")
            c.protection = unlocked if fill else locked
            if fill:
                c.fill = fill_fill
            if key in ("deadline", "doc_date", "ext_until"):
                c.number_format = date_fmt
            if key == "percent":
                c.number_format = "0"
    # extra rows open for the unit's clerk (notes below the table are not read: no reference)
    end = HEADER_ROW + max(len(rows), 1)
    dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle=tr(lang, "prog.h.status"), error=tr(lang, "prog.dv_error"))
    status_col = get_column_letter([k for k, *_ in COLUMNS].index("status") + 1)
    dv.add(f"{status_col}{HEADER_ROW + 1}:{status_col}{end}")
    ws.add_data_validation(dv)
    pct_col = get_column_letter([k for k, *_ in COLUMNS].index("percent") + 1)
    pv = DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                        showErrorMessage=True, error=tr(lang, "prog.cf_bad_percent", ref="", value=""))
    pv.add(f"{pct_col}{HEADER_ROW + 1}:{pct_col}{end}")
    ws.add_data_validation(pv)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=[k for k, *_ in COLUMNS].index("title") + 2)
    # protected without a password: locked columns stay put, rows can still be sorted, added, resized
    ws.protection.sheet = True
    for opt in ("formatColumns", "formatRows", "formatCells", "insertRows", "deleteRows", "sort", "autoFilter"):
        setattr(ws.protection, opt, False)
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A3  # a wide form: A3 landscape, as such annexes are printed
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # every column on the page's width, rows run on
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    wb.active = 1  # open on the table; the instructions are one tab to the left

    for i, (k, v) in enumerate((("format", FORMAT), ("unit", unit_code), ("plan", plan_code or ""),
                                ("period", period), ("exported_at", exported_at.isoformat()), ("lang", lang)),
                               start=1):
        xlsx_cell(meta, i, 1, k)
        xlsx_cell(meta, i, 2, v)
    meta.protection.sheet = True
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _height(text: str, width: int, *, points: float = 16.5) -> float:
    """A row height (points) showing ``text`` wrapped in a column ``width`` characters wide
    (12 pt Times New Roman: about one character per width unit, kept on the safe side)."""
    chars = max(1.0, width * 1.0)
    lines = sum(max(1, -(-len(part) // int(chars))) for part in (text or "").split("\n"))
    return max(1, lines) * points + 3


def _cell_text(text: str) -> str:
    """Text a worksheet can hold: control characters (which openpyxl refuses) removed."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", text or "")


# --- reading a filled sheet (pure) ------------------------------------------------------------------------


@dataclass
class SheetRow:
    row: int  # the row number in the sheet, as Excel shows it
    values: dict[str, str]  # column key -> the cell's text (dates as dd/mm/yyyy)

    def filled(self) -> bool:
        return any(self.values.get(k, "").strip() for k in FILL_KEYS)


@dataclass
class Sheet:
    source: str
    sha256: str
    unit: str
    plan: str
    period: str
    exported_at: str
    rows: list[SheetRow]


@cache
def _headers() -> dict[str, str]:
    """Every header spelling (folded, both languages) -> column key (computed once: the catalog
    is read once per process too)."""
    out: dict[str, str] = {}
    for key, label, _, _ in COLUMNS:
        for lang in ("vi", "en"):
            out[_fold(tr(lang, label))] = key
    return out


# Patterns searched for while the Office limits are checked (engine.planfile.office): when one is
# found, the sheet is read by openpyxl (see read_sheet), not by calamine.
_OPENPYXL_ONLY: dict[str, re.Pattern[bytes]] = {
    # a formula anywhere (openpyxl then names the cell, and allows one above the table)
    "formula": re.compile(rb"<f[\s/>]"),
    # a cell whose first attribute is not a reference within AZ9999: calamine holds a sheet as a
    # dense grid, so one stray cell at XFD1048576 would ask it for 10^10 cells (the process
    # aborts); openpyxl keeps only the cells present (sheet_rows)
    "far_cell": re.compile(rb'<c(?! r="(?:A?[A-Z])?[1-9][0-9]{0,3}")[\s/>]'),
    # a prefixed cell, formula or value (x:c), which the two patterns around would not see
    "prefixed": re.compile(rb":[cfv][\s/>]"),
    # an error cell (#N/A: calamine gives ""), an _x0041_ escape (calamine decodes it, openpyxl not)
    "error_cell": re.compile(rb"""t=(?:"e"|'e')"""),
    "escape": re.compile(rb"_x[0-9A-Fa-f]{4}_"),
    # a number that is negative, of 7 digits or more, or with an exponent: in a date cell, openpyxl
    # and calamine disagree on it (1899-12-29 against 00:00, #VALUE! against the number); past 2**53
    # openpyxl reads an integer exactly, calamine as a rounded float
    "odd_number": re.compile(rb"<v[^>]*>\s*(?:-|\+?[0-9]{7}|[0-9.+]*[eE])"),
}
_NUM_FMT = re.compile(rb'<(?:[\w.-]+:)?numFmt\s[^>]*?numFmtId="([0-9]+)"[^>]*?formatCode="([^"]*)"')
_NUM_FMT_ID = re.compile(rb'numFmtId="([0-9]+)"')
# built-in number formats both readers agree on: numbers, text, and dates with a day (not 17,
# "mmm-yy", which cell_text shows as month/year; not the times and durations 18-22, 45-47;
# not 23-36 and 50+, locale-specific)
_PLAIN_BUILTIN = frozenset(range(0, 17)) | frozenset(range(37, 45)) | frozenset((48, 49))


def _plain_formats(data: bytes) -> bool:
    """True when every number format of the workbook reads the same in calamine as in openpyxl
    plus ``cell_text``: numbers, text, or dates with day, month and year (calamine knows no
    formats, so a month/year or time display must go through openpyxl)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith("styles.xml")]
            if names != ["xl/styles.xml"]:
                return not names
            info = zf.getinfo("xl/styles.xml")
            if info.file_size > 2 * 1024 * 1024:
                return False
            styles = zf.read(info)
    except Exception:
        return False
    custom: dict[int, bytes] = {int(i): code for i, code in _NUM_FMT.findall(styles)}
    for code in custom.values():
        text = re.sub(rb'\[[^\]]*\]|"[^"]*"|&quot;.*?&quot;|\\.', b"", code).lower()
        letters = {ch for ch in b"dmyhs" if ch in text}
        if letters and letters != set(b"dmy"):
            return False
    return all(int(i) in _PLAIN_BUILTIN or int(i) in custom for i in _NUM_FMT_ID.findall(styles))


class _OpenpyxlBook:
    """A workbook read by openpyxl in full: any file it can open, formulas named by cell."""

    def __init__(self, data: bytes, source: str, lang: str) -> None:
        try:
            import openpyxl

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.wb = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
        except Exception as exc:  # openpyxl raises many kinds on damaged files
            raise InputFileError(tr(lang, "prog.file_not_xlsx", source=source, detail=type(exc).__name__)) from None
        self.names: list[str] = list(self.wb.sheetnames)

    def tables(self) -> Iterable[tuple[Any, list[Any]]]:
        from engine.planfile.read_xlsx import sheet_rows

        for ws in self.wb.worksheets:
            if ws.title != META_SHEET and hasattr(ws, "merged_cells"):
                yield ws, sheet_rows(ws)

    def formula_below(self, ws: Any, header_row: int) -> str | None:
        for (r, _c), cell in getattr(ws, "_cells", {}).items():
            if r > header_row and cell.data_type == "f":
                return str(cell.coordinate)
        return None

    def meta_rows(self) -> list[tuple[Any, ...]]:
        if META_SHEET not in self.wb.sheetnames:
            return []
        return list(self.wb[META_SHEET].iter_rows(min_row=1, max_row=20, max_col=2, values_only=True))


class _CalamineBook:
    """The same workbook read by calamine (Rust; about 15 times faster than openpyxl's full
    load). Used only when the scan of ``read_sheet`` proved the sheets free of what only
    openpyxl reads the way this module wants (``_OPENPYXL_ONLY``, ``_plain_formats``)."""

    def __init__(self, data: bytes) -> None:
        import python_calamine

        self.wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        self.sheets = [m.name for m in self.wb.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        self.names = list(self.wb.sheet_names)

    def tables(self) -> Iterable[tuple[Any, list[Any]]]:
        for name in self.sheets:
            if name != META_SHEET:
                yield name, self._rows(name)

    def _rows(self, name: str) -> list[Any]:
        """What ``engine.planfile.read_xlsx.sheet_rows`` gives for the openpyxl sheet."""
        from engine.planfile.read_table import RawRow
        from engine.planfile.read_xlsx import cell_text

        ws = self.wb.get_sheet_by_name(name)
        grid = ws.to_python(skip_empty_area=False)  # row i is sheet row i + 1
        merged = ws.merged_cell_ranges or []
        for (r0, c0), (r1, c1) in merged:  # as openpyxl: only the top-left cell of a merge keeps its value
            for r in range(r0, min(r1, len(grid) - 1) + 1):
                row = grid[r]
                for c in range(c0, min(c1, len(row) - 1) + 1):
                    if (r, c) != (r0, c0):
                        row[c] = ""
        texts: list[list[str] | None] = []
        other: dict[tuple[type, Any], str] = {}  # dates, booleans, …: few distinct values, each converted once
        for row in grid:
            cells = [v if v.__class__ is str else (str(int(v)) if v.__class__ is float and v.is_integer()
                                                    else other.get((v.__class__, v)) or other.setdefault(
                                                        (v.__class__, v), cell_text(v))) for v in row]
            # (as wide as the sheet, where sheet_rows stops at the row's last value: read alike below)
            texts.append(cells if any(cells) else None)
        # single-column vertical merges: the value applies to each merged row holding something else
        for (r0, c0), (r1, c1) in merged:
            if c0 == c1 and r1 > r0 and r0 < len(texts) and (top := texts[r0]) and c0 < len(top) and top[c0]:
                for r in range(r0 + 1, min(r1, len(texts) - 1) + 1):
                    cells = texts[r]
                    if cells is not None:
                        cells.extend([""] * (c0 + 1 - len(cells)))
                        if not cells[c0]:
                            cells[c0] = top[c0]
        rows: list[RawRow] = []
        last = 0
        for i, cells in enumerate(texts, start=1):
            if cells is None:
                continue
            if i > last + 1:
                rows.append(RawRow(last + 1, ()))
            rows.append(RawRow(i, tuple(cells)))
            last = i
        return rows

    def formula_below(self, ws: Any, header_row: int) -> str | None:
        return None  # none anywhere: the scan found no <f> element

    def meta_rows(self) -> list[tuple[Any, ...]]:
        if META_SHEET not in self.sheets:
            return []
        rows = self.wb.get_sheet_by_name(META_SHEET).to_python(skip_empty_area=False, nrows=20)
        return [tuple(None if v == "" else int(v) if v.__class__ is float and v.is_integer() else v
                      for v in (list(r[:2]) + ["", ""])[:2]) for r in rows]


def read_sheet(data: bytes, source: str, *, lang: str = DEFAULT_LANG) -> Sheet:
    """A filled progress sheet (``InputFileError`` with one message naming the file when it
    cannot be used: not an .xlsx, damaged, over the size limits, no table, a formula).

    Two readers give the same rows: calamine when the pass that checks the Office limits
    (which reads the sheets' XML anyway) found nothing only openpyxl reads as wanted — the
    usual case, a sheet as exported and filled; openpyxl otherwise (a formula, a far-away
    cell, a month/year date format, a damaged or unusual file), and when calamine fails."""
    from engine.planfile.office import check_office_size
    from engine.planfile.spec import PlanFileError

    try:
        found = check_office_size(data, source, lang=lang, look_for=_OPENPYXL_ONLY)
    except PlanFileError as exc:
        raise InputFileError(str(exc)) from None
    parsed = None
    if found is not None and not found and _plain_formats(data):
        try:
            parsed = _parse(_CalamineBook(data))
        except Exception:  # whatever calamine cannot read, openpyxl reads or names
            parsed = None
        if parsed is not None and (not parsed[1] or parsed[2].get("format") != FORMAT):
            parsed = None  # no table or no meta sheet found: openpyxl looks again and says what is wrong
    if parsed is None:
        parsed = _parse(_OpenpyxlBook(data, source, lang))
    book, tables, meta = parsed
    ref_label = tr(lang, "prog.h.ref")
    if not tables:
        sheets = ", ".join(f"«{n}»" for n in book.names if n != META_SHEET)
        raise InputFileError(tr(lang, "prog.no_data_sheet", source=source, ref=ref_label, sheets=sheets or "—"))
    ws, rows, header_row, cols = tables[0]
    cell = book.formula_below(ws, header_row)
    if cell is not None:
        raise InputFileError(tr(lang, "prog.formula", source=source, cell=cell))
    if meta.get("format") != FORMAT or not meta.get("unit"):
        raise InputFileError(tr(lang, "prog.no_meta", source=source))
    out: list[SheetRow] = []
    keys = list(cols.items())
    width = max(cols) + 1
    for raw in rows:
        cells = raw.cells
        if raw.number <= header_row or not "".join(cells).strip():
            continue
        if len(cells) < width:
            cells = cells + ("",) * (width - len(cells))
        values = {key: cells[i].strip() for i, key in keys}
        out.append(SheetRow(raw.number, values))
    return Sheet(source=source, sha256=hashlib.sha256(data).hexdigest(), unit=meta["unit"], plan=meta.get("plan", ""),
                 period=meta.get("period", ""), exported_at=meta.get("exported_at", ""), rows=out)


def _parse(book: _OpenpyxlBook | _CalamineBook) -> tuple[_OpenpyxlBook | _CalamineBook, list[Any], dict[str, str]]:
    """The book, its table (a list of one, or empty) and its meta sheet's key -> value."""
    tables = list(_find_table(book))
    meta: dict[str, str] = {}
    for row in book.meta_rows():
        if row and row[0] is not None:
            meta[str(row[0])] = "" if row[1] is None else str(row[1])
    return book, tables, meta


def _find_table(book: _OpenpyxlBook | _CalamineBook) -> Iterable[tuple[Any, list[Any], int, dict[int, str]]]:
    """The first sheet (not the meta sheet) with a header row naming the reference and status
    columns in its first 30 rows: (sheet, rows, header row, column index -> key)."""
    headers = _headers()
    for ws, rows in book.tables():
        for raw in rows[:30]:
            folded = (_fold(t) if t else "" for t in raw.cells)
            cols = {i: headers[f] for i, f in enumerate(folded) if f in headers}
            if "ref" in cols.values() and "status" in cols.values():
                yield ws, rows, raw.number, cols
                return


def read_sheets(files: Sequence[tuple[bytes, str]], *, lang: str = DEFAULT_LANG) -> list[Sheet]:
    """``read_sheet`` of each (bytes, source), in order, two at a time: unzipping and
    calamine's parse let go of the interpreter, so the second file is read while the first is
    (measured, bench/progress_import.py: 34 sheets in 0.21–0.32 s instead of 0.45–0.50 s).
    The first file (in order) that cannot be used raises, with its own message."""
    if len(files) < 2:
        return [read_sheet(data, source, lang=lang) for data, source in files]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="read-sheet") as pool:
        futures = [pool.submit(read_sheet, data, source, lang=lang) for data, source in files]
        return [f.result() for f in futures]


def read_sheet_isolated(data: bytes, source: str, *, lang: str = DEFAULT_LANG, seconds: float | None = None,
                        memory_mb: int | None = None) -> Sheet:
    """``read_sheet`` in a child process with a time and memory budget (web uploads; see
    ``engine.planfile.isolated``)."""
    from engine.planfile import isolated

    return isolated.run_isolated(read_sheet, data, source, lang=lang,
                                 seconds=seconds or isolated.READ_SECONDS, memory_mb=memory_mb or isolated.READ_MEMORY_MB)


# --- planning an import ----------------------------------------------------------------------------------


@dataclass
class RowPlan:
    """What one row will do: ``commands`` in order; ``changes`` and ``conflicts`` as text."""

    row: int
    ref: str
    item_id: int | None = None
    version: int | None = None
    target: str | None = None
    commands: list[cmds.Command] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document: docs.Document | None = None
    item: WorkItem | None = field(default=None, repr=False)  # as read when planning (with its task)


@dataclass
class ImportPlan:
    sheet: Sheet
    unit_code: str
    unit_name: str
    actor: Actor  # the unit's focal point, whom the actions are recorded as
    importer: str  # who imports (the secretariat, or the focal point)
    rows: list[RowPlan]

    @property
    def conflicts(self) -> list[tuple[int, str]]:
        return [(r.row, c) for r in self.rows for c in r.conflicts]

    @property
    def changes(self) -> list[tuple[int, str]]:
        return [(r.row, c) for r in self.rows for c in r.changes]

    @property
    def warnings(self) -> list[tuple[int, str]]:
        return [(r.row, w) for r in self.rows for w in r.warnings]

    def command_count(self, *, skip_conflicts: bool = False) -> int:
        return sum(len(r.commands) for r in self.rows if not (skip_conflicts and r.conflicts))

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.sheet.source, "sha256": self.sheet.sha256, "unit": self.unit_code,
                "period": self.sheet.period, "actor": self.actor.id,
                "rows": [{"row": r.row, "ref": r.ref, "changes": r.changes, "conflicts": r.conflicts,
                          "warnings": r.warnings, "document": r.document.as_dict() if r.document else None}
                         for r in self.rows]}


def _focal_point(session: Session, unit: Unit, lang: str) -> Actor:
    pid = session.execute(select(Person.id).where(Person.unit_id == unit.id, Person.role == Role.FOCAL_POINT,
                                                  Person.active.is_(True)).order_by(Person.id).limit(1)).scalar()
    if pid is None:
        raise UserError(tr(lang, "prog.no_focal", unit=unit.code))
    return load_actor(session, pid, lang=lang)


def _percent(text: str) -> float | None:
    try:
        v = float(text.strip().rstrip("%").strip().replace(",", "."))
    except ValueError:
        return None
    if 0 < v <= 1 and "%" not in text and "." in text.replace(",", "."):  # 0.6 from a cell formatted as %
        v *= 100
    return v if 0 <= v <= 100 else None


def _path(current: str, target: str) -> list[type[cmds.Command]] | None:
    """The commands that take an item from ``current`` to ``target`` (None: not allowed for a unit)."""
    if current == target:
        return []
    table: dict[tuple[str, str], list[type[cmds.Command]]] = {
        (Status.NOT_STARTED, Status.IN_PROGRESS): [cmds.Start],
        (Status.NOT_STARTED, Status.SUBMITTED): [cmds.Submit],
        (Status.NOT_STARTED, Status.BLOCKED): [cmds.Block],
        (Status.IN_PROGRESS, Status.SUBMITTED): [cmds.Submit],
        (Status.IN_PROGRESS, Status.BLOCKED): [cmds.Block],
        (Status.BLOCKED, Status.IN_PROGRESS): [cmds.Unblock],  # and a start if it was not started (apply)
        (Status.BLOCKED, Status.SUBMITTED): [cmds.Unblock, cmds.Submit],
    }
    return table.get((current, target))


def plan_import(session: Session, sheet: Sheet, *, now: datetime, importer: str,
                lang: str = DEFAULT_LANG, earlier: Sequence[ImportPlan] = ()) -> ImportPlan:
    """What importing ``sheet`` would do (nothing is written). ``importer``: the person
    importing — the secretariat (or chair), or a focal point of the sheet's unit.
    ``earlier``: the plans of the files before it in the same import (planned, not yet
    applied), whose documents count as in use too."""
    custom_plans(session)  # PostgreSQL: the per-sheet lookups by hundreds of references stay fast
    unit = _unit(session, sheet.unit, lang)
    who = load_actor(session, importer, lang=lang)
    if not (who.is_staff or (who.role == Role.FOCAL_POINT and who.unit_code == unit.code)):
        raise PermissionDenied(tr(lang, "prog.not_allowed", name=f"{who.name} ({who.id})", unit=unit.code))
    focal = who if who.role == Role.FOCAL_POINT else _focal_point(session, unit, lang)
    tz, _ = committee_settings(session, None)
    today = local_date(now, tz)
    words = _status_words()
    choices = "; ".join(state_choice(s, lang) for s in SHEET_STATES)

    refs_in_sheet = {r.values.get("ref", "") for r in sheet.rows if r.values.get("ref")}
    items = _items_by_ref(session, refs_in_sheet)  # primed: what the actions read, for every row at once
    plan_issued = dict(session.execute(select(Plan.id, Plan.issued_on)).all())
    units = dict(session.execute(select(Unit.id, Unit.code)).all())
    pending = _pending_extensions(session, [w.id for w in items.values()])

    plans: list[RowPlan] = []
    seen: dict[str, int] = {}
    sheet_docs: list[tuple[str, int, RowPlan]] = []
    for sr in sorted(sheet.rows, key=lambda r: r.row):
        v = sr.values
        ref = v.get("ref", "").strip()
        rp = RowPlan(row=sr.row, ref=ref or "—")
        if not ref:
            if sr.filled():
                title = (v.get("title") or v.get("result") or "").strip()[:60]
                rp.conflicts.append(tr(lang, "prog.cf_no_ref", title=title or "—"))
                plans.append(rp)
            continue
        plans.append(rp)
        if ref in seen:
            rp.conflicts.append(tr(lang, "prog.cf_duplicate", ref=ref, first=seen[ref]))
            continue
        seen[ref] = sr.row
        w = items.get(ref)
        if w is None:
            rp.conflicts.append(tr(lang, "prog.cf_unknown_ref", ref=ref))
            continue
        rp.item_id, rp.item = w.id, w
        if w.unit_id != unit.id:
            rp.conflicts.append(tr(lang, "prog.cf_other_unit", ref=ref, other=units.get(w.unit_id, "?"), unit=unit.code))
            continue
        try:
            rp.version = int(float(v.get("version", "").strip()))
        except ValueError:
            rp.conflicts.append(tr(lang, "prog.cf_bad_version", ref=ref, value=v.get("version", "")))
            continue
        if not sr.filled():
            rp.changes.append(tr(lang, "prog.ch_nothing", ref=ref))
            continue
        if rp.version != w.version:
            last = _last_change(session, w.id)
            whom = tr(lang, "prog.cf_who", name=last[0], when=fmt_local(last[1], tz)) if last else ""
            rp.conflicts.append(tr(lang, "prog.cf_version", ref=ref, sheet=rp.version, now=w.version, who=whom))
            continue
        _plan_row(rp, v, w, ref=ref, words=words, choices=choices, today=today,
                  plan_issued=plan_issued.get(w.task.plan_id), pending=w.id in pending, lang=lang)
        if rp.document is not None:
            sheet_docs.append((rp.document.key, w.task_id, rp))
    # one document given for unrelated tasks (in this sheet, or already in the log)
    known_docs = _documents_in_use(session, {k for k, _, _ in sheet_docs})
    uses = [(k, t) for k, t, _ in sheet_docs] + [(k, t) for k, ts in known_docs.items() for t in ts]
    uses += [(r.document.key, r.item.task_id) for p in earlier for r in p.rows
             if r.document is not None and r.item is not None and not r.conflicts]
    parents = _parents(session, {t for _, t in uses})
    reused = docs.reused_documents(uses, parents)
    task_codes = dict(session.execute(select(Task.id, Task.code)).all()) if reused else {}
    for key, task_id, rp in sheet_docs:
        if key in reused:
            others = sorted(task_codes.get(t, str(t)) for t in reused[key] if t != task_id)
            if others:
                rp.warnings.append(tr(lang, "prog.warn_doc_reused", ref=rp.ref, doc=rp.document.reference,  # type: ignore[union-attr]
                                      others=", ".join(others)))
    return ImportPlan(sheet=sheet, unit_code=unit.code, unit_name=unit.name, actor=focal, importer=who.id, rows=plans)


def _plan_row(rp: RowPlan, v: dict[str, str], w: WorkItem, *, ref: str, words: dict[str, str], choices: str,
              today: date, plan_issued: date | None, pending: bool, lang: str) -> None:
    word = v.get("status", "").strip()
    target = None
    if word:
        target = words.get(_fold(word))
        if target is None:
            rp.conflicts.append(tr(lang, "prog.cf_status_word", ref=ref, word=word, choices=choices))
    rp.target = target
    result = v.get("result", "").strip()
    blockers = v.get("blockers", "").strip()
    percent = None
    if v.get("percent", "").strip():
        percent = _percent(v["percent"])
        if percent is None:
            rp.conflicts.append(tr(lang, "prog.cf_bad_percent", ref=ref, value=v["percent"]))
    # the evidence document
    evidence = None
    doc_text, doc_date_text, issuer = (v.get(k, "").strip() for k in ("doc", "doc_date", "doc_issuer"))
    if doc_text or doc_date_text or issuer:
        doc_date = None
        if doc_date_text:
            doc_date = read_day(doc_date_text)
            if doc_date is None:
                rp.conflicts.append(tr(lang, "prog.cf_bad_date", ref=ref, field=tr(lang, "prog.h.doc_date"),
                                       value=doc_date_text))
        combined = doc_text + (f" ngày {doc_date:%d/%m/%Y}" if doc_date else "") + (f" của {issuer}" if issuer else "")
        d = docs.parse_document(combined)
        if d is not None:
            if issuer and d.issuer != issuer:
                d = docs.Document(d.type, d.number, d.symbol, d.date, issuer, d.text)
            rp.document = d
            evidence = d.reference
            for problem in docs.check_document(d, today=today, plan_issued_on=plan_issued):
                detail = tr(lang, problem, day=fmt_date(plan_issued)) if problem == "prog.doc_before_plan" \
                    else tr(lang, problem)
                rp.conflicts.append(tr(lang, "prog.cf_doc", ref=ref, doc=d.reference, problem=detail))
        else:
            evidence = combined.strip()
            if doc_text:
                rp.warnings.append(tr(lang, "prog.warn_doc_unparsed", ref=ref, text=doc_text))
    # the extension asked
    ext_until = None
    if v.get("ext_until", "").strip():
        ext_until = read_day(v["ext_until"])
        if ext_until is None:
            rp.conflicts.append(tr(lang, "prog.cf_bad_date", ref=ref, field=tr(lang, "prog.h.ext_until"),
                                   value=v["ext_until"]))
        elif ext_until <= today or ext_until == w.deadline:
            rp.conflicts.append(tr(lang, "prog.cf_ext_date", ref=ref, until=fmt_date(ext_until), today=fmt_date(today)))
        elif pending:
            rp.conflicts.append(tr(lang, "prog.cf_ext_pending", ref=ref))
    ext_reason = v.get("ext_reason", "").strip() or blockers
    if ext_until is not None and not ext_reason:
        rp.conflicts.append(tr(lang, "prog.cf_ext_reason", ref=ref))
    if rp.conflicts:
        return
    # the commands, in order: the status move, then the note, then the extension request
    version: int | None = w.version
    status_now = w.status
    if target is not None and target != w.status:
        path = _path(w.status, target)
        if path is None:
            rp.conflicts.append(tr(lang, "prog.cf_illegal", ref=ref, before=status_label(w.status, lang),
                                   after=state_choice(target, lang)))
            return
        for cls in path:
            if cls is cmds.Submit:
                if not evidence:
                    rp.conflicts.append(tr(lang, "prog.cf_no_evidence", ref=ref))
                    return
                rp.commands.append(cmds.Submit(version=version, evidence=evidence, note=result or None))
            elif cls is cmds.Block:
                why = blockers or result
                if not why:
                    rp.conflicts.append(tr(lang, "prog.cf_no_reason", ref=ref))
                    return
                rp.commands.append(cmds.Block(version=version, reason=why))
            elif cls is cmds.Start:
                rp.commands.append(cmds.Start(version=version, note=None))
            else:
                rp.commands.append(cls(version=version))  # type: ignore[call-arg]
            version = None  # later commands of the row follow the first one's write
        rp.changes.append(tr(lang, "prog.ch_status", ref=ref, before=status_label(w.status, lang),
                             after=status_label(target, lang)))
        status_now = target
    submitted_now = any(isinstance(c, cmds.Submit) for c in rp.commands)
    blocked_now = any(isinstance(c, cmds.Block) for c in rp.commands)
    if result and submitted_now:  # the result goes with the submission
        shown = result if len(result) <= 80 else result[:79] + "…"
        rp.changes.append(tr(lang, "prog.ch_note", ref=ref, text=shown))
    parts = []
    if result and not submitted_now:
        parts.append(result)
    if blockers and not blocked_now:
        parts.append(tr(lang, "prog.note_blockers", text=blockers))
    note_evidence = evidence if not submitted_now else None
    if parts or percent is not None or note_evidence:
        text = "\n".join(parts) or tr(lang, "prog.note_percent_only")
        if status_now in OPEN_STATES:
            rp.commands.append(cmds.Note(version=version, text=text, percent=percent, evidence=note_evidence))
            version = None
            shown = text if len(text) <= 80 else text[:79] + "…"
            if percent is not None:
                shown += f" — {tr(lang, 'prog.ch_percent', percent=f'{percent:g}')}"
            rp.changes.append(tr(lang, "prog.ch_note", ref=ref, text=shown))
    if evidence:
        rp.changes.append(tr(lang, "prog.ch_evidence", ref=ref, doc=evidence))
    if ext_until is not None:
        rp.commands.append(cmds.RequestExtension(version=version, until=ext_until, reason=ext_reason))
        rp.changes.append(tr(lang, "prog.ch_extension", ref=ref, until=fmt_date(ext_until)))
    if not rp.commands:
        rp.changes.append(tr(lang, "prog.ch_nothing", ref=ref))


def _items_by_ref(session: Session, refs: Iterable[str]) -> dict[str, WorkItem]:
    """The items the sheet's references name (reference -> item), found by their plan and task
    codes in one statement per plan."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for ref in refs:
        m = re.fullmatch(r"([^/]+)/([^@#]+)(?:@[^#]+)?(?:#.+)?", ref)
        if m:
            wanted.setdefault((m.group(1), m.group(2)), set()).add(ref)
    if not wanted:
        return {}
    plan_codes = sorted({p for p, _ in wanted})
    found: list[WorkItem] = []
    for pcode in plan_codes:
        # primed: their task, unit, plan and units per task come along, so neither the
        # references below nor the actions read more per row
        found.extend(items_by_task_codes(session, pcode, sorted({t for p, t in wanted if p == pcode})))
    by_ref = item_refs(session, found)
    named = set().union(*wanted.values())
    return {by_ref[w.id]: w for w in found if by_ref[w.id] in named}


def _parents(session: Session, task_ids: set[int]) -> dict[int, int | None]:
    """Task id -> its parent task's id, for ``task_ids`` (what ``docs.reused_documents`` asks)."""
    ids = sorted(task_ids)
    out: dict[int, int | None] = {}
    for chunk in range(0, len(ids), 900):
        out.update(session.execute(select(Task.id, Task.parent_task_id).where(Task.id.in_(ids[chunk:chunk + 900]))).all())
    return out


def _pending_extensions(session: Session, ids: list[int]) -> set[int]:
    from engine.models import ExtensionRequest
    from engine.states import ExtensionStatus

    # the pending requests are few at any time: reading them all is cheaper than naming the
    # sheet's hundreds of items in the query
    wanted = set(ids)
    return {i for i in session.execute(select(ExtensionRequest.work_item_id).where(
        ExtensionRequest.status == ExtensionStatus.PENDING)).scalars() if i in wanted}


def _last_change(session: Session, item_id: int) -> tuple[str, datetime] | None:
    row = session.execute(select(Person.name, Event.actor, Event.at).outerjoin(Person, Person.id == Event.actor)
                          .where(Event.work_item_id == item_id).order_by(Event.id.desc()).limit(1)).first()
    return (row[0] or row[1], row[2]) if row else None


def _documents_in_use(session: Session, wanted: set[str]) -> dict[str, set[int]]:
    """Document key -> the tasks whose events give it as evidence, for the documents whose
    key is in ``wanted`` (the sheet's). The log's evidence texts are read once and only
    those holding one of the wanted numbers ("1234/", Party style "57-") are parsed, so a
    large log costs a scan, not a parse of every text."""
    if not wanted:
        return {}
    tokens = {k.split("/", 1)[0] for k in wanted}
    # one search for all of them ("<number>/" or "<number>-" anywhere): a sheet's hundred
    # numbers against every evidence text of the log cost one regex scan per text, not a
    # hundred substring tests (measured, bench/progress_import.py: 1.9 s of 34 sheets' import)
    holds_one = re.compile("(?:" + "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)) + ")[/-]")
    out: dict[str, set[int]] = {}
    for low, text, task_id in _evidence_texts(session):
        if not holds_one.search(low):
            continue
        for d in docs.find_documents(text):
            if d.key in wanted:
                out.setdefault(d.key, set()).add(task_id)
    return out


def _evidence_texts(session: Session) -> list[tuple[str, str, int]]:
    """(casefolded text, text, task id) of every event in the log that gives evidence.

    Kept for the transaction (``tx_facts``) and extended by the events appended since it was
    last read (ids only grow: an event committed later by anyone has a higher id), so a
    transaction importing many sheets reads the log's evidence once, not once per sheet —
    measured, bench/progress_import.py: 34 sheets re-read 58,000 rows, about 0.3 s of the import."""
    facts = tx_facts(session)
    last, texts = facts.get(_EVIDENCE_KEY, (0, []))
    rows = session.execute(select(Event.id, Event.evidence, Event.task_id).where(
        Event.id > last, Event.evidence.is_not(None), Event.task_id.is_not(None)).order_by(Event.id)).all()
    if rows:
        texts = [*texts, *((text.casefold(), text, task_id) for _, text, task_id in rows)]
        last = rows[-1][0]
    facts[_EVIDENCE_KEY] = (last, texts)
    return texts


_EVIDENCE_KEY = "progress.evidence_texts"
FORGET_ON_ROLLBACK.add(_EVIDENCE_KEY)  # a savepoint taken back may have held some of them


# --- applying it ------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    plan: ImportPlan
    applied: int
    rows: int
    skipped: list[int]


def apply_import(session: Session, plan: ImportPlan, *, now: datetime, skip_conflicts: bool = False,
                 lang: str = DEFAULT_LANG) -> ImportResult:
    """Perform the planned commands in the caller's transaction. With conflicts and without
    ``skip_conflicts`` nothing is done (``UserError`` listing them); any refusal while
    performing raises, and the caller's transaction then writes nothing."""
    conflicts = plan.conflicts
    if conflicts and not skip_conflicts:
        lines = [tr(lang, "prog.conflicts_refused", n=len(conflicts))]
        lines += [f"  {tr(lang, 'prog.row', row=r)}: {c}" for r, c in conflicts]
        raise UserError("\n".join(lines))
    sheet = plan.sheet
    source = {"file": sheet.source, "sha256": sheet.sha256, "period": sheet.period, "imported_by": plan.importer}
    applied, rows, skipped = 0, 0, []
    # the rows' commands go through the one action path in batches (engine.commands.perform_many:
    # each checked as alone, the writes done in bulk); a row that unblocks is performed on its own,
    # after the batch before it, since whether it also starts depends on where the unblock leads
    batch: list[cmds.Step] = []
    try:
        for rp in plan.rows:
            if rp.conflicts:
                skipped.append(rp.row)
                continue
            if not rp.commands:
                continue
            assert rp.item_id is not None
            # the item as planning read it, with its task; its unit, plan and the committee are
            # in this session's identity map already (plan_import), so the action reads nothing more
            item: WorkItem | int = rp.item if rp.item is not None else rp.item_id
            row_source = {**source, "row": rp.row}
            rows += 1
            if not any(isinstance(c, cmds.Unblock) for c in rp.commands):
                batch.extend(cmds.Step(item, command, row_source) for command in rp.commands)
                continue
            applied += len(cmds.perform_many(session, plan.actor, batch, now=now, lang=lang))
            batch = []
            session.info[SOURCE_KEY] = row_source
            for command in rp.commands:
                out = cmds.perform(session, plan.actor, item, command, now=now, lang=lang)
                applied += 1
                item = out.item
                if isinstance(command, cmds.Unblock) and rp.target in (Status.IN_PROGRESS,) \
                        and out.item.status == Status.NOT_STARTED:
                    cmds.perform(session, plan.actor, item, cmds.Start(), now=now, lang=lang)
                    applied += 1
        applied += len(cmds.perform_many(session, plan.actor, batch, now=now, lang=lang))
    finally:
        session.info.pop(SOURCE_KEY, None)
    unit = session.execute(select(Unit.id).where(Unit.code == plan.unit_code)).scalar_one()
    append_event(session, now=now, at=now, actor=plan.actor.id, actor_role=plan.actor.role, kind=IMPORT_EVENT,
                 note=sheet.source, data={**source, "unit": plan.unit_code, "unit_id": unit, "rows": rows,
                                          "actions": applied, "skipped": skipped})
    return ImportResult(plan=plan, applied=applied, rows=rows, skipped=skipped)


# --- missing reports --------------------------------------------------------------------------------------


@dataclass
class MissingUnit:
    code: str
    name: str
    sent: bool
    open_items: int
    stale_items: int  # open items without any event in the period


def missing_reports(session: Session, period: str, *, plan_code: str | None = None,
                    lang: str = DEFAULT_LANG) -> list[MissingUnit]:
    """Units with open items that have not sent their sheet for ``period`` ("2025-10", a
    month, quarter …) or have open items without any update in it."""
    from engine.clock import local_datetime
    from engine.reporting import parse_period

    p = parse_period(period, lang=lang)
    plan = _plan(session, plan_code, lang)
    tz, _ = committee_settings(session, None)
    start, end = local_datetime(p.start, tz=tz), local_datetime(p.end, tz=tz)
    from datetime import timedelta

    end = end + timedelta(days=1)
    stmt = (select(Unit.id, Unit.code, Unit.name, WorkItem.id).join(WorkItem, WorkItem.unit_id == Unit.id)
            .join(Task, Task.id == WorkItem.task_id)
            .where(WorkItem.status.in_(OPEN_STATES), Unit.is_group.is_(False), Task.status == PlanStatus.ACTIVE))
    if plan is not None:
        stmt = stmt.where(Task.plan_id == plan.id)
    by_unit: dict[int, tuple[str, str, list[int]]] = {}
    for uid, code, name, wid in session.execute(stmt).all():
        by_unit.setdefault(uid, (code, name, []))[2].append(wid)
    updated = set(session.execute(select(Event.work_item_id).where(
        Event.work_item_id.is_not(None), Event.at >= start, Event.at < end,
        Event.kind.in_(("status", "note", "extension_requested"))).distinct()).scalars())
    sent = {str((d or {}).get("unit")) for d in session.execute(select(Event.data).where(
        Event.kind == IMPORT_EVENT, Event.at >= start - timedelta(days=62))).scalars()
        if str((d or {}).get("period")) == p.key}
    out = []
    for _uid, (code, name, wids) in sorted(by_unit.items(), key=lambda kv: kv[1][0]):
        stale = sum(1 for w in wids if w not in updated)
        if code not in sent or stale:
            out.append(MissingUnit(code, name, code in sent, len(wids), stale))
    return out


def queue_reminders(session: Session, period: str, units: Sequence[MissingUnit], *, now: datetime,
                    recipients: Sequence[str] = ("lead_unit",)) -> int:
    """One ``report_missing`` outbox row per unit (and per secretariat member when the
    policy says so) and period: exactly once — the dedupe key is level, period, unit and
    recipient, and a second run finds it taken. Returns the rows written."""
    rows: list[dict[str, Any]] = []
    staff: list[str] = []
    if "secretariat" in recipients:
        staff = list(session.execute(select(Person.id).where(Person.role == Role.SECRETARIAT,
                                                             Person.active.is_(True))).scalars())
    for u in units:
        if u.sent and not u.stale_items:
            continue
        who = (["unit:" + u.code] if "lead_unit" in recipients else []) + ["person:" + p for p in staff]
        for rcpt in who:
            rows.append(dict(dedupe_key=f"{REPORT_MISSING}:{period}:{u.code}:{rcpt}", level=REPORT_MISSING,
                             level_rank=0, occurrence=period, work_item_id=None, deadline=None, recipient=rcpt,
                             status="pending", not_before=now, next_attempt_at=now, attempts=0, created_at=now,
                             data={"unit": u.code, "unit_name": u.name, "period": period, "sent": u.sent,
                                   "open": u.open_items, "stale": u.stale_items}))
    if not rows:
        return 0
    taken = set(session.execute(select(OutboxMessage.dedupe_key).where(
        OutboxMessage.dedupe_key.in_([r["dedupe_key"] for r in rows]))).scalars())
    fresh = [r for r in rows if r["dedupe_key"] not in taken]
    if fresh:
        session.execute(insert(OutboxMessage), fresh)
    return len(fresh)


__all__ = ["export_sheet", "export_all", "read_sheet", "read_sheets", "read_sheet_isolated", "plan_import", "apply_import",
           "missing_reports", "queue_reminders"]

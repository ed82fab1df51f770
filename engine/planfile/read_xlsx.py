"""Excel plan files (.xlsx/.xlsm), read with openpyxl (cached formula values)."""

from __future__ import annotations

import io
import re
import warnings
from datetime import date, datetime, time
from typing import Any

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.office import check_office_size
from engine.planfile.read_table import RawRow, find_header, no_header_error, rows_to_plan
from engine.planfile.spec import PlanFileError, PlanSpec


def cell_text(value: Any, number_format: str = "General") -> str:
    """A cell value as the text a person sees (numbers without '.0', dates d/m/y)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        fmt = (number_format or "").lower()
        if value.time() == time(0, 0):
            return _date_text(value.date(), fmt)
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return _date_text(value, (number_format or "").lower())
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def _date_text(d: date, fmt: str) -> str:
    # Excel turns a typed "6/2025" into a date shown as month/year: keep it month/year.
    fmt = re.sub(r'\[[^\]]*\]|"[^"]*"', "", fmt)  # [$-42A], [Red], "literal text"
    if fmt and "d" not in fmt and "m" in fmt and "y" in fmt:
        return d.strftime("%m/%Y")
    return d.strftime("%d/%m/%Y")


def sheet_rows(ws: Any) -> list[RawRow]:
    """The filled rows of a worksheet as cell texts (merged ranges resolved, see below)."""
    cells: dict[tuple[int, int], Any] = getattr(ws, "_cells", {})
    filled = {(r, c): cell for (r, c), cell in cells.items() if cell.value is not None}
    if not filled:
        return []
    values: dict[tuple[int, int], str] = {
        key: cell_text(cell.value, cell.number_format) for key, cell in filled.items()
    }
    # Merged ranges: the value stays in the top-left cell only (so a section row merged
    # across A:F is one non-empty cell), except single-column vertical merges, whose value
    # applies to every row (a lead agency merged over three tasks, as Word tables do).
    # Only into rows that hold something else: a merge over a whole column must not
    # create a million rows holding nothing but the merged text.
    filled_rows = {r for r, _ in values}
    for rng in ws.merged_cells.ranges:
        if rng.min_col == rng.max_col and rng.max_row > rng.min_row:
            top = values.get((rng.min_row, rng.min_col), "")
            if top:
                for r in filled_rows:
                    if rng.min_row < r <= rng.max_row:
                        values.setdefault((r, rng.min_col), top)
    # Sparse: only filled rows, each as wide as its own last filled cell. A stray cell far
    # away (XFD1048576) must not turn the sheet into a million rows of 16,384 cells. A gap
    # of empty rows stays as one empty row, so rows that were not adjacent still are not.
    by_row: dict[int, dict[int, str]] = {}
    for (r, c), text in values.items():
        by_row.setdefault(r, {})[c] = text
    rows: list[RawRow] = []
    last = 0
    for r in sorted(by_row):
        if r > last + 1:
            rows.append(RawRow(last + 1, ()))
        cells = by_row[r]
        rows.append(RawRow(r, tuple(cells.get(c, "") for c in range(1, max(cells) + 1))))
        last = r
    return rows


def load_workbook_bytes(data: bytes, source: str, *, lang: str = DEFAULT_LANG) -> Any:
    import openpyxl

    check_office_size(data, source, lang=lang)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise PlanFileError(tr(lang, "plan.read.bad_xlsx", source=source, exc=type(exc).__name__)) from None


def read_xlsx_bytes(data: bytes, source: str, sheet: str | None = None, *, lang: str = DEFAULT_LANG) -> PlanSpec:
    wb = load_workbook_bytes(data, source, lang=lang)
    names = list(wb.sheetnames)
    if sheet is not None:
        match = [n for n in names if n == sheet] or [
            n for n in names if n.strip().casefold() == sheet.strip().casefold()
        ]
        if not match:
            listed = ", ".join(f"«{n}»" for n in names)
            raise PlanFileError(tr(lang, "plan.read.no_sheet", source=source, sheet=sheet, listed=listed))
        rows = sheet_rows(wb[match[0]])
        return rows_to_plan(rows, source=source, fmt="xlsx", where=tr(lang, "plan.read.in_sheet", sheet=match[0]),
                            lang=lang)
    first_rows: list[RawRow] | None = None
    # Visible sheets first: a hidden sheet is usually an old copy or a lookup list.
    ordered = sorted(names, key=lambda n: getattr(wb[n], "sheet_state", "visible") != "visible")
    for name in ordered:
        ws = wb[name]
        if not hasattr(ws, "merged_cells"):  # chart sheets
            continue
        rows = sheet_rows(ws)
        if first_rows is None and rows:
            first_rows = rows
        if find_header(rows) is not None:
            return rows_to_plan(rows, source=source, fmt="xlsx", lang=lang)
    listed = ", ".join(f"«{n}»" for n in names)
    raise no_header_error(source, first_rows or [], tr(lang, "plan.read.sheets_seen", listed=listed), lang)

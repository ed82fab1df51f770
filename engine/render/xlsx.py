"""XLSX rendering with openpyxl: one sheet per part of the report, formatted tables, frozen headers.

Text in Times New Roman (as the DOCX); dates are real dates (Excel date cells) shown dd/mm/yyyy,
percentages real fractions shown as percentages, counts numbers; column widths follow the
content (a column as wide as its longest cell line, between 8 and 60 characters)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from engine.i18n import tr
from engine.render.document import document_view
from engine.render.view import Part, cell_text, status_text
from engine.safetext import xlsx_cell

STATUS_FILL = {"green": "C8E6C9", "yellow": "FFF3C4", "red": "FFCDD2", "grey": "E0E0E0"}  # grey: not reported
HEADER_FILL = "DCE6F1"
FONT = "Times New Roman"
DATE_FORMAT = "dd/mm/yyyy"
MIN_WIDTH, MAX_WIDTH = 8, 60


def _sheet_name(part: Part, lang: str, own: dict[str, str] | None = None) -> str:
    if own and part.number in own:
        return own[part.number][:31]
    names = {
        "I": tr(lang, "render.summary"), "II": tr(lang, "render.by_section"),
        "III": tr(lang, "render.by_unit"), "IV": tr(lang, "render.implementing_plans"),
        "V": tr(lang, "render.indicators_2"), "VI": tr(lang, "render.changes"),
        "VII": tr(lang, "render.overdue_2"), "": tr(lang, "render.appendix_2"),
    }
    return names.get(part.number, part.title[:31])


def render_xlsx(data: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.indexed_list import IndexedList

    v = document_view(data)
    lang = v.lang
    wb = Workbook()
    # The workbook's default font (font 0, the "Normal" style: empty cells, rows typed in later)
    # in Times New Roman; openpyxl has no public setter for it.
    wb._fonts = IndexedList([Font(name=FONT, size=12, family=1)])
    wb.remove(wb.active)
    stamp = datetime.combine(datetime.fromisoformat(data["as_of"]).date(), time(0, 0))
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "Steer"
    wb.properties.title = f"{v.title} {v.subtitle}"
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    plain = Font(name=FONT, size=12)
    bold = Font(name=FONT, size=12, bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    head_align = Alignment(wrap_text=True, vertical="center", horizontal="center")

    for part in [*v.parts, v.appendix]:
        if not part.tables:
            continue
        ws = wb.create_sheet(_sheet_name(part, lang, v.sheet_names))
        ncols = max(len(tb.headers) for tb in part.tables)
        xlsx_cell(ws, 1, 1, f"{part.number + '. ' if part.number else ''}{part.title}").font = \
            Font(name=FONT, bold=True, size=14)
        xlsx_cell(ws, 2, 1, f"{v.subtitle}. {v.scope_line}").font = Font(name=FONT, size=12, italic=True)
        row = 4
        freeze: str | None = None
        widths: dict[int, float] = {}

        def want(j: int, text: str, *, header: bool = False, widths: dict[int, float] = widths) -> None:
            """Widen column j for ``text``: a header by its longest word (it wraps), a cell by its
            longest line (a long cell wraps at the column's cap)."""
            parts = text.split() if header else text.split("\n")
            widths[j] = max(widths.get(j, 0), max((len(t) for t in parts), default=0) * 1.1 + 2)

        for tb in part.tables:
            xlsx_cell(ws, row, 1, tb.title).font = bold
            row += 1
            for j, h in enumerate(tb.headers, start=1):
                c = xlsx_cell(ws, row, j, h)
                c.font, c.alignment, c.border = bold, head_align, border
                c.fill = PatternFill("solid", fgColor=HEADER_FILL)
                want(j, h, header=True)
            header_row = row
            if freeze is None:
                freeze = f"A{header_row + 1}"
            row += 1
            if not tb.rows:
                xlsx_cell(ws, row, 1, tb.empty or "—").font = Font(name=FONT, size=12, italic=True)
                row += 2
                continue
            for values in tb.rows:
                for j, value in enumerate(values, start=1):
                    i = j - 1
                    want(j, cell_text(value, lang, percent=i in tb.percent_cols, status=i == tb.status_col))
                    font = plain
                    if i == tb.status_col and isinstance(value, str):
                        c = xlsx_cell(ws, row, j, status_text(value, lang))
                        c.fill = PatternFill("solid", fgColor=STATUS_FILL.get(value, "FFFFFF"))
                        font = bold
                    elif i in tb.percent_cols:
                        c = xlsx_cell(ws, row, j, None if value is None else value / 100)
                        c.number_format = "0.0%"
                    elif isinstance(value, date):
                        c = xlsx_cell(ws, row, j, value)  # a date cell, shown dd/mm/yyyy
                        c.number_format = DATE_FORMAT
                    else:
                        c = xlsx_cell(ws, row, j, value)
                        if isinstance(value, int):
                            c.number_format = "#,##0"
                    c.border, c.alignment, c.font = border, wrap, font
                row += 1
            if len(part.tables) == 1:
                ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(tb.headers))}{row - 1}"
            row += 1
        for j in range(1, ncols + 1):
            ws.column_dimensions[get_column_letter(j)].width = round(max(MIN_WIDTH, min(MAX_WIDTH, widths.get(j, 12))), 1)
        if freeze:
            ws.freeze_panes = freeze
        ws.sheet_view.zoomScale = 100
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        if freeze:
            ws.print_title_rows = f"{int(freeze[1:]) - 1}:{int(freeze[1:]) - 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

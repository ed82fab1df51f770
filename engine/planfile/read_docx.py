"""Word plan files (.docx): the first table with a recognisable header is the plan."""

from __future__ import annotations

import io
from typing import Any

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.read_table import (
    Header,
    RawRow,
    find_header,
    no_header_error,
    one_line,
    rows_to_plan,
    section_code,
    task_code,
)
from engine.planfile.spec import PlanFileError, PlanSpec


def table_texts(table: Any, *, grid_before: bool = True) -> list[list[str]]:
    """Cell texts of a Word table, one list per row, one text per grid column.

    A horizontally merged cell (gridSpan) is its text then blanks, so a merged section row
    is a single non-empty cell. A vertically merged cell repeats the text of the cell above
    it (the value applies to each row, as a lead agency merged over three tasks).
    ``grid_before`` keeps the empty grid columns a row starts with.

    Linear in the table: python-docx's ``row.cells`` finds the top of a vertical merge by
    walking up one row at a time and searching the table's rows at each step (a lead agency
    merged over 900 rows took 76 s); here each row remembers the texts of the row above.
    """
    from docx.table import _Cell

    rows: list[list[str]] = []
    above: dict[int, str] = {}  # grid column -> text shown there in the previous row
    for tr in table._tbl.tr_lst:
        col = int(tr.grid_before or 0)
        texts: list[str] = [""] * col if grid_before else []
        here: dict[int, str] = {}
        for tc in tr.tc_lst:
            span = max(1, int(tc.grid_span or 1))
            text = above.get(col, "") if tc.vMerge == "continue" else _Cell(tc, table).text
            texts.append(text)
            texts.extend([""] * (span - 1))
            here[col] = text
            col += span
        above = here
        rows.append(texts)
    return rows


def _same_header(a: Header, b: Header) -> bool:
    return a.columns == b.columns


def read_docx_bytes(data: bytes, source: str, *, lang: str = DEFAULT_LANG) -> PlanSpec:
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        tables: list[list[list[str]]] = []
        order: list[tuple[str, Any]] = []
        for block in blocks:
            if isinstance(block, Paragraph):
                order.append(("p", block.text))
            elif isinstance(block, Table):
                tables.append(table_texts(block))
                order.append(("t", len(tables) - 1))
    except Exception as exc:  # python-docx / lxml raise many kinds on damaged files
        raise PlanFileError(tr(lang, "plan.read.bad_docx", source=source, exc=type(exc).__name__)) from None

    text_lines: list[str] = []
    rows: list[RawRow] = []
    plan_header: Header | None = None
    plan_width = 0
    number = 0  # rows are numbered across the plan's tables (header row of table 1 = 1)
    first_table_rows: list[RawRow] | None = None
    for kind, item in order:
        if kind == "p":
            if plan_header is None and str(item).strip():
                text_lines.extend(line for line in str(item).split("\n") if line.strip())
            continue
        cells = tables[item]
        width = max((len(c) for c in cells), default=0)
        trial = [RawRow(i, tuple(c)) for i, c in enumerate(cells, start=1)]
        if first_table_rows is None and trial:
            first_table_rows = trial
        header = find_header(trial)
        if plan_header is None:
            if header is None:
                continue
            plan_header, plan_width = header, width
        elif header is not None:
            if not _same_header(header, plan_header):
                break
        elif not (width == plan_width and _starts_with_code(trial, plan_header)):
            break
        for c in cells:
            number += 1
            rows.append(RawRow(number, tuple(c)))
    if plan_header is None:
        raise no_header_error(source, first_table_rows or [], lang=lang)
    return rows_to_plan(rows, source=source, fmt="docx", text_lines=text_lines, lang=lang)


def _starts_with_code(rows: list[RawRow], header: Header) -> bool:
    """A continuation table without a repeated header starts with a task or section."""
    code_col = header.columns.get("code")
    for row in rows:
        if row.non_empty():
            text = one_line(row.cell(code_col))
            return bool(text) and (task_code(text) is not None or section_code(text) is not None)
    return False

"""Real plan annexes for tests, and builders that turn them into real Excel/Word files.

The annex lives beside the repository (../shared/real-plans), the same in CI.
The builders lay the table out the way a ministry's Excel/Word annex looks: a bold
title block, a bold header row, section rows merged across the whole row, task rows
with wrapped text, and TT as numbers in Excel.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# ../shared beside the repository; STEER_SHARED_DIR points elsewhere when the tests run from a copy
# of the repository (mutation testing runs them from ./mutants, see bench/mutate.py).
SHARED = Path(os.environ.get("STEER_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
REAL_PLANS = SHARED / "real-plans"
ANNEX2 = REAL_PLANS / "nq03-annex2-tasks.md"

_ROMAN_CELL = re.compile(r"^\s*(?:\*\*)?\s*([IVX]+)\s*\.?\s*(?:\*\*)?\s*$")


def plain(text: str) -> str:
    """Cell text without Markdown bold markers and outer spaces."""
    return text.replace("**", "").strip()


def annex_rows(path: Path = ANNEX2) -> tuple[list[str], list[list[str]]]:
    """(title lines above the table, table rows with the header first) from a pipe table.

    Cells are stripped of outer spaces but otherwise as written ("**I.**", "1.").
    Each table row's source line is ``annex_row_lines(path)[i]``.
    """
    titles: list[str] = []
    rows: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        s = line.strip()
        if s.startswith("|"):
            if re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", s):
                continue
            rows.append([c.strip() for c in s.strip("|").split("|")])
        elif s and not rows:
            titles.append(s)
    return titles, rows


def annex_row_lines(path: Path = ANNEX2) -> list[int]:
    """1-based line number of each row returned by annex_rows (header first)."""
    numbers = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        s = line.strip()
        if s.startswith("|") and not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", s):
            numbers.append(n)
    return numbers


def section_numeral(code_cell: str) -> str | None:
    m = _ROMAN_CELL.match(code_cell)
    return m.group(1) if m else None


def _section_text(row: list[str]) -> str:
    return f"{section_numeral(row[0])}. {plain(row[1])}"


def write_annex_xlsx(dest: Path, path: Path = ANNEX2) -> Path:
    """The annex as a real Excel sheet; returns dest.

    Rows 1-3: the title block (each merged A:F, bold, except the "(Kèm theo ...)" line),
    row 4 empty, row 5 the header, then one row per table row: section rows merged A:F
    holding "I. <title>" (the stray text in other cells of the source is lost, as in a
    real merge), task rows with TT as an integer ("1." -> 1) and wrapped text.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    titles, rows = annex_rows(path)
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục II"
    width = len(rows[0])
    last_col = chr(ord("A") + width - 1)
    r = 1
    for line in titles:
        ws.cell(r, 1, plain(line))
        ws.cell(r, 1).font = Font(bold="**" in line)
        ws.cell(r, 1).alignment = Alignment(horizontal="center", wrap_text=True)
        ws.merge_cells(f"A{r}:{last_col}{r}")
        r += 1
    r += 1  # an empty row before the table
    for c, text in enumerate(rows[0], start=1):
        ws.cell(r, c, plain(text)).font = Font(bold=True)
    r += 1
    for row in rows[1:]:
        if section_numeral(row[0]):
            ws.cell(r, 1, _section_text(row)).font = Font(bold=True)
            ws.merge_cells(f"A{r}:{last_col}{r}")
        else:
            tt = plain(row[0]).rstrip(". ")
            ws.cell(r, 1, int(tt) if tt.isdigit() else tt)
            for c, text in enumerate(row[1:], start=2):
                value = plain(text)
                if value:
                    ws.cell(r, c, value).alignment = Alignment(wrap_text=True, vertical="top")
        r += 1
    for col, w in zip("ABCDEF", (6, 60, 25, 25, 25, 14)):
        ws.column_dimensions[col].width = w
    wb.save(dest)
    return dest


def write_annex_docx(dest: Path, path: Path = ANNEX2) -> Path:
    """The annex as a real Word document; returns dest.

    Title paragraphs (bold where bold in the source), then one table: header row,
    section rows whose cells are merged across the row (cell.merge) holding
    "I. <title>", task rows as written ("1." stays "1.").
    """
    import docx

    titles, rows = annex_rows(path)
    document = docx.Document()
    for line in titles:
        para = document.add_paragraph()
        para.add_run(plain(line)).bold = "**" in line
    width = len(rows[0])
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    # Row by row: table.cell(r, c) rebuilds the whole cell grid on every call.
    for trow, row in zip(table.rows, rows):
        cells = trow.cells
        if row is rows[0]:
            for cell, text in zip(cells, row):
                cell.paragraphs[0].add_run(plain(text)).bold = True
        elif section_numeral(row[0]):
            merged = cells[0].merge(cells[width - 1])
            merged.paragraphs[0].add_run(_section_text(row)).bold = True
        else:
            for cell, text in zip(cells, row[:width]):
                cell.text = plain(text)
    document.save(dest)
    return dest

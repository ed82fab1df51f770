"""The raw table layer of every table file Steer reads: text decoding, CSV records, Markdown
pipe tables, Excel sheets and Word tables as ``RawRow`` lists.

The plan readers (``read_csv``, ``read_xlsx``, ``read_docx``, ``readers``) and the
indicator reader (``engine.indicators``) both read tables through here; each then finds
its own header row in the rows (``read_table.find_header`` for plans, the indicator
columns for indicators) and gives the rows their meaning.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

from engine.errors import InputFileError
from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.office import check_office_size
from engine.planfile.read_docx import table_texts
from engine.planfile.read_md import split_pipe_row
from engine.planfile.read_table import RawRow
from engine.planfile.read_xlsx import load_workbook_bytes, sheet_rows
from engine.planfile.spec import PlanFileError

CSV_DELIMITERS = (",", ";", "\t")
_FORMAT_NAMES = ("xlsx", "docx", "csv", "yaml", "md", "pdf")


def expected_name(fmt: str, lang: str = DEFAULT_LANG) -> str:
    """What a file of format ``fmt`` is called in messages ("tệp Excel", "Excel file")."""
    return tr(lang, f"plan.read.expected.{fmt if fmt in _FORMAT_NAMES else 'text'}")


_MD_SEPARATOR = re.compile(r"\|?(\s*:?-+:?\s*\|)+\s*(:?-+:?\s*)?\|?")


def decode_text(data: bytes, source: str, fmt: str, *, error: type[InputFileError] = PlanFileError,
                lang: str = DEFAULT_LANG) -> str:
    """The text of a text file: UTF-16 with its mark, else UTF-8 (with or without BOM), and
    for CSV also Windows-1258 (old Vietnamese Excel "CSV"); ``error`` names the file otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return text
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        if fmt == "csv":
            try:
                return data.decode("cp1258")  # Windows Vietnamese (old Excel "CSV")
            except UnicodeDecodeError:
                pass
    tried = tr(lang, "plan.read.tried_csv") if fmt == "csv" else "UTF-8"
    raise error(tr(lang, "plan.read.undecodable", source=source, expected=expected_name(fmt, lang), tried=tried))


def csv_rows(text: str, delimiter: str) -> list[RawRow]:
    """CSV records as rows (quoted multi-line cells kept); numbers are record numbers, what a
    person sees when opening the file in Excel. ``csv.Error`` on a malformed file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    return [RawRow(n, tuple(record)) for n, record in enumerate(reader, start=1)]


def md_table_rows(text: str) -> list[RawRow]:
    """The pipe-table lines of a Markdown text (separator lines skipped), numbered by line."""
    rows: list[RawRow] = []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        s = line.strip()
        if not s.startswith("|") or _MD_SEPARATOR.fullmatch(s):
            continue
        rows.append(RawRow(number, tuple(split_pipe_row(s))))
    return rows


def xlsx_sheets(data: bytes, source: str, lang: str = DEFAULT_LANG) -> Iterator[list[RawRow]]:
    """Each worksheet's rows, in workbook order (sparse: a stray far cell makes no dense grid)."""
    wb = load_workbook_bytes(data, source, lang=lang)
    for ws in wb.worksheets:
        yield list(sheet_rows(ws))


def docx_tables(data: bytes, source: str, *, error: type[InputFileError] = PlanFileError,
                lang: str = DEFAULT_LANG) -> list[list[list[str]]]:
    """The text grid of every table of a Word document, in order (``read_docx.table_texts``)."""
    check_office_size(data, source, lang=lang)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
        return [table_texts(table, grid_before=False) for table in document.tables]
    except Exception as exc:  # python-docx raises many kinds on damaged files
        raise error(tr(lang, "plan.read.bad_word", source=source, exc=type(exc).__name__)) from None


def first_table(data: bytes, source: str, fmt: str, *, accept: Callable[[list[RawRow]], bool],
                error: type[InputFileError] = PlanFileError, lang: str = DEFAULT_LANG) -> list[RawRow]:
    """The rows of the first table ``accept`` recognises (its header is there):

    - Excel: the first such sheet (else the first non-empty one);
    - Word: the first such table and the tables right after it with as many columns (a
      table broken across pages), numbered across them;
    - CSV: the first delimiter of ``CSV_DELIMITERS`` giving such a table;
    - Markdown: the pipe-table lines;
    - PDF: the ruled table after the annex heading whose header ``accept`` recognises
      (``read_pdf.pdf_rows``: followed across pages, running headers dropped, wrapped cells
      joined).
    """
    if fmt == "pdf":
        from engine.planfile.read_pdf import pdf_rows

        return pdf_rows(data, source, lang=lang, accept=accept)
    if fmt == "xlsx":
        first: list[RawRow] = []
        for rows in xlsx_sheets(data, source, lang):
            if not rows:
                continue
            if accept(rows):
                return rows
            first = first or rows
        return first
    if fmt == "docx":
        out: list[RawRow] = []
        width: int | None = None
        for cells in docx_tables(data, source, error=error, lang=lang):
            w = max((len(c) for c in cells), default=0)
            if width is None:
                if not accept([RawRow(i, tuple(c)) for i, c in enumerate(cells, start=1)]):
                    continue
                width = w
            elif w != width:
                break
            out.extend(RawRow(len(out) + 1, tuple(c)) for c in cells)
        return out
    text = decode_text(data, source, fmt, error=error, lang=lang)
    if fmt == "md":
        return md_table_rows(text)
    best: list[RawRow] = []
    for delimiter in CSV_DELIMITERS:
        try:
            rows = csv_rows(text, delimiter)
        except csv.Error:
            continue
        if accept(rows):
            return rows
        best = best or rows
    return best


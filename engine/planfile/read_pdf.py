"""PDF plan files: the annex table of a published (signed) plan document.

Plans reach a secretariat as the PDF of the signed document: the Kế hoạch, then its Phụ lục
with the task table, which crosses pages under a running header and footer. This module
turns such a PDF into the same rows of cell texts (:class:`RawRow`) the Excel and Word
readers produce, and hands them to the one table reader (``read_table.rows_to_plan``), so
the column, unit and wrapped-cell rules of the other formats apply unchanged.

What it does, with pdfplumber (MIT; on pdfminer.six, MIT):

* finds the ruled tables of every page (``page.find_tables``, the lines strategy) and puts
  each word of the page into the cell under its centre; words outside tables are the
  page's text lines;
* drops the running header/footer (a table or line printed at the same place on several
  pages, digits aside) and page numbers;
* takes the first table whose header row has the usual column names (after a "PHỤ LỤC"
  heading when there is one) and follows it across pages: later tables with the same
  columns continue it, and the first row of a continuation with an empty TT cell is the
  rest of the row the page break cut;
* rebuilds multi-line cells: printed line wraps are joined with a space ("57-" + "NQ/TW"
  without one); a line starting with a bullet ("- ", "+ ", "•") or a new paragraph (a
  sentence ends on a line the next word would still have fitted on) stays a line break;
* reads the plan's identity from the first page (``read_identity``): number and symbol
  ("Số: 45/KH-UBND"), place and date ("Lâm Sơn, ngày 15 tháng 3 năm 2025"), issuing body
  and title, on ``PlanSpec.identity`` for the preview to prefill.

A PDF without a text layer (a scan) is refused with a message saying so (its table can be
recognised into a draft to correct with ``engine.planfile.ocr``, never loaded directly). The work is
bounded (``PDF_LIMITS``): file size, pages, characters, rows, and a time budget checked
page by page; uploads also parse in a child process (``engine.planfile.isolated``).

Only ruled tables are read (what Word and LibreOffice print for a table with borders, as
plan annexes are); a table drawn without lines is reported as "no table found".
"""

from __future__ import annotations

import io
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.clock import stopwatch
from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.office import LIMITS
from engine.planfile.read_table import (
    RawRow,
    find_header,
    header_key,
    one_line,
    rows_to_plan,
)
from engine.planfile.spec import PlanFileError, PlanIdentity, PlanSpec


@dataclass(frozen=True)
class PdfLimits:
    megabytes: int = 50  # file size
    pages: int = 500
    text: int = LIMITS.text  # characters on all pages read
    rows: int = LIMITS.rows  # rows of the plan table
    seconds: float = 120.0  # time budget of one read (a 60-page annex takes a few seconds)


PDF_LIMITS = PdfLimits()


# --------------------------------------------------------------------------
# Layout: words, lines, cells
# --------------------------------------------------------------------------


@dataclass
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    bold: bool
    size: float
    confidence: float = 100.0  # text recognition's (engine.planfile.ocr); a text layer's words: 100


@dataclass
class Line:
    """Words printed on one line (of a cell, or one column of the page's text)."""

    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def bold(self) -> bool:
        return all(w.bold for w in self.words)

    @property
    def size(self) -> float:
        return max(w.size for w in self.words)


@dataclass
class Cell:
    lines: list[Line]
    width: float  # room for text: the cell's width less its padding

    def text(self) -> str:
        return join_lines(self.lines, self.width)


@dataclass
class PdfTable:
    page: int  # 1-based
    bbox: tuple[float, float, float, float]
    edges: tuple[float, ...]  # x of the column boundaries
    rows: list[list[Cell | None]]  # None: covered by a merged cell

    def signature(self) -> str:
        """The table's text with digits blanked, to recognise a running header."""
        text = " ".join(line.text for row in self.rows for c in row if c for line in c.lines)
        return re.sub(r"\d+", "#", text)

    def raw(self, start: int = 1) -> list[RawRow]:
        return [RawRow(start + i, tuple(c.text() if c else "" for c in row)) for i, row in enumerate(self.rows)]


@dataclass
class PdfPage:
    number: int
    width: float
    height: float
    lines: list[Line]  # text outside tables, running lines and page numbers dropped later
    tables: list[PdfTable]
    images: int
    chars: int


_BOLD_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)


def _words(page: Any) -> list[Word]:
    out = []
    for w in page.extract_words(keep_blank_chars=False, use_text_flow=False, return_chars=True):
        ch = w["chars"][0] if w.get("chars") else {}
        out.append(Word(unicodedata.normalize("NFC", w["text"]), float(w["x0"]), float(w["x1"]), float(w["top"]), float(w["bottom"]),
                        bool(_BOLD_RE.search(str(ch.get("fontname", "")))), float(ch.get("size", 0.0) or 0.0)))
    return out


def _group_lines(words: list[Word], *, split_gap: float | None = None) -> list[Line]:
    """Words into lines, top to bottom, left to right. With ``split_gap``, a line is also cut
    where words are further apart than that (two columns of a title block)."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.top, w.x0)):
        if lines and abs(w.top - lines[-1][0].top) <= max(2.0, 0.3 * (w.bottom - w.top)):
            lines[-1].append(w)
        else:
            lines.append([w])
    out: list[Line] = []
    for ws in lines:
        ws.sort(key=lambda w: w.x0)
        if split_gap is None:
            out.append(Line(ws))
            continue
        part = [ws[0]]
        for w in ws[1:]:
            if w.x0 - part[-1].x1 > split_gap:
                out.append(Line(part))
                part = [w]
            else:
                part.append(w)
        out.append(Line(part))
    return out


# Wrapped text: the next line starts a new item (stays a line break) when it starts with a
# bullet or a lettered/numbered sub-item ("a) ", "2) ").
_ITEM_START_RE = re.compile(r"^(?:[-+*–—]\s|[•●▪◦·]|[a-zđ]\)\s|\d{1,2}\)\s)")
_SENTENCE_END_RE = re.compile(r"[.!?:…][\"”’)]*$")


def join_lines(lines: list[Line], width: float) -> str:
    """The text of a cell from its printed lines (see the module doc): wraps joined with a
    space, a bullet or a new paragraph kept on a new line."""
    if not lines:
        return ""
    out = lines[0].text
    for prev, line in zip(lines, lines[1:]):
        out += _separator(prev, line, width) + line.text
    return out


def _separator(prev: Line, line: Line, width: float) -> str:
    text = line.text
    if _ITEM_START_RE.match(text):
        return "\n"
    before = prev.text
    if _SENTENCE_END_RE.search(before) and (text[:1].isupper() or text[:1].isdigit()):
        first = line.words[0]
        space = max(2.0, 0.25 * (first.size or 12.0))
        if (prev.x1 - prev.x0) + space + (first.x1 - first.x0) <= width - 1.0:
            return "\n"  # the next word would have fitted: the author ended the paragraph here
    if text[:1] in _CLOSING:
        return ""  # "57-NQ/TW" + ".": punctuation pushed to the next line by a full line
    if _GLUED_BREAK_RE.search(before) and text[:1].isalnum():
        return ""  # "57-" + "NQ/TW", "109/2022/" + "NĐ-CP": cut at a hyphen or slash
    if _forced_break(prev, line, width):
        return ""  # "80/2020/N" + "Đ-CP": a number/symbol wider than the column, cut anywhere
    return " "


_CLOSING = set(".,;:!?)]}”’…")
_GLUED_BREAK_RE = re.compile(r"\w[-‐/]$")


def _forced_break(prev: Line, line: Line, width: float) -> bool:
    """A line holding one token (with a digit or a slash: a document number, not a syllable)
    so long that not even the next line's first character would have fitted after it, and a
    next line starting with the rest of such a token ("Đ-CP", "TT-TTH": a hyphen, slash or
    digit; "57-NQ/TW" + "để" is an ordinary wrap)."""
    if len(prev.words) != 1:
        return False
    token = prev.words[0].text
    first = line.words[0]
    if not any(ch.isdigit() or ch == "/" for ch in token):
        return False
    if not any(ch.isdigit() or ch in "-/" for ch in first.text):
        return False
    char = (first.x1 - first.x0) / max(1, len(first.text))
    return (prev.x1 - prev.x0) + char > width - 0.5


def _table_of(page_number: int, table: Any, words: list[Word]) -> tuple[PdfTable, list[Word]]:
    """Words of a pdfplumber ``table`` into its cells; returns the table and the words left outside it."""
    return _table_from_grid(page_number, tuple(table.bbox), [list(row.cells) for row in table.rows], words)


Box = tuple[float, float, float, float]  # x0, top, x1, bottom


def _table_from_grid(page_number: int, bbox: Box, grid: list[list[Box | None]],
                    words: list[Word]) -> tuple[PdfTable, list[Word]]:
    """Words into the cells of a table given as rows of cell boxes (None: covered by a merged
    cell, as pdfplumber gives them); returns the table and the words left outside it."""
    x0, top, x1, bottom = bbox
    inside: list[Word] = []
    outside: list[Word] = []
    for w in words:
        cx, cy = (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2
        (inside if x0 <= cx <= x1 and top <= cy <= bottom else outside).append(w)
    edges = sorted({round(b[0], 1) for row in grid for b in row if b} | {round(b[2], 1) for row in grid for b in row if b})
    # Each word goes to the cell whose box holds its centre: rows by top, then cells by x0.
    cells: list[tuple[float, float, float, float, int, int]] = sorted(
        (b[1], b[3], b[0], b[2], r, c) for r, row in enumerate(grid) for c, b in enumerate(row) if b
    )
    tops = [c[0] for c in cells]
    bucket: dict[tuple[int, int], list[Word]] = {}
    for w in inside:
        cx, cy = (w.x0 + w.x1) / 2, (w.top + w.bottom) / 2
        i = bisect_right(tops, cy)
        # candidates: cells starting above the centre; a tall merged cell may start far above
        for j in range(i - 1, -1, -1):
            ctop, cbottom, cx0, cx1, r, c = cells[j]
            if ctop <= cy <= cbottom and cx0 <= cx <= cx1:
                bucket.setdefault((r, c), []).append(w)
                break
    pad = min((min(w.x0 for w in ws) - grid[r][c][0] for (r, c), ws in bucket.items()), default=5.0)  # type: ignore[index]
    pad = min(max(pad, 0.0), 10.0)
    rows: list[list[Cell | None]] = []
    for r, row in enumerate(grid):
        out: list[Cell | None] = []
        for c, b in enumerate(row):
            if b is None:
                out.append(_merged_from_above(grid, rows, r, c))
                continue
            out.append(Cell(_group_lines(bucket.get((r, c), [])), (b[2] - b[0]) - 2 * pad))
        rows.append(out)
    return PdfTable(page_number, bbox, tuple(edges), rows), outside


def _merged_from_above(grid: list[list[Any]], rows: list[list[Cell | None]], r: int, c: int) -> Cell | None:
    """A cell merged down over several rows (a lead agency over three tasks) gives its text to
    each row it covers, as the Word reader does; pdfplumber puts it in its top row only."""
    mine = next((b for b in grid[r] if b), None)
    if mine is None:
        return None
    row_top, row_bottom = mine[1], mine[3]
    for above in range(r - 1, -1, -1):
        b = grid[above][c] if c < len(grid[above]) else None
        if b is None:
            continue
        if b[3] >= row_bottom - 1.0 and b[1] < row_top:
            cell = rows[above][c]
            return Cell(list(cell.lines), cell.width) if cell else None
        return None
    return None


# --------------------------------------------------------------------------
# Document
# --------------------------------------------------------------------------


@dataclass
class PdfDocument:
    pages: list[PdfPage]

    @property
    def chars(self) -> int:
        return sum(p.chars for p in self.pages)


def _too_big(source: str, what: str, limit: int, name: str, lang: str) -> PlanFileError:
    return PlanFileError(tr(lang, "inputs.too_big", source=source, limit=limit, name=name,
                            what=tr(lang, f"pdf.what_{what}")))


def read_document(data: bytes, source: str, *, lang: str = DEFAULT_LANG, limits: PdfLimits = PDF_LIMITS) -> PdfDocument:
    """Every page's tables and text lines, within ``limits``; PlanFileError naming the file
    when it cannot be read."""
    if len(data) > limits.megabytes * 1024 * 1024:
        raise _too_big(source, "megabytes", limits.megabytes, f"megabytes={limits.megabytes}", lang)
    elapsed = stopwatch()
    try:
        import pdfplumber

        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many kinds on damaged or encrypted files
        raise _bad_pdf(source, exc, lang) from None
    with pdf:
        try:
            count = len(pdf.pages)
        except Exception as exc:
            raise _bad_pdf(source, exc, lang) from None
        if count > limits.pages:
            raise _too_big(source, "pages", limits.pages, f"pages={limits.pages}", lang)
        out: list[PdfPage] = []
        chars = 0
        for page in pdf.pages:
            if elapsed() > limits.seconds:
                raise PlanFileError(tr(lang, "pdf.too_slow", source=source, seconds=limits.seconds,
                                       page=page.page_number, pages=count))
            try:
                n = len(page.chars)
                chars += n
                if chars > limits.text:
                    raise _too_big(source, "text", limits.text, f"text={limits.text}", lang)
                words = _words(page) if n else []
                tables = page.find_tables() if n else []
                images = len(page.images)
            except PlanFileError:
                raise
            except Exception as exc:
                raise _bad_pdf(source, exc, lang) from None
            found: list[PdfTable] = []
            for table in tables:
                t, words = _table_of(page.page_number, table, words)
                found.append(t)
            lines = _group_lines(words, split_gap=max(18.0, 0.03 * float(page.width)))
            out.append(PdfPage(page.page_number, float(page.width), float(page.height), lines, found, images, n))
            page.flush_cache()  # the page's layout objects are not needed any more: memory stays flat
    _drop_running(out)
    return PdfDocument(out)


def _bad_pdf(source: str, exc: Exception, lang: str) -> PlanFileError:
    name = type(exc).__name__
    if "Password" in name or "Encrypt" in name:
        return PlanFileError(tr(lang, "pdf.encrypted", source=source))
    return PlanFileError(tr(lang, "pdf.bad", source=source, exc=name))


_PAGE_NUMBER_RE = re.compile(r"^(?:[-–—]?\s*\d{1,4}\s*[-–—]?|(?:trang|page)\s+\d{1,4}(?:\s*(?:/|của|of)\s*\d{1,4})?)$",
                             re.IGNORECASE)


def _drop_running(pages: list[PdfPage]) -> None:
    """Drop running headers/footers (a line or table printed at about the same height on
    several pages, digits aside) and page numbers in the top or bottom margin."""
    if len(pages) >= 2:
        seen: dict[tuple[str, int], set[int]] = {}
        for p in pages:
            for line in p.lines:
                seen.setdefault((re.sub(r"\d+", "#", line.text), round(line.top / 8)), set()).add(p.number)
            for t in p.tables:
                seen.setdefault((t.signature(), round(t.bbox[1] / 8)), set()).add(p.number)

        def running(key: tuple[str, int]) -> bool:
            text, band = key
            near = seen.get(key, set()) | seen.get((text, band - 1), set()) | seen.get((text, band + 1), set())
            return len(near) >= 2

        for p in pages:
            p.lines = [ln for ln in p.lines if not running((re.sub(r"\d+", "#", ln.text), round(ln.top / 8)))]
            p.tables = [t for t in p.tables if not running((t.signature(), round(t.bbox[1] / 8)))]
    for p in pages:
        margin = 0.12 * p.height
        p.lines = [ln for ln in p.lines
                   if not (_PAGE_NUMBER_RE.match(ln.text.strip()) and (ln.top < margin or ln.bottom > p.height - margin))]


# --------------------------------------------------------------------------
# The plan table
# --------------------------------------------------------------------------

_ANNEX_RE = re.compile(r"^(?:(?:\d+|[IVX]+)\s*[.)]\s*)?(?P<annex>(?:phụ lục|annex|appendix)\b.*)$", re.IGNORECASE)


def _is_annex_heading(text: str) -> bool:
    """"PHỤ LỤC", "5. PHỤ LỤC", "PHỤ LỤC II", "Phụ lục 1": a heading, not a body line that
    happens to start with the words ("Phụ lục kèm theo Kế hoạch này gồm …")."""
    m = _ANNEX_RE.match(text.strip())
    if m is None:
        return False
    annex = m.group("annex")
    return annex[:7].isupper() or len(annex) <= 16


@dataclass
class PdfPlanTable:
    """The plan table of a PDF as rows of cell texts, and the text above it."""

    rows: list[RawRow]
    text_lines: list[str]  # the annex's title block, one paragraph a line
    first_page: int
    last_page: int
    identity: PlanIdentity | None = None
    pages: int = 0
    images_only: list[int] = field(default_factory=list)  # pages with images and no text
    cells: list[list[Cell | None]] = field(default_factory=list)  # the rows' cells (OCR flags low confidence)


def _same_columns(a: PdfTable, b: PdfTable) -> bool:
    """The same outer edges, and the column boundaries of one among the other's (a page
    holding only merged section rows shows fewer boundaries)."""
    if not a.edges or not b.edges:
        return False
    if abs(a.edges[0] - b.edges[0]) > 3.0 or abs(a.edges[-1] - b.edges[-1]) > 3.0:
        return False
    few, many = sorted((a.edges, b.edges), key=len)
    return all(any(abs(x - y) <= 3.0 for y in many) for x in few)


def _in_margin(t: PdfTable, height: float) -> bool:
    """A table wholly in the top or bottom 15% of its page."""
    return height > 0 and (t.bbox[3] <= 0.15 * height or t.bbox[1] >= 0.85 * height)


def _is_header_row(row: list[Cell | None], keys: frozenset[str]) -> bool:
    texts = [c.text() for c in row if c and c.lines]
    return len(texts) >= 2 and all(header_key(t) in keys for t in texts)


def plan_table(doc: PdfDocument, source: str, *, lang: str = DEFAULT_LANG, limits: PdfLimits = PDF_LIMITS,
               accept: Callable[[list[RawRow]], bool] | None = None) -> PdfPlanTable:
    """The plan's task table, followed across pages (see the module doc). ``accept`` picks
    the first table (default: a plan header row, ``read_table.find_header``)."""
    images_only = [p.number for p in doc.pages if p.images and not p.chars]
    if doc.chars == 0:
        raise PlanFileError(tr(lang, "pdf.no_text_layer", source=source, pages=len(doc.pages)))
    # (page, y) of every annex heading: document order is tuple order
    annex_at: list[tuple[int, float]] = [(p.number, ln.top) for p in doc.pages for ln in p.lines
                                         if _is_annex_heading(ln.text)]
    tables = [t for p in doc.pages for t in p.tables]
    candidates = []
    for t in tables:
        raw = t.raw()
        if accept(raw) if accept is not None else find_header(raw) is not None:
            candidates.append(t)
    if not candidates:
        raise _no_table(doc, source, images_only, lang)
    after_annex = [t for t in candidates if any((n, y) < (t.page, t.bbox[1]) for n, y in annex_at)]
    start = (after_annex or candidates)[0]
    header = find_header(start.raw())

    heights = {p.number: p.height for p in doc.pages}
    chain = [start]
    for t in tables[tables.index(start) + 1:]:
        heading_between = any((chain[-1].page, chain[-1].bbox[3]) < (n, y) < (t.page, t.bbox[1]) for n, y in annex_at)
        if heading_between:
            break
        if not _same_columns(t, start):
            if _in_margin(t, heights.get(t.page, 0.0)):
                continue  # a page header/footer drawn as a table that differs from page to page
            break
        chain.append(t)

    code_col = header.columns.get("code") if header else 0
    keys = header.keys if header else frozenset()
    rows: list[list[Cell | None]] = []
    for i, t in enumerate(chain):
        body = t.rows
        if i > 0:
            # a repeated header row stays (the table reader skips it); the first row after it
            # with an empty TT cell is the rest of the row the page break cut
            k = 0
            while k < len(body) and _is_header_row(body[k], keys):
                k += 1
            if k < len(body) and rows and not _cell_text(body[k], code_col) and any(c and c.lines for c in body[k]):
                _continue_row(rows[-1], body[k])
                body = body[:k] + body[k + 1:]
        rows.extend(body)
        if len(rows) > limits.rows:
            raise _too_big(source, "rows", limits.rows, f"rows={limits.rows}", lang)
    raw = [RawRow(n, tuple(c.text() if c else "" for c in row)) for n, row in enumerate(rows, start=1)]
    return PdfPlanTable(raw, _title_block(doc, start, annex_at), start.page, chain[-1].page,
                        pages=len(doc.pages), images_only=images_only, cells=rows)


def _cell_text(row: list[Cell | None], col: int | None) -> str:
    if col is None or col >= len(row) or row[col] is None:
        return ""
    return one_line(row[col].text())  # type: ignore[union-attr]


def _continue_row(prev: list[Cell | None], more: list[Cell | None]) -> None:
    for c, cell in enumerate(more):
        if cell is None or not cell.lines:
            continue
        if c < len(prev) and prev[c] is not None:
            prev[c].lines.extend(cell.lines)  # type: ignore[union-attr]
        else:
            # the cut row's cell sits under a merge on the previous page: keep its text in the
            # nearest cell on its left
            left = next((p for p in reversed(prev[:c]) if p is not None), None)
            if left is not None:
                left.lines.extend(cell.lines)


def _title_block(doc: PdfDocument, start: PdfTable, annex_at: list[tuple[int, float]]) -> list[str]:
    """The paragraphs between the last annex heading before the table and the table."""
    before = [(n, y) for n, y in annex_at if (n, y) < (start.page, start.bbox[1])]
    first = before[-1] if before else (start.page, 0.0)
    lines: list[Line] = [ln for p in doc.pages if first[0] <= p.number <= start.page for ln in p.lines
                         if first <= (p.number, ln.top) < (start.page, start.bbox[1])]
    paragraphs: list[list[Line]] = []
    for ln in lines:
        prev = paragraphs[-1][-1] if paragraphs else None
        if (prev is None or _is_annex_heading(ln.text) or _is_annex_heading(prev.text) or ln.text.startswith("(")
                or ln.bold != prev.bold or abs(ln.size - prev.size) > 0.5
                or ln.top - prev.bottom > 0.6 * max(ln.size, 1.0) or ln.top < prev.top):
            paragraphs.append([ln])
        else:
            paragraphs[-1].append(ln)
    out = []
    for para in paragraphs:
        text = " ".join(ln.text for ln in para)
        m = _ANNEX_RE.match(text.strip()) if _is_annex_heading(text) else None
        out.append(m.group("annex") if m else text)
    return out


def _no_table(doc: PdfDocument, source: str, images_only: list[int], lang: str) -> PlanFileError:
    if images_only:
        return PlanFileError(tr(lang, "pdf.no_table_scanned", source=source, pages=_page_list(images_only)))
    return PlanFileError(tr(lang, "pdf.no_table", source=source, pages=len(doc.pages)))


def _page_list(pages: list[int]) -> str:
    out: list[str] = []
    run: list[int] = []
    for p in pages + [-1]:
        if run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
        run = [p]
    return ", ".join(out)


# --------------------------------------------------------------------------
# Plan identity (first page)
# --------------------------------------------------------------------------

# "Số: 45/KH-UBND" (the colon, or at least the capital S, and a short line: "số 34/KH-STTTT
# ngày …" in a sentence is a reference to another document)
_NUMBER_RE = re.compile(r"^Số\s*[:.]?\s*(?P<num>[^\s/]*\s*/\s*[^\s,;]+)\s*$")
_PLACE_DATE_RE = re.compile(
    r"^(?P<place>[^,]{2,60}),\s*ngày\s+(?P<d>\d{1,2}|[.…\s]*)\s*tháng\s+(?P<m>\d{1,2}|[.…\s]*)\s*năm\s+(?P<y>\d{4})",
    re.IGNORECASE)
_DOC_TYPES = ("kế hoạch", "chương trình", "quyết định", "đề án", "nghị quyết", "chỉ thị", "phương án",
              "thông báo", "kết luận", "chương trình hành động")
_MOTTO_RE = re.compile(r"^(cộng hòa|cộng hoà|độc lập)", re.IGNORECASE)


def _starts_with_doc_type(text: str) -> str | None:
    low = text.casefold()
    for name in sorted(_DOC_TYPES, key=len, reverse=True):
        if low == name or low.startswith(name + " "):
            return name
    return None


def read_identity(page: PdfPage) -> PlanIdentity | None:
    """Number/symbol, place and date, issuing body and title from a first page laid out as a
    Vietnamese administrative document (Nghị định 30/2020/NĐ-CP): the issuing body and "Số:"
    on the left, the national motto and "<place>, ngày … tháng … năm …" on the right, then
    the document type ("KẾ HOẠCH") and its subject, centred. None when none of it is there."""
    lines = sorted(page.lines, key=lambda ln: (ln.top, ln.x0))
    head = [ln for ln in lines if ln.top < 0.4 * page.height]  # the header block is at the top
    number_line = next((ln for ln in head if _NUMBER_RE.match(ln.text.strip())), None)
    date_line = next((ln for ln in head if _PLACE_DATE_RE.match(ln.text.strip())), None)
    ident = PlanIdentity()
    if number_line is not None:
        m = _NUMBER_RE.match(number_line.text.strip())
        ident.number = re.sub(r"\s+", "", m.group("num")) if m else None
        # issuing body: the lines above "Số:" in its column; the bold ones when the parent
        # body above it is not bold ("UBND TỈNH X" over "SỞ Y")
        col = [ln for ln in lines if ln.bottom <= number_line.top + 1 and _overlaps(ln, number_line, page.width)
               and not _MOTTO_RE.match(ln.text)]
        col = col[-4:]
        bold = [ln for ln in col if ln.bold]
        body = bold if bold and len(bold) < len(col) else col
        ident.issued_by = " ".join(ln.text for ln in body).strip() or None
    if date_line is not None:
        m = _PLACE_DATE_RE.match(date_line.text.strip())
        assert m is not None
        ident.place = m.group("place").strip()
        ident.date_text = date_line.text.strip()
        try:
            ident.issued_on = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:  # a date left blank for the signature ("ngày   tháng 3 năm 2025")
            ident.issued_on = None
    below = max((ln.bottom for ln in (number_line, date_line) if ln is not None), default=0.0)
    ident.title, doc_type = _title(lines, below, page.width)
    if ident.number and doc_type:
        ident.document = f"{doc_type.capitalize()} số {ident.number}"
    ident.code = ident.number
    if not any((ident.number, ident.issued_on, ident.title, ident.issued_by)):
        return None
    return ident


def _overlaps(a: Line, b: Line, width: float) -> bool:
    """Same column of a two-column title block: the centres are on the same half of the page."""
    return ((a.x0 + a.x1) / 2 < width / 2) == ((b.x0 + b.x1) / 2 < width / 2)


def _centred(ln: Line, width: float, left: float, right: float) -> bool:
    return abs((ln.x0 + ln.x1) / 2 - (left + right) / 2) < 0.08 * width


def _title(lines: list[Line], below: float, width: float) -> tuple[str | None, str | None]:
    """('Kế hoạch nâng cao ...', 'kế hoạch') from the centred block under the header block."""
    after = [ln for ln in lines if ln.top >= below and not _MOTTO_RE.match(ln.text)]
    if not after:
        return None, None
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    for i, ln in enumerate(after[:12]):
        kind = _starts_with_doc_type(ln.text.strip())
        if kind is None or not _centred(ln, width, left, right):
            continue
        parts = [ln.text.strip()]
        prev = ln
        for nxt in after[i + 1:]:
            if not _centred(nxt, width, left, right) or nxt.top - prev.bottom > 2.0 * max(nxt.size, 1.0):
                break
            if nxt.text.strip().startswith(("Căn cứ", "(", "-", "_")) or set(nxt.text.strip()) <= set("-_–—*."):
                break
            parts.append(nxt.text.strip())
            prev = nxt
        head, rest = parts[0], " ".join(parts[1:])
        if head.casefold() == kind and rest and not rest.isupper():
            # "KẾ HOẠCH" over "Triển khai …" reads "Kế hoạch triển khai …"
            return f"{kind.capitalize()} {rest[:1].lower()}{rest[1:]}", kind
        return " ".join(p for p in (head, rest) if p), kind
    return None, None


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def pdf_plan_table(data: bytes, source: str, *, lang: str = DEFAULT_LANG, limits: PdfLimits = PDF_LIMITS,
                   accept: Callable[[list[RawRow]], bool] | None = None) -> PdfPlanTable:
    """The plan table of a PDF as raw rows, with the identity read from its first page."""
    doc = read_document(data, source, lang=lang, limits=limits)
    table = plan_table(doc, source, lang=lang, limits=limits, accept=accept)
    table.identity = read_identity(doc.pages[0]) if doc.pages else None
    return table


def read_pdf_bytes(data: bytes, source: str, *, lang: str = DEFAULT_LANG,
                   limits: PdfLimits = PDF_LIMITS) -> PlanSpec:
    table = pdf_plan_table(data, source, lang=lang, limits=limits)
    plan = rows_to_plan(table.rows, source=source, fmt="pdf", text_lines=table.text_lines, lang=lang)
    ident = table.identity
    plan.identity = ident
    if ident is not None:
        # the signed document's own first page outranks the annex's "(Kèm theo …)" line,
        # whose number and date are often left blank in the copy that was signed
        plan.document = ident.document or plan.document
        plan.issued_on = ident.issued_on or plan.issued_on
        plan.issued_by = plan.issued_by or ident.issued_by
        plan.title = plan.title or ident.title
    return plan


def pdf_rows(data: bytes, source: str, *, lang: str = DEFAULT_LANG,
             accept: Callable[[list[RawRow]], bool] | None = None) -> list[RawRow]:
    """The first accepted table's rows (``engine.planfile.tables.first_table`` for PDFs)."""
    return pdf_plan_table(data, source, lang=lang, accept=accept).rows


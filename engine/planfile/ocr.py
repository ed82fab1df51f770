"""Text recognition (OCR) of a scanned PDF plan: the task table read cell by cell.

A scan has no text layer (``read_pdf`` says so). When Debian's ``tesseract-ocr`` and its
Vietnamese data ``tesseract-ocr-vie`` are installed, this module reads the table anyway, as
a *draft* that a person corrects before anything is loaded (CLI: ``steer plan load
scan.pdf --ocr --ocr-out table.xlsx`` writes it to a workbook; web: an editable grid). An
OCR result is never loaded directly.

How (numbers from the Đắk Nông annex scanned at 150 dpi):

* each page is rendered (pypdfium2, Apache-2.0/BSD) at ``OcrLimits.dpi``;
* the ruled table is found from the image itself: horizontal rules are runs of dark pixels
  much longer than any letter, vertical rules are columns dark over a whole row band; a
  missing rule under a cell is a cell merged down, a missing boundary one merged across;
* every cell is recognised on its own (whole-page recognition mixes words of neighbouring
  columns), with tesseract's Vietnamese model through pytesseract (Apache-2.0): one
  tesseract run for all cells of a page (``--psm 6``, a block of text), since starting
  tesseract with its Vietnamese model costs more than reading a cell; the narrow first
  column (TT) again with ``--psm 7`` and a digits/Roman-numerals whitelist ("1" read as "|"
  otherwise);
* the words, placed back at their positions on the page, go into the cells through the
  same code as a text PDF's (``read_pdf._table_from_grid``, ``plan_table``): the table is
  followed across pages and repeated headers dropped alike;
* a cell holding a word recognised with low confidence is flagged for the person checking.

Bounded: ``OCR_LIMITS`` (pages, time budget checked cell batch by cell batch).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.clock import stopwatch
from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.read_pdf import (
    PDF_LIMITS,
    Box,
    Cell,
    PdfDocument,
    PdfPage,
    PdfTable,
    Word,
    _drop_running,
    _table_from_grid,
    _too_big,
    plan_table,
)
from engine.planfile.read_table import RawRow, find_header, header_key
from engine.planfile.spec import PlanFileError

OCR_LANG = "vie"
LOW_CONFIDENCE = 75.0  # tesseract's word confidence (0-100) under which a cell is flagged
APT_PACKAGES = "tesseract-ocr tesseract-ocr-vie"


@dataclass(frozen=True)
class OcrLimits:
    pages: int = 12  # a scanned annex of a few pages; split longer scans
    seconds: float = 240.0  # time budget of one read
    dpi: int = 200  # pages are rendered at this resolution for recognition


OCR_LIMITS = OcrLimits()


@dataclass
class OcrTable:
    """The plan table recognised from a scan: rows of cell texts, and per cell whether a
    person should look at it twice (a word recognised with low confidence)."""

    rows: list[RawRow]
    flagged: list[list[bool]]
    pages: int
    first_page: int
    last_page: int
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((len(r.cells) for r in self.rows), default=0)


# --------------------------------------------------------------------------
# Is OCR installed?
# --------------------------------------------------------------------------


def ocr_missing() -> str | None:
    """None when tesseract with the Vietnamese data can run here; else what is missing:
    "tesseract" or "vie"."""
    try:
        import pytesseract
    except ImportError:  # pragma: no cover - a declared dependency
        return "tesseract"
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return "tesseract"
    try:
        langs = pytesseract.get_languages(config="")
    except Exception:
        return "tesseract"
    return None if OCR_LANG in langs else "vie"


def not_installed_message(missing: str, lang: str = DEFAULT_LANG) -> str:
    return tr(lang, f"ocr.not_installed_{missing}", packages=APT_PACKAGES)


def require_ocr(lang: str = DEFAULT_LANG) -> None:
    missing = ocr_missing()
    if missing is not None:
        raise PlanFileError(not_installed_message(missing, lang))


def has_text_layer(data: bytes) -> bool:
    """The PDF has characters on some page (not a scan). A damaged file counts as having
    one: the text reader then says what is wrong with it."""
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception:
        return True
    try:
        for i in range(min(len(pdf), PDF_LIMITS.pages)):
            page = pdf[i]
            text = page.get_textpage()
            n = text.count_chars()
            text.close()
            page.close()
            if n > 0:
                return True
        return False
    finally:
        pdf.close()


# --------------------------------------------------------------------------
# The ruled table of a page image
# --------------------------------------------------------------------------

_DARK = 160  # grey level under which a pixel is ink


@dataclass
class GridTable:
    bbox: Box  # pixels
    grid: list[list[Box | None]]  # rows of cell boxes in pixels; None: covered by a merged cell
    narrow_first: bool  # the first column is narrow (TT)


def _runs(mask: Any) -> list[tuple[int, int]]:
    """(start, end) of the runs of True in a 1-D boolean array (end exclusive)."""
    import numpy as np

    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist()))


def find_tables(gray: Any) -> list[GridTable]:
    """The ruled tables of a page image (a 2-D uint8 array), top to bottom."""
    import numpy as np

    dark = gray < _DARK
    height, width = dark.shape
    k = max(30, width // 25)  # a horizontal rule: a run of ink longer than any letter
    cs = np.zeros((height, width + 1), dtype=np.int32)
    np.cumsum(dark, axis=1, out=cs[:, 1:])
    win = (cs[:, k:] - cs[:, :-k]) == k  # win[y, x]: dark from x to x+k
    has = win.any(axis=1)
    lines: list[tuple[int, int, int, int]] = []  # (y0, y1, x0, x1)
    for y0, y1 in _runs(has):
        cols = np.flatnonzero(win[y0:y1].any(axis=0))
        lines.append((y0, y1, int(cols[0]), int(cols[-1]) + k))
    # tables: consecutive rules of about the same extent
    groups: list[list[tuple[int, int, int, int]]] = []
    tol = max(8, width // 100)
    for ln in lines:
        g = groups[-1] if groups else None
        if g and abs(g[0][2] - ln[2]) <= tol and abs(g[0][3] - ln[3]) <= tol and _joined(dark, g[-1], ln):
            g.append(ln)
        else:
            groups.append([ln])
    out: list[GridTable] = []
    for g in groups:
        g = _open_ends(dark, g)
        if len(g) < 2 or any(t.bbox[1] - 2 <= g[0][0] <= t.bbox[3] + 2 for t in out):
            continue
        t = _grid(dark, g)
        if t is not None:
            out.append(t)
    return out


def _joined(dark: Any, upper: tuple[int, int, int, int], lower: tuple[int, int, int, int]) -> bool:
    """Two rules of one table: its side borders run from one to the other."""
    top, bottom = upper[1], lower[0]
    if bottom <= top:
        return True
    x0, x1 = min(upper[2], lower[2]), max(upper[3], lower[3])
    left = dark[top:bottom, max(0, x0 - 1):x0 + 3].any(axis=1).mean()
    right = dark[top:bottom, max(0, x1 - 4):x1 + 1].any(axis=1).mean()
    return bool(left >= 0.9 and right >= 0.9)


def _open_ends(dark: Any, rules: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """A row cut by a page break is printed without a rule at the cut: the table's side
    borders then run on past its last (or before its first) rule. Such an open end gets a
    rule where the borders stop, so the cut row is read (and joined to its rest on the other
    page by ``plan_table``) rather than lost."""
    height = dark.shape[0]
    x0 = min(r[2] for r in rules)
    x1 = max(r[3] for r in rules)

    def border(y: int) -> bool:
        return bool(dark[y, max(0, x0 - 1):x0 + 3].any() and dark[y, max(0, x1 - 4):x1 + 1].any())

    out = list(rules)
    y = rules[-1][1]
    while y < height and border(y):
        y += 1
    if y - rules[-1][1] > 8:
        out.append((y - 1, y, x0, x1))
    y = rules[0][0] - 1
    while y >= 0 and border(y):
        y -= 1
    if rules[0][0] - y > 9:
        out.insert(0, (y + 1, y + 2, x0, x1))
    return out


def _grid(dark: Any, rules: list[tuple[int, int, int, int]]) -> GridTable | None:
    import numpy as np

    x0 = min(r[2] for r in rules)
    x1 = max(r[3] for r in rules)
    bands = [(a[1], b[0]) for a, b in zip(rules, rules[1:]) if b[0] - a[1] > 4]
    if not bands:
        return None
    # vertical boundaries present in each band: columns dark over (nearly) its whole height
    present: list[list[tuple[int, int]]] = []
    for top, bottom in bands:
        inner = dark[top + 1:bottom - 1, x0:x1 + 1]
        full = inner.mean(axis=0) >= 0.9 if inner.shape[0] else np.zeros(x1 - x0 + 1, bool)
        present.append([(x0 + a, x0 + b) for a, b in _runs(full)])
    # all column edges of the table, clustered
    xs = sorted((a + b) / 2 for p in present for a, b in p)
    edges: list[float] = []
    for x in xs:
        if edges and x - edges[-1] <= 6:
            continue
        edges.append(x)
    if len(edges) < 2:
        return None

    def slot(x: float) -> int:
        return min(range(len(edges)), key=lambda i: abs(edges[i] - x))

    grid: list[list[Box | None]] = []
    owner: list[int | None] = [None] * (len(edges) - 1)  # row of the cell each slot continues
    for r, ((top, bottom), p) in enumerate(zip(bands, present)):
        row: list[Box | None] = [None] * (len(edges) - 1)
        mids = [(a + b) / 2 for a, b in p]
        for left, right in zip(mids, mids[1:]):
            c0, c1 = slot(left), slot(right)
            if c1 <= c0:
                continue
            box: Box = (left, float(top), right, float(bottom))
            above = owner[c0]
            if r > 0 and above is not None and not _rule_under(dark, rules[r], left, right):
                prev = grid[above][c0]
                if prev is not None and abs(prev[0] - left) <= 6 and abs(prev[2] - right) <= 6:
                    grid[above][c0] = (prev[0], prev[1], prev[2], float(bottom))  # merged down
                    for c in range(c0, c1):
                        owner[c] = above
                    continue
            row[c0] = box
            for c in range(c0, c1):
                owner[c] = r
        grid.append(row)
    first = edges[1] - edges[0] if len(edges) > 2 else edges[-1] - edges[0]
    return GridTable((float(x0), float(rules[0][0]), float(x1), float(rules[-1][1])), grid,
                     first < 0.1 * (edges[-1] - edges[0]))


def _rule_under(dark: Any, rule: tuple[int, int, int, int], left: float, right: float) -> bool:
    """The horizontal rule ``rule`` is drawn between ``left`` and ``right``."""
    y0, y1 = rule[0], rule[1]
    a, b = int(left) + 6, int(right) - 6
    if b <= a:
        return True
    return bool(dark[max(0, y0 - 1):y1 + 1, a:b].any(axis=0).mean() >= 0.8)


# --------------------------------------------------------------------------
# Recognition
# --------------------------------------------------------------------------

_TT_WHITELIST = "0123456789IVXLivxl."
_TT_HEADER_RE = re.compile(r"^(?:s[ốo]\s*)?t\.?\s*t\.?$", re.IGNORECASE)


@dataclass
class _Job:
    page: int
    box: Box  # pixels, the cell's
    image: Any
    tt: bool  # a cell of the narrow first column


def _cell_image(gray: Any, box: Box) -> Any | None:
    """The cell's inside, rules trimmed off; None when it holds no ink."""
    from PIL import Image

    x0, top, x1, bottom = (int(v) for v in box)
    inner = gray[top + 3:bottom - 2, x0 + 4:x1 - 3]
    if inner.size == 0 or int((inner < _DARK).sum()) < 12:
        return None
    # a white margin helps tesseract find the first and last lines
    img = Image.fromarray(inner)
    pad = Image.new("L", (img.width + 24, img.height + 24), 255)
    pad.paste(img, (12, 12))
    return pad


def _recognise(jobs: list[_Job], config: str, workdir: Path, tag: str,
               model: str = OCR_LANG) -> list[list[tuple[str, float, Box]]]:
    """Each job's words (text, confidence, box in the cell image's pixels), with one
    tesseract run for all of them (a list file of images)."""
    import pytesseract

    if not jobs:
        return []
    names = []
    for i, job in enumerate(jobs):
        name = workdir / f"{tag}-{i:05d}.png"
        job.image.save(name)
        names.append(str(name))
    listing = workdir / f"{tag}.txt"
    listing.write_text("\n".join(names) + "\n", encoding="utf-8")
    data = pytesseract.image_to_data(str(listing), lang=model, config=config,
                                     output_type=pytesseract.Output.DICT)
    out: list[list[tuple[str, float, Box]]] = [[] for _ in jobs]
    # a printed line's words share its top and bottom (tesseract's word boxes follow the
    # letters: "Nhiệm" reaches higher than "vụ"), so they are read as one line, left to right
    lines: dict[tuple[int, int, int, int], list[int]] = {}
    for i, text in enumerate(data["text"]):
        if (text or "").strip():
            key = (int(data["page_num"][i]), int(data["block_num"][i]), int(data["par_num"][i]),
                   int(data["line_num"][i]))
            lines.setdefault(key, []).append(i)
    for (page, *_), idx in sorted(lines.items()):
        page -= 1
        if not 0 <= page < len(jobs):
            continue
        top = min(float(data["top"][i]) for i in idx)
        bottom = max(float(data["top"][i]) + float(data["height"][i]) for i in idx)
        for i in idx:
            left = float(data["left"][i])
            out[page].append((data["text"][i].strip(), float(data["conf"][i]),
                              (left, top, left + float(data["width"][i]), bottom)))
    return out


def _tt_job(job: _Job) -> tuple[_Job, tuple[float, float, float]]:
    """A TT cell's image cropped to its ink and enlarged; (job, (factor, dx, dy)) to map the
    words back into the cell image."""
    import numpy as np
    from PIL import Image

    a = np.asarray(job.image)
    ys, xs = np.nonzero(a < _DARK)
    x0, y0 = max(0, int(xs.min()) - 2), max(0, int(ys.min()) - 2)
    crop = job.image.crop((x0, y0, int(xs.max()) + 3, int(ys.max()) + 3))
    factor = 2
    big = crop.resize((crop.width * factor, crop.height * factor), Image.LANCZOS)
    pad = Image.new("L", (big.width + 40, big.height + 40), 255)
    pad.paste(big, (20, 20))
    return _Job(job.page, job.box, pad, True), (float(factor), x0 - 20 / factor, y0 - 20 / factor)


def _scaled(b: Box, job: _Job, how: tuple[float, float, float]) -> Box:
    factor, dx, dy = how
    return (b[0] / factor + dx, b[1] / factor + dy, b[2] / factor + dx, b[3] / factor + dy)


def _tt_text(text: str) -> str:
    return text if text.isdigit() else text.upper().replace("L", "I")


def _words_of(job: _Job, found: list[tuple[str, float, Box]], scale: float) -> list[Word]:
    """Words recognised in a cell image, placed on the page (in points, as a text PDF's)."""
    import unicodedata

    ox, oy = job.box[0] + 4 - 12, job.box[1] + 3 - 12
    out = []
    for text, conf, (x0, top, x1, bottom) in found:
        out.append(Word(unicodedata.normalize("NFC", text), (ox + x0) * scale, (ox + x1) * scale,
                        (oy + top) * scale, (oy + bottom) * scale, False, (bottom - top) * scale * 1.4, conf))
    return out


def ocr_pdf_table(data: bytes, source: str, *, lang: str = DEFAULT_LANG,
                  limits: OcrLimits = OCR_LIMITS) -> OcrTable:
    """The plan table of a scanned PDF, recognised cell by cell (see the module doc).
    PlanFileError when OCR is not installed, the scan is too long or slow, or no table is found."""
    require_ocr(lang)
    import numpy as np
    import pypdfium2

    if len(data) > PDF_LIMITS.megabytes * 1024 * 1024:
        raise _too_big(source, "megabytes", PDF_LIMITS.megabytes, f"megabytes={PDF_LIMITS.megabytes}", lang)
    elapsed = stopwatch()
    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as exc:
        raise PlanFileError(tr(lang, "pdf.bad", source=source, exc=type(exc).__name__)) from None
    pages: list[PdfPage] = []
    try:
        count = len(pdf)
        if count > limits.pages:
            raise PlanFileError(tr(lang, "ocr.too_many_pages", source=source, pages=count, limit=limits.pages))
        scale = 72.0 / limits.dpi  # pixels to points
        env = {"OMP_THREAD_LIMIT": "1"}  # one thread: the machine's cores serve other work too
        with tempfile.TemporaryDirectory(prefix="steer-ocr-") as tmp, _environ(env):
            for n in range(count):
                if elapsed() > limits.seconds:
                    raise PlanFileError(tr(lang, "ocr.too_slow", source=source, seconds=limits.seconds,
                                           page=n + 1, pages=count))
                page = pdf[n]
                width_pt, height_pt = page.get_size()
                img = page.render(scale=limits.dpi / 72).to_pil().convert("L")
                page.close()
                gray = np.asarray(img)
                tables = find_tables(gray)
                jobs: list[_Job] = []
                for t in tables:
                    for row in t.grid:
                        for c, box in enumerate(row):
                            if box is None:
                                continue
                            im = _cell_image(gray, box)
                            if im is not None:
                                jobs.append(_Job(n + 1, box, im, t.narrow_first and c == 0))
                found = _recognise(jobs, "--psm 6", Path(tmp), f"p{n}")
                tt = [i for i, j in enumerate(jobs) if j.tt and not _TT_HEADER_RE.match(" ".join(w[0] for w in found[i]))]
                if tt:
                    # digits and Roman numerals alone in a cell: cropped to the ink, twice the size,
                    # one line, the Latin model (the Vietnamese one reads a lone "I" as nothing)
                    small = [_tt_job(jobs[i]) for i in tt]
                    again = _recognise([j for j, _ in small], f"--psm 7 -c tessedit_char_whitelist={_TT_WHITELIST}",
                                       Path(tmp), f"p{n}tt", model="eng")
                    for i, (job, factor), words in zip(tt, small, again):
                        found[i] = [(_tt_text(w), conf, _scaled(b, job, factor)) for w, conf, b in words]
                words = [w for job, f in zip(jobs, found) for w in _words_of(job, f, scale)]
                found_tables: list[PdfTable] = []
                for t in tables:
                    bbox = tuple(v * scale for v in t.bbox)
                    grid = [[tuple(v * scale for v in b) if b else None for b in row] for row in t.grid]
                    pt, words = _table_from_grid(n + 1, bbox, grid, words)  # type: ignore[arg-type]
                    found_tables.append(pt)
                chars = sum(len(w.text) for t in found_tables for row in t.rows for c in row if c
                            for ln in c.lines for w in ln.words)
                pages.append(PdfPage(n + 1, float(width_pt), float(height_pt), [], found_tables, 1, chars))
                if elapsed() > limits.seconds:
                    raise PlanFileError(tr(lang, "ocr.too_slow", source=source, seconds=limits.seconds,
                                           page=n + 1, pages=count))
    finally:
        pdf.close()
    _drop_running(pages)
    doc = PdfDocument(pages)
    if doc.chars == 0:
        raise PlanFileError(tr(lang, "ocr.nothing", source=source, pages=len(pages)))
    table = plan_table(doc, source, lang=lang)
    flagged = [[_low(c) for c in row] for row in table.cells]
    width = max((len(r.cells) for r in table.rows), default=0)
    rows = [RawRow(r.number, tuple(r.cells) + ("",) * (width - len(r.cells))) for r in table.rows]
    _fix_numbering(rows, table.cells, flagged)
    rows, flagged = _drop_repeated_headers(rows, flagged)
    flagged = [f + [False] * (width - len(f)) for f in flagged]
    return OcrTable(rows, flagged, len(pages), table.first_page, table.last_page, seconds=elapsed())


_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
          "XVI", "XVII", "XVIII", "XIX", "XX"]


def _fix_numbering(rows: list[RawRow], cells: list[list[Cell | None]], flagged: list[list[bool]]) -> None:
    """The TT column after recognition: "1" and "I" look alike in print, so a task row (cells
    of its own after the title) reads digits and a section row (one cell merged across the
    row) Roman numerals; a section number that is not the next one after the previous
    section's, or is missing, becomes that next one. Every cell changed here is flagged."""
    header = next((i for i, r in enumerate(rows) if r.cells and _TT_HEADER_RE.match(r.cells[0].strip())), None)
    if header is None:
        return
    section = 0
    for i in range(header + 1, len(rows)):
        row = rows[i]
        code = row.cells[0].strip().replace(".", "")
        merged_across = len(cells[i]) > 2 and all(c is None for c in cells[i][2:]) and bool(row.cells[1].strip())
        if merged_across:
            want = _ROMAN[section] if section < len(_ROMAN) else code
            fixed = code.replace("1", "I").replace("l", "I")
            section = _ROMAN.index(fixed) + 1 if fixed in _ROMAN else section + 1
            new = fixed if fixed == want else want
        elif code:
            new = code.replace("I", "1").replace("l", "1").replace("|", "1")
        else:
            continue
        if new != row.cells[0]:
            rows[i] = RawRow(row.number, (new, *row.cells[1:]))
            flagged[i][0] = True


def _drop_repeated_headers(rows: list[RawRow], flagged: list[list[bool]]) -> tuple[list[RawRow], list[list[bool]]]:
    """The header row printed again on every page is shown once in the draft (the table
    reader would skip the repeats anyway); rows keep their numbers."""
    header = find_header(rows)
    if header is None:
        return rows, flagged
    keep = [i for i, r in enumerate(rows) if i <= header.row_index or not _is_header(r, header.keys)]
    return [rows[i] for i in keep], [flagged[i] for i in keep]


def _is_header(row: RawRow, keys: frozenset[str]) -> bool:
    texts = [t for t in row.cells if t.strip()]
    return len(texts) >= 2 and all(header_key(t) in keys for t in texts)


def _low(cell: Cell | None) -> bool:
    return cell is not None and any(w.confidence < LOW_CONFIDENCE for ln in cell.lines for w in ln.words)


class _environ:
    """Environment variables set for the block (tesseract reads OMP_THREAD_LIMIT)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for k, v in self.values.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------
# The draft as a workbook, for correction
# --------------------------------------------------------------------------

FLAG_FILL = "FFF2CC"  # light yellow: a cell to check


def ocr_xlsx_bytes(rows: list[list[str]], flagged: list[list[bool]] | None = None, *,
                   sheet: str = "Bang nhiem vu") -> bytes:
    """The recognised (or corrected) table as an .xlsx the Excel reader reads back: one row per
    table row, flagged cells filled yellow."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    fill = PatternFill("solid", fgColor=FLAG_FILL)
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=text or None)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if flagged and r - 1 < len(flagged) and c - 1 < len(flagged[r - 1]) and flagged[r - 1][c - 1]:
                cell.fill = fill
    widths = [6, 40, 22, 22, 40, 14, 16, 16]
    for c in range(1, (max((len(r) for r in rows), default=0)) + 1):
        ws.column_dimensions[chr(64 + c) if c <= 26 else "Z"].width = widths[c - 1] if c <= len(widths) else 16
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

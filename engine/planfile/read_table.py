"""The shared "table -> PlanSpec" core used by the xlsx, docx, csv and md readers.

Each tabular reader turns its file into a list of :class:`RawRow` (cell texts plus
the 1-based row number a person would look for in that file) and, for formats
that have free text above the table (Word, Markdown), a list of text lines.
:func:`rows_to_plan` then finds the header row, the section rows and the task
rows. It does syntax only: cell texts are cleaned of markup and footnote marks,
never interpreted (units, deadlines and gaps are the validator's job).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.spec import PlanFileError, PlanSpec, SectionSpec, SourceRef, TaskSpec

# How many non-empty rows from the top are searched for the header row.
HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class RawRow:
    """One row of a source table: cell texts by column position, and where it is."""

    number: int  # 1-based row (xlsx row, csv record, md line, docx table row)
    cells: tuple[str, ...]

    def cell(self, index: int | None) -> str:
        if index is None or index >= len(self.cells):
            return ""
        return self.cells[index]

    def non_empty(self) -> list[tuple[int, str]]:
        return [(i, c) for i, c in enumerate(self.cells) if c.strip()]


# --------------------------------------------------------------------------
# Header synonyms
# --------------------------------------------------------------------------

# logical column name -> header texts as people write them (matched by header_key()).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("TT", "STT", "Số TT", "Số thứ tự", "No", "No.", "#"),
    "title": (
        "Tên nhiệm vụ",
        "Nhiệm vụ",
        "Nội dung",
        "Nội dung nhiệm vụ",
        "Nội dung công việc",
        "Nội dung thực hiện",
        "Nhiệm vụ thực hiện",
        "Nhiệm vụ, giải pháp",
        "Nhiệm vụ cụ thể",
        "Task",
        "Task name",
        "Title",
    ),
    "lead": (
        "Cơ quan chủ trì",
        "Đơn vị chủ trì",
        "Cơ quan, đơn vị chủ trì",
        "Cơ quan/đơn vị chủ trì",
        "Chủ trì",
        "Chủ trì thực hiện",
        "Cơ quan thực hiện",
        "Đơn vị thực hiện",
        "Đơn vị chủ trì/thực hiện",
        "Cơ quan chủ trì/thực hiện",
        "Đơn vị chủ trì, thực hiện",
        "Cơ quan chủ trì, thực hiện",
        "Lead",
        "Lead agency",
        "Lead unit",
    ),
    "coordinating": (
        "Cơ quan phối hợp",
        "Đơn vị phối hợp",
        "Cơ quan, đơn vị phối hợp",
        "Cơ quan/đơn vị phối hợp",
        "Phối hợp",
        "Phối hợp thực hiện",
        "Coordinating",
        "Coordinating agencies",
        "Coordinating units",
    ),
    "deliverable": (
        "Kết quả",
        "Sản phẩm",
        "Kết quả yêu cầu",
        "Sản phẩm/Kết quả",
        "Kết quả/Sản phẩm",
        "Sản phẩm đầu ra",
        "Kết quả, sản phẩm",
        "Sản phẩm, kết quả",
        "Kết quả đầu ra",
        "Kết quả dự kiến",
        "Sản phẩm dự kiến",
        "Mục tiêu, kết quả",
        "Quy mô, mục tiêu, kết quả",
        "Mục tiêu, kết quả, sản phẩm",
        "Hình thức văn bản",
        "Hình thức sản phẩm",
        "Deliverable",
        "Output",
    ),
    "deadline": (
        "Thời gian hoàn thành",
        "Thời gian",
        "Thời gian thực hiện",
        "Thời hạn",
        "Thời hạn hoàn thành",
        "Tiến độ hoàn thành",
        "Deadline",
        "Due",
        "Due date",
    ),
    "status": ("Tiến độ", "Trạng thái", "Tình trạng", "Tiến độ thực hiện", "Status", "Progress"),
    "completed_on": ("Ngày hoàn thành", "Completed on", "Completed"),
    "progress": (
        "Kết quả hiện nay",
        "Kết quả thực hiện",
        "Kết quả đạt được",
        "Current result",
        "Result to date",
    ),
    "note": ("Ghi chú", "Note", "Notes"),
    "depends_on": ("Phụ thuộc", "Depends on", "Dependencies"),
    "vice_chair": (
        "Lãnh đạo phụ trách",
        "Phó Chủ tịch phụ trách",
        "Vice-chair",
        "Vice chair",
        "Leader in charge",
    ),
}

# Status headers that, when the table has no deadline column, are its timeline
# ("Tiến độ thực hiện: Quý II/2025" in a plan annex).
_STATUS_AS_DEADLINE = ("tien do", "tien do thuc hien")

_SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT_RUN_RE = re.compile(rf"(?P<word>\w*)(?P<sup>[{_SUPERSCRIPT_DIGITS}]+)")
_AREA_UNITS = {"m", "km", "cm", "dm", "mm", "hm"}  # m², km³ ... are units, not footnotes
_MD_FOOTNOTE_RE = re.compile(r"\[\^[^\]]*\]")
_TRAILING_STAR_NOTE_RE = re.compile(r"\s*\(\*+\)\s*$")
_SPACES_RE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def _strip_accents(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def header_key(text: str) -> str:
    """Normalise a header cell for matching: no case, accents, marks, numbering."""
    t = unicodedata.normalize("NFC", text).replace("**", "")
    t = re.sub(f"[{_SUPERSCRIPT_DIGITS}]+", "", t)
    t = re.sub(r"\[[^\]]*\]", " ", t)  # [1], [^1]
    t = re.sub(r"\([^)]*\)", " ", t)  # (1), (2), (dự kiến)
    t = _strip_accents(t).lower()
    t = re.sub(r"\s*/\s*", "/", t)
    t = re.sub(r"[^a-z0-9/#]+", " ", t)
    return t.strip(" /")


_EXACT: dict[str, str] = {}
for _logical, _names in HEADER_SYNONYMS.items():
    for _name in _names:
        _EXACT.setdefault(header_key(_name), _logical)
# Longest first, for prefix matching ("Cơ quan chủ trì thực hiện" -> lead).
_PREFIXES: list[tuple[str, str]] = sorted(
    ((k, v) for k, v in _EXACT.items() if " " in k), key=lambda kv: -len(kv[0])
)
_NOT_A_DEADLINE = ("bat dau", "start", "khoi cong")


def match_header(text: str) -> str | None:
    """Logical column name for a header cell text, or None."""
    key = header_key(text)
    if not key:
        return None
    if key in _EXACT:
        return _EXACT[key]
    for prefix, logical in _PREFIXES:
        if key.startswith(prefix + " "):
            rest = key[len(prefix) :]
            if logical == "deadline" and any(w in rest for w in _NOT_A_DEADLINE):
                return None
            return logical
    return None


# --------------------------------------------------------------------------
# Cell text cleanup
# --------------------------------------------------------------------------


def _drop_footnote_mark(m: re.Match[str]) -> str:
    word, sup = m.group("word"), m.group("sup")
    if sup in ("²", "³") and word.lower().lstrip("0123456789") in _AREA_UNITS:
        return m.group(0)
    return word


def clean_text(text: str) -> str:
    """Clean a title/unit/free-text cell: NFC, no markup, no footnote marks.

    Runs of spaces collapse to one; single line breaks are kept, empty lines dropped.
    """
    t = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    t = t.replace("**", "")
    t = _SUPERSCRIPT_RUN_RE.sub(_drop_footnote_mark, t)
    t = _MD_FOOTNOTE_RE.sub("", t)
    lines = []
    for line in t.split("\n"):
        line = _SPACES_RE.sub(" ", line).strip()
        line = _TRAILING_STAR_NOTE_RE.sub("", line)
        if line:
            lines.append(line)
    return "\n".join(lines)


def clean_raw(text: str) -> str:
    """Deadline cells: kept as written (the deadline parser handles noise), minus markup."""
    t = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return t.replace("**", "").strip()


def one_line(text: str) -> str:
    return clean_text(text).replace("\n", " ")


_LINE_BULLET_RE = re.compile(r"^(?:[-+•*–—·▪●◦]|\d{1,2}[.)]|[a-zđ]\)|\([a-zđ0-9]{1,2}\))(?:\s|$)")


def join_wrapped(text: str) -> str:
    """A cleaned cell whose printed line wraps are joined: a line break is kept only before a
    bullet or numbering ("- ", "+ ", "1.", "a)"), the start of a real new item; every other
    break is a wrap of the page (a PDF converted to Word keeps them) and becomes a space.
    Used for titles; units and deadlines are joined against their meaning (engine.planfile.validate)."""
    lines = clean_text(text).split("\n")
    out: list[str] = []
    for line in lines:
        if out and not _LINE_BULLET_RE.match(line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------
# Codes
# --------------------------------------------------------------------------

_ROMAN_RE = re.compile(r"(?=[IVX])X{0,3}(?:IX|IV|V?I{0,3})")
_SEP = r"\s*[.)\-–—:]?\s*"
_SECTION_CODE_RE = re.compile(rf"(?P<num>[IVX]+|[A-Z]){_SEP}")
_SECTION_WITH_TITLE_RE = re.compile(
    r"(?P<num>[IVX]+|[A-Z])\s*[.)\-–—:]\s*(?P<title>\S.*)", re.DOTALL
)
_AUTO_SECTION_RE = re.compile(r"S\d+")
_TASK_CODE_RE = re.compile(r"(?:[IVX]+\s*\.\s*)?\d+(?:\s*\.\s*\d+)*\s*\.?")
_SUB_ITEM_RE = re.compile(r"\(?(?P<letter>[a-zđ])\s*[).]?")
_BULLETS = {"-", "+", "•", "*", "–", "—", "o", "·"}


def _is_roman(s: str) -> bool:
    return bool(s) and _ROMAN_RE.fullmatch(s) is not None


def _code_text(cell: str) -> str:
    return one_line(cell)


_SECTION_PREFIX_RE = re.compile(r"^(?:phần|mục|chương|part)\s+(?=[IVXA-Z]\b|[IVX]+\b)", re.I)


def section_code(code_text: str) -> str | None:
    """'I', 'II.', '**III -**', 'A.', 'Phần IV' -> 'I', 'II', 'III', 'A', 'IV'; else None."""
    if _AUTO_SECTION_RE.fullmatch(code_text):
        return code_text  # "S2": an unnamed section written back by engine.planfile.export
    m = _SECTION_CODE_RE.fullmatch(_SECTION_PREFIX_RE.sub("", code_text))
    if not m:
        return None
    num = m.group("num")
    if len(num) > 1 and not _is_roman(num):
        return None
    return num


def split_section_text(text: str) -> tuple[str, str] | None:
    """'I. Nâng cao nhận thức' -> ('I', 'Nâng cao nhận thức'); else None."""
    m = _SECTION_WITH_TITLE_RE.fullmatch(_SECTION_PREFIX_RE.sub("", text))
    if not m:
        return None
    num, title = m.group("num"), m.group("title").strip()
    if len(num) > 1 and not _is_roman(num):
        return None
    if not any(ch.isalpha() for ch in title):
        return None  # "I.1" is a task code, not section I titled "1"
    return num, title


def task_code(code_text: str) -> str | None:
    """'1', '1.', '12 .', '1.2', 'II.3', '1.0' -> '1', '1', '12', '1.2', 'II.3', '1'."""
    if not _TASK_CODE_RE.fullmatch(code_text):
        return None
    if code_text[0] in "IVX" and not _is_roman(code_text.split(".")[0].strip()):
        return None
    code = re.sub(r"\s+", "", code_text).rstrip(".")
    m = re.fullmatch(r"(\d+)\.0", code)
    if m:  # a spreadsheet float written as text
        code = m.group(1)
    return code


def sub_item_letter(code_text: str) -> str | None:
    m = _SUB_ITEM_RE.fullmatch(code_text)
    if not m or (code_text.startswith("(") and not code_text.endswith(")")):
        return None
    return m.group("letter")


# --------------------------------------------------------------------------
# Header detection
# --------------------------------------------------------------------------


@dataclass
class Header:
    """The header block: which column holds which logical field."""

    row_index: int  # index into the rows list of the (last) header row
    top_index: int  # index of the first header row (differs for two-row headers)
    columns: dict[str, int]  # logical -> column position
    texts: dict[str, str]  # logical -> header text as found (one line)
    keys: frozenset[str] = frozenset()  # header_key of every cell of the header block
    # columns the reader could not place: position -> header text (kept on each task as extra)
    extra: dict[int, str] = field(default_factory=dict)

    def is_usable(self) -> bool:
        return "title" in self.columns and ("lead" in self.columns or "deadline" in self.columns)


def _row_mapping(row: RawRow) -> tuple[dict[str, int], dict[str, str]]:
    columns: dict[str, int] = {}
    texts: dict[str, str] = {}
    for i, text in row.non_empty():
        logical = match_header(text)
        if logical and logical not in columns:
            columns[logical] = i
            texts[logical] = one_line(text)
    return columns, texts


def _is_header_like(row: RawRow) -> bool:
    cells = row.non_empty()
    return bool(cells) and all(match_header(text) for _, text in cells)


def _is_numbering_row(row: RawRow) -> bool:
    """'(1) | (2) | (3)' or '1 | 2 | 3' or '(A) | (B)' right under a header."""
    cells = row.non_empty()
    if len(cells) < 2:
        return False
    return all(re.fullmatch(r"\(?\s*(\d{1,2}|[A-Za-z])\s*\)?\.?", one_line(t)) for _, t in cells)


def _candidate(rows: list[RawRow], i: int) -> Header:
    columns, texts = _row_mapping(rows[i])
    header = Header(i, i, columns, texts)
    # A two-row header ("Cơ quan" over "Chủ trì | Phối hợp"): the row below refines it.
    below = rows[i + 1] if i + 1 < len(rows) else None
    # Only a row with a header cell of its own can be the top of a two-row header: a title
    # line right above the header ("(Kèm theo Kế hoạch số ...)") is not.
    if columns and below is not None and len(below.non_empty()) >= 2 and _is_header_like(below):
        sub_cols, sub_texts = _row_mapping(below)
        merged = {k: v for k, v in columns.items() if v not in sub_cols.values()}
        merged_texts = {k: texts[k] for k in merged}
        for logical, col in sub_cols.items():
            if logical not in merged:
                merged[logical] = col
                merged_texts[logical] = sub_texts[logical]
        header = Header(i + 1, i, merged, merged_texts)
    if "deadline" not in header.columns and "status" in header.columns:
        if header_key(header.texts["status"]) in _STATUS_AS_DEADLINE:
            header.columns["deadline"] = header.columns.pop("status")
            header.texts["deadline"] = header.texts.pop("status")
    return header


def find_header(rows: list[RawRow]) -> Header | None:
    best: Header | None = None
    seen = 0
    for i, row in enumerate(rows):
        if not row.non_empty():
            continue
        seen += 1
        if seen > HEADER_SCAN_ROWS:
            break
        cand = _candidate(rows, i)
        if cand.is_usable() and (best is None or len(cand.columns) > len(best.columns)):
            best = cand
    if best is not None:
        block = rows[best.top_index : best.row_index + 1]
        best.keys = frozenset(header_key(c) for row in block for c in row.cells) - {""}
        placed = set(best.columns.values())
        width = max(len(row.cells) for row in block)
        for col in range(width):
            if col in placed:
                continue
            parts: list[str] = []
            for row in block:
                t = one_line(row.cell(col))
                if t and t not in parts:
                    parts.append(t)
            if parts:
                best.extra[col] = " / ".join(parts)
    return best


def headers_seen(rows: list[RawRow]) -> list[str]:
    """The most header-like row near the top, for 'no header' messages."""
    best: list[str] = []
    best_score = -1.0
    seen = 0
    for row in rows:
        cells = [one_line(t) for _, t in row.non_empty()]
        if not cells:
            continue
        seen += 1
        if seen > HEADER_SCAN_ROWS:
            break
        short = [c for c in cells if len(c) <= 60]
        score = len(short) + 2 * sum(1 for c in cells if match_header(c))
        if score > best_score:
            best, best_score = short or cells, score
    return best


def no_header_error(source: str, rows: list[RawRow], where: str = "", lang: str = DEFAULT_LANG) -> PlanFileError:
    """The error for a table without a recognisable header row (``where``: a worded place in
    the file, such as " (trang tính «KH»)", already in ``lang``)."""
    if not any(row.non_empty() for row in rows):
        return PlanFileError(tr(lang, "plan.read.no_table", source=source, where=where))
    seen = headers_seen(rows)
    listed = ", ".join(f"«{s[:60]}»" for s in seen[:12]) if seen else tr(lang, "plan.read.no_headers_seen")
    return PlanFileError(tr(lang, "plan.read.no_header", source=source, where=where, rows=HEADER_SCAN_ROWS,
                            listed=listed))


# --------------------------------------------------------------------------
# Title block
# --------------------------------------------------------------------------

_BOILERPLATE_RE = re.compile(
    r"^(cộng hòa|cộng hoà|độc lập|số\s*:|.*,\s*ngày\s.*tháng|ủy ban nhân dân|uỷ ban nhân dân|ubnd)",
    re.IGNORECASE,
)
_DOC_TYPE_WORDS = {"kế hoạch", "chương trình", "danh mục", "quyết định", "phụ lục", "đề án"}
_ATTACHED_RE = re.compile(
    r"^\(\s*(?:(?:ban hành\s+)?kèm theo|attached to)\s+(?P<doc>.*?)\s*\)?$",
    re.IGNORECASE | re.DOTALL,
)
_ANNEX_RE = re.compile(r"^(?:\d{1,2}\s*[.)]\s*)?(?:phụ lục|annex|appendix)\b", re.IGNORECASE)
_ANNEX_NUMBER_RE = re.compile(r"^(?:\d{1,2}\s*[.)]\s*)?(?:phụ lục|annex|appendix)\s+(?P<num>[IVXLC]+|\d{1,3}[a-z]?)\b",
                              re.IGNORECASE)
_VN_DATE_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_NUM_DATE_RE = re.compile(
    r"(?:ngày|dated)\s+(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})", re.IGNORECASE
)


@dataclass
class TitleInfo:
    title: str | None = None
    document: str | None = None
    issued_on: date | None = None
    issued_by: str | None = None
    annex: str | None = None  # "Phụ lục II"


def read_title_lines(lines: list[str]) -> TitleInfo:
    cleaned = [one_line(line) for line in lines]
    cleaned = [line for line in cleaned if line]
    info = TitleInfo()
    for line in cleaned:
        m = _ATTACHED_RE.match(line)
        if m and info.document is None:
            # "(Kèm theo Kế hoạch số 45/KH-UBND ngày 15/3/2025 của UBND tỉnh)"
            doc = m.group("doc").strip()
            by = re.search(r"\s+của\s+(?P<by>.+)$", doc)
            if by:
                info.issued_by = by.group("by").strip() or None
                doc = doc[: by.start()]
            doc = re.split(r"\s+(?:ngày|dated)\s", doc, maxsplit=1)[0].strip()
            info.document = doc or None
            for rx in (_VN_DATE_RE, _NUM_DATE_RE):
                d = rx.search(line)
                if d:
                    try:
                        info.issued_on = date(int(d.group(3)), int(d.group(2)), int(d.group(1)))
                    except ValueError:
                        pass
                    break
    annex = [i for i, line in enumerate(cleaned) if _ANNEX_RE.match(line)]
    for i in annex:
        m = _ANNEX_NUMBER_RE.match(cleaned[i])
        if m:
            info.annex = f"Phụ lục {m.group('num').upper()}"
            break
    start = annex[0] + 1 if annex else 0
    candidates = [
        line
        for line in cleaned[start:]
        if not line.startswith("(")
        and not _BOILERPLATE_RE.match(line)
        and not _ANNEX_RE.match(line)
    ]
    if candidates:
        title = candidates[0]
        if title.casefold().rstrip(":") in _DOC_TYPE_WORDS and len(candidates) > 1:
            title = f"{title} {candidates[1]}"
        info.title = title
    elif annex:
        info.title = cleaned[annex[0]]
    return info


def header_date(text: str) -> date | None:
    """The day a header names: "Tiến độ (đến 24/5/2025)" -> 2025-05-24; None without one."""
    m = re.search(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})", text)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Rows -> PlanSpec
# --------------------------------------------------------------------------


@dataclass
class _SectionState:
    spec: SectionSpec
    parent_roman: str | None  # for letter sections under a Roman one
    letter: bool


def _split_codes(text: str) -> list[str]:
    parts = re.split(r"[,;\s]+|\bvà\b|\band\b", one_line(text))
    out: list[str] = []
    for p in parts:
        p = p.strip()
        if not p or not any(ch.isdigit() for ch in p):
            continue  # "Nhiệm vụ 3" -> "3"
        out.append(task_code(p) or p.rstrip("."))
    return out


def rows_to_plan(
    rows: list[RawRow],
    *,
    source: str,
    fmt: str,
    text_lines: list[str] | None = None,
    where: str = "",
    lang: str = DEFAULT_LANG,
) -> PlanSpec:
    """Turn the rows of one table (plus text above it) into a PlanSpec."""
    header = find_header(rows)
    if header is None:
        raise no_header_error(source, rows, where, lang)
    cols = header.columns
    title_lines = list(text_lines or [])
    for row in rows[: header.top_index]:
        parts: list[str] = []
        for _, text in row.non_empty():
            t = one_line(text)
            if t and t not in parts:
                parts.append(t)
        if parts:
            title_lines.append(" ".join(parts))
    info = read_title_lines(title_lines)

    plan = PlanSpec(
        source_file=source,
        title=info.title,
        document=info.document,
        issued_on=info.issued_on,
        issued_by=info.issued_by,
        format=fmt,
        annex=info.annex,
        extra_columns=list(header.extra.values()),
    )
    if "status" in header.texts:  # "Tiến độ (đến 24/5/2025)": the statuses are as of that day
        plan.status_date = header_date(header.texts["status"])
    code_col = cols.get("code")
    title_col = cols.get("title")
    first_col = min(cols.values())

    sections: list[_SectionState] = []
    owners: list[_SectionState | None] = []  # section of each task, by position
    current: _SectionState | None = None
    current_roman: str | None = None
    last_main: str | None = None
    unnamed_sections = 0
    after_header = True  # the row right after a header may be a numbering row

    def new_section(code: str | None, title: str, row: RawRow) -> None:
        nonlocal current, current_roman, last_main, unnamed_sections
        letter = code is not None and len(code) == 1 and not _is_roman(code)
        if code is None:
            used = {s.spec.code for s in sections}
            unnamed_sections += 1
            while f"S{unnamed_sections}" in used:
                unnamed_sections += 1
            code = f"S{unnamed_sections}"
        spec = SectionSpec(code=code, title=title, source=SourceRef(source, row.number))
        state = _SectionState(spec, current_roman if letter else None, letter)
        sections.append(state)
        current = state
        if _is_roman(code):
            current_roman = code
        last_main = None

    for row in rows[header.row_index + 1 :]:
        cells = row.non_empty()
        if not cells:
            continue
        if after_header and _is_numbering_row(row):
            after_header = False
            continue
        after_header = False
        if len(cells) >= 2 and all(header_key(c) in header.keys for _, c in cells):  # stops at the first data cell
            # A header row repeated on a new page / in a continuation table.
            after_header = True
            continue
        code_text = _code_text(row.cell(code_col))

        # ---- section rows
        sec = section_code(code_text) if code_text else None
        if sec is not None:
            title = clean_text(row.cell(title_col)) if title_col != code_col else ""
            new_section(sec, title, row)
            continue
        in_code_cell = split_section_text(code_text) if code_text else None
        if in_code_cell is not None:  # "I. <title>" in the TT cell (merged over part of the row)
            new_section(in_code_cell[0], clean_text(in_code_cell[1]), row)
            continue
        if len(cells) == 1:
            idx, text = cells[0]
            if idx in (code_col, title_col, first_col, 0):
                single = one_line(text)
                split = split_section_text(single)
                if split is not None:
                    new_section(split[0], clean_text(split[1]), row)
                    continue
                if not (idx == code_col and (task_code(single) or sub_item_letter(single))):
                    new_section(None, clean_text(text), row)
                    continue

        # ---- task rows
        code: str
        tc = task_code(code_text) if code_text else None
        sub = sub_item_letter(code_text) if code_text and tc is None else None
        if tc is not None:
            code = tc
            last_main = tc
        elif sub is not None:
            code = f"{last_main}.{sub}" if last_main else sub
        elif not code_text or code_text in _BULLETS:
            code = f"R{row.number}"
        else:
            code = code_text

        task = TaskSpec(
            code=code,
            title=join_wrapped(row.cell(title_col)),
            source=SourceRef(source, row.number),
            section=current.spec.code if current else None,
            columns=dict(header.texts),
        )
        lead = clean_text(row.cell(cols.get("lead")))
        task.lead = [lead] if lead else []
        coord = clean_text(row.cell(cols.get("coordinating")))
        task.coordinating = [coord] if coord else []
        task.deliverable = clean_text(row.cell(cols.get("deliverable")))
        task.deadline_text = clean_raw(row.cell(cols.get("deadline")))
        for logical, attr, cleaner in (
            ("status", "status_text", clean_text),
            ("completed_on", "completed_on_text", clean_raw),
            ("note", "note", clean_text),
            ("progress", "progress_text", clean_text),
            ("vice_chair", "vice_chair", one_line),
        ):
            if logical in cols:
                value = cleaner(row.cell(cols[logical]))
                setattr(task, attr, value or None)
        if "depends_on" in cols:
            task.depends_on = _split_codes(row.cell(cols["depends_on"]))
        for col, head in header.extra.items():
            value = clean_text(row.cell(col))
            if value:
                task.extra[head] = value
        plan.tasks.append(task)
        owners.append(current)

    # Section rows after the last task are a footer (notes, footnotes), not sections.
    if plan.tasks:
        last_task_row = max(t.source.row or 0 for t in plan.tasks)
        sections = [s for s in sections if (s.spec.source.row or 0) < last_task_row]

    _qualify_letter_sections(sections, plan.tasks, owners)
    plan.sections = [s.spec for s in sections]
    _qualify_restarting_codes(plan.tasks)
    return plan


def _qualify_letter_sections(
    sections: list[_SectionState], tasks: list[TaskSpec], owners: list[_SectionState | None]
) -> None:
    """'A' under I and 'A' under II become 'I.A' and 'II.A' (and 'B' under I, 'I.B')."""
    counts: dict[str, int] = {}
    for s in sections:
        counts[s.spec.code] = counts.get(s.spec.code, 0) + 1
    if not any(s.letter and counts[s.spec.code] > 1 for s in sections):
        return
    for s in sections:  # qualify all of them, so the codes look alike
        if s.letter and s.parent_roman:
            s.spec.code = f"{s.parent_roman}.{s.spec.code}"
    for task, owner in zip(tasks, owners):
        if owner is not None:
            task.section = owner.spec.code


_AUTO_CODE_RE = re.compile(r"R\d+")


def _qualify_restarting_codes(tasks: list[TaskSpec]) -> None:
    """Numbering that restarts per section (1,2 under I; 1,2 under II) -> 'I.1', 'II.1'."""
    sections_of: dict[str, set[str | None]] = {}
    for t in tasks:
        if not _AUTO_CODE_RE.fullmatch(t.code):
            sections_of.setdefault(t.code, set()).add(t.section)
    if not any(len(secs) > 1 for secs in sections_of.values()):
        return
    for t in tasks:
        if t.section is None:
            continue
        if not _AUTO_CODE_RE.fullmatch(t.code):
            t.code = f"{t.section}.{t.code}"
        t.depends_on = [
            d if re.match(r"^[IVXA-Z]+\.", d) else f"{t.section}.{d}" for d in t.depends_on
        ]

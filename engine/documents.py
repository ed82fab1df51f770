"""Evidence as official documents (văn bản): parse how a unit writes one, check it.

What a steering committee checks as evidence of a result is an official document:
"Quyết định số 1234/QĐ-UBND ngày 15/7/2025 của UBND tỉnh", "Công văn 567/UBND-KT",
"Kế hoạch số 45/KH-UBND ngày 03 tháng 3 năm 2025", a Party one "Nghị quyết số 57-NQ/TW".
``parse_document`` reads one such text into its parts (type, number, symbol, date,
issuer); ``find_documents`` every one in a longer text; ``check_document`` says what is
wrong with one (a date in the future, or before the plan it is evidence for);
``reused_documents`` which documents are given for unrelated tasks.

Pure: no database, no clock (``today`` is passed in). The symbol rules follow Decree
30/2020/NĐ-CP (state documents: ``số/TYPE-ISSUER``, a công văn ``số/ISSUER-DEPARTMENT``)
and Party rules (``số-TYPE/ISSUER``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

# Document types: abbreviation (as in a symbol) -> the full name. Công văn has none in its symbol.
TYPES: dict[str, str] = {
    "QĐ": "Quyết định", "NQ": "Nghị quyết", "NĐ": "Nghị định", "CT": "Chỉ thị", "TT": "Thông tư",
    "KH": "Kế hoạch", "BC": "Báo cáo", "TB": "Thông báo", "TTr": "Tờ trình", "HD": "Hướng dẫn",
    "CTr": "Chương trình", "ĐA": "Đề án", "CĐ": "Công điện", "GM": "Giấy mời", "BB": "Biên bản",
    "QC": "Quy chế", "QyĐ": "Quy định", "PA": "Phương án", "KL": "Kết luận", "HĐ": "Hợp đồng",
    "TTLT": "Thông tư liên tịch", "CV": "Công văn", "L": "Luật", "PL": "Pháp lệnh", "DA": "Dự án",
}  # fmt: skip
CONG_VAN = "Công văn"


@lru_cache(maxsize=16384)  # the same heads, symbols and issuers recur on every row of a sheet
def _fold(text: str) -> str:
    """Lower case without diacritics (đ as d): "Quyết định" and "quyet dinh" compare equal."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn").casefold()


_FOLDED_ABBR = {_fold(k): k for k in TYPES}
# full names, longest first so "Thông tư liên tịch" wins over "Thông tư"
_NAMES = sorted({v for v in TYPES.values()}, key=len, reverse=True)
_NAME_OF_FOLDED = {_fold(n): n for n in _NAMES}
_NAME_RE = re.compile(r"(?i)^\s*(" + "|".join(re.escape(_fold(n)) for n in _NAMES) + r")\b")
_ABBR_LEAD_RE = re.compile(r"^\s*(" + "|".join(sorted((re.escape(k) for k in _FOLDED_ABBR), key=len, reverse=True))
                           + r")\.?\s+(?=(?:so\b|s\s*:|\d))")

# the number and symbol: 1234/QĐ-UBND, 567/UBND-KT, 12/2025/NĐ-CP, 57-NQ/TW, 45a/KH-UBND
_NUMSYM_RE = re.compile(
    r"(?P<num>\d{1,6}[a-zA-Z]?)"
    r"(?:(?P<party>-)(?P<psym>[^\s/,;()]+/[^\s,;()]+)"  # Party: 57-NQ/TW, 12-CT/TU
    r"|/(?P<year>(?:19|20)\d\d/)?(?P<sym>[^\s,;()]+))"
)
_DATE_RES = (
    re.compile(r"ng[aà]y\s*(\d{1,2})\s*th[aá]ng\s*(\d{1,2})\s*n[aă]m\s*(\d{4})", re.I),
    re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)"),
)
_SLASH_RE = re.compile(r"\s*/\s*(?=[A-Za-zĐđ])")
_DASH_RE = re.compile(r"(?<=[A-Za-zĐđ])\s*-\s*(?=[A-Za-zĐđ])")
_HEAD_SPLIT_RE = re.compile(r"[;,\n]|\bvà\b")
_LETTERS_RE = re.compile(r"[A-Za-zĐđ]{2,}")
_SYMBOL_SPLIT_RE = re.compile(r"[-/]")
_ISSUER_RE = re.compile(r"\b(?:cua|do)\s+(.+?)\s*(?:ban hanh|ky)?\s*(?:[,;.()]|\bve\b|\bv/v\b|$)", re.I)


@dataclass(frozen=True)
class Document:
    """One official document. ``symbol``: what follows the number ("QĐ-UBND"; a Party
    document's "NQ/TW"); ``issuer``: the issuing body as written ("UBND tỉnh"), else the
    one read from the symbol ("UBND"); ``date`` None when the text gives none."""

    type: str
    number: str
    symbol: str
    date: date | None
    issuer: str
    text: str

    @property
    def key(self) -> str:
        """What identifies the document: number and symbol, case and diacritics ignored
        (and the year, when known: numbers restart every year)."""
        year = str(self.date.year) if self.date else ""
        return f"{_fold(self.number)}/{_fold(self.symbol)}@{year}"

    @property
    def reference(self) -> str:
        """The canonical citation: "Quyết định số 1234/QĐ-UBND ngày 15/07/2025 của UBND tỉnh"."""
        sep = "-" if "/" in self.symbol and "-" not in self.symbol.split("/")[0] and self._party else "/"
        out = f"{self.type} số {self.number}{sep}{self.symbol}"
        if self.date:
            out += f" ngày {self.date:%d/%m/%Y}"
        if self.issuer:
            out += f" của {self.issuer}"
        return out

    @property
    def _party(self) -> bool:
        head, _, tail = self.symbol.partition("/")
        return bool(tail) and _fold(head) in _FOLDED_ABBR

    def as_dict(self) -> dict[str, str | None]:
        return {"type": self.type, "number": self.number, "symbol": self.symbol,
                "date": self.date.isoformat() if self.date else None, "issuer": self.issuer,
                "reference": self.reference}


def _date(text: str) -> date | None:
    for rx in _DATE_RES:
        m = rx.search(text)
        if m:
            d, mth, y = (int(g) for g in m.groups())
            try:
                return date(y, mth, d)
            except ValueError:
                return None
    return None


def _type_of(head: str, symbol: str, party: bool) -> str:
    """The type named before the number, else the one in the symbol, else Công văn."""
    folded = _fold(head)
    m = _NAME_RE.search(folded)
    if m:
        return _NAME_OF_FOLDED[m.group(1)]
    m = _ABBR_LEAD_RE.search(folded + " 0")
    if m:
        return TYPES[_FOLDED_ABBR[m.group(1)]]
    first = _SYMBOL_SPLIT_RE.split(symbol)[0]
    if _fold(first) in _FOLDED_ABBR and (party or "-" in symbol or "/" not in symbol):
        return TYPES[_FOLDED_ABBR[_fold(first)]]
    return CONG_VAN


def _issuer_from_symbol(symbol: str, type_name: str, party: bool) -> str:
    if party:  # 57-NQ/TW: the issuer follows the slash
        return symbol.split("/", 1)[1]
    parts = symbol.split("-")
    if type_name == CONG_VAN and _fold(parts[0]) not in _FOLDED_ABBR:
        return parts[0]  # 567/UBND-KT: the issuer first, then its department
    return parts[1] if len(parts) > 1 else ""


def parse_document(text: str | None) -> Document | None:
    """The document a text cites (the first one), or None when it cites none: a number and
    a symbol are needed ("567/UBND-KT"); the type, date and issuer are read when given.

    >>> parse_document("Quyết định số 1234/QĐ-UBND ngày 15/7/2025 của UBND tỉnh").symbol
    'QĐ-UBND'
    """
    docs = find_documents(text)
    return docs[0] if docs else None


def find_documents(text: str | None) -> list[Document]:
    """Every document a text cites, in order (one per number/symbol)."""
    raw = unicodedata.normalize("NFC", str(text or "")).replace("\u00a0", " ")
    raw = _SLASH_RE.sub("/", raw)  # "1234 / QĐ-UBND"
    raw = _DASH_RE.sub("-", raw)  # "QĐ - UBND"
    out: list[Document] = []
    matches = [m for m in _NUMSYM_RE.finditer(raw) if _symbol_ok(m)]
    for i, m in enumerate(matches):
        start = matches[i - 1].end() if i else 0
        end = matches[i + 1].start() if i + 1 < len(matches) else len(raw)
        head = raw[start:m.start()]
        # the type is the last document word before the number ("…, Quyết định số 12/QĐ-UBND")
        head = _HEAD_SPLIT_RE.split(head)[-1]
        tail = raw[m.end():end]
        party = bool(m.group("party"))
        symbol = (m.group("psym") if party else (m.group("year") or "") + m.group("sym")).strip(".")
        type_name = _type_of(head, symbol, party)
        issuer = ""
        im = _ISSUER_RE.search(_fold(tail))
        if im:
            # the same span of the original text (folding keeps the length: one char for one)
            s, e = im.span(1)
            issuer = tail[s:e].strip(" .")
        if not issuer:
            issuer = _issuer_from_symbol(symbol.split("/", 1)[1] if m.group("year") else symbol, type_name, party)
        out.append(Document(type=type_name, number=m.group("num"), symbol=symbol, date=_date(tail), issuer=issuer,
                            text=raw[start:end].strip(" ;,")))
    return out


def _symbol_ok(m: re.Match[str]) -> bool:
    """A symbol has letters (so "15/7/2025", a date, is not a document number)."""
    sym = m.group("psym") if m.group("party") else m.group("sym")
    return bool(sym) and bool(_LETTERS_RE.search(sym))


# --- checks ------------------------------------------------------------------------------------------


def check_document(doc: Document, *, today: date, plan_issued_on: date | None = None) -> list[str]:
    """What is wrong with a document given as evidence: catalog keys of ``engine/catalog/progress``
    (``prog.doc_future``: dated after today; ``prog.doc_before_plan``: dated before the plan
    it is evidence for was issued)."""
    problems: list[str] = []
    if doc.date is not None and doc.date > today:
        problems.append("prog.doc_future")
    if doc.date is not None and plan_issued_on is not None and doc.date < plan_issued_on:
        problems.append("prog.doc_before_plan")
    return problems


def reused_documents(uses: Iterable[tuple[str, int]], related: Mapping[int, int | None] | None = None) -> dict[str, set[int]]:
    """Documents given as evidence for unrelated tasks: ``uses`` = (document key, task id)
    pairs; ``related`` maps a task to its parent task (a document for a task and its
    sub-task is not a reuse). Returns key -> the task ids, for the keys used by more than one
    unrelated task."""
    related = related or {}
    by_key: dict[str, set[int]] = {}
    for key, task_id in uses:
        by_key.setdefault(key, set()).add(task_id)
    out: dict[str, set[int]] = {}
    for key, tasks in by_key.items():
        roots = {related.get(t) or t for t in tasks}
        if len(roots) > 1:
            out[key] = tasks
    return out

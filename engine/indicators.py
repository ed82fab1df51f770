"""Indicators (KPIs, "chỉ tiêu"): targets, definitions, measurements, status.

Targets — :func:`parse_target` (pure) reads a target cell as written in an annex:

==========================================  ===============================================
text                                        meaning
==========================================  ===============================================
"≥ 55", ">= 30", "Tối thiểu 30%",           comparator ">=", low = the number
"Ít nhất 5", "30% trở lên"
"≤ 10", "<= 3", "Không quá 5", "Tối đa 2"   comparator "<=", high = the number
"> 0,7", "Trên 60" / "< 5", "Dưới 5"        comparator ">" / "<" (strict)
"= 100"                                     comparator "=", low = high = the number
"40 - 50", "40-50", "40 – 50", "20% - 50%", comparator "range", low/high
"Từ 40 đến 50"
"100%", "100", "90", "09", "Đạt 80%"        a bare number means "reach at least this":
                                            ">=", except when the unit of measure is a
                                            rank ("Thứ bậc", "Xếp hạng", "Hạng"), where a
                                            lower number is better: "<="
"≤ 3 Đông Nam Á; ≤ 50 Thế giới"             several parts (split at ";" or a line break):
                                            the target takes the first part's comparator
                                            and bounds; ``parts`` keeps every part with its
                                            label ("Đông Nam Á", "Thế giới")
"≥ 3% và tăng dần theo yêu cầu phát triển"  ">=" 3; the trailing words are the ``label``
"Đạt mức tiên tiến ở nhiều lĩnh vực"         comparator "text" (qualitative, no numbers)
==========================================  ===============================================

The original text is always kept in ``Target.text``. Numbers accept a decimal comma
("2,5" -> 2.5, "0,7" -> 0.7) and Vietnamese thousands dots ("1.000" -> 1000; a dot
followed by exactly three digits in groups, first group not "0"); "72.63" stays 72.63.
Leading zeros are dropped ("09" -> 9). ``on_track`` of a multi-part target uses the
first part (the one a single measured value is compared against).

Definitions — :func:`load_indicators` reads a YAML file (``plans/sample-indicators.yaml``)
or an indicator annex table (.md, .xlsx, .docx, .csv) with the columns
TT | Chỉ tiêu | Đơn vị | Kết quả (the target) | Cơ quan chủ trì theo dõi, đánh giá, and
optional "Mã" (code) and "Thời hạn" (target date) columns. In tables:

* A Roman-numeral row ("**I** | **Đến năm 2030**") opens a group; its title gives the
  ``group`` and, when it reads as a deadline ("Đến năm 2030" -> 31/12/2030), the
  ``target_date`` of the indicators under it.
* A row whose target cell is empty and which is followed by sub-rows ("11" then "11.1",
  "11.2", ...) is a heading, not an indicator. A row with an empty target and no
  sub-rows is loaded as an indicator with an empty text target, with a warning. A parent
  row *with* a target (annex row 23, "Tiên tiến, hiện đại, …") is an indicator too.
* Codes are ``(prefix or "CT") + "-" + TT`` ("CT-11.1") unless a "Mã" column gives them;
  a TT used twice in one file is an error naming the rows.
* The reporting unit is resolved against the directory (code, name, alias); a name not
  in the directory is registered as a new unit, with a warning; a cell naming several
  units keeps the first and warns.

Loading is all-or-nothing, idempotent (the same file twice changes nothing and writes
no event) and audited (one ``indicators_loaded`` event).

Measurements — :func:`record_measurement` stores one value per indicator and period
("2025-10", "2025-Q3", "2025-H1", "2025"); recording the same period again updates it
(``measurement_recorded`` event with ``before``/``after``).

Status — :func:`indicator_status` returns one dict per indicator (keys documented there).

Messages for people are Vietnamese.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.db import transaction
from engine.deadlines import MAX_YEAR, MIN_YEAR, DeadlineError, parse_deadline
from engine.directory_store import current_directory, ensure_units
from engine.errors import UserError
from engine.i18n import DEFAULT_LANG, tr
from engine.models import Indicator, Measurement, Plan, Unit
from engine.periods import month_end, read_period
from engine.planfile.read_table import (
    RawRow,
    clean_text,
    header_key,
    one_line,
    section_code,
    split_section_text,
    task_code,
)
from engine.planfile.tables import first_table
from engine.states import Role
from engine.yamltext import load_yaml

__all__ = [
    "IndicatorFileError",
    "IndicatorSpec",
    "LoadReport",
    "Period",
    "Target",
    "higher_is_better",
    "indicator_status",
    "load_indicators",
    "on_track",
    "parse_indicator_file",
    "parse_number",
    "parse_period",
    "parse_target",
    "read_table_rows",
    "record_measurement",
]


class IndicatorFileError(UserError):
    """An indicator file that cannot be loaded; the message names file, row and column."""


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

_NUM = r"\d+(?:[.,]\d+)*"
_VN_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
_EN_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3}){2,}")


def _number(raw: str) -> float:
    s = raw.strip()
    if "." in s and "," in s:
        if s.rfind(",") > s.rfind("."):  # 1.234,5
            s = s.replace(".", "").replace(",", ".")
        else:  # 1,234.5
            s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", "") if _EN_THOUSANDS.fullmatch(s) else s.replace(",", ".")
    elif _VN_THOUSANDS.fullmatch(s):
        s = s.replace(".", "")
    value = float(s)
    if not math.isfinite(value):  # "999…9" (400 digits): no real figure; PostgreSQL JSON has no Infinity
        raise ValueError(raw)
    return value


def parse_number(text: str | float | int | None) -> float | None:
    """A measured value as people write it: "72,63", "72.63", "1.000", "80%", " 5 "; else None."""
    if text is None:
        return None
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = unicodedata.normalize("NFC", str(text)).replace("\u00a0", " ").strip()
    m = re.fullmatch(rf"([+-]?)\s*({_NUM})\s*%?", s)
    if not m:
        return None
    try:
        v = _number(m.group(2))
    except ValueError:
        return None
    return -v if m.group(1) == "-" else v


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The meaning of one target cell (see the module docstring)."""

    comparator: str  # ">=" | "<=" | ">" | "<" | "=" | "range" | "text"
    low: float | None
    high: float | None
    text: str  # the original text
    parts: list[Target] = field(default_factory=list)  # every part when there are several
    label: str = ""  # words after the number: "Đông Nam Á", "và tăng dần …"
    percent: bool = False  # the number was written with "%"

    @property
    def numeric(self) -> bool:
        return self.comparator != "text"


_OPS = {
    "≥": ">=", "⩾": ">=", "≧": ">=", ">=": ">=", "=>": ">=",
    "≤": "<=", "⩽": "<=", "≦": "<=", "<=": "<=", "=<": "<=",
    ">": ">", "<": "<", "=": "=",
}  # fmt: skip
_OP_RX = "|".join(re.escape(k) for k in sorted(_OPS, key=len, reverse=True))
# Vietnamese words before the number; None = a bare number ("reach this value").
_WORD_OPS: dict[str, str | None] = {
    "không thấp hơn": ">=", "không dưới": ">=", "không ít hơn": ">=", "tối thiểu": ">=",
    "ít nhất": ">=", "tối thiểu là": ">=", "ít nhất là": ">=",
    "không vượt quá": "<=", "không quá": "<=", "không cao hơn": "<=", "tối đa": "<=",
    "tối đa là": "<=", "top": "<=",
    "trên": ">", "lớn hơn": ">", "dưới": "<", "nhỏ hơn": "<",
    "đạt": None, "đạt mức": None, "đạt tỷ lệ": None, "đạt tỉ lệ": None, "khoảng": None,
    "từ": None, "bằng": "=", "phấn đấu": None, "phấn đấu đạt": None, "đạt trên": ">",
    "đạt dưới": "<", "đạt tối thiểu": ">=", "đạt ít nhất": ">=", "đạt tối đa": "<=",
}  # fmt: skip
_WORD_RX = "|".join(re.escape(k) for k in sorted(_WORD_OPS, key=len, reverse=True))
_PART = re.compile(
    rf"^(?:(?P<word>{_WORD_RX})\s+)?(?P<op>{_OP_RX})?\s*(?P<a>{_NUM})\s*(?P<pa>%)?"
    rf"(?:\s*(?:-|–|—|‒|~|÷|đến|tới)\s*(?P<b>{_NUM})\s*(?P<pb>%)?)?"
    r"(?P<rest>(?:[\s,:;(–—-].*|[^\d.,].*)?)$",
    re.IGNORECASE | re.DOTALL,
)
_MORE = re.compile(r"^(?:trở\s+lên|hoặc\s+hơn|trở\s+lên\s+nữa)\b", re.IGNORECASE)
_LESS = re.compile(r"^(?:trở\s+xuống|trở\s+lại|hoặc\s+ít\s+hơn)\b", re.IGNORECASE)
_RANK_UNITS = ("thu bac", "thu hang", "xep hang", "hang", "vi tri", "vi thu", "rank", "ranking")
_SPLIT_PARTS = re.compile(r"\s*(?:;|\n|<br\s*/?>|,(?=\s*(?:[≥≤<>=]|>=|<=)))\s*", re.IGNORECASE)


def _ascii_key(text: str) -> str:
    t = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    t = "".join(c for c in t if unicodedata.category(c) != "Mn").lower()
    return re.sub(r"[^a-z0-9%/]+", " ", t).strip()


def is_rank_unit(unit_of_measure: str | None) -> bool:
    """"Thứ bậc", "Xếp hạng", "Hạng": a lower number is better."""
    key = _ascii_key(unit_of_measure or "")
    return any(key == u or key.startswith(u + " ") for u in _RANK_UNITS)


def _clean_target(text: str) -> str:
    s = unicodedata.normalize("NFC", text)
    s = s.replace("**", "").replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"[ \t]+", " ", s).strip()


def _parse_part(text: str, rank: bool) -> Target:
    s = _clean_target(text)
    m = _PART.match(s)
    if not m or not s:
        return Target("text", None, None, text.strip())
    try:
        a = _number(m["a"])
        b = _number(m["b"]) if m["b"] else None
    except ValueError:
        return Target("text", None, None, text.strip())
    percent = bool(m["pa"] or m["pb"])
    rest = (m["rest"] or "").strip()
    word = (m["word"] or "").lower()
    op = _OPS[m["op"]] if m["op"] else None
    if op is None and word:
        op = _WORD_OPS.get(word)
    if b is not None:
        lo, hi = (a, b) if a <= b else (b, a)
        comparator, low, high = "range", lo, hi
    else:
        if _MORE.match(rest):
            op, rest = ">=", _MORE.sub("", rest, count=1).strip()
        elif _LESS.match(rest):
            op, rest = "<=", _LESS.sub("", rest, count=1).strip()
        if op is None:
            op = "<=" if rank else ">="
        comparator = op
        low = a if op in (">=", ">", "=") else None
        high = a if op in ("<=", "<", "=") else None
    label = rest.strip(" ,:;()–—-").strip()
    return Target(comparator, low, high, text.strip(), label=label, percent=percent)


def parse_target(text: str | float | int | None, *, unit_of_measure: str | None = None) -> Target:
    """Parse a target cell (pure). ``unit_of_measure`` decides a bare number's direction."""
    if text is None:
        return Target("text", None, None, "")
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = format(text, "g")
    original = str(text).strip()
    rank = is_rank_unit(unit_of_measure)
    pieces = [p for p in _SPLIT_PARTS.split(original) if p.strip()]
    if not pieces:
        return Target("text", None, None, original)
    parts = [_parse_part(p, rank) for p in pieces]
    first = parts[0]
    if len(parts) == 1:
        return Target(first.comparator, first.low, first.high, original, label=first.label, percent=first.percent)
    return Target(first.comparator, first.low, first.high, original, parts=parts, label=first.label,
                  percent=first.percent)


def higher_is_better(target: Target) -> bool | None:
    """True for "≥"/">" targets, False for "≤"/"<", None for "=", ranges and text."""
    if target.comparator in (">=", ">"):
        return True
    if target.comparator in ("<=", "<"):
        return False
    return None


_EPS = 1e-9


def on_track(target: Target, value: float | None) -> bool | None:
    """Whether ``value`` meets the target (the first part of a multi-part target).

    None for text targets and for a missing value.
    """
    if value is None or target.comparator == "text":
        return None
    c, lo, hi = target.comparator, target.low, target.high
    if c == ">=" and lo is not None:
        return value >= lo - _EPS
    if c == ">" and lo is not None:
        return value > lo + _EPS
    if c == "<=" and hi is not None:
        return value <= hi + _EPS
    if c == "<" and hi is not None:
        return value < hi - _EPS
    if c == "=" and lo is not None:
        return abs(value - lo) <= _EPS
    if c == "range" and lo is not None and hi is not None:
        return lo - _EPS <= value <= hi + _EPS
    return None


def target_from_row(comparator: str, low: float | None, high: float | None, text: str,
                    unit_of_measure: str | None) -> Target:
    """The Target of a stored indicator (parts re-derived from the kept text)."""
    parsed = parse_target(text, unit_of_measure=unit_of_measure)
    return Target(comparator, low, high, text, parts=parsed.parts, label=parsed.label, percent=parsed.percent)


# ---------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: key "2025-10" | "2025-Q3" | "2025-H1" | "2025"."""

    end: date
    span: int  # months covered: 1, 3, 6, 12 (a longer period sorts after a shorter one)
    key: str
    start: date


def parse_period(text: str, *, lang: str = "vi") -> Period:
    """Validate a period; "2025-10", "2025-Q3", "2025-H1", "2025" (also "10/2025", "Q3/2025")
    (the grammar of ``engine.periods``)."""
    s = (text or "").strip()
    found = read_period(s)
    if found is None:
        raise UserError(tr(lang, "kpi.period_invalid", period=s, examples=tr(lang, "kpi.period_examples")))
    kind, y, n = found
    if not 2000 <= y <= 2100:
        raise UserError(tr(lang, "kpi.period_year_range", period=s, year=y))
    if kind == "month":
        if not 1 <= n <= 12:
            raise UserError(tr(lang, "kpi.period_no_month", period=s, month=n))
        return Period(month_end(y, n), 1, f"{y:04d}-{n:02d}", date(y, n, 1))
    if kind == "quarter":
        return Period(month_end(y, 3 * n), 3, f"{y:04d}-Q{n}", date(y, 3 * n - 2, 1))
    if kind == "half":
        return Period(month_end(y, 6 * n), 6, f"{y:04d}-H{n}", date(y, 6 * n - 5, 1))
    return Period(date(y, 12, 31), 12, f"{y:04d}", date(y, 1, 1))


# ---------------------------------------------------------------------------
# Indicator files
# ---------------------------------------------------------------------------


@dataclass
class IndicatorSpec:
    code: str
    name: str
    target: Target
    unit_of_measure: str | None = None
    group: str | None = None
    target_date: date | None = None
    reporting_unit: str | None = None  # as written: code, name or several names
    where: str = ""  # "tệp X, dòng 12" for messages


@dataclass
class IndicatorFile:
    source: str
    indicators: list[IndicatorSpec]
    plan: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        seen: list[str] = []
        for i in self.indicators:
            if i.group and i.group not in seen:
                seen.append(i.group)
        return seen


TABLE_FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".docx": "docx", ".md": "md", ".markdown": "md", ".csv": "csv"}
YAML_SUFFIXES = (".yaml", ".yml")


def parse_indicator_file(path: str | Path, *, prefix: str | None = None, lang: str = "vi") -> IndicatorFile:
    """Read and fully check an indicator file (YAML or annex table); nothing is written."""
    source = str(path)
    suffix = PurePath(source).suffix.lower()
    if suffix not in YAML_SUFFIXES and suffix not in TABLE_FORMATS:
        accepted = ", ".join(sorted((*YAML_SUFFIXES, *TABLE_FORMATS)))
        raise IndicatorFileError(tr(lang, "kpi.file_bad_suffix", source=source,
                                    suffix=suffix or tr(lang, "kpi.no_suffix"), accepted=accepted))
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise IndicatorFileError(tr(lang, "kpi.file_not_found", source=source)) from None
    except OSError as exc:
        raise IndicatorFileError(tr(lang, "kpi.file_cannot_open", source=source, reason=exc.strerror or exc)) from None
    if not data.strip():
        raise IndicatorFileError(tr(lang, "kpi.file_empty", source=source))
    if suffix in YAML_SUFFIXES:
        parsed = _parse_yaml(data, source, lang)
    else:
        parsed = _parse_table(read_table_rows(data, source, lang), source, prefix=prefix or "CT", lang=lang)
    _check_lengths(parsed, lang)
    return parsed


# Column sizes (engine.models.Indicator / Unit): longer texts are refused here, with the
# row, rather than by PostgreSQL in the middle of the load.
# (attribute, its maximum length); the attribute is named by the catalog entry kpi.file.label.<attribute>
_LIMITS = (("code", 64), ("unit_of_measure", 100), ("group", 300), ("reporting_unit", 500))


def _check_lengths(parsed: IndicatorFile, lang: str = DEFAULT_LANG) -> None:
    for spec in parsed.indicators:
        for attr, limit in _LIMITS:
            value = getattr(spec, attr) or ""
            if len(value) > limit:
                raise IndicatorFileError(tr(lang, "kpi.file.too_long", where=spec.where,
                                            label=tr(lang, f"kpi.file.label.{attr}"), value=value[:40],
                                            n=len(value), limit=limit))


# --- YAML --------------------------------------------------------------------------------

YAML_TOP_KEYS = {"plan", "indicators"}
YAML_ITEM_KEYS = {"code", "name", "group", "unit", "unit_of_measure", "target", "target_date",
                  "reporting_unit", "note"}


def _yaml_text(value: Any, where: str = "", key: str = "", lang: str = DEFAULT_LANG) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):  # never str() these: an alias bomb would take forever
        kind = tr(lang, "kpi.file.kind_list" if isinstance(value, list) else "kpi.file.kind_mapping")
        raise IndicatorFileError(tr(lang, "kpi.file.not_text", where=where, field=key, kind=kind))
    if isinstance(value, float):
        return format(value, "g")
    return str(value).strip()


def _year_out_of_range(where: str, text: str, lang: str) -> IndicatorFileError:
    return IndicatorFileError(tr(lang, "kpi.file.year_range", where=where, text=text, min_year=MIN_YEAR,
                                 max_year=MAX_YEAR))


def _in_range(d: date, where: str, text: str, lang: str = DEFAULT_LANG) -> date:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise _year_out_of_range(where, text, lang)
    return d


def _target_date(value: Any, where: str, lang: str = DEFAULT_LANG) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _in_range(value.date(), where, str(value), lang)
    if isinstance(value, date):
        return _in_range(value, where, str(value), lang)
    text = _yaml_text(value, where, "target_date", lang) or ""
    if re.fullmatch(r"[0-9]{4}", text):
        year = int(text)
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise _year_out_of_range(where, text, lang)
        return date(year, 12, 31)

    try:
        spec = parse_deadline(text)
    except DeadlineError as exc:  # the parser's reason stays Vietnamese (engine.deadlines)
        raise IndicatorFileError(tr(lang, "kpi.file.bad_deadline", where=where, text=text, reason=exc.reason)) from None
    if spec.kind != "date" or spec.due is None:
        raise IndicatorFileError(tr(lang, "kpi.file.deadline_not_date", where=where, text=text))
    return spec.due


def _parse_yaml(data: bytes, source: str, lang: str = DEFAULT_LANG) -> IndicatorFile:
    doc = load_yaml(data, source, IndicatorFileError, lang=lang)
    if not isinstance(doc, dict) or "indicators" not in doc:
        raise IndicatorFileError(tr(lang, "kpi.file.yaml_shape", source=source))
    bad = set(map(str, doc)) - YAML_TOP_KEYS
    if bad:
        raise IndicatorFileError(tr(lang, "kpi.file.yaml_top_keys", source=source, bad=", ".join(sorted(bad))))
    items = doc.get("indicators")
    if not isinstance(items, list) or not items:
        raise IndicatorFileError(tr(lang, "kpi.file.yaml_no_list", source=source))
    out = IndicatorFile(source=source, indicators=[],
                        plan=_yaml_text(doc.get("plan"), tr(lang, "kpi.file.where_file", source=source), "plan", lang))
    seen: dict[str, int] = {}
    for n, item in enumerate(items, start=1):
        where = tr(lang, "kpi.file.where_item", source=source, n=n)
        if not isinstance(item, dict):
            raise IndicatorFileError(tr(lang, "kpi.file.item_not_mapping", where=where))
        code = _yaml_text(item.get("code"), where, "code", lang) or ""
        if code:
            where = where + tr(lang, "kpi.file.where_code", code=code)
        bad = sorted(set(map(str, item)) - YAML_ITEM_KEYS)
        if bad:
            hints = [difflib.get_close_matches(b, sorted(YAML_ITEM_KEYS), n=1) for b in bad]
            hint = "; ".join(tr(lang, "kpi.file.did_you_mean", bad=b, close=h[0]) for b, h in zip(bad, hints) if h)
            raise IndicatorFileError(tr(lang, "kpi.file.bad_item_keys", where=where, bad=", ".join(bad),
                                        hint=" (" + hint + ")" if hint else "",
                                        allowed=", ".join(sorted(YAML_ITEM_KEYS))))
        if not code:
            raise IndicatorFileError(tr(lang, "kpi.file.no_code", where=where))
        if code in seen:
            raise IndicatorFileError(tr(lang, "kpi.file.dup_code_yaml", where=where, code=code, first=seen[code]))
        seen[code] = n
        if len(code) > 64:
            raise IndicatorFileError(tr(lang, "kpi.file.code_too_long", where=where))
        name = _yaml_text(item.get("name"), where, "name", lang) or ""
        if not name:
            raise IndicatorFileError(tr(lang, "kpi.file.no_name", where=where))
        uom = _yaml_text(item.get("unit_of_measure", item.get("unit")), where, "unit", lang)
        target_text = _yaml_text(item.get("target"), where, "target", lang) or ""
        if not target_text:
            out.warnings.append(tr(lang, "kpi.file.no_target_yaml", where=where))
        out.indicators.append(IndicatorSpec(
            code=code, name=" ".join(name.split()), target=parse_target(target_text, unit_of_measure=uom),
            unit_of_measure=uom or None, group=_yaml_text(item.get("group"), where, "group", lang) or None,
            target_date=_target_date(item.get("target_date"), where, lang),
            reporting_unit=_yaml_text(item.get("reporting_unit"), where, "reporting_unit", lang) or None, where=where,
        ))
    return out


# --- tables ------------------------------------------------------------------------------


TableRow = RawRow  # one row of a source table (engine.planfile.read_table.RawRow)


def read_table_rows(data: bytes, source: str, lang: str = DEFAULT_LANG) -> list[TableRow]:
    """Raw rows of the indicator table in an .xlsx/.docx/.md/.csv file (the plan files' table
    layer, ``engine.planfile.tables.first_table``, with the indicator header as the test).

    Excel: the first sheet with an indicator header; a merged range keeps its value in
    the top-left cell, except a single-column vertical merge (a reporting unit merged over
    several rows), whose value applies to every row. Word: the first table with an
    indicator header and the tables that continue it (same number of columns).
    """
    fmt = TABLE_FORMATS[PurePath(source).suffix.lower()]
    if fmt in ("md", "csv") and (data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]
                                 and not data.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise IndicatorFileError(tr(lang, "kpi.file.not_text_file", source=source, fmt=fmt))
    return first_table(data, source, fmt, accept=lambda rows: _find_header(rows) is not None,
                       error=IndicatorFileError, lang=lang)


# logical column -> header texts (compared with engine.planfile.read_table.header_key)
INDICATOR_HEADERS: dict[str, tuple[str, ...]] = {
    "tt": ("TT", "STT", "Số TT", "Số thứ tự", "No", "No.", "#"),
    "code": ("Mã", "Mã chỉ tiêu", "Mã số", "Code"),
    "name": ("Chỉ tiêu", "Tên chỉ tiêu", "Nội dung chỉ tiêu", "Chỉ số", "Tên chỉ số", "Nội dung", "Indicator",
             "Indicator name"),
    "unit": ("Đơn vị", "Đơn vị tính", "ĐVT", "Đơn vị đo", "Unit", "Unit of measure"),
    "target": ("Kết quả", "Mục tiêu", "Giá trị mục tiêu", "Chỉ tiêu cần đạt", "Kết quả cần đạt", "Mục tiêu cần đạt",
               "Chỉ tiêu phấn đấu", "Giá trị", "Target"),
    "reporting": ("Cơ quan chủ trì theo dõi, đánh giá", "Cơ quan chủ trì theo dõi", "Cơ quan theo dõi, đánh giá",
                  "Cơ quan theo dõi", "Cơ quan chủ trì", "Đơn vị chủ trì", "Cơ quan đánh giá",
                  "Cơ quan chịu trách nhiệm", "Reporting unit"),
    "deadline": ("Thời hạn", "Thời gian", "Thời gian hoàn thành", "Năm đạt", "Target date"),
}


@lru_cache(maxsize=1)
def _header_keys() -> tuple[dict[str, str], list[tuple[str, str]]]:

    exact: dict[str, str] = {}
    for logical, names in INDICATOR_HEADERS.items():
        for name in names:
            exact.setdefault(header_key(name), logical)
    prefixes = sorted(((k, v) for k, v in exact.items() if " " in k), key=lambda kv: -len(kv[0]))
    return exact, prefixes


def _match_header(text: str) -> str | None:

    exact, prefixes = _header_keys()
    key = header_key(text)
    if not key:
        return None
    if key in exact:
        return exact[key]
    for prefix, logical in prefixes:
        if key.startswith(prefix + " "):
            return logical
    return None


@dataclass
class _Header:
    index: int
    columns: dict[str, int]
    texts: dict[str, str]


def _find_header(rows: list[TableRow]) -> _Header | None:
    seen = 0
    for i, row in enumerate(rows):
        cells = row.non_empty()
        if not cells:
            continue
        seen += 1
        if seen > 30:
            break
        columns: dict[str, int] = {}
        texts: dict[str, str] = {}
        for col, text in cells:
            logical = _match_header(text)
            if logical and logical not in columns:
                columns[logical] = col
                texts[logical] = " ".join(text.replace("**", "").split())
        if "name" in columns and "target" in columns:
            return _Header(i, columns, texts)
    return None


def _one_line(text: str) -> str:

    return one_line(text)


def _is_numbering_row(row: TableRow) -> bool:
    cells = row.non_empty()
    return len(cells) >= 2 and all(re.fullmatch(r"\(?\s*(\d{1,2}|[A-Za-z])\s*\)?\.?", _one_line(t)) for _, t in cells)


def _group_date(title: str) -> date | None:

    try:
        spec = parse_deadline(title)
    except DeadlineError:
        m = re.search(r"(?:đến|tới|trước|năm)\s+(?:năm\s+)?(\d{4})\b", title, re.IGNORECASE)
        return date(int(m.group(1)), 12, 31) if m else None
    return spec.due if spec.kind == "date" else None


def _parse_table(rows: list[TableRow], source: str, *, prefix: str, lang: str = DEFAULT_LANG) -> IndicatorFile:

    header = _find_header(rows)
    if header is None:
        seen = [" ".join(t.replace("**", "").split())[:50] for r in rows[:30] for _, t in r.non_empty()][:12]
        listed = ", ".join(f"«{s}»" for s in seen) or tr(lang, "kpi.file.empty_table")
        raise IndicatorFileError(tr(lang, "kpi.file.no_header", source=source, listed=listed))
    col = header.columns
    out = IndicatorFile(source=source, indicators=[])
    group: str | None = None
    group_date: date | None = None
    # first pass: classify rows
    body: list[tuple[TableRow, str]] = []  # (row, tt)
    entries: list[tuple[TableRow, str | None, str | None, date | None]] = []  # row, tt, group, group_date
    for row in rows[header.index + 1:]:
        cells = row.non_empty()
        if not cells or _is_numbering_row(row):
            continue
        tt_raw = _one_line(row.cell(col.get("tt")))
        name = _one_line(row.cell(col["name"]))
        target = _one_line(row.cell(col["target"]))
        if len(cells) == 1 and not target:  # a merged group row: "I. Đến năm 2030"
            only = _one_line(cells[0][1])
            split = split_section_text(only)
            if split is not None:
                group, group_date = split[1], _group_date(split[1])
                continue
        if tt_raw and section_code(tt_raw.rstrip(".")) is not None and not task_code(tt_raw):
            if name:
                group, group_date = name, _group_date(name)
            continue
        if not tt_raw:
            if name and not target:  # an unnumbered group title
                group, group_date = name, _group_date(name)
                continue
            where = tr(lang, "kpi.file.where_row", source=source, row=row.number)
            raise IndicatorFileError(tr(lang, "kpi.file.no_tt", where=where, column=header.texts.get("tt", "TT"),
                                        name=(name or target)[:60]))
        tt = task_code(tt_raw)
        if tt is None:
            raise IndicatorFileError(tr(lang, "kpi.file.bad_tt", where=tr(lang, "kpi.file.where_row", source=source,
                                                                          row=row.number),
                                        column=header.texts.get("tt", "TT"), tt=tt_raw))
        body.append((row, tt))
        entries.append((row, tt, group, group_date))
    # duplicate TT
    by_tt: dict[str, list[int]] = {}
    for row, tt in body:
        by_tt.setdefault(tt, []).append(row.number)
    dups = {tt: ns for tt, ns in by_tt.items() if len(ns) > 1}
    if dups:
        listed = "; ".join(tr(lang, "kpi.file.dup_tt_item", tt=tt, rows=", ".join(map(str, ns)))
                           for tt, ns in dups.items())
        raise IndicatorFileError(tr(lang, "kpi.file.dup_tt", source=source, listed=listed))
    tts = [tt for _, tt in body]
    codes_seen: dict[str, int] = {}
    for row, tt, grp, gdate in entries:
        where = tr(lang, "kpi.file.where_row", source=source, row=row.number)
        name = _one_line(row.cell(col["name"]))
        target_text = clean_text(row.cell(col["target"]))  # line breaks kept: one part per line
        has_children = any(other.startswith(tt + ".") for other in tts)
        if not target_text and has_children:
            continue  # a heading ("11" over "11.1", "11.2", …)
        if not name:
            raise IndicatorFileError(tr(lang, "kpi.file.no_name_row", where=where, column=header.texts["name"], tt=tt))
        code = _one_line(row.cell(col.get("code"))) if "code" in col else ""
        code = code or f"{prefix}-{tt}"
        if code in codes_seen:
            raise IndicatorFileError(tr(lang, "kpi.file.dup_code_row", where=where, code=code, first=codes_seen[code]))
        codes_seen[code] = row.number
        uom = _one_line(row.cell(col.get("unit"))) or None
        if not target_text:
            out.warnings.append(tr(lang, "kpi.file.no_target_row", where=where, code=code, column=header.texts["target"]))
        target_date = gdate
        if "deadline" in col and _one_line(row.cell(col["deadline"])):
            target_date = _target_date(_one_line(row.cell(col["deadline"])),
                                       where + tr(lang, "kpi.file.where_column", column=header.texts["deadline"]),
                                       lang)
        reporting = _one_line(row.cell(col.get("reporting"))) or None
        out.indicators.append(IndicatorSpec(
            code=code, name=name, target=parse_target(target_text, unit_of_measure=uom), unit_of_measure=uom,
            group=grp, target_date=target_date, reporting_unit=reporting, where=where,
        ))
    if not out.indicators:
        raise IndicatorFileError(tr(lang, "kpi.file.no_indicators", source=source))
    return out


# ---------------------------------------------------------------------------
# Loading into the database
# ---------------------------------------------------------------------------


@dataclass
class LoadReport:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    created_codes: list[str] = field(default_factory=list)
    updated_codes: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    plan: str | None = None

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, total=self.total)


@dataclass
class _NewUnit:
    name: str


def _mint_code(name: str, taken: set[str]) -> str:
    base = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    base = "".join(c for c in base if not unicodedata.combining(c))
    words = re.findall(r"[A-Za-z0-9]+", base)
    code = "NEW_" + ("".join(w[0].upper() if not w.isdigit() else w for w in words)[:24] or "UNIT")
    out, n = code, 2
    while out in taken:
        out, n = f"{code}_{n}", n + 1
    taken.add(out)
    return out


def _resolve_units(session: Session, texts: set[str], now: datetime,
                   lang: str = DEFAULT_LANG) -> tuple[dict[str, int], list[str], list[str]]:
    """Reporting-unit cell text -> unit id; (ids, warnings, new unit codes)."""

    directory = current_directory(session)
    taken = set(directory.units) | set(session.execute(select(Unit.code)).scalars())
    code_of: dict[str, str] = {}
    new_units: dict[str, _NewUnit] = {}
    new_by_name: dict[str, str] = {}
    warnings: list[str] = []
    for text in sorted(texts):
        entry = directory.get(text) or directory.resolve(text)
        if entry is not None:
            code_of[text] = entry.code
            continue
        matches = list(directory.split(text))
        known = [m for m in matches if m.code is not None]
        if known:
            code_of[text] = known[0].code
            if len(matches) > 1:
                others = ", ".join(f"«{m.text}»" for m in matches if m is not known[0])
                warnings.append(tr(lang, "kpi.file.several_units", text=text, first=known[0].text,
                                   code=known[0].code, others=others))
            continue
        name = " ".join((matches[0].text if matches else text).split())
        key = name.casefold()
        if key not in new_by_name:
            new_by_name[key] = _mint_code(name, taken)
            new_units[new_by_name[key]] = _NewUnit(name)
            warnings.append(tr(lang, "kpi.file.new_unit", name=name, code=new_by_name[key]))
        code_of[text] = new_by_name[key]
    ids = ensure_units(session, directory, set(code_of.values()), now, new_units) if code_of else {}
    return {t: ids[c] for t, c in code_of.items()}, warnings, sorted(new_units)


def _plan_id(session: Session, code: str, lang: str = "vi") -> int:

    pid = session.execute(select(Plan.id).where(Plan.code == code)).scalar_one_or_none()
    if pid is None:
        codes = list(session.execute(select(Plan.code)).scalars())
        close = difflib.get_close_matches(code, codes, n=3, cutoff=0.5)
        hint = (tr(lang, "query.did_you_mean", codes=", ".join(close)) if close else
                tr(lang, "query.plans_loaded", codes=", ".join(sorted(codes)[:10])) if codes else
                tr(lang, "query.no_plans_loaded"))
        raise UserError(tr(lang, "query.no_plan", code=code, hint=hint))
    return pid


def load_indicators(engine: Engine, path: str | Path, *, now: datetime, plan_code: str | None = None,
                    prefix: str | None = None, actor: str = "secretariat", lang: str = "vi") -> LoadReport:
    """Load indicator definitions from a file: all-or-nothing, idempotent, audited.

    Indicators are matched by code: new codes are created, changed definitions updated
    (the previous values go into the event), identical ones left alone. ``plan_code``
    (or the YAML ``plan:`` key) links them to a loaded plan; without it an existing link
    is kept. Reporting units are resolved against the directory; unknown names are
    registered as new units (with a warning).
    """
    parsed = parse_indicator_file(path, prefix=prefix, lang=lang)
    with transaction(engine) as session:
        return store_indicators(session, parsed, now=now, plan_code=plan_code, actor=actor, lang=lang)


def store_indicators(session: Session, parsed: IndicatorFile, *, now: datetime, plan_code: str | None = None,
                     actor: str = "secretariat", lang: str = "vi") -> LoadReport:
    """Write a parsed indicator file in the caller's transaction."""

    plan_code = plan_code or parsed.plan
    plan_id = _plan_id(session, plan_code, lang) if plan_code else None
    report = LoadReport(source=Path(parsed.source).name, warnings=list(parsed.warnings), groups=parsed.groups,
                        plan=plan_code)
    texts = {i.reporting_unit for i in parsed.indicators if i.reporting_unit}
    unit_ids, warnings, new_units = _resolve_units(session, texts, now, lang)
    report.warnings += warnings
    report.new_units = new_units
    codes = [i.code for i in parsed.indicators]
    existing = {r.code: r for r in session.execute(select(Indicator).where(Indicator.code.in_(codes))).scalars()}
    changes: dict[str, dict[str, list[Any]]] = {}
    for spec in parsed.indicators:
        t = spec.target
        values: dict[str, Any] = dict(
            name=spec.name, group=spec.group, unit_of_measure=spec.unit_of_measure, comparator=t.comparator,
            target_low=t.low, target_high=t.high, target_text=t.text, target_date=spec.target_date,
            higher_is_better=higher_is_better(t),
            reporting_unit_id=unit_ids.get(spec.reporting_unit) if spec.reporting_unit else None,
        )
        row = existing.get(spec.code)
        if row is None:
            session.add(Indicator(code=spec.code, plan_id=plan_id, created_at=now, **values))
            report.created += 1
            report.created_codes.append(spec.code)
            continue
        if plan_id is not None:
            values["plan_id"] = plan_id
        diff = {k: [getattr(row, k), v] for k, v in values.items() if getattr(row, k) != v}
        if not diff:
            report.unchanged += 1
            continue
        for k, (_, v) in diff.items():
            setattr(row, k, v)
        changes[spec.code] = diff
        report.updated += 1
        report.updated_codes.append(spec.code)
    if report.created or report.updated:
        session.flush()
        append_event(session, now=now, actor=actor, actor_role=Role.SECRETARIAT, kind="indicators_loaded",
                     plan_id=plan_id,
                     data={"source": report.source, "created": report.created_codes, "updated": changes,
                           "unchanged": report.unchanged, "new_units": new_units,
                           "warnings": len(report.warnings)})
    return report


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------


def _indicator(session: Session, code: str, lang: str = "vi") -> Any:

    wanted = (code or "").strip()
    row = session.execute(select(Indicator).where(Indicator.code == wanted)).scalar_one_or_none()
    if row is not None:
        return row
    codes = list(session.execute(select(Indicator.code)).scalars())
    folded = [c for c in codes if c.casefold() == wanted.casefold()]
    if len(folded) == 1:
        return session.execute(select(Indicator).where(Indicator.code == folded[0])).scalar_one()
    if not codes:
        raise UserError(tr(lang, "kpi.no_indicators_loaded", code=wanted))
    close = difflib.get_close_matches(wanted.upper(), [c.upper() for c in codes], n=5, cutoff=0.6)
    by_upper = {c.upper(): c for c in codes}
    close_codes = [by_upper[c] for c in close]
    hint = (tr(lang, "query.did_you_mean", codes=", ".join(close_codes)) if close_codes else
            tr(lang, "kpi.codes_available", codes=", ".join(sorted(codes)[:8])))
    raise UserError(tr(lang, "kpi.no_indicator", code=wanted, hint=hint))


def record_measurement(session: Session, code: str, period: str, value: float | int | str | None = None, *,
                       value_text: str | None = None, actor: str, now: datetime,
                       source: str | None = None, lang: str = "vi") -> dict[str, Any]:
    """Record (or correct) the value of an indicator for a period; runs in the caller's transaction.

    ``value`` may be a number or a text such as "72,63" / "72.63" / "80%". A numeric
    target needs a numeric value; a text target accepts any text (kept in
    ``value_text``; a number is also stored as ``value``). Returns
    ``{code, period, value, value_text, source, created, changed, on_track}``.
    """

    ind = _indicator(session, code, lang)
    p = parse_period(period, lang=lang)
    numeric_target = ind.comparator != "text"
    number: float | None = None
    text: str | None = value_text.strip() if isinstance(value_text, str) and value_text.strip() else None
    if value is not None and not (isinstance(value, str) and not value.strip()):
        number = parse_number(value)
        if number is None:
            if numeric_target:
                raise UserError(tr(lang, "kpi.value_not_number", value=value, code=ind.code, target=ind.target_text))
            text = text or str(value).strip()
    if number is None and text is None:
        raise UserError(tr(lang, "kpi.value_needed_number" if numeric_target else "kpi.value_needed_text",
                           code=ind.code, period=p.key))
    if number is not None and number != number:  # NaN
        raise UserError(tr(lang, "kpi.value_invalid", value=value))
    src = source.strip() if source and source.strip() else None
    row = session.execute(
        select(Measurement).where(Measurement.indicator_id == ind.id, Measurement.period == p.key)
    ).scalar_one_or_none()
    after = {"value": number, "value_text": text, "source": src}
    created = row is None
    before = None if created else {"value": row.value, "value_text": row.value_text, "source": row.source}
    changed = created or before != after
    if created:
        session.add(Measurement(indicator_id=ind.id, period=p.key, value=number, value_text=text, source=src,
                                recorded_by=actor, recorded_at=now))
    elif changed:
        row.value, row.value_text, row.source = number, text, src
        row.recorded_by, row.recorded_at = actor, now
    if changed:
        session.flush()
        append_event(session, now=now, actor=actor, kind="measurement_recorded", plan_id=ind.plan_id,
                     note=f"{ind.code} {p.key}: {number if number is not None else text}",
                     data={"indicator": ind.code, "period": p.key, "before": before, "after": after})
    target = target_from_row(ind.comparator, ind.target_low, ind.target_high, ind.target_text, ind.unit_of_measure)
    return {"code": ind.code, "period": p.key, "value": number, "value_text": text, "source": src,
            "created": created, "changed": changed, "on_track": on_track(target, number)}


# ---------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------


def indicator_status(session: Session, code_or_all: str | None = None, *, as_of_period: str | None = None,
                     plan_code: str | None = None, lang: str = "vi") -> list[dict[str, Any]]:
    """Status of one indicator (a code) or of all (None or "all"), as of a period.

    Only measurements whose period ends on or before the end of ``as_of_period`` count
    (all of them when None). Periods are ordered by their end date; when several end on
    the same day ("2025-12", "2025-Q4", "2025") the longer period counts as the later one.

    Each dict has the keys:
      code, name, group, plan (plan code or None), unit_of_measure,
      target (the original text), comparator, target_low, target_high,
      target_date (ISO date or None), higher_is_better (bool or None),
      reporting_unit (code or None), reporting_unit_name,
      period, value, value_text, source, recorded_at (ISO) — the latest measurement
        (all None when there is none),
      previous_period, previous_value — the measurement before it (None when none),
      direction — "up" | "down" | "flat" | None (latest vs previous numeric value),
      improving — True/False when the direction is up/down and the target has a
        direction, None otherwise,
      on_track — True/False against the target (the first part of a multi-part one),
        None for text targets or without a numeric value.
    """

    q = (select(Indicator, Plan.code, Unit.code, Unit.name)
         .outerjoin(Plan, Plan.id == Indicator.plan_id)
         .outerjoin(Unit, Unit.id == Indicator.reporting_unit_id))
    if code_or_all and code_or_all.lower() != "all":
        q = q.where(Indicator.id == _indicator(session, code_or_all, lang).id)
    if plan_code:
        q = q.where(Indicator.plan_id == _plan_id(session, plan_code, lang))
    rows = session.execute(q).all()
    limit = parse_period(as_of_period, lang=lang) if as_of_period else None
    ids = [r[0].id for r in rows]
    by_ind: dict[int, list[tuple[Period, Any]]] = {i: [] for i in ids}
    if ids:
        for m in session.execute(select(Measurement).where(Measurement.indicator_id.in_(ids))).scalars():
            try:
                p = parse_period(m.period)
            except UserError:  # pragma: no cover - periods are validated on the way in
                continue
            if limit is None or p.end <= limit.end:
                by_ind[m.indicator_id].append((p, m))
    out: list[dict[str, Any]] = []
    for ind, plan, ucode, uname in sorted(rows, key=lambda r: _code_order(r[0].code)):
        target = target_from_row(ind.comparator, ind.target_low, ind.target_high, ind.target_text,
                                 ind.unit_of_measure)
        ms = sorted(by_ind[ind.id], key=lambda pm: (pm[0].end, pm[0].span))
        latest = ms[-1][1] if ms else None
        prev = ms[-2][1] if len(ms) > 1 else None
        direction = None
        if latest is not None and prev is not None and latest.value is not None and prev.value is not None:
            delta = latest.value - prev.value
            direction = "flat" if abs(delta) <= _EPS else ("up" if delta > 0 else "down")
        hib = ind.higher_is_better
        improving = None if direction in (None, "flat") or hib is None else ((direction == "up") == hib)
        out.append({
            "code": ind.code, "name": ind.name, "group": ind.group, "plan": plan,
            "unit_of_measure": ind.unit_of_measure, "target": ind.target_text, "comparator": ind.comparator,
            "target_low": ind.target_low, "target_high": ind.target_high,
            "target_date": ind.target_date.isoformat() if ind.target_date else None,
            "higher_is_better": hib, "reporting_unit": ucode, "reporting_unit_name": uname,
            "period": latest.period if latest else None,
            "value": latest.value if latest else None,
            "value_text": latest.value_text if latest else None,
            "source": latest.source if latest else None,
            "recorded_at": latest.recorded_at.isoformat() if latest else None,
            "previous_period": prev.period if prev else None,
            "previous_value": prev.value if prev else None,
            "direction": direction, "improving": improving,
            "on_track": on_track(target, latest.value) if latest else None,
        })
    return out


def _code_order(code: str) -> tuple[Any, ...]:
    """Natural order: CT-2 < CT-10 < CT-11.1 < CT-11.2."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", code) if p)

"""The unit directory: agencies, their names, and the splitter for free-text unit cells.

Action plans name agencies in free-text cells ("Bộ Tài chính, Bộ Công Thương",
"Bộ Khoa học và Công nghệ và các địa phương", "Văn phòng Chính phủ; Bộ Công an").
A ``Directory`` knows units (and group phrases such as "Các bộ, ngành, địa phương")
by code, name, aliases and former names, and ``Directory.split`` finds the units a
cell names. The built-in standard directory (``plans/standard-directory.yaml``) holds
the central ministries and agencies after the 2025 restructuring and the standard
provincial departments; a committee's own directory is laid over it (``overlay``).

Pure: no database, no I/O except reading a YAML file or string.

Normalisation (``normalize_name``)
    NFC, casefold, one tone placement for "oa/oe/uy" ("hoá" == "hóa", "thuỷ" ==
    "thủy", "uỳ" == "ùy"), "Ð" (eth) read as "Đ"; the text is cut into word tokens
    and punctuation tokens, so spacing does not matter ("KH & CN" == "KH&CN",
    "Bộ  Tài chính " == "Bộ Tài chính"); dashes are one token "-", "." is dropped
    ("TP. Hồ Chí Minh" == "TP Hồ Chí Minh"); footnote marks (superscript digits,
    "(*)", "[1]"), Markdown "*" and any parenthesised remark ("(chủ trì)") are
    dropped; leading/trailing punctuation is stripped; "có liên quan" reads as "liên
    quan" ("Các đơn vị có liên quan" == "Các đơn vị liên quan"). A leading "các" is kept (so
    "Các bộ, ngành" is its own group) and dropped only as a matching fallback.

Splitter algorithm (``Directory.split``)
    1. Tokenise the cell (word tokens and punctuation tokens, each with its span in
       the original text, so every result carries the text as written and its span).
       Parenthesised remarks become one "remark" token and are never matched.
    2. Every name, alias, former name and code of every unit is tokenised the same
       way and put in a token trie (built once per directory).
    3. Walk the cell. Skip separators: ",", ";", ":", "/", "-", "." , the word "và",
       newlines, list bullets ("-", "+", "•", "1.", "a)") and remarks. "&" is not a
       separator ("KH&CN" is inside names).
    4. At a piece start, walk the trie from here (and, when the piece starts with
       "các", also from the next token): the LONGEST known name found in the text is
       taken if it ends at a boundary (end of cell, or a separator / "và" / remark
       follows). "Bộ Văn hóa, Thể thao và Du lịch" is one unit because its full name
       is longer than anything ending at the inner "," or "và"; "Bộ Lao động -
       Thương binh và Xã hội" likewise (its successor, Bộ Nội vụ).
    5. Otherwise the piece is unknown (code None, via "unknown") and is kept, never
       dropped. If a known name was found but is followed by more words ("Các bộ,
       ngành, địa phương là chủ quản CSDLQG", "Địa phương được lựa chọn") the whole
       qualified phrase is one unknown piece, never a shorter known prefix. An
       unknown piece runs to ";", a newline, a bullet or a remark, or to the first
       soft separator ("," "và" "-" "/" ":") that is followed by a known name ending
       at a boundary: "Tập đoàn, doanh nghiệp công nghệ số" stays one piece,
       "Các cơ quan Đảng, Quốc hội, Tòa án nhân dân tối cao" gives the unknown
       "Các cơ quan Đảng, Quốc hội" and TANDTC.
    6. Results keep the cell's order; a unit named twice (e.g. two former names of one
       successor) is reported once, at its first place; an unknown phrase likewise.

Errors: ``DirectoryError`` (Vietnamese message naming the source, the item
"units[3]"/"groups[0]" with its YAML line when known, the field and the bad text).
"""

from __future__ import annotations

import functools
import re
import reprlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from engine.errors import InputFileError
from engine.i18n import DEFAULT_LANG, tr

__all__ = [
    "KINDS",
    "STANDARD_PATH",
    "Directory",
    "DirectoryError",
    "UnitEntry",
    "UnitMatch",
    "normalize_name",
]

STANDARD_PATH = Path(__file__).resolve().parent.parent / "plans" / "standard-directory.yaml"

KINDS: frozenset[str] = frozenset({
    "ministry", "agency", "department", "district", "commune", "province",
    "party", "mass_org", "group", "other", "unit",
})

Via = Literal["name", "alias", "former_name", "code", "unknown"]
_VIA_RANK = {"name": 0, "alias": 1, "former_name": 2, "code": 3}
_FIELD_OF_VIA = {"name": "name", "alias": "aliases", "former_name": "former_names", "code": "code"}

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
_TOP_KEYS = frozenset({"committee", "people", "settings", "units", "groups"})
_UNIT_KEYS = frozenset({"code", "name", "kind", "aliases", "former_names", "parent", "notify", "signing_key"})
_GROUP_KEYS = frozenset({"code", "name", "kind", "aliases", "former_names", "parent", "members", "notify"})


@dataclass
class People:
    """What validation needs to know about people: ids, and who oversees which unit."""

    ids: set[str] = field(default_factory=set)
    vice_chair_of_unit: dict[str, str] = field(default_factory=dict)  # unit code -> person id
    # unit codes someone can act for: a person of the unit, or the unit's own notify target
    reachable: set[str] = field(default_factory=set)


class DirectoryError(InputFileError):
    """A directory that cannot be used; the message names source, item, field and text."""


@dataclass(frozen=True)
class UnitEntry:
    code: str
    name: str
    kind: str = "unit"  # one of KINDS
    aliases: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    parent: str | None = None
    members: tuple[str, ...] = ()  # groups only; empty = open-ended phrase
    notify: tuple[str, ...] = field(default=(), repr=False)  # apprise URLs: secret, never printed
    is_group: bool = False
    # the unit's Ed25519 public key ("ed25519:BASE64", as steer keys show prints it): the level
    # above trusts the report snapshots it signs (engine.rollup.directory_keys)
    signing_key: str | None = None


@dataclass(frozen=True)
class UnitMatch:
    text: str  # the piece of the cell as written (trimmed)
    code: str | None  # matched unit code; None = unknown name
    via: Via
    start: int  # span in the original cell text
    end: int


# --- tokens and normalisation -------------------------------------------------------------

# Word characters minus superscript/subscript digits (footnote marks), plus combining
# marks so decomposed (NFD) text stays in one word.
_WORD = r"(?:[^\W\u00b2\u00b3\u00b9\u2070-\u209f]|[\u0300-\u036f])+"
_PUNCT_MAP: dict[str, str] = {
    ",": ",", "\uff0c": ",", ";": ";", "\uff1b": ";", ":": ":", "&": "&", "/": "/",
    "(": "(", "[": "(", ")": ")", "]": ")", "+": "+",
    "•": "•", "·": "•", "▪": "•", "●": "•", "◦": "•", "\u2023": "•", "\u2043": "•",
    "-": "-", "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-",
    ".": ".", "\n": "\n", "\r": "\n", "\u2028": "\n",
}
_TOKEN_RE = re.compile(f"({_WORD})|([{re.escape(''.join(_PUNCT_MAP))}])")

_REMARK = "()"
_HARD = frozenset({";", "\n", "•", "+", _REMARK})
_SOFT = frozenset({",", ":", "-", "/", ".", "và", ")"})
_BOUNDARY = _HARD | _SOFT
_PUNCT_TOKENS = frozenset(_PUNCT_MAP.values()) | {_REMARK}
_SKIP_AT_START = _PUNCT_TOKENS | {"và"}
_NAME_DROP = frozenset({".", "\n", "•", "+", _REMARK, ")"})
_NAME_STRIP = frozenset({",", ";", ":", "-", "/", "&"})


def _tone_table() -> dict[str, str]:
    # Old style puts the tone on the first vowel of an open "oa", "oe", "uy" ("hóa",
    # "khỏe", "thủy"); new style on the second ("hoá", "khoẻ", "thuỷ"). Both are the
    # same syllable; closed syllables always carry it on the second ("hoàn", "huỳnh"),
    # so moving it to the second vowel is always right.
    table: dict[str, str] = {}
    o, u = "òóỏõọ", "ùúủũụ"
    a, e, y = "àáảãạ", "èéẻẽẹ", "ỳýỷỹỵ"
    for i in range(5):
        table[o[i] + "a"] = "o" + a[i]
        table[o[i] + "e"] = "o" + e[i]
        table[u[i] + "y"] = "u" + y[i]
    return table


_TONE_FIX = _tone_table()
_TONE_RE = re.compile("|".join(map(re.escape, _TONE_FIX)))


@functools.lru_cache(maxsize=1 << 16)
def _norm_word(word: str) -> str:
    w = unicodedata.normalize("NFC", unicodedata.normalize("NFC", word).casefold())
    w = w.replace("ð", "đ")
    return _TONE_RE.sub(lambda m: _TONE_FIX[m.group()], w)


Token = tuple[str, int, int]  # (normalised token, start, end) in the original text


def _tokenize(text: str) -> list[Token]:
    raw: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        word = m.group(1)
        if word is not None:
            raw.append((_norm_word(word), m.start(), m.end()))
        else:
            raw.append((_PUNCT_MAP[m.group(2)], m.start(), m.end()))
    if any(t[0] == "có" for t in raw):
        # "các đơn vị có liên quan" is "các đơn vị liên quan": "có" before "liên quan" says nothing
        raw = [t for k, t in enumerate(raw)
               if not (t[0] == "có" and k + 2 < len(raw) and raw[k + 1][0] == "liên" and raw[k + 2][0] == "quan")]
    if not any(t[0] == "(" for t in raw):
        return raw
    # fold each parenthesised remark into one token; an unclosed "(" runs to the line end
    out: list[Token] = []
    i, n = 0, len(raw)
    while i < n:
        tok = raw[i]
        if tok[0] != "(":
            out.append(tok)
            i += 1
            continue
        depth, close = 0, -1
        for j in range(i, n):
            t = raw[j][0]
            if t == "(":
                depth += 1
            elif t == ")":
                depth -= 1
                if depth == 0:
                    close = j
                    break
        if close < 0:
            close = next((k - 1 for k in range(i + 1, n) if raw[k][0] == "\n"), n - 1)
        out.append((_REMARK, tok[1], raw[close][2]))
        i = close + 1
    return out


def _name_tokens(text: str) -> tuple[str, ...]:
    toks = [t[0] for t in _tokenize(text) if t[0] not in _NAME_DROP]
    lo, hi = 0, len(toks)
    while lo < hi and toks[lo] in _NAME_STRIP:
        lo += 1
    while hi > lo and toks[hi - 1] in _NAME_STRIP:
        hi -= 1
    return tuple(toks[lo:hi])


def _render(tokens: Iterable[str]) -> str:
    out: list[str] = []
    glue = True  # no space before the next token
    for t in tokens:
        if t in {"&", "-", "/"}:
            out.append(t)
            glue = True
            continue
        if t in {",", ";", ":"}:
            out.append(t)
            glue = False
            continue
        if not glue:
            out.append(" ")
        out.append(t)
        glue = False
    return "".join(out)


def normalize_name(text: str) -> str:
    """The matching key of a name: "Bộ  KH & CN¹" -> "bộ kh&cn", "Hoá" -> "hoá"."""
    return _render(_name_tokens(text))


# --- the directory ------------------------------------------------------------------------

_Key = tuple[str, ...]
_Hit = tuple[str, str]  # (code, via)


class Directory:
    """Units by code and a longest-match splitter over all their names.

    Immutable: ``overlay`` returns a new directory. Build with ``from_mapping``,
    ``from_yaml``, ``load`` or ``standard``.
    """

    __slots__ = ("_units", "_keys", "_trie")

    def __init__(self, units: Mapping[str, UnitEntry], keys: Mapping[_Key, _Hit]):
        self._units: Mapping[str, UnitEntry] = MappingProxyType(dict(units))
        self._keys: Mapping[_Key, _Hit] = MappingProxyType(dict(keys))
        trie: dict[str, Any] = {}
        for key, hit in self._keys.items():
            node = trie
            for tok in key:
                node = node.setdefault(tok, {})
            node[""] = hit  # "" is never a token
        self._trie = trie

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "<directory>",
        base: Directory | None = None,
        _lines: Mapping[tuple[str, int], int] | None = None,
        lang: str = DEFAULT_LANG,
    ) -> Directory:
        """A directory from the YAML shape ``{units: [...], groups: [...]}``.

        Top-level ``committee``, ``people`` and ``settings`` are ignored (the
        directory loader reads them). Group members and parents must be codes of this
        mapping or of ``base`` (the directory this one will be laid over). Errors are
        worded in ``lang``.
        """
        return _Builder(source, base, _lines or {}, lang).build(data)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<string>", base: Directory | None = None,
                  lang: str = DEFAULT_LANG) -> Directory:
        """A directory from YAML text; errors name ``source`` and the line."""
        try:
            data = yaml.safe_load(text)
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = tr(lang, "inputs.yaml_at", line=mark.line + 1, column=mark.column + 1) if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise DirectoryError(tr(lang, "dir.yaml_syntax", source=source, where=where, problem=problem)) from None
        except RecursionError:
            raise DirectoryError(tr(lang, "dir.too_deep", source=source)) from None
        except (ValueError, TypeError, OverflowError) as exc:  # "2025-13-45" read as a timestamp
            raise DirectoryError(tr(lang, "dir.bad_value", source=source,
                                    reason=" ".join(str(exc).split())[:200])) from None
        if data is None:
            raise DirectoryError(tr(lang, "dir.empty", source=source))
        return cls.from_mapping(data, source=source, base=base, _lines=_item_lines(node), lang=lang)

    @classmethod
    def load(cls, path: str | Path, *, base: Directory | None = None, lang: str = DEFAULT_LANG) -> Directory:
        """A directory from a YAML file (UTF-8, BOM allowed)."""
        source = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise DirectoryError(tr(lang, "dir.unreadable", source=source, reason=exc.strerror or exc)) from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DirectoryError(tr(lang, "dir.not_utf8", source=source, pos=exc.start)) from None
        return cls.from_yaml(text, source=source, base=base, lang=lang)

    @classmethod
    def standard(cls) -> Directory:
        """The built-in standard directory (plans/standard-directory.yaml), read once."""
        return _standard_directory()

    def overlay(self, top: Directory) -> Directory:
        """``top`` laid over this directory: its codes, names and aliases win on conflict;
        everything else of this directory still resolves.

        Take-over: when ``top`` claims the *name* of one of this directory's units for a
        unit of its own (the committee's "Công an tỉnh" is its code CAT, the standard's
        is CONGAN_TINH), the remaining aliases and former names of that unit resolve to
        the committee's unit too ("CA tỉnh" -> CAT), so one agency never ends up under
        two codes. Claiming only an alias does not take a unit over.
        """
        units = dict(self._units)
        units.update(top._units)
        takeover: dict[str, str] = {}
        for code, entry in self._units.items():
            if code in top._units:
                continue
            claimed = top._keys.get(_name_tokens(entry.name))
            if claimed is not None and claimed[0] != code:
                takeover[code] = claimed[0]
        keys = {k: ((takeover.get(c, c), via)) for k, (c, via) in self._keys.items()}
        keys.update(top._keys)
        return Directory(units, keys)

    # --- lookups ------------------------------------------------------------------------

    @property
    def units(self) -> Mapping[str, UnitEntry]:
        """All units and groups, by code, in file order."""
        return self._units

    def __len__(self) -> int:
        return len(self._units)

    def __contains__(self, code: object) -> bool:
        return code in self._units

    def __repr__(self) -> str:
        return f"<Directory: {len(self._units)} units>"

    def get(self, code: str) -> UnitEntry | None:
        """The unit with this code (exact, or upper-cased)."""
        return self._units.get(code) or self._units.get(code.strip().upper())

    def resolve(self, name: str) -> UnitEntry | None:
        """The unit whose whole name, alias, former name or code is ``name`` (normalised);
        a leading "các" is tried without as a fallback."""
        key = _name_tokens(name)
        hit = self._keys.get(key)
        if hit is None and len(key) > 1 and key[0] == "các":
            hit = self._keys.get(key[1:])
        return self._units.get(hit[0]) if hit is not None else None

    # --- the splitter -------------------------------------------------------------------

    def split(self, cell: str) -> list[UnitMatch]:
        """The units a free-text cell names, in order (see the module docstring)."""
        if not cell or cell.isspace():
            return []
        toks = _tokenize(cell)
        n = len(toks)
        out: list[UnitMatch] = []
        seen: set[object] = set()
        i = 0
        while i < n:
            tok = toks[i][0]
            if tok in _SKIP_AT_START:
                i += 1
                continue
            if _is_number_bullet(toks, i):
                i += 2
                continue
            hit, end = self._match_at(toks, i)
            if hit is not None:
                code, via = hit
                if code not in seen:
                    seen.add(code)
                    s, e = toks[i][1], toks[end - 1][2]
                    out.append(UnitMatch(cell[s:e], code, via, s, e))  # type: ignore[arg-type]
                i = end
                continue
            last, nxt = self._unknown_extent(toks, i, end)
            key = tuple(t[0] for t in toks[i:last + 1])
            if key not in seen:
                seen.add(key)
                s, e = toks[i][1], toks[last][2]
                out.append(UnitMatch(cell[s:e], None, "unknown", s, e))
            i = nxt
        return out

    def _longest(self, toks: list[Token], i: int) -> tuple[int, _Hit] | None:
        node = self._trie
        best: tuple[int, _Hit] | None = None
        j, n = i, len(toks)
        while j < n:
            t = toks[j][0]
            if t == "." and j > i:  # dots are transparent inside names ("TP. Hồ Chí Minh")
                j += 1
                continue
            node = node.get(t)
            if node is None:
                break
            j += 1
            hit = node.get("")
            if hit is not None:
                best = (j, hit)
        return best

    def _match_at(self, toks: list[Token], i: int) -> tuple[_Hit | None, int]:
        """(hit, end) for a known name ending at a boundary; else (None, end of the
        longest known name found as text, or i when none)."""
        best = self._longest(toks, i)
        if toks[i][0] == "các" and i + 1 < len(toks):
            alt = self._longest(toks, i + 1)
            if alt is not None and (best is None or alt[0] > best[0]):
                best = alt
        if best is None:
            return None, i
        end, hit = best
        if end >= len(toks) or toks[end][0] in _BOUNDARY:
            return hit, end
        return None, end

    def _unknown_extent(self, toks: list[Token], i: int, min_end: int) -> tuple[int, int]:
        """(index of the last token of the unknown piece at i, index to resume at)."""
        n = len(toks)
        j = max(i + 1, min_end)
        last = j - 1
        while j < n:
            t = toks[j][0]
            if t in _HARD:
                break
            if t in _SOFT:
                m = j
                while m < n and toks[m][0] in _SOFT:
                    m += 1
                if m >= n or toks[m][0] in _HARD:
                    break
                if self._match_at(toks, m)[0] is not None:
                    break
                j = m
                continue
            last = j
            j += 1
        return last, j


def _is_number_bullet(toks: list[Token], i: int) -> bool:
    """"1." / "2)" / "a)" at the start of a line."""
    if i + 1 >= len(toks) or (i > 0 and toks[i - 1][0] not in {"\n", "•"}):
        return False
    t, nxt = toks[i][0], toks[i + 1][0]
    return (t.isdigit() and len(t) <= 3 and nxt in {".", ")"}) or (len(t) == 1 and t.isalpha() and nxt == ")")


# --- building from a mapping --------------------------------------------------------------


class _Builder:
    def __init__(self, source: str, base: Directory | None, lines: Mapping[tuple[str, int], int],
                 lang: str = DEFAULT_LANG):
        self.source = source
        self.lang = lang
        self.base = base
        self.lines = lines
        self.units: dict[str, UnitEntry] = {}
        self.where_of: dict[str, str] = {}  # code -> "units[3]"
        self.keys: dict[_Key, _Hit] = {}
        self.key_origin: dict[_Key, tuple[str, str, str]] = {}  # key -> (where, field, text)
        self.signing_keys: dict[str, tuple[str, str]] = {}  # public key -> (code, where)

    def err(self, where: str, message: str, **fmt: Any) -> DirectoryError:
        """The error at ``where`` (a place in the file), ``message`` a catalog key filled with ``fmt``."""
        return DirectoryError(f"{self.source}: {where}: {tr(self.lang, message, **fmt)}")

    def type_name(self, value: Any) -> str:
        return _type_name(value, self.lang)

    def build(self, data: Any) -> Directory:
        if not isinstance(data, Mapping):
            raise DirectoryError(tr(self.lang, "dir.not_mapping", source=self.source, kind=self.type_name(data)))
        bad = sorted(str(k) for k in data if k not in _TOP_KEYS)
        if bad:
            raise self.err(tr(self.lang, "dir.section.top"), "dir.bad_keys_only",
                           bad=", ".join(repr(b) for b in bad), allowed=", ".join(sorted(_TOP_KEYS)))
        items: list[tuple[str, int, Any]] = []
        for section in ("units", "groups"):
            raw = data.get(section)
            if raw is None:
                continue
            if not isinstance(raw, list):
                raise self.err(section, "dir.must_be_list", kind=self.type_name(raw))
            items.extend((section, idx, item) for idx, item in enumerate(raw))
        parsed = [self.parse_item(section, idx, item) for section, idx, item in items]
        known = set(self.units) | (set(self.base.units) if self.base is not None else set())
        for where, entry in parsed:
            if entry.parent is not None and entry.parent not in known:
                raise self.err(where, "dir.unknown_parent", code=entry.parent)
            for member in entry.members:
                if member not in known:
                    raise self.err(where, "dir.unknown_member", code=member)
                if member == entry.code:
                    raise self.err(where, "dir.self_member", code=member)
        return Directory(self.units, self.keys)

    def parse_item(self, section: str, idx: int, item: Any) -> tuple[str, UnitEntry]:
        is_group = section == "groups"
        where = f"{section}[{idx}]"
        line = self.lines.get((section, idx))
        if line is not None:
            where += tr(self.lang, "dir.where_line", line=line)
        if not isinstance(item, Mapping):
            raise self.err(where, "dir.item_not_mapping", kind=self.type_name(item))
        allowed = _GROUP_KEYS if is_group else _UNIT_KEYS
        bad = sorted(str(k) for k in item if k not in allowed)
        code_raw = item.get("code")
        if "code" not in item or code_raw is None or (isinstance(code_raw, str) and not code_raw.strip()):
            raise self.err(where, "dir.missing_field", field="code")
        if not isinstance(code_raw, str):
            raise self.err(where, "dir.code_not_text", kind=self.type_name(code_raw), shown=_shown(code_raw))
        code = code_raw.strip()
        where = where + tr(self.lang, "dir.where_code", code=code[:64])
        if bad:
            raise self.err(where, "dir.bad_keys_allowed", bad=", ".join(repr(b) for b in bad),
                           allowed=", ".join(sorted(allowed)))
        if not _CODE_RE.match(code):
            raise self.err(where, "dir.bad_code", code=code)
        if code in self.units:
            raise self.err(where, "dir.dup_code", code=code, first=self.where_of[code])
        if len(code) > 64:
            raise self.err(where, "dir.too_long", field="code", n=len(code), limit=64)
        name = self.text_field(where, item, "name", required=True)
        assert name is not None
        if len(name) > 500:
            raise self.err(where, "dir.too_long", field="name", n=len(name), limit=500)
        if is_group:
            kind = item.get("kind", "group")
            if kind != "group":
                raise self.err(where, "dir.group_kind", shown=_shown(kind))
        else:
            kind = item.get("kind", "unit")
            if not isinstance(kind, str) or kind not in KINDS:
                raise self.err(where, "dir.bad_kind", shown=_shown(kind), allowed=", ".join(sorted(KINDS)))
        aliases = self.list_field(where, item, "aliases")
        former = self.list_field(where, item, "former_names")
        members = self.list_field(where, item, "members", codes=True) if is_group else ()
        notify = self.list_field(where, item, "notify", secret=True)
        parent = self.text_field(where, item, "parent", required=False)
        signing_key = self.signing_key_field(where, code, item) if not is_group else None
        entry = UnitEntry(code=code, name=name, kind=kind, aliases=aliases, former_names=former,
                          parent=parent, members=members, notify=notify, is_group=is_group, signing_key=signing_key)
        self.units[code] = entry
        self.where_of[code] = where
        self.add_key(where, code, "name", name)
        for a in aliases:
            self.add_key(where, code, "alias", a)
        for f in former:
            self.add_key(where, code, "former_name", f)
        self.add_key(where, code, "code", code)
        return where, entry

    def text_field(self, where: str, item: Mapping[str, Any], key: str, *, required: bool) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                raise self.err(where, "dir.missing_field", field=key)
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.err(where, "dir.field_not_text", field=key, kind=self.type_name(value), shown=_shown(value))
        return " ".join(value.split())

    def signing_key_field(self, where: str, code: str, item: Mapping[str, Any]) -> str | None:
        """The unit's ``signing_key``, in the form ``steer keys show`` prints; one unit per key."""
        value = item.get("signing_key")
        if value is None:
            return None
        from engine.pubkeys import decode_public, public_text

        raw = decode_public(value)
        if raw is None:
            raise self.err(where, "dir.bad_signing_key", shown=_shown(value))
        text = public_text(raw)
        other = self.signing_keys.get(text)
        if other is not None:
            raise self.err(where, "dir.dup_signing_key", other=other[0], other_where=other[1])
        self.signing_keys[text] = (code, where)
        return text

    def list_field(self, where: str, item: Mapping[str, Any], key: str, *, codes: bool = False,
                   secret: bool = False) -> tuple[str, ...]:
        value = item.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.err(where, "dir.field_not_list", field=key, kind=self.type_name(value))
        out: list[str] = []
        for pos, v in enumerate(value):
            if not isinstance(v, str) or not v.strip():
                shown = "" if secret else f" {_shown(v)}"
                raise self.err(where, "dir.item_not_text", field=key, pos=pos + 1, kind=self.type_name(v), shown=shown)
            out.append(v.strip() if codes or secret else " ".join(v.split()))
        return tuple(out)

    def add_key(self, where: str, code: str, via: str, text: str) -> None:
        key = _name_tokens(text)
        fld = _FIELD_OF_VIA[via]
        if not key:
            raise self.err(where, "dir.name_empty", field=fld, text=text)
        have = self.keys.get(key)
        if have is None:
            self.keys[key] = (code, via)
            self.key_origin[key] = (where, fld, text)
            return
        if have[0] != code:
            o_where, o_field, o_text = self.key_origin[key]
            raise self.err(where, "dir.name_clash", field=fld, text=text, other=o_text, other_field=o_field,
                           other_where=o_where)
        if _VIA_RANK[via] < _VIA_RANK[have[1]]:
            self.keys[key] = (code, via)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 60, 60


def _shown(value: Any) -> str:
    """A short repr for messages: a YAML alias bomb (a list of a billion items) must not be
    printed in full."""
    return _REPR.repr(value)


def _type_name(value: Any, lang: str = DEFAULT_LANG) -> str:
    """What kind of YAML value ``value`` is, for messages ("số", "number")."""
    if isinstance(value, bool):
        return tr(lang, "dir.type.bool")
    if isinstance(value, (int, float)):
        return tr(lang, "dir.type.number")
    if isinstance(value, str):
        return tr(lang, "dir.type.str")
    if isinstance(value, list):
        return tr(lang, "dir.type.list")
    if isinstance(value, Mapping):
        return tr(lang, "dir.type.mapping")
    if value is None:
        return tr(lang, "dir.type.none")
    return type(value).__name__


def _item_lines(node: yaml.Node | None) -> dict[tuple[str, int], int]:
    """1-based YAML line of each item of the top-level ``units`` and ``groups`` lists."""
    out: dict[tuple[str, int], int] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value in ("units", "groups") \
                and isinstance(value_node, yaml.SequenceNode):
            for idx, item in enumerate(value_node.value):
                out[(key_node.value, idx)] = item.start_mark.line + 1
    return out


@functools.cache
def _standard_directory() -> Directory:
    return Directory.load(STANDARD_PATH)

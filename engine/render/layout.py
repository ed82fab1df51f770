"""Text measurement and layout for the DOCX report: how wide a text is in Times New Roman, balanced
line breaks for the header block, and column widths that add up to the text width.

The widths are the advance widths (units per 1000 em) of Liberation Serif, which is metric-compatible
with Times New Roman (same advance widths by design), for ASCII, the Vietnamese letters and some
punctuation, regular and bold. They are a table in this module rather than read from an installed
font, so a report renders to the same bytes on every machine (a stored snapshot re-renders exactly).
Regenerate with Pillow: ``ImageFont.truetype("LiberationSerif-Regular.ttf", 1000).getlength(ch)``
for each character (likewise ``-Bold``). Kerning is ignored; callers keep a safety margin.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

REGULAR_CHARS = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~§«°·»ÀÁÂÃÈÉÊÌÍÒÓÔÕ×ÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯưẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ–—‘’“”…№≤≥'
REGULAR_WIDTHS = (250,333,408,500,500,833,778,180,333,333,500,564,250,333,250,278,500,500,500,500,500,500,500,500,500,500,278,278,564,564,564,444,921,722,667,667,722,611,556,722,722,333,389,722,611,889,722,722,556,722,667,556,611,722,722,944,722,722,611,333,278,333,469,500,333,444,500,444,500,444,333,500,500,278,278,500,278,778,500,500,500,500,333,389,278,500,500,722,500,500,444,480,200,480,541,500,500,400,333,500,722,722,722,722,611,611,611,333,333,722,722,722,722,564,722,722,722,444,444,444,444,444,444,444,278,278,500,500,500,500,500,500,500,722,444,722,500,333,278,722,500,722,529,776,542,722,444,722,444,722,444,722,444,722,444,722,444,722,444,722,444,722,444,722,444,722,444,722,444,611,444,611,444,611,444,611,444,611,444,611,444,611,444,611,444,333,278,333,278,722,500,722,500,722,500,722,500,722,500,722,500,722,500,722,529,722,529,722,529,722,529,722,529,722,500,722,500,776,542,776,542,776,542,776,542,776,542,722,500,722,500,722,500,722,500,500,1000,333,333,444,444,1000,954,549,549)
BOLD_CHARS = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~§«°·»ÀÁÂÃÈÉÊÌÍÒÓÔÕ×ÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯưẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ–—‘’“”…№≤≥'
BOLD_WIDTHS = (250,333,555,500,500,1000,833,278,333,333,500,570,250,333,250,278,500,500,500,500,500,500,500,500,500,500,333,333,570,570,570,500,930,722,667,722,722,667,611,778,778,389,500,778,667,944,722,778,611,778,722,556,667,722,722,1000,722,722,667,333,278,333,581,500,333,500,556,444,556,444,333,500,556,278,333,556,278,833,556,500,556,556,444,389,333,556,500,722,500,500,444,394,220,394,520,500,500,400,334,500,722,722,722,722,667,667,667,389,389,778,778,778,778,570,722,722,722,500,500,500,500,444,444,444,278,278,500,500,500,500,556,556,500,722,500,722,556,389,278,722,556,778,554,796,600,722,500,722,500,722,500,722,500,722,500,722,500,722,500,722,500,722,500,722,500,722,500,722,500,667,444,667,444,667,444,667,444,667,444,667,444,667,444,667,444,389,278,389,278,778,500,778,500,778,500,778,500,778,500,778,500,778,500,778,554,778,554,778,554,778,554,778,554,722,556,722,556,796,600,796,600,796,600,796,600,796,600,722,500,722,500,722,500,722,500,500,1000,333,333,500,500,1000,1005,549,549)

_WIDTHS = {
    False: dict(zip(REGULAR_CHARS, REGULAR_WIDTHS, strict=True)),
    True: dict(zip(BOLD_CHARS, BOLD_WIDTHS, strict=True)),
}
TWIPS_PER_PT = 20
TWIPS_PER_CM = 566.929


def _char_width(ch: str, bold: bool) -> int:
    table = _WIDTHS[bold]
    w = table.get(ch)
    if w is None:  # a letter with a mark the table lacks: its base letter; else an average glyph
        base = unicodedata.normalize("NFD", ch)[:1]
        w = table.get(base, 556)
    return w


def text_width(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width of ``text`` on one line, in twips (1/20 pt), at ``size_pt`` points."""
    text = unicodedata.normalize("NFC", text)
    return sum(_char_width(ch, bold) for ch in text) * size_pt * TWIPS_PER_PT / 1000


def longest_word(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width in twips of the widest word of ``text`` (words split at spaces and line breaks)."""
    return max((text_width(w, size_pt, bold=bold) for w in text.split()), default=0.0)


def wrap_lines(text: str, width: float, size_pt: float, *, bold: bool = False) -> int:
    """How many lines ``text`` takes in ``width`` twips with greedy word wrapping (a word wider than
    the line counts as one line: it would be broken)."""
    total = 0
    for para in text.split("\n"):
        lines, used = 1, 0.0
        space = text_width(" ", size_pt, bold=bold)
        for word in para.split():
            w = text_width(word, size_pt, bold=bold)
            if used and used + space + w > width:
                lines, used = lines + 1, w
            else:
                used = used + space + w if used else w
        total += lines
    return total


# Words a line of a Vietnamese heading may well start with (a break before them keeps a phrase
# whole); a break after a comma is as good.
_GOOD_STARTS = frozenset({"VÀ", "VỀ", "CỦA", "TỈNH", "THÀNH", "XÃ", "PHƯỜNG", "TẠI", "TRONG", "CHO", "NĂM", "GIAI",
                          "BAN", "ỦY", "UỶ", "SỞ", "CỤC", "HĐND", "UBND"})
# Two-syllable words of committee names a line must not split ("ĐỔI / MỚI"), nor a place name
# after "TỈNH" / "THÀNH PHỐ" / "XÃ" / "PHƯỜNG".
_COMPOUNDS = frozenset(tuple(w.split()) for w in (
    "CHỈ ĐẠO", "PHÁT TRIỂN", "KHOA HỌC", "CÔNG NGHỆ", "ĐỔI MỚI", "SÁNG TẠO", "CHUYỂN ĐỔI", "ĐỔI SỐ", "NHÂN DÂN",
    "CÔNG THƯƠNG", "XÂY DỰNG", "KINH TẾ", "XÃ HỘI", "HÀNH CHÍNH", "CẢI CÁCH", "THỰC HIỆN", "NGHỊ QUYẾT",
    "CHƯƠNG TRÌNH", "MỤC TIÊU", "QUỐC GIA", "NÔNG THÔN", "GIẢM NGHÈO", "TRUNG ƯƠNG", "TỔ CHỨC", "BỘ MÁY",
    "SẮP XẾP", "CHÍNH QUYỀN", "ĐỊA PHƯƠNG", "HAI CẤP", "THÔNG TIN", "TRUYỀN THÔNG", "GIÁO DỤC", "ĐÀO TẠO", "Y TẾ",
    "VĂN HÓA", "DU LỊCH", "THỂ THAO", "NỘI VỤ", "TƯ PHÁP", "TÀI CHÍNH", "MÔI TRƯỜNG", "NÔNG NGHIỆP", "AN TOÀN",
    "AN NINH", "QUỐC PHÒNG", "DỮ LIỆU", "THÀNH PHỐ"))
_PLACE_WORDS = frozenset({"TỈNH", "PHỐ", "XÃ", "PHƯỜNG"})


def balanced_lines(text: str, width: float, size_pt: float, *, bold: bool = False) -> list[str]:
    """``text`` broken into the fewest lines that fit ``width`` twips, the breaks chosen so the lines
    are even (least squared slack), preferably after a comma or before a word that starts a phrase
    (``_GOOD_STARTS``), and with no line holding one word alone (like "SƠN" under a long line)."""
    words = text.split()
    if not words:
        return []
    sizes = [text_width(w, size_pt, bold=bold) for w in words]
    space = text_width(" ", size_pt, bold=bold)
    n = len(words)
    penalty = (0.4 * width) ** 2  # a break inside a phrase costs like a line 40 % empty

    def span(i: int, j: int) -> float:  # width of words[i:j] on one line
        return sum(sizes[i:j]) + space * (j - i - 1)

    upper = [w.upper().strip("(),;:") for w in words]
    place = next((i for i, w in enumerate(upper) if w in _PLACE_WORDS), n)

    def break_cost(j: int) -> float:  # a line ending before words[j]
        if (upper[j - 1], upper[j]) in _COMPOUNDS or j > place:
            return 4 * penalty
        if words[j - 1].endswith((",", ";", ":")) or upper[j] in _GOOD_STARTS:
            return 0.0
        return penalty

    for count in range(1, n + 1):
        # best[k][j]: (cost, breaks) of words[:j] in k lines, each fitting, no single-word line
        best: dict[tuple[int, int], tuple[float, list[int]]] = {(0, 0): (0.0, [])}
        for k in range(1, count + 1):
            for j in range(1, n + 1):
                options = []
                for i in range(j):
                    prev = best.get((k - 1, i))
                    if prev is None or span(i, j) > width or (j - i == 1 and n > 1 and count > 1):
                        continue
                    slack = width - span(i, j)
                    cost = prev[0] + (slack ** 2 if k < count or count == 1 else (slack / 2) ** 2)
                    cost += break_cost(i) if i else 0.0
                    options.append((cost, [*prev[1], i] if i else []))
                if options:
                    best[(k, j)] = min(options, key=lambda o: o[0])
        found = best.get((count, n))
        if found is not None:
            bounds = [0, *found[1], n]
            return [" ".join(words[a:b]) for a, b in pairwise(bounds)]
        if all(span(i, i + 1) > width for i in range(n)):
            break
    return words  # a word wider than the line: one word per line


@dataclass(frozen=True)
class Column:
    """What a table column must hold: its widest word (the floor: narrower, a word breaks) and its
    widest body cell on one line (more width than that is not needed), in twips, padding included."""

    floor: float
    natural: float


CELL_MARGIN = 68  # left and right cell margin of the report's tables (0.12 cm)
PADDING = 2 * CELL_MARGIN + 40  # both cell margins and a safety margin


def measure_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], size_pt: float) -> list[Column]:
    cols = []
    for j, head in enumerate(headers):
        # A header may wrap at its spaces ("Chưa / đến / hạn"): it asks for its widest word only,
        # so the room goes to the columns whose cells hold text.
        floor = natural = longest_word(head, size_pt, bold=True)
        for row in rows:
            text = row[j]
            floor = max(floor, longest_word(text, size_pt))
            natural = max(natural, max((text_width(line, size_pt) for line in text.split("\n")), default=0.0))
        cols.append(Column(floor * 1.04 + PADDING, natural * 1.04 + PADDING))
    return cols


def fits(cols: Sequence[Column], total: int) -> bool:
    return sum(c.floor for c in cols) <= total


def allot_widths(cols: Sequence[Column], total: int) -> list[int]:
    """Integer column widths (twips) adding up to exactly ``total``: every column at least its floor
    when they fit; the rest shared like a browser's automatic table layout (in proportion to how
    much more each column would use, up to its natural width; beyond that, by natural width)."""
    floors = [c.floor for c in cols]
    naturals = [max(c.natural, c.floor) for c in cols]
    if sum(naturals) <= total:
        extra = total - sum(naturals)
        weight = sum(naturals) or 1.0
        raw = [n + extra * n / weight for n in naturals]
    elif sum(floors) <= total:
        extra = total - sum(floors)
        want = [n - f for n, f in zip(naturals, floors, strict=True)]
        weight = sum(want) or 1.0
        raw = [f + extra * w / weight for f, w in zip(floors, want, strict=True)]
    else:  # does not fit: in proportion to the floors (callers pick a wider page first)
        weight = sum(floors) or 1.0
        raw = [total * f / weight for f in floors]
    out = [int(r) for r in raw]
    out[max(range(len(out)), key=lambda i: raw[i])] += total - sum(out)
    return out


def table_lines(cols_text: Sequence[Sequence[str]], widths: Sequence[int], size_pt: float) -> int:
    """Estimated number of text lines of a table: per row, its tallest cell."""
    total = 0
    for row in cols_text:
        total += max(wrap_lines(t, w - PADDING, size_pt) for t, w in zip(row, widths, strict=True))
    return total

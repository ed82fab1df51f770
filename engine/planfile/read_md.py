"""Markdown plan files: a GitHub pipe table, with title lines above it."""

from __future__ import annotations

import html
import re

from engine.i18n import DEFAULT_LANG
from engine.planfile.read_table import RawRow, rows_to_plan
from engine.planfile.spec import PlanSpec

_SEPARATOR_RE = re.compile(r"\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)


def _is_separator(line: str) -> bool:
    return "-" in line and _SEPARATOR_RE.fullmatch(line) is not None


def split_pipe_row(line: str) -> list[str]:
    """'| a | b \\| c |' -> ['a', 'b | c'] (cells unescaped, <br> -> newline)."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = []
    for cell in _CELL_SPLIT_RE.split(s):
        cell = cell.replace("\\|", "|")
        cell = _BR_RE.sub("\n", cell)
        cells.append(html.unescape(cell).strip())
    return cells


def _text_line(line: str) -> str:
    s = line.strip()
    s = re.sub(r"^#{1,6}\s+", "", s)  # headings
    s = re.sub(r"^>\s?", "", s)  # quotes
    return s


def read_md_text(text: str, source: str, *, lang: str = DEFAULT_LANG) -> PlanSpec:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    rows: list[RawRow] = []
    text_lines: list[str] = []
    in_table = False
    for number, line in enumerate(lines, start=1):
        s = line.strip()
        starts_table = (
            not in_table
            and "|" in s
            and number < len(lines)
            and _is_separator(lines[number].strip())
        )
        if s.startswith("|") or starts_table or (in_table and "|" in s):
            in_table = True
            if _is_separator(s):
                continue
            rows.append(RawRow(number, tuple(split_pipe_row(s))))
            continue
        in_table = False
        if not rows and s:
            text_lines.append(_text_line(s))
    return rows_to_plan(rows, source=source, fmt="md", text_lines=text_lines, lang=lang)

"""User text made harmless for outputs that would otherwise interpret it.

Titles, notes and unit names are typed by people (plan files, progress notes, the web
form) and end up in spreadsheets, CSV files, Markdown reports and terminals. Each of
those outputs reads some text as instructions:

* a spreadsheet cell that starts with ``=`` is a live formula (``=HYPERLINK(...)``
  leaks data, ``=cmd|' /C calc'!A0`` runs a program through DDE), and a CSV field that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as one too
  when the file is opened in Excel or LibreOffice (OWASP "CSV injection");
* Markdown passes raw HTML through (``<script>``);
* a terminal obeys escape sequences (clearing the screen, rewriting lines, setting the
  window title).

Every writer calls the function here for its output kind, so the rule lives in one place.
"""

from __future__ import annotations

import re
from typing import Any

# OWASP: a cell that begins with one of these is read as a formula by spreadsheet programs.
FORMULA_LEADS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*%?")


def formula_like(value: Any) -> bool:
    """True for text a spreadsheet would evaluate (a plain number such as "-5" is not)."""
    if not isinstance(value, str) or not value:
        return False
    lead = value.lstrip(" ")
    return lead[:1] in FORMULA_LEADS and not _PLAIN_NUMBER.fullmatch(value)


def csv_cell(value: Any) -> Any:
    """A CSV field that no spreadsheet program evaluates: formula-like text gets a leading ``'``.

    Non-text values (numbers, dates, None) are returned unchanged."""
    if formula_like(value):
        return "'" + value
    return value


def xlsx_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """``ws.cell(row, column, value)`` that stores text as text, never as a formula.

    openpyxl turns a string starting with ``=`` into a formula cell; setting the data
    type to string keeps the exact text (it reads back unchanged) and Excel shows it
    instead of evaluating it."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_CHARS = re.compile(r"[&<>]")


def md_text(text: str) -> str:
    """Text for a Markdown document: ``&``, ``<`` and ``>`` as entities, so no raw HTML
    (``<script>``, ``<img onerror=...>``) reaches a Markdown renderer."""
    return _HTML_CHARS.sub(lambda m: _HTML_ESCAPES[m.group(0)], text)


# C0 and C1 control characters except tab and newline, and DEL: ESC starts terminal
# sequences (CSI, OSC), CSI (U+009B) is one on its own, CR and BS rewrite what is shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode bidirectional overrides and isolates reorder what a terminal shows ("Trojan source").
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: Any) -> Any:
    """Text safe to print on a terminal: control characters (ESC, CR, BS, ...) and
    bidirectional overrides removed; tabs and line breaks kept. Non-text is returned as is."""
    if not isinstance(text, str):
        return text
    return _BIDI.sub("", _CONTROL.sub("", text))

"""User text inside notifications, shown as user text.

A digest is plain text: a note, a reason or a title with line breaks could otherwise end
its line and continue with lines that look like the system's own ("Xem chi tiết: http://…",
"2. [Đã hoàn thành] KH-57-LS/99 — …"). Text a person typed is therefore put on one line
(every run of whitespace, line and paragraph separators included, becomes one space; other
control characters go), its web addresses are defanged (``https[:]//…``: readable, not a
link the mail client makes clickable, unlike the system's own links), and ``quoted`` wraps
it in «…» (guillemets inside it become ‹…›, so it cannot close the quote itself).
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")  # str patterns: \s includes \u2028, \u2029, \x1c-\x1f, \x85
_SCHEME = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]{1,15}):(//|\\\\)")
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` on one line, without control characters or live web addresses, at most
    ``limit`` characters (an ellipsis marks a cut)."""
    s = "" if text is None else str(text)
    s = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in s)
    s = _SPACE.sub(" ", s).strip()
    s = _SCHEME.sub(lambda m: f"{m.group(1)}[:]{m.group(2)}", s)
    s = _WWW.sub(lambda m: m.group(0)[:3] + "[.]", s)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)].rstrip() + "…"
    return s


def quoted(text: object, limit: int | None = None) -> str:
    """``one_line(text)`` in «…», marked as what a person wrote."""
    return "«" + one_line(text, limit).replace("«", "‹").replace("»", "›") + "»"

"""The single lookup of the message catalog (``engine.catalog``): ``tr(lang, key, **fmt)``.

Every user-visible text of the engine, the CLI, the web app and the notifications is a
catalog entry with a Vietnamese (default) and an English text; code never branches on the
language itself. ``fmt`` fills ``str.format`` placeholders (``{ref}``, ``{percent:g}``).

    >>> tr("en", "common.version", version=3)
    'version 3'
"""

from __future__ import annotations

from typing import Any

from engine.catalog import CATALOG

LANGS: tuple[str, ...] = ("vi", "en")
DEFAULT_LANG = "vi"


def norm_lang(lang: str | None) -> str:
    """"en…" → "en", anything else → "vi" (the default)."""
    return "en" if (lang or "").strip().lower().startswith("en") else DEFAULT_LANG


def tr(lang: str | None, key: str, /, **fmt: Any) -> str:
    """The text of ``key`` in ``lang`` ("vi" unless "en"), with ``fmt`` filled in.

    An unknown key raises ``KeyError``: a missing message is a bug, and a test checks every
    literal key used in the code exists. ``lang`` and ``key`` are positional-only, so a
    message may have placeholders of those names too."""
    vi, en = CATALOG[key]
    text = en if norm_lang(lang) == "en" else vi
    return text.format(**fmt) if fmt else text


def has(key: str) -> bool:
    return key in CATALOG


def pick_lang(value: str | None) -> str | None:
    """A language asked for by a person ("en", "en-US", "vi") or None when not recognised."""
    if not value:
        return None
    v = value.strip().lower()
    if v.startswith("en"):
        return "en"
    if v.startswith("vi"):
        return "vi"
    return None

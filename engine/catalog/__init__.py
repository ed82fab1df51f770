"""The one message catalog: every user-visible text of Steer, Vietnamese first, English second.

Each area keeps its entries in a module of this package (``MESSAGES: dict[key, (vi, en)]``),
listed in ``AREAS``; they are merged here into one table, ``CATALOG``, read by the single
lookup ``engine.i18n.tr``. A key belongs to exactly one area (a test checks: no duplicates,
both languages present, the same ``{placeholders}`` in both). Keys are ``area.name``
(``lc.denied_viewer``), except the web templates' historical unprefixed keys.
"""

from __future__ import annotations

from importlib import import_module

# Add a module here when an area gets messages of its own.
AREAS: tuple[str, ...] = ("common", "web", "cli", "render", "reporting", "policy", "accounts", "backup", "flows",
                          "notify", "ical", "planfile", "actions", "lifecycle", "history", "inputs", "security",
                          "escalation", "queries", "adoption", "indicators", "recurrence", "directory", "db",
                          "pdf", "heat", "pages", "progress", "ocr", "rollup")


def _merge() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    owner: dict[str, str] = {}
    for area in AREAS:
        table: dict[str, tuple[str, str]] = import_module(f"engine.catalog.{area}").MESSAGES
        for key, pair in table.items():
            if key in merged:
                raise RuntimeError(f"message key {key!r} is defined in both {owner[key]!r} and {area!r}")
            merged[key] = pair
            owner[key] = area
    return merged, owner


CATALOG, OWNER = _merge()

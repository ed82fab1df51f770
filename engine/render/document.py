"""The document a data dict renders as: a plan's report (``engine.render.view.build_view``) or a
roll-up of the child units (``engine.render.rollup.rollup_view``), both a ``View``, so every
format (Markdown, HTML, XLSX, DOCX, the web's report page) renders either the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.central import ROLLUP_SCHEMA
from engine.render.view import View, build_view


def document_view(data: Mapping[str, Any]) -> View:
    if data.get("schema") == ROLLUP_SCHEMA:
        from engine.render.rollup import rollup_view

        return rollup_view(data)
    return build_view(data)

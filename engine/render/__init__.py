"""Rendering a report data dict (engine.reporting) to JSON, Markdown, HTML, XLSX or DOCX.

Every renderer is a pure function of the data dict, so a stored snapshot re-renders
exactly. Heavy libraries (matplotlib, openpyxl, python-docx, jinja2) are imported on use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.errors import UserError
from engine.i18n import tr

FORMATS: tuple[str, ...] = ("json", "md", "html", "xlsx", "docx")
EXTENSIONS = {"json": ".json", "md": ".md", "html": ".html", "xlsx": ".xlsx", "docx": ".docx"}
MIME = {
    "json": "application/json",
    "md": "text/markdown",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def to_json(data: Mapping[str, Any]) -> str:
    """Canonical JSON text of a report (keys in the data's own order, UTF-8, 2-space indent)."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render(data: Mapping[str, Any], fmt: str) -> bytes:
    """The report in ``fmt`` (json|md|html|xlsx|docx) as bytes (text formats UTF-8)."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt == "json":
        return to_json(data).encode("utf-8")
    if data.get("schema") == "steer.central/1":  # engine.central's template: a sheet (or JSON)
        return _render_central(data, fmt)
    # a roll-up of the child units (steer.rollup/1) is a document like a report: engine.render.view
    if fmt in ("md", "markdown"):
        from engine.render.md import render_markdown

        return render_markdown(data).encode("utf-8")
    if fmt == "html":
        from engine.render.html import render_html

        return render_html(data).encode("utf-8")
    if fmt == "xlsx":
        from engine.render.xlsx import render_xlsx

        return render_xlsx(data)
    if fmt == "docx":
        from engine.render.docx import render_docx

        return render_docx(data)
    raise UserError(tr(data.get("lang", "vi"), "render.unknown_format", fmt=fmt, formats=", ".join(FORMATS)))


def _render_central(data: Mapping[str, Any], fmt: str) -> bytes:
    from engine.render import rollup

    lang = data.get("lang", "vi")
    if fmt == "xlsx":
        return rollup.central_xlsx(data, lang)
    raise UserError(tr(lang, "rollup.unknown_format", fmt=fmt, allowed="json, xlsx"))

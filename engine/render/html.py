"""Self-contained HTML rendering of a report: one file, inline CSS, charts as data URIs, no network."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.i18n import tr
from engine.render.document import document_view
from engine.render.view import Table, cell_text

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(data: Mapping[str, Any], *, charts: bool = True) -> str:
    """The report as one HTML document. ``charts=False`` leaves the charts out (faster)."""
    from engine.render.charts import chart_uris

    v = document_view(data)
    lang = v.lang

    def cell(value: Any, i: int, tb: Table) -> str:
        return cell_text(value, lang, percent=i in tb.percent_cols, status=i == tb.status_col)

    labels = {"status_chart": tr(lang, "render.work_items_by_status"),
              "timeline_chart": tr(lang, "render.cumulative_completion"),
              "units_chart": tr(lang, "render.completion_by_unit"),
              "republic": tr(lang, "render.republic"), "motto": tr(lang, "render.motto"),
              "distribution": tr(lang, "render.distribution")}
    template = _environment().get_template("report.html.j2")
    return template.render(v=v, charts=chart_uris(data) if charts else {}, cell=cell, labels=labels)

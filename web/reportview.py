"""A stored report inside the app layout, light enough for a phone (issue 24).

The page shows the report's own structure (``engine.render.view.build_view``: the same parts
and tables as the downloadable formats) in the app's layout and stylesheet; wide tables scroll
in their own box. Charts are separate SVG files (``/reports/{id}/charts/{name}.svg``) instead
of base64 data URIs, so the page itself stays small and the browser caches them: their URLs
carry the stored report's checksum, and a stored report never changes (a changed row fails
its checksum). The rendered report body and the charts are kept in small in-process LRU
caches keyed by (database, report id, checksum), so only the first view pays for matplotlib.

The self-contained HTML document (inline CSS, charts as data URIs) is still the ``html``
download.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from engine.central import ROLLUP_SCHEMA
from engine.errors import UserError
from engine.i18n import tr
from engine.models import ReportSnapshot
from engine.render import charts
from engine.render.document import document_view as build_view  # a report's or a roll-up's document
from engine.render.view import Table, cell_text
from engine.snapshots import snapshot_data
from web.core import WebError, cfg, db, env, lang_of, render, require_login, t

router = APIRouter(include_in_schema=False)

# who may read stored reports: the roles of web.pages.OVERSIGHT (the reports list, downloads).
# Not imported from web.pages: this module stays independent of the page/action module.
OVERSIGHT = ("secretariat", "chair", "vice_chair", "viewer")

CHARTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "status": charts.status_breakdown_svg,
    "timeline": charts.timeline_svg,
    "units": charts.units_svg,
}
CHART_CACHE = "private, max-age=31536000, immutable"  # the URL names the report's checksum
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


class _Lru:
    def __init__(self, size: int):
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_BODIES = _Lru(8)   # (db, id, checksum) -> (title, language, body html)
_CHARTS = _Lru(24)  # (db, id, checksum, name) -> svg bytes


def available_charts(data: Mapping[str, Any]) -> list[str]:
    """The charts this report has (as engine.render.charts.chart_uris leaves out the empty ones;
    a stored roll-up of the child units has none)."""
    if data.get("schema") == ROLLUP_SCHEMA:
        return []
    out = ["status"]
    if len(data.get("timeline") or []) >= 1:
        out.append("timeline")
    if data.get("units"):
        out.append("units")
    return out


def _load(request: Request, report_id: int, *, need_data: Callable[[str], bool]) -> tuple[str, dict[str, Any] | None]:
    """(checksum, data or None): the data only when ``need_data(checksum)`` (a cache miss)."""
    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        checksum = s.execute(select(ReportSnapshot.checksum).where(ReportSnapshot.id == report_id)).scalar_one_or_none()
        if checksum is None:
            raise WebError(404, t(request, "not_found"))
        if not need_data(checksum):
            return checksum, None
        try:
            return checksum, snapshot_data(s, report_id, lang=lang_of(request))
        except UserError as exc:
            raise WebError(409, str(exc)) from None


def _body(data: Mapping[str, Any], report_id: int, version: str) -> tuple[str, str, str]:
    """(title, language, body html) of the report: the view's parts and tables, charts as cached image files."""
    v = build_view(data)

    def cell(value: Any, i: int, tb: Table) -> str:
        return cell_text(value, v.lang, percent=i in tb.percent_cols, status=i == tb.status_col)

    def label(key: str, **fmt: Any) -> str:
        return tr(v.lang, key, **fmt)

    names = available_charts(data)
    urls = {name: f"/reports/{report_id}/charts/{name}.svg?v={version}" for name in names}
    html = env().get_template("_report_body.html").render(v=v, cell=cell, label=label, charts=urls)
    return v.subtitle, v.lang, html


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_view(request: Request, report_id: int, fmt: str = "") -> Response:
    key: tuple[Any, ...] = ()
    hit: tuple[str, str, str] | None = None

    def miss(checksum: str) -> bool:
        nonlocal key, hit
        key = (cfg(request).database_url, report_id, checksum)
        hit = _BODIES.get(key)
        return hit is None

    checksum, data = _load(request, report_id, need_data=miss)
    if data is not None:
        hit = _body(data, report_id, checksum[:16])
        _BODIES.put(key, hit)
    assert hit is not None
    title, report_lang, body = hit
    # ``fmt``: the format chosen when the report was just created from the web (offered first)
    formats = ("docx", "xlsx", "html", "md", "json")
    return render(request, "report_view.html", {"report_id": report_id, "report_title": title,
                                                "report_lang": report_lang, "body": Markup(body), "formats": formats,
                                                "chosen": fmt if fmt in formats else None})


@router.get("/reports/{report_id}/charts/{name}.svg")
def report_chart(request: Request, report_id: int, name: str, v: str = "") -> Response:
    if name not in CHARTS:
        raise WebError(404, t(request, "not_found"))
    key: tuple[Any, ...] = ()
    svg: bytes | None = None

    def miss(checksum: str) -> bool:
        nonlocal key, svg
        key = (cfg(request).database_url, report_id, checksum, name)
        svg = _CHARTS.get(key)
        return svg is None

    checksum, data = _load(request, report_id, need_data=miss)
    if data is not None:
        if name not in available_charts(data):
            raise WebError(404, t(request, "not_found"))
        svg = CHARTS[name](data).encode("utf-8")
        _CHARTS.put(key, svg)
    etag = f'"{checksum[:16]}-{name}"'
    headers = {"ETag": etag, "Content-Security-Policy": CHART_CSP,
               "Cache-Control": CHART_CACHE if v == checksum[:16] else "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(svg, media_type="image/svg+xml", headers=headers)

"""Report charts drawn with matplotlib (object API, no pyplot state) as SVG.

Output is deterministic (fixed SVG id salt, no date metadata, glyphs as paths so the
Vietnamese text needs no font in the browser), so the same data gives the same bytes.
``chart_uris`` returns ``data:image/svg+xml;base64,...`` URIs for a self-contained HTML page.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from engine.central import ROLLUP_SCHEMA
from engine.i18n import tr
from engine.render.labels import fmt_date, pick

COLORS = {
    "completed_on_time": "#2e7d32",
    "completed_late": "#f9a825",
    "completed_unknown": "#78909c",
    "completed": "#2e7d32",
    "in_progress_within_deadline": "#1976d2",
    "overdue": "#c62828",
    "not_yet_due": "#b0bec5",
    "ongoing": "#7b1fa2",
    "no_deadline": "#d7ccc8",
}
RC = {"svg.hashsalt": "steer-report", "svg.fonttype": "path", "font.family": "DejaVu Sans", "font.size": 10,
      "axes.spines.top": False, "axes.spines.right": False}


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return buf.getvalue()


def _breakdown_parts(s: Mapping[str, Any], lang: str) -> list[tuple[str, str, int]]:
    parts = [
        ("completed_on_time", tr(lang, "render.chart_completed_on_time")),
        ("completed_late", tr(lang, "render.chart_completed_late")),
        ("completed_unknown", tr(lang, "render.chart_completed_unknown")),
        *((k, pick("bucket", k, lang)) for k in ("in_progress_within_deadline", "overdue", "not_yet_due", "ongoing",
                                                 "no_deadline")),
    ]
    return [(k, label, int(s[k])) for k, label in parts if s.get(k)]


def status_breakdown_svg(data: Mapping[str, Any]) -> str:
    """Donut of the work items by status bucket."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    lang = data.get("lang", "vi")
    parts = _breakdown_parts(data["summary"], lang)
    with rc_context(RC):
        fig = Figure(figsize=(7.5, 3.6))
        ax = fig.subplots()
        ax.set_aspect("equal")
        total = sum(n for _, _, n in parts)
        if total:
            ax.pie([n for _, _, n in parts], colors=[COLORS[k] for k, _, _ in parts], startangle=90, counterclock=False,
                   wedgeprops={"width": 0.38, "edgecolor": "white"})
            ax.legend([f"{label}: {n} ({n * 100 / total:.1f}%)".replace(".", tr(lang, "render.decimal_sep"))
                       for _, label, n in parts], loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        ax.text(0, 0, f"{total}\n{tr(lang, 'render.chart_items')}", ha="center", va="center", fontsize=12)
        ax.set_title(tr(lang, "render.chart_status_title"), loc="left")
        return _svg(fig)


def units_svg(data: Mapping[str, Any], *, limit: int = 40) -> str:
    """Stacked horizontal bars: each unit's work items by bucket (ranked order)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    lang = data.get("lang", "vi")
    units = data["units"][:limit]
    keys = ["completed", "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing"]
    with rc_context(RC):
        fig = Figure(figsize=(9, max(2.2, 0.32 * len(units) + 1.4)))
        ax = fig.subplots()
        names = [u["name"] if len(u["name"]) <= 42 else u["name"][:40] + "…" for u in units]
        y = list(range(len(units)))[::-1]
        left = [0] * len(units)
        for k in keys:
            vals = [u["counts"][k] for u in units]
            ax.barh(y, vals, left=left, color=COLORS[k], label=pick("bucket", k, lang), height=0.7)
            left = [a + b for a, b in zip(left, vals)]
        ax.set_yticks(y, names)
        ax.set_xlabel(tr(lang, "render.chart_axis_items"))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False, fontsize=8)
        title = tr(lang, "render.chart_units_title")
        if len(data["units"]) > limit:
            title += tr(lang, "render.chart_units_first", limit=limit, n=len(data['units']))
        ax.set_title(title, loc="left", pad=34)
        return _svg(fig)


def timeline_svg(data: Mapping[str, Any]) -> str:
    """Cumulative completed vs due work items at month ends and on the as-of date."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    lang = data.get("lang", "vi")
    pts = data.get("timeline") or []
    with rc_context(RC):
        fig = Figure(figsize=(8, 3.4))
        ax = fig.subplots()
        x = list(range(len(pts)))
        ax.plot(x, [p["due"] for p in pts], marker="o", color="#546e7a", label=tr(lang, "render.chart_due_cumulative"))
        ax.plot(x, [p["completed"] for p in pts], marker="o", color=COLORS["completed"],
                label=tr(lang, "render.chart_completed_cumulative"))
        ax.fill_between(x, [p["completed"] for p in pts], color=COLORS["completed"], alpha=0.12)
        step = max(1, len(pts) // 12)
        ax.set_xticks(x[::step], [fmt_date(p["date"], lang) for p in pts][::step], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(tr(lang, "render.chart_axis_items"))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(frameon=False, loc="upper left")
        ax.set_title(tr(lang, "render.chart_timeline_title"), loc="left")
        return _svg(fig)


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def chart_uris(data: Mapping[str, Any]) -> dict[str, str]:
    """{"status": uri, "units": uri, "timeline": uri} (a chart is left out when it has nothing to show)."""
    if data.get("schema") == ROLLUP_SCHEMA:  # a roll-up of the child units: its tables say it all
        return {}
    out = {"status": data_uri(status_breakdown_svg(data))}
    if data.get("units"):
        out["units"] = data_uri(units_svg(data))
    if len(data.get("timeline") or []) >= 1:
        out["timeline"] = data_uri(timeline_svg(data))
    return out

"""Markdown rendering of a report (GitHub-flavoured tables)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.i18n import tr
from engine.render.document import document_view
from engine.render.view import Part, Table, View, cell_text
from engine.safetext import md_text as _esc


def _cell(text: str) -> str:
    return " ".join(_esc(text).replace("|", "\\|").split())


def _table(tb: Table, lang: str) -> list[str]:
    out = [f"**{_esc(tb.title)}**", ""]
    if not tb.rows:
        return out + [_esc(tb.empty or "—"), ""]
    out.append("| " + " | ".join(_cell(h) for h in tb.headers) + " |")
    out.append("|" + "|".join("---:" if i in tb.percent_cols else "---" for i in range(len(tb.headers))) + "|")
    for row in tb.rows:
        cells = [cell_text(v, lang, percent=i in tb.percent_cols, status=i == tb.status_col) for i, v in enumerate(row)]
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return out + [""]


def _part(part: Part, lang: str) -> list[str]:
    head = f"## {part.number}. {_esc(part.title)}" if part.number else f"## {_esc(part.title)}"
    out = [head, ""]
    for p in part.paragraphs:
        out += [_esc(p), ""]
    for b in part.bullets:
        out.append(f"- {_esc(b)}")
    if part.bullets:
        out.append("")
    for tb in part.tables:
        out += _table(tb, lang)
    return out


def render_markdown(data: Mapping[str, Any]) -> str:
    v: View = document_view(data)
    lines = [
        f"{_esc(v.authority)}  ",
        f"**{_esc(v.committee)}**",
        "",
        "**" + tr(v.lang, "render.republic") + "**  ",
        "**" + tr(v.lang, "render.motto") + "**",
        "",
        f"*{_esc(v.place_date)}*",
        "",
        f"# {_esc(v.title)}",
        "",
        f"**{_esc(v.subtitle)}**",
        "",
        f"_{_esc(v.scope_line)}_",
        "",
    ]
    for part in v.parts:
        lines += _part(part, v.lang)
    lines += ["**" + tr(v.lang, "render.distribution") + "**"]
    lines += [f"- {_esc(r)}" for r in v.recipients]
    lines += ["", *(f"**{_esc(t)}**  " for t in v.signer_lines), ""]
    if v.signer_name:
        lines += [f"**{_esc(v.signer_name)}**", ""]
    lines += ["---", ""]
    lines += _part(v.appendix, v.lang)
    return "\n".join(lines).rstrip() + "\n"

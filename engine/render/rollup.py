"""Renderers of the roll-up (``steer.rollup/1``) and of the central template (``steer.central/1``).

Both come from ``engine.rollup``; ``engine.render.render`` sends them here by their schema,
so ``steer rollup report --format …`` goes through the same machinery as a report.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from engine.i18n import tr

COLOURS = {"green": "#1b7f3a", "yellow": "#b58100", "red": "#c62828", "grey": "#757575"}
FILLS = {"green": "C8E6C9", "yellow": "FFF59D", "red": "FFCDD2", "grey": "E0E0E0"}


def _dmy(iso: str | None) -> str:
    if not iso:
        return ""
    if len(iso) > 10:
        d = datetime.fromisoformat(iso)
        return d.strftime("%d/%m/%Y %H:%M")
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:g} %"


def rows(data: Mapping[str, Any]) -> tuple[list[str], list[list[Any]], list[str]]:
    """(header, rows, statuses) of the roll-up table, in the report's language."""
    lang = data.get("lang", "vi")
    head = [tr(lang, k) for k in ("rollup.col_unit", "rollup.col_status", "rollup.col_reason", "rollup.col_share",
                                  "rollup.col_done_due", "rollup.col_overdue", "rollup.col_children",
                                  "rollup.col_as_of", "rollup.col_received")]
    out, statuses = [], []
    for u in data["units"]:
        snap = u.get("snapshot") or {}
        kids = u.get("children") or {}
        out.append([f"{u['unit']} — {u['name']}", tr(lang, f"rollup.{u['status']}"), u.get("reason") or "",
                    _pct(u.get("share")), f"{u['done']}/{u['due']}" if snap else "", u["overdue"] if snap else "",
                    f"{kids.get('green', 0)}/{kids.get('total', 0)}" if snap else "",
                    _dmy(snap.get("as_of")), snap.get("received_local") or _dmy(snap.get("received_at"))])
        statuses.append(u["status"])
    return head, out, statuses


def _title(data: Mapping[str, Any]) -> tuple[str, str]:
    lang = data.get("lang", "vi")
    s = data["summary"]
    return (tr(lang, "rollup.heading", period=data["period"].get("label", data["period"]["key"])),
            tr(lang, "rollup.scope", as_of=_dmy(data["as_of"]), reported=s["reported"], units=s["units"]))


def render_html(data: Mapping[str, Any]) -> str:
    lang = data.get("lang", "vi")
    title, scope = _title(data)
    head, body, statuses = rows(data)
    e = html.escape
    trs = "\n".join(
        "<tr>" + "".join(
            (f'<td><span class="dot" style="background:{COLOURS[st]}"></span>{e(str(c))}</td>' if i == 1 else f"<td>{e(str(c))}</td>")
            for i, c in enumerate(r)) + "</tr>"
        for r, st in zip(body, statuses, strict=True))
    empty = f"<p>{e(tr(lang, 'rollup.no_children'))}</p>" if not body else ""
    return f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:"Times New Roman",serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #999;padding:4px 6px;vertical-align:top}}th{{background:#eee}}
.dot{{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.4em}}</style></head>
<body><h1>{e(tr(lang, "rollup.title"))}</h1><h2>{e(title)}</h2><p>{e(scope)}</p>{empty}
<table><thead><tr>{"".join(f"<th>{e(h)}</th>" for h in head)}</tr></thead><tbody>
{trs}
</tbody></table></body></html>
"""


def render_markdown(data: Mapping[str, Any]) -> str:
    title, scope = _title(data)
    head, body, _ = rows(data)
    lines = [f"# {tr(data.get('lang', 'vi'), 'rollup.title')}", "", f"## {title}", "", scope, "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in body]
    if not body:
        lines += ["", tr(data.get("lang", "vi"), "rollup.no_children")]
    return "\n".join(lines) + "\n"


def render_xlsx(data: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    title, scope = _title(data)
    head, body, statuses = rows(data)
    wb = Workbook()
    ws = wb.active
    ws.title = "Tong hop"
    ws.append([tr(data.get("lang", "vi"), "rollup.title")])
    ws.append([title])
    ws.append([scope])
    ws.append([])
    ws.append(head)
    for c in ws[5]:
        c.font = Font(bold=True)
    for r, st in zip(body, statuses, strict=True):
        ws.append(r)
        ws.cell(ws.max_row, 2).fill = PatternFill("solid", fgColor=FILLS[st])
        ws.cell(ws.max_row, 3).alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCDEFGHI", (34, 10, 60, 14, 14, 10, 14, 14, 18), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render_docx(data: Mapping[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt, RGBColor

    title, scope = _title(data)
    head, body, statuses = rows(data)
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = sec.page_height, sec.page_width
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(12)
    doc.add_heading(tr(data.get("lang", "vi"), "rollup.title"), level=1)
    doc.add_paragraph(title)
    doc.add_paragraph(scope)
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, h in zip(table.rows[0].cells, head, strict=True):
        cell.text = h
        cell.paragraphs[0].runs[0].bold = True
    for r, st in zip(body, statuses, strict=True):
        cells = table.add_row().cells
        for i, (cell, v) in enumerate(zip(cells, r, strict=True)):
            cell.text = str(v)
            if i == 1:
                cell.paragraphs[0].runs[0].font.color.rgb = RGBColor.from_string(COLOURS[st].lstrip("#").upper())
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- the central template -----------------------------------------------------------------------


def _central_names(data: Mapping[str, Any]) -> list[str]:
    return list(data["mapping"]) + list(data.get("apart") or []) + ["total"]


def central_header(data: Mapping[str, Any], lang: str) -> list[str]:
    return [tr(lang, "rollup.col_unit")] + [tr(lang, "rollup.col_total" if n == "total" else f"rollup.{n}")
                                            for n in _central_names(data)]


def central_xlsx(data: Mapping[str, Any], lang: str = "vi") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Mau VPCP"
    ws.append([tr(lang, "rollup.central_title")])
    per = data.get("period") or {}
    ws.append([f"{per.get('label') or per.get('key') or ''} — {_dmy(data.get('as_of'))}"])
    ws.append([])
    ws.append(central_header(data, lang))
    names = _central_names(data)
    for c in ws[4]:
        c.font = Font(bold=True)
    for r in data["rows"]:
        ws.append([f"{r['unit']} — {r['name']}"] + [r[n] for n in names])
    ws.append([tr(lang, "rollup.total_row")] + [data["total"][n] for n in names])
    for c in ws[ws.max_row]:
        c.font = Font(bold=True)
    ws.column_dimensions["A"].width = 36
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 18
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

"""DOCX rendering with python-docx, laid out like an official Vietnamese report.

Header block (issuing authority and committee on the left; "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT
NAM / Độc lập - Tự do - Hạnh phúc" and place, date on the right), the title "BÁO CÁO" and
its subject, numbered parts with tables, "Nơi nhận" and the signature block, then the
appendix table on landscape pages. A4, Times New Roman 13 pt, margins after Nghị định
30/2020/NĐ-CP (top/bottom 2 cm, left 3 cm, right 1.5 cm).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime, time, timezone
from typing import Any

from engine.i18n import tr
from engine.render.view import Part, Table, View, build_view, cell_text

STATUS_RGB = {"green": (0x1B, 0x5E, 0x20), "yellow": (0x9A, 0x6B, 0x00), "red": (0xB7, 0x1C, 0x1C)}


def render_docx(data: Mapping[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    v: View = build_view(data)
    lang = v.lang
    doc = Document()
    stamp = datetime.combine(datetime.fromisoformat(data["as_of"]).date(), time(0, 0), tzinfo=timezone.utc)
    cp = doc.core_properties
    cp.created = cp.modified = stamp
    cp.author = cp.last_modified_by = "Steer"
    cp.title = f"{v.title} {v.subtitle}"
    cp.revision = 1

    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)
    normal.paragraph_format.space_after = Pt(3)

    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.top_margin = sec.bottom_margin = Cm(2)
    sec.left_margin, sec.right_margin = Cm(3), Cm(1.5)

    def para(container: Any, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
             align: Any = None, underline: bool = False, indent: bool = False, space_after: float | None = None) -> Any:
        p = container.add_paragraph()
        if text:
            r = p.add_run(text)
            r.bold, r.italic, r.underline = bold, italic, underline
            if size:
                r.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Cm(1)
        if space_after is not None:
            p.paragraph_format.space_after = Pt(space_after)
        return p

    def cell_para(cell: Any, text: str, **kw: Any) -> Any:
        p = cell.paragraphs[0] if not cell.paragraphs[0].text and len(cell.paragraphs) == 1 and not cell.paragraphs[0].runs \
            else cell.add_paragraph()
        r = p.add_run(text)
        r.bold, r.italic = kw.get("bold", False), kw.get("italic", False)
        r.underline = kw.get("underline", False)
        if kw.get("size"):
            r.font.size = Pt(kw["size"])
        if kw.get("color"):
            r.font.color.rgb = RGBColor(*kw["color"])
        p.alignment = kw.get("align", WD_ALIGN_PARAGRAPH.CENTER)
        p.paragraph_format.space_after = Pt(0)
        return p

    # --- header block
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    head.autofit = False
    left, right = head.rows[0].cells
    left.width, right.width = Cm(7.2), Cm(9.3)
    cell_para(left, v.authority, size=12)
    cell_para(left, v.committee, bold=True, size=12)
    cell_para(left, "―――――", size=10)
    cell_para(left, tr(lang, "render.no_bc_bc"), size=13)
    cell_para(right, tr(lang, "render.republic"), bold=True, size=12)
    cell_para(right, tr(lang, "render.motto"), bold=True, size=13,
              underline=True)
    cell_para(right, "", size=8)
    cell_para(right, v.place_date, italic=True, size=13)

    para(doc, v.title, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=0).paragraph_format.space_before = Pt(18)
    para(doc, v.subtitle, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=2)
    para(doc, v.scope_line, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=10)

    def add_table(tb: Table, *, font_size: float, total_width_cm: float) -> None:
        para(doc, tb.title, bold=True, italic=True, size=12, space_after=2)
        if not tb.rows:
            para(doc, tb.empty or "—", italic=True, size=12, indent=True)
            return
        table = doc.add_table(rows=1, cols=len(tb.headers))
        table.style = "Table Grid"
        table.autofit = False
        weight = sum(tb.widths) or 1
        widths = [Cm(total_width_cm * w / weight) for w in tb.widths]
        for j, h in enumerate(tb.headers):
            c = table.rows[0].cells[j]
            c.width = widths[j]
            cell_para(c, h, bold=True, size=font_size)
        for values in tb.rows:
            cells = table.add_row().cells
            for j, value in enumerate(values):
                c = cells[j]
                c.width = widths[j]
                text = cell_text(value, lang, percent=j in tb.percent_cols, status=j == tb.status_col)
                numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
                align = WD_ALIGN_PARAGRAPH.RIGHT if numeric or j in tb.percent_cols else WD_ALIGN_PARAGRAPH.LEFT
                color = STATUS_RGB.get(value) if j == tb.status_col and isinstance(value, str) else None
                cell_para(c, text, size=font_size, align=align, bold=color is not None, color=color)
        para(doc, "", size=6, space_after=4)

    def add_part(part: Part, *, font_size: float, width: float) -> None:
        heading = f"{part.number}. {part.title}" if part.number else part.title
        para(doc, heading, bold=True, space_after=4).paragraph_format.space_before = Pt(10)
        for p in part.paragraphs:
            para(doc, p, indent=True).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        for b in part.bullets:
            para(doc, f"- {b}", indent=True).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        for tb in part.tables:
            add_table(tb, font_size=font_size, total_width_cm=width)

    for part in v.parts:
        add_part(part, font_size=10 if part.number in ("II", "III", "V") else 11, width=16.5)

    # --- "Nơi nhận" and signature
    sign = doc.add_table(rows=1, cols=2)
    sign.autofit = False
    to, signer = sign.rows[0].cells
    to.width, signer.width = Cm(8.5), Cm(8)
    cell_para(to, tr(lang, "render.distribution"), bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.LEFT)
    for r in v.recipients:
        cell_para(to, f"- {r}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    cell_para(signer, v.signer_title, bold=True, size=13)
    for _ in range(3):
        cell_para(signer, "", size=13)
    if v.signer_name:
        cell_para(signer, v.signer_name, bold=True, size=13)

    # --- appendix on landscape pages
    land = doc.add_section(WD_SECTION.NEW_PAGE)
    land.orientation = WD_ORIENT.LANDSCAPE
    land.page_width, land.page_height = Cm(29.7), Cm(21)
    land.top_margin = land.bottom_margin = Cm(1.5)
    land.left_margin, land.right_margin = Cm(2), Cm(1.5)
    para(doc, v.appendix.title, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=0)
    for p in v.appendix.paragraphs:
        para(doc, p, italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=8)
    for tb in v.appendix.tables:
        add_table(tb, font_size=10, total_width_cm=26.2)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()

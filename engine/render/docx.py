"""DOCX rendering with python-docx, laid out as an administrative document after Nghị định
30/2020/NĐ-CP (Phụ lục I):

* A4, margins top/bottom 2 cm, left 3 cm, right 1.5 cm; Times New Roman, body 14 pt;
* the header block, a borderless two-column table: on the left the parent body (upright) and the
  committee (bold), each broken into balanced lines, a short rule, and "Số: …/BC-BCĐ" below; on
  the right the Quốc hiệu on one line, the Tiêu ngữ on one line with a rule as long as it, and the
  place and date in italics ("Lâm Sơn, ngày 01 tháng 8 năm 2025");
* the title "BÁO CÁO", its subject with a short rule under it, numbered parts;
* tables numbered in order, each with explicit column widths (``engine.render.layout``: no column
  narrower than its widest word, together exactly the text width) in a fixed layout, the header
  row repeated on every page and no row split across pages; a table too wide for a portrait page
  goes, with its part, on landscape pages;
* page numbers centred in the top margin from page 2 on;
* "Nơi nhận:" and the signature block (TM. BAN CHỈ ĐẠO / TRƯỞNG BAN, or KT. TRƯỞNG BAN / PHÓ TRƯỞNG
  BAN, and the signer's name from the directory), then the appendix on landscape pages.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from engine.i18n import tr
from engine.render.layout import (
    CELL_MARGIN,
    TWIPS_PER_CM,
    allot_widths,
    balanced_lines,
    fits,
    measure_columns,
    table_lines,
    text_width,
)
from engine.render.document import document_view
from engine.render.view import Part, Table, View, cell_text

_INWORD_HYPHEN = re.compile(r"(?<=\S)-(?=\S)")
STATUS_RGB = {"green": (0x1B, 0x5E, 0x20), "yellow": (0x8A, 0x5A, 0x00), "red": (0xB7, 0x1C, 0x1C),
              "grey": (0x42, 0x42, 0x42)}  # grey: a child unit that has not reported (engine.rollup)

FONT = "Times New Roman"
BODY_PT = 14
# Page geometry in twips (1/1440 inch): A4, margins of Nghị định 30/2020/NĐ-CP.
PAGE_W, PAGE_H = 11906, 16838
MARGIN_TOP = MARGIN_BOTTOM = math.ceil(2 * TWIPS_PER_CM)  # rounded up: never under the minimum
MARGIN_LEFT, MARGIN_RIGHT = math.ceil(3 * TWIPS_PER_CM), math.ceil(1.5 * TWIPS_PER_CM)
PORTRAIT_TEXT = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT  # 16.5 cm
LANDSCAPE_TEXT = PAGE_H - MARGIN_LEFT - MARGIN_RIGHT  # 25.2 cm
HEADER_LEFT = round(7.0 * TWIPS_PER_CM)  # the issuing body; the rest (9.5 cm) holds the Quốc hiệu
# Table text sizes tried, the usable page heights (twips), and how much a smaller text or a
# landscape page costs against a portrait page in 12 pt when choosing a table's layout.
TABLE_SIZES = (12, 11)  # then 10, 9, 8 for a table too wide for a landscape page in 11 pt
PORTRAIT_HEIGHT, LANDSCAPE_HEIGHT = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM, PAGE_W - MARGIN_TOP - MARGIN_BOTTOM
SMALLER_COST, LANDSCAPE_COST = 0.15, 0.3


def _cells(tb: Table, lang: str) -> list[list[str]]:
    return [[cell_text(v, lang, percent=j in tb.percent_cols, status=j == tb.status_col) for j, v in enumerate(row)]
            for row in tb.rows]


def plan_table(tb: Table, lang: str, *, landscape_only: bool = False,
               sizes: tuple[float, ...] = TABLE_SIZES) -> tuple[bool, float, list[int]]:
    """(landscape, font size, column widths in twips) of a table. Among the page orientations and
    text sizes at which every column holds its widest word, the one taking the fewest pages,
    weighed so a larger text and a portrait page win unless the other is clearly shorter (a wide
    table in a narrow column runs to many lines per row). The widths add up to the text width."""
    rows = _cells(tb, lang)
    all_rows = [tb.headers, *rows]
    best: tuple[float, bool, float, list[int]] | None = None
    for landscape in ((True,) if landscape_only else (False, True)):
        text, height = (LANDSCAPE_TEXT, LANDSCAPE_HEIGHT) if landscape else (PORTRAIT_TEXT, PORTRAIT_HEIGHT)
        for size in sizes:
            cols = measure_columns(tb.headers, rows, size)
            if not fits(cols, text):
                continue
            widths = allot_widths(cols, text)
            tall = table_lines(all_rows, widths, size) * size * 1.2 * 20 + len(all_rows) * 80
            score = tall / height * (1 + SMALLER_COST * (TABLE_SIZES[0] - size)) * (1 + LANDSCAPE_COST * landscape)
            if best is None or score < best[0]:
                best = (score, landscape, size, widths)
    if best is None:  # wider than a landscape page in 11 pt: smaller text, as small as it takes
        for size in (10, 9, 8):
            cols = measure_columns(tb.headers, rows, size)
            if fits(cols, LANDSCAPE_TEXT) or size == 8:
                return True, size, allot_widths(cols, LANDSCAPE_TEXT)
    return best[1], best[2], best[3]


def render_docx(data: Mapping[str, Any]) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor, Twips

    v: View = document_view(data)
    lang = v.lang
    doc = Document()
    stamp = datetime.combine(date.fromisoformat(data["as_of"]), time(0, 0), tzinfo=UTC)
    cp = doc.core_properties
    cp.created = cp.modified = stamp
    cp.author = cp.last_modified_by = "Steer"
    cp.title = f"{v.title} {v.subtitle}"
    cp.revision = 1

    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    lang_el = OxmlElement("w:lang")
    lang_el.set(qn("w:val"), tr(lang, "render.proofing_language"))  # spelling checked in the report's language
    rpr.append(lang_el)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)

    def page(section: Any, *, landscape: bool) -> None:
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = (Twips(PAGE_H), Twips(PAGE_W)) if landscape \
            else (Twips(PAGE_W), Twips(PAGE_H))
        section.top_margin, section.bottom_margin = Twips(MARGIN_TOP), Twips(MARGIN_BOTTOM)
        section.left_margin, section.right_margin = Twips(MARGIN_LEFT), Twips(MARGIN_RIGHT)
        section.header_distance = section.footer_distance = Twips(round(0.9 * TWIPS_PER_CM))
        # only the document's first page goes unnumbered (a new section copies the setting)
        section.different_first_page_header_footer = False

    def new_section() -> Any:
        """A new section on a new page. The paragraph that ends the previous section (python-docx
        puts the section break in an empty paragraph) is made 1 pt high: at full height, after a
        table that ends at the foot of a page (the signature block), it alone would spill onto a
        page of its own, left blank before the next section's first page."""
        section = doc.add_section(WD_SECTION.NEW_PAGE)
        brk = doc.paragraphs[-1]
        pf = brk.paragraph_format
        pf.space_before = pf.space_after = Pt(0)
        pf.line_spacing = Pt(1)
        sect = brk._p.get_or_add_pPr().find(qn("w:sectPr"))
        if sect is not None:  # the paragraph mark's size (w:rPr goes just before w:sectPr)
            mark = OxmlElement("w:rPr")
            for tag in ("w:sz", "w:szCs"):
                el = OxmlElement(tag)
                el.set(qn("w:val"), "2")
                mark.append(el)
            sect.addprevious(mark)
        return section

    sec = doc.sections[0]
    page(sec, landscape=False)
    # Page numbers: centred in the top margin, not on the first page (Nghị định 30, Phụ lục I).
    sec.different_first_page_header_footer = True
    hp = sec.header.paragraphs[0]
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = hp.add_run()
    run.font.size = Pt(13)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        else:
            el = OxmlElement("w:instrText" if text == " PAGE " else "w:t")
            if text == " PAGE ":
                el.set(qn("xml:space"), "preserve")
            el.text = text
            run._r.append(el)

    def add_run(p: Any, text: str) -> Any:
        """A run of ``text`` whose hyphens inside a word are non-breaking (w:noBreakHyphen), so
        "02-KH/BCĐTW" or "1250/QĐ-UBND" is never split at a line end; one w:t per stretch."""
        r = p.add_run()
        pieces = _INWORD_HYPHEN.split(text)
        for i, piece in enumerate(pieces):
            if i:
                r._r.append(OxmlElement("w:noBreakHyphen"))
            if piece:
                t = OxmlElement("w:t")
                t.set(qn("xml:space"), "preserve")
                t.text = piece
                r._r.append(t)
        return r

    def para(container: Any, text: str = "", *, bold: bool = False, italic: bool = False, size: float | None = None,
             align: Any = None, indent: bool = False, before: float = 0, after: float = 0,
             keep: bool = False, line: float | None = None) -> Any:
        p = container.add_paragraph()
        if text:
            r = add_run(p, text)
            r.bold, r.italic = bold, italic
            if size:
                r.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        pf = p.paragraph_format
        if indent:
            pf.first_line_indent = Twips(round(1 * TWIPS_PER_CM))
        pf.space_before, pf.space_after = Pt(before), Pt(after)
        if line:
            pf.line_spacing = line
        if keep:
            pf.keep_with_next = True
        return p

    def lines_para(container: Any, lines: list[str], **kw: Any) -> Any:
        """One paragraph with a line break between the lines (the header block's names)."""
        p = para(container, **{k: v for k, v in kw.items() if k not in ("bold", "italic", "size")})
        for i, text in enumerate(lines):
            r = p.add_run(text)
            r.bold, r.italic = kw.get("bold", False), kw.get("italic", False)
            r.font.size = Pt(kw.get("size", BODY_PT))
            if i < len(lines) - 1:
                r.add_break()
        return p

    def rule(container: Any, width: float, cell_width: float, *, after: float = 0) -> None:
        """A centred horizontal rule ``width`` twips long: an empty paragraph's bottom border,
        indented from both sides of a ``cell_width`` column."""
        p = para(container, size=2, after=after)
        side = max(0, round((cell_width - width) / 2))
        p.paragraph_format.left_indent = p.paragraph_format.right_indent = Twips(side)
        p.paragraph_format.line_spacing = Pt(4)
        ppr = p._p.get_or_add_pPr()
        bdr = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for k, val in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
            bottom.set(qn(k), val)
        bdr.append(bottom)
        ppr.insert_element_before(bdr, "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr")

    def fixed_table(rows: int, widths: list[int], *, margins: int | None = None) -> Any:
        """A table of ``widths`` (twips) in a fixed layout: tblW, tblGrid and every tcW set."""
        table = doc.add_table(rows=rows, cols=len(widths))
        table.autofit = False
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        tblPr = table._tbl.tblPr
        tblW = tblPr.find(qn("w:tblW"))  # python-docx's new table has one (type auto)
        tblW.set(qn("w:type"), "dxa")
        tblW.set(qn("w:w"), str(sum(widths)))
        if margins is not None:
            mar = OxmlElement("w:tblCellMar")
            for side in ("left", "right"):
                el = OxmlElement(f"w:{side}")
                el.set(qn("w:w"), str(margins))
                el.set(qn("w:type"), "dxa")
                mar.append(el)
            tblPr.insert_element_before(mar, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
        for j, w in enumerate(widths):
            table.columns[j].width = Twips(w)
            for cell in table.columns[j].cells:
                cell.width = Twips(w)
        return table

    def cell_para(cell: Any, text: str, *, first: bool = False, **kw: Any) -> Any:
        p = cell.paragraphs[0] if first else cell.add_paragraph()
        r = add_run(p, text)
        r.bold, r.italic = kw.get("bold", False), kw.get("italic", False)
        r.font.size = Pt(kw.get("size", BODY_PT))
        if kw.get("color"):
            r.font.color.rgb = RGBColor(*kw["color"])
        p.alignment = kw.get("align", WD_ALIGN_PARAGRAPH.CENTER)
        p.paragraph_format.space_before = Pt(kw.get("before", 0))
        p.paragraph_format.space_after = Pt(kw.get("after", 0))
        return p

    # --- header block: two rows, so "Số: …" and the place and date sit on one line
    right_w = PORTRAIT_TEXT - HEADER_LEFT
    head = fixed_table(2, [HEADER_LEFT, right_w], margins=0)
    (left, right), (number, place) = head.rows[0].cells, head.rows[1].cells
    name_pt, nation_pt, motto_pt = 12.5, 12.5, 13.5
    authority = balanced_lines(v.authority, HEADER_LEFT, name_pt)
    committee = balanced_lines(v.committee, HEADER_LEFT, name_pt, bold=True)
    lines_para(left, authority, size=name_pt, align=WD_ALIGN_PARAGRAPH.CENTER)
    left.paragraphs[0]._p.getparent().remove(left.paragraphs[0]._p)
    lines_para(left, committee, size=name_pt, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    longest = max(text_width(t, name_pt, bold=True) for t in committee) if committee else HEADER_LEFT / 2
    rule(left, longest * 0.4, HEADER_LEFT)
    cell_para(number, tr(lang, "render.no_bc_bc"), first=True, size=13, before=6)
    nation = tr(lang, "render.republic")
    motto = tr(lang, "render.motto")
    cell_para(right, nation, first=True, bold=True, size=nation_pt)
    cell_para(right, motto, bold=True, size=motto_pt)
    rule(right, text_width(motto, motto_pt, bold=True), right_w)
    cell_para(place, v.place_date, first=True, italic=True, size=BODY_PT, before=6)
    for c in (left, right, number, place):
        c.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP

    para(doc, v.title, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER, before=24, keep=True)
    sub = balanced_lines(v.subtitle, PORTRAIT_TEXT * 0.8, BODY_PT, bold=True)
    lines_para(doc, sub, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
    rule(doc, max(text_width(t, BODY_PT, bold=True) for t in sub) * 0.4, PORTRAIT_TEXT, after=6)
    para(doc, v.scope_line, italic=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, after=6)

    def add_table(tb: Table, *, size: float, widths: list[int], caption: bool = True) -> None:
        if caption:
            para(doc, tb.title, bold=True, size=13, before=6, after=3, keep=True)
        if not tb.rows:
            para(doc, tb.empty or "—", italic=True, indent=True, after=6)
            return
        table = fixed_table(1 + len(tb.rows), widths, margins=CELL_MARGIN)
        table.style = "Table Grid"
        for i, row in enumerate(table.rows):
            trPr = row._tr.get_or_add_trPr()
            trPr.append(OxmlElement("w:cantSplit"))  # a row is never split across pages
            if i == 0:
                trPr.append(OxmlElement("w:tblHeader"))  # the header row repeats on each page
        for j, h in enumerate(tb.headers):
            c = table.rows[0].cells[j]
            c.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            cell_para(c, h, first=True, bold=True, size=size, before=2, after=2)
        for i, values in enumerate(tb.rows, start=1):
            cells = table.rows[i].cells
            for j, value in enumerate(values):
                text = cell_text(value, lang, percent=j in tb.percent_cols, status=j == tb.status_col)
                short = isinstance(value, (int, float, date)) or j in tb.percent_cols or j == tb.status_col \
                    or value is None
                color = STATUS_RGB.get(value) if j == tb.status_col and isinstance(value, str) else None
                cells[j].vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                cell_para(cells[j], text, first=True, size=size, bold=color is not None, color=color,
                          align=WD_ALIGN_PARAGRAPH.CENTER if short else WD_ALIGN_PARAGRAPH.LEFT, before=1, after=1)
        para(doc, "", size=6, after=4)

    def add_part(part: Part, layouts: list[tuple[bool, float, list[int]]]) -> None:
        heading = f"{part.number}. {part.title}" if part.number else part.title
        para(doc, heading, bold=True, before=12, after=6, keep=True)
        for p in [*part.paragraphs, *(f"- {b}" for b in part.bullets)]:
            para(doc, p, indent=True, after=6, line=1.1).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        for tb, (_, size, widths) in zip(part.tables, layouts, strict=True):
            add_table(tb, size=size, widths=widths)

    # A part with a table too wide for a portrait page goes on landscape pages, with its heading
    # and text; neighbouring landscape parts share the section.
    current_landscape = False
    for part in v.parts:
        layouts = [plan_table(tb, lang) for tb in part.tables]
        landscape = any(land for land, _, _ in layouts)
        if landscape:
            layouts = [plan_table(tb, lang, landscape_only=True) for tb in part.tables]
        smallest = min((size for _, size, _ in layouts), default=TABLE_SIZES[0])
        if any(size != smallest for _, size, _ in layouts):  # one text size for the tables of a part
            layouts = [plan_table(tb, lang, landscape_only=landscape, sizes=(smallest,)) for tb in part.tables]
            if not landscape and any(land for land, _, _ in layouts):
                landscape = True
                layouts = [plan_table(tb, lang, landscape_only=True, sizes=(smallest,)) for tb in part.tables]
        if landscape != current_landscape:
            page(new_section(), landscape=landscape)
            current_landscape = landscape
        add_part(part, layouts)

    # --- "Nơi nhận" and signature, on a portrait page
    if current_landscape:
        page(new_section(), landscape=False)
    # the signature never stands alone on a page: the last lines of the text go with it
    if not current_landscape and doc.paragraphs:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True
    para(doc, "", after=6, keep=True)
    to_w = round(PORTRAIT_TEXT * 0.48)
    sign = fixed_table(1, [to_w, PORTRAIT_TEXT - to_w], margins=0)
    sign.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    to, signer = sign.rows[0].cells
    cell_para(to, tr(lang, "render.distribution"), first=True, bold=True, italic=True, size=12,
              align=WD_ALIGN_PARAGRAPH.LEFT)
    for r in v.recipients:
        cell_para(to, f"- {r}", size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    for i, line in enumerate(v.signer_lines):
        cell_para(signer, line, first=i == 0, bold=True, size=BODY_PT)
    for _ in range(4):
        cell_para(signer, "", size=BODY_PT)
    if v.signer_name:
        cell_para(signer, v.signer_name, bold=True, size=BODY_PT)

    # --- appendix on landscape pages
    page(new_section(), landscape=True)
    para(doc, v.appendix.title, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    for p in v.appendix.paragraphs:
        para(doc, p, bold=True, size=BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    if v.attached:
        para(doc, v.attached, italic=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER, after=6)
    rule(doc, LANDSCAPE_TEXT * 0.15, LANDSCAPE_TEXT, after=8)
    for tb in v.appendix.tables:
        _, size, widths = plan_table(tb, lang, landscape_only=True)
        add_table(tb, size=size, widths=widths, caption=False)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()

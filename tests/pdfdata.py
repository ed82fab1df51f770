"""PDFs for the PDF reader's tests, made the way plans are published: a Word document printed to
PDF (LibreOffice headless), and a scan of one (pages rendered to images, put back into a PDF
without any text).

``to_pdf`` skips the test when LibreOffice is not installed, and fails it under ``CI=true``
(.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        msg = "LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def to_pdf(docx: Path, outdir: Path) -> Path:
    """``docx`` printed to PDF by LibreOffice headless, with a profile of its own (two
    conversions sharing the default profile wait on each other or silently do nothing)."""
    exe = soffice()
    with tempfile.TemporaryDirectory(prefix="steer-soffice-") as profile:
        subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(outdir), str(docx)], check=True, capture_output=True, timeout=180)
    pdf = outdir / (docx.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice made no PDF of {docx}"
    return pdf


def scanned(pdf: Path, dest: Path, *, pages: range | None = None, dpi: int = 100) -> Path:
    """A scan of ``pdf``: each page rendered to an image (pypdfium2, which pdfplumber brings),
    saved as an image-only PDF (Pillow): what a secretariat gets from a scanner."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        numbers = pages if pages is not None else range(len(doc))
        images = [doc[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in numbers]
    finally:
        doc.close()
    images[0].save(dest, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return dest


# --- a plan as a district publishes it: first page with the standard header block, then the annex

IDENTITY = {
    "number": "45/KH-UBND",
    "place": "Lâm Sơn",
    "date": (2025, 3, 15),
    "issued_by": "ỦY BAN NHÂN DÂN HUYỆN LÂM SƠN",
    "title": "Kế hoạch triển khai chuyển đổi số năm 2025 trên địa bàn huyện Lâm Sơn",
}
LONG_RESULT = ("- Báo cáo kết quả rà soát toàn bộ thủ tục hành chính của huyện, gửi Ủy ban nhân dân "
               "huyện trước ngày 30 hằng tháng, kèm danh mục thủ tục đề nghị cắt giảm, đơn giản hóa.\n"
               "- Danh mục dịch vụ công trực tuyến toàn trình được công bố trên Cổng thông tin điện tử "
               "của huyện và cập nhật thường xuyên theo quy định.")
UNITS = ["Phòng Văn hóa và Thông tin", "Văn phòng HĐND và UBND huyện", "Phòng Tài chính - Kế hoạch",
         "Phòng Nội vụ", "UBND các xã, thị trấn"]


def lam_son_tasks() -> list[tuple[str, str, str, str, str, str]]:
    """(TT, title, lead, coordinating, result, deadline); Roman numerals for the sections. The
    last two tasks have the same lead, printed once in a cell merged over both rows."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    n = 0
    for section, title in (("I", "Hạ tầng số"), ("II", "Chính quyền số"), ("III", "Kinh tế số và xã hội số")):
        rows.append((section, title, "", "", "", ""))
        for k in range(8):
            n += 1
            rows.append((str(n), f"Nhiệm vụ số {n} thuộc phần {section}: triển khai nội dung chuyển đổi số "
                                 f"theo kế hoạch của huyện, bảo đảm đúng tiến độ và hiệu quả",
                         UNITS[min(n, 23) % len(UNITS)], UNITS[(n + 2) % len(UNITS)],
                         LONG_RESULT if n % 4 == 0 else f"Báo cáo kết quả thực hiện nhiệm vụ {n}",
                         f"{(n % 12) + 1}/2025" if n % 5 else "Thường xuyên"))
    return rows


def write_lam_son_docx(dest: Path) -> Path:
    """A plan as a district publishes it: header block (issuing body and "Số:" left, national
    motto and place/date right), "KẾ HOẠCH" and its subject, a paragraph, a page break, the
    "PHỤ LỤC" with a ruled table crossing pages; a running header and page numbers."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    d = docx.Document()
    style = d.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)

    section = d.sections[0]
    head = section.header.paragraphs[0]
    head.text = "Kế hoạch chuyển đổi số huyện Lâm Sơn năm 2025"
    head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    foot._p.append(field)

    block = d.add_table(rows=1, cols=2)  # no style: no borders, as in a real header block
    left, right = block.rows[0].cells
    for cell, lines in ((left, [("ỦY BAN NHÂN DÂN", True, False), ("HUYỆN LÂM SƠN", True, False),
                                ("Số: 45/KH-UBND", False, False)]),
                        (right, [("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True, False),
                                 ("Độc lập - Tự do - Hạnh phúc", True, False),
                                 ("Lâm Sơn, ngày 15 tháng 3 năm 2025", False, True)])):
        cell.paragraphs[0].text = ""
        for i, (line, bold, italic) in enumerate(lines):
            para = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            r = para.add_run(line)
            r.bold, r.italic = bold, italic
    d.add_paragraph()
    for line in ("KẾ HOẠCH", "Triển khai chuyển đổi số năm 2025 trên địa bàn huyện Lâm Sơn"):
        para = d.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(line).bold = True
    d.add_paragraph("Căn cứ Kế hoạch số 12/KH-UBND ngày 10/01/2025 của UBND tỉnh về chuyển đổi số năm 2025, "
                    "Ủy ban nhân dân huyện Lâm Sơn ban hành Kế hoạch triển khai như sau: các cơ quan, đơn vị "
                    "tổ chức thực hiện các nhiệm vụ tại Phụ lục kèm theo.")
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    for line, bold in (("PHỤ LỤC", True), ("DANH MỤC NHIỆM VỤ CHUYỂN ĐỔI SỐ NĂM 2025", True),
                       ("(Kèm theo Kế hoạch số 45/KH-UBND ngày 15/3/2025 của UBND huyện Lâm Sơn)", False)):
        para = d.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(line).bold = bold
    rows = lam_son_tasks()
    table = d.add_table(rows=len(rows) + 1, cols=6)
    table.style = "Table Grid"
    header = ("TT", "Tên nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Kết quả", "Thời gian hoàn thành")
    for cell, text in zip(table.rows[0].cells, header):
        cell.paragraphs[0].add_run(text).bold = True
    repeat = OxmlElement("w:tblHeader")  # the header row is printed again on every page
    repeat.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(repeat)
    for trow, row in zip(table.rows[1:], rows):
        cells = trow.cells
        if not row[2]:
            cells[0].text = row[0]
            merged = cells[1].merge(cells[5])
            merged.paragraphs[0].add_run(row[1]).bold = True
            continue
        for cell, text in zip(cells, row):
            parts = text.split("\n")
            cell.text = parts[0]
            for part in parts[1:]:
                cell.add_paragraph(part)
    # the lead of the last two tasks in one cell merged down over both rows
    last, before = table.rows[-1].cells[2], table.rows[-2].cells[2]
    last.text = ""
    before.merge(last)
    d.save(dest)
    return dest

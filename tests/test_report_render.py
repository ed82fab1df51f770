"""The rendered reports, checked as a person would open them: the DOCX in python-docx, the
XLSX in openpyxl, the HTML in headless Chromium (a PNG lands in test-artifacts/)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine import db as dbmod
from engine.db import transaction
from engine.render import render
from engine.reporting import build_report
from tests.test_reporting import MAY, PLAN, build_base

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def data(_sqlite_template, tmp_path_factory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("render") / "steer.db"
    shutil.copy(_sqlite_template, path)
    eng = dbmod.make_engine(f"sqlite:///{path}")
    build_base(eng)
    with transaction(eng) as s:
        out = {lang: build_report(s, plan_code=PLAN, kind="monthly", period="2025-05", as_of=MAY, cutoff_day=14,
                                  lang=lang) for lang in ("vi", "en")}
    eng.dispose()
    return out


def _cells(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [[c.text for c in row.cells] for row in table.rows]


def _find(tables, first_header: list[str]):  # type: ignore[no-untyped-def]
    for t in tables:
        rows = _cells(t)
        if rows and rows[0][: len(first_header)] == first_header:
            return rows
    raise AssertionError(f"no table with header {first_header}")


def test_docx_is_an_official_style_report_with_its_tables(data):
    from docx import Document
    from docx.enum.section import WD_ORIENT

    doc = Document(io.BytesIO(render(data["vi"], "docx")))
    header, number_date = _cells(doc.tables[0])
    assert header[0].startswith("UBND TỈNH")
    assert "BAN CHỈ ĐẠO THỬ NGHIỆM" in header[0].replace("\n", " ")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc" in header[1]
    assert number_date[0] == "Số:        /BC-BCĐ" and number_date[1].endswith("ngày 20 tháng 5 năm 2025")
    texts = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in texts
    assert "Tình hình thực hiện KH-TEST tháng 5/2025" in texts
    assert [t for t in texts if re.match(r"^[IVX]+\. ", t)][:3] == [
        "I. TÌNH HÌNH CHUNG", "II. KẾT QUẢ THEO TỪNG PHẦN CỦA KẾ HOẠCH", "III. KẾT QUẢ THEO ĐƠN VỊ"]

    summary = _find(doc.tables, ["Nội dung", "Phần việc", "Nhiệm vụ"])
    assert ["Đã đến hạn", "9", "7"] in summary and ["Quá hạn chưa hoàn thành", "1", "1"] in summary
    units = _find(doc.tables, ["Hạng", "Đơn vị", "Xếp loại"])
    # the default rule: 2/3, 1/2 and 2/4 of the items due by 20/05 done (test_reporting counts them by hand)
    assert [r[:3] for r in units[1:]] == [["1", "Sở Khoa học và Công nghệ", "Đỏ"], ["2", "Sở Nội vụ", "Đỏ"],
                                          ["3", "Sở Tài chính", "Đỏ"]]
    appendix = _find(doc.tables, ["TT", "Nhiệm vụ", "Kết quả yêu cầu", "Thời gian hoàn thành", "Cơ quan thực hiện",
                                  "Tiến độ", "Kết quả hiện nay"])
    assert len(appendix) == 1 + 13
    row5 = next(r for r in appendix if r[0] == "5")
    assert row5[3] == "12/5/2025 (gia hạn đến 15/06/2025)" and row5[5] == "Chưa đến hạn"
    row1 = next(r for r in appendix if r[0] == "1")
    assert row1[1:3] == ["Ban hành kế hoạch tuyên truyền", "Kế hoạch của UBND tỉnh"]
    assert row1[5] == "Đã hoàn thành (đúng hạn)" and row1[6].startswith("Kế hoạch số 98/KH-UBND")
    sign = _cells(doc.tables[-2])[0]
    assert sign[0].startswith("Nơi nhận:") and "TM. BAN CHỈ ĐẠO" in sign[1]
    assert doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE


def test_xlsx_has_one_sheet_per_part_with_frozen_formatted_tables(data):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render(data["vi"], "xlsx")))
    assert wb.sheetnames == ["Tổng hợp", "Theo phần", "Theo đơn vị", "KH triển khai", "Chỉ tiêu", "Thay đổi",
                             "Quá hạn", "Phụ lục"]
    ws = wb["Tổng hợp"]
    assert [ws.cell(row=5, column=c).value for c in (1, 2, 3)] == ["Nội dung", "Phần việc", "Nhiệm vụ"]
    assert ws.freeze_panes == "A6"
    assert ws.cell(row=5, column=1).font.bold
    rows = {ws.cell(row=r, column=1).value: (ws.cell(row=r, column=2).value, ws.cell(row=r, column=3).value)
            for r in range(6, 20)}
    assert rows["Đã đến hạn"] == (9, 7) and rows["Đã hoàn thành"] == (6, 5)
    units = wb["Theo đơn vị"]
    assert units.freeze_panes == "A6" and units.cell(row=5, column=3).value == "Xếp loại"
    stc = next(r for r in range(6, 9) if units.cell(row=r, column=2).value == "Sở Tài chính")
    assert units.cell(row=stc, column=3).value == "Đỏ"
    assert units.cell(row=stc, column=3).fill.fgColor.rgb.endswith("FFCDD2")
    rate = units.cell(row=stc, column=13)
    assert rate.value == 0.5 and rate.number_format == "0.0%"
    app = wb["Phụ lục"]
    assert [app.cell(row=5, column=c).value for c in range(1, 8)] == [
        "TT", "Nhiệm vụ", "Kết quả yêu cầu", "Thời gian hoàn thành", "Cơ quan thực hiện", "Tiến độ", "Kết quả hiện nay"]
    assert app.max_row == 5 + 13 and app.auto_filter.ref == "A5:G18"


def test_markdown_is_vietnamese_by_default_and_english_on_request(data):
    vi, en = render(data["vi"], "md").decode(), render(data["en"], "md").decode()
    assert "# BÁO CÁO" in vi and "| Đã đến hạn | 9 | 7 |" in vi and "| 3 | Sở Tài chính | Đỏ |" in vi
    assert "**Nơi nhận:**" in vi and "## PHỤ LỤC" in vi
    assert "# REPORT" in en and "| Due | 9 | 7 |" in en and "| 3 | Sở Tài chính | Red |" in en
    assert "Progress of KH-TEST, May 2025" in en


def test_html_is_self_contained_and_renders_in_chromium(data, tmp_path):
    html = render(data["vi"], "html").decode()
    assert html == render(data["vi"], "html").decode()  # deterministic, charts included
    assert html.count('src="data:image/svg+xml;base64,') == 3
    outside_data = re.sub(r'data:[^"]+', "", html)
    assert not re.search(r'(src|href)="(https?:)?//', outside_data), "the page must not fetch anything"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "Bảng 4. Kết quả và xếp loại theo đơn vị" in html

    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        if IN_CI:
            pytest.fail("chromium is not installed (CI installs it with apt-get install chromium)")
        pytest.skip("chromium is not installed here: install it with `apt-get install -y chromium` to render the HTML")
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "report-monthly.html"
    png = ARTIFACTS / "report-monthly.png"
    page.write_text(html, encoding="utf-8")
    png.unlink(missing_ok=True)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path}",
                    f"--screenshot={png}", "--window-size=1280,2000", page.as_uri()],
                   check=True, capture_output=True, timeout=60)
    from PIL import Image

    with Image.open(png) as img:
        assert img.size == (1280, 2000)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20) or []
    # text, tables and the charts' colours: far from a blank page
    assert len(colours) > 200
    assert any(abs(r - 0xC6) < 12 and abs(g - 0x28) < 12 and abs(b - 0x28) < 12 for _, (r, g, b) in colours), \
        "the red of the overdue slice should be on screen"

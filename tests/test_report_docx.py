"""The DOCX report of the demo story as a standing agency would sign and send it (Nghị định
30/2020/NĐ-CP layout), checked in the file itself and as LibreOffice renders it.

The LibreOffice test converts the monthly and the quarterly report to PDF (``soffice --headless
--convert-to pdf``) and checks that every page is A4 and that no table column is narrower than
its longest word. That check reads the PDF's words with ``pdftotext -bbox`` and asks every one to
be a whole word of the document: a word broken across lines in a narrow cell ("Sở Kho/a học",
"Hạn/g") shows up as fragments that are not words of the document ("Kho", "a", "Hạn" and "g" do
not occur as words; a fragment that happens to be a real word is still caught by its partner).
It needs no knowledge of where the cells are, so it cannot be fooled by cell geometry, and it is
what a reader sees. PNGs of the first page, the page with Bảng 4 and the signature page land in
test-artifacts/report-docx/ for a person to look at.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import unicodedata
from datetime import time as dtime
from pathlib import Path

import pytest

from engine import clock
from engine import db as dbmod
from engine.db import transaction
from engine.render import render
from engine.reporting import build_report

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "report-docx"
IN_CI = os.environ.get("CI", "").lower() == "true"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
REPORTS = (("monthly", "2025-07"), ("quarterly", "2025-Q2"))


@pytest.fixture(scope="module")
def reports(_sqlite_template, tmp_path_factory) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """The demo story's monthly (7/2025) and quarterly (Q2/2025) report data, as cli/demo_run.py
    builds them (directory, 80-task plan, scripted history; as of 01/08/2025)."""
    from cli.demo_run import AS_OF, LOAD_AT, PLAN_CODE, PLANS
    from engine.directory_store import parse_directory_file, store_directory
    from engine.history import replay_history
    from engine.planfile.loader import load_plan_file

    path = tmp_path_factory.mktemp("docx") / "steer.db"
    shutil.copy(_sqlite_template, path)
    eng = dbmod.make_engine(f"sqlite:///{path}")
    try:
        now = clock.local_datetime(LOAD_AT, dtime(8, 0))
        with transaction(eng) as s:
            store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=now)
        load_plan_file(eng, PLANS / "sample-plan.yaml", now=now)
        replay_history(eng, PLANS / "sample-history.yaml")
        with transaction(eng) as s:
            return {kind: build_report(s, plan_code=PLAN_CODE, kind=kind, period=period, as_of=AS_OF)
                    for kind, period in REPORTS}
    finally:
        eng.dispose()


def _doc(data):  # type: ignore[no-untyped-def]
    from docx import Document

    return Document(io.BytesIO(render(data, "docx")))


def _tables_by_section(doc) -> list[tuple[int, list]]:  # type: ignore[no-untyped-def]
    """(text width in twips, [tables]) per section, in document order."""
    body = doc.element.body
    out, tables = [], []
    for el in body.iterchildren():
        if el.tag == W + "tbl":
            tables.append(el)
        sect = el if el.tag == W + "sectPr" else el.find(f"{W}pPr/{W}sectPr")
        if sect is not None:
            pg, mar = sect.find(W + "pgSz"), sect.find(W + "pgMar")
            width = int(pg.get(W + "w")) - int(mar.get(W + "left")) - int(mar.get(W + "right"))
            out.append((width, tables))
            tables = []
    return out


@pytest.mark.parametrize("kind", [k for k, _ in REPORTS])
def test_every_table_has_fixed_column_widths_adding_up_to_the_text_width(reports, kind):
    doc = _doc(reports[kind])
    sections = _tables_by_section(doc)
    assert sum(len(t) for _, t in sections) == len(doc.tables) >= 12
    for width, tables in sections:
        for tbl in tables:
            grid = [int(c.get(W + "w")) for c in tbl.findall(f"{W}tblGrid/{W}gridCol")]
            assert grid and sum(grid) == width, (grid, width)
            assert tbl.find(f"{W}tblPr/{W}tblLayout").get(W + "type") == "fixed"
            tblw = tbl.find(f"{W}tblPr/{W}tblW")
            assert tblw.get(W + "type") == "dxa" and int(tblw.get(W + "w")) == width
            for tr in tbl.findall(W + "tr"):
                cells = [int(tc.find(f"{W}tcPr/{W}tcW").get(W + "w")) for tc in tr.findall(W + "tc")]
                assert cells == grid
    # the data tables (bordered): header row repeated on every page, no row split across pages
    data_tables = [t for _, ts in sections for t in ts
                   if t.find(f"{W}tblPr/{W}tblStyle") is not None]
    assert len(data_tables) >= 10
    for tbl in data_tables:
        rows = tbl.findall(W + "tr")
        assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
        assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows)


def test_header_block_numbering_signature_and_names_follow_the_decree(reports):
    data = reports["monthly"]
    doc = _doc(data)
    sec = doc.sections[0]
    assert (sec.page_width.cm, sec.page_height.cm) == pytest.approx((21.0, 29.7), abs=0.01)
    assert 2.0 <= sec.top_margin.cm <= 2.5 and 2.0 <= sec.bottom_margin.cm <= 2.5
    assert 3.0 <= sec.left_margin.cm <= 3.5 and 1.5 <= sec.right_margin.cm <= 2.0
    assert doc.styles["Normal"].font.name == "Times New Roman" and doc.styles["Normal"].font.size.pt in (13, 14)
    # header: parent body, then the committee in bold, in balanced lines none of which is one word
    (left, right), (number, place) = ([c for c in r.cells] for r in doc.tables[0].rows)
    authority, committee = left.paragraphs[0], left.paragraphs[1]
    assert authority.text == "UBND TỈNH LÂM SƠN" and not any(r.bold for r in authority.runs)
    lines = committee.text.split("\n")
    assert " ".join(lines) == data["committee"]["name"].upper() and all(r.bold for r in committee.runs)
    assert len(lines) >= 2 and all(len(line.split()) >= 2 for line in lines)
    widths = [len(line) for line in lines]
    assert max(widths) - min(widths) <= 12, lines  # balanced
    assert [p.text for p in right.paragraphs[:2]] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert number.text.startswith("Số:") and number.text.endswith("/BC-BCĐ")
    # Nghị định 30: a day below 10 with a leading zero, months from March on without
    assert data["as_of"] == "2025-08-01"
    assert place.text == "Lâm Sơn, ngày 01 tháng 8 năm 2025" and all(r.italic for r in place.paragraphs[0].runs)
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert not re.search(r"tháng 0[3-9]\b", text)
    assert "Tình hình thực hiện Kế hoạch số 45/KH-UBND tháng 7/2025" in text
    # tables numbered 1..n in order, no gap
    numbers = [int(m.group(1)) for p in doc.paragraphs if (m := re.match(r"Bảng (\d+)\. ", p.text))]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 10
    # page numbers: a PAGE field in the header, not on the first page
    assert sec.different_first_page_header_footer
    assert "PAGE" in "".join(sec.header._element.itertext())
    # Nơi nhận and the signature: title and the chair's name from the directory
    sign = next(t for t in doc.tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    to, signer = sign.rows[0].cells
    assert "- Lưu: VT." in to.text
    chair = data["committee"]["signer"]
    assert chair["role"] == "chair" and chair["name"]
    assert [p.text for p in signer.paragraphs if p.text] == ["TM. BAN CHỈ ĐẠO", "TRƯỞNG BAN", chair["name"]]
    # appendix «Tiến độ» names units, never codes
    appendix = doc.tables[-1]
    head = [c.text for c in appendix.rows[0].cells]
    progress = [r.cells[head.index("Tiến độ")].text for r in appendix.rows[1:]]
    overdue = [p for p in progress if "quá hạn:" in p]
    assert overdue and not any(re.search(r"\b[A-Z][A-Z0-9_]{2,}\b", p.split("quá hạn:")[1]) for p in overdue)


def test_the_issue_date_is_written_as_the_decree_says():
    from engine.render.labels import long_date

    assert long_date("2025-08-01") == "ngày 01 tháng 8 năm 2025"
    assert long_date("2025-02-05") == "ngày 05 tháng 02 năm 2025"
    assert long_date("2025-01-20") == "ngày 20 tháng 01 năm 2025"
    assert long_date("2025-11-15") == "ngày 15 tháng 11 năm 2025"
    assert long_date("2025-08-01", "en") == "1 August 2025"


@pytest.mark.parametrize("name", [
    "BAN CHỈ ĐẠO VỀ PHÁT TRIỂN KHOA HỌC, CÔNG NGHỆ, ĐỔI MỚI SÁNG TẠO VÀ CHUYỂN ĐỔI SỐ TỈNH LÂM SƠN",
    "BAN CHỈ ĐẠO THỰC HIỆN CÁC CHƯƠNG TRÌNH MỤC TIÊU QUỐC GIA TỈNH LÂM SƠN",
    "BAN CHỈ ĐẠO CẢI CÁCH HÀNH CHÍNH TỈNH LÂM SƠN",
    "ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH",
])
def test_header_names_break_into_even_lines_without_a_word_alone(name):
    from engine.render.docx import HEADER_LEFT
    from engine.render.layout import balanced_lines, text_width

    lines = balanced_lines(name, HEADER_LEFT, 12.5, bold=True)
    assert " ".join(lines) == name
    assert all(text_width(line, 12.5, bold=True) <= HEADER_LEFT for line in lines)
    assert all(len(line.split()) >= 2 for line in lines), lines
    assert not any(line.endswith(("TỈNH", "THÀNH PHỐ", "LÂM")) for line in lines[:-1]), lines  # place names whole


def test_a_vice_chair_signs_for_the_chair(reports):
    data = dict(reports["monthly"])
    data["committee"] = {**data["committee"], "signer": {"person": "pct_tt", "name": "Trần Quốc Bình",
                                                        "title": None, "role": "vice_chair"}}
    sign = next(t for t in _doc(data).tables if t.rows[0].cells[0].text.startswith("Nơi nhận:"))
    assert [p.text for p in sign.rows[0].cells[1].paragraphs if p.text] == [
        "KT. TRƯỞNG BAN", "PHÓ TRƯỞNG BAN", "Trần Quốc Bình"]


def test_xlsx_has_real_dates_in_times_new_roman(reports):
    from datetime import datetime

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(render(reports["monthly"], "xlsx")))
    dates = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, datetime)]
    assert dates and all(c.number_format == "dd/mm/yyyy" for c in dates)
    assert not [c.value for ws in wb for row in ws.iter_rows() for c in row
                if isinstance(c.value, str) and re.fullmatch(r"\d\d/\d\d/\d{4}", c.value)]
    fonts = {c.font.name for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}
    assert fonts == {"Times New Roman"}
    for ws in wb:
        assert ws.freeze_panes is not None
        widths = [d.width for d in ws.column_dimensions.values()]
        assert widths and all(8 <= w <= 60 for w in widths)


# --- rendered by LibreOffice ------------------------------------------------------------------

def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not installed (Debian: apt-get install libreoffice-writer-nogui poppler-utils)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _words(text: str) -> set[str]:
    return {unicodedata.normalize("NFKC", w) for w in text.split()}


def _document_words(doc) -> set[str]:  # type: ignore[no-untyped-def]
    """Every whitespace-separated word of the document, header block and tables included."""
    words: set[str] = set()
    for p in doc.element.body.iter(W + "p"):
        words |= _words("".join(t.text or "" if t.tag == W + "t" else "-" if t.tag == W + "noBreakHyphen" else " "
                                for t in p.iter(W + "t", W + "br", W + "noBreakHyphen")))
    return words


def _pdf_pages(pdf: Path) -> list[list[str]]:
    """The words of each page, as pdftotext -bbox reads them."""
    out = subprocess.run([_tool("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    pages = out.split("<page ")[1:]
    return [[unicodedata.normalize("NFKC", _unescape(w)).replace("\u2010", "-") for w in re.findall(r"<word [^>]*>([^<]*)</word>", page)]
            for page in pages]


def _unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#39;", "'").replace("&amp;", "&")


@pytest.fixture(scope="module")
def rendered(reports, tmp_path_factory) -> dict[str, tuple[Path, object]]:  # type: ignore[no-untyped-def]
    soffice = _tool("soffice")
    _tool("pdftoppm")
    tmp = tmp_path_factory.mktemp("lo")
    out = {}
    for kind, _ in REPORTS:
        docx = tmp / f"bao-cao-{kind}.docx"
        docx.write_bytes(render(reports[kind], "docx"))
        # a private profile, so a LibreOffice already running elsewhere does not take the job
        subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to", "pdf",
                        "--outdir", str(tmp), str(docx)], check=True, capture_output=True, timeout=300)
        out[kind] = (tmp / f"bao-cao-{kind}.pdf", _doc(reports[kind]))
    return out


@pytest.mark.parametrize("kind", [k for k, _ in REPORTS])
def test_libreoffice_renders_a4_pages_with_no_word_broken_in_a_cell(rendered, kind):
    pdf, doc = rendered[kind]
    info = subprocess.run([_tool("pdfinfo"), "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert len(sizes) >= 5
    for w, h in sizes:
        assert sorted((round(float(w)), round(float(h)))) == [595, 842], (w, h)  # A4, either way round
    assert float(sizes[0][0]) < float(sizes[0][1])  # the first page is portrait

    pages = _pdf_pages(pdf)
    known = _document_words(doc)
    broken = [(i + 1, w) for i, page in enumerate(pages) for w in page
              if w not in known and not w.isdigit()]  # page numbers are fields
    assert not broken, f"words broken across lines (page, fragment): {broken[:20]}"

    # the Quốc hiệu and the Tiêu ngữ each on one line, the committee's lines as balanced
    layout = subprocess.run([_tool("pdftotext"), "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout
    lines = [" ".join(line.split()) for line in layout.splitlines()]
    assert any("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in line for line in lines)
    assert any("Độc lập - Tự do - Hạnh phúc" in line for line in lines)
    for name_line in doc.tables[0].rows[0].cells[0].paragraphs[1].text.split("\n"):
        assert any(name_line in line for line in lines), name_line

    # page numbers at the top of every page but the first, landscape pages included
    for number in range(1, len(sizes) + 1):
        page = subprocess.run([_tool("pdftotext"), "-layout", "-f", str(number), "-l", str(number), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        top = next(line.strip() for line in page.splitlines() if line.strip())
        assert (top == str(number)) == (number > 1), (number, top)

    # PNGs for a person to look at: first page, the page with Bảng 4, the signature page
    def page_of(words: list[str]) -> int:
        for i, page in enumerate(pages):
            text = " ".join(page)
            if all(w in text for w in words):
                return i + 1
        raise AssertionError(f"no page with {words}")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    signer = doc.tables[-2].rows[0].cells[1].paragraphs[-1].text
    for name, number in (("page1", 1), ("bang4", page_of(["Bảng 4."])),
                         ("signature", page_of(["Nơi nhận:", signer]))):
        base = ARTIFACTS / f"{kind}-{name}"
        subprocess.run([_tool("pdftoppm"), "-r", "80", "-png", "-singlefile", "-f", str(number), "-l", str(number),
                        str(pdf), str(base)], check=True, timeout=120)
        assert base.with_suffix(".png").stat().st_size > 10_000
    shutil.copy(pdf, ARTIFACTS / pdf.name)

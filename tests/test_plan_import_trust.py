"""Issue 16: plan import a secretariat can trust.

Real annexes read right (the Đắk Nông provincial annex as Excel, Word and a Word file converted
from its PDF, whose cells keep the printed line wraps), nothing dropped (unplaced columns are
named and kept), nothing reassigned silently (successor agencies shown), plan identity from the
title block, and the checks of point 6.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod
from engine.db import transaction
from engine.directory import Directory
from engine.models import Event, Plan, Task, WorkItem
from engine.planfile.identity import Choices, code_from_document, code_from_filename, document_key, identify
from engine.planfile.loader import load_plan_file, load_plan_spec, validate_file
from engine.planfile.read_table import RawRow, match_header, rows_to_plan
from engine.planfile.readers import read_plan_file
from engine.planfile.validate import join_unit_lines, validate_plan
from engine.states import Status
from engine.timeliness import Timeliness, classify
from tests.realdata import REAL_PLANS, annex_rows, plain, section_numeral

DK = REAL_PLANS / "dknong-mobile-network-annex.md"
DK_WRAP = REAL_PLANS / "dknong-mobile-network-annex.pdfwrap.md"
STD = Directory.standard()
NOW = datetime(2025, 6, 2, 3, 0, tzinfo=timezone.utc)
runner = CliRunner()


def steer(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", db_url, *args], catch_exceptions=False)


# --- the Đắk Nông annex as the files a secretariat gets ------------------------------------------


def _cell(text: str) -> str:
    return plain(text).replace("<br>", "\n")


def _dk_table(header_for_results: str | None = None) -> tuple[list[str], list[list[str]]]:
    """(title lines, rows with the header first) of the clean annex."""
    lines = DK.read_text(encoding="utf-8").split("---", 1)[1].splitlines()
    titles = [s.strip() for s in lines if s.strip() and not s.strip().startswith("|")]
    _, rows = annex_rows(DK)
    rows = [[_cell(c) for c in r] for r in rows]
    if header_for_results:
        rows[0][5] = header_for_results
    return titles, rows


def _dk_wrapped() -> tuple[list[str], list[list[str]]]:
    """The PDF-converted layout: the wrapped cells of the first five columns (pdfwrap.md), the
    results and note columns from the clean table (as the shared file says)."""
    titles, clean = _dk_table()
    _, wrapped = annex_rows(DK_WRAP)
    assert len(wrapped) == len(clean)
    return titles, [[_cell(c) for c in w[:5]] + c[5:] for w, c in zip(wrapped, clean)]


def _write_xlsx(dest: Path, titles: list[str], rows: list[list[str]]) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    r = 1
    for line in titles:
        ws.cell(r, 1, line)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(rows[0]))
        r += 1
    r += 1
    for row in rows:
        for c, text in enumerate(row, start=1):
            if text:
                ws.cell(r, c, text).alignment = Alignment(wrap_text=True, vertical="top")
        r += 1
    wb.save(dest)
    return dest


def _write_docx(dest: Path, titles: list[str], rows: list[list[str]]) -> Path:
    import docx

    document = docx.Document()
    for line in titles:
        document.add_paragraph(line)
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for trow, row in zip(table.rows, rows):
        cells = trow.cells
        if section_numeral(row[0]) and not any(row[2:]):
            cells[0].text = row[0]
            merged = cells[1].merge(cells[-1])
            merged.text = row[1]
            continue
        for cell, text in zip(cells, row):
            # a line break inside a cell as Word keeps it from a PDF: one paragraph per printed line
            lines = text.split("\n")
            cell.text = lines[0]
            for more in lines[1:]:
                cell.add_paragraph(more)
    document.save(dest)
    return dest


def _dk_files(tmp_path: Path) -> dict[str, Path]:
    titles, rows = _dk_table()
    wtitles, wrows = _dk_wrapped()
    return {
        "xlsx": _write_xlsx(tmp_path / "Phụ lục KH chất lượng mạng.xlsx", titles, rows),
        "docx": _write_docx(tmp_path / "phu-luc.docx", titles, rows),
        "pdfwrap-docx": _write_docx(tmp_path / "phu-luc-tu-pdf.docx", wtitles, wrows),
        "pdfwrap-xlsx": _write_xlsx(tmp_path / "phu-luc-tu-pdf.xlsx", wtitles, wrows),
        "md": DK,
    }


# task code -> (section, leads after successors, deadline due, deadline kind)
DK_EXPECTED = {
    "1": ("I", ["DN_VIEN_THONG"], date(2025, 12, 31), "date"),
    "2": ("I", ["SKHCN"], date(2025, 12, 31), "date"),
    "3": ("I", ["DN_VIEN_THONG", "CQ_DV"], date(2025, 12, 31), "date"),
    "4": ("II", ["DN_VIEN_THONG"], date(2025, 12, 31), "date"),
    "5": ("III", ["UBND_HUYEN"], None, "ongoing"),
    "6": ("III", ["SKHCN"], None, "ongoing"),
    "7": ("IV", ["SKHCN"], None, "ongoing"),
}


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


@pytest.mark.parametrize("fmt", ["xlsx", "docx", "pdfwrap-docx", "pdfwrap-xlsx", "md"])
def test_dknong_annex_every_row_read_right_in_every_layout(tmp_path, fmt):
    path = _dk_files(tmp_path)[fmt]
    vp = validate_plan(read_plan_file(path), STD)
    assert vp.ok, vp.errors
    _, clean = _dk_table()
    deliverables = {r[0]: r[5] for r in clean[1:] if not section_numeral(r[0])}
    assert [s.code for s in vp.spec.sections] == ["I", "II", "III", "IV"]
    assert {t.code for t in vp.tasks} == set(DK_EXPECTED)
    for t in vp.tasks:
        section, leads, due, kind = DK_EXPECTED[t.code]
        assert t.section == section, t.code
        assert [u.code for u in t.lead] == leads, (t.code, [u.code for u in t.lead])
        assert (t.deadline.due, t.deadline.kind) == (due, kind), (t.code, t.deadline)
        assert "\n" not in t.deadline.text and "\n" not in t.title, (t.code, t.deadline.text, t.title)
        assert _lines(t.deliverable) == _lines(deliverables[t.code]), t.code
    assert {u.code for t in vp.tasks for u in t.lead} == {"DN_VIEN_THONG", "SKHCN", "CQ_DV", "UBND_HUYEN"}
    # the title of task 1 as printed over three lines is one line again
    assert vp.tasks[0].title == "Tập trung mở rộng vùng phủ sóng, chất lượng mạng viễn thông di động 4G, 5G"
    # no junk units: the only new unit is the one phrase the directory does not know, whole
    assert sorted(u.name for u in vp.new_units.values()) == ["UBND các huyện, thành phố Gia Nghĩa"]
    # the Sở TT&TT is the Sở KH&CN today: shown, and the name as written is kept on the task
    told = [i for i in vp.warnings if i.code == "successor"]
    assert any("Sở Thông tin và Truyền thông" in i.message and "Sở Khoa học và Công nghệ" in i.message for i in told)
    t2 = next(t for t in vp.tasks if t.code == "2")
    assert t2.lead[0].former == "Sở Thông tin và Truyền thông" and t2.spec.lead == ["Sở Thông tin và Truyền thông"] \
        or "Sở Thông tin và" in t2.spec.lead[0]
    # every column is placed: nothing is reported unread, the "Quy mô, mục tiêu, kết quả" text is the deliverable
    assert not [i for i in vp.warnings if i.code in ("unmapped_column", "no_deliverable")]


def test_dknong_pdfwrap_loads_with_the_original_names_kept_and_no_junk_units(db_url, tmp_path):
    path = _dk_files(tmp_path)["pdfwrap-docx"]
    r = load_plan_file(dbmod.make_engine(db_url), path, now=NOW, code="DK-KH")
    assert r.created and r.tasks == 7 and r.new_units == ["NEW_UCHTPGN"]
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        lead_text = dict(s.execute(select(Task.code, Task.lead_text)).all())
    eng.dispose()
    assert " ".join(lead_text["2"].split()) == "Sở Thông tin và Truyền thông"  # as written, successor SKHCN


def test_an_unplaced_column_is_named_kept_in_the_note_and_can_be_mapped(db_url, tmp_path):
    titles, rows = _dk_table(header_for_results="Chỉ tiêu, quy mô thực hiện")
    assert match_header("Chỉ tiêu, quy mô thực hiện") is None
    path = _write_xlsx(tmp_path / "dk.xlsx", titles, rows)
    vp = validate_file(dbmod.make_engine(db_url), path)
    unread = [i for i in vp.warnings if i.code == "unmapped_column"]
    assert len(unread) == 1 and "Chỉ tiêu, quy mô thực hiện" in unread[0].message
    assert unread[0].ref.column == "Chỉ tiêu, quy mô thực hiện"
    assert all(t.spec.extra.get("Chỉ tiêu, quy mô thực hiện") for t in vp.tasks)
    # loaded without a mapping: the text is in the note, never dropped
    load_plan_file(dbmod.make_engine(db_url), path, now=NOW, code="DK-A")
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        note = s.execute(select(Task.note).join(Plan).where(Plan.code == "DK-A", Task.code == "1")).scalar_one()
    eng.dispose()
    assert note.startswith("Chỉ tiêu, quy mô thực hiện: Tập trung mở rộng vùng phủ sóng")
    # --map places it (CLI, validate and load)
    r = steer(db_url, "plan", "validate", str(path), "--map", "Chỉ tiêu, quy mô thực hiện=deliverable", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert not [w for w in out["warnings"] if w["code"] in ("unmapped_column", "no_deliverable")]
    r = steer(db_url, "plan", "load", str(path), "--code", "DK-B", "--map", "Chỉ tiêu=deliverable", "--dry-run",
              "--format", "json")
    assert r.exit_code == 0, r.output
    preview = json.loads(r.output)["preview"]
    assert preview["tasks"][0]["deliverable"].startswith("Tập trung mở rộng vùng phủ sóng")
    assert preview["unmapped_columns"] == []
    r = steer(db_url, "plan", "validate", str(path), "--map", "Không có cột này=deliverable")
    assert r.exit_code == 1 and "Chỉ tiêu, quy mô thực hiện" in r.output
    r = steer(db_url, "plan", "validate", str(path), "--map", "Chỉ tiêu=owner")
    assert r.exit_code == 1 and "deliverable" in r.output


@pytest.mark.parametrize("header,logical", [
    ("Quy mô, mục tiêu, kết quả", "deliverable"), ("Mục tiêu, kết quả", "deliverable"),
    ("Sản phẩm đầu ra", "deliverable"), ("Kết quả, sản phẩm", "deliverable"), ("Nhiệm vụ thực hiện", "title"),
    ("Nội dung công việc", "title"), ("Đơn vị chủ trì/thực hiện", "lead"), ("Đơn vị chủ trì / thực hiện", "lead"),
    ("Thời gian thực hiện", "deadline"), ("Tiến độ thực hiện", "status"), ("Tiến độ (đến 24/5/2025)", "status"),
])
def test_header_variants_of_real_annexes(header, logical):
    assert match_header(header) == logical


def test_two_row_header_and_progress_column_as_timeline():
    rows = [RawRow(1, ("TT", "Nội dung công việc", "Cơ quan thực hiện", "", "Kết quả, sản phẩm", "Tiến độ thực hiện")),
            RawRow(2, ("", "", "Chủ trì", "Phối hợp", "", "")),
            RawRow(3, ("1", "Xây dựng\nquy hoạch", "Sở TT&TT", "DNVT", "Quy hoạch", "Quý II/2025"))]
    plan = rows_to_plan(rows, source="x.csv", fmt="csv")
    t = plan.tasks[0]
    assert (t.title, t.lead, t.coordinating, t.deliverable, t.deadline_text) == (
        "Xây dựng quy hoạch", ["Sở TT&TT"], ["DNVT"], "Quy hoạch", "Quý II/2025")
    assert plan.extra_columns == []


# --- units ----------------------------------------------------------------------------------------

SPELLINGS = [
    ("các đơn vị có liên quan", ["CQ_DV"]), ("Các đơn vị liên quan", ["CQ_DV"]), ("các đơn vị  có liên quan", ["CQ_DV"]),
    ("các cơ quan, đơn vị có liên quan", ["CQ_DV"]), ("Các cơ quan, đơn vị liên quan", ["CQ_DV"]),
    ("Các cơ quan có liên quan", ["CQ_DV"]), ("DNVT", ["DN_VIEN_THONG"]), ("Các DNVT", ["DN_VIEN_THONG"]),
    ("các doanh nghiệp viễn thông", ["DN_VIEN_THONG"]), ("Các Doanh nghiệp  viễn thông", ["DN_VIEN_THONG"]),
    ("Sở TT&TT", ["SKHCN"]), ("Sở TT & TT", ["SKHCN"]), ("Sở Thông tin và Truyền thông", ["SKHCN"]),
    ("sở thông tin và truyền thông", ["SKHCN"]), ("Sở KH&CN", ["SKHCN"]),
    ("UBND các huyện, thành phố", ["UBND_HUYEN"]), ("Ủy ban nhân dân các huyện, thành phố", ["UBND_HUYEN"]),
    ("Uỷ ban nhân dân cấp huyện", ["UBND_HUYEN"]), ("UBND tỉnh", ["UBND_TINH"]), ("Ủy ban nhân dân tỉnh", ["UBND_TINH"]),
    ("Văn phòng UBND tỉnh", ["VP_UBND_TINH"]), ("các sở, ban, ngành có liên quan", ["SO_BAN_NGANH"]),
    ("Các sở, ngành liên quan", ["SO_BAN_NGANH"]), ("Các bộ, ngành, địa phương có liên quan", ["BO_NGANH_DP"]),
    ("Bộ, ngành, địa phương", ["BO_NGANH_DP"]), ("Các bộ, ngành có liên quan", ["CAC_BO_NGANH"]),
    ("Các địa phương có liên quan", ["CAC_DP"]), ("Các doanh nghiệp có liên quan", ["DOANH_NGHIEP"]),
    ("Bộ TT&TT", ["BKHCN"]), ("Bộ Thông tin và Truyền thông", ["BKHCN"]), ("Bộ KH&ĐT", ["BTC"]),
    ("Bộ Tài nguyên và môi trường", ["BNNMT"]), ("Bộ Công An", ["BCA"]), ("Sở Giao thông vận tải", ["SXD"]),
    ("Sở Kế hoạch và Đầu tư", ["STC"]), ("Sở LĐ-TB&XH", ["SNV"]), ("Sở Văn hoá, Thể thao và Du lịch", ["SVHTTDL"]),
    # "X và các đơn vị có liên quan": X and the group
    ("Các DNVT và các đơn vị  có liên quan", ["DN_VIEN_THONG", "CQ_DV"]),
    ("Sở Thông tin và Truyền thông và các đơn vị có liên quan", ["SKHCN", "CQ_DV"]),
    ("UBND các huyện, thành phố và các đơn vị có liên quan", ["UBND_HUYEN", "CQ_DV"]),
    ("Sở TT&TT; UBND các huyện, thành phố và các đơn vị có liên quan", ["SKHCN", "UBND_HUYEN", "CQ_DV"]),
]


@pytest.mark.parametrize("cell,codes", SPELLINGS, ids=[s for s, _ in SPELLINGS])
def test_standard_directory_matches_real_spellings(cell, codes):
    assert [m.code for m in STD.split(cell)] == codes


def test_at_least_thirty_spellings_are_checked():
    assert len(SPELLINGS) >= 30


@pytest.mark.parametrize("cell,codes", [
    ("Sở Thông tin và\nTruyền thông", ["SKHCN"]),
    ("UBND các huyện,\nthành phố", ["UBND_HUYEN"]),
    ("Các doanh nghiệp\nviễn thông", ["DN_VIEN_THONG"]),
    ("Các DNVT và các\nđơn vị  có liên\nquan", ["DN_VIEN_THONG", "CQ_DV"]),
    ("Sở Thông tin và\nTruyền thông; các\ncơ quan, đơn vị\nliên quan", ["SKHCN", "CQ_DV"]),
    # a break between two known units, or before a new unit name, is a separator
    ("Bộ Tài chính\nBộ Công Thương", ["BTC", "BCT"]),
    ("Bộ Tài chính\nTrường Đại học Lâm Sơn", ["BTC", None]),
])
def test_a_line_break_in_a_unit_cell_separates_only_units(cell, codes):
    assert [m.code for m in STD.split(join_unit_lines(cell, STD))] == codes


def test_lead_naming_nobody_is_a_clear_person_warning(db_url, tmp_path):
    csv = ("TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành\n"
           "1,Rà soát,Các cơ quan liên quan,Báo cáo,31/12/2025\n"
           "2,Tổng hợp,Sở Ngoại vụ,Báo cáo,31/12/2025\n").encode()
    path = tmp_path / "kh.csv"
    path.write_bytes(csv)
    vp = validate_plan(read_plan_file(path), STD)
    nobody = [i for i in vp.warnings if i.code == "lead_nobody"]
    assert [i.task for i in nobody] == ["1"] and "rõ người" in nobody[0].message
    # the preview's assignment: the lead becomes the chosen unit, the warning goes
    spec = read_plan_file(path)
    from engine.planfile.identity import apply_choices

    apply_choices(spec, Choices(leads={"1": "STC"}))
    vp = validate_plan(spec, STD)
    assert [u.code for u in vp.tasks[0].lead] == ["STC"] and not [i for i in vp.warnings if i.code == "lead_nobody"]
    # with people in the directory, a unit nobody can act for is named too
    steer(db_url, "directory", "load", str(Path(__file__).resolve().parent.parent / "plans" / "sample-directory.yaml"))
    vp = validate_file(dbmod.make_engine(db_url), path, code="KH-N")
    assert {i.task for i in vp.warnings if i.code == "lead_nobody"} >= {"1"}


# --- plan identity ----------------------------------------------------------------------------------


def test_plan_identity_from_the_title_block_and_readable_file_name_codes():
    assert document_key("Kế hoạch số 99/KH-BCĐ") == "99/kh-bcd"
    assert document_key("Kế hoạch số /KH-STTTT") is None  # a draft: the number is blank
    assert code_from_document("Kế hoạch số 99/KH-BCĐ") == "99-KH-BCD"
    assert code_from_document("Chương trình hành động tại Nghị quyết số 03/NQ-CP", "Phụ lục II") == "03-NQ-CP-PL-II"
    assert code_from_filename("uploads/Phụ lục KH 99.xlsx") == "phu-luc-kh-99"
    rows = [RawRow(1, ("PHỤ LỤC II",)), RawRow(2, ("DANH MỤC NHIỆM VỤ",)),
            RawRow(3, ("(Kèm theo Kế hoạch số 99/KH-BCĐ ngày 20/8/2025 của Ban Chỉ đạo)",)),
            RawRow(4, ("TT", "Tên nhiệm vụ", "Cơ quan chủ trì", "Thời gian hoàn thành")),
            RawRow(5, ("1", "Việc", "Sở Nội vụ", "31/12/2025"))]
    spec = rows_to_plan(rows, source="Phụ lục KH 99.xlsx", fmt="xlsx")
    assert (spec.document, spec.issued_on, spec.annex) == ("Kế hoạch số 99/KH-BCĐ", date(2025, 8, 20), "Phụ lục II")
    assert identify(spec).code == "99-KH-BCD-PL-II"
    assert identify(spec, documents={"99/kh-bcd": "KH-99"}).code == "KH-99"
    spec.document = None
    ident = identify(spec)
    assert (ident.code, ident.source) == ("phu-luc-kh-99", "filename")
    vp = validate_plan(spec, STD)
    assert vp.code == "phu-luc-kh-99" and "--code" not in vp.warnings[0].message.split("(")[0]


def test_nq03_annex_code_comes_from_its_resolution_and_annex():
    spec = read_plan_file(REAL_PLANS / "nq03-annex2-tasks.md")
    assert spec.annex == "Phụ lục II" and spec.issued_on == date(2025, 1, 1)
    # the resolution number is blank in this draft: no code from it, the file name is the last resort
    assert identify(spec).source == "filename"
    spec.document = "Chương trình hành động tại Nghị quyết số 03/NQ-CP"
    assert identify(spec).code == "03-NQ-CP-PL-II"


def test_sample_xlsx_without_a_code_revises_kh_57_ls(db_url):
    plans = Path(__file__).resolve().parent.parent / "plans"
    assert steer(db_url, "directory", "load", str(plans / "sample-directory.yaml")).exit_code == 0
    assert steer(db_url, "plan", "load", str(plans / "sample-plan.yaml")).exit_code == 0
    r = steer(db_url, "plan", "load", str(plans / "sample-plan.xlsx"), "--dry-run", "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["plan_code"] == "KH-57-LS" and not d["created"]
    p = d["preview"]
    assert p["code_source"] == "existing" and p["revision_of"]["plan"] == "KH-57-LS"
    assert p["title"].startswith("Kế hoạch triển khai Nghị quyết")  # the plan keeps its title
    assert len(p["tasks"]) == 80 and p["tasks"][0]["deadline"] == {"text": "Quý II/2025", "due": "2025-06-30",
                                                                    "kind": "date", "recurrence": None}


# --- checks (point 6) -----------------------------------------------------------------------------


def _csv(tmp_path: Path, body: str, name: str = "kh.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("KẾ HOẠCH THỬ\n(Kèm theo Kế hoạch số 10/KH-UBND ngày 15/03/2025 của UBND tỉnh)\n" + body).encode())
    return path


def test_a_deadline_before_the_plan_date_is_born_overdue(tmp_path):
    path = _csv(tmp_path, "TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành\n"
                          "1,Việc cũ,Sở Nội vụ,Báo cáo,31/01/2025\n2,Việc mới,Sở Nội vụ,Báo cáo,31/12/2025\n")
    vp = validate_plan(read_plan_file(path), STD)
    born = [i for i in vp.warnings if i.code == "born_overdue"]
    assert [i.task for i in born] == ["1"] and "31/01/2025" in born[0].message and "15/03/2025" in born[0].message


def test_progress_without_a_completion_date_is_never_late_and_qua_han_is_overdue(db_url, tmp_path):
    path = _csv(tmp_path, "TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành,Tiến độ\n"
                          "1,Việc xong,Sở Nội vụ,Báo cáo,30/04/2025,Hoàn thành\n"
                          "2,Việc chậm,Sở Tư pháp,Báo cáo,30/04/2025,Quá hạn\n")
    load_plan_file(dbmod.make_engine(db_url), path, now=NOW, code="KH-P")
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        items = {t: (w.status, w.completion, w.deadline, w.completed_at) for w, t in s.execute(
            select(WorkItem, Task.code).join(Task)).all()}
    eng.dispose()
    status, completion, deadline, done_at = items["1"]
    assert (status, completion) == (Status.COMPLETED, "unknown")
    assert classify(status, deadline, done_at, date(2025, 6, 2), completion=completion) == Timeliness.COMPLETED
    r = steer(db_url, "task", "show", "KH-P/1", "--now", NOW.isoformat())
    assert r.exit_code == 0, r.output
    assert "trễ hạn" not in r.output and "chưa rõ thời điểm" in r.output
    status, completion, deadline, done_at = items["2"]
    assert status == Status.IN_PROGRESS
    assert classify(status, deadline, done_at, date(2025, 6, 2)) == Timeliness.OVERDUE
    r = steer(db_url, "task", "show", "KH-P/2", "--now", NOW.isoformat(), "--format", "json")
    assert json.loads(r.output)["timeliness"] == "overdue"


@pytest.mark.parametrize("how", ["option", "header"])
def test_status_date_dates_imported_statuses_and_a_report_of_that_day_sees_them(db_url, tmp_path, how):
    head = "Tiến độ (đến 24/5/2025)" if how == "header" else "Tiến độ"
    path = _csv(tmp_path, f"TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành,{head}\n"
                          "1,Việc xong,Sở Nội vụ,Báo cáo,30/04/2025,Hoàn thành\n"
                          "2,Việc đang làm,Sở Tư pháp,Báo cáo,31/12/2025,Đang thực hiện\n")
    args = ["--status-date", "24/05/2025"] if how == "option" else []
    r = steer(db_url, "plan", "load", str(path), "--code", "KH-S", "--now", NOW.isoformat(), *args)
    assert r.exit_code == 0, r.output
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        ats = {e.at.date() if e.at.tzinfo is None else e.at.astimezone(timezone.utc).date()
               for e in s.execute(select(Event).where(Event.actor == "import")).scalars()}
    eng.dispose()
    assert ats == {date(2025, 5, 23)}  # 24/05 00:00 in Hà Nội
    r = steer(db_url, "report", "monthly", "--plan", "KH-S", "--as-of", "2025-05-24", "--format", "json", "--no-store",
              "--now", NOW.isoformat())
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert "notice" not in data
    assert (data["summary"]["total"], data["summary"]["completed"]) == (2, 1), data["summary"]


def test_a_report_before_any_data_says_so(db_url, tmp_path):
    path = _csv(tmp_path, "TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành,Tiến độ\n"
                          "1,Việc xong,Sở Nội vụ,Báo cáo,30/04/2025,Hoàn thành\n")
    assert steer(db_url, "plan", "load", str(path), "--code", "KH-R", "--now", NOW.isoformat()).exit_code == 0
    r = steer(db_url, "report", "monthly", "--plan", "KH-R", "--as-of", "2025-05-24", "--format", "md", "--no-store",
              "--now", NOW.isoformat())
    assert r.exit_code == 0, r.output
    assert "chưa có dữ liệu nào tính đến ngày 24/05/2025" in r.output and "02/06/2025" in r.output
    assert re.search(r"chưa có dữ liệu nào tính đến ngày 24/05/2025", r.stdout)  # in the report itself too


def test_dry_run_json_preview_lists_units_warnings_by_row_and_new_plan(db_url, tmp_path):
    path = _dk_files(tmp_path)["pdfwrap-docx"]
    r = steer(db_url, "plan", "load", str(path), "--dry-run", "--format", "json")
    assert r.exit_code == 0, r.output
    p = json.loads(r.output)["preview"]
    assert p["revision_of"] is None and p["code_source"] == "filename" and p["code"] == "phu-luc-tu-pdf"
    assert [u["name"] for u in p["new_units"]] == ["UBND các huyện, thành phố Gia Nghĩa"]
    t2 = next(t for t in p["tasks"] if t["code"] == "2")
    assert t2["lead"][0]["code"] == "SKHCN" and t2["lead"][0]["former"] == "Sở Thông tin và Truyền thông"
    assert any(i["code"] == "successor" for t in p["tasks"] for i in t["issues"])
    t1 = next(t for t in p["tasks"] if t["code"] == "1")
    assert t1["nobody"] and t1["deadline"]["text"] == "2024-2025" and t1["deadline"]["due"] == "2025-12-31"
    assert _plan_count(db_url) == 0


def _plan_count(db_url: str) -> int:
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        n = len(s.execute(select(Plan.id)).all())
    eng.dispose()
    return n


def test_choices_set_identity_before_commit(db_url, tmp_path):
    path = _dk_files(tmp_path)["xlsx"]
    spec = read_plan_file(path)
    r = load_plan_spec(dbmod.make_engine(db_url), spec, now=NOW,
                       choices=Choices(code="KH-DK-2024", title="Kế hoạch nâng cao chất lượng mạng",
                                       document="Kế hoạch số 12/KH-STTTT", issued_on=date(2024, 7, 10)))
    assert r.plan_code == "KH-DK-2024"
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        plan = s.execute(select(Plan)).scalar_one()
    eng.dispose()
    assert (plan.title, plan.document, plan.issued_on) == ("Kế hoạch nâng cao chất lượng mạng",
                                                          "Kế hoạch số 12/KH-STTTT", date(2024, 7, 10))
    # the same file again, without a code: it names the same document now? no: the file's own
    # document is a blank draft number, so it stays a new plan unless the code is given
    spec = read_plan_file(path)
    assert identify(spec, documents={"12/kh-stttt": "KH-DK-2024"}).source == "filename"

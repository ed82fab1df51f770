"""Plan-file readers: the real 140-task annex in three formats, CSV/Excel/Word quirks,
YAML shape checks, and junk that must become one clear PlanFileError."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from engine.planfile.readers import read_plan_bytes, read_plan_file
from engine.planfile.spec import PlanFileError, PlanSpec
from tests.realdata import (
    ANNEX2,
    annex_row_lines,
    annex_rows,
    plain,
    write_annex_docx,
    write_annex_xlsx,
)

# --------------------------------------------------------------------------
# The real annex (Phụ lục II, 140 tasks) as Markdown, Excel and Word
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def annex_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("annex")
    return {
        "md": ANNEX2,
        "xlsx": write_annex_xlsx(d / "phu-luc-2.xlsx"),
        "docx": write_annex_docx(d / "phu-luc-2.docx"),
    }


@pytest.fixture(scope="module")
def annex(annex_files: dict[str, Path]) -> dict[str, PlanSpec]:
    return {fmt: read_plan_file(path) for fmt, path in annex_files.items()}


FORMATS = ("md", "xlsx", "docx")


def _by_code(plan: PlanSpec) -> dict:
    return {t.code: t for t in plan.tasks}


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_annex_has_140_tasks_in_seven_roman_sections(annex, fmt):
    plan = annex[fmt]
    assert plan.format == fmt
    assert len(plan.tasks) == 140
    assert [s.code for s in plan.sections] == ["I", "II", "III", "IV", "V", "VI", "VII"]
    assert [t.code for t in plan.tasks] == [str(n) for n in range(1, 141)]
    assert plan.sections[2].title.startswith("Tăng cường đầu tư, hoàn thiện hạ tầng")


@pytest.mark.parametrize("fmt", ("xlsx", "docx"))
def test_real_annex_reads_the_same_from_excel_and_word_as_from_markdown(annex, fmt):
    def cells(plan: PlanSpec) -> list[tuple]:
        return [
            (t.code, t.title, t.section, t.lead, t.coordinating, t.deliverable, t.deadline_text)
            for t in plan.tasks
        ]

    assert cells(annex[fmt]) == cells(annex["md"])
    assert [(s.code, s.title) for s in annex[fmt].sections] == [
        (s.code, s.title) for s in annex["md"].sections
    ]
    assert annex[fmt].tasks[0].columns == annex["md"].tasks[0].columns


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_annex_cells_are_read_as_written(annex, fmt):
    t = _by_code(annex[fmt])
    assert t["1"].lead == ["Bộ Khoa học và Công nghệ"]
    assert t["1"].coordinating == [
        "Ban Tuyên giáo Trung ương; các bộ, ngành, địa phương; VTV, VOV, TTXVN"
    ]
    assert t["1"].deliverable == "Quyết định của Thủ tướng Chính phủ"
    assert t["1"].deadline_text == "6/2025"
    assert t["123"].deadline_text == "Quý II/2025"
    assert t["3"].deliverable == ""
    assert t["1"].ref("deadline").column == "Thời gian hoàn thành"


@pytest.mark.parametrize("fmt", FORMATS)
def test_footnote_mark_is_removed_from_task_108_title(annex, fmt):
    title = _by_code(annex[fmt])["108"].title
    assert "¹" not in title
    assert "kết nối với Đề án 06, gồm: (1) Định danh tàu thuyền" in title


@pytest.mark.parametrize("fmt", FORMATS)
def test_task_42_has_empty_deliverable_and_deadline(annex, fmt):
    task = _by_code(annex[fmt])["42"]
    assert task.title.startswith("Đề án huy động hạ tầng viễn thông")
    assert (task.deliverable, task.deadline_text) == ("", "")
    assert task.lead == ["Bộ Công an"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_stray_text_in_section_iv_row_is_not_a_task(annex, fmt):
    plan = annex[fmt]
    assert all(not t.code.startswith("R") for t in plan.tasks)
    assert all(t.deadline_text != "năm tiếp theo" for t in plan.tasks)
    section_iv = plan.sections[3]
    assert section_iv.code == "IV"
    assert section_iv.title.startswith("Phát triển, trọng dụng nhân lực chất lượng cao")
    assert "năm tiếp theo" not in section_iv.title


@pytest.mark.parametrize("fmt", FORMATS)
def test_tasks_belong_to_the_section_row_above_them(annex, fmt):
    t = _by_code(annex[fmt])
    assert t["45"].section == "III"
    assert (t["1"].section, t["13"].section, t["14"].section) == ("I", "I", "II")
    assert (t["76"].section, t["77"].section, t["140"].section) == ("III", "IV", "VII")


def test_markdown_rows_are_source_line_numbers(annex):
    lines = ANNEX2.read_text(encoding="utf-8").splitlines()
    for task in annex["md"].tasks:
        cells = [c.strip() for c in lines[task.source.row - 1].strip().strip("|").split("|")]
        assert plain(cells[0]).rstrip(".") == task.code
        assert cells[1].startswith(task.title[:40])
    assert "**IV.**" in lines[annex["md"].sections[3].source.row - 1]
    assert annex["md"].tasks[0].source.row == annex_row_lines()[2]


def test_excel_rows_are_sheet_row_numbers(annex, annex_files):
    ws = load_workbook(annex_files["xlsx"]).active
    for task in annex["xlsx"].tasks:
        assert ws.cell(task.source.row, 1).value == int(task.code)
        assert ws.cell(task.source.row, 2).value.startswith(task.title[:40])
    assert ws.cell(annex["xlsx"].sections[3].source.row, 1).value.startswith("IV. Phát triển")


def test_word_rows_are_table_row_numbers(annex, annex_files):
    table = docx.Document(str(annex_files["docx"])).tables[0]
    for task in annex["docx"].tasks[::7]:
        cells = table.rows[task.source.row - 1].cells
        assert cells[0].text.rstrip(".") == task.code
        assert cells[1].text.startswith(task.title[:40])
    assert table.rows[annex["docx"].sections[3].source.row - 1].cells[0].text.startswith("IV.")


@pytest.mark.parametrize("fmt", FORMATS)
def test_title_block_above_the_table_gives_plan_title_and_document(annex, fmt):
    plan = annex[fmt]
    titles, _ = annex_rows()
    assert plan.title == plain(titles[1]).replace("  ", " ")
    # "(Kèm theo Chương trình hành động tại Nghị quyết số /NQ-CP ngày 01 tháng 01 năm 2025
    # của Chính phủ)": the document, its date and its issuer.
    assert plan.document == "Chương trình hành động tại Nghị quyết số /NQ-CP"
    assert plan.issued_on == date(2025, 1, 1)
    assert plan.issued_by == "Chính phủ"


def test_bytes_upload_reads_like_the_file_and_names_the_upload(annex_files):
    data = annex_files["xlsx"].read_bytes()
    plan = read_plan_bytes(data, "phu-luc.xlsx")
    assert plan.source_file == "phu-luc.xlsx"
    assert plan.tasks[0].source.file == "phu-luc.xlsx"
    assert len(plan.tasks) == 140
    assert read_plan_file(annex_files["xlsx"]).source_file == str(annex_files["xlsx"])


PLANS = Path(__file__).resolve().parents[1] / "plans"


def test_excel_annex_exported_from_the_sample_yaml_reads_back_the_same(tmp_path):
    from engine.planfile.export import write_plan_xlsx

    yaml_plan = read_plan_file(PLANS / "sample-plan.yaml")
    xlsx_plan = read_plan_file(write_plan_xlsx(yaml_plan, tmp_path / "annex.xlsx"))

    def cells(plan: PlanSpec) -> list[tuple]:
        # Excel holds a unit list as one cell, so compare the units joined.
        return [
            (t.code, t.section, t.title, ", ".join(t.lead), ", ".join(t.coordinating),
             t.deliverable, t.deadline_text, t.depends_on, t.vice_chair, t.note)
            for t in plan.tasks
        ]

    assert len(yaml_plan.tasks) > 0
    assert cells(xlsx_plan) == cells(yaml_plan)
    assert [(s.code, s.title) for s in xlsx_plan.sections] == [
        (s.code, s.title) for s in yaml_plan.sections
    ]
    assert (xlsx_plan.document, xlsx_plan.issued_on) == (yaml_plan.document, yaml_plan.issued_on)


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------

CSV_RESTARTING = (
    "KẾ HOẠCH;;;;\n"
    "Triển khai chuyển đổi số năm 2025;;;;\n"
    "(Kèm theo Kế hoạch số 45/KH-UBND ngày 15 tháng 3 năm 2025 của UBND tỉnh);;;;\n"
    ";;;;\n"
    "STT;Nội dung nhiệm vụ;Đơn vị chủ trì;Đơn vị phối hợp (1);Thời hạn hoàn thành\n"
    "(1);(2);(3);(4);(5)\n"
    "I;Hạ tầng số;;;\n"
    "1;Nâng cấp mạng LAN;Sở Khoa học và Công nghệ;Sở Tài chính;6/2025\n"
    '2.;"Triển khai\n  hội nghị   truyền hình";VNPT (*);;Quý III/2025\n'
    "II.;Dữ liệu số;;;\n"
    "1;Xây dựng kho dữ liệu;Sở Khoa học và Công nghệ;;12/2025\n"
)


def test_csv_numbering_restarting_per_section_gives_qualified_codes(tmp_path):
    path = tmp_path / "ke-hoach.csv"
    path.write_bytes(CSV_RESTARTING.encode("utf-8-sig"))
    plan = read_plan_file(path)
    assert plan.format == "csv"
    assert [s.code for s in plan.sections] == ["I", "II"]
    assert [(t.code, t.section) for t in plan.tasks] == [("I.1", "I"), ("I.2", "I"), ("II.1", "II")]


def test_csv_semicolon_title_block_numbering_row_and_multiline_cells(tmp_path):
    path = tmp_path / "ke-hoach.csv"
    path.write_bytes(CSV_RESTARTING.encode("utf-8-sig"))
    plan = read_plan_file(path)
    assert plan.title == "KẾ HOẠCH Triển khai chuyển đổi số năm 2025"
    assert plan.document == "Kế hoạch số 45/KH-UBND"
    assert (plan.issued_on, plan.issued_by) == (date(2025, 3, 15), "UBND tỉnh")
    first, second, _ = plan.tasks
    assert first.source.row == 8  # record number; the "(1) (2) ..." row is not a task
    assert first.ref("coordinating").column == "Đơn vị phối hợp (1)"
    # a line break inside a title is a printed wrap (issue 16): the lines are joined
    assert second.title == "Triển khai hội nghị truyền hình"
    assert second.lead == ["VNPT"]
    assert second.deadline_text == "Quý III/2025"


def _cp1258(text: str) -> bytes:
    """Encode like old Vietnamese Windows software: base letter + combining tone mark."""
    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        d = unicodedata.normalize("NFD", ch)
        base, marks = d[0], d[1:]
        for i, mark in enumerate(marks):
            try:
                head = unicodedata.normalize("NFC", base + mark).encode("cp1258")
                out.append(head + (marks[:i] + marks[i + 1 :]).encode("cp1258"))
                break
            except UnicodeEncodeError:
                continue
        else:
            out.append(d.encode("cp1258"))
    return b"".join(out)


def test_csv_in_windows_1258_with_english_headers_is_decoded_to_nfc(tmp_path):
    text = (
        "No.,Task,Lead agency,Coordinating agencies,Deliverable,Deadline,Status\n"
        "1,Khảo sát hiện trạng ứng dụng,Sở Nội vụ,\"Sở Tài chính, Sở Y tế\",Báo cáo,"
        "30/06/2025,Đang thực hiện\n"
    )
    data = _cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = tmp_path / "plan.csv"
    path.write_bytes(data)
    (task,) = read_plan_file(path).tasks
    assert task.title == "Khảo sát hiện trạng ứng dụng"
    assert unicodedata.is_normalized("NFC", task.title)
    assert task.lead == ["Sở Nội vụ"]
    assert task.coordinating == ["Sở Tài chính, Sở Y tế"]
    assert task.status_text == "Đang thực hiện"
    assert task.ref("lead").column == "Lead agency"


def test_tab_separated_csv_is_sniffed(tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text(
        "TT\tTên nhiệm vụ\tCơ quan chủ trì\tThời gian hoàn thành\tGhi chú\n"
        "1\tRà soát, sửa đổi quy chế\tVăn phòng UBND tỉnh\t9/2025\tƯu tiên, làm ngay\n",
        encoding="utf-8",
    )
    (task,) = read_plan_file(path).tasks
    assert (task.code, task.title, task.deadline_text, task.note) == (
        "1", "Rà soát, sửa đổi quy chế", "9/2025", "Ưu tiên, làm ngay"
    )


def test_letter_subsections_repeated_header_bullets_and_footer_notes(tmp_path):
    path = tmp_path / "nhom.csv"
    path.write_text(
        "TT,Nhiệm vụ,Chủ trì,Tiến độ thực hiện,Phụ thuộc\n"
        "I,Nhiệm vụ chung,,,\n"
        "A,Nhóm một,,,\n"
        "1,Việc một,Sở A,2025,\n"
        "2,Việc hai,Sở B,2026,1 và nhiệm vụ 3\n"
        "a),Việc con,Sở B,2026,\n"
        "TT,Nhiệm vụ,Chủ trì,Tiến độ thực hiện,Phụ thuộc\n"
        "II,Nhiệm vụ riêng,,,\n"
        "A,Nhóm ba,,,\n"
        "1,Việc bốn,Sở D,2025,\n"
        "-,Gạch đầu dòng,Sở D,,\n"
        ",,,,\n"
        "Ghi chú: số liệu tạm tính,,,,\n",
        encoding="utf-8",
    )
    plan = read_plan_file(path)
    assert [s.code for s in plan.sections] == ["I", "I.A", "II", "II.A"]
    assert [(t.code, t.section) for t in plan.tasks] == [
        ("I.A.1", "I.A"), ("I.A.2", "I.A"), ("I.A.2.a", "I.A"), ("II.A.1", "II.A"), ("R11", "II.A")
    ]
    assert plan.tasks[1].depends_on == ["I.A.1", "I.A.3"]
    # Without a deadline column, "Tiến độ thực hiện" is the plan's timeline.
    assert plan.tasks[0].deadline_text == "2025"
    assert plan.tasks[0].ref("deadline").column == "Tiến độ thực hiện"
    assert plan.tasks[0].status_text is None


# --------------------------------------------------------------------------
# Excel specifics
# --------------------------------------------------------------------------


def test_excel_dates_and_float_codes_become_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["TT", "Nhiệm vụ", "Chủ trì", "Thời hạn", "Ngày hoàn thành"])
    ws.append([1.0, "Lập kế hoạch", "Sở Nội vụ", datetime(2025, 6, 30), date(2025, 6, 20)])
    ws.append([2.0, "Tổ chức hội nghị", "Sở Tài chính", datetime(2025, 9, 1), None])
    ws["D3"].number_format = "mm/yyyy"  # a typed "9/2025" that Excel turned into a date
    ws.append([2.1, "Báo cáo kết quả", "Sở Tài chính", "Quý IV/2025", None])
    path = tmp_path / "dates.xlsx"
    wb.save(path)
    plan = read_plan_file(path)
    assert [t.code for t in plan.tasks] == ["1", "2", "2.1"]
    assert [t.deadline_text for t in plan.tasks] == ["30/06/2025", "09/2025", "Quý IV/2025"]
    assert plan.tasks[0].completed_on_text == "20/06/2025"
    assert plan.tasks[1].completed_on_text is None


def test_excel_two_row_header_and_vertically_merged_lead(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["BẢNG PHÂN CÔNG NHIỆM VỤ"])
    ws.merge_cells("A1:E1")
    ws.append(["TT", "Tên nhiệm vụ", "Cơ quan", None, "Thời gian\nhoàn thành"])
    ws.append([None, None, "Chủ trì", "Phối hợp", None])
    for col in "ABE":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("C2:D2")
    ws.append(["I.", "Cải cách hành chính", None, None, None])
    ws.append([1, "Rà soát thủ tục", "Sở Tư pháp", "Các sở", "6/2025"])
    ws.append([2, "Số hóa hồ sơ", None, None, "12/2025"])
    ws.merge_cells("C5:C6")
    path = tmp_path / "two-rows.xlsx"
    wb.save(path)
    plan = read_plan_file(path)
    assert plan.title == "BẢNG PHÂN CÔNG NHIỆM VỤ"
    assert [s.code for s in plan.sections] == ["I"]
    one, two = plan.tasks
    assert one.lead == ["Sở Tư pháp"] and one.coordinating == ["Các sở"]
    assert two.lead == ["Sở Tư pháp"] and two.coordinating == []
    assert one.ref("lead").column == "Chủ trì"
    assert one.ref("deadline").column == "Thời gian hoàn thành"
    assert (one.source.row, two.source.row) == (5, 6)


def test_excel_plan_on_a_later_sheet_is_found_and_sheet_can_be_named(tmp_path):
    wb = Workbook()
    guide = wb.active
    guide.title = "Hướng dẫn"
    guide.append(["Điền nhiệm vụ vào trang tính bên cạnh."])
    plan_ws = wb.create_sheet("Kế hoạch")
    plan_ws.append(["TT", "Tên nhiệm vụ", "Cơ quan chủ trì"])
    plan_ws.append([1, "Tuyên truyền", "Sở Văn hóa"])
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    assert [t.title for t in read_plan_file(path).tasks] == ["Tuyên truyền"]
    assert [t.title for t in read_plan_file(path, sheet="kế hoạch").tasks] == ["Tuyên truyền"]
    with pytest.raises(PlanFileError) as err:
        read_plan_file(path, sheet="Phụ lục")
    assert "«Phụ lục»" in str(err.value) and "«Hướng dẫn»" in str(err.value)


def test_excel_without_a_recognisable_header_lists_the_headers_seen(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["DANH SÁCH CÁN BỘ"])
    ws.append(["Họ và tên", "Chức vụ", "Đơn vị công tác"])
    ws.append(["Nguyễn Văn A", "Giám đốc", "Sở Nội vụ"])
    path = tmp_path / "nhan-su.xlsx"
    wb.save(path)
    with pytest.raises(PlanFileError) as err:
        read_plan_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "Không tìm thấy dòng tiêu đề bảng" in message
    assert "«Họ và tên», «Chức vụ», «Đơn vị công tác»" in message
    assert "\n" not in message


# --------------------------------------------------------------------------
# Word specifics
# --------------------------------------------------------------------------


def test_word_plan_split_over_two_tables_with_repeated_header_is_one_plan(tmp_path):
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Thực hiện Đề án 06 năm 2025")
    header = ["STT", "Nội dung", "Đơn vị chủ trì", "Thời gian"]
    first = document.add_table(rows=3, cols=4)
    second = document.add_table(rows=2, cols=4)
    for table, rows in (
        (first, [header, ["1", "Làm sạch dữ liệu dân cư", "Công an tỉnh", "6/2025"],
                 ["2", "Cấp căn cước", "Công an tỉnh", "12/2025"]]),
        (second, [header, ["3", "Kết nối dữ liệu đất đai", "Sở Tài nguyên và Môi trường", "2026"]]),
    ):
        for trow, values in zip(table.rows, rows):
            for cell, value in zip(trow.cells, values):
                cell.text = value
    path = tmp_path / "ke-hoach.docx"
    document.save(path)
    plan = read_plan_file(path)
    assert plan.title == "KẾ HOẠCH Thực hiện Đề án 06 năm 2025"
    assert [t.code for t in plan.tasks] == ["1", "2", "3"]
    assert [t.source.row for t in plan.tasks] == [2, 3, 5]  # rows counted across both tables
    assert plan.tasks[2].lead == ["Sở Tài nguyên và Môi trường"]


def test_word_document_without_a_table_says_so(tmp_path):
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH: giao Sở Nội vụ chủ trì, hoàn thành trong tháng 6/2025.")
    path = tmp_path / "van-ban.docx"
    document.save(path)
    with pytest.raises(PlanFileError, match="không có bảng nhiệm vụ nào") as err:
        read_plan_file(path)
    assert str(path) in str(err.value)


# --------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------

PLAN_YAML = """\
plan: {code: KH-57, title: "Kế hoạch chuyển đổi số", document: "Kế hoạch số 45/KH-UBND", issued_on: 2025-03-15, issued_by: UBND_TINH, parent: null}
sections:
  - code: I
    title: "Hạ tầng số"
    tasks:
      - {code: 1, title: "Nâng cấp mạng LAN", lead: SKHCN, coordinating: [STC, "Các sở, ban, ngành"], deliverable: "Hệ thống mạng", deadline: 2025-06-30, depends_on: ["3"], vice_chair: pct_vx, parent_task: "12", note: "Ưu tiên"}
      - code: 1.2
        title: "Kiểm thử"
        lead: [SKHCN]
        deadline: "6/2025"
kpis:
  - {code: K1, name: "Tỷ lệ hồ sơ trực tuyến"}
tasks:
  - {code: "3", lead: [SNV], deadline: 2025}
"""


def test_yaml_plan_reads_sections_tasks_and_line_numbers(tmp_path):
    path = tmp_path / "kh57.yaml"
    path.write_text(PLAN_YAML, encoding="utf-8")
    plan = read_plan_file(path)
    assert (plan.format, plan.code, plan.issued_on, plan.issued_by, plan.parent_plan) == (
        "yaml", "KH-57", date(2025, 3, 15), "UBND_TINH", None
    )
    assert [(s.code, s.title, s.source.row) for s in plan.sections] == [("I", "Hạ tầng số", 3)]
    first, second, third = plan.tasks
    assert (first.code, first.section, first.source.row) == ("1", "I", 6)
    assert first.lead == ["SKHCN"]
    assert first.coordinating == ["STC", "Các sở, ban, ngành"]
    assert first.deadline_text == "30/06/2025"
    assert (first.depends_on, first.vice_chair, first.parent_task) == (["3"], "pct_vx", "12")
    assert (second.code, second.deadline_text, second.source.row) == ("1.2", "6/2025", 7)
    assert (third.code, third.section, third.title, third.deadline_text) == ("3", None, "", "2025")
    assert (third.ref("deadline").row, third.ref("deadline").column) == (14, "deadline")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("plan:\n  code: KH-1\n  title: [không đóng\ntasks: []\n", encoding="utf-8")
    with pytest.raises(PlanFileError) as err:
        read_plan_file(path)
    message = str(err.value)
    assert str(path) in message and "lỗi cú pháp YAML" in message
    assert "dòng 4" in message


def test_yaml_unknown_key_suggests_the_right_one(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(
        "tasks:\n  - code: 1\n    title: Họp\n    deadlnie: 6/2025\n", encoding="utf-8"
    )
    with pytest.raises(PlanFileError) as err:
        read_plan_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "dòng 4" in message and "«deadlnie»" in message and "«deadline»" in message


def test_yaml_wrong_type_names_the_field_and_line(tmp_path):
    path = tmp_path / "type.yaml"
    path.write_text(
        "tasks:\n  - code: 7\n    title: Họp\n    lead: {name: Sở Nội vụ}\n", encoding="utf-8"
    )
    with pytest.raises(PlanFileError) as err:
        read_plan_file(path)
    message = str(err.value)
    assert str(path) in message and "«lead»" in message and "«7»" in message
    assert "dòng 4" in message


@pytest.mark.parametrize(
    "text",
    [
        "- a\n- b\n",
        "tasks: {code: 1}\n",
        "sections:\n  - just text\n",
        "plan: [1, 2]\n",
        "tasks:\n  - {code: 1, code: 2}\n",
        "plan: {issued_on: next week}\n",
    ],
)
def test_yaml_structural_junk_is_a_plan_file_error(tmp_path, text):
    path = tmp_path / "shape.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanFileError, match="shape.yaml"):
        read_plan_file(path)


# --------------------------------------------------------------------------
# Wrong or damaged files
# --------------------------------------------------------------------------

JUNK = bytes(range(256)) * 4


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plan.xlsx", "không phải là tệp Excel hợp lệ"),
        ("plan.xlsm", "không phải là tệp Excel hợp lệ"),
        ("plan.docx", "không phải là tệp Word hợp lệ"),
        ("plan.csv", "không phải là tệp CSV"),
        ("plan.yaml", "không phải là tệp YAML"),
        ("plan.md", "không phải là tệp Markdown"),
    ],
)
def test_binary_junk_with_a_plan_extension_is_rejected_naming_the_file(tmp_path, name, expected):
    path = tmp_path / name
    path.write_bytes(JUNK)
    with pytest.raises(PlanFileError) as err:
        read_plan_file(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def _zip(member: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr(member, content)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("damaged.xlsx", _zip("xl/workbook.xml", b"not xml"), "không phải là tệp Excel hợp lệ"),
        ("damaged.docx", _zip("word/document.xml", b"not xml"), "không phải là tệp Word hợp lệ"),
        ("word.xlsx", _zip("word/document.xml", b"<w/>"), "tệp Word (.docx)"),
        ("excel.csv", _zip("xl/workbook.xml", b"<w/>"), "tệp Excel (.xlsx)"),
        ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + JUNK, "97-2003"),
        ("empty.docx", b"", "trống"),
    ],
)
def test_damaged_or_mislabelled_office_files_get_a_specific_message(name, data, expected):
    with pytest.raises(PlanFileError) as err:
        read_plan_bytes(data, name)
    assert f"«{name}»" in str(err.value)
    assert expected in str(err.value)


@pytest.mark.parametrize("name", ["plan.xls", "plan.txt", "plan"])  # .pdf is read (tests/test_read_pdf.py)
def test_unsupported_extension_lists_the_accepted_formats(name):
    with pytest.raises(PlanFileError) as err:
        read_plan_bytes(b"TT;Ten", name)
    assert f"«{name}»" in str(err.value) and ".xlsx" in str(err.value)


def test_missing_file_is_a_plan_file_error(tmp_path):
    with pytest.raises(PlanFileError, match="Không tìm thấy tệp"):
        read_plan_file(tmp_path / "khong-co.xlsx")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
        st.text(max_size=300).map(lambda s: s.encode("utf-8")),
        st.lists(
            st.sampled_from(["|", ";", ",", "\n", "TT", "Tên nhiệm vụ", "Thời hạn", "I.", "1.",
                             "- ", ": ", "tasks", "code", "{", "[", '"', "**", "¹"]),
            max_size=40,
        ).map(lambda parts: "".join(parts).encode("utf-8")),
    ),
    ext=st.sampled_from([".xlsx", ".docx", ".csv", ".yaml", ".md"]),
)
def test_random_bytes_never_raise_anything_but_plan_file_error(data, ext):
    try:
        read_plan_bytes(data, f"upload{ext}")
    except PlanFileError as exc:
        assert f"upload{ext}" in str(exc)


_VIETNAMESE_LETTERS = set("ạảãàáâậầấẩẫăắằặẳẵđêếềệểễôốồộổỗơớờợởỡưứừựửữíìịỉĩóòọỏõúùụủũýỳỵỷỹ")


@pytest.mark.parametrize("name,data", [
    ("plan.txt", b"hello"),
    ("plan.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40),
    ("plan.csv", b""),
    ("plan.csv", b"a,b,c\n1,2,3\n"),
    ("plan.csv", b"\xff\x00\x81\x00" * 10),
    ("plan.xlsx", b"\x00\x01garbage" * 50),
    ("plan.docx", b"PK\x03\x04 not really a zip"),
    ("plan.md", b"# Title\n\nno table here\n"),
    ("plan.yaml", b"plan: [unclosed\n"),
    ("plan.yaml", b"tasks:\n  - {code: '1', titel: A}\n"),
    ("plan.yaml", b"tasks:\n  - {code: '1', title: [a, b]}\n"),
    ("plan.yaml", b"plan:\n  issued_on: someday\n"),
    ("plan.yaml", b"sections: {a: 1}\n"),
    ("plan.yaml", b""),
])
def test_plan_file_errors_come_in_english_when_asked(name, data):
    with pytest.raises(PlanFileError) as vi:
        read_plan_bytes(data, name)
    with pytest.raises(PlanFileError) as en:
        read_plan_bytes(data, name, lang="en")
    assert name in str(en.value)
    assert not _VIETNAMESE_LETTERS & set(str(en.value).lower()), str(en.value)
    assert _VIETNAMESE_LETTERS & set(str(vi.value).lower()), str(vi.value)

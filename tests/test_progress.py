"""Progress sheets (engine.progress, steer progress …): export a unit's sheet, fill it as a
person would, import it back — dry run, all-or-nothing, --skip-conflicts — and the
missing-report reminders."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from cli.main import app
from engine import lifecycle
from engine.audit import verify_chain
from engine.db import make_engine, transaction
from engine.models import Event, OutboxMessage, Plan, WorkItem
from engine.progress import COLUMNS, HEADER_ROW, META_SHEET, read_sheet
from engine.reporting import build_report
from tests.factories import actor, at, item_of, seed_url

runner = CliRunner()
PLAN = "KH-TEST"
TASKS = [
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 11, 30), "title": "Xây dựng kế hoạch chuyển đổi số",
     "deliverable": "Kế hoạch"},
    {"code": "2", "lead": ["SKHCN"], "deadline": date(2025, 12, 15), "title": "Rà soát thủ tục hành chính"},
    {"code": "3", "lead": ["SKHCN"], "deadline": date(2025, 10, 31), "title": "=HYPERLINK(\"http://x\",\"bấm\")"},
    {"code": "4", "lead": ["SKHCN"], "deadline": date(2025, 12, 31), "title": "Đào tạo cán bộ"},
    {"code": "5", "lead": ["SKHCN"], "deadline": date(2025, 11, 15), "title": "Triển khai nền tảng"},
    {"code": "6", "lead": ["SNV"], "deadline": date(2025, 11, 30), "title": "Nhiệm vụ của Sở Nội vụ"},
    {"code": "7", "lead": ["SKHCN"], "deadline": date(2025, 9, 30), "title": "Đã xong", "status": "completed"},
]
NOW = "2025-10-20T09:00:00+07:00"
COL = {key: i for i, (key, *_) in enumerate(COLUMNS, start=1)}


@pytest.fixture
def db(db_url, tmp_path_factory) -> Iterator[tuple[str, Engine]]:  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    eng = make_engine(db_url)
    with transaction(eng) as s:
        s.execute(update(Plan).values(issued_on=date(2025, 3, 1)))
    yield db_url, eng
    eng.dispose()


def steer(url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", url, *args])


def snapshot(eng: Engine) -> tuple[int, list[tuple[int, str, int]]]:
    with transaction(eng) as s:
        n = s.scalar(select(func.count()).select_from(Event)) or 0
        items = [tuple(r) for r in s.execute(select(WorkItem.id, WorkItem.status, WorkItem.version).order_by(WorkItem.id))]
        return n, items


def _export(url: str, tmp: Path, unit: str = "SKHCN") -> Path:
    out = tmp / f"{unit}.xlsx"
    r = steer(url, "progress", "export", "--unit", unit, "--period", "2025-10", "--out", str(out), "--now", NOW)
    assert r.exit_code == 0, r.output
    return out


def _rows_by_ref(ws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {ws.cell(r, COL["ref"]).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)
            if ws.cell(r, COL["ref"]).value}


def test_the_exported_sheet(db, tmp_path):  # type: ignore[no-untyped-def]
    url, _ = db
    path = _export(url, tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["Hướng dẫn", "Tiến độ"] and wb[META_SHEET].sheet_state == "veryHidden"
    assert "Chọn trong danh sách" not in wb["Hướng dẫn"]["A5"].value  # the list is spelled out
    ws = wb["Tiến độ"]
    refs = _rows_by_ref(ws)
    assert list(refs) == [f"{PLAN}/{n}" for n in "12345"]  # open items of SKHCN only, in plan order
    # reference and version: hidden and locked; the sheet is protected; the fill-in columns are open
    for key in ("ref", "version"):
        letter = openpyxl.utils.get_column_letter(COL[key])
        assert ws.column_dimensions[letter].hidden
        assert ws.cell(HEADER_ROW + 1, COL[key]).protection.locked
    assert ws.protection.sheet
    assert not ws.cell(HEADER_ROW + 1, COL["status"]).protection.locked
    assert ws.cell(HEADER_ROW + 1, COL["title"]).protection.locked
    # the status list, in Vietnamese
    dv = [d for d in ws.data_validations.dataValidation if d.type == "list"][0]
    assert "Đang thực hiện" in dv.formula1 and "Đang vướng mắc" in dv.formula1
    # real dates shown dd/mm/yyyy, Times New Roman, a formula-like title kept as text
    deadline = ws.cell(refs[f"{PLAN}/1"], COL["deadline"])
    assert isinstance(deadline.value, datetime) and deadline.number_format == "dd/mm/yyyy"
    assert deadline.font.name == "Times New Roman"
    title = ws.cell(refs[f"{PLAN}/3"], COL["title"])
    assert title.data_type == "s" and title.value.startswith("=HYPERLINK")
    sheet = read_sheet(path.read_bytes(), path.name)
    assert sheet.unit == "SKHCN" and sheet.period == "2025-10" and len(sheet.rows) == 5


def test_export_all_units_into_one_zip(db, tmp_path):  # type: ignore[no-untyped-def]
    url, _ = db
    out = tmp_path / "all.zip"
    r = steer(url, "progress", "export", "--all", "--period", "2025-10", "--out", str(out), "--now", NOW)
    assert r.exit_code == 0, r.output
    names = zipfile.ZipFile(out).namelist()
    assert names == ["tien-do-SKHCN-2025-10.xlsx", "tien-do-SNV-2025-10.xlsx"]


def _fill(path: Path, eng: Engine) -> Path:
    """Fill the sheet as a person would: reorder rows, add one, merge cells, type a date as text,
    write a status word that is not in the list."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Tiến độ"]
    refs = _rows_by_ref(ws)

    def put(ref: str, **values: object) -> None:
        for k, v in values.items():
            ws.cell(refs[ref], COL[k]).value = v

    put(f"{PLAN}/1", status="Đang thực hiện", result="Đã họp triển khai, giao các phòng", percent=30)
    put(f"{PLAN}/2", status="Đang thực hiện", result="Đã rà soát 12 thủ tục")  # changed since the export, below
    put(f"{PLAN}/3", status="Đã hoàn thành (gửi xác nhận)", result="Đã ban hành kế hoạch",
        doc="Quyết định số 1234/QĐ-UBND", doc_date="15/10/2025", doc_issuer="UBND tỉnh")  # date typed as text
    put(f"{PLAN}/4", status="Xong rồi")  # not a status of the list
    put(f"{PLAN}/5", ext_until="31/12/2025", ext_reason="Chờ kinh phí", result="Đang chờ bố trí kinh phí")
    # the clerk swaps two rows (values only: what a cut and paste leaves)
    r4, r5 = refs[f"{PLAN}/4"], refs[f"{PLAN}/5"]
    for c in range(1, len(COLUMNS) + 1):
        a, b = ws.cell(r4, c), ws.cell(r5, c)
        a.value, b.value = b.value, a.value
    # … adds a row of their own below the table, and merges two title cells
    extra = ws.max_row + 1
    ws.cell(extra, COL["title"]).value = "Nhiệm vụ phát sinh: tổ chức hội nghị"
    ws.cell(extra, COL["result"]).value = "Đã tổ chức ngày 10/10/2025"
    ws.merge_cells(start_row=r4, start_column=COL["deliverable"], end_row=r5, end_column=COL["deliverable"])
    out = path.with_name("filled.xlsx")
    wb.save(out)
    # meanwhile task 2 changes in Steer (the focal point starts it on the web)
    with transaction(eng) as s:
        lifecycle.start(s, item_of(s, PLAN, "2"), actor(s, "skhcn_focal"), now=at("2025-10-19 10:00"))
    return out


def _figures(eng: Engine) -> dict[str, int]:
    with transaction(eng) as s:
        data = build_report(s, plan_code=PLAN, period="2025-10", as_of=date(2025, 10, 20))
    return {t["code"]: (t["status"], t["percent"], [d["reference"] for d in t["documents"]], t["result"]) for t in data["tasks"]}


def test_round_trip(db, tmp_path):  # type: ignore[no-untyped-def]
    url, eng = db
    filled = _fill(_export(url, tmp_path), eng)
    rows = {ref: r for ref, r in _rows_by_ref(openpyxl.load_workbook(filled)["Tiến độ"]).items()}
    before = snapshot(eng)

    # dry run: each change and each conflict, with its row number; nothing written
    r = steer(url, "progress", "import", str(filled), "--dry-run", "--now", NOW)
    assert r.exit_code == 0, r.output
    out = r.output
    assert f"Dòng {rows[f'{PLAN}/1']}: {PLAN}/1: Chưa bắt đầu → Đang thực hiện" in out
    assert f"Dòng {rows[f'{PLAN}/1']}: {PLAN}/1: ghi nhận kết quả «Đã họp triển khai, giao các phòng — tỷ lệ 30%»" in out
    assert f"Dòng {rows[f'{PLAN}/3']}: {PLAN}/3: Chưa bắt đầu → Đã báo cáo hoàn thành, chờ xác nhận" in out
    assert f"{PLAN}/3: minh chứng Quyết định số 1234/QĐ-UBND ngày 15/10/2025 của UBND tỉnh" in out
    assert f"Dòng {rows[f'{PLAN}/5']}: {PLAN}/5: đề nghị gia hạn đến 31/12/2025" in out
    assert f"Dòng {rows[f'{PLAN}/2']}: {PLAN}/2: nhiệm vụ đã thay đổi sau khi xuất biểu (phiên bản trong biểu 1, hiện tại 2, Phan Đức Minh lúc 19/10/2025 10:00)" in out
    assert f"Dòng {rows[f'{PLAN}/4']}: {PLAN}/4: trạng thái «Xong rồi» không có trong danh sách" in out
    extra = max(rows.values()) + 1
    assert f"Dòng {extra}: dòng thêm không có mã tham chiếu (nhiệm vụ «Nhiệm vụ phát sinh: tổ chức hội nghị»)" in out
    assert "3 xung đột" in out and "Chạy thử: chưa ghi gì." in out
    assert snapshot(eng) == before

    # the real import refuses while there are conflicts: all or nothing
    r = steer(url, "progress", "import", str(filled), "--now", NOW)
    assert r.exit_code == 1 and "Có 3 xung đột: chưa ghi gì" in r.output, r.output
    assert snapshot(eng) == before
    figures_before = _figures(eng)

    # --skip-conflicts: the good rows, naming what was skipped
    r = steer(url, "progress", "import", str(filled), "--skip-conflicts", "--now", NOW)
    assert r.exit_code == 0, r.output
    skipped = sorted([rows[f"{PLAN}/2"], rows[f"{PLAN}/4"], extra])
    assert f"Đã bỏ qua 3 dòng xung đột: {', '.join(map(str, skipped))}" in r.output
    assert "ghi nhận là Phan Đức Minh (skhcn_focal)" in r.output
    with transaction(eng) as s:
        st = {c: item_of(s, PLAN, c).status for c in "12345"}
        assert st == {"1": "in_progress", "2": "in_progress", "3": "submitted", "4": "not_started", "5": "not_started"}
        ev = s.execute(select(Event).where(Event.kind.in_(("status", "note", "extension_requested")),
                                           Event.actor == "skhcn_focal", Event.at >= at("2025-10-20 00:00"))
                       .order_by(Event.id)).scalars().all()
        assert [e.kind for e in ev] == ["status", "note", "status", "extension_requested", "note"] or \
            sorted(e.kind for e in ev) == sorted(["status", "note", "status", "extension_requested", "note"])
        assert all(e.data["source"]["file"] == "filled.xlsx" and e.data["source"]["imported_by"] == "secretariat"
                   for e in ev)
        assert {e.data["source"]["row"] for e in ev} == {rows[f"{PLAN}/{c}"] for c in "135"}
        sub = next(e for e in ev if e.to_status == "submitted")
        assert sub.evidence == "Quyết định số 1234/QĐ-UBND ngày 15/10/2025 của UBND tỉnh"
        imp = s.execute(select(Event).where(Event.kind == "progress_import")).scalar_one()
        assert imp.data["unit"] == "SKHCN" and imp.data["period"] == "2025-10" and imp.data["skipped"] == skipped
        assert verify_chain(s).ok
    # the report's figures follow
    after = _figures(eng)
    assert after != figures_before
    assert after["1"][1] == 30.0 and figures_before["1"][1] is None
    assert after["1"][3] == "Đã họp triển khai, giao các phòng" and figures_before["1"][3] is None
    assert after["5"][3] == "Đang chờ bố trí kinh phí"  # the note of the row asking for an extension
    # the appendix (Kết quả hiện nay) shows the evidence as a parsed document
    assert after["3"][2] == ["Quyết định số 1234/QĐ-UBND ngày 15/10/2025 của UBND tỉnh"] and figures_before["3"][2] == []

    # the same file again: every row is now a version conflict (the items moved on)
    r = steer(url, "progress", "import", str(filled), "--dry-run", "--now", NOW)
    assert "nhiệm vụ đã thay đổi sau khi xuất biểu" in r.output


def test_clean_sheet_applies_all_rows_and_chain_verifies(db, tmp_path):  # type: ignore[no-untyped-def]
    url, eng = db
    path = _export(url, tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Tiến độ"]
    refs = _rows_by_ref(ws)
    ws.cell(refs[f"{PLAN}/1"], COL["status"]).value = "đang thực hiện"  # case and spaces do not matter
    ws.cell(refs[f"{PLAN}/2"], COL["status"]).value = "Đang vướng mắc"
    ws.cell(refs[f"{PLAN}/2"], COL["blockers"]).value = "Chưa có kinh phí; đề xuất UBND tỉnh bổ sung"
    ws.cell(refs[f"{PLAN}/4"], COL["percent"]).value = "45%"
    ws.cell(refs[f"{PLAN}/4"], COL["result"]).value = "Đã mở 2 lớp"
    wb.save(path)
    r = steer(url, "progress", "import", str(path), "--now", NOW, "--as", "skhcn_focal", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["applied"] and data["results"][0]["actions"] == 3
    with transaction(eng) as s:
        assert item_of(s, PLAN, "2").status == "blocked"
        assert item_of(s, PLAN, "2").blocked_reason == "Chưa có kinh phí; đề xuất UBND tỉnh bổ sung"
        assert verify_chain(s).ok


def test_another_units_sheet_and_rows_and_unknown_references(db, tmp_path):  # type: ignore[no-untyped-def]
    url, eng = db
    path = _export(url, tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Tiến độ"]
    refs = _rows_by_ref(ws)
    r1 = refs[f"{PLAN}/1"]
    ws.cell(r1, COL["ref"]).value = f"{PLAN}/6"  # SNV's item pasted into SKHCN's sheet
    ws.cell(r1, COL["status"]).value = "Đang thực hiện"
    r2 = refs[f"{PLAN}/2"]
    ws.cell(r2, COL["ref"]).value = f"{PLAN}/99"
    ws.cell(r2, COL["status"]).value = "Đang thực hiện"
    wb.save(path)
    before = snapshot(eng)
    r = steer(url, "progress", "import", str(path), "--dry-run", "--now", NOW)
    assert f"Dòng {r1}: {PLAN}/6: nhiệm vụ của đơn vị SNV, không phải SKHCN" in r.output
    assert f"Dòng {r2}: mã tham chiếu «{PLAN}/99» không có trong hệ thống" in r.output
    # a focal point of another unit may not import this sheet
    r = steer(url, "progress", "import", str(path), "--as", "snv_focal", "--now", NOW)
    assert r.exit_code == 1 and "không được nhập báo cáo của SKHCN" in r.output
    assert snapshot(eng) == before


def test_document_checks_in_the_sheet(db, tmp_path):  # type: ignore[no-untyped-def]
    url, eng = db
    path = _export(url, tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Tiến độ"]
    refs = _rows_by_ref(ws)
    ws.cell(refs[f"{PLAN}/1"], COL["status"]).value = "Đã hoàn thành (gửi xác nhận)"
    ws.cell(refs[f"{PLAN}/1"], COL["doc"]).value = "Công văn 567/UBND-KT"
    ws.cell(refs[f"{PLAN}/1"], COL["doc_date"]).value = datetime(2025, 12, 1)  # in the future
    ws.cell(refs[f"{PLAN}/2"], COL["doc"]).value = "Kế hoạch số 45/KH-UBND ngày 01/01/2025"  # before the plan
    ws.cell(refs[f"{PLAN}/4"], COL["status"]).value = "Đã hoàn thành (gửi xác nhận)"  # no evidence
    ws.cell(refs[f"{PLAN}/5"], COL["doc"]).value = "Quyết định số 9/QĐ-UBND ngày 02/10/2025"
    wb.save(path)
    # the same document was already given for task 7 (unrelated)
    with transaction(eng) as s:
        w = item_of(s, PLAN, "1")
        lifecycle.add_note(s, item_of(s, PLAN, "6"), actor(s, "snv_focal"), now=at("2025-10-05"), text="x",
                           evidence="QĐ 9/QĐ-UBND ngày 2/10/2025")
        assert w.status == "not_started"
    r = steer(url, "progress", "import", str(path), "--dry-run", "--now", NOW)
    out = r.output
    assert "văn bản «Công văn số 567/UBND-KT ngày 01/12/2025 của UBND»: ngày ban hành sau hôm nay" in out
    assert "ngày ban hành trước kế hoạch (01/03/2025)" in out
    assert f"{PLAN}/4: báo cáo hoàn thành cần văn bản minh chứng" in out
    assert f"{PLAN}/5: văn bản Quyết định số 9/QĐ-UBND ngày 02/10/2025 của UBND cũng là minh chứng của nhiệm vụ khác (6)" in out


def test_missing_reports_and_one_reminder_per_period(db, tmp_path):  # type: ignore[no-untyped-def]
    url, eng = db
    r = steer(url, "progress", "missing", "--period", "2025-10", "--now", NOW)
    assert r.exit_code == 0, r.output
    assert "SKHCN — Sở Khoa học và Công nghệ: chưa gửi biểu; 5/5 nhiệm vụ chưa cập nhật trong kỳ" in r.output
    assert "SNV — Sở Nội vụ: chưa gửi biểu" in r.output
    r = steer(url, "progress", "missing", "--period", "2025-10", "--remind", "--now", NOW)
    assert "Đã xếp 2 lời nhắc" in r.output, r.output
    r = steer(url, "progress", "missing", "--period", "2025-10", "--remind", "--now", NOW)
    assert "Đã xếp 0 lời nhắc" in r.output, r.output
    with transaction(eng) as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.level == "report_missing")).scalars().all()
        assert sorted(o.recipient for o in rows) == ["unit:SKHCN", "unit:SNV"]
        # the reminder is a message of its own in the recipient's digest
        from engine.escalation import build_digest
        from notifications.messages import render

        skhcn = [o for o in rows if o.recipient == "unit:SKHCN"]
        digest = build_digest(s, skhcn, now=at("2025-10-20"))
        assert not digest.obsolete and digest.counts == {"report_missing": 1}
        msg = render(digest)
        assert msg.subject.startswith("1 báo cáo tiến độ chưa gửi")
        assert "Chưa nhận được biểu báo cáo tiến độ kỳ tháng 10/2025 của Sở Khoa học và Công nghệ (SKHCN); " \
               "5/5 nhiệm vụ chưa cập nhật trong kỳ." in msg.body
    # SKHCN sends its sheet with every row updated: it is no longer missing
    path = _export(url, tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Tiến độ"]
    for row in _rows_by_ref(ws).values():
        ws.cell(row, COL["result"]).value = "Đang triển khai"
    wb.save(path)
    assert steer(url, "progress", "import", str(path), "--now", NOW).exit_code == 0
    r = steer(url, "progress", "missing", "--period", "2025-10", "--now", NOW, "--format", "json")
    units = {u["code"]: u for u in json.loads(r.output)["units"]}
    assert "SKHCN" not in units and units["SNV"]["sent"] is False
    # another period: a reminder again
    r = steer(url, "progress", "missing", "--period", "2025-11", "--remind", "--now", "2025-11-20")
    assert "Đã xếp 2 lời nhắc" in r.output, r.output


def test_reminder_level_can_be_turned_off_in_the_policy(tmp_path):  # type: ignore[no-untyped-def]
    from engine.policy import load_policy, parse_policy, read_policy_file

    raw = read_policy_file(load_policy().source)
    assert load_policy().report_missing.to == ("lead_unit",)
    off = parse_policy({**raw, "report_missing": False})
    assert not off.report_missing.enabled
    both = parse_policy({**raw, "report_missing": {"to": ["lead_unit", "secretariat"]}})
    assert both.report_missing.to == ("lead_unit", "secretariat")


def test_sheet_bytes_in_memory_round_trip(db):  # type: ignore[no-untyped-def]
    _, eng = db
    from engine.progress import export_sheet

    with transaction(eng) as s:
        sh = export_sheet(s, "skhcn", now=at("2025-10-20"), period="2025-10")
    assert read_sheet(io.BytesIO(sh.data).getvalue(), sh.filename).unit == "SKHCN"


@pytest.mark.parametrize("text,day", [
    ("15/10/2025", date(2025, 10, 15)), ("5-7-2025", date(2025, 7, 5)), ("5.7.2025", date(2025, 7, 5)),
    (" 05 / 07 / 2025 ", date(2025, 7, 5)), ("2025-07-05", date(2025, 7, 5)), ("2025-07-05 00:00:00", date(2025, 7, 5)),
    ("15/10/2025 08:30", date(2025, 10, 15)), ("31/02/2025", None), ("10/2025", None), ("mười lăm", None), ("", None),
])
def test_dates_typed_in_a_sheet(text, day):  # type: ignore[no-untyped-def]
    from engine.days import read_day

    assert read_day(text) == day


def test_a_document_given_in_two_files_of_one_import_is_flagged(db, tmp_path):  # type: ignore[no-untyped-def]
    """Two units' sheets imported together: the same document given by SKHCN for task 5 and by
    SNV for task 6 (unrelated) is flagged in the second file, although neither is in the log yet."""
    url, eng = db
    sk, snv = _export(url, tmp_path, "SKHCN"), _export(url, tmp_path, "SNV")
    for path, task in ((sk, "5"), (snv, "6")):
        wb = openpyxl.load_workbook(path)
        ws = wb["Tiến độ"]
        row = _rows_by_ref(ws)[f"{PLAN}/{task}"]
        ws.cell(row, COL["result"]).value = "Đã ban hành"
        ws.cell(row, COL["doc"]).value = "Quyết định số 77/QĐ-UBND ngày 02/10/2025"
        wb.save(path)
    r = steer(url, "progress", "import", str(sk), str(snv), "--dry-run", "--now", NOW)
    assert r.exit_code == 0, r.output
    assert f"{PLAN}/6: văn bản Quyết định số 77/QĐ-UBND ngày 02/10/2025 của UBND cũng là minh chứng của nhiệm vụ khác (5)" \
        in r.output, r.output

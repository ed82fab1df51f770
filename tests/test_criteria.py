"""Readiness criteria sets from YAML or XLSX, records with evidence (a document's text, a file),
and the view: a unit is green only when every required criterion is met (issue 20, part 3).

Through the real CLI (typer CliRunner with --db), as a secretariat would.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.db import make_engine, transaction
from engine.models import Event, ReadinessCriterion, ReadinessRecord
from tests.factories import make_directory
from tests.test_rollup import steer

REPO = Path(__file__).resolve().parent.parent
NOW = "2025-07-20T10:00:00+07:00"


@pytest.fixture
def db(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "c.db"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    with transaction(eng) as s:
        make_directory(s, units={"X01": "Xã Lâm 1", "X02": "Xã Lâm 2", "X03": "Xã Lâm 3"}, personas=(), group=False)
    eng.dispose()
    return url


def _counts(url: str) -> tuple[int, int, int]:
    eng = make_engine(url)
    with transaction(eng) as s:
        out = (s.execute(select(func.count()).select_from(ReadinessCriterion)).scalar_one(),
               s.execute(select(func.count()).select_from(ReadinessRecord)).scalar_one(),
               s.execute(select(func.count()).select_from(Event)).scalar_one())
    eng.dispose()
    return out


def _show(url: str, set_code: str = "SS-2025") -> dict[str, Any]:
    r = steer(url, "criteria", "show", set_code, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _sheet(path: Path, rows: list[list[Any]], title: str = "Sheet1") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_the_sample_set_reads_the_same_from_yaml_and_xlsx(db, _sqlite_template, tmp_path):
    other = tmp_path / "d.db"
    shutil.copy(_sqlite_template, other)
    for url, name in ((db, "sample-criteria.yaml"), (f"sqlite:///{other}", "sample-criteria.xlsx")):
        r = steer(url, "criteria", "load", str(REPO / "plans" / name), "--now", NOW)
        assert r.exit_code == 0, r.output
        assert "Đã nạp bộ tiêu chí SS-2025: 8 tiêu chí (8 mới)." in r.output
    a, b = _show(db), _show(f"sqlite:///{other}")
    assert a["criteria"] == b["criteria"]
    assert a["title"] == b["title"] == "Tiêu chí sẵn sàng vận hành chính quyền địa phương 2 cấp"
    assert [c["code"] for c in a["criteria"] if not c["required"]] == ["C8"]
    assert a["criteria"][0]["description"] == "Biên bản bàn giao trụ sở hoặc quyết định bố trí trụ sở"


def test_xlsx_with_english_headers_other_columns_and_the_set_given_on_the_command_line(db, tmp_path):
    f = _sheet(tmp_path / "criteria.xlsx", [
        ["Readiness criteria"], [],
        ["No.", "Code", "Notes", "Criterion", "Required", "Description"],
        [1, "A1", "kept apart", "Office ready", "yes", "Handover record"],
        [2, 2.0, None, "One-stop shop open", "", None],  # a number code; empty "required" = required
        [], [3, "A3", None, "Website", "No", "Link"],
    ], title="Criteria")
    r = steer(db, "--lang", "en", "criteria", "load", str(f), "--now", NOW)
    assert r.exit_code == 1 and "no criteria set code" in r.output and "--set" in r.output, r.output
    assert _counts(db) == (0, 0, _counts(db)[2])
    r = steer(db, "criteria", "load", str(f), "--set", "RC", "--title", "Readiness", "--now", NOW)
    assert r.exit_code == 0, r.output
    data = _show(db, "RC")
    assert [(c["code"], c["title"], c["required"], c["description"]) for c in data["criteria"]] == [
        ("A1", "Office ready", True, "Handover record"), ("2", "One-stop shop open", True, None),
        ("A3", "Website", False, "Link")]
    # loading again: titles and "required" updated, nothing deleted, no criterion added
    f2 = _sheet(tmp_path / "criteria2.xlsx", [["Set:", "RC"], ["Mã", "Tên tiêu chí", "Bắt buộc"],
                                              ["A3", "Trang thông tin điện tử", "x"]])
    r = steer(db, "criteria", "load", str(f2), "--now", NOW)
    assert r.exit_code == 0 and "(0 mới)" in r.output, r.output
    assert {c["code"]: (c["title"], c["required"]) for c in _show(db, "RC")["criteria"]}["A3"] == \
        ("Trang thông tin điện tử", True)


@pytest.mark.parametrize(("rows", "expected"), [
    ([["Mã bộ tiêu chí: SS"], ["Mã", "Tên tiêu chí", "Bắt buộc"], ["C1", "Trụ sở", "x"], ["C2", "", "x"]],
     "bad.xlsx, trang «Tiêu chí», dòng 4: thiếu hoặc sai «title» của tiêu chí; không nạp gì."),
    ([["Mã bộ tiêu chí: SS"], ["Mã", "Tên tiêu chí", "Bắt buộc"], ["C1", "Trụ sở", "x"], [None, "Một cửa", "x"]],
     "bad.xlsx, trang «Tiêu chí», dòng 4: thiếu hoặc sai «code» của tiêu chí"),
    ([["Mã bộ tiêu chí: SS"], ["Mã", "Tên tiêu chí", "Bắt buộc"], ["C1", "Trụ sở", "x"], ["C2", "Một cửa", "chắc"]],
     "bad.xlsx, trang «Tiêu chí», dòng 4: cột «Bắt buộc» ghi «chắc»"),
    ([["Mã bộ tiêu chí: SS"], ["Mã", "Tên tiêu chí"], ["C1", "Trụ sở"], ["C1", "Một cửa"]],
     "bad.xlsx, trang «Tiêu chí», dòng 4: tiêu chí C1 có hai lần"),
    ([["Mã bộ tiêu chí: SS"], ["Tên", "Ghi chú"], ["Trụ sở", ""]],
     "bad.xlsx: không thấy dòng tiêu đề có cột «Mã» và «Tên tiêu chí»"),
])
def test_a_bad_xlsx_row_is_refused_naming_file_row_and_field_and_nothing_is_loaded(db, tmp_path, rows, expected):
    f = _sheet(tmp_path / "bad.xlsx", rows, title="Tiêu chí")
    before = _counts(db)
    r = steer(db, "criteria", "load", str(f), "--now", NOW)
    assert r.exit_code == 1 and expected in r.output, r.output
    assert "Traceback" not in r.output
    assert _counts(db) == before


def test_not_an_xlsx_and_a_bad_yaml_entry_are_refused(db, tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really")
    r = steer(db, "criteria", "load", str(junk))
    assert r.exit_code == 1 and "junk.xlsx" in r.output and "Traceback" not in r.output, r.output
    y = tmp_path / "c.yaml"
    y.write_text("set: SS\ncriteria:\n  - {code: C1, title: A}\n  - {code: C2, title: B, required: maybe}\n",
                 encoding="utf-8")
    r = steer(db, "criteria", "load", str(y))
    assert r.exit_code == 1 and "c.yaml, criteria[1]: cột «Bắt buộc» ghi «maybe»" in r.output, r.output
    assert _counts(db)[0] == 0


def test_records_with_a_document_and_a_file_and_green_only_when_every_required_one_is_met(db, tmp_path):
    assert steer(db, "criteria", "load", str(REPO / "plans" / "sample-criteria.yaml"), "--now", NOW).exit_code == 0
    up = tmp_path / "uploads"
    scan = tmp_path / "bien-ban.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned record " * 50)
    # met needs evidence
    r = steer(db, "criteria", "record", "SS-2025", "X01", "C1", "--met", "--now", NOW)
    assert r.exit_code == 1 and "phải có minh chứng" in r.output
    # a document's text is read and kept in its canonical form
    r = steer(db, "criteria", "record", "SS-2025", "X01", "C1", "--met", "--evidence",
              "Biên bản 12/BB-UBND ngày 3/7/2025 của UBND xã Lâm 1", "--now", NOW)
    assert r.exit_code == 0, r.output
    assert "Biên bản số 12/BB-UBND ngày 03/07/2025 của UBND xã Lâm 1" in r.output
    # a document dated after today is refused, nothing recorded
    before = _counts(db)
    r = steer(db, "criteria", "record", "SS-2025", "X01", "C2", "--met", "--evidence",
              "Quyết định số 5/QĐ-UBND ngày 30/7/2025", "--now", NOW)
    assert r.exit_code == 1 and "ghi ngày sau hôm nay" in r.output, r.output
    assert _counts(db) == before
    # a file alone is evidence enough; kept under a random name with its sha256
    r = steer(db, "criteria", "record", "SS-2025", "X01", "C2", "--met", "--file", str(scan), "--upload-dir", str(up),
              "--now", NOW)
    assert r.exit_code == 0, r.output
    kept = list((up / "evidence").iterdir())
    assert len(kept) == 1 and kept[0].name != "bien-ban.pdf" and kept[0].read_bytes() == scan.read_bytes()
    # an unknown criterion keeps no file
    r = steer(db, "criteria", "record", "SS-2025", "X01", "C99", "--met", "--file", str(scan), "--upload-dir", str(up))
    assert r.exit_code == 1 and "C1, C2" in r.output
    assert len(list((up / "evidence").iterdir())) == 1
    for code in ("C3", "C4", "C5", "C6"):
        assert steer(db, "criteria", "record", "SS-2025", "X01", code, "--met", "--evidence", f"Văn bản {code}",
                     "--now", NOW).exit_code == 0
    view = _show(db)
    x01 = {u["unit"]: u for u in view["units"]}["X01"]
    assert x01["status"] == "red" and x01["missing"] == ["C7"] and (x01["met"], x01["total"]) == (6, 7)
    rec = x01["records"]["C2"]
    assert rec["file"] == {"name": "bien-ban.pdf", "size": scan.stat().st_size,
                           "sha256": hashlib.sha256(scan.read_bytes()).hexdigest()}
    assert rec["recorded_on"] == "20/07/2025" and rec["evidence"] is None
    assert x01["records"]["C1"]["evidence"] == "Biên bản số 12/BB-UBND ngày 03/07/2025 của UBND xã Lâm 1"
    # C7 met: green, though the optional C8 is not
    assert steer(db, "criteria", "record", "SS-2025", "X01", "C7", "--met", "--evidence", "Quyết định số 7/QĐ-UBND",
                 "--now", NOW).exit_code == 0
    view = _show(db)
    x01 = {u["unit"]: u for u in view["units"]}["X01"]
    assert x01["status"] == "green" and x01["optional_missing"] == ["C8"] and view["green"] == 1
    # the latest record counts: C3 not met again makes it red
    assert steer(db, "criteria", "record", "SS-2025", "X01", "C3", "--not-met", "--now", NOW).exit_code == 0
    assert {u["unit"]: u["status"] for u in _show(db)["units"]} == {"X01": "red", "X02": "red", "X03": "red"}
    eng = make_engine(db)
    with transaction(eng) as s:
        ev = s.execute(select(Event.data).where(Event.kind == "criterion_recorded").order_by(Event.id)).scalars().all()
    eng.dispose()
    assert ev[0]["document"]["symbol"] == "BB-UBND" and ev[1]["file"]["name"] == "bien-ban.pdf"

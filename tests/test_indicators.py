"""Indicators: targets of the real annex, loading annex tables and YAML, measurements, status, CLI."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine.db import transaction
from engine.errors import UserError
from engine.indicators import (
    IndicatorFileError,
    higher_is_better,
    indicator_status,
    load_indicators,
    on_track,
    parse_indicator_file,
    parse_number,
    parse_period,
    parse_target,
    record_measurement,
)
from engine.models import Event, Indicator, Measurement, Plan, Unit
from tests.factories import at, ensure_chain_head
from tests.realdata import REAL_PLANS, annex_rows, plain

ANNEX1 = REAL_PLANS / "nq03-annex1-indicators.md"
SAMPLE = Path(__file__).resolve().parent.parent / "plans" / "sample-indicators.yaml"
NOW = at("2025-11-05 09:00")


@pytest.fixture(scope="module")
def annex() -> tuple[list[str], list[list[str]]]:
    if not ANNEX1.exists():  # pragma: no cover
        pytest.fail(f"real data missing: {ANNEX1}")
    return annex_rows(ANNEX1)


def _targets(annex) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """TT -> (target text, unit) for every numbered row of the real annex."""
    _, rows = annex
    return {plain(r[0]): (plain(r[3]), plain(r[2])) for r in rows[1:] if plain(r[0])[:1].isdigit()}


# --- targets ----------------------------------------------------------------------------


def test_real_annex_targets_parse_to_the_expected_comparators_and_bounds(annex):
    t = _targets(annex)

    def parsed(tt: str) -> tuple[str, float | None, float | None]:
        text, unit = t[tt]
        p = parse_target(text, unit_of_measure=unit)
        assert p.text == text  # the original is always kept
        return p.comparator, p.low, p.high

    assert parsed("8") == (">=", 55.0, None)  # "≥ 55"
    assert parsed("11.8") == (">=", 30.0, None)  # ">= 30"
    assert parsed("11.2") == (">=", 90.0, None)  # bare "90": reach at least
    assert parsed("23.1") == (">=", 100.0, None)  # "100%"
    assert parsed("23.2") == (">=", 9.0, None)  # "09"
    assert parsed("29") == (">=", 3.0, None)  # "≥ 03"
    assert parsed("14") == (">", 0.7, None)  # "> 0,7": decimal comma, strict
    assert parsed("16") == (">", 60.0, None)
    assert parsed("19") == ("range", 40.0, 50.0)  # "40 - 50"
    assert parsed("41") == ("range", 20.0, 50.0)  # "20% - 50%"
    assert parsed("33") == ("<=", None, 10.0)  # a rank
    assert parsed("6") == ("<=", None, 3.0)  # "≤ 3 Đông Nam Á"
    assert parsed("1") == ("text", None, None)
    assert parsed("23") == ("text", None, None)


def test_every_real_annex_target_is_numeric_when_it_starts_with_a_number_or_sign_and_text_otherwise(annex):
    numeric = text = 0
    for tt, (target, unit) in _targets(annex).items():
        p = parse_target(target, unit_of_measure=unit)
        if not target:
            assert p.comparator == "text" and p.text == ""
        elif target[0] in "≥≤<>=" or target[0].isdigit():
            assert p.comparator in (">=", "<=", ">", "range"), (tt, target, p)
            assert (p.low if p.low is not None else p.high) is not None
            numeric += 1
        else:
            assert p.comparator == "text", (tt, target, p)
            assert on_track(p, 100.0) is None
            text += 1
    assert (numeric, text) == (52, 4)


def test_several_parts_keep_their_labels_and_the_first_part_decides():
    p = parse_target("≤ 3 Đông Nam Á; ≤ 50 Thế giới", unit_of_measure="Thứ bậc")
    assert (p.comparator, p.high, p.label) == ("<=", 3.0, "Đông Nam Á")
    assert [(q.comparator, q.high, q.label) for q in p.parts] == [("<=", 3.0, "Đông Nam Á"), ("<=", 50.0, "Thế giới")]
    assert on_track(p, 3) is True and on_track(p, 4) is False


def test_trailing_words_after_the_number_are_kept_as_the_label():
    p = parse_target("≥ 3% và tăng dần theo yêu cầu phát triển")
    assert (p.comparator, p.low, p.percent) == (">=", 3.0, True)
    assert p.label == "và tăng dần theo yêu cầu phát triển"


@pytest.mark.parametrize("text,unit,expected", [
    ("90", "%", (">=", 90.0, None)),
    ("10", "Thứ bậc", ("<=", None, 10.0)),
    ("40-50", None, ("range", 40.0, 50.0)),
    ("40 – 50", None, ("range", 40.0, 50.0)),
    ("Từ 40 đến 50", None, ("range", 40.0, 50.0)),
    ("Tối thiểu 30%", "%", (">=", 30.0, None)),
    ("30% trở lên", "%", (">=", 30.0, None)),
    ("Không quá 5", "ngày", ("<=", None, 5.0)),
    ("= 100", "%", ("=", 100.0, 100.0)),
    ("2,5", "% GRDP", (">=", 2.5, None)),
    ("1.000", "Doanh nghiệp", (">=", 1000.0, None)),
])
def test_target_forms(text, unit, expected):
    p = parse_target(text, unit_of_measure=unit)
    assert (p.comparator, p.low, p.high) == expected


def test_direction_and_on_track_follow_the_comparator():
    at_least, at_most, band = parse_target("≥ 80"), parse_target("≤ 10"), parse_target("40 - 50")
    assert (higher_is_better(at_least), higher_is_better(at_most), higher_is_better(band)) == (True, False, None)
    assert higher_is_better(parse_target("Đạt mức tiên tiến")) is None
    assert (on_track(at_least, 80), on_track(at_least, 79.99)) == (True, False)
    assert (on_track(at_most, 10), on_track(at_most, 11)) == (True, False)
    assert (on_track(band, 40), on_track(band, 50), on_track(band, 51)) == (True, True, False)
    assert on_track(parse_target("> 0,7"), 0.7) is False
    assert on_track(at_least, None) is None


def test_numbers_accept_decimal_commas_and_vietnamese_thousands():
    assert [parse_number(x) for x in ("72,63", "72.63", "1.000", "1.234,5", "80%", " 5 ", "abc", "")] == \
        [72.63, 72.63, 1000.0, 1234.5, 80.0, 5.0, None, None]


def test_periods_are_validated_and_ordered_by_their_end():
    assert [parse_period(p).key for p in ("2025-10", "2025-3", "2025-Q3", "2025-h1", "2025", "10/2025")] == \
        ["2025-10", "2025-03", "2025-Q3", "2025-H1", "2025", "2025-10"]
    assert parse_period("2025-Q3").end == date(2025, 9, 30)
    assert sorted(["2025", "2025-12", "2025-Q4", "2025-11"], key=lambda k: parse_period(k)) == \
        ["2025-11", "2025-12", "2025-Q4", "2025"]
    with pytest.raises(UserError, match="không có tháng 13"):
        parse_period("2025-13")
    with pytest.raises(UserError, match="2025-10 \\(tháng\\), 2025-Q3"):
        parse_period("Q5-2025")


# --- annex tables in every format -----------------------------------------------------------


def _write_xlsx(dest: Path, annex) -> Path:  # type: ignore[no-untyped-def]
    """The annex laid out like a ministry's Excel file: title, header, merged group rows,
    TT as numbers where they are whole, the reporting unit merged down over 11.2-11.12."""
    from openpyxl import Workbook

    titles, rows = annex
    wb = Workbook()
    ws = wb.active
    for r, line in enumerate(titles, start=1):
        ws.cell(r, 1, plain(line))
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=5)
    r = len(titles) + 2
    for c, text in enumerate(rows[0], start=1):
        ws.cell(r, c, plain(text))
    merge_from = None
    for row in rows[1:]:
        r += 1
        tt = plain(row[0])
        if tt in ("I", "II"):
            ws.cell(r, 1, f"{tt}. {plain(row[1])}")
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=5)
            continue
        ws.cell(r, 1, int(tt) if tt.isdigit() else tt)
        for c, text in enumerate(row[1:4], start=2):
            if plain(text):
                ws.cell(r, c, plain(text))
        if tt == "11.2":
            merge_from = r
            ws.cell(r, 5, plain(row[4]))
        elif merge_from and tt.startswith("11."):
            if tt == "11.12":
                ws.merge_cells(start_row=merge_from, start_column=5, end_row=r, end_column=5)
        elif plain(row[4]):
            ws.cell(r, 5, plain(row[4]))
    wb.save(dest)
    return dest


def _write_docx(dest: Path, annex) -> Path:  # type: ignore[no-untyped-def]
    import docx

    titles, rows = annex
    document = docx.Document()
    for line in titles:
        document.add_paragraph(plain(line))
    table = document.add_table(rows=len(rows), cols=5)
    for trow, row in zip(table.rows, rows):
        cells = trow.cells
        if plain(row[0]) in ("I", "II"):
            cells[0].merge(cells[4]).text = f"{plain(row[0])}. {plain(row[1])}"
        else:
            for cell, text in zip(cells, row):
                cell.text = plain(text)
    document.save(dest)
    return dest


def _write_csv(dest: Path, annex) -> Path:  # type: ignore[no-untyped-def]
    _, rows = annex
    with dest.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, delimiter=";").writerows([[plain(c) for c in r] for r in rows])
    return dest


@pytest.mark.parametrize("fmt", ["md", "xlsx", "docx", "csv"])
def test_the_real_annex_reads_the_same_from_markdown_excel_word_and_csv(fmt, annex, tmp_path):
    path = {"md": lambda: ANNEX1, "xlsx": lambda: _write_xlsx(tmp_path / "annex1.xlsx", annex),
            "docx": lambda: _write_docx(tmp_path / "annex1.docx", annex),
            "csv": lambda: _write_csv(tmp_path / "annex1.csv", annex)}[fmt]()
    f = parse_indicator_file(path)
    assert len(f.indicators) == 56  # 57 numbered rows minus the heading row 11
    assert f.groups == ["Đến năm 2030", "Đến năm 2045"]
    by_code = {i.code: i for i in f.indicators}
    assert "CT-11" not in by_code  # a heading over 11.1 .. 11.12
    assert by_code["CT-23"].target.comparator == "text"  # a parent row with a target is an indicator
    assert by_code["CT-11.10"].target.low == 100.0
    assert by_code["CT-11.12"].reporting_unit == "Văn phòng Chính phủ"
    assert (by_code["CT-35"].target_date, by_code["CT-36"].target_date) == (date(2030, 12, 31), date(2045, 12, 31))
    assert (by_code["CT-36"].group, by_code["CT-8"].unit_of_measure) == ("Đến năm 2045", "%")


def test_a_repeated_tt_is_an_error_naming_both_rows(tmp_path):
    path = tmp_path / "dup.md"
    path.write_text("| TT | Chỉ tiêu | Đơn vị | Kết quả |\n|---|---|---|---|\n| 1 | A | % | ≥ 5 |\n"
                    "| 2 | B | % | 10 |\n| 1 | C | % | 20 |\n", encoding="utf-8")
    with pytest.raises(IndicatorFileError, match=r"TT «1» ở các dòng 3, 5"):
        parse_indicator_file(path)


def test_a_table_without_an_indicator_header_names_what_it_saw(tmp_path):
    path = tmp_path / "tasks.md"
    path.write_text("| TT | Tên nhiệm vụ | Cơ quan chủ trì |\n|---|---|---|\n| 1 | A | Bộ Y tế |\n", encoding="utf-8")
    with pytest.raises(IndicatorFileError, match=r"cột «Chỉ tiêu».*«Tên nhiệm vụ»"):
        parse_indicator_file(path)


def test_a_yaml_item_with_an_unknown_key_is_rejected_with_its_position(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("indicators:\n  - code: A-1\n    name: X\n    target: '≥ 5'\n  - code: A-2\n    name: Y\n"
                    "    taget: '10'\n", encoding="utf-8")
    with pytest.raises(IndicatorFileError, match=r"indicators\[2\] \(mã A-2\): khóa không hợp lệ: taget"):
        parse_indicator_file(path)


_VIETNAMESE_LETTERS = set("ạảãàáâậầấẩẫăắằặẳẵđêếềệểễôốồộổỗơớờợởỡưứừựửữíìịỉĩóòọỏõúùụủũýỳỵỷỹ")


@pytest.mark.parametrize("name,text", [
    ("dup.md", "| TT | Indicator | Unit | Target |\n|---|---|---|---|\n| 1 | A | % | 5 |\n| 1 | C | % | 20 |\n"),
    ("tasks.md", "| No. | Task | Lead agency |\n|---|---|---|\n| 1 | A | X |\n"),
    ("notes.md", "| TT | Indicator | Target |\n|---|---|---|\n| x | A | 5 |\n"),
    ("bad.yaml", "indicators:\n  - code: A-1\n    name: X\n    taget: '10'\n"),
    ("bad.yaml", "indicators:\n  - code: A-1\n    name: X\n    target: '5'\n    target_date: 2200\n"),
    ("bad.yaml", "indicators:\n  - name: X\n"),
    ("bad.yaml", "indicators: []\n"),
    ("bad.yaml", "indicators: [unclosed\n"),
    ("bad.yaml", "indicators:\n  - code: A-1\n    name: [a]\n"),
])
def test_indicator_file_errors_come_in_english_when_asked(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IndicatorFileError) as vi:
        parse_indicator_file(path)
    with pytest.raises(IndicatorFileError) as en:
        parse_indicator_file(path, lang="en")
    assert name in str(en.value)
    assert not _VIETNAMESE_LETTERS & set(str(en.value).lower()), str(en.value)
    assert _VIETNAMESE_LETTERS & set(str(vi.value).lower()), str(vi.value)


def test_an_indicator_without_a_target_is_warned_about_in_english_when_asked(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("indicators:\n  - code: A-1\n    name: X\n", encoding="utf-8")
    assert parse_indicator_file(path, lang="en").warnings == [
        f"File «{path}», indicators[1] (code A-1): no target value yet («target»)."]
    assert parse_indicator_file(path).warnings == [
        f"Tệp «{path}», indicators[1] (mã A-1): chưa có giá trị mục tiêu («target»)."]


# --- loading --------------------------------------------------------------------------------


@pytest.fixture
def db(engine):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        ensure_chain_head(s)
    return engine


def _events(engine, kind: str) -> list[Event]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return list(s.execute(select(Event).where(Event.kind == kind).order_by(Event.id)).scalars())


def test_loading_the_real_annex_twice_creates_56_indicators_once(db, annex, tmp_path):
    path = _write_xlsx(tmp_path / "annex1.xlsx", annex)
    first = load_indicators(db, path, now=NOW)
    assert (first.created, first.updated, first.groups) == (56, 0, ["Đến năm 2030", "Đến năm 2045"])
    again = load_indicators(db, path, now=NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 56)
    assert len(_events(db, "indicators_loaded")) == 1
    with transaction(db) as s:
        row = s.execute(select(Indicator, Unit.code).join(Unit, Unit.id == Indicator.reporting_unit_id)
                        .where(Indicator.code == "CT-11.1")).one()
        assert (row[0].comparator, row[0].target_low, row[0].target_text, row[1]) == (">=", 80.0, "≥ 80", "BKHCN")
        assert s.scalar(select(func.count()).select_from(Indicator)) == 56


def test_a_changed_target_updates_only_that_indicator_and_logs_before_and_after(db, tmp_path):
    text = ANNEX1.read_text(encoding="utf-8")
    load_indicators(db, ANNEX1, now=NOW, prefix="NQ")
    revised = tmp_path / "annex1.md"
    revised.write_text(text.replace("| ≥ 55 ", "| ≥ 60 "), encoding="utf-8")
    r = load_indicators(db, revised, now=NOW, prefix="NQ")
    assert (r.created, r.updated, r.updated_codes) == (0, 1, ["NQ-8"])
    changes = _events(db, "indicators_loaded")[-1].data["updated"]["NQ-8"]
    assert changes["target_low"] == [55.0, 60.0] and changes["target_text"] == ["≥ 55", "≥ 60"]


def test_the_sample_yaml_links_its_indicators_to_the_plan(db):
    with pytest.raises(UserError, match="Không có kế hoạch mã «KH-57-LS»"):
        load_indicators(db, SAMPLE, now=NOW)
    with transaction(db) as s:
        s.add(Plan(code="KH-57-LS", title="Kế hoạch 57", created_at=NOW, updated_at=NOW))
    r = load_indicators(db, SAMPLE, now=NOW)
    assert (r.created, r.plan, r.warnings) == (12, "KH-57-LS", [])
    with transaction(db) as s:
        status = {d["code"]: d for d in indicator_status(s, plan_code="KH-57-LS")}
    assert len(status) == 12
    assert (status["XH-02"]["comparator"], status["XH-02"]["higher_is_better"]) == ("<=", False)
    assert status["KTS-01"]["reporting_unit"] == "STC"
    assert status["DVC-01"]["target_date"] == "2025-12-31"


def test_an_unknown_reporting_unit_is_registered_as_a_new_unit_with_a_warning(db, tmp_path):
    path = tmp_path / "kpi.yaml"
    path.write_text("indicators:\n  - code: X-1\n    name: Chỉ tiêu thử\n    target: '≥ 5'\n"
                    "    reporting_unit: Trung tâm Điều hành thông minh tỉnh\n", encoding="utf-8")
    r = load_indicators(db, path, now=NOW)
    assert r.new_units == ["NEW_TTDHTMT"]
    assert "chưa có trong danh mục" in r.warnings[0]
    assert load_indicators(db, path, now=NOW).new_units == []  # the second load finds it by name
    with transaction(db) as s:
        assert s.execute(select(Unit.source).where(Unit.code == "NEW_TTDHTMT")).scalar_one() == "plan"


# --- measurements and status ----------------------------------------------------------------------


def test_recording_a_period_again_updates_it_and_logs_before_and_after(db):
    load_indicators(db, ANNEX1, now=NOW)
    with transaction(db) as s:
        r = record_measurement(s, "CT-8", "2025-10", "72,63", actor="secretariat", now=NOW, source="Cục Thống kê")
    assert (r["value"], r["created"], r["on_track"]) == (72.63, True, True)
    with transaction(db) as s:
        r = record_measurement(s, "ct-8", "2025-10", 50, actor="stc_focal", now=NOW)
    assert (r["created"], r["changed"], r["on_track"]) == (False, True, False)
    with transaction(db) as s:
        assert not record_measurement(s, "CT-8", "2025-10", "50", actor="x", now=NOW)["changed"]
        assert s.scalar(select(func.count()).select_from(Measurement)) == 1
    events = _events(db, "measurement_recorded")
    assert len(events) == 2
    assert events[1].data["before"] == {"value": 72.63, "value_text": None, "source": "Cục Thống kê"}
    assert events[1].data["after"] == {"value": 50.0, "value_text": None, "source": None}
    assert events[1].actor == "stc_focal"


def test_measurement_mistakes_are_explained(db):
    load_indicators(db, ANNEX1, now=NOW)
    with transaction(db) as s:
        with pytest.raises(UserError, match="Không có chỉ tiêu mã «CT-88». Có phải: CT-8"):
            record_measurement(s, "CT-88", "2025-10", 1, actor="x", now=NOW)
        with pytest.raises(UserError, match="Kỳ báo cáo «2025/10» không hợp lệ"):
            record_measurement(s, "CT-8", "2025/10", 1, actor="x", now=NOW)
        with pytest.raises(UserError, match="«nhiều» của chỉ tiêu CT-8 không phải là một số"):
            record_measurement(s, "CT-8", "2025-10", "nhiều", actor="x", now=NOW)
        text_target = record_measurement(s, "CT-1", "2025", "Đạt mức khá", actor="x", now=NOW)
        assert (text_target["value"], text_target["value_text"], text_target["on_track"]) == (None, "Đạt mức khá", None)


def test_status_gives_latest_and_previous_values_direction_and_on_track_as_of_a_period(db):
    load_indicators(db, ANNEX1, now=NOW)
    with transaction(db) as s:
        for period, value in (("2025-08", 40), ("2025-09", 45.5), ("2025-Q3", 46), ("2025-10", 56)):
            record_measurement(s, "CT-8", period, value, actor="x", now=NOW)
        for period, value in (("2024", 12), ("2025", 15)):
            record_measurement(s, "CT-33", period, value, actor="x", now=NOW)  # a rank: ≤ 10
    with transaction(db) as s:
        (now,) = indicator_status(s, "CT-8")
        (q3,) = indicator_status(s, "CT-8", as_of_period="2025-Q3")
        (aug,) = indicator_status(s, "CT-8", as_of_period="2025-08")
        (rank,) = indicator_status(s, "CT-33")
        everything = indicator_status(s, "all", as_of_period="2025-12")
    assert (now["period"], now["value"], now["previous_period"], now["previous_value"]) == ("2025-10", 56.0, "2025-Q3", 46.0)
    assert (now["direction"], now["improving"], now["on_track"]) == ("up", True, True)
    assert (q3["period"], q3["previous_period"], q3["on_track"]) == ("2025-Q3", "2025-09", False)
    assert (aug["value"], aug["previous_value"], aug["direction"]) == (40.0, None, None)
    assert (rank["direction"], rank["improving"], rank["on_track"]) == ("up", False, False)
    assert len(everything) == 56 and [d["code"] for d in everything[:3]] == ["CT-1", "CT-2", "CT-3"]
    assert set(now) >= {"code", "name", "group", "target", "comparator", "target_low", "target_high", "target_date",
                        "unit_of_measure", "reporting_unit", "value", "previous_value", "direction", "on_track"}


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_load_record_and_list(db, db_url):
    from cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["--db", db_url, "kpi", "load", str(ANNEX1)])
    assert r.exit_code == 0, r.output
    assert "56 chỉ tiêu (56 mới" in r.output
    r = runner.invoke(app, ["--db", db_url, "kpi", "record", "CT-8", "--period", "2025-10", "--value", "72.63",
                            "--source", "Cục Thống kê", "--as", "stc_focal", "--now", "2025-11-05"])
    assert r.exit_code == 0, r.output
    assert "Đã ghi CT-8 kỳ tháng 10/2025: 72,63 — đạt mục tiêu" in r.output
    r = runner.invoke(app, ["--db", db_url, "--lang", "en", "kpi", "record", "CT-8", "--period", "2025-10",
                            "--value", "50"])
    assert r.exit_code == 0, r.output
    assert "Updated CT-8 October 2025: 50 — off track" in r.output
    r = runner.invoke(app, ["--db", db_url, "kpi", "list", "--format", "json", "--period", "2025-12"])
    assert r.exit_code == 0, r.output
    import json

    rows = {d["code"]: d for d in json.loads(r.stdout)}
    assert (rows["CT-8"]["value"], rows["CT-8"]["on_track"]) == (50.0, False)
    r = runner.invoke(app, ["--db", db_url, "kpi", "list"])
    assert r.exit_code == 0 and "56 chỉ tiêu; 1 đã có số liệu" in r.output


def test_cli_mistakes_exit_1_with_one_message(db, db_url, tmp_path):
    from cli.main import app

    runner = CliRunner()
    runner.invoke(app, ["--db", db_url, "kpi", "load", str(ANNEX1)])
    r = runner.invoke(app, ["--db", db_url, "kpi", "record", "CT-99", "--period", "2025-10", "--value", "1"])
    assert r.exit_code == 1
    assert "Không có chỉ tiêu mã «CT-99»" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["--db", db_url, "kpi", "record", "CT-8", "--period", "2025-Q5", "--value", "1"])
    assert r.exit_code == 1 and "Kỳ báo cáo «2025-Q5» không hợp lệ" in r.output
    r = runner.invoke(app, ["--db", db_url, "kpi", "load", str(tmp_path / "missing.md")])
    assert r.exit_code == 1 and "Không tìm thấy tệp" in r.output

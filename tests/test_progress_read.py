"""Reading a filled progress sheet (engine.progress.read_sheet): calamine reads the usual sheet,
openpyxl the unusual one, and both give the same rows; the Office limits' cheap bound never
lets through what the exact count refuses."""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import date, datetime, timezone

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import progress
from engine.errors import InputFileError
from engine.planfile import office
from engine.planfile.office import Limits, check_office_size
from engine.planfile.spec import PlanFileError
from engine.progress import COLUMNS, HEADER_ROW, ExportRow, read_sheet, write_sheet
from tests.fuzzkit import cell_value

COL = {key: i for i, (key, *_) in enumerate(COLUMNS, start=1)}
NOW = datetime(2025, 10, 20, 2, 0, tzinfo=timezone.utc)


def _sheet(n: int = 6) -> openpyxl.Workbook:
    rows = [ExportRow(ref=f"KH/{i}", version=1, plan="KH", task=str(i), title=f"Nhiệm vụ {i}", deliverable="Báo cáo",
                      deadline=date(2025, 12, 31), status="not_started") for i in range(1, n + 1)]
    data = write_sheet("U1", "Sở số 1", rows, period="2025-10", plan_code="KH", today=date(2025, 10, 20),
                       exported_at=NOW)
    return openpyxl.load_workbook(io.BytesIO(data))


def _bytes(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _by_openpyxl(data: bytes, monkeypatch: pytest.MonkeyPatch) -> progress.Sheet:
    with monkeypatch.context() as m:
        m.setattr(progress, "_plain_formats", lambda data: False)
        return read_sheet(data, "f.xlsx")


def _read(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[progress.Sheet, list[str]]:
    """read_sheet, and which readers it asked, in order."""
    used: list[str] = []
    with monkeypatch.context() as m:
        for name, cls in (("calamine", progress._CalamineBook), ("openpyxl", progress._OpenpyxlBook)):
            def spy(self, *a, _init=cls.__init__, _name=name, **k):  # type: ignore[no-untyped-def]
                used.append(_name)
                _init(self, *a, **k)

            m.setattr(cls, "__init__", spy)
        return read_sheet(data, "f.xlsx"), used


def _by_calamine(data: bytes, monkeypatch: pytest.MonkeyPatch) -> progress.Sheet:
    sheet, used = _read(data, monkeypatch)
    assert used == ["calamine"]
    return sheet


@settings(max_examples=int(os.environ.get("STEER_FUZZ_EXAMPLES", "15")) * 2, deadline=None, derandomize=True,
          database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.lists(st.tuples(st.integers(1, 12), st.integers(1, 20), cell_value), min_size=1, max_size=10))
def test_both_readers_agree_on_nasty_values(monkeypatch, values):  # type: ignore[no-untyped-def]
    wb = _sheet()
    ws = wb.worksheets[1]
    for row, col, value in values:
        try:
            ws.cell(HEADER_ROW + row, col).value = value
        except Exception:  # a value openpyxl itself refuses (control characters, …)
            continue
    try:
        data = _bytes(wb)
    except Exception:
        return
    try:
        slow = _by_openpyxl(data, monkeypatch)
    except InputFileError as exc:  # a formula: the same message either way
        with pytest.raises(InputFileError, match=re.escape(str(exc))):
            read_sheet(data, "f.xlsx")
        return
    assert _read(data, monkeypatch)[0] == slow


def _other_path(data: bytes, monkeypatch: pytest.MonkeyPatch, used: tuple[str, ...] = ("openpyxl",)) -> progress.Sheet:
    sheet, asked = _read(data, monkeypatch)
    assert tuple(asked) == used
    return sheet


def _filled() -> openpyxl.Workbook:
    """A sheet as a clerk leaves it: values of every kind, rows swapped, merges, a row added."""
    wb = _sheet()
    ws = wb.worksheets[1]
    r = HEADER_ROW + 1
    ws.cell(r, COL["status"]).value = "Đang thực hiện"
    ws.cell(r, COL["percent"]).value = 40
    ws.cell(r + 1, COL["percent"]).value = 0.6
    ws.cell(r + 1, COL["doc_date"]).value = datetime(2025, 10, 15)  # a real date cell
    ws.cell(r + 1, COL["doc_date"]).number_format = "dd/mm/yyyy"
    ws.cell(r + 2, COL["doc_date"]).value = "15/10/2025"  # typed as text
    ws.cell(r + 2, COL["doc"]).value = 1234  # a number where text is expected
    ws.cell(r + 2, COL["blockers"]).value = True
    ws.cell(r + 3, COL["blockers"]).value = "  \n "  # blank but not empty
    ws.cell(r + 3, COL["ext_until"]).value = date(2026, 1, 31)
    ws.cell(r + 3, COL["ext_until"]).number_format = "d/m/yyyy"
    # the result merged over two rows (one vertical merge in a column to fill) …
    ws.cell(r + 4, COL["result"]).value = "Đã làm chung cho hai nhiệm vụ"
    ws.merge_cells(start_row=r + 4, start_column=COL["result"], end_row=r + 5, end_column=COL["result"])
    # … and the difficulties merged across two columns (the value stays in the first)
    ws.cell(r, COL["blockers"]).value = "Thiếu kinh phí"
    ws.merge_cells(start_row=r, start_column=COL["blockers"], end_row=r, end_column=COL["ext_until"])
    # two rows swapped, a row added below the table after a gap, a note far to the right
    for c in range(1, len(COLUMNS) + 1):
        a, b = ws.cell(r + 1, c), ws.cell(r + 2, c)
        a.value, b.value = b.value, a.value
    ws.cell(r + 8, COL["title"]).value = "Nhiệm vụ phát sinh"
    ws.cell(r + 8, COL["result"]).value = "Đã tổ chức"
    ws.cell(r + 3, 40).value = "ghi chú"
    return wb


def test_both_readers_give_the_same_rows(monkeypatch):  # type: ignore[no-untyped-def]
    data = _bytes(_filled())
    fast, slow = _by_calamine(data, monkeypatch), _by_openpyxl(data, monkeypatch)
    assert fast == slow
    rows = {r.row: r.values for r in fast.rows}
    r = HEADER_ROW + 1
    assert fast.unit == "U1" and fast.period == "2025-10" and list(rows) == [r, r + 1, r + 2, r + 3, r + 4, r + 5, r + 8]
    assert rows[r]["percent"] == "40" and rows[r + 2]["percent"] == "0.6"
    assert rows[r + 2]["ref"] == "KH/2" and rows[r + 2]["doc_date"] == "15/10/2025"  # swapped rows
    assert rows[r + 1]["ref"] == "KH/3" and rows[r + 1]["doc_date"] == "15/10/2025" and rows[r + 1]["doc"] == "1234"
    assert rows[r + 1]["blockers"] == "TRUE" and rows[r + 3]["blockers"] == ""
    assert rows[r + 3]["ext_until"] == "31/01/2026" and rows[r]["deadline"] == "31/12/2025"
    assert rows[r + 4]["result"] == rows[r + 5]["result"] == "Đã làm chung cho hai nhiệm vụ"
    assert rows[r]["blockers"] == "Thiếu kinh phí" and rows[r]["ext_until"] == ""
    assert rows[r + 8]["ref"] == "" and rows[r + 8]["title"] == "Nhiệm vụ phát sinh"


def test_a_table_moved_down_and_right_reads_the_same(monkeypatch):  # type: ignore[no-untyped-def]
    wb = _filled()
    ws = wb.worksheets[1]
    ws.insert_rows(1, 3)
    ws.insert_cols(1, 2)
    data = _bytes(wb)
    fast, slow = _by_calamine(data, monkeypatch), _by_openpyxl(data, monkeypatch)
    assert fast == slow and fast.rows[0].row == HEADER_ROW + 4 and fast.rows[0].values["ref"] == "KH/1"


def test_a_cell_far_away_is_read_by_openpyxl(monkeypatch):  # type: ignore[no-untyped-def]
    # calamine would hold 2^34 cells for it (and the process would abort)
    wb = _filled()
    wb.worksheets[1]["XFD1048576"] = "lạc chỗ"
    sheet = _other_path(_bytes(wb), monkeypatch)
    assert [r.row for r in sheet.rows][-1] == 1048576
    assert len(sheet.rows) == len(_by_calamine(_bytes(_filled()), monkeypatch).rows) + 1


def test_month_year_dates_and_long_numbers_are_read_by_openpyxl(monkeypatch):  # type: ignore[no-untyped-def]
    wb = _sheet()
    ws = wb.worksheets[1]
    ws.cell(HEADER_ROW + 1, COL["ext_until"]).value = date(2026, 6, 1)
    ws.cell(HEADER_ROW + 1, COL["ext_until"]).number_format = "mm/yyyy"  # Excel's "6/2026"
    sheet = _other_path(_bytes(wb), monkeypatch)
    assert sheet.rows[0].values["ext_until"] == "06/2026"  # month/year as shown, not 01/06/2026
    for fmt in ("h:mm", "[h]:mm:ss"):  # built-in 20, 46
        wb = _sheet()
        wb.worksheets[1].cell(HEADER_ROW + 1, COL["result"]).value = 0.5
        wb.worksheets[1].cell(HEADER_ROW + 1, COL["result"]).number_format = fmt
        assert _other_path(_bytes(wb), monkeypatch).rows[0].values["result"] in ("12:00", "12:00:00")

    wb = _sheet()
    wb.worksheets[1].cell(HEADER_ROW + 1, COL["doc"]).value = 4242
    data = _rewrite(_bytes(wb), "xl/worksheets/sheet2.xml",  # openpyxl itself writes 1.2345678901234568e+16
                    lambda b: b.replace(b"<v>4242</v>", b"<v>12345678901234567</v>"))
    sheet = _other_path(data, monkeypatch)
    assert sheet.rows[0].values["doc"] == "12345678901234567"  # not 12345678901234568, as a float gives


def test_error_cells_and_escapes_are_read_by_openpyxl(monkeypatch):  # type: ignore[no-untyped-def]
    wb = _sheet()
    ws = wb.worksheets[1]
    ws.cell(HEADER_ROW + 1, COL["result"]).value = "mã _x0041_ giữ nguyên"
    assert _other_path(_bytes(wb), monkeypatch).rows[0].values["result"] == "mã _x0041_ giữ nguyên"
    wb = _sheet()
    ws = wb.worksheets[1]
    ws.cell(HEADER_ROW + 1, COL["status"]).value = "#N/A"
    ws.cell(HEADER_ROW + 1, COL["status"]).data_type = "e"
    assert _other_path(_bytes(wb), monkeypatch).rows[0].values["status"] == "#N/A"


@pytest.mark.parametrize("value", [-1, 2958466, 1e10])
def test_odd_numbers_in_date_cells_are_read_by_openpyxl(monkeypatch, value):  # type: ignore[no-untyped-def]
    wb = _sheet()
    wb.worksheets[1].cell(HEADER_ROW + 1, COL["deadline"]).value = value
    assert _other_path(_bytes(wb), monkeypatch).rows[0].values["deadline"] in ("29/12/1899", "#VALUE!")


def test_formulas(monkeypatch):  # type: ignore[no-untyped-def]
    wb = _sheet()
    wb.worksheets[1].cell(HEADER_ROW + 2, COL["percent"]).value = "=10*5"
    with pytest.raises(InputFileError, match=r"f\.xlsx.*O6"):
        read_sheet(_bytes(wb), "f.xlsx")
    wb = _sheet()
    wb.worksheets[1]["A3"] = "=1+1"  # above the table: allowed, as before
    assert len(_other_path(_bytes(wb), monkeypatch).rows) == 6


def _rewrite(data: bytes, name: str, fn) -> bytes:  # type: ignore[no-untyped-def]
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info)
            out.writestr(info.filename, fn(body) if info.filename == name else body)
    return buf.getvalue()


def _prefixed(xml: bytes) -> bytes:
    """The same worksheet with every element prefixed (x:row, x:c, …), as some writers do."""
    xml = xml.replace(b'xmlns="', b'xmlns:x="', 1)
    return re.sub(rb"<(/?)([A-Za-z])", rb"<\1x:\2", xml)


@pytest.mark.parametrize("encode", [None, "utf-16", "prefixed"])
def test_the_cheap_bound_never_lets_more_through(encode):  # type: ignore[no-untyped-def]
    data = _bytes(_sheet(12))
    part = "xl/worksheets/sheet2.xml"
    if encode == "utf-16":
        data = _rewrite(data, part, lambda b: b.decode().encode("utf-16"))
    elif encode == "prefixed":
        data = _rewrite(data, part, _prefixed)
    head = zipfile.ZipFile(io.BytesIO(data)).read(part)[:12]
    assert head.startswith({None: b"<", "utf-16": b"\xff\xfe", "prefixed": b"<x:"}[encode])
    # 30 rows in all: the guide 9, the table 15 (title, subtitle, header, 12 items), the meta sheet 6
    with pytest.raises(PlanFileError, match="rows=29"):
        check_office_size(data, "f.xlsx", Limits(rows=29))
    check_office_size(data, "f.xlsx", Limits(rows=30))
    with pytest.raises(PlanFileError, match="cells=100"):
        check_office_size(data, "f.xlsx", Limits(cells=100))


def test_the_bound_decides_alone_only_below_the_limits(monkeypatch):  # type: ignore[no-untyped-def]
    data = _bytes(_sheet(12))
    counted = []
    real = office._count

    def counting(fh):  # type: ignore[no-untyped-def]
        counted.append(1)
        return real(fh)

    monkeypatch.setattr(office, "_count", counting)
    assert check_office_size(data, "f.xlsx", look_for=progress._OPENPYXL_ONLY) == frozenset()
    assert not counted  # a sheet well below the limits: no exact count
    check_office_size(data, "f.xlsx", Limits(rows=30))
    assert counted  # the bound (every "<") is over 30: the exact count decided


def test_a_unusual_or_damaged_file_still_gets_one_message(monkeypatch):  # type: ignore[no-untyped-def]
    data = _bytes(_sheet())
    bad = _rewrite(data, "xl/worksheets/sheet2.xml", lambda b: b[: len(b) // 2])
    with pytest.raises(InputFileError, match="f.xlsx"):
        read_sheet(bad, "f.xlsx")
    prefixed = _rewrite(data, "xl/worksheets/sheet2.xml", _prefixed)
    assert [r.values["ref"] for r in _other_path(prefixed, monkeypatch).rows] == [f"KH/{i}" for i in range(1, 7)]


def test_read_sheets_keeps_the_order_and_names_the_first_bad_file():  # type: ignore[no-untyped-def]
    """``read_sheets`` (two files at a time) gives the sheets in the order given, and a file
    that cannot be used raises its own message — the first such file in order."""
    from engine.errors import InputFileError
    from engine.progress import read_sheet, read_sheets

    good = [(_bytes(_sheet(n)), f"tien-do-{n}.xlsx") for n in (2, 3, 4)]
    got = read_sheets(good)
    assert [s.source for s in got] == [n for _, n in good] and [len(s.rows) for s in got] == [2, 3, 4]
    assert got == [read_sheet(d, n) for d, n in good]
    with pytest.raises(InputFileError) as exc:
        read_sheets([good[0], (b"not a workbook", "hong.xlsx"), (b"\x00", "hong-2.xlsx"), good[1]])
    assert "hong.xlsx" in str(exc.value) and "hong-2.xlsx" not in str(exc.value)

"""Bad progress sheets (steer progress import): a damaged file, the wrong workbook, formulas,
10⁵ rows, nasty cell values — one clear message (or a clean per-row conflict), never a
traceback, and nothing written."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from engine.db import make_engine, transaction
from engine.models import Plan
from engine.progress import COLUMNS, HEADER_ROW
from tests.factories import seed_url
from tests.fuzzkit import apply_zip_damage, cell_value, zip_damage
from tests.test_progress import NOW, TASKS, _rows_by_ref, snapshot, steer

REPO = Path(__file__).resolve().parent.parent
COL = {key: i for i, (key, *_) in enumerate(COLUMNS, start=1)}
EXAMPLES = int(os.environ.get("STEER_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[tuple[str, Engine, bytes]]:  # type: ignore[no-untyped-def]
    """One database for the module (every case checks that nothing was written) and its
    exported SKHCN sheet."""
    work = tmp_path_factory.mktemp("fuzzprog")
    url = f"sqlite:///{work / 'db.sqlite'}"
    from engine import db as dbmod

    eng = make_engine(url)
    dbmod.upgrade(eng)
    eng.dispose()
    seed_url(url, cache_dir=work, tasks=TASKS)
    eng = make_engine(url)
    with transaction(eng) as s:
        s.execute(update(Plan).values(issued_on=date(2025, 3, 1)))
    out = work / "SKHCN.xlsx"
    r = steer(url, "progress", "export", "--unit", "SKHCN", "--period", "2025-10", "--out", str(out), "--now", NOW)
    assert r.exit_code == 0, r.output
    yield url, eng, out.read_bytes()
    eng.dispose()


def _one_error(url: str, eng: Engine, path: Path, *needles: str, dry: bool = False) -> str:
    before = snapshot(eng)
    args = ["progress", "import", str(path), "--now", NOW] + (["--dry-run"] if dry else [])
    r = steer(url, *args)
    assert r.exit_code == 1, r.output
    assert r.output.count("Lỗi:") == 1 and "Traceback" not in r.output, r.output
    for n in needles:
        assert n in r.output, r.output
    assert snapshot(eng) == before
    return r.output


def test_random_bytes_and_a_truncated_sheet(base, tmp_path):  # type: ignore[no-untyped-def]
    url, eng, data = base
    junk = tmp_path / "tien-do.xlsx"
    junk.write_bytes(os.urandom(5000))
    _one_error(url, eng, junk, "tien-do.xlsx", "không phải biểu báo cáo tiến độ")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    _one_error(url, eng, cut, "cut.xlsx")


def test_the_wrong_workbook(base, tmp_path):  # type: ignore[no-untyped-def]
    url, eng, _ = base
    plan = tmp_path / "sample-plan.xlsx"
    plan.write_bytes((REPO / "plans" / "sample-plan.xlsx").read_bytes())
    _one_error(url, eng, plan, "sample-plan.xlsx", "không có trang biểu tiến độ", "Mã tham chiếu")
    doc = tmp_path / "bao-cao.xlsx"
    import docx

    d = docx.Document()
    d.add_paragraph("Báo cáo")
    buf = io.BytesIO()
    d.save(buf)
    doc.write_bytes(buf.getvalue())
    _one_error(url, eng, doc, "bao-cao.xlsx")


def test_a_table_without_steers_unit_and_period(base, tmp_path):  # type: ignore[no-untyped-def]
    url, eng, data = base
    wb = openpyxl.load_workbook(io.BytesIO(data))
    del wb["_steer"]
    path = tmp_path / "no-meta.xlsx"
    wb.save(path)
    _one_error(url, eng, path, "no-meta.xlsx", "_steer")


def test_formulas_are_refused(base, tmp_path):  # type: ignore[no-untyped-def]
    url, eng, data = base
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Tiến độ"]
    row = HEADER_ROW + 1
    ws.cell(row, COL["status"]).value = "Đang thực hiện"
    ws.cell(row, COL["percent"]).value = "=10*5"
    path = tmp_path / "cong-thuc.xlsx"
    wb.save(path)
    letter = openpyxl.utils.get_column_letter(COL["percent"])
    _one_error(url, eng, path, "cong-thuc.xlsx", f"ô {letter}{row} chứa công thức")
    _one_error(url, eng, path, "công thức", dry=True)


def test_a_hundred_thousand_rows(base, tmp_path):  # type: ignore[no-untyped-def]
    url, eng, _ = base
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Tiến độ")
    ws.append([label for _, label, _, _ in COLUMNS])
    for i in range(100_000):
        ws.append([f"KH-TEST/{i}", 1])
    path = tmp_path / "lon.xlsx"
    wb.save(path)
    _one_error(url, eng, path, "lon.xlsx", "10000")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(damage=st.lists(zip_damage(), min_size=1, max_size=3))
def test_damaged_zips_never_crash_nor_write(base, tmp_path, damage):  # type: ignore[no-untyped-def]
    url, eng, data = base
    bad = data
    for m in damage:
        try:
            bad = apply_zip_damage(bad, m)
        except Exception:  # the damage itself could not be applied (not a zip any more)
            break
    path = tmp_path / "hong.xlsx"
    path.write_bytes(bad)
    before = snapshot(eng)
    r = steer(url, "progress", "import", str(path), "--dry-run", "--now", NOW)
    assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output
    if r.exit_code == 1:
        assert r.output.count("Lỗi:") == 1, r.output
    assert snapshot(eng) == before


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.lists(st.tuples(st.sampled_from([k for k, *_ in COLUMNS]), cell_value), min_size=1, max_size=8))
def test_nasty_cells_are_row_conflicts_or_changes_never_a_crash(base, tmp_path, values):  # type: ignore[no-untyped-def]
    url, eng, data = base
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Tiến độ"]
    rows = list(_rows_by_ref(ws).values())
    for i, (key, value) in enumerate(values):
        try:
            c = ws.cell(rows[i % len(rows)], COL[key])
            c.value = value
            if isinstance(value, str):
                c.data_type = "s"
        except Exception:  # a value openpyxl itself refuses (control characters, …)
            continue
    path = tmp_path / "nasty.xlsx"
    try:
        wb.save(path)
    except Exception:
        return
    before = snapshot(eng)
    r = steer(url, "progress", "import", str(path), "--dry-run", "--now", NOW)
    assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output
    if r.exit_code == 1:
        assert r.output.count("Lỗi:") == 1, r.output
    assert snapshot(eng) == before

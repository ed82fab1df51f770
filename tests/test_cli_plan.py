"""The CLI as a person uses it: plan validate/load/list/show, task list, errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod
from engine.db import transaction
from engine.models import Event, Plan, Task

PLANS = Path(__file__).resolve().parent.parent / "plans"
runner = CliRunner()


def steer(db_url: str, *args: str):
    return runner.invoke(app, ["--db", db_url, *args], catch_exceptions=False)


def _counts(url: str) -> tuple[int, int, int]:
    eng = dbmod.make_engine(url)
    with transaction(eng) as s:
        out = tuple(s.scalar(select(func.count()).select_from(m)) for m in (Plan, Task, Event))
    eng.dispose()
    return out  # type: ignore[return-value]


def test_sample_directory_and_plan_load_and_read_back_as_json(db_url):
    r = steer(db_url, "directory", "load", str(PLANS / "sample-directory.yaml"))
    assert r.exit_code == 0, r.output
    r = steer(db_url, "plan", "load", str(PLANS / "sample-plan.yaml"))
    assert r.exit_code == 0, r.output
    assert "80" in r.output
    r = steer(db_url, "task", "list", "--plan", "KH-57-LS", "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert len(rows) == 80
    keys = {"code", "title", "section", "lead_units", "coordinating_units", "deliverable", "deadline",
            "deadline_text", "deadline_kind", "recurrence", "status"}
    assert keys <= set(rows[0])
    assert {r_["deadline_kind"] for r_ in rows} <= {"date", "ongoing", "recurring", None}
    assert all(isinstance(r_["lead_units"], list) for r_ in rows)
    r = steer(db_url, "plan", "show", "KH-57-LS")
    assert r.exit_code == 0 and "KH-57-LS" in r.output
    r = steer(db_url, "plan", "list", "--format", "json")
    assert json.loads(r.output)[0]["tasks"] == 80


def test_sample_xlsx_loads_the_same_80_tasks_as_the_yaml(db_url, tmp_path):
    r = steer(db_url, "plan", "load", str(PLANS / "sample-plan.xlsx"), "--code", "KH-X")
    assert r.exit_code == 0, r.output
    r1 = json.loads(steer(db_url, "task", "list", "--plan", "KH-X", "--format", "json").output)
    steer(db_url, "plan", "load", str(PLANS / "sample-plan.yaml"))
    r2 = json.loads(steer(db_url, "task", "list", "--plan", "KH-57-LS", "--format", "json").output)
    strip = lambda rows: [(r["code"], r["title"], r["lead_units"], r["deadline"], r["deadline_kind"]) for r in rows]  # noqa: E731
    assert strip(r1) == strip(r2)


def test_validate_json_names_file_row_and_column_for_each_warning(db_url, tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("plan: {code: K}\ntasks:\n  - {code: '1', title: Việc một, lead: Sở Y tế}\n", encoding="utf-8")
    r = steer(db_url, "plan", "validate", str(p), "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    codes = {w["code"] for w in out["warnings"]}
    assert {"no_deadline", "no_deliverable", "no_vice_chair"} <= codes
    assert all(w["file"].endswith("p.yaml") and w["row"] for w in out["warnings"])


@pytest.mark.parametrize("name,content", [
    ("junk.xlsx", b"\x00\x01garbage" * 50),
    ("noheader.csv", "a,b,c\n1,2,3\n".encode()),
    ("cycle.yaml", "plan: {code: C}\ntasks:\n  - {code: '1', title: A, depends_on: ['2']}\n  - {code: '2', title: B, depends_on: ['1']}\n".encode()),
])
def test_bad_plan_file_gives_one_clear_error_exit_1_and_database_unchanged(db_url, tmp_path, name, content):
    steer(db_url, "plan", "load", str(PLANS / "sample-plan.yaml"))
    before = _counts(db_url)
    p = tmp_path / name
    p.write_bytes(content)
    r = steer(db_url, "plan", "load", str(p))
    assert r.exit_code == 1
    assert name in r.output and "Traceback" not in r.output
    assert _counts(db_url) == before


def test_missing_file_is_a_clear_error(db_url, tmp_path):
    r = steer(db_url, "plan", "load", str(tmp_path / "nope.xlsx"))
    assert r.exit_code == 1 and "nope.xlsx" in r.output and "Traceback" not in r.output


def test_english_messages_with_lang_en(db_url):
    r = runner.invoke(app, ["--db", db_url, "--lang", "en", "plan", "show", "NOPE"])
    assert r.exit_code == 1 and "Error" in r.output


def test_empty_database_is_created_on_first_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'steer.db'}"
    r = steer(url, "plan", "list")
    assert r.exit_code == 0, r.output
    eng = dbmod.make_engine(url)
    assert dbmod.schema_state(eng) == "current"


def test_a_plan_file_without_a_header_row_is_explained_in_english_with_lang_en(db_url, tmp_path):
    p = tmp_path / "noheader.csv"
    p.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    r = runner.invoke(app, ["--db", db_url, "--lang", "en", "plan", "validate", str(p)])
    assert r.exit_code == 1
    assert "No table header row found in «" in r.output and "noheader.csv" in r.output
    assert "Không tìm thấy" not in r.output
    r = steer(db_url, "plan", "validate", str(p))
    assert r.exit_code == 1 and "Không tìm thấy dòng tiêu đề bảng" in r.output

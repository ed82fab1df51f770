"""steer report … through the real CLI (typer CliRunner with --db)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.common import STATE
from cli.main import app
from engine.db import make_engine
from tests.test_reporting import build_base

runner = CliRunner()


@pytest.fixture
def url(db_url) -> Iterator[str]:  # type: ignore[no-untyped-def]
    eng = make_engine(db_url)
    build_base(eng)
    eng.dispose()
    yield db_url
    if STATE._engine is not None:
        STATE._engine.dispose()
        STATE._engine = None


def steer(url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", url, *args])


def test_monthly_json_has_the_documented_keys_and_no_store_keeps_nothing(url):
    r = steer(url, "report", "monthly", "--period", "2025-05", "--as-of", "2025-05-20", "--cutoff-day", "14",
              "--format", "json", "--no-store")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {"period", "as_of", "summary", "units", "sections", "indicators", "tasks"} <= set(data)
    assert {k: data["summary"][k] for k in ("total", "due", "completed", "completed_on_time", "completed_late",
                                             "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing",
                                             "ongoing_with_results")} == {
        "total": 15, "due": 9, "completed": 6, "completed_on_time": 3, "completed_late": 2,
        "in_progress_within_deadline": 3, "overdue": 1, "not_yet_due": 3, "ongoing": 2, "ongoing_with_results": 1}
    assert [(u["unit"], u["status"]) for u in data["units"]] == [("SKHCN", "green"), ("SNV", "yellow"), ("STC", "red")]
    assert data["period"]["start"] == "2025-04-15" and data["as_of"] == "2025-05-20"
    listed = steer(url, "report", "list", "--format", "json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_stored_report_is_listed_and_shown_again_identically(url, tmp_path: Path):
    out = tmp_path / "thang-5.docx"
    r = steer(url, "report", "monthly", "--period", "05/2025", "--as-of", "20/05/2025", "--format", "docx",
              "--out", str(out), "--now", "2025-05-20T17:00:00+07:00")
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 10_000 and "Đã lưu báo cáo số 1" in r.output
    rows = json.loads(steer(url, "report", "list", "--format", "json").stdout)
    assert [(x["id"], x["kind"], x["period"], x["as_of"], x["due"]) for x in rows] == [
        (1, "monthly", "2025-05", "2025-05-20", 9)]
    first = steer(url, "report", "show", "1", "--format", "md")
    again = steer(url, "report", "monthly", "--period", "2025-05", "--as-of", "2025-05-20", "--no-store")
    assert first.exit_code == 0 and first.stdout == again.stdout and "# BÁO CÁO" in first.stdout
    js = tmp_path / "r.json"
    assert steer(url, "report", "show", "1", "--format", "json", "--out", str(js)).exit_code == 0
    assert json.loads(js.read_text(encoding="utf-8"))["summary"]["overdue"] == 1
    table = steer(url, "report", "list")
    assert table.exit_code == 0 and "#1  KH-TEST  tháng 2025-05" in table.stdout
    assert "lập 20/05/2025 17:00 bởi secretariat" in table.stdout


def test_quarterly_report_in_english(url):
    r = steer(url, "--lang", "en", "report", "quarterly", "--period", "2025-Q2", "--as-of", "2025-05-20",
              "--no-store")
    assert r.exit_code == 0, r.output
    assert "# REPORT" in r.stdout and "Q2 2025" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["report", "monthly", "--period", "2025-Q2"], "Kỳ «2025-Q2» không phải kỳ tháng"),
    (["report", "monthly", "--period", "2025-05", "--cutoff-day", "30"], "Ngày chốt số liệu «30» không hợp lệ"),
    (["report", "monthly", "--plan", "KH-X"], "Không có kế hoạch mã «KH-X»"),
    (["report", "monthly", "--as-of", "31/02/2025"], "Ngày «31/02/2025» không hợp lệ"),
    (["report", "show", "42"], "Không có báo cáo đã lưu số 42"),
    (["report", "show", "1", "--format", "pdf"], "định dạng «pdf» không hợp lệ"),
])
def test_bad_input_exits_1_with_one_message(url, args, message):
    r = steer(url, *args)
    assert r.exit_code != 0 and message in r.output, r.output
    assert "Traceback" not in r.output


def test_rules_file_with_a_bad_key_is_named(url, tmp_path: Path):
    rules = tmp_path / "quy-tac.yaml"
    rules.write_text("status_rules:\n  red: {overdue_at_least: 1}\n  orange: {}\n", encoding="utf-8")
    r = steer(url, "report", "monthly", "--rules", str(rules), "--as-of", "2025-05-20", "--no-store")
    assert r.exit_code == 1 and "quy-tac.yaml: khóa không hợp lệ orange" in r.output, r.output
    rules.write_text("red: {overdue_at_least: 3}\nyellow: {due_within_days: null, on_time_rate_below: null}\n",
                     encoding="utf-8")
    r = steer(url, "report", "monthly", "--rules", str(rules), "--as-of", "2025-05-20", "--cutoff-day", "14",
              "--format", "json", "--no-store")
    assert r.exit_code == 0, r.output
    assert {u["status"] for u in json.loads(r.stdout)["units"]} == {"green"}

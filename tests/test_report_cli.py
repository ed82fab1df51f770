"""steer report … through the real CLI (typer CliRunner with --db)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

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
    # the default rule (share of the items due by 20/05 that are done; by hand in test_reporting):
    # SKHCN 2/3, SNV 1/2, STC 2/4 -> all under 70 %
    assert [(u["unit"], u["status"], u["due_tally"]["done"], u["due_tally"]["due"]) for u in data["units"]] == [
        ("SKHCN", "red", 2, 3), ("SNV", "red", 1, 2), ("STC", "red", 2, 4)]
    assert data["period"]["start"] == "2025-04-15" and data["as_of"] == "2025-05-20"
    old = steer(url, "report", "monthly", "--period", "2025-05", "--as-of", "2025-05-20", "--cutoff-day", "14",
                "--format", "json", "--no-store", "--rule", "any_overdue")
    assert old.exit_code == 0, old.output
    assert [(u["unit"], u["status"]) for u in json.loads(old.stdout)["units"]] == [
        ("SKHCN", "green"), ("SNV", "yellow"), ("STC", "red")]
    bad = steer(url, "report", "monthly", "--as-of", "2025-05-20", "--no-store", "--rule", "red")
    assert bad.exit_code == 1 and "không có quy tắc \"red\"" in bad.output, bad.output
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
    assert table.exit_code == 0 and "#1  KH-TEST  tháng 5/2025" in table.stdout
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
    rules.write_text("rule: any_overdue\nred: {overdue_at_least: 3}\nyellow: {due_within_days: null, on_time_rate_below: null}\n",
                     encoding="utf-8")
    r = steer(url, "report", "monthly", "--rules", str(rules), "--as-of", "2025-05-20", "--cutoff-day", "14",
              "--format", "json", "--no-store")
    assert r.exit_code == 0, r.output
    assert {u["status"] for u in json.loads(r.stdout)["units"]} == {"green"}


def _rows_written(url: str) -> tuple[int, int]:
    """(stored reports, report_generated events)."""
    from sqlalchemy import func, select

    from engine.models import Event, ReportSnapshot

    eng = make_engine(url)
    try:
        with eng.connect() as c:
            return (c.execute(select(func.count()).select_from(ReportSnapshot)).scalar_one(),
                    c.execute(select(func.count()).select_from(Event).where(Event.kind == "report_generated")).scalar_one())
    finally:
        eng.dispose()


@pytest.mark.parametrize("lang,vi_or_en", [("vi", 0), ("en", 1)])
def test_an_out_that_cannot_be_written_stores_nothing(url, tmp_path: Path, monkeypatch, lang, vi_or_en):
    """The snapshot and its event used to be committed before --out failed (found by fuzzing)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thu-muc").mkdir()
    (tmp_path / "tep.txt").write_text("x", encoding="utf-8")
    cases = [
        (["--out", ""], ("Không ghi được tệp «.»: đó là một thư mục", "Cannot write «.»: it is a folder")),
        (["--out", "thu-muc", "--format", "docx"],
         ("Không ghi được tệp «thu-muc»: đó là một thư mục", "Cannot write «thu-muc»: it is a folder")),
        (["--out", "tep.txt/bao-cao.md"], ("«tep.txt» là một tệp, không phải thư mục", "«tep.txt» is a file, not a folder")),
    ]
    for extra, messages in cases:
        r = steer(url, "--lang", lang, "report", "monthly", "--period", "2025-05", "--as-of", "2025-05-20", *extra)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
        assert messages[vi_or_en] in r.output and "Traceback" not in r.output, r.output
        assert _rows_written(url) == (0, 0)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("steer.db")) == ["tep.txt", "thu-muc"]
    assert list((tmp_path / "thu-muc").iterdir()) == []


def test_a_default_file_name_taken_by_a_folder_stores_nothing(url, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bao-cao-KH-TEST-2025-05.docx").mkdir()
    r = steer(url, "report", "monthly", "--period", "2025-05", "--as-of", "2025-05-20", "--format", "docx")
    assert r.exit_code == 1 and "bao-cao-KH-TEST-2025-05.docx»: đó là một thư mục" in r.output, r.output
    assert _rows_written(url) == (0, 0)
    r = steer(url, "report", "monthly", "--period", "2025-05", "--as-of", "2025-05-20", "--format", "docx",
              "--out", "moi/thang-5.docx")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "moi" / "thang-5.docx").stat().st_size > 10_000 and _rows_written(url) == (1, 1)
    assert [p.name for p in (tmp_path / "moi").iterdir()] == ["thang-5.docx"]


@pytest.mark.parametrize("as_of,vi_text,en_text", [
    ("0001-01-01", "Ngày số liệu 01/01/0001 nằm ngoài khoảng năm 2000–2100",
     "The as-of date 0001-01-01 is outside the years 2000-2100"),
    ("31/12/2101", "Ngày số liệu 31/12/2101 nằm ngoài khoảng năm 2000–2100",
     "The as-of date 2101-12-31 is outside the years 2000-2100"),
    ("9999-12-31", "Ngày số liệu 31/12/9999 nằm ngoài khoảng năm 2000–2100",
     "The as-of date 9999-12-31 is outside the years 2000-2100"),
])
def test_as_of_outside_the_report_years_is_one_error(url, as_of, vi_text, en_text):
    """An unbounded --as-of overflowed the date arithmetic (found by fuzzing)."""
    for lang, text in (("vi", vi_text), ("en", en_text)):
        r = steer(url, "--lang", lang, "report", "annual", "--as-of", as_of)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit) and text in r.output, r.output
    assert _rows_written(url) == (0, 0)


def test_as_of_at_the_edges_of_the_report_years_works(url):
    for as_of in ("2000-01-01", "2100-12-31"):
        r = steer(url, "report", "annual", "--as-of", as_of, "--format", "json", "--no-store")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["as_of"] == as_of


@pytest.mark.parametrize("number", ["99999999999999999999", str(2**63), str(2**63 - 1), str(2**31)])
def test_a_report_number_beyond_any_database_integer_is_not_found(url, number):
    """`report show 99999999999999999999` overflowed SQLite's INTEGER (found by fuzzing)."""
    for lang, text in (("vi", f"Không có báo cáo đã lưu số {number}"), ("en", f"There is no stored report {number}")):
        r = steer(url, "--lang", lang, "report", "show", number)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit) and text in r.output, r.output

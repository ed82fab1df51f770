"""The lifecycle commands through the real CLI (typer CliRunner with --db)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from cli.main import app
from engine.db import make_engine, transaction
from engine.models import Event, WorkItem
from tests.factories import seed_url

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()
TASKS = [
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30), "title": "Xây dựng kế hoạch chuyển đổi số"},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 6, 25), "title": "Rà soát thủ tục"},
    {"code": "3", "lead": ["SKHCN", "SNV"], "deadline": date(2025, 9, 30)},
    {"code": "4", "lead": ["CSBN"], "deadline": date(2025, 6, 28)},
]


@pytest.fixture
def db(db_url, tmp_path_factory) -> Iterator[tuple[str, Engine]]:  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    eng = make_engine(db_url)
    yield db_url, eng
    eng.dispose()


def steer(url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", url, *args])


def snapshot(eng: Engine) -> tuple[int, list[tuple[int, str, int]]]:
    with transaction(eng) as s:
        n = s.scalar(select(func.count()).select_from(Event)) or 0
        items = [tuple(r) for r in s.execute(select(WorkItem.id, WorkItem.status, WorkItem.version).order_by(WorkItem.id))]
        return n, items


def test_a_unit_cannot_see_or_change_another_units_items(db):
    url, eng = db
    before = snapshot(eng)
    r = steer(url, "task", "list", "--as", "snv_focal", "--format", "json")
    assert r.exit_code == 0, r.output
    refs = [row["ref"] for row in json.loads(r.output)]
    assert refs == ["KH-TEST/2", "KH-TEST/3@SNV", "KH-TEST/4"]  # own items and the group's, never SKHCN's
    r = steer(url, "task", "list", "--as", "snv_focal", "--unit", "SKHCN")
    assert r.exit_code == 1 and "không được xem phần việc của Sở Khoa học và Công nghệ (SKHCN)" in r.output
    r = steer(url, "task", "show", "KH-TEST/1", "--as", "snv_focal")
    assert r.exit_code == 1 and "không được xem" in r.output and "Xây dựng kế hoạch" not in r.output
    r = steer(url, "task", "show", "KH-TEST/3@SKHCN", "--as", "snv_focal", "--format", "json")
    assert r.exit_code == 1 and "{" not in r.output
    for cmd in (["start"], ["note", "--note", "x"], ["submit", "--evidence", "QĐ 1"], ["block", "--reason", "x"],
                ["extend", "--until", "2025-09-30", "--reason", "x"]):
        r = steer(url, "task", cmd[0], "KH-TEST/1", "--as", "snv_focal", *cmd[1:], "--now", "2025-04-02")
        assert r.exit_code == 1, (cmd, r.output)
        assert "đơn vị khác" in r.output and "Traceback" not in r.output
    r = steer(url, "--lang", "en", "task", "start", "KH-TEST/1", "--as", "snv_focal")
    assert r.exit_code == 1 and "cannot see or change item KH-TEST/1" in r.output
    assert snapshot(eng) == before


def test_the_whole_story_through_the_cli(db):
    url, eng = db
    r = steer(url, "task", "start", "KH-TEST/1", "--as", "skhcn_focal", "--now", "2025-04-02T09:00:00+07:00")
    assert (r.exit_code, r.output.strip()) == (0, "Phần việc KH-TEST/1: Chưa bắt đầu → Đang thực hiện (phiên bản 2).")
    r = steer(url, "task", "note", "KH-TEST/1", "--as", "skhcn_focal", "--note", "Đã có dự thảo", "--percent", "60",
              "--now", "2025-05-02T09:00:00+07:00")
    assert r.exit_code == 0 and "phiên bản 3" in r.output
    r = steer(url, "task", "extend", "KH-TEST/1", "--as", "skhcn_focal", "--until", "31/08/2025", "--reason", "Chờ ý kiến",
              "--now", "2025-06-01")
    assert r.exit_code == 0 and "đến 31/08/2025" in r.output
    r = steer(url, "task", "approve-extension", "KH-TEST/1", "--as", "skhcn_focal", "--now", "2025-06-02")
    assert r.exit_code == 1 and "quyết định gia hạn" in r.output
    r = steer(url, "task", "approve-extension", "KH-TEST/1", "--as", "pct_kt", "--now", "2025-06-02")
    assert r.exit_code == 0 and "30/06/2025 → 31/08/2025" in r.output
    r = steer(url, "task", "submit", "KH-TEST/1", "--as", "skhcn_focal", "--evidence", "Quyết định số 1234/QĐ-UBND",
              "--now", "2025-08-30T16:00:00+07:00")
    assert r.exit_code == 0
    r = steer(url, "task", "verify", "KH-TEST/1", "--as", "secretariat", "--version", "5", "--now", "2025-08-31")
    assert r.exit_code == 1 and "đã được Phan Đức Minh thay đổi lúc 30/08/2025 16:00" in r.output
    r = steer(url, "task", "verify", "KH-TEST/1", "--as", "secretariat", "--version", "6", "--now", "2025-08-31")
    assert (r.exit_code, r.output.strip()) == (0, "Phần việc KH-TEST/1: Đã báo cáo hoàn thành, chờ xác nhận → "
                                                  "Đã hoàn thành — đúng hạn (phiên bản 7).")
    r = steer(url, "task", "show", "KH-TEST/1", "--now", "2025-09-02")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Thời hạn: 31/08/2025 (ban đầu 30/06/2025)   Tình hình: hoàn thành đúng hạn" in out
    assert "#2  02/04/2025 09:00  Phan Đức Minh (skhcn_focal)  Chưa bắt đầu → Đang thực hiện" in out
    assert "60%" in out and "bằng chứng: Quyết định số 1234/QĐ-UBND" in out
    assert "thời hạn: 30/06/2025 → 31/08/2025" in out and "[đã chấp thuận] Lê Thị Cúc 02/06/2025 08:00" in out
    d = json.loads(steer(url, "task", "show", "KH-TEST/1", "--format", "json", "--now", "2025-09-02").output)
    assert [e["kind"] for e in d["events"]] == ["status", "note", "extension_requested", "extension_approved", "status", "status"]
    assert d["status"] == "completed" and d["completion"] == "on_time" and d["version"] == 7
    assert d["extension_requests"][0]["status"] == "approved"


def test_english_messages_and_allowed_actions(db):
    url, _ = db
    r = steer(url, "--lang", "en", "task", "verify", "KH-TEST/2", "--as", "secretariat")
    assert r.exit_code == 1
    assert "Cannot verify item KH-TEST/2: it is «Not started». Allowed from this state: start (start)" in r.output
    r = steer(url, "--lang", "en", "task", "block", "KH-TEST/2", "--as", "snv_focal", "--reason", "Chờ kinh phí")
    assert r.exit_code == 0 and r.output.strip() == "Item KH-TEST/2: Not started → Blocked (version 2)."


def test_bad_input_is_one_message(db):
    url, _ = db
    r = steer(url, "task", "start", "KH-TEST/3", "--as", "secretariat")
    assert r.exit_code == 1 and "có 2 đơn vị chủ trì: @SKHCN, @SNV" in r.output
    r = steer(url, "task", "start", "KH-TEST/1", "--as", "ai_do")
    assert r.exit_code == 1 and "steer directory show" in r.output
    r = steer(url, "task", "extend", "KH-TEST/1", "--as", "skhcn_focal", "--until", "31/02/2025", "--reason", "x")
    assert r.exit_code == 1 and "dd/mm/yyyy" in r.output
    r = steer(url, "task", "note", "KH-TEST/1", "--as", "skhcn_focal", "--note", "x", "--percent", "150")
    assert r.exit_code == 1 and "0 đến 100" in r.output
    r = steer(url, "task", "start", "KH-TEST/1")
    assert r.exit_code == 2 and "--as" in r.output  # a missing required option is a usage error
    for r in (steer(url, "task", "start", "KH-TEST/1", "--as", "ai_do"),):
        assert "Traceback" not in r.output


def test_due_within_lists_open_items_due_in_the_window(db):
    url, _ = db
    steer(url, "task", "submit", "KH-TEST/4", "--as", "secretariat", "--evidence", "BC", "--now", "2025-06-01")
    steer(url, "task", "verify", "KH-TEST/4", "--as", "secretariat", "--now", "2025-06-02")
    r = steer(url, "task", "list", "--due-within", "7d", "--now", "2025-06-23", "--format", "json")
    rows = json.loads(r.output)
    assert [(x["ref"], x["timeliness"]) for x in rows] == [("KH-TEST/1", "due_soon"), ("KH-TEST/2", "due_soon")]
    r = steer(url, "task", "list", "--due-within", "7d", "--now", "2025-06-23", "--unit", "SNV", "--format", "json")
    assert [x["ref"] for x in json.loads(r.output)] == ["KH-TEST/2"]
    r = steer(url, "task", "list", "--due-within", "4", "--now", "2025-06-26", "--format", "json")
    assert [x["ref"] for x in json.loads(r.output)] == ["KH-TEST/1"]  # 2 is overdue now, not "due within"
    r = steer(url, "task", "list", "--due-within", "7d", "--now", "2025-06-23")
    assert r.exit_code == 0 and "KH-TEST/2@SNV" in r.output and "sắp đến hạn" in r.output and "2 phần việc" in r.output
    r = steer(url, "task", "list", "--due-within", "soon")
    assert r.exit_code == 2 and "7d" in r.output


def test_plain_task_list_is_unchanged(db):
    url, _ = db
    r = steer(url, "task", "list", "--plan", "KH-TEST", "--format", "json")
    assert r.exit_code == 0
    rows = json.loads(r.output)
    assert [t["code"] for t in rows] == ["1", "2", "3", "4"] and rows[2]["work_items"] == 2


def test_task_note_does_not_import_prefect_or_apprise(db):
    url, _ = db
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        f"r = CliRunner().invoke(app, ['--db', {url!r}, 'task', 'note', 'KH-TEST/1', '--as', 'skhcn_focal', "
        "'--note', 'Tiến độ tốt', '--percent', '30'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'apprise'))\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "HEAVY []" in p.stdout, p.stdout


@pytest.mark.parametrize("cmd", [["note", "--note", "Đã họp"], ["start"]])
def test_a_task_command_reads_the_item_and_what_it_needs_once(db, cmd):  # type: ignore[no-untyped-def]
    """After resolving the reference, the action's item, task, unit, plan and committee come
    in one statement (lifecycle.load_item, as the web does) and stay loaded for the
    transaction: no table is read twice, nothing is lazy-loaded afterwards."""
    import re
    from collections import Counter

    from sqlalchemy import event

    url, _ = db
    assert steer(url, "task", "note", "KH-TEST/2", "--as", "snv_focal", "--note", "warm").exit_code == 0
    seen: list[str] = []

    def on_sql(conn, cursor, stmt, params, ctx, many):  # type: ignore[no-untyped-def]
        seen.append(re.sub(r"\s+", " ", stmt))

    event.listen(Engine, "before_cursor_execute", on_sql)
    try:
        r = steer(url, "task", cmd[0], "KH-TEST/1", "--as", "skhcn_focal", *cmd[1:], "--now", "2025-04-02")
    finally:
        event.remove(Engine, "before_cursor_execute", on_sql)
    assert r.exit_code == 0, r.output
    reads = Counter(re.match(r'SELECT (?:DISTINCT )?"?(\w+)"?\.', s).group(1) for s in seen  # type: ignore[union-attr]
                    if s.startswith("SELECT") and re.match(r'SELECT (?:DISTINCT )?"?(\w+)"?\.', s))
    # the reference: the person, the plan, the task, its items and their units; then load_item
    assert reads == Counter(person=1, plan=1, task=1, work_item=2, unit=1), seen


def test_cli_refuses_an_extension_not_later_than_the_deadline(db):
    url, eng = db
    before = snapshot(eng)
    r = steer(url, "task", "extend", "KH-TEST/1", "--as", "skhcn_focal", "--until", "20/06/2025", "--reason", "x",
              "--now", "2025-06-01")
    assert r.exit_code == 1 and "phải sau thời hạn hiện tại của phần việc KH-TEST/1 (30/06/2025)" in r.output
    assert "Traceback" not in r.output and snapshot(eng) == before
    r = steer(url, "--lang", "en", "task", "extend", "KH-TEST/1", "--as", "skhcn_focal", "--until", "2025-05-20",
              "--reason", "x", "--now", "2025-06-01")
    assert r.exit_code == 1 and "must be after today (01/06/2025)" in r.output
    assert snapshot(eng) == before

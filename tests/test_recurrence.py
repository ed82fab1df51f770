"""Recurring tasks: which occurrences exist, and generating the missing ones as time passes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import event, func, select
from typer.testing import CliRunner

from engine.db import transaction
from engine.deadlines import parse_deadline
from engine.models import Event, Task, Unit, WorkItem
from engine.planfile.loader import load_plan_file
from engine.recurrence import generate_occurrences, item_deadlines, task_deadline_spec, window_start
from tests.factories import at, ensure_chain_head, make_committee

PLAN = """\
plan:
  code: KH-DK
  title: Kế hoạch có nhiệm vụ định kỳ
  issued_on: 2025-03-15
  issued_by: UBND_TINH
sections:
  - code: I
    title: Báo cáo định kỳ
    tasks:
      - code: "1"
        title: Báo cáo tình hình chuyển đổi số hằng tháng
        lead: Sở Khoa học và Công nghệ; Sở Nội vụ
        deliverable: Báo cáo
        deadline: Hằng tháng
      - code: "2"
        title: Tổng kết năm
        lead: Sở Tài chính
        deliverable: Báo cáo
        deadline: Hằng năm
      - code: "3"
        title: Ban hành quy chế
        lead: Sở Nội vụ
        deliverable: Quyết định
        deadline: 6/2025
{extra}
"""


def _write_plan(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "kh-dk.yaml"
    path.write_text(PLAN.format(extra=extra), encoding="utf-8")
    return path


def _load(engine, tmp_path: Path, *, now: str = "2025-03-20", extra: str = "") -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        ensure_chain_head(s)
    load_plan_file(engine, _write_plan(tmp_path, extra), now=at(now))


def _items(engine, task_code: str) -> list[tuple[str, str, date | None]]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        rows = s.execute(
            select(Unit.code, WorkItem.occurrence, WorkItem.deadline)
            .join(WorkItem, WorkItem.unit_id == Unit.id).join(Task, Task.id == WorkItem.task_id)
            .where(Task.code == task_code).order_by(Unit.code, WorkItem.deadline)
        ).all()
    return [tuple(r) for r in rows]


def _generated_events(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return [e.data for e in s.execute(select(Event).where(Event.kind == "occurrences_generated")
                                          .order_by(Event.id)).scalars()]


# --- pure ---------------------------------------------------------------------------------


def test_monthly_occurrences_are_keyed_by_month_and_due_on_the_last_day():
    spec = parse_deadline("Hằng tháng")
    got = item_deadlines(spec, start=date(2025, 3, 15), until=date(2025, 6, 30))
    assert got == [("2025-03", date(2025, 3, 31)), ("2025-04", date(2025, 4, 30)),
                   ("2025-05", date(2025, 5, 31)), ("2025-06", date(2025, 6, 30))]


def test_yearly_occurrences_start_no_earlier_than_the_stated_start_year():
    spec = parse_deadline("2026 và những năm tiếp theo")
    got = item_deadlines(spec, start=date(2025, 3, 15), until=date(2028, 1, 1))
    assert got == [("2026", date(2026, 12, 31)), ("2027", date(2027, 12, 31))]


def test_a_dated_task_has_one_item_without_an_occurrence_key():
    spec = parse_deadline("Quý II/2025")
    assert item_deadlines(spec, start=date(2025, 1, 1), until=date(2025, 2, 1)) == [("", date(2025, 6, 30))]


def test_window_starts_at_the_later_of_the_stated_start_and_the_issue_date():
    assert window_start(recurrence_starts=date(2025, 1, 1), issued_on=date(2025, 3, 15),
                        created_on=date(2025, 3, 20)) == date(2025, 3, 15)
    assert window_start(recurrence_starts=date(2026, 1, 1), issued_on=date(2025, 3, 15),
                        created_on=date(2025, 3, 20)) == date(2026, 1, 1)
    assert window_start(recurrence_starts=None, issued_on=None, created_on=date(2025, 3, 20)) == date(2025, 3, 20)


# --- generation ------------------------------------------------------------------------------


def test_generating_right_after_a_load_creates_nothing_because_the_loader_uses_the_same_rule(engine, tmp_path):
    _load(engine, tmp_path)
    before = _items(engine, "1")
    # 400 days from 20/3/2025 = 24/4/2026: March 2025 .. March 2026, for each of the two leads
    assert len(before) == 26
    assert {u for u, _, _ in before} == {"SKHCN", "SNV"}
    assert _items(engine, "2") == [("STC", "2025", date(2025, 12, 31))]
    with transaction(engine) as s:
        assert generate_occurrences(s, now=at("2025-03-20")) == 0
    assert _generated_events(engine) == []


def test_moving_the_horizon_creates_only_the_new_occurrences_and_a_second_run_creates_none(engine, tmp_path):
    _load(engine, tmp_path)
    with transaction(engine) as s:
        created = generate_occurrences(s, now=at("2025-10-01"))
    # until 5/11/2026: April .. October 2026 for two units; no new yearly occurrence (31/12/2026 is later)
    assert created == 14
    monthly = _items(engine, "1")
    assert len(monthly) == 40
    assert [o for u, o, _ in monthly if u == "SNV"][-1] == "2026-10"
    assert len({(u, o) for u, o, _ in monthly}) == len(monthly)
    with transaction(engine) as s:
        assert generate_occurrences(s, now=at("2025-10-01")) == 0
    with transaction(engine) as s:
        created = generate_occurrences(s, now=at("2026-01-15"))
    # until 19/2/2027: Nov 2026 .. Jan 2027 (x2) and the 2026 yearly report
    assert created == 7
    assert _items(engine, "2") == [("STC", "2025", date(2025, 12, 31)), ("STC", "2026", date(2026, 12, 31))]
    assert _items(engine, "3") == [("SNV", "", date(2025, 6, 30))]  # dated tasks are never touched
    events = _generated_events(engine)
    assert [e["count"] for e in events] == [14, 7]
    assert events[1]["by_plan"] == {"KH-DK": 7}


def test_new_occurrences_start_as_not_started_with_their_own_deadline(engine, tmp_path):
    _load(engine, tmp_path)
    with transaction(engine) as s:
        generate_occurrences(s, now=at("2025-10-01"), actor="scheduler")
        item = s.execute(select(WorkItem).join(Unit).where(Unit.code == "SKHCN", WorkItem.occurrence == "2026-09")
                         ).scalar_one()
        assert (item.status, item.deadline, item.original_deadline, item.updated_by) == \
            ("not_started", date(2026, 9, 30), date(2026, 9, 30), "scheduler")


def test_horizon_comes_from_the_committee_setting_unless_given(engine, tmp_path):
    with transaction(engine) as s:
        make_committee(s, settings={"recurrence_horizon_days": 30})
    load_plan_file(engine, _write_plan(tmp_path), now=at("2025-03-20"))
    assert [o for u, o, _ in _items(engine, "1") if u == "SKHCN"] == ["2025-03"]  # until 19/4/2025
    with transaction(engine) as s:
        assert generate_occurrences(s, now=at("2025-05-05")) == 4  # April and May, two units
    with transaction(engine) as s:
        assert generate_occurrences(s, now=at("2025-05-05"), horizon_days=120) == 6  # until 2/9/2025: June .. August


def test_cancelled_tasks_get_no_new_occurrences(engine, tmp_path):
    _load(engine, tmp_path)
    with transaction(engine) as s:
        s.execute(Task.__table__.update().where(Task.code == "1").values(status="cancelled"))
    with transaction(engine) as s:
        assert generate_occurrences(s, now=at("2025-10-01")) == 0


def test_a_start_year_in_the_deadline_is_respected_by_the_generator(engine, tmp_path):
    extra = """      - code: "4"
        title: Đánh giá chỉ số DTI
        lead: Sở Khoa học và Công nghệ
        deliverable: Báo cáo
        deadline: 2026 và những năm tiếp theo"""
    _load(engine, tmp_path, extra=extra)
    assert _items(engine, "4") == []  # 31/12/2026 is beyond the first horizon
    with transaction(engine) as s:
        task = s.execute(select(Task).where(Task.code == "4")).scalar_one()
        assert task_deadline_spec(task).starts == date(2026, 1, 1)
        generate_occurrences(s, now=at("2026-02-01"))
    assert _items(engine, "4") == [("SKHCN", "2026", date(2026, 12, 31))]


def test_the_generator_runs_a_fixed_number_of_queries_whatever_the_number_of_tasks(engine, tmp_path):
    extra = "\n".join(
        f"""      - code: "{n}"
        title: Báo cáo định kỳ {n}
        lead: Sở Y tế
        deliverable: Báo cáo
        deadline: Hằng quý""" for n in range(10, 30))
    _load(engine, tmp_path, extra=extra)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with transaction(engine) as s:
            created = generate_occurrences(s, now=at("2025-12-01"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # until 5/1/2027: monthly Apr..Dec 2026 x 2 units, 20 quarterly tasks x Q2..Q4 2026, the 2026 yearly report
    assert created == 2 * 9 + 20 * 3 + 1
    # committee, tasks, existing items, one bulk insert, and the audit append (head, event, head)
    assert len(statements) <= 8, statements


def test_cli_task_generate_reports_the_count_then_nothing_new(engine, db_url, tmp_path):
    from cli.main import app

    _load(engine, tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["--db", db_url, "task", "generate", "--now", "2025-10-01"])
    assert r.exit_code == 0, r.output
    assert "Đã tạo 14 phần việc định kỳ mới" in r.output
    r = runner.invoke(app, ["--db", db_url, "--lang", "en", "task", "generate", "--now", "2025-10-01"])
    assert r.exit_code == 0, r.output
    assert "No new occurrences" in r.output
    r = runner.invoke(app, ["--db", db_url, "task", "generate", "--horizon", "-5"])
    assert r.exit_code == 1
    assert "0 đến" in r.output
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "occurrences_generated")) == 1

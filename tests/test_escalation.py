"""Escalation policy and detection: windows of working days, set-based rows with unique
dedupe keys, recipients, quiet hours, acknowledgements, per-plan overrides, dry runs, CLI."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine import escalation as esc
from engine import lifecycle as lc
from engine.db import make_engine, transaction
from engine.errors import PermissionDenied, UserError
from engine.models import EscalationAck, Event, OutboxMessage, Plan
from engine.policy import PolicyError, load_policy, parse_policy, read_policy_file
from engine.workdays import default_calendar
from tests.factories import actor, at, item_of, seed

CAL = default_calendar()
TASKS = (
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 5, 30), "vice_chair": "pct_kt"},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 5, 30)},  # no vice-chair anywhere
    {"code": "3", "lead": ["STC"], "deadline": date(2025, 6, 30)},
)


def _rows(engine) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        rows = s.execute(select(OutboxMessage)).scalars().all()
        return sorted((r.level, r.recipient, _code(s, r.work_item_id)) for r in rows)


def _code(s, item_id) -> str:  # type: ignore[no-untyped-def]
    from engine.models import Task, WorkItem

    return s.execute(select(Task.code).join(WorkItem, WorkItem.task_id == Task.id).where(WorkItem.id == item_id)).scalar_one()


def _detect(engine, when: str, **kw):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return esc.detect(s, now=at(when), **kw)


# --- policy -------------------------------------------------------------------------------------


def test_default_policy_is_the_committee_ladder():
    p = load_policy()
    assert [(lv.name, lv.kind, lv.working_days, lv.to) for lv in p.levels] == [
        ("remind_7", "before", 7, ("lead_unit",)), ("remind_1", "before", 1, ("lead_unit",)),
        ("overdue", "overdue", 0, ("lead_unit", "secretariat")), ("vice_chair", "overdue", 5, ("vice_chair",)),
        ("chair", "overdue", 10, ("chair",))]
    assert [(lv.name, lo, hi) for lv, lo, hi in p.windows()] == [
        ("remind_7", 2, 7), ("remind_1", 0, 1), ("overdue", 0, 4), ("vice_chair", 5, 9), ("chair", 10, None)]
    assert p.weekly.working_days == 10 and p.weekly.to == ("lead_unit", "vice_chair", "secretariat")
    assert p.lead_unit_level is not None and p.lead_unit_level.name == "overdue"
    assert p.delivery.max_attempts == 5 and p.delivery.backoff(1) == timedelta(seconds=60)
    assert p.delivery.backoff(3) == timedelta(seconds=240) and p.delivery.backoff(20) == timedelta(hours=1)


@pytest.mark.parametrize("text, where, what", [
    ("levels: []\n", "levels", "danh sách"),
    ("levels:\n  - {name: a, before_working_days: 3, to: [boss]}\n", "levels[1] (a).to", "«boss»"),
    ("levels:\n  - {name: a, overdue_working_days: 5, to: [chair]}\n  - {name: b, overdue_working_days: 2, to: [chair]}\n",
     "levels", "thứ tự"),
    ("levels:\n  - {name: a, before_working_days: -1, to: [chair]}\n", "levels[1] (a).before_working_days", "≥ 0"),
    ("levels:\n  - {name: a, before_working_days: 1, overdue_working_days: 1, to: [chair]}\n", "levels[1] (a)", "đúng một"),
    ("levels:\n  - {name: a, overdue_working_days: 1, to: [chair]}\nquiet_hours: {start: '25:00', end: '07:00'}\n",
     "quiet_hours.start", "25:00"),
    ("levels:\n  - {name: a, overdue_working_days: 1, to: [chair]}\nescalate_to: chair\n", "cấp cao nhất", "escalate_to"),
    ("levels:\n  - {name: a, overdue_working_days: 1, to: [chair]}\ndelivery: {max_attempts: 0}\n",
     "delivery.max_attempts", "≥ 1"),
])
def test_bad_policy_is_refused_naming_the_file_and_the_key(tmp_path, text, where, what):
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    msg = str(exc.value)
    assert str(path) in msg and where in msg and what in msg


def test_an_edited_policy_file_is_read_again_by_a_long_running_process(tmp_path):
    import os

    path = tmp_path / "policy.yaml"
    path.write_text("levels:\n  - {name: a, overdue_working_days: 1, to: [chair]}\n", encoding="utf-8")
    first = load_policy(path)
    assert load_policy(path) is first  # unchanged: parsed once
    path.write_text("levels:\n  - {name: b, overdue_working_days: 3, to: [chair]}\n", encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # even within the clock's resolution
    assert [lv.name for lv in load_policy(path).levels] == ["b"]
    path.write_text("levels: [\n", encoding="utf-8")  # broken now: refused, not served from memory
    with pytest.raises(PolicyError):
        load_policy(path)


def test_policy_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("levels:\n  - {name: a\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"dòng \d+, cột \d+"):
        read_policy_file(path)


def test_english_policy_errors():
    with pytest.raises(PolicyError, match=r"Escalation policy «x», key levels\[1\] \(a\)\.to: unknown recipient «boss»"):
        parse_policy({"levels": [{"name": "a", "before_working_days": 1, "to": ["boss"]}]}, source="x", lang="en")


@pytest.mark.parametrize("today", [date(2025, 4, 28) + timedelta(days=i) for i in range(0, 70, 3)])
def test_deadline_intervals_are_exactly_the_days_whose_working_day_count_is_in_the_window(today):
    pol = load_policy()
    span = [today + timedelta(days=k) for k in range(-80, 40)]
    for lv, low, high in pol.windows():
        if lv.kind == "before":
            want = {d for d in span if d >= today and low <= CAL.working_days_between(today, d) <= high}
            rng = esc.before_range(today, low, high, CAL)
        else:
            want = {d for d in span if d < today and CAL.working_days_between(d, today) >= low
                    and (high is None or CAL.working_days_between(d, today) <= high)}
            rng = esc.overdue_range(today, low, high, CAL)
        got = set() if rng is None else {d for d in span if (rng[0] is None or d >= rng[0]) and d <= rng[1]}
        assert got == want, (lv.name, today)


# --- detection ------------------------------------------------------------------------------------


def test_ladder_fires_each_level_once_per_deadline_and_twice_changes_nothing(engine):
    seed(engine, tasks=TASKS)
    assert _detect(engine, "2025-05-21 08:00").by_level["remind_7"] == 2      # 7 wd before Fri 30/05
    assert _detect(engine, "2025-05-21 08:00").inserted == 0
    _detect(engine, "2025-05-29 08:00")                                         # remind_1
    r = _detect(engine, "2025-06-02 08:00")                                     # first overdue day
    assert r.by_level["overdue"] == 2 * 3  # two items × (unit + two secretariat members)
    assert _detect(engine, "2025-06-06 08:00").by_level["vice_chair"] == 1      # 5 wd: task 1's pct_kt
    assert _detect(engine, "2025-06-13 08:00").by_level["chair"] == 2           # 10 wd
    # weekly: item 1 → chair, pct_kt, both secretariat members; item 2 (no vice-chair) → 3
    assert _detect(engine, "2025-06-16 08:00").by_level["weekly"] == 4 + 3
    assert _detect(engine, "2025-06-17 08:00").inserted == 0                    # same ISO week
    assert ("vice_chair", "person:pct_kt", "1") in _rows(engine)
    assert not [r for r in _rows(engine) if r[0] == "vice_chair" and r[2] == "2"]  # nobody oversees SNV


def test_vice_chair_is_taken_from_oversees_when_the_task_names_none(engine):
    seed(engine, tasks=[{"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 5, 30)}])
    _detect(engine, "2025-06-06 08:00")
    assert ("vice_chair", "person:pct_kt", "1") in _rows(engine)  # pct_kt oversees SKHCN


def test_two_workers_detecting_at_once_never_create_a_second_row(engine, db_url):
    seed(engine, tasks=TASKS)
    errors: list[BaseException] = []

    def work() -> None:
        eng = make_engine(db_url)
        try:
            for day in ("2025-05-21", "2025-06-02", "2025-06-16"):
                with transaction(eng) as s:
                    esc.detect(s, now=at(f"{day} 08:00"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with transaction(engine) as s:
        total = s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        keys = s.execute(select(func.count(func.distinct(OutboxMessage.dedupe_key)))).scalar_one()
    # 21/05 remind_7 ×2; 02/06 overdue 2 × 3; 16/06: chair ×2 (11 wd: the vice-chair window is past) + weekly 7
    assert total == keys == 2 + 6 + 2 + 7


def test_rows_found_in_quiet_hours_wait_for_the_next_allowed_time(engine):
    seed(engine, tasks=TASKS)
    r = _detect(engine, "2025-06-02 22:30")           # Monday night → Tuesday 07:00
    assert r.not_before == at("2025-06-03 07:00")
    r = _detect(engine, "2025-06-06 21:15")           # Friday night → Monday 07:00 (weekend quiet)
    assert r.not_before == at("2025-06-09 07:00")
    r = _detect(engine, "2025-04-29 23:00")           # → 30/04, 01/05, 02/05 holidays, weekend → Mon 05/05
    assert r.not_before == at("2025-05-05 07:00")
    with transaction(engine) as s:
        nb = {row.not_before for row in s.execute(select(OutboxMessage)).scalars()}
    assert nb == {at("2025-06-03 07:00"), at("2025-06-09 07:00")}
    assert _detect(engine, "2025-06-10 10:00").not_before == at("2025-06-10 10:00")


def test_a_plan_override_changes_the_thresholds_of_that_plan_only(engine):
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        s.execute(select(Plan)).scalar_one().settings = {
            "escalation": {"levels": [{"name": "late", "overdue_working_days": 0, "to": ["chair"]}], "weekly": False}}
    _detect(engine, "2025-06-02 08:00")
    assert {r[0] for r in _rows(engine)} == {"late"}
    assert len(_rows(engine)) == 2


def test_acknowledging_stops_repeats_for_that_recipient_until_the_next_level(engine):
    seed(engine, tasks=TASKS)
    _detect(engine, "2025-06-13 08:00")  # chair level for items 1 and 2
    with transaction(engine) as s:
        r = esc.acknowledge(s, item_of(s, "KH-TEST", "1"), actor(s, "chair"), now=at("2025-06-13 10:00"), note="Đã giao")
        assert (r.level, r.recipients) == ("chair", ["person:chair"])
        ev = s.execute(select(Event).where(Event.kind == "escalation_ack")).scalar_one()
        assert ev.data["level"] == "chair" and ev.note == "Đã giao"
        fp = esc.acknowledge(s, item_of(s, "KH-TEST", "2"), actor(s, "snv_focal"), now=at("2025-06-13 10:00"))
        assert fp.recipients == ["person:snv_focal", "unit:SNV"]
    _detect(engine, "2025-06-16 08:00")
    weekly = [r for r in _rows(engine) if r[0] == "weekly"]
    # (issue 17: the weekly digest goes to the lead unit, the vice-chair and the secretariat;
    # the chair only when the policy lists it)
    assert not [r for r in weekly if r[1] == "person:chair"]
    assert ("weekly", "unit:SNV", "2") not in weekly                # acknowledged by SNV's focal point
    assert ("weekly", "unit:SKHCN", "1") in weekly                  # the lead unit of another item
    assert ("weekly", "person:pct_kt", "1") in weekly               # another recipient
    # a new deadline starts the ladder again, acknowledgement included
    with transaction(engine) as s:
        item = item_of(s, "KH-TEST", "1")
        lc.request_extension(s, item, actor(s, "skhcn_focal"), now=at("2025-06-16 09:00"), until=date(2025, 6, 20),
                             reason="Thiếu số liệu")
        lc.approve_extension(s, item, actor(s, "pct_kt"), now=at("2025-06-16 10:00"))
    _detect(engine, "2025-06-23 08:00")  # 1 wd after the new deadline (Fri 20/06)
    with transaction(engine) as s:
        again = s.execute(select(OutboxMessage.level, OutboxMessage.recipient, OutboxMessage.deadline)
                          .where(OutboxMessage.work_item_id == item_of(s, "KH-TEST", "1").id,
                                 OutboxMessage.deadline == date(2025, 6, 20))).all()
    assert sorted(again) == [("overdue", "person:secretariat", date(2025, 6, 20)),
                             ("overdue", "person:secretariat2", date(2025, 6, 20)),
                             ("overdue", "unit:SKHCN", date(2025, 6, 20))]


@pytest.mark.parametrize(("when", "level"), [
    ("2025-06-04 10:00", "overdue"),      # 3 working days after Fri 30/05
    ("2025-06-09 10:00", "vice_chair"),   # 6
    ("2025-06-16 10:00", "chair"),        # 11
])
def test_ack_records_the_level_in_force_for_an_overdue_item(engine, when, level):
    # nothing detected or queued yet: the level comes from the policy alone
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        r = esc.acknowledge(s, item_of(s, "KH-TEST", "1"), actor(s, "chair"), now=at(when))
        assert r.level == level
        ev = s.execute(select(Event).where(Event.kind == "escalation_ack")).scalar_one()
        assert (ev.data["level"], ev.data["deadline"]) == (level, "2025-05-30")


def test_ack_before_the_deadline_records_the_reminder_in_force(engine):
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        r = esc.acknowledge(s, item_of(s, "KH-TEST", "3"), actor(s, "chair"), now=at("2025-06-27 10:00"))
        assert r.level == "remind_1"  # 1 working day before Mon 30/06


def test_acknowledging_covers_a_level_already_queued_above_the_current_one(engine):
    """The chair was alerted; the committee then relaxes the chair's threshold (the item is
    back at the vice-chair's level by the policy): the chair's acknowledgement still covers
    the chair level queued for this deadline, read from the outbox."""
    seed(engine, tasks=TASKS)
    _detect(engine, "2025-06-13 08:00")  # chair level for items 1 and 2 (10 wd overdue)
    with transaction(engine) as s:
        s.execute(select(Plan)).scalar_one().settings = {"escalation": {"levels": [
            {"name": "overdue", "overdue_working_days": 0, "to": ["lead_unit"]},
            {"name": "vice_chair", "overdue_working_days": 5, "to": ["vice_chair"]},
            {"name": "chair", "overdue_working_days": 30, "to": ["chair"]}]}}
    with transaction(engine) as s:
        item = item_of(s, "KH-TEST", "1")
        r = esc.acknowledge(s, item, actor(s, "chair"), now=at("2025-06-13 10:00"))
        assert (r.level, r.level_rank) == ("chair", 5)
        # item 3 (deadline 30/06) has nothing queued and no level yet
        with pytest.raises(UserError):
            esc.acknowledge(s, item_of(s, "KH-TEST", "3"), actor(s, "chair"), now=at("2025-06-13 10:00"))


def test_key_ranges_hold_exactly_a_levels_rows_for_a_window_of_deadlines(engine):
    """keys_between: the half-open range of the unique dedupe key that holds a level's rows
    whose deadline lies in a window — and no other level's (detection's anti-join and the
    acknowledgement's lookup read these ranges)."""
    seed(engine, tasks=TASKS)
    _detect(engine, "2025-06-13 08:00")
    _detect(engine, "2025-06-20 08:00")
    with transaction(engine) as s:
        rows = s.execute(select(OutboxMessage.dedupe_key, OutboxMessage.level, OutboxMessage.deadline)).all()
        assert rows
        for level, first, last in [("chair", date(2025, 5, 30), date(2025, 5, 30)),
                                   ("remind_7", date(2025, 6, 1), date(2025, 6, 30)),
                                   ("overdue", None, date(2025, 5, 29)), ("weekly", None, None)]:
            lo, hi = esc.keys_between(level, first, last)
            in_range = {k for (k,) in s.execute(select(OutboxMessage.dedupe_key)
                                                 .where(OutboxMessage.dedupe_key >= lo, OutboxMessage.dedupe_key < hi))}
            expected = {k for k, lv, d in rows if lv == level and (level == "weekly" or (
                (first is None or d >= first) and (last is None or d <= last)))}
            assert in_range == expected, level
        assert any(lv == "chair" for _, lv, _ in rows) and any(lv == "weekly" for _, lv, _ in rows)


def test_acknowledging_needs_a_recipient_and_an_escalation(engine):
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        with pytest.raises(PermissionDenied):
            esc.acknowledge(s, item_of(s, "KH-TEST", "1"), actor(s, "observer"), now=at("2025-06-13 10:00"))
        with pytest.raises(UserError, match="chưa có nhắc việc"):
            esc.acknowledge(s, item_of(s, "KH-TEST", "3"), actor(s, "chair"), now=at("2025-05-02 10:00"))
        with pytest.raises(UserError, match="no reminder or escalation"):
            esc.acknowledge(s, item_of(s, "KH-TEST", "3"), actor(s, "chair"), now=at("2025-05-02 10:00"), lang="en")


def test_pending_extension_reminds_the_vice_chair_or_else_the_secretariat(engine):
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        lc.request_extension(s, item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal"), now=at("2025-05-26 15:00"),
                             until=date(2025, 7, 31), reason="Chờ kinh phí")
        lc.request_extension(s, item_of(s, "KH-TEST", "2"), actor(s, "snv_focal"), now=at("2025-05-26 15:00"),
                             until=date(2025, 7, 31), reason="Chờ kinh phí")
    assert _detect(engine, "2025-05-27 08:00").by_level["extension_pending"] == 0   # 1 wd old
    assert _detect(engine, "2025-05-28 08:00").by_level["extension_pending"] == 3   # 2 wd old
    ext = [r for r in _rows(engine) if r[0] == "extension_pending"]
    assert ext == [("extension_pending", "person:pct_kt", "1"), ("extension_pending", "person:secretariat", "2"),
                   ("extension_pending", "person:secretariat2", "2")]


def test_submitted_items_wait_for_the_secretariat_not_the_unit(engine):
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        lc.submit(s, item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal"), now=at("2025-05-28 16:00"), evidence="QĐ 5")
    r = _detect(engine, "2025-05-29 08:00")
    assert r.by_level["remind_1"] == 1 and r.by_level["verification_pending"] == 0   # item 2 only
    assert _detect(engine, "2025-05-30 08:00").by_level["verification_pending"] == 2  # both secretariat members
    assert ("remind_1", "unit:SKHCN", "1") not in _rows(engine)


def test_preview_lists_what_detect_would_write_and_writes_nothing(engine):
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        planned = esc.preview(s, now=at("2025-06-13 08:00"))
    assert _rows(engine) == []
    r = _detect(engine, "2025-06-13 08:00")
    with transaction(engine) as s:
        keys = set(s.execute(select(OutboxMessage.dedupe_key)).scalars())
        assert {p.dedupe_key for p in planned} == keys and r.inserted == len(planned)
        assert esc.preview(s, now=at("2025-06-13 08:00")) == []


# --- CLI -------------------------------------------------------------------------------------------


def _cli(db_url: str, *args: str) -> tuple[int, str]:
    from cli.main import app

    res = CliRunner().invoke(app, ["--db", db_url, *args])
    return res.exit_code, res.output


def test_cli_dry_run_writes_nothing_and_direct_run_queues_then_ack_and_outbox(engine, db_url):
    seed(engine, tasks=TASKS)
    code, out = _cli(db_url, "escalate", "--as-of", "2025-06-13", "--dry-run")
    assert code == 0, out
    assert "không ghi gì" in out and "nhiệm vụ quá hạn" in out and "person:chair" in out
    assert _rows(engine) == []
    code, out = _cli(db_url, "escalate", "--as-of", "2025-06-13", "--direct", "--no-dispatch")
    assert code == 0, out
    assert "Đã xếp hàng" in out and len(_rows(engine)) > 0
    code, out = _cli(db_url, "escalation", "ack", "KH-TEST/1", "--as", "chair", "--now", "2025-06-13")
    assert code == 0 and "Đã xác nhận" in out, out
    with transaction(engine) as s:
        assert s.execute(select(EscalationAck.recipient)).scalars().all() == ["person:chair"]
    code, out = _cli(db_url, "escalation", "outbox", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["counts"] == {"pending": len(_rows(engine))}
    # 10 wd overdue on 13/06, first seen: the chair level, and the lead units are told once
    # that their items are overdue (issue 17: the unit is never skipped)
    assert sorted((r["level"], r["recipient"]) for r in data["rows"]) == [
        ("chair", "person:chair"), ("chair", "person:chair"), ("overdue", "unit:SKHCN"), ("overdue", "unit:SNV")]
    code, out = _cli(db_url, "--lang", "en", "escalation", "ack", "KH-TEST/9", "--as", "chair")
    assert code == 1 and "Error" in out and "no task «9»" in out


def test_a_pass_that_grows_the_outbox_a_lot_refreshes_its_statistics_on_postgresql(engine, monkeypatch):
    """After a pass writes a large share of the outbox (the first run writes the whole
    backlog), the planner must not keep believing the old, tiny size until autovacuum
    comes: the next pass's anti-joins would run as nested loops (8.5 s instead of 0.25 s
    at 1M items). Scaled down here: the threshold is lowered to one row."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner statistics")
    from sqlalchemy import text

    seed(engine, tasks=TASKS)
    with engine.begin() as c:
        c.execute(text("ANALYZE outbox"))  # as after migrations: analysed while empty
        before = c.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'outbox'::regclass")).scalar()
    monkeypatch.setattr(esc, "ANALYZE_AFTER_ROWS", 1)
    r = _detect(engine, "2025-06-06 08:00")
    assert r.inserted > 0
    with engine.begin() as c:
        after = c.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'outbox'::regclass")).scalar()
    assert before <= 0 and after == r.inserted


def test_the_anti_join_of_a_bounded_window_is_hashed_not_a_nested_loop_on_postgresql(engine):
    """PostgreSQL estimates a short range of the unique text key at one row; written as an
    anti-join it then compared every item with every key (1M items: 14 s instead of 0.1 s).
    Written NOT IN, it is a hashed subplan whatever the estimate."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plans")
    from sqlalchemy import event

    seed(engine, tasks=TASKS)
    _detect(engine, "2025-06-12 08:00")
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "INSERT INTO outbox" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        with transaction(engine) as s:
            esc.detect(s, now=at("2025-06-13 08:00"))
            s.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    (statement, params), = seen
    with engine.begin() as c:
        plan = "\n".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + statement, params))  # type: ignore[arg-type]
    assert "hashed SubPlan" in plan and "uq_outbox_dedupe_key" in plan
    assert "Anti Join" not in plan


def test_a_second_acknowledgement_records_nothing_and_says_when(engine, db_url):
    """Issue 17: acknowledging is idempotent — no second event, no change; the answer gives
    the time of the first (engine, through engine.commands.perform, and the CLI)."""
    from engine.commands import Acknowledge, perform

    seed(engine, tasks=TASKS)
    _detect(engine, "2025-06-13 08:00")
    with transaction(engine) as s:
        out = perform(s, actor(s, "chair"), item_of(s, "KH-TEST", "1"), Acknowledge(), now=at("2025-06-13 10:00"))
        assert not out.ack.already
    with transaction(engine) as s:
        out = perform(s, actor(s, "chair"), item_of(s, "KH-TEST", "1"), Acknowledge(), now=at("2025-06-13 11:30"))
        assert out.ack.already and out.message() == (
            "Phần việc KH-TEST/1 đã xác nhận lúc 13/06/2025 10:00 (mức chair); không ghi nhận thêm.")
        assert len(s.execute(select(Event).where(Event.kind == "escalation_ack")).all()) == 1
        assert s.execute(select(EscalationAck.acked_at)).scalar_one() == at("2025-06-13 10:00")
        rows = esc.acknowledgements(s, item_of(s, "KH-TEST", "1"))
        assert [(a["recipient"], a["acked_by_name"], a["level"], a["acked_at_local"]) for a in rows] == [
            ("person:chair", "Nguyễn Văn An", "chair", "13/06/2025 10:00")]
    # the CLI, twice: the second says when, and writes nothing
    code, out1 = _cli(db_url, "escalation", "ack", "KH-TEST/3", "--as", "stc_focal", "--now", "2025-06-26T10:00:00+07:00")
    assert code == 0 and "Đã xác nhận" in out1 and "remind_7" in out1
    code, out2 = _cli(db_url, "escalation", "ack", "KH-TEST/3", "--as", "stc_focal", "--now", "2025-06-26T15:00:00+07:00")
    assert code == 0 and "đã xác nhận lúc 26/06/2025 10:00" in out2
    with transaction(engine) as s:
        assert len(s.execute(select(Event).where(Event.kind == "escalation_ack")).all()) == 2
    # a higher level reached since (item 3, due 30/06, overdue on 01/07): acknowledging again records it
    _detect(engine, "2025-07-01 08:00")
    with transaction(engine) as s:
        r = esc.acknowledge(s, item_of(s, "KH-TEST", "3"), actor(s, "stc_focal"), now=at("2025-07-01 10:00"))
        assert not r.already and r.level == "overdue"

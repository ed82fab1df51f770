"""Periodic reports: periods, and every figure of a monthly and a quarterly report checked
against hand-computed expectations on a plan whose whole history is known.

The scenario (plan KH-TEST, units SKHCN / SNV / STC, created 01/04/2025 09:00):

==  ======  ===========================  ===========================================================
#   unit    deadline                     history up to 20/05/2025 (the monthly as-of date)
==  ======  ===========================  ===========================================================
1   SKHCN   30/04                        started 02/04, submitted 28/04, verified 29/04 (on time)
2   SNV     14/05 (= the cut-off day)    submitted 14/05 10:00, verified 14/05 16:00 (on the deadline day)
3   STC     10/05                        submitted 10/05, verified 11/05 09:00 (the day after: late)
4   SKHCN   20/05 (= the as-of day)      SKHCN started 02/05; SNV nothing (both due, not overdue)
    + SNV
5   SNV     12/05 → 15/06                extension asked 05/05, approved by the chair 06/05
6   STC     16/05                        nothing (overdue on 20/05)
7   SKHCN   ongoing                      progress note 05/05 (inside the May period)
8   SNV     ongoing                      notes 10/04 (April period) and 16/05 (after the May cut-off)
9   STC     monthly, 20th: 04, 05, 06    #2025-04 submitted 19/04, verified 21/04 (late); others open
10  SKHCN   30/09                        submitted 08/05, verified 09/05 (early)
11  SNV     31/12                        nothing
12  STC     25/05                        nothing (due within 7 days, no progress)
13  SKHCN   31/03                        imported as completed, completion date unknown
==  ======  ===========================  ===========================================================

Later events (added after the monthly report, before the quarterly one): 4@SNV completed
22-23/05 (late); 2 reopened 01/06; 13 reopened 02/06; note on 12 on 05/06; 6 extended to
31/07 on 10/06; 4@SKHCN completed 18-19/06 (late).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from engine import lifecycle as lc
from engine.audit import append_event
from engine.db import transaction
from engine.errors import UserError
from engine.models import Indicator
from engine.reporting import (
    StatusRules,
    build_report,
    make_period,
    parse_period,
    parse_rules,
    period_for,
    previous_period,
)
from engine.snapshots import generate_report, list_snapshots, snapshot_data
from engine.heatrules import legend_text as heat_legend
from engine.heatrules import share_colour
from engine.render.view import reason_text
from tests.factories import T0, actor, at, item_of, make_directory, make_plan

PLAN = "KH-TEST"
MAY = date(2025, 5, 20)
JUNE = date(2025, 6, 20)

TASKS = [
    {"code": "1", "section": "I", "lead": ["SKHCN"], "deadline": date(2025, 4, 30), "title": "Ban hành kế hoạch tuyên truyền",
     "deliverable": "Kế hoạch của UBND tỉnh"},
    {"code": "2", "section": "I", "lead": ["SNV"], "deadline": date(2025, 5, 14)},
    {"code": "3", "section": "I", "lead": ["STC"], "deadline": date(2025, 5, 10)},
    {"code": "4", "section": "I", "lead": ["SKHCN", "SNV"], "deadline": date(2025, 5, 20)},
    {"code": "5", "section": "II", "lead": ["SNV"], "deadline": date(2025, 5, 12), "deadline_text": "12/5/2025"},
    {"code": "6", "section": "II", "lead": ["STC"], "deadline": date(2025, 5, 16)},
    {"code": "7", "section": "II", "lead": ["SKHCN"], "deadline": None, "deadline_kind": "ongoing",
     "deadline_text": "Thường xuyên"},
    {"code": "8", "section": "II", "lead": ["SNV"], "deadline": None, "deadline_kind": "ongoing",
     "deadline_text": "Thường xuyên"},
    {"code": "9", "section": "II", "lead": ["STC"], "deadline": None, "deadline_kind": "recurring",
     "recurrence": "0 0 20 * *", "deadline_text": "Ngày 20 hằng tháng",
     "occurrences": [("2025-04", date(2025, 4, 20)), ("2025-05", date(2025, 5, 20)), ("2025-06", date(2025, 6, 20))]},
    {"code": "10", "section": "II", "lead": ["SKHCN"], "deadline": date(2025, 9, 30)},
    {"code": "11", "section": "II", "lead": ["SNV"], "deadline": date(2025, 12, 31)},
    {"code": "12", "section": "II", "lead": ["STC"], "deadline": date(2025, 5, 25)},
    {"code": "13", "section": "I", "lead": ["SKHCN"], "deadline": date(2025, 3, 31), "status": "completed"},
]
SECTIONS = [("I", "Nâng cao nhận thức"), ("II", "Hoàn thiện thể chế")]


def act(engine, when: str, who: str, action: str, task: str, unit: str | None = None, occ: str | None = None,
        **kw) -> None:
    with transaction(engine) as s:
        item = item_of(s, PLAN, task, unit, occ)
        getattr(lc, action)(s, item, actor(s, who), now=at(when), **kw)


def build_base(engine) -> None:
    """Directory, plan, indicator and the history up to 20/05/2025."""
    with transaction(engine) as s:
        make_directory(s)
        make_plan(s, PLAN, tasks=TASKS, sections=SECTIONS)
        # 13: imported from the plan file as completed, without a completion date
        w = item_of(s, PLAN, "13")
        w.completion = "unknown"
        append_event(s, now=T0, at=T0, actor="import", actor_role="secretariat", kind="status", plan_id=w.task.plan_id,
                     task_id=w.task_id, work_item_id=w.id, from_status="not_started", to_status="completed",
                     note="Nhập trạng thái «Đã hoàn thành» từ tệp", data={"imported": True, "completion": "unknown"})
        plan_id = w.task.plan_id
        s.add(Indicator(code="CT-1", plan_id=plan_id, name="Tỷ lệ hồ sơ trực tuyến toàn trình", group=None,
                        unit_of_measure="%", comparator=">=", target_low=50.0, target_high=None, target_text="≥ 50",
                        target_date=date(2025, 12, 31), higher_is_better=True, reporting_unit_id=None, created_at=T0))
    act(engine, "2025-04-02 09:00", "skhcn_focal", "start", "1")
    act(engine, "2025-04-10 09:00", "snv_focal", "add_note", "8", text="Duy trì chuyên mục tháng 4")
    act(engine, "2025-04-19 10:00", "stc_focal", "submit", "9", occ="2025-04", evidence="Báo cáo tháng 4")
    act(engine, "2025-04-21 09:00", "secretariat", "verify", "9", occ="2025-04")
    act(engine, "2025-04-28 15:00", "skhcn_focal", "submit", "1", evidence="Kế hoạch số 98/KH-UBND")
    act(engine, "2025-04-29 09:00", "secretariat", "verify", "1")
    act(engine, "2025-05-02 09:00", "skhcn_focal", "start", "4", unit="SKHCN")
    with transaction(engine) as s:
        from engine.indicators import record_measurement

        record_measurement(s, "CT-1", "2025-04", 40, actor="secretariat", now=at("2025-05-02 10:00"))
    act(engine, "2025-05-05 08:00", "skhcn_focal", "add_note", "7", text="Đã ra mắt chuyên mục", percent=30)
    act(engine, "2025-05-05 09:00", "snv_focal", "request_extension", "5", until=date(2025, 6, 15),
        reason="Chờ ý kiến Bộ Nội vụ")
    act(engine, "2025-05-06 09:00", "chair", "approve_extension", "5", note="Đồng ý")
    act(engine, "2025-05-08 09:00", "skhcn_focal", "submit", "10", evidence="Quyết định số 12/QĐ-UBND")
    act(engine, "2025-05-09 09:00", "secretariat", "verify", "10")
    with transaction(engine) as s:
        from engine.adoption import register_adoption

        register_adoption(s, PLAN, "SKHCN", document="Kế hoạch số 210/KH-SKHCN", issued_on=date(2025, 5, 10),
                          actor="secretariat", now=at("2025-05-10 09:00"))
    act(engine, "2025-05-10 16:00", "stc_focal", "submit", "3", evidence="Báo cáo số 5/BC-STC")
    act(engine, "2025-05-11 09:00", "secretariat", "verify", "3")
    act(engine, "2025-05-14 10:00", "snv_focal", "submit", "2", evidence="Quyết định số 7/QĐ-SNV")
    act(engine, "2025-05-14 16:00", "secretariat", "verify", "2")
    act(engine, "2025-05-16 09:00", "snv_focal", "add_note", "8", text="Duy trì chuyên mục tháng 5")
    with transaction(engine) as s:
        from engine.indicators import record_measurement

        record_measurement(s, "CT-1", "2025-05", 55, actor="secretariat", now=at("2025-05-18 10:00"))


def add_later(engine) -> None:
    act(engine, "2025-05-22 10:00", "snv_focal", "submit", "4", unit="SNV", evidence="Văn bản số 3/SNV")
    act(engine, "2025-05-23 09:00", "secretariat", "verify", "4", unit="SNV")
    with transaction(engine) as s:
        from engine.indicators import record_measurement

        record_measurement(s, "CT-1", "2025-05", 45, actor="secretariat", now=at("2025-05-25 10:00"))  # corrected
    act(engine, "2025-06-01 09:00", "secretariat", "reopen", "2", reason="Thiếu phụ lục")
    act(engine, "2025-06-02 09:00", "secretariat", "reopen", "13", reason="Kiểm tra lại hồ sơ")
    with transaction(engine) as s:
        from engine.adoption import register_adoption

        register_adoption(s, PLAN, "SNV", document="Kế hoạch số 12/KH-SNV", issued_on=date(2025, 6, 1),
                          actor="secretariat", now=at("2025-06-03 09:00"))
    act(engine, "2025-06-05 09:00", "stc_focal", "add_note", "12", text="Đang tổng hợp", percent=50)
    act(engine, "2025-06-09 09:00", "stc_focal", "request_extension", "6", until=date(2025, 7, 31), reason="Chờ số liệu")
    act(engine, "2025-06-10 09:00", "chair", "approve_extension", "6")
    act(engine, "2025-06-18 09:00", "skhcn_focal", "submit", "4", unit="SKHCN", evidence="Văn bản số 9/SKHCN")
    act(engine, "2025-06-19 09:00", "secretariat", "verify", "4", unit="SKHCN")


def monthly(engine, **kw):
    with transaction(engine) as s:
        return build_report(s, plan_code=PLAN, kind="monthly", period="2025-05", as_of=MAY, cutoff_day=14, **kw)


def quarterly(engine):
    with transaction(engine) as s:
        return build_report(s, plan_code=PLAN, kind="quarterly", period="2025-Q2", as_of=JUNE)


def counts(**nonzero: int) -> dict[str, int]:
    keys = ("total", "due", "completed", "completed_on_time", "completed_late", "completed_unknown", "completed_due",
            "completed_ahead", "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing",
            "ongoing_with_results", "no_deadline", "due_soon", "due_soon_without_progress", "cancelled")
    return {k: nonzero.get(k, 0) for k in keys}


def strip(c: dict) -> dict:
    return {k: v for k, v in c.items() if k not in ("percent", "on_time_rate", "completion_rate", "unassigned")}


@pytest.fixture
def base(engine):
    build_base(engine)
    return engine


# --- periods -------------------------------------------------------------------------------


def test_calendar_periods_are_months_quarters_halves_and_years():
    assert (make_period("monthly", 2025, 2).start, make_period("monthly", 2025, 2).end) == (date(2025, 2, 1), date(2025, 2, 28))
    q = parse_period("2025-Q2")
    assert (q.kind, q.key, q.start, q.end) == ("quarterly", "2025-Q2", date(2025, 4, 1), date(2025, 6, 30))
    h = parse_period("H2/2025")
    assert (h.key, h.start, h.end) == ("2025-H2", date(2025, 7, 1), date(2025, 12, 31))
    y = parse_period("2025")
    assert (y.kind, y.start, y.end) == ("annual", date(2025, 1, 1), date(2025, 12, 31))
    assert parse_period("05/2025").key == "2025-05"


def test_cutoff_day_14_runs_month_m_from_the_15th_of_the_previous_month_to_the_14th():
    may = parse_period("2025-05", cutoff_day=14)
    assert (may.start, may.end) == (date(2025, 4, 15), date(2025, 5, 14))
    jan = make_period("monthly", 2025, 1, cutoff_day=14)
    assert (jan.start, jan.end) == (date(2024, 12, 15), date(2025, 1, 14))
    q2 = make_period("quarterly", 2025, 2, cutoff_day=14)
    assert (q2.start, q2.end) == (date(2025, 3, 15), date(2025, 6, 14))
    year = make_period("annual", 2025, cutoff_day=14)
    assert (year.start, year.end) == (date(2024, 12, 15), date(2025, 12, 14))
    # the report made on 20/05 is the May report (already closed on 14/05)
    assert period_for("monthly", date(2025, 5, 20), cutoff_day=14) == may
    assert period_for("monthly", date(2025, 5, 20)).end == date(2025, 5, 31)


def test_previous_period_crosses_the_year_boundary():
    assert previous_period(parse_period("2025-01")).key == "2024-12"
    assert previous_period(parse_period("2025-Q1")).key == "2024-Q4"
    assert previous_period(parse_period("2025-H1")).key == "2024-H2"
    assert previous_period(parse_period("2025")).key == "2024"
    assert previous_period(parse_period("2025-01", cutoff_day=14)).start == date(2024, 11, 15)


def test_bad_periods_and_cutoffs_name_the_problem():
    with pytest.raises(UserError, match="2025-13"):
        parse_period("2025-13")
    with pytest.raises(UserError, match="không phải kỳ tháng"):
        parse_period("2025-Q2", kind="monthly")
    with pytest.raises(UserError, match="1–28"):
        parse_period("2025-05", cutoff_day=31)
    with pytest.raises(UserError, match="tháng 5"):
        parse_period("tháng 5")


def test_status_rules_parse_with_defaults_and_reject_bad_keys():
    assert parse_rules(None) == StatusRules()
    r = parse_rules({"red": {"overdue_at_least": 2}, "yellow": {"on_time_rate_below": 90, "due_within_days": None}})
    assert (r.red_overdue_at_least, r.yellow_on_time_rate_below, r.yellow_due_within_days) == (2, 0.9, None)
    with pytest.raises(UserError, match="status_rules.yellow: khóa không hợp lệ soon"):
        parse_rules({"yellow": {"soon": 3}})
    with pytest.raises(UserError, match="status_rules.red.overdue_at_least phải là số nguyên"):
        parse_rules({"red": {"overdue_at_least": 0}})


def test_share_rule_parses_thresholds_scope_and_rejects_bad_values():
    r = parse_rules({"rule": "share_due", "green_at": 95, "yellow_at": 0.6, "milestone": "2025-08-10", "section": "II"})
    assert (r.rule, r.green_at, r.yellow_at, r.milestone, r.section) == ("share_due", 0.95, 0.6, date(2025, 8, 10), "II")
    assert StatusRules().rule == "share_due" and parse_rules(None).as_dict()["green_at"] == 0.9
    with pytest.raises(UserError, match="status_rules.rule: không có quy tắc \"red\""):
        parse_rules({"rule": "red"})
    with pytest.raises(UserError, match="yellow_at"):
        parse_rules({"green_at": 0.5, "yellow_at": 0.8})
    with pytest.raises(UserError, match="status_rules.milestone"):
        parse_rules({"milestone": "10/8"})


# (done, due, green_at, yellow_at) -> colour; 9/10 at 90 % is green (whole items, no float slip)
@pytest.mark.parametrize(("done", "due", "green_at", "yellow_at", "colour"), [
    (0, 0, 0.9, 0.7, "green"),  # nothing due yet
    (4, 4, 0.9, 0.7, "green"),
    (9, 10, 0.9, 0.7, "green"),
    (8, 10, 0.9, 0.7, "yellow"),
    (7, 10, 0.9, 0.7, "yellow"),
    (6, 10, 0.9, 0.7, "red"),
    (3, 4, 0.9, 0.7, "yellow"),
    (2, 3, 0.9, 0.7, "red"),
    (2, 3, 0.6, 0.5, "green"),
    (1, 2, 0.6, 0.5, "yellow"),
    (0, 1, 0.6, 0.5, "red"),
    (29, 31, 0.93, 0.7, "green"),
])
def test_share_colour_table(done, due, green_at, yellow_at, colour):
    assert share_colour(done, due, green_at=green_at, yellow_at=yellow_at) == colour


# the base history as of 20/05 (milestone = as-of date), by hand:
#   SKHCN: 1 (30/04, done), 13 (31/03, done), 4@SKHCN (20/05, open: due today, not overdue) -> 2/3;
#          7 ongoing and 10 (30/09) are not counted
#   SNV:   2 (14/05, done), 4@SNV (20/05, open) -> 1/2; 5 (extended to 15/06), 8 ongoing, 11 not counted
#   STC:   3 (10/05, done late), 9#2025-04 (20/04, done), 6 (16/05, open: 4 days overdue),
#          9#2025-05 (20/05, open) -> 2/4; 12 (25/05) not counted
@pytest.mark.parametrize(("raw", "expected"), [
    ({}, [("SKHCN", "red", 2, 3), ("SNV", "red", 1, 2), ("STC", "red", 2, 4)]),
    ({"green_at": 0.6, "yellow_at": 0.5}, [("SKHCN", "green", 2, 3), ("SNV", "yellow", 1, 2), ("STC", "yellow", 2, 4)]),
    # scope: section I only (1, 2, 3, 4, 13)
    ({"section": "I", "green_at": 0.6, "yellow_at": 0.5},
     [("STC", "green", 1, 1), ("SKHCN", "green", 2, 3), ("SNV", "yellow", 1, 2)]),
    # milestone 14/05: 4a, 4b, 6, 9#05 are not due by then
    ({"milestone": "2025-05-14"}, [("SKHCN", "green", 2, 2), ("SNV", "green", 1, 1), ("STC", "green", 2, 2)]),
])
def test_share_rule_colours_units_from_items_due_by_the_milestone(base, raw, expected):
    r = monthly(base, rules=parse_rules(raw))
    got = [(u["unit"], u["status"], u["due_tally"]["done"], u["due_tally"]["due"]) for u in r["units"]]
    assert got == expected
    assert [u["rank"] for u in r["units"]] == [1, 2, 3]
    assert r["unit_status_totals"] == {c: sum(1 for e in expected if e[1] == c) for c in ("green", "yellow", "red")}


def test_share_rule_reason_names_the_overdue_items_in_words(base):
    r = monthly(base)
    stc = next(u for u in r["units"] if u["unit"] == "STC")
    assert stc["due_tally"]["overdue_items"] == [{"task": "6", "ref": "KH-TEST/6", "days_overdue": 4}]
    assert [reason_text(x, "vi") for x in stc["reasons"]] == ["2/4 việc đến hạn đã xong; 1 quá hạn: NV 6 (4 ngày)"]
    assert [reason_text(x, "en") for x in stc["reasons"]] == ["2/4 items due are done; 1 overdue: task 6 (4 days)"]
    snv = next(u for u in r["units"] if u["unit"] == "SNV")
    assert reason_text(snv["reasons"][0], "vi") == "1/2 việc đến hạn đã xong"
    legend = heat_legend(r["rules"], "vi", milestone=r["as_of"])
    assert "xanh từ 90 %" in legend and "đỏ dưới 70 %" in legend and "20/05/2025" in legend
    nothing = {"rule": "share_due", "level": "green", "done": 0, "due": 0, "share": None, "overdue": 0,
               "overdue_items": [], "milestone": "2025-03-20"}
    assert reason_text(nothing, "vi") == "Chưa có việc đến hạn (đến 20/03/2025)"


# --- the monthly report -------------------------------------------------------------------------


def test_monthly_report_with_cutoff_counts_every_item_by_hand(base):
    r = monthly(base, rules=parse_rules({"rule": "any_overdue"}))  # the former default (red = any overdue)
    assert r["period"]["start"] == "2025-04-15" and r["period"]["end"] == "2025-05-14"
    assert r["as_of"] == "2025-05-20" and r["due_by"] == "2025-05-20" and r["period"]["label"] == "tháng 5/2025"

    # items: 1 2 3 9a 13 completed and due, 10 completed ahead; 4a 4b 9b due today (not overdue);
    # 6 overdue; 5 (extended to 15/06), 11, 12 not yet due; 7 8 ongoing (7 with a note in the period)
    assert strip(r["summary"]) == counts(
        total=15, due=9, completed=6, completed_on_time=3, completed_late=2, completed_unknown=1, completed_due=5,
        completed_ahead=1, in_progress_within_deadline=3, overdue=1, not_yet_due=3, ongoing=2, ongoing_with_results=1,
        due_soon=4, due_soon_without_progress=3)
    assert r["summary"]["percent"] == {"completed_of_due": 55.6, "on_time_of_completed": 60.0, "overdue_of_due": 11.1,
                                       "completed_of_total": 46.2, "ongoing_with_results_of_ongoing": 50.0}
    assert strip(r["task_summary"]) == counts(
        total=13, due=7, completed=5, completed_on_time=3, completed_late=1, completed_unknown=1, completed_due=4,
        completed_ahead=1, in_progress_within_deadline=2, overdue=1, not_yet_due=3, ongoing=2, ongoing_with_results=1,
        due_soon=3, due_soon_without_progress=3)  # 4 (4@SNV), 9 (9#05) and 12 each have such an item
    assert r["task_summary"]["unassigned"] == 0
    assert r["task_summary"]["percent"]["completed_of_due"] == 57.1

    sections = {s["code"]: strip(s["counts"]) for s in r["sections"]}
    assert sections == {
        "I": counts(total=6, due=6, completed=4, completed_on_time=2, completed_late=1, completed_unknown=1,
                    completed_due=4, in_progress_within_deadline=2, due_soon=2, due_soon_without_progress=1),
        "II": counts(total=9, due=3, completed=2, completed_on_time=1, completed_late=1, completed_due=1,
                     completed_ahead=1, in_progress_within_deadline=1, overdue=1, not_yet_due=3, ongoing=2,
                     ongoing_with_results=1, due_soon=2, due_soon_without_progress=2),
    }
    assert [s["tasks"] for s in r["sections"]] == [5, 8]

    units = {u["unit"]: u for u in r["units"]}
    assert [(u["rank"], u["unit"], u["status"]) for u in r["units"]] == [(1, "SKHCN", "green"), (2, "SNV", "yellow"),
                                                                        (3, "STC", "red")]
    assert strip(units["SKHCN"]["counts"]) == counts(
        total=5, due=3, completed=3, completed_on_time=2, completed_unknown=1, completed_due=2, completed_ahead=1,
        in_progress_within_deadline=1, ongoing=1, ongoing_with_results=1, due_soon=1)
    assert strip(units["SNV"]["counts"]) == counts(
        total=5, due=2, completed=1, completed_on_time=1, completed_due=1, in_progress_within_deadline=1,
        not_yet_due=2, ongoing=1, due_soon=1, due_soon_without_progress=1)
    assert strip(units["STC"]["counts"]) == counts(
        total=5, due=4, completed=2, completed_late=2, completed_due=2, in_progress_within_deadline=1, overdue=1,
        not_yet_due=1, due_soon=2, due_soon_without_progress=2)
    assert [(u["counts"]["on_time_rate"], u["counts"]["completion_rate"]) for u in r["units"]] == [
        (100.0, 66.7), (100.0, 50.0), (0.0, 50.0)]
    assert units["SNV"]["reasons"] == [{"rule": "due_soon_without_progress", "level": "yellow", "count": 1, "days": 7}]
    assert units["STC"]["reasons"] == [{"rule": "overdue", "level": "red", "count": 1}]
    assert r["unit_status_totals"] == {"green": 1, "yellow": 1, "red": 1}

    # changes since April (15/03 - 14/04, as of 14/04): only 13 was completed then
    ch = r["changes"]
    assert ch["previous"]["period"]["key"] == "2025-04" and ch["previous"]["as_of"] == "2025-04-14"
    assert strip(ch["previous"]["summary"]) == counts(total=13, due=1, completed=1, completed_unknown=1, completed_due=1,
                                                      not_yet_due=10, ongoing=2, ongoing_with_results=1)
    assert [(c["ref"], c["completed_on"], c["completion"]) for c in ch["newly_completed"]] == [
        ("KH-TEST/9#2025-04", "2025-04-21", "late"), ("KH-TEST/1", "2025-04-29", "on_time"),
        ("KH-TEST/10", "2025-05-09", "on_time"), ("KH-TEST/3", "2025-05-11", "late"),
        ("KH-TEST/2", "2025-05-14", "on_time")]
    assert [(c["ref"], c["days_overdue"]) for c in ch["newly_overdue"]] == [("KH-TEST/6", 4)]
    assert [(e["ref"], e["from"], e["to"], e["approved_by"], e["approved_on"]) for e in ch["extensions"]] == [
        ("KH-TEST/5", "2025-05-12", "2025-06-15", "chair", "2025-05-06")]
    assert [(o["ref"], o["days_overdue"]) for o in r["overdue_items"]] == [("KH-TEST/6", 4)]

    assert r["timeline"] == [{"date": "2025-04-30", "completed": 3, "due": 3},
                             {"date": "2025-05-20", "completed": 6, "due": 9}]
    assert (r["adoption"]["adopted"], r["adoption"]["expected"]) == (1, 3)
    [ind] = r["indicators"]
    assert (ind["period"], ind["value"], ind["previous_period"], ind["previous_value"], ind["direction"],
            ind["on_track"]) == ("2025-05", 55.0, "2025-04", 40.0, "up", True)

    tasks = {t["code"]: t for t in r["tasks"]}
    assert [t["code"] for t in r["tasks"]] == [str(n) for n in range(1, 14)]
    assert (tasks["5"]["status"], tasks["5"]["extended"], tasks["5"]["deadlines_in_force"]) == (
        "not_yet_due", True, ["2025-06-15"])
    assert (tasks["2"]["status"], tasks["2"]["completion"]) == ("completed", "on_time")
    assert (tasks["4"]["status"], tasks["4"]["units_total"], tasks["4"]["units_completed"]) == (
        "in_progress_within_deadline", 2, 0)
    assert (tasks["7"]["result"], tasks["7"]["result_date"], tasks["7"]["percent"]) == ("Đã ra mắt chuyên mục",
                                                                                       "2025-05-05", 30.0)
    assert tasks["8"]["result"] == "Duy trì chuyên mục tháng 5"  # latest note by the as-of date
    assert tasks["1"]["result"] == "Kế hoạch số 98/KH-UBND"  # no note: the evidence of completion
    assert tasks["9"]["status"] == "in_progress_within_deadline"
    assert [i["occurrence"] for i in tasks["9"]["items"]] == ["2025-04", "2025-05"]
    json.dumps(r, ensure_ascii=False)  # plain JSON types only


def test_deadline_on_the_as_of_day_is_due_and_overdue_the_day_after(base):
    with transaction(base) as s:
        same = build_report(s, plan_code=PLAN, period="2025-05", as_of=date(2025, 5, 20))
        after = build_report(s, plan_code=PLAN, period="2025-05", as_of=date(2025, 5, 21))
    t_same = {t["code"]: t["status"] for t in same["tasks"]}
    t_after = {t["code"]: t["status"] for t in after["tasks"]}
    assert t_same["4"] == "in_progress_within_deadline" and t_after["4"] == "overdue"
    # calendar May: the due-by date is the period end (31/05), so 12 (25/05) is due, within deadline
    assert same["due_by"] == "2025-05-31" and t_same["12"] == "in_progress_within_deadline"


# --- reproducibility, the quarterly report ----------------------------------------------------------


def test_later_events_do_not_change_a_past_report_and_the_quarterly_report_counts_them(base):
    before = monthly(base)
    add_later(base)
    assert monthly(base) == before

    q = quarterly(base)
    assert (q["period"]["start"], q["period"]["end"], q["due_by"]) == ("2025-04-01", "2025-06-30", "2025-06-30")
    # completed: 1 (on time), 10 (on time, early), 3 4@SKHCN 4@SNV 9#04 (late); reopened 2 and 13 are overdue,
    # as are 5 (extended to 15/06), 9#05 and 12; 9#06 is due on the as-of day; 6 (extended to 31/07) and 11 not yet
    assert strip(q["summary"]) == counts(
        total=16, due=11, completed=6, completed_on_time=2, completed_late=4, completed_due=5, completed_ahead=1,
        in_progress_within_deadline=1, overdue=5, not_yet_due=2, ongoing=2, ongoing_with_results=2, due_soon=1,
        due_soon_without_progress=1)
    assert q["summary"]["percent"] == {"completed_of_due": 45.5, "on_time_of_completed": 33.3, "overdue_of_due": 45.5,
                                       "completed_of_total": 42.9, "ongoing_with_results_of_ongoing": 100.0}
    assert strip(q["task_summary"]) == counts(
        total=13, due=8, completed=4, completed_on_time=2, completed_late=2, completed_due=3, completed_ahead=1,
        overdue=5, not_yet_due=2, ongoing=2, ongoing_with_results=2, due_soon=1, due_soon_without_progress=1)
    assert {s["code"]: strip(s["counts"]) for s in q["sections"]} == {
        "I": counts(total=6, due=6, completed=4, completed_on_time=1, completed_late=3, completed_due=4, overdue=2),
        "II": counts(total=10, due=5, completed=2, completed_on_time=1, completed_late=1, completed_due=1,
                     completed_ahead=1, in_progress_within_deadline=1, overdue=3, not_yet_due=2, ongoing=2,
                     ongoing_with_results=2, due_soon=1, due_soon_without_progress=1),
    }
    units = {u["unit"]: u for u in q["units"]}
    assert [(u["rank"], u["unit"], u["status"]) for u in q["units"]] == [(1, "SKHCN", "red"), (2, "STC", "red"),
                                                                        (3, "SNV", "red")]
    assert strip(units["SKHCN"]["counts"]) == counts(
        total=5, due=3, completed=3, completed_on_time=2, completed_late=1, completed_due=2, completed_ahead=1,
        overdue=1, ongoing=1, ongoing_with_results=1)
    assert strip(units["SNV"]["counts"]) == counts(
        total=5, due=3, completed=1, completed_late=1, completed_due=1, overdue=2, not_yet_due=1, ongoing=1,
        ongoing_with_results=1)
    assert strip(units["STC"]["counts"]) == counts(
        total=6, due=5, completed=2, completed_late=2, completed_due=2, in_progress_within_deadline=1, overdue=2,
        not_yet_due=1, due_soon=1, due_soon_without_progress=1)
    assert [(u["counts"]["on_time_rate"], u["counts"]["completion_rate"]) for u in q["units"]] == [
        (66.7, 66.7), (0.0, 40.0), (0.0, 33.3)]

    ch = q["changes"]  # Q1 ended before the plan existed: everything is new
    assert ch["previous"]["period"]["key"] == "2025-Q1" and strip(ch["previous"]["summary"]) == counts()
    assert [c["ref"] for c in ch["newly_completed"]] == ["KH-TEST/9#2025-04", "KH-TEST/1", "KH-TEST/10", "KH-TEST/3",
                                                         "KH-TEST/4@SNV", "KH-TEST/4@SKHCN"]
    assert [c["completion"] for c in ch["newly_completed"]] == ["late", "on_time", "on_time", "late", "late", "late"]
    assert sorted(c["ref"] for c in ch["newly_overdue"]) == ["KH-TEST/12", "KH-TEST/13", "KH-TEST/2", "KH-TEST/5",
                                                             "KH-TEST/9#2025-05"]
    assert [(e["ref"], e["to"]) for e in ch["extensions"]] == [("KH-TEST/5", "2025-06-15"), ("KH-TEST/6", "2025-07-31")]
    assert q["timeline"] == [{"date": "2025-04-30", "completed": 3, "due": 3},
                             {"date": "2025-05-31", "completed": 7, "due": 9},
                             {"date": "2025-06-20", "completed": 6, "due": 11}]
    assert (q["adoption"]["adopted"], q["adoption"]["expected"]) == (2, 3)
    [ind] = q["indicators"]
    assert (ind["period"], ind["value"], ind["direction"], ind["on_track"]) == ("2025-05", 45.0, "up", False)
    tasks = {t["code"]: t for t in q["tasks"]}
    assert (tasks["13"]["status"], tasks["2"]["status"], tasks["6"]["deadlines_in_force"]) == (
        "overdue", "overdue", ["2025-07-31"])
    assert tasks["12"]["result"] == "Đang tổng hợp"


def test_a_stored_snapshot_rerenders_byte_identically_after_later_updates(base):
    from engine.render import render

    with transaction(base) as s:
        data, snap = generate_report(s, now=at("2025-05-20 17:00"), plan_code=PLAN, kind="monthly", period="2025-05",
                                     as_of=MAY, cutoff_day=14)
    md, js = render(data, "md"), render(data, "json")
    add_later(base)
    with transaction(base) as s:
        stored = snapshot_data(s, snap)
        rows = list_snapshots(s)
    assert stored == data
    assert render(stored, "md") == md and render(stored, "json") == js
    assert [(r["id"], r["kind"], r["period"], r["as_of"], r["overdue"]) for r in rows] == [
        (snap, "monthly", "2025-05", "2025-05-20", 1)]
    # and building it again from the log gives the same figures
    assert json.loads(js) == json.loads(json.dumps(monthly(base), ensure_ascii=False))


def test_edited_snapshot_is_refused(base):
    with transaction(base) as s:
        _, snap = generate_report(s, now=at("2025-05-20 17:00"), plan_code=PLAN, as_of=MAY)
    with transaction(base) as s:
        from engine.models import ReportSnapshot

        row = s.get(ReportSnapshot, snap)
        row.data = {**row.data, "summary": {**row.data["summary"], "overdue": 0}}
    with transaction(base) as s, pytest.raises(UserError, match="bị sửa"):
        snapshot_data(s, snap)


def test_unit_rules_come_from_committee_settings_or_an_explicit_rule_set(base):
    lenient = StatusRules(rule="any_overdue", red_overdue_at_least=2, yellow_due_within_days=None,
                          yellow_on_time_rate_below=None)
    r = monthly(base, rules=lenient)
    assert [(u["unit"], u["status"]) for u in r["units"]] == [("SKHCN", "green"), ("SNV", "green"), ("STC", "green")]
    with transaction(base) as s:
        from engine.models import Committee

        c = s.get(Committee, 1)
        c.settings = {**c.settings, "status_rules": {"rule": "any_overdue", "red": {"overdue_at_least": 5},
                                                     "yellow": {"due_within_days": None, "on_time_rate_below": 50}}}
    r = monthly(base)  # STC: 1 overdue < 5, on-time rate 0% < 50% -> yellow; SNV's due-soon rule is off
    assert {u["unit"]: u["status"] for u in r["units"]} == {"SKHCN": "green", "SNV": "green", "STC": "yellow"}
    assert r["units"][2]["reasons"] == [{"rule": "on_time_rate", "level": "yellow", "rate": 0.0, "threshold": 50.0}]
    assert r["rules"]["yellow"]["on_time_rate_below"] == 0.5


def test_cancelled_items_are_left_out_and_counted_apart(base):
    act(base, "2025-05-03 09:00", "secretariat", "cancel", "11", reason="Không còn phù hợp")
    r = monthly(base)
    assert r["summary"]["total"] == 14 and r["summary"]["cancelled"] == 1 and r["summary"]["not_yet_due"] == 2
    assert {t["code"]: t["status"] for t in r["tasks"]}["11"] == "cancelled"


def test_report_needs_a_known_plan_and_an_as_of_date_inside_or_after_the_period(base):
    with transaction(base) as s:
        with pytest.raises(UserError, match="Không có kế hoạch mã «KH-X»"):
            build_report(s, plan_code="KH-X", as_of=MAY)
        with pytest.raises(UserError, match="trước ngày bắt đầu kỳ"):
            build_report(s, plan_code=PLAN, period="2025-06", as_of=MAY)
        assert build_report(s, as_of=MAY)["plan"]["code"] == PLAN  # the only plan is the default


def test_reports_match_the_documented_json_schema(base):
    import re
    from pathlib import Path

    jsonschema = pytest.importorskip("jsonschema")
    doc = (Path(__file__).resolve().parent.parent / "docs" / "report-schema.md").read_text(encoding="utf-8")
    schema = json.loads(re.search(r"```json\n(.*?)\n```", doc, re.S).group(1))
    add_later(base)
    for r in (monthly(base), quarterly(base)):
        jsonschema.validate(json.loads(json.dumps(r)), schema)
    bad = json.loads(json.dumps(monthly(base)))
    bad["units"][0]["status"] = "orange"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_english_report_labels(base):
    with transaction(base) as s:
        r = build_report(s, plan_code=PLAN, kind="quarterly", as_of=MAY, lang="en")
    assert r["lang"] == "en" and r["period"]["label"] == "Q2 2025"

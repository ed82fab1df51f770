"""engine.timeliness: one definition of on track / due soon / overdue / on time / late."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine.timeliness import TIMELINESS_VALUES, classify, completion_of, days_left
from tests.factories import at

D = date(2025, 6, 30)  # the deadline in most rows

CASES = [
    # (name, status, deadline, completed_at, today, deadline_kind, expected)
    ("far_ahead_is_on_track", "in_progress", D, None, date(2025, 6, 1), "date", "on_track"),
    ("eight_days_before_is_on_track", "not_started", D, None, date(2025, 6, 22), "date", "on_track"),
    ("seven_days_before_is_due_soon", "not_started", D, None, date(2025, 6, 23), "date", "due_soon"),
    ("deadline_today_is_due_soon_not_overdue", "in_progress", D, None, D, "date", "due_soon"),
    ("day_after_deadline_is_overdue", "in_progress", D, None, date(2025, 7, 1), "date", "overdue"),
    ("submitted_but_unverified_after_deadline_is_overdue", "submitted", D, None, date(2025, 7, 1), "date", "overdue"),
    ("blocked_after_deadline_is_overdue", "blocked", D, None, date(2025, 7, 2), "date", "overdue"),
    ("completed_on_deadline_day_is_on_time", "completed", D, at("2025-06-30 23:30"), date(2025, 8, 1), "date", "completed_on_time"),
    ("completed_day_after_is_late", "completed", D, at("2025-07-01 00:10"), date(2025, 8, 1), "date", "completed_late"),
    ("completed_early_is_on_time", "completed", D, at("2025-05-02 10:00"), date(2025, 5, 3), "date", "completed_on_time"),
    ("extended_deadline_counts_for_overdue", "in_progress", date(2025, 9, 30), None, date(2025, 7, 15), "date", "on_track"),
    ("extended_deadline_counts_for_completion", "completed", date(2025, 9, 30), at("2025-08-20 10:00"), date(2025, 9, 1), "date", "completed_on_time"),
    ("ongoing_task_is_never_overdue", "in_progress", None, None, date(2030, 1, 1), "ongoing", "ongoing"),
    ("ongoing_task_with_a_date_is_still_ongoing", "not_started", D, None, date(2026, 1, 1), "ongoing", "ongoing"),
    ("completed_ongoing_task_is_completed", "completed", None, at("2025-05-02 10:00"), date(2025, 6, 1), "ongoing", "completed"),
    ("no_deadline", "not_started", None, None, date(2025, 6, 1), None, "no_deadline"),
    ("completed_without_deadline_is_completed", "completed", None, at("2025-05-02 10:00"), date(2025, 6, 1), None, "completed"),
    ("completed_without_date_is_completed", "completed", D, None, date(2025, 8, 1), "date", "completed"),
    ("cancelled_wins_over_overdue", "cancelled", D, None, date(2025, 12, 1), "date", "cancelled"),
    ("recurring_occurrence_uses_its_own_deadline", "not_started", date(2025, 6, 20), None, date(2025, 6, 21), "recurring", "overdue"),
]


@pytest.mark.parametrize(("status", "deadline", "completed_at", "today", "kind", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify_table(status, deadline, completed_at, today, kind, expected):
    got = classify(status, deadline, completed_at, today, deadline_kind=kind, tz="Asia/Ho_Chi_Minh")
    assert got == expected
    assert got in TIMELINESS_VALUES


def test_due_soon_window_follows_the_setting():
    assert classify("in_progress", D, None, date(2025, 6, 27), due_soon_days=3) == "due_soon"
    assert classify("in_progress", D, None, date(2025, 6, 26), due_soon_days=3) == "on_track"
    assert classify("in_progress", D, None, D, due_soon_days=0) == "due_soon"


def test_completion_uses_the_committee_local_date_not_utc():
    # 30/06 23:30 in Hà Nội is 30/06 16:30 UTC; 01/07 06:30 in Hà Nội is 30/06 23:30 UTC
    assert completion_of(datetime(2025, 6, 30, 16, 30, tzinfo=timezone.utc), D, "Asia/Ho_Chi_Minh") == "on_time"
    assert completion_of(datetime(2025, 6, 30, 23, 30, tzinfo=timezone.utc), D, "Asia/Ho_Chi_Minh") == "late"
    assert completion_of(datetime(2025, 6, 30, 23, 30, tzinfo=timezone.utc), D, "UTC") == "on_time"


def test_completion_without_deadline_is_on_time():
    assert completion_of(at("2030-01-01 10:00"), None) == "on_time"


def test_naive_completion_time_is_refused():
    with pytest.raises(ValueError):
        completion_of(datetime(2025, 6, 30, 10, 0), D)


def test_days_left():
    assert days_left(D, date(2025, 6, 23)) == 7
    assert days_left(D, date(2025, 7, 2)) == -2
    assert days_left(None, D) is None


def test_a_completed_ongoing_task_with_a_deadline_is_completed_not_on_time_or_late():
    # thường xuyên with a date in the plan: completion is never measured against that date
    late_if_measured = at("2025-07-15 10:00")
    assert classify("completed", D, late_if_measured, date(2025, 8, 1), deadline_kind="ongoing") == "completed"
    assert classify("completed", D, at("2025-06-01 10:00"), date(2025, 8, 1), deadline_kind="ongoing") == "completed"


def test_classify_judges_a_completion_on_the_local_date_of_the_given_time_zone():
    # 2025-06-30 20:00 UTC is 03:00 on 1 July in Hanoi but still 30 June in London
    done = datetime(2025, 6, 30, 20, 0, tzinfo=timezone.utc)
    assert classify("completed", D, done, date(2025, 8, 1)) == "completed_late"
    assert classify("completed", D, done, date(2025, 8, 1), tz="Europe/London") == "completed_on_time"
    # and the other way: 1 July 02:00 UTC is still 30 June in New York
    early = datetime(2025, 7, 1, 2, 0, tzinfo=timezone.utc)
    assert classify("completed", D, early, date(2025, 8, 1), tz="America/New_York") == "completed_on_time"
    assert classify("completed", D, early, date(2025, 8, 1)) == "completed_late"

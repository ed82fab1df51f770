"""engine.policy without a database: the policy's parts (levels, windows, quiet hours, delivery),
the file and override readers, and every refusal's message in both languages."""

from __future__ import annotations

import copy
import os
import time as systime
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.policy import (
    DEFAULT_POLICY_FILE,
    Delivery,
    PolicyError,
    QuietHours,
    Repeat,
    calendar_from_settings,
    load_policy,
    merge,
    parse_policy,
    read_policy_file,
    with_override,
)
from engine.workdays import WorkCalendar, default_calendar

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
SAT, SUN, MON = date(2025, 6, 7), date(2025, 6, 8), date(2025, 6, 9)
NEW_YEAR = date(2025, 1, 1)  # a public holiday on a Wednesday

LADDER = [
    {"name": "remind_7", "before_working_days": 7, "to": ["lead_unit"]},
    {"name": "remind_1", "before_working_days": 1, "to": ["lead_unit"]},
    {"name": "overdue", "overdue_working_days": 0, "to": ["lead_unit", "secretariat"]},
    {"name": "vice_chair", "overdue_working_days": 5, "to": ["vice_chair"]},
    {"name": "chair", "overdue_working_days": 10, "to": ["chair"]},
]


def policy(levels: list[dict] | None = None, **top):  # type: ignore[no-untyped-def]
    return parse_policy({"levels": copy.deepcopy(LADDER if levels is None else levels), **top}, source="p.yaml")


def local(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=HCM)


# --- levels and their windows ------------------------------------------------------------------


def test_levels_are_ranked_in_file_order_and_split_into_reminders_and_overdue_levels():
    p = policy()
    assert [(lv.name, lv.rank, lv.kind, lv.working_days, lv.to) for lv in p.levels] == [
        ("remind_7", 1, "before", 7, ("lead_unit",)),
        ("remind_1", 2, "before", 1, ("lead_unit",)),
        ("overdue", 3, "overdue", 0, ("lead_unit", "secretariat")),
        ("vice_chair", 4, "overdue", 5, ("vice_chair",)),
        ("chair", 5, "overdue", 10, ("chair",)),
    ]
    assert [lv.name for lv in p.reminders] == ["remind_7", "remind_1"]
    assert [lv.name for lv in p.overdue_levels] == ["overdue", "vice_chair", "chair"]
    assert p.level("vice_chair") is p.levels[3]
    assert p.level("nobody") is None


def test_rank_of_weekly_is_above_every_level_and_an_unknown_name_ranks_zero():
    p = policy()
    assert p.rank_of("weekly") == 100
    assert p.rank_of("chair") == 5
    assert p.rank_of("remind_7") == 1
    assert p.rank_of("gone") == 0


def test_windows_of_three_reminders_and_three_overdue_levels_tile_the_working_days():
    p = policy([
        {"name": "r10", "before_working_days": 10, "to": ["lead_unit"]},
        {"name": "r5", "before_working_days": 5, "to": ["lead_unit"]},
        {"name": "r1", "before_working_days": 1, "to": ["lead_unit"]},
        {"name": "o0", "overdue_working_days": 0, "to": ["secretariat"]},
        {"name": "o3", "overdue_working_days": 3, "to": ["vice_chair"]},
        {"name": "o8", "overdue_working_days": 8, "to": ["chair"]},
    ])
    assert [(lv.name, low, high) for lv, low, high in p.windows()] == [
        ("r10", 6, 10), ("r5", 2, 5), ("r1", 0, 1), ("o0", 0, 2), ("o3", 3, 7), ("o8", 8, None),
    ]


def test_a_single_reminder_window_reaches_the_deadline_day():
    p = policy([{"name": "r3", "before_working_days": 3, "to": ["lead_unit"]},
                {"name": "late", "overdue_working_days": 2, "to": ["chair"]}])
    assert [(lv.name, low, high) for lv, low, high in p.windows()] == [("r3", 0, 3), ("late", 2, None)]


def test_an_item_without_a_deadline_has_no_level_in_force():
    assert policy().current_level(None, MON, CAL) is None


@pytest.mark.parametrize(("today", "expected"), [
    (date(2025, 5, 30), None),               # 8 working days before: before the first reminder
    (date(2025, 6, 2), "remind_7"),          # 7 working days left
    (date(2025, 6, 6), "remind_7"),          # 3 left
    (date(2025, 6, 10), "remind_1"),         # 1 left
    (date(2025, 6, 11), "remind_1"),         # the deadline day itself
    (date(2025, 6, 12), "overdue"),          # 1 working day late
    (date(2025, 6, 17), "overdue"),          # 4 late
    (date(2025, 6, 18), "vice_chair"),       # 5 late
    (date(2025, 6, 24), "vice_chair"),       # 9 late
    (date(2025, 6, 25), "chair"),            # 10 late
    (date(2026, 6, 25), "chair"),            # a year late: the last level has no upper bound
])
def test_the_level_in_force_follows_working_days_left_or_overdue(today, expected):
    deadline = date(2025, 6, 11)  # a Wednesday
    lv = policy().current_level(deadline, today, CAL)
    assert (lv.name if lv else None) == expected


def test_a_weekend_after_the_deadline_is_overdue_at_the_first_level():
    # Saturday after a Friday deadline: 0 working days late, but late
    lv = policy().current_level(date(2025, 6, 6), SAT, CAL)
    assert lv is not None and lv.name == "overdue"


def test_without_overdue_levels_an_overdue_item_has_no_level_and_without_reminders_an_open_one_neither():
    only_reminders = policy([{"name": "r2", "before_working_days": 2, "to": ["lead_unit"]}])
    assert only_reminders.current_level(date(2025, 6, 11), date(2025, 6, 20), CAL) is None
    assert only_reminders.current_level(date(2025, 6, 11), date(2025, 6, 10), CAL).name == "r2"  # type: ignore[union-attr]
    only_overdue = policy([{"name": "late", "overdue_working_days": 2, "to": ["chair"]}])
    assert only_overdue.current_level(date(2025, 6, 11), date(2025, 6, 10), CAL) is None
    assert only_overdue.current_level(date(2025, 6, 11), date(2025, 6, 12), CAL) is None  # 1 late < 2
    assert only_overdue.current_level(date(2025, 6, 11), date(2025, 6, 13), CAL).name == "late"  # type: ignore[union-attr]


def test_the_level_in_force_counts_the_committees_extra_holidays():
    cal = WorkCalendar(extra_holidays=[date(2025, 6, 12), date(2025, 6, 13)])
    # 18 June is 5 working days late on the plain calendar, 3 with two extra days off
    assert policy().current_level(date(2025, 6, 11), date(2025, 6, 18), CAL).name == "vice_chair"  # type: ignore[union-attr]
    assert policy().current_level(date(2025, 6, 11), date(2025, 6, 18), cal).name == "overdue"  # type: ignore[union-attr]


# --- quiet hours --------------------------------------------------------------------------------


def test_quiet_weekends_cover_saturday_and_sunday_but_not_a_weekday_holiday():
    q = QuietHours(weekends=True)
    assert q.quiet(local(SAT, 10), CAL) and q.quiet(local(SUN, 10), CAL)
    assert not q.quiet(local(NEW_YEAR, 10), CAL)
    assert not q.quiet(local(MON, 10), CAL)


def test_quiet_holidays_cover_a_weekday_holiday_but_not_the_weekend():
    q = QuietHours(holidays=True)
    assert q.quiet(local(NEW_YEAR, 10), CAL)
    assert not q.quiet(local(SAT, 10), CAL) and not q.quiet(local(SUN, 10), CAL)
    assert not q.quiet(local(MON, 10), CAL)


def test_a_weekend_day_worked_in_exchange_is_not_quiet():
    cal = WorkCalendar(extra_workdays=[SAT])
    assert not QuietHours(weekends=True, holidays=True).quiet(local(SAT, 10), cal)
    assert QuietHours(weekends=True, holidays=True).quiet(local(SUN, 10), cal)


def test_quiet_hours_within_a_day_include_the_start_and_exclude_the_end():
    q = QuietHours(start=time(12, 0), end=time(13, 30))
    assert [q.quiet(local(MON, h, m), CAL) for h, m in [(11, 59), (12, 0), (13, 29), (13, 30), (22, 0)]] == \
        [False, True, True, False, False]


def test_quiet_hours_across_midnight_cover_the_evening_and_the_early_morning():
    q = QuietHours(start=time(21, 0), end=time(7, 0))
    assert [q.quiet(local(MON, h, m), CAL) for h, m in [(20, 59), (21, 0), (23, 59), (0, 0), (6, 59), (7, 0), (12, 0)]] == \
        [False, True, True, True, True, False, False]


def test_no_hours_or_equal_start_and_end_are_never_quiet_on_a_working_day():
    assert not QuietHours().quiet(local(MON, 3), CAL)
    assert not QuietHours(start=time(9, 0), end=time(9, 0)).quiet(local(MON, 9), CAL)
    assert not QuietHours(start=time(9, 0)).quiet(local(MON, 10), CAL)
    assert not QuietHours(end=time(9, 0)).quiet(local(MON, 3), CAL)


def test_next_allowed_is_the_moment_itself_in_utc_when_sending_is_allowed():
    moment = local(MON, 10)
    got = QuietHours(start=time(21, 0), end=time(7, 0)).next_allowed(moment, "Asia/Ho_Chi_Minh", CAL)
    assert got == moment and got.tzinfo == timezone.utc


def test_next_allowed_in_the_evening_is_the_end_of_the_quiet_hours_next_morning():
    q = QuietHours(start=time(21, 0), end=time(7, 0))
    assert q.next_allowed(local(MON, 22, 15), "Asia/Ho_Chi_Minh", CAL) == local(MON + timedelta(days=1), 7)
    assert q.next_allowed(local(MON, 5, 0), "Asia/Ho_Chi_Minh", CAL) == local(MON, 7)


def test_next_allowed_on_a_quiet_weekend_is_monday_midnight():
    q = QuietHours(weekends=True)
    assert q.next_allowed(local(SAT, 10), "Asia/Ho_Chi_Minh", CAL) == local(MON, 0)
    assert q.next_allowed(local(SUN, 23, 59), "Asia/Ho_Chi_Minh", CAL) == local(MON, 0)


def test_next_allowed_after_a_friday_evening_with_quiet_weekends_is_monday_at_the_end_of_the_hours():
    q = QuietHours(start=time(21, 0), end=time(7, 0), weekends=True)
    assert q.next_allowed(local(date(2025, 6, 6), 22), "Asia/Ho_Chi_Minh", CAL) == local(MON, 7)


def test_next_allowed_within_a_midday_pause_is_its_end_the_same_day():
    q = QuietHours(start=time(12, 0), end=time(13, 30))
    assert q.next_allowed(local(MON, 12, 10), "Asia/Ho_Chi_Minh", CAL) == local(MON, 13, 30)


def test_next_allowed_reads_the_hours_in_the_committees_time_zone():
    q = QuietHours(start=time(21, 0), end=time(7, 0))
    # 15:30 UTC is 22:30 in Hanoi (quiet) but 16:30 in London (allowed)
    moment = datetime(2025, 6, 9, 15, 30, tzinfo=timezone.utc)
    assert q.next_allowed(moment, "Europe/London", CAL) == moment
    assert q.next_allowed(moment, "Asia/Ho_Chi_Minh", CAL) == local(date(2025, 6, 10), 7)


# --- delivery -----------------------------------------------------------------------------------


def test_backoff_doubles_from_the_first_failure_and_is_capped():
    d = Delivery(backoff_seconds=60, backoff_max_seconds=3600)
    assert [d.backoff(n).total_seconds() for n in (0, 1, 2, 3, 6, 7, 20)] == [60, 60, 120, 240, 1920, 3600, 3600]


def test_delivery_defaults_and_overrides():
    assert policy().delivery == Delivery(max_attempts=5, backoff_seconds=60, backoff_max_seconds=3600,
                                         lease_seconds=300, batch_size=500, timeout_seconds=15)
    p = policy(delivery={"max_attempts": 2, "lease_seconds": 30, "batch_size": 1})
    assert (p.delivery.max_attempts, p.delivery.lease_seconds, p.delivery.batch_size, p.delivery.timeout_seconds) == \
        (2, 30, 1, 15)


# --- parsing: what a valid file gives -----------------------------------------------------------


def test_repeats_default_to_the_committee_ladder():
    p = policy()
    assert p.weekly == Repeat(working_days=10, to=("lead_unit", "vice_chair", "secretariat"), enabled=True)
    assert p.extension_pending == Repeat(working_days=2, to=("approver",), enabled=True)
    assert p.verification_pending == Repeat(working_days=2, to=("secretariat",), enabled=True)


def test_weekly_defaults_to_the_last_overdue_level_and_to_zero_without_one():
    p = policy([{"name": "late", "overdue_working_days": 3, "to": ["chair"]},
                {"name": "later", "overdue_working_days": 6, "to": ["chair"]}])
    assert p.weekly.working_days == 6
    assert policy([{"name": "r1", "before_working_days": 1, "to": ["lead_unit"]}]).weekly.working_days == 0


def test_repeats_can_be_switched_off_or_changed():
    p = policy(weekly=False, extension_pending={"after_working_days": 4, "to": "vice_chair"},
               verification_pending={"enabled": False})
    assert p.weekly.enabled is False and p.weekly.working_days == 10
    assert p.extension_pending == Repeat(working_days=4, to=("vice_chair",), enabled=True)
    assert p.verification_pending == Repeat(working_days=2, to=("secretariat",), enabled=False)


def test_recipients_keep_their_order_without_repeats():
    p = policy([{"name": "a", "overdue_working_days": 0, "to": ["chair", "lead_unit", "chair"]}])
    assert p.levels[0].to == ("chair", "lead_unit")


def test_quiet_hours_read_hh_mm_including_minutes_and_yaml_sexagesimal_numbers():
    p = policy(quiet_hours={"start": "21:30", "end": " 6:05 ", "weekends": True})
    assert p.quiet_hours == QuietHours(start=time(21, 30), end=time(6, 5), weekends=True, holidays=False)
    # YAML 1.1 reads an unquoted 21:30 as 1290
    p = policy(quiet_hours={"start": 1290, "end": 425, "holidays": True})
    assert p.quiet_hours == QuietHours(start=time(21, 30), end=time(7, 5), weekends=False, holidays=True)
    assert policy(quiet_hours={"start": "", "end": None}).quiet_hours == QuietHours()
    assert policy(quiet_hours={"start": "23:59", "end": "00:00"}).quiet_hours.start == time(23, 59)


def test_language_and_base_url():
    p = policy(language="en", base_url="https://steer.example.vn/")
    assert (p.language, p.base_url, p.source) == ("en", "https://steer.example.vn", "p.yaml")
    p = policy(language="", base_url="")
    assert (p.language, p.base_url) == (None, None)
    assert policy(base_url="http://x").base_url == "http://x"


def test_the_raw_mapping_is_kept_for_overrides():
    data = {"levels": copy.deepcopy(LADDER), "weekly": False}
    assert parse_policy(data).raw == data


# --- parsing: refusals, by content in both languages --------------------------------------------

ROLES = "lead_unit, secretariat, vice_chair, chair"
APPROVERS = "approver, vice_chair, secretariat, chair"
ONE_LEVEL = [{"name": "a", "before_working_days": 1, "to": ["lead_unit"]}]

# (id, policy data, field (vi, en) or one for both, detail in Vietnamese, detail in English)
REFUSALS = [
    ("unknown_top_key", {"levels": ONE_LEVEL, "zzz": 1, "aaa": 2}, ("cấp cao nhất", "top level"),
     "khóa không hợp lệ: aaa, zzz (dùng: base_url, delivery, digest, extension_pending, language, levels, quiet_hours, "
     "report_missing, verification_pending, weekly)",
     "unknown key(s): aaa, zzz (use: base_url, delivery, digest, extension_pending, language, levels, quiet_hours, "
     "report_missing, verification_pending, weekly)"),
    ("language", {"levels": ONE_LEVEL, "language": "fr"}, "language",
     "«fr» không hợp lệ (vi hoặc en)", "«fr» is not vi or en"),
    ("base_url", {"levels": ONE_LEVEL, "base_url": "ftp://x"}, "base_url",
     "«ftp://x» phải là địa chỉ http(s)://…", "«ftp://x» must be an http(s)://… address"),
    ("base_url_with_space", {"levels": ONE_LEVEL, "base_url": "http://a b"}, "base_url",
     "«http://a b» phải là địa chỉ http(s)://…", "«http://a b» must be an http(s)://… address"),
    ("no_levels", {"weekly": False}, "levels",
     "phải là danh sách các mức nhắc/cảnh báo (ít nhất một mức)", "must be a non-empty list of levels"),
    ("empty_levels", {"levels": []}, "levels",
     "phải là danh sách các mức nhắc/cảnh báo (ít nhất một mức)", "must be a non-empty list of levels"),
    ("level_not_a_mapping", {"levels": ["a"]}, "levels[1]", "phải là một bảng (mapping)", "must be a mapping"),
    ("level_unknown_key", {"levels": [{**ONE_LEVEL[0], "when": 1}]}, "levels[1]",
     "khóa không hợp lệ: when (dùng: before_working_days, name, overdue_working_days, to)",
     "unknown key(s): when (use: before_working_days, name, overdue_working_days, to)"),
    ("level_name", {"levels": [{**ONE_LEVEL[0], "name": "Bad"}]}, "levels[1].name",
     "tên mức «Bad» không hợp lệ (chữ thường, số, dấu _; khác «weekly»)",
     "invalid level name «Bad» (lower case letters, digits, _; not «weekly»)"),
    ("level_named_weekly", {"levels": [{**ONE_LEVEL[0], "name": "weekly"}]}, "levels[1].name",
     "tên mức «weekly» không hợp lệ (chữ thường, số, dấu _; khác «weekly»)",
     "invalid level name «weekly» (lower case letters, digits, _; not «weekly»)"),
    ("level_without_name", {"levels": [{"before_working_days": 1, "to": ["chair"]}]}, "levels[1].name",
     "tên mức «» không hợp lệ (chữ thường, số, dấu _; khác «weekly»)",
     "invalid level name «» (lower case letters, digits, _; not «weekly»)"),
    ("duplicate_level", {"levels": [ONE_LEVEL[0], {"name": "a", "overdue_working_days": 0, "to": ["chair"]}]},
     "levels[2].name", "tên mức «a» bị trùng", "duplicate level name «a»"),
    ("both_kinds", {"levels": [{**ONE_LEVEL[0], "overdue_working_days": 1}]}, "levels[1] (a)",
     "cần đúng một trong hai khóa before_working_days hoặc overdue_working_days",
     "needs exactly one of before_working_days or overdue_working_days"),
    ("neither_kind", {"levels": [{"name": "a", "to": ["chair"]}]}, "levels[1] (a)",
     "cần đúng một trong hai khóa before_working_days hoặc overdue_working_days",
     "needs exactly one of before_working_days or overdue_working_days"),
    ("negative_days", {"levels": [{**ONE_LEVEL[0], "before_working_days": -1}]}, "levels[1] (a).before_working_days",
     "phải là số nguyên ≥ 0 (nhận được «-1»)", "must be an integer ≥ 0 (got «-1»)"),
    ("boolean_days", {"levels": [{"name": "a", "overdue_working_days": True, "to": ["chair"]}]},
     "levels[1] (a).overdue_working_days",
     "phải là số nguyên ≥ 0 (nhận được «True»)", "must be an integer ≥ 0 (got «True»)"),
    ("unknown_recipient", {"levels": [{**ONE_LEVEL[0], "to": ["chair", "boss"]}]}, "levels[1] (a).to",
     f"người nhận «boss» không hợp lệ; chọn trong: {ROLES}", f"unknown recipient «boss»; use: {ROLES}"),
    ("no_recipients", {"levels": [{**ONE_LEVEL[0], "to": []}]}, "levels[1] (a).to",
     f"phải là danh sách người nhận, chọn trong: {ROLES}", f"must be a list of recipients, from: {ROLES}"),
    ("recipients_not_a_list", {"levels": [{"name": "a", "before_working_days": 1}]}, "levels[1] (a).to",
     f"phải là danh sách người nhận, chọn trong: {ROLES}", f"must be a list of recipients, from: {ROLES}"),
    ("weekly_days", {"levels": ONE_LEVEL, "weekly": {"overdue_working_days": "x"}}, "weekly.overdue_working_days",
     "phải là số nguyên ≥ 0 (nhận được «x»)", "must be an integer ≥ 0 (got «x»)"),
    ("weekly_to", {"levels": ONE_LEVEL, "weekly": {"to": ["approver"]}}, "weekly.to",
     f"người nhận «approver» không hợp lệ; chọn trong: {ROLES}", f"unknown recipient «approver»; use: {ROLES}"),
    ("weekly_enabled", {"levels": ONE_LEVEL, "weekly": {"enabled": "yes"}}, "weekly.enabled",
     "phải là true hoặc false (nhận được «yes»)", "must be true or false (got «yes»)"),
    ("weekly_key", {"levels": ONE_LEVEL, "weekly": {"after_working_days": 1}}, "weekly",
     "khóa không hợp lệ: after_working_days (dùng: enabled, overdue_working_days, to)",
     "unknown key(s): after_working_days (use: enabled, overdue_working_days, to)"),
    ("weekly_not_a_mapping", {"levels": ONE_LEVEL, "weekly": "often"}, "weekly",
     "phải là một bảng (mapping)", "must be a mapping"),
    ("extension_to", {"levels": ONE_LEVEL, "extension_pending": {"to": ["lead_unit"]}}, "extension_pending.to",
     f"người nhận «lead_unit» không hợp lệ; chọn trong: {APPROVERS}", f"unknown recipient «lead_unit»; use: {APPROVERS}"),
    ("extension_days", {"levels": ONE_LEVEL, "extension_pending": {"after_working_days": -2}},
     "extension_pending.after_working_days",
     "phải là số nguyên ≥ 0 (nhận được «-2»)", "must be an integer ≥ 0 (got «-2»)"),
    ("extension_enabled", {"levels": ONE_LEVEL, "extension_pending": {"enabled": 0}}, "extension_pending.enabled",
     "phải là true hoặc false (nhận được «0»)", "must be true or false (got «0»)"),
    ("verification_key", {"levels": ONE_LEVEL, "verification_pending": {"overdue_working_days": 1}},
     "verification_pending",
     "khóa không hợp lệ: overdue_working_days (dùng: after_working_days, enabled, to)",
     "unknown key(s): overdue_working_days (use: after_working_days, enabled, to)"),
    ("verification_to", {"levels": ONE_LEVEL, "verification_pending": {"to": "approver"}}, "verification_pending.to",
     f"người nhận «approver» không hợp lệ; chọn trong: {ROLES}", f"unknown recipient «approver»; use: {ROLES}"),
    ("quiet_start", {"levels": ONE_LEVEL, "quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours.start",
     "giờ «24:00» không hợp lệ; viết HH:MM, ví dụ \"21:00\"", "invalid time «24:00»; write HH:MM, e.g. \"21:00\""),
    ("quiet_start_sexagesimal", {"levels": ONE_LEVEL, "quiet_hours": {"start": 1500, "end": "07:00"}},
     "quiet_hours.start",
     "giờ «25:00» không hợp lệ; viết HH:MM, ví dụ \"21:00\"", "invalid time «25:00»; write HH:MM, e.g. \"21:00\""),
    ("quiet_end_minutes", {"levels": ONE_LEVEL, "quiet_hours": {"start": "21:00", "end": "07:60"}}, "quiet_hours.end",
     "giờ «07:60» không hợp lệ; viết HH:MM, ví dụ \"21:00\"", "invalid time «07:60»; write HH:MM, e.g. \"21:00\""),
    ("quiet_end_words", {"levels": ONE_LEVEL, "quiet_hours": {"start": "21:00", "end": "7h"}}, "quiet_hours.end",
     "giờ «7h» không hợp lệ; viết HH:MM, ví dụ \"21:00\"", "invalid time «7h»; write HH:MM, e.g. \"21:00\""),
    ("quiet_one_end", {"levels": ONE_LEVEL, "quiet_hours": {"start": "21:00"}}, "quiet_hours",
     "cần cả start và end (ví dụ \"21:00\" và \"07:00\")", "needs both start and end (e.g. \"21:00\" and \"07:00\")"),
    ("quiet_other_end", {"levels": ONE_LEVEL, "quiet_hours": {"end": "07:00"}}, "quiet_hours",
     "cần cả start và end (ví dụ \"21:00\" và \"07:00\")", "needs both start and end (e.g. \"21:00\" and \"07:00\")"),
    ("quiet_weekends", {"levels": ONE_LEVEL, "quiet_hours": {"weekends": "yes"}}, "quiet_hours.weekends",
     "phải là true hoặc false (nhận được «yes»)", "must be true or false (got «yes»)"),
    ("quiet_holidays", {"levels": ONE_LEVEL, "quiet_hours": {"holidays": 1}}, "quiet_hours.holidays",
     "phải là true hoặc false (nhận được «1»)", "must be true or false (got «1»)"),
    ("quiet_key", {"levels": ONE_LEVEL, "quiet_hours": {"from": "21:00"}}, "quiet_hours",
     "khóa không hợp lệ: from (dùng: end, holidays, start, weekends)",
     "unknown key(s): from (use: end, holidays, start, weekends)"),
    ("delivery_minimum", {"levels": ONE_LEVEL, "delivery": {"max_attempts": 0}}, "delivery.max_attempts",
     "phải là số nguyên ≥ 1 (nhận được «0»)", "must be an integer ≥ 1 (got «0»)"),
    ("delivery_key", {"levels": ONE_LEVEL, "delivery": {"retries": 3}}, "delivery",
     "khóa không hợp lệ: retries (dùng: backoff_max_seconds, backoff_seconds, batch_size, lease_seconds, "
     "max_attempts, timeout_seconds)",
     "unknown key(s): retries (use: backoff_max_seconds, backoff_seconds, batch_size, lease_seconds, "
     "max_attempts, timeout_seconds)"),
]


@pytest.mark.parametrize(("data", "field", "vi", "en"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_bad_policy_is_refused_naming_the_file_the_key_and_the_problem(data, field, vi, en):
    vi_field, en_field = field if isinstance(field, tuple) else (field, field)
    for lang, expected in (("vi", f"Chính sách nhắc việc «p.yaml», mục {vi_field}: {vi}"),
                           ("en", f"Escalation policy «p.yaml», key {en_field}: {en}")):
        with pytest.raises(PolicyError) as exc:
            parse_policy(copy.deepcopy(data), source="p.yaml", lang=lang)
        assert str(exc.value) == expected


LEVEL_ORDER = "các mức phải theo thứ tự tăng dần mức độ: nhắc trước hạn (số ngày giảm dần), rồi quá hạn (số ngày tăng dần), không trùng số ngày"
LEVEL_ORDER_EN = ("levels must go from mild to severe: reminders (days decreasing), then overdue levels "
                  "(days increasing), without repeating a number of days")


@pytest.mark.parametrize("levels", [
    [("o", "overdue_working_days", 0), ("r", "before_working_days", 3)],     # overdue before a reminder
    [("r1", "before_working_days", 1), ("r3", "before_working_days", 3)],   # reminders growing
    [("r3", "before_working_days", 3), ("r3b", "before_working_days", 3)],  # the same number twice
    [("o5", "overdue_working_days", 5), ("o2", "overdue_working_days", 2)],  # overdue shrinking
    [("o2", "overdue_working_days", 2), ("o2b", "overdue_working_days", 2)],
    [("r3", "before_working_days", 3), ("o1", "overdue_working_days", 1), ("r1", "before_working_days", 1)],
], ids=["overdue_first", "reminders_up", "reminders_equal", "overdue_down", "overdue_equal", "interleaved"])
def test_levels_out_of_order_are_refused(levels):
    data = {"levels": [{"name": n, key: d, "to": ["chair"]} for n, key, d in levels]}
    for lang, expected in (("vi", f"Chính sách nhắc việc «p.yaml», mục levels: {LEVEL_ORDER}"),
                           ("en", f"Escalation policy «p.yaml», key levels: {LEVEL_ORDER_EN}")):
        with pytest.raises(PolicyError) as exc:
            parse_policy(data, source="p.yaml", lang=lang)
        assert str(exc.value) == expected


def test_levels_in_order_are_accepted_across_the_reminder_overdue_boundary():
    # a reminder at 0 days followed by an overdue level at 0 days is fine (different measures)
    p = policy([{"name": "r0", "before_working_days": 0, "to": ["chair"]},
                {"name": "o0", "overdue_working_days": 0, "to": ["chair"]}])
    assert [lv.name for lv in p.levels] == ["r0", "o0"]


def test_a_policy_that_is_not_a_mapping_is_refused_in_both_languages():
    with pytest.raises(PolicyError) as exc:
        parse_policy(["levels"], source="p.yaml")
    assert str(exc.value) == "Chính sách nhắc việc «p.yaml» phải là một bảng YAML (levels, weekly, ...)."
    with pytest.raises(PolicyError) as exc:
        parse_policy(None, source="p.yaml", lang="en")
    assert str(exc.value) == "Escalation policy «p.yaml» must be a YAML mapping (levels, weekly, ...)."


def test_the_default_source_name_is_policy_in_angle_brackets():
    with pytest.raises(PolicyError) as exc:
        parse_policy({"levels": []}, lang="en")
    assert str(exc.value).startswith("Escalation policy «<policy>», key levels: ")


# --- files, overrides and the committee calendar ------------------------------------------------


def test_a_missing_policy_file_is_named_in_both_languages(tmp_path):
    path = tmp_path / "none.yaml"
    with pytest.raises(PolicyError) as exc:
        read_policy_file(path)
    assert str(exc.value) == f"Không đọc được tệp chính sách nhắc việc «{path}»: No such file or directory."
    with pytest.raises(PolicyError) as exc:
        load_policy(path, lang="en")
    assert str(exc.value) == f"Cannot read the escalation policy «{path}»: No such file or directory."


def test_a_yaml_syntax_error_names_the_line_and_column_in_both_languages(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("levels:\n  - name: a\n    to: [chair\n", encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        read_policy_file(path)
    vi = str(exc.value)
    assert vi.startswith(f"Tệp chính sách nhắc việc «{path}» có lỗi cú pháp YAML (dòng 4, cột 1): ")
    assert vi.endswith(".") and "expected ',' or ']'" in vi
    with pytest.raises(PolicyError) as exc:
        read_policy_file(path, lang="en")
    assert str(exc.value).startswith(f"The escalation policy «{path}» is not valid YAML (line 4, column 1): expected ")


def test_an_empty_policy_file_reads_as_an_empty_mapping_and_a_list_is_refused(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert read_policy_file(empty) == {}
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        read_policy_file(listed)
    assert str(exc.value) == f"Tệp chính sách nhắc việc «{listed}» phải là một bảng YAML."
    with pytest.raises(PolicyError) as exc:
        read_policy_file(listed, lang="en")
    assert str(exc.value) == f"The escalation policy «{listed}» must be a YAML mapping."


def test_a_policy_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufefflanguage: en\n".encode())
    assert read_policy_file(path) == {"language": "en"}


def test_the_default_policy_file_is_the_committee_ladder():
    p = load_policy()
    assert p.source == str(DEFAULT_POLICY_FILE)
    assert [lv.name for lv in p.levels] == ["remind_7", "remind_1", "overdue", "vice_chair", "chair"]
    assert p.quiet_hours == QuietHours(start=time(21, 0), end=time(7, 0), weekends=True, holidays=True)


def test_load_policy_parses_in_the_callers_language(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("levels: []\n", encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policy(path, lang="en")
    assert str(exc.value) == f"Escalation policy «{path}», key levels: must be a non-empty list of levels"
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    assert str(exc.value) == f"Chính sách nhắc việc «{path}», mục levels: phải là danh sách các mức nhắc/cảnh báo (ít nhất một mức)"


def test_load_policy_reuses_an_unchanged_file_and_reads_a_changed_one(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("levels:\n  - {name: a, before_working_days: 1, to: [chair]}\n", encoding="utf-8")
    first = load_policy(path)
    assert load_policy(path) is first
    path.write_text("levels:\n  - {name: bb, before_working_days: 2, to: [chair]}\n", encoding="utf-8")
    second = load_policy(path)
    assert [lv.name for lv in second.levels] == ["bb"]
    assert load_policy(path) is second


def test_merge_replaces_lists_whole_and_merges_sections_by_key():
    base = {"levels": [1, 2], "weekly": {"to": ["chair"], "overdue_working_days": 10}, "language": "vi"}
    out = merge(base, {"levels": [3], "weekly": {"overdue_working_days": 5}, "base_url": "http://x"})
    assert out == {"levels": [3], "weekly": {"to": ["chair"], "overdue_working_days": 5}, "language": "vi",
                   "base_url": "http://x"}
    assert base["weekly"] == {"to": ["chair"], "overdue_working_days": 10}  # the base is not changed
    assert merge({"weekly": False}, {"weekly": {"to": ["chair"]}}) == {"weekly": {"to": ["chair"]}}
    assert merge({"weekly": {"to": ["chair"]}}, {"weekly": False}) == {"weekly": False}


def test_an_override_changes_only_what_it_names_and_is_validated_as_a_whole():
    base = policy()
    assert with_override(base, None, source="plan X") is base
    assert with_override(base, {}, source="plan X") is base
    p = with_override(base, {"weekly": {"overdue_working_days": 3}}, source="plan X")
    assert p.weekly.working_days == 3 and p.weekly.to == base.weekly.to and p.levels == base.levels
    assert p.source == "plan X"
    with pytest.raises(PolicyError) as exc:
        with_override(base, {"weekly": {"to": ["boss"]}}, source="plan X", lang="en")
    assert str(exc.value) == f"Escalation policy «plan X», key weekly.to: unknown recipient «boss»; use: {ROLES}"


def test_an_override_that_is_not_a_mapping_is_refused_in_both_languages():
    with pytest.raises(PolicyError) as exc:
        with_override(policy(), ["x"], source="plan X")
    assert str(exc.value) == "plan X: phần ghi đè chính sách nhắc việc phải là một bảng."
    with pytest.raises(PolicyError) as exc:
        with_override(policy(), "x", source="plan X", lang="en")
    assert str(exc.value) == "plan X: an escalation policy override must be a mapping."


def test_the_committee_calendar_takes_its_extra_holidays_and_workdays_from_the_settings():
    cal = calendar_from_settings({"extra_holidays": ["2025-06-10"], "extra_workdays": [date(2025, 6, 7)]})
    assert not cal.is_working_day(date(2025, 6, 10))
    assert cal.is_working_day(SAT)
    assert cal.is_working_day(date(2025, 6, 11)) and not cal.is_working_day(SUN)
    only_holidays = calendar_from_settings({"extra_holidays": ["2025-06-10"]})
    assert not only_holidays.is_working_day(date(2025, 6, 10)) and not only_holidays.is_working_day(SAT)
    only_workdays = calendar_from_settings({"extra_workdays": ["2025-06-07"], "extra_holidays": None})
    assert only_workdays.is_working_day(SAT) and only_workdays.is_working_day(date(2025, 6, 10))


def test_without_extra_days_the_committee_uses_the_shared_calendar():
    assert calendar_from_settings({}) is default_calendar()
    assert calendar_from_settings({"extra_holidays": [], "extra_workdays": None, "other": 1}) is default_calendar()


def test_a_bad_date_in_the_settings_is_refused_in_both_languages():
    with pytest.raises(PolicyError) as exc:
        calendar_from_settings({"extra_workdays": ["2025-06-07", "7/6/2025"]})
    assert str(exc.value) == "Thiết lập của Ban Chỉ đạo, mục settings.extra_workdays: ngày «7/6/2025» không hợp lệ (YYYY-MM-DD)."
    with pytest.raises(PolicyError) as exc:
        calendar_from_settings({"extra_holidays": ["soon"]}, lang="en")
    assert str(exc.value) == "Committee settings, key settings.extra_holidays: invalid date «soon» (YYYY-MM-DD)."


def test_a_day_both_off_and_worked_is_refused():
    with pytest.raises(PolicyError) as exc:
        calendar_from_settings({"extra_holidays": ["2025-06-07"], "extra_workdays": ["2025-06-07"]})
    assert str(exc.value) == "Ngày vừa là ngày nghỉ bổ sung vừa là ngày làm việc bù: 07/06/2025"


def test_vietnamese_is_an_accepted_committee_language():
    assert policy(language="vi").language == "vi"


def test_a_trailing_slash_is_all_that_is_cut_from_the_base_url():
    assert policy(base_url="http://host/PX/").base_url == "http://host/PX"


def test_two_unknown_keys_in_a_section_are_listed_together():
    with pytest.raises(PolicyError) as exc:
        parse_policy({"levels": ONE_LEVEL, "quiet_hours": {"from": 1, "until": 2}}, source="p.yaml", lang="en")
    assert str(exc.value) == ("Escalation policy «p.yaml», key quiet_hours: unknown key(s): from, until "
                              "(use: end, holidays, start, weekends)")


def test_without_reminders_the_deadline_day_itself_is_not_overdue():
    only_overdue = policy([{"name": "late", "overdue_working_days": 0, "to": ["chair"]}])
    assert only_overdue.current_level(date(2025, 6, 11), date(2025, 6, 11), CAL) is None
    assert only_overdue.current_level(date(2025, 6, 11), date(2025, 6, 12), CAL).name == "late"  # type: ignore[union-attr]


def test_next_allowed_is_in_utc_whatever_the_machines_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    systime.tzset()
    try:
        got = QuietHours(start=time(21, 0), end=time(7, 0)).next_allowed(local(MON, 10), "Asia/Ho_Chi_Minh", CAL)
        assert got.utcoffset() == timedelta(0)
    finally:
        monkeypatch.undo()
        systime.tzset()


def test_two_policy_files_with_the_same_size_and_time_are_not_confused(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("levels:\n  - {name: aa, before_working_days: 1, to: [chair]}\n", encoding="utf-8")
    b.write_text("levels:\n  - {name: bb, before_working_days: 1, to: [chair]}\n", encoding="utf-8")
    os.utime(a, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    os.utime(b, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert [lv.name for lv in load_policy(a).levels] == ["aa"]
    assert [lv.name for lv in load_policy(b).levels] == ["bb"]


def test_an_unreadable_character_in_a_policy_file_is_reported_without_a_position(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("levels: \x07\n", encoding="utf-8")
    for lang, head in (("vi", f"Tệp chính sách nhắc việc «{path}» có lỗi cú pháp YAML: "),
                       ("en", f"The escalation policy «{path}» is not valid YAML: ")):
        with pytest.raises(PolicyError) as exc:
            read_policy_file(path, lang=lang)
        assert str(exc.value).startswith(head + "unacceptable character #x0007")


def test_digest_settings_default_and_refuse_an_address_as_sender():
    p = policy()
    assert (p.digest_max_items, p.sender) == (20, None)
    q = parse_policy({**load_policy().raw, "digest": {"max_items": 10, "sender": "  Văn phòng BCĐ   tỉnh Lâm Sơn "}})
    assert (q.digest_max_items, q.sender) == (10, "Văn phòng BCĐ tỉnh Lâm Sơn")
    with pytest.raises(PolicyError, match=r"digest\.sender"):
        parse_policy({**load_policy().raw, "digest": {"sender": "BCĐ <bcd@lamson.example>"}})
    with pytest.raises(PolicyError, match=r"digest\.max_items"):
        parse_policy({**load_policy().raw, "digest": {"max_items": 0}})

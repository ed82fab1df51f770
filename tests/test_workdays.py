"""Vietnamese working-day calendar (engine.workdays)."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import workdays
from engine.workdays import WorkCalendar, default_calendar

CAL = WorkCalendar()

# Days off in 2025 as decided for civil servants (and as the holidays package gives them):
# Tết Ất Tỵ 27/1-1/2 (Mon 27/1 compensates Mùng bốn falling on Saturday 1/2),
# Giỗ Tổ Hùng Vương 7/4, 30/4, 1/5 plus Friday 2/5 (swapped with Saturday 26/4),
# Quốc khánh 1/9 and 2/9.
DAYS_OFF_2025 = {
    date(2025, 1, 1),
    date(2025, 1, 27),
    date(2025, 1, 28),
    date(2025, 1, 29),
    date(2025, 1, 30),
    date(2025, 1, 31),
    date(2025, 2, 1),
    date(2025, 4, 7),
    date(2025, 4, 30),
    date(2025, 5, 1),
    date(2025, 5, 2),
    date(2025, 9, 1),
    date(2025, 9, 2),
}


def test_holidays_in_2025_are_the_official_days_off() -> None:
    assert set(CAL.holidays_in(2025)) == DAYS_OFF_2025


def test_holiday_names_are_vietnamese() -> None:
    names = CAL.holidays_in(2025)
    assert names[date(2025, 1, 29)] == "Tết Nguyên Đán"
    assert names[date(2025, 4, 7)] == "Ngày Giỗ Tổ Hùng Vương"
    assert names[date(2025, 9, 2)] == "Quốc khánh"


def test_holidays_in_returns_a_copy_sorted_by_date() -> None:
    first = CAL.holidays_in(2025)
    assert list(first) == sorted(first)
    first.clear()
    assert CAL.holidays_in(2025)  # the cache was not mutated


@pytest.mark.parametrize(
    "day",
    sorted(d for d in DAYS_OFF_2025 if d.weekday() < 5),
    ids=lambda d: d.isoformat(),
)
def test_weekday_public_holidays_are_not_working_days(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 1, 24), True),  # Friday before Tết
        (date(2025, 1, 25), False),  # Saturday
        (date(2025, 1, 26), False),  # Sunday
        (date(2025, 2, 3), True),  # Monday after Tết
        (date(2025, 4, 8), True),  # day after Giỗ Tổ
        (date(2025, 4, 26), True),  # Saturday worked in exchange for Friday 2/5
        (date(2025, 8, 29), True),
        (date(2025, 9, 3), True),
        (date(2024, 5, 4), True),  # Saturday worked in exchange for Monday 29/4/2024
        (date(2024, 4, 29), False),
        (date(2026, 4, 27), False),  # Giỗ Tổ 2026 falls on Sunday 26/4, observed Monday
        (date(2026, 2, 16), False),  # Tết Bính Ngọ 2026
        (date(2026, 2, 23), True),
    ],
    ids=lambda v: v.isoformat() if isinstance(v, date) else str(v),
)
def test_is_working_day_on_known_dates(day: date, expected: bool) -> None:
    assert CAL.is_working_day(day) is expected


def test_next_working_day_after_the_friday_before_tet_is_after_tet() -> None:
    assert CAL.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)


def test_fifteen_working_days_across_tet_2025() -> None:
    # 21-24/1 (4), Tết week off, 3-7/2 (9), 10-14/2 (14), 17/2 is the 15th.
    assert CAL.add_working_days(date(2025, 1, 20), 15) == date(2025, 2, 17)


def test_working_days_backwards_across_tet() -> None:
    assert CAL.add_working_days(date(2025, 2, 3), -1) == date(2025, 1, 24)
    assert CAL.add_working_days(date(2025, 2, 17), -15) == date(2025, 1, 20)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Friday -> Monday
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # Saturday -> Monday
        (date(2025, 3, 9), 1, date(2025, 3, 10)),  # Sunday -> Monday
        (date(2025, 3, 10), 5, date(2025, 3, 17)),  # a full week
        (date(2025, 3, 10), -1, date(2025, 3, 7)),  # Monday -> Friday
        (date(2025, 3, 9), -1, date(2025, 3, 7)),  # Sunday -> Friday
        (date(2025, 4, 29), 1, date(2025, 5, 5)),  # 30/4, 1/5, 2/5 off, weekend
        (date(2025, 4, 25), 1, date(2025, 4, 26)),  # the compensatory Saturday counts
    ],
)
def test_add_working_days_across_weekends_and_holidays(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected


def test_add_zero_working_days_returns_start_even_on_a_holiday() -> None:
    assert CAL.add_working_days(date(2025, 1, 29), 0) == date(2025, 1, 29)
    assert CAL.add_working_days(date(2025, 3, 8), 0) == date(2025, 3, 8)


def test_working_days_between_counts_the_end_but_not_the_start() -> None:
    assert CAL.working_days_between(date(2025, 1, 24), date(2025, 2, 3)) == 1
    assert CAL.working_days_between(date(2025, 3, 7), date(2025, 3, 14)) == 5
    assert CAL.working_days_between(date(2025, 3, 8), date(2025, 3, 9)) == 0


def test_working_days_between_is_zero_for_the_same_day() -> None:
    assert CAL.working_days_between(date(2025, 3, 10), date(2025, 3, 10)) == 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (date(2025, 1, 20), date(2025, 2, 17)),
        (date(2025, 3, 8), date(2025, 3, 9)),
        (date(2024, 12, 25), date(2026, 1, 5)),
    ],
)
def test_working_days_between_is_mirror_symmetric(a: date, b: date) -> None:
    assert CAL.working_days_between(b, a) == -CAL.working_days_between(a, b)


def test_working_days_in_2025_total() -> None:
    # 261 weekdays, minus 12 weekday holidays, plus Saturday 26/4.
    assert CAL.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == 250


@settings(max_examples=150, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    n=st.integers(min_value=-60, max_value=60),
)
def test_working_days_between_inverts_add_working_days(start: date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    if n:
        assert CAL.is_working_day(end)
    # Backwards, the mirror count (end, start] includes start itself, so the identity
    # holds only when start is a working day (documented in working_days_between).
    if n >= 0 or CAL.is_working_day(start):
        assert CAL.working_days_between(start, end) == n
    else:
        assert CAL.working_days_between(start, end) == n + 1


def test_backward_count_from_a_holiday_does_not_count_the_holiday() -> None:
    # 1/1/2024 is a holiday: (29/12/2023, 1/1/2024] holds no working day.
    assert CAL.add_working_days(date(2024, 1, 1), -1) == date(2023, 12, 29)
    assert CAL.working_days_between(date(2024, 1, 1), date(2023, 12, 29)) == 0


def test_extra_holiday_is_a_day_off() -> None:
    provincial = date(2025, 3, 12)  # a Wednesday
    cal = WorkCalendar(extra_holidays=[provincial])
    assert not cal.is_working_day(provincial)
    assert cal.add_working_days(date(2025, 3, 11), 1) == date(2025, 3, 13)
    assert cal.holidays_in(2025)[provincial] == "Ngày nghỉ bổ sung"
    assert CAL.is_working_day(provincial)  # other calendars are unaffected


def test_extra_workday_turns_a_saturday_or_holiday_into_a_working_day() -> None:
    saturday = date(2025, 2, 15)
    cal = WorkCalendar(extra_workdays=[saturday, date(2025, 5, 2)])
    assert cal.is_working_day(saturday)
    assert cal.is_working_day(date(2025, 5, 2))
    assert date(2025, 5, 2) not in cal.holidays_in(2025)
    assert cal.add_working_days(date(2025, 2, 14), 1) == saturday


def test_a_day_cannot_be_both_extra_holiday_and_extra_workday() -> None:
    day = date(2025, 2, 15)
    with pytest.raises(ValueError, match="15/02/2025"):
        WorkCalendar(extra_holidays=[day], extra_workdays=[day])


def test_days_both_off_and_worked_are_listed_in_order_in_the_refusal() -> None:
    with pytest.raises(ValueError) as exc:
        WorkCalendar(extra_holidays=[date(2025, 3, 1), date(2025, 2, 15), date(2025, 2, 20)],
                     extra_workdays=[date(2025, 3, 1), date(2025, 2, 15)])
    assert str(exc.value) == "Ngày vừa là ngày nghỉ bổ sung vừa là ngày làm việc bù: 15/02/2025, 01/03/2025"


def test_default_calendar_is_shared() -> None:
    assert default_calendar() is default_calendar()
    assert not default_calendar().is_working_day(date(2025, 4, 30))


def test_holiday_data_loaded_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = holidays.country_holidays

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workdays.holidays, "country_holidays", counting)
    cal = WorkCalendar()
    day = date(2025, 1, 1)
    for _ in range(730):
        cal.is_working_day(day)
        day += timedelta(days=1)
    cal.holidays_in(2025)
    assert calls == [2025, 2026]


def test_counting_ten_years_is_fast() -> None:
    import time

    cal = WorkCalendar()
    t0 = time.perf_counter()
    total = cal.working_days_between(date(2025, 1, 1), date(2034, 12, 31))
    assert 2400 < total < 2550
    assert time.perf_counter() - t0 < 1.0

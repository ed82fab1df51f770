"""The deadline language (engine.deadlines)."""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from datetime import date

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.deadlines import (
    DeadlineError,
    DeadlineSpec,
    occurrences,
    parse_deadline,
    period_key,
)
from engine.i18n import tr
from engine.workdays import WorkCalendar
from tests.realdata import ANNEX2

YEARLY = "0 0 31 12 *"
MONTH_END = "0 0 L * *"
QUARTER_END = "0 0 L 3,6,9,12 *"

D = date

# (text, due, precision) for kind "date". Includes every distinct deadline text of the
# real annex (marked "annex").
DATE_CASES: list[tuple[str, date, str]] = [
    # month / year -> last day of the month
    ("6/2025", D(2025, 6, 30), "month"),  # annex
    ("06/2025", D(2025, 6, 30), "month"),  # annex
    ("01/2025", D(2025, 1, 31), "month"),  # annex
    ("03/2025", D(2025, 3, 31), "month"),  # annex
    ("2/2025", D(2025, 2, 28), "month"),  # annex
    ("3/2025", D(2025, 3, 31), "month"),  # annex
    ("7/2025", D(2025, 7, 31), "month"),  # annex
    ("9/2025", D(2025, 9, 30), "month"),  # annex
    ("12/2025", D(2025, 12, 31), "month"),  # annex
    ("3/2026", D(2026, 3, 31), "month"),  # annex
    ("9/2026", D(2026, 9, 30), "month"),  # annex
    ("12/2026", D(2026, 12, 31), "month"),  # annex
    ("12/2028", D(2028, 12, 31), "month"),  # annex
    ("Tháng 10/2025", D(2025, 10, 31), "month"),  # annex
    ("Tháng 5/2025", D(2025, 5, 31), "month"),  # annex
    ("2/2024", D(2024, 2, 29), "month"),
    ("2/2100", D(2100, 2, 28), "month"),
    ("Tháng 6/2025", D(2025, 6, 30), "month"),
    ("tháng 6 năm 2025", D(2025, 6, 30), "month"),
    ("Tháng 06 năm 2025", D(2025, 6, 30), "month"),
    ("T6/2025", D(2025, 6, 30), "month"),
    ("t6/2025", D(2025, 6, 30), "month"),
    ("6-2025", D(2025, 6, 30), "month"),
    ("6 / 2025", D(2025, 6, 30), "month"),
    ("2025-06", D(2025, 6, 30), "month"),
    ("Trong tháng 6/2025", D(2025, 6, 30), "month"),
    ("Đến hết tháng 6/2025", D(2025, 6, 30), "month"),
    ("Chậm nhất tháng 6/2025", D(2025, 6, 30), "month"),
    ("Hoàn thành trong tháng 6/2025", D(2025, 6, 30), "month"),
    # "before a month" = by the end of the previous month
    ("Trước tháng 6/2025", D(2025, 5, 31), "month"),
    ("trước tháng 3/2024", D(2024, 2, 29), "month"),
    ("Trước tháng 1/2026", D(2025, 12, 31), "month"),
    ("Trước 6/2025", D(2025, 5, 31), "month"),
    # quarters -> last day of the quarter
    ("Quý II/2025", D(2025, 6, 30), "quarter"),  # annex
    ("Quý 2/2025", D(2025, 6, 30), "quarter"),
    ("quý II năm 2025", D(2025, 6, 30), "quarter"),
    ("Q2/2025", D(2025, 6, 30), "quarter"),
    ("Quý I/2025", D(2025, 3, 31), "quarter"),
    ("Quý III/2025", D(2025, 9, 30), "quarter"),
    ("Quý IV/2025", D(2025, 12, 31), "quarter"),
    ("QUÝ IV/2026", D(2026, 12, 31), "quarter"),
    ("Qúy II/2025", D(2025, 6, 30), "quarter"),  # old-style tone mark placement
    ("Quý II - 2025", D(2025, 6, 30), "quarter"),
    ("Trước quý III/2025", D(2025, 6, 30), "quarter"),
    # halves
    ("6 tháng đầu năm 2025", D(2025, 6, 30), "half"),
    ("6 tháng cuối năm 2025", D(2025, 12, 31), "half"),
    ("Sáu tháng đầu năm 2026", D(2026, 6, 30), "half"),
    ("nửa cuối năm 2025", D(2025, 12, 31), "half"),
    ("6 tháng năm 2025", D(2025, 6, 30), "half"),
    # years -> 31/12
    ("2025", D(2025, 12, 31), "year"),  # annex
    ("2026", D(2026, 12, 31), "year"),  # annex
    ("2027", D(2027, 12, 31), "year"),  # annex
    ("2028", D(2028, 12, 31), "year"),  # annex
    ("2030", D(2030, 12, 31), "year"),  # annex
    ("Năm 2025", D(2025, 12, 31), "year"),
    ("năm 2025", D(2025, 12, 31), "year"),
    ("Trong năm 2025", D(2025, 12, 31), "year"),
    ("Cuối năm 2025", D(2025, 12, 31), "year"),
    ("Trước năm 2026", D(2025, 12, 31), "year"),
    # ranges -> 31/12 of the last year
    ("2025 - 2026", D(2026, 12, 31), "range"),  # annex
    ("2025-2026", D(2026, 12, 31), "range"),  # annex
    ("2025–2026", D(2026, 12, 31), "range"),  # en dash
    ("2025—2026", D(2026, 12, 31), "range"),  # em dash
    ("Giai đoạn 2025-2030", D(2030, 12, 31), "range"),
    ("giai đoạn 2025 - 2030", D(2030, 12, 31), "range"),
    ("Trong giai đoạn 2026-2030", D(2030, 12, 31), "range"),
    ("Từ 2025 đến 2027", D(2027, 12, 31), "range"),
    ("Năm 2025 - 2026", D(2026, 12, 31), "range"),
    ("Từ tháng 6/2025 đến tháng 12/2025", D(2025, 12, 31), "range"),
    ("6/2025 - 12/2025", D(2025, 12, 31), "range"),
    ("15/6/2025 - 30/9/2025", D(2025, 9, 30), "range"),
    # exact days
    ("15/06/2025", D(2025, 6, 15), "day"),
    ("15/6/2025", D(2025, 6, 15), "day"),
    ("15-6-2025", D(2025, 6, 15), "day"),
    ("15.6.2025", D(2025, 6, 15), "day"),
    ("2025-06-15", D(2025, 6, 15), "day"),
    ("ngày 15/6/2025", D(2025, 6, 15), "day"),
    ("Trước ngày 15/6/2025", D(2025, 6, 15), "day"),
    ("trước 30/6/2025", D(2025, 6, 30), "day"),
    ("Hoàn thành trước ngày 30/6/2025", D(2025, 6, 30), "day"),
    ("Chậm nhất ngày 30/6/2025", D(2025, 6, 30), "day"),
    ("ngày 15 tháng 6 năm 2025", D(2025, 6, 15), "day"),
    ("Hạn: 15/6/2025", D(2025, 6, 15), "day"),
    ("29/2/2028", D(2028, 2, 29), "day"),
    # noise around a valid text
    ("**6/2025**", D(2025, 6, 30), "month"),
    ("6/2025¹", D(2025, 6, 30), "month"),
    ("6/2025²³", D(2025, 6, 30), "month"),
    ("6/2025 (*)", D(2025, 6, 30), "month"),
    ("6/2025*", D(2025, 6, 30), "month"),
    ("6/2025.", D(2025, 6, 30), "month"),
    ("6/2025\n(đợt 1)", D(2025, 6, 30), "month"),
    ("6/2025<br>(đợt 1)", D(2025, 6, 30), "month"),
    ("Tháng\u00a06/2025", D(2025, 6, 30), "month"),
    ("Tháng   6/2025", D(2025, 6, 30), "month"),
    ("Tháng\n6/2025", D(2025, 6, 30), "month"),
    ("  Quý II/2025  ", D(2025, 6, 30), "quarter"),
    ("2025[^1]", D(2025, 12, 31), "year"),
    ("“6/2025”", D(2025, 6, 30), "month"),
]


def _id(text: str | None) -> str:
    """A test id without edge spaces: a node id that ends in spaces cannot be selected again
    (mutation runs select tests by id)."""
    return repr(text) if not text or text != text.strip() else text


def _cases(cases: list) -> list:
    """The cases as pytest.param with an id from their text (the first value).

    Ids go on each param, not in ``parametrize(ids=...)``: pytest keeps the ids it resolved from
    ``ids=`` on the mark and escapes them again when the same process collects the module a second
    time (mutmut collects, then runs each mutant's tests by id in that process), so a non-ASCII id
    would no longer match.
    """
    return [pytest.param(*(c if isinstance(c, tuple) else (c,)), id=_id(c[0] if isinstance(c, tuple) else c))
            for c in cases]


@pytest.mark.parametrize(("text", "due", "precision"), _cases(DATE_CASES))
def test_date_deadline_maps_to_due_date(text: str, due: date, precision: str) -> None:
    spec = parse_deadline(text)
    assert spec == DeadlineSpec(
        text=text.strip(),
        kind="date",
        due=due,
        starts=spec.starts if precision == "range" else None,
        precision=precision,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("2025 - 2026", D(2025, 1, 1)),
        ("Giai đoạn 2025-2030", D(2025, 1, 1)),
        ("Từ tháng 6/2025 đến tháng 12/2025", D(2025, 6, 1)),
        ("15/6/2025 - 30/9/2025", D(2025, 6, 15)),
    ],
)
def test_range_starts_at_the_first_period(text: str, starts: date) -> None:
    assert parse_deadline(text).starts == starts


ONGOING_CASES = [
    "Thường xuyên",  # annex
    "Thường xuyên  ",  # annex (trailing spaces)
    "Nhiệm vụ thường xuyên",  # annex
    "thường xuyên",
    "THƯỜNG XUYÊN",
    "thường xuyên, liên tục",
    "Thường xuyên và liên tục",
    "Liên tục",
    "Thường xuyên.",
    "Hằng ngày",
]


@pytest.mark.parametrize("text", _cases(ONGOING_CASES))
def test_ongoing_deadline_has_no_due_date(text: str) -> None:
    assert parse_deadline(text) == DeadlineSpec(text=text.strip(), kind="ongoing")


# (text, recurrence, starts, due)
RECURRING_CASES: list[tuple[str, str, date | None, date | None]] = [
    ("Hằng năm", YEARLY, None, None),  # annex
    ("hằng năm", YEARLY, None, None),  # annex
    ("Hàng năm", YEARLY, None, None),
    ("Định kỳ hằng năm", YEARLY, None, None),
    ("Báo cáo hằng năm", YEARLY, None, None),
    ("2025 và những năm tiếp theo", YEARLY, D(2025, 1, 1), D(2025, 12, 31)),  # annex
    ("Từ năm 2025 và những năm tiếp theo", YEARLY, D(2025, 1, 1), D(2025, 12, 31)),
    ("Năm 2026 và các năm tiếp theo", YEARLY, D(2026, 1, 1), D(2026, 12, 31)),
    ("Từ 2025, hằng năm", YEARLY, D(2025, 1, 1), D(2025, 12, 31)),
    ("Từ năm 2025 hằng năm", YEARLY, D(2025, 1, 1), D(2025, 12, 31)),
    ("Hằng năm, kể từ năm 2026", YEARLY, D(2026, 1, 1), D(2026, 12, 31)),
    ("Trước ngày 15/12 hằng năm", "0 0 15 12 *", None, None),
    ("Hằng năm, trước ngày 15/12", "0 0 15 12 *", None, None),
    ("Tháng 12 hằng năm", "0 0 L 12 *", None, None),
    ("trước ngày 20 hằng tháng", "0 0 20 * *", None, None),
    ("Ngày 20 hằng tháng", "0 0 20 * *", None, None),
    ("Trước ngày 20 hàng tháng", "0 0 20 * *", None, None),
    ("Hằng tháng, trước ngày 5", "0 0 5 * *", None, None),
    ("hàng tháng", MONTH_END, None, None),
    ("Hằng tháng", MONTH_END, None, None),
    ("Từ tháng 3/2025, hằng tháng", MONTH_END, D(2025, 3, 1), D(2025, 3, 31)),
    ("Từ tháng 3/2025, ngày 20 hằng tháng", "0 0 20 * *", D(2025, 3, 1), D(2025, 3, 20)),
    ("Hằng quý", QUARTER_END, None, None),
    ("hàng quý", QUARTER_END, None, None),
    ("Từ quý II/2025, hằng quý", QUARTER_END, D(2025, 4, 1), D(2025, 6, 30)),
    ("trước ngày 15 của tháng cuối quý", "0 0 15 3,6,9,12 *", None, None),
    ("Hằng quý, trước ngày 15 tháng cuối quý", "0 0 15 3,6,9,12 *", None, None),
    ("6 tháng một lần", "0 0 L 6,12 *", None, None),
    ("Định kỳ 6 tháng", "0 0 L 6,12 *", None, None),
    ("Hằng tuần", "0 0 * * 5", None, None),
    ("Thứ Sáu hằng tuần", "0 0 * * 5", None, None),
    ("thứ 2 hằng tuần", "0 0 * * 1", None, None),
]


@pytest.mark.parametrize(
    ("text", "recurrence", "starts", "due"), _cases(RECURRING_CASES)
)
def test_recurring_deadline_maps_to_cron(
    text: str, recurrence: str, starts: date | None, due: date | None
) -> None:
    spec = parse_deadline(text)
    assert spec == DeadlineSpec(
        text=text, kind="recurring", due=due, recurrence=recurrence, starts=starts
    )
    assert croniter.is_valid(spec.recurrence)


@pytest.mark.parametrize("text", _cases([None, "", "   ", "\n\t", "\u00a0"]))
def test_empty_deadline_has_no_kind(text: str | None) -> None:
    assert parse_deadline(text) == DeadlineSpec(text="", kind=None)


def test_noise_only_deadline_has_no_kind_but_keeps_its_text() -> None:
    assert parse_deadline(" (*) ") == DeadlineSpec(text="(*)", kind=None)


# (text, part of the reason)
ERROR_CASES: list[tuple[str, str]] = [
    ("năm tiếp theo", "không khớp dạng"),
    ("abc", "không khớp dạng"),
    ("Sớm nhất có thể", "không khớp dạng"),
    ("Đầu năm 2025", "không khớp dạng"),
    ("6/2025; 12/2025", "không khớp dạng"),
    ("13/2025", "không có tháng 13"),
    ("0/2025", "không có tháng 0"),
    ("Tháng 13/2025", "không có tháng 13"),
    ("Quý V/2025", "không có quý V"),
    ("Q5/2025", "không có quý 5"),
    ("31/2/2025", "31/2/2025 không tồn tại"),
    ("29/2/2025", "29/2/2025 không tồn tại"),
    ("31/4/2025", "không tồn tại"),
    ("2025-02-30", "không tồn tại"),
    ("1999", "ngoài khoảng 2000–2100"),
    ("6/2101", "ngoài khoảng 2000–2100"),
    ("2025 - 2101", "ngoài khoảng"),
    ("Trước năm 2000", "trước năm 2000"),
    ("2026 - 2025", "kết thúc trước"),
    ("6/25", "4 chữ số"),
    ("ngày 31 hằng tháng", "ngày 31"),
    ("ngày 29/2 hằng năm", "không tồn tại"),
    ("trong 15 ngày làm việc", "ngày ban hành"),
    ("30/6", "thiếu năm"),
    ("Quý II", "thiếu năm"),
    ("Trong 15 ngày kể từ ngày nhận được văn bản", "mốc"),
]


@pytest.mark.parametrize(("text", "reason"), _cases(ERROR_CASES))
def test_unknown_or_impossible_deadline_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(DeadlineError) as info:
        parse_deadline(text)
    assert info.value.text == text
    assert reason in info.value.reason
    assert str(info.value).startswith(f"Không hiểu thời hạn «{text}»: ")


def test_deadline_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_deadline("abc")


@pytest.mark.parametrize(
    "text", ["Quý II/2025", "Hằng năm", "Thường xuyên", "tháng 6 năm 2025", "Trước tháng 6/2025"]
)
def test_nfd_text_parses_like_nfc(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    got = parse_deadline(nfd)
    assert got.text == nfd  # kept exactly as given
    expected = parse_deadline(text)
    assert (got.kind, got.due, got.recurrence, got.starts, got.precision) == (
        expected.kind,
        expected.due,
        expected.recurrence,
        expected.starts,
        expected.precision,
    )


# -- texts relative to the plan's issue date ----------------------------------------


def test_working_day_duration_counts_from_issue_date_across_tet() -> None:
    spec = parse_deadline("trong 15 ngày làm việc", issued_on=D(2025, 1, 20))
    assert spec == DeadlineSpec(
        text="trong 15 ngày làm việc", kind="date", due=D(2025, 2, 17), precision="day"
    )


def test_working_day_duration_with_issue_anchor() -> None:
    text = "Trong vòng 15 ngày làm việc kể từ ngày ban hành"
    assert parse_deadline(text, issued_on=D(2025, 1, 20)).due == D(2025, 2, 17)
    text = "15 ngày làm việc kể từ ngày Kế hoạch được ban hành"
    assert parse_deadline(text, issued_on=D(2025, 1, 20)).due == D(2025, 2, 17)


def test_working_day_duration_uses_the_given_calendar() -> None:
    cal = WorkCalendar(extra_holidays=[D(2025, 3, 11)])
    spec = parse_deadline("trong 2 ngày làm việc", issued_on=D(2025, 3, 10), calendar=cal)
    assert spec.due == D(2025, 3, 13)
    assert parse_deadline("trong 2 ngày làm việc", issued_on=D(2025, 3, 10)).due == D(2025, 3, 12)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("trong 30 ngày", D(2025, 2, 19)),
        ("Trong vòng 30 ngày kể từ ngày ký", D(2025, 2, 19)),
        ("trong 2 tuần", D(2025, 2, 3)),
        ("trong 1 tháng", D(2025, 2, 20)),
    ],
)
def test_calendar_duration_counts_from_issue_date(text: str, due: date) -> None:
    assert parse_deadline(text, issued_on=D(2025, 1, 20)).due == due


def test_month_duration_clamps_to_month_end() -> None:
    assert parse_deadline("trong 1 tháng", issued_on=D(2025, 1, 31)).due == D(2025, 2, 28)


@pytest.mark.parametrize(
    ("text", "issued_on", "due"),
    [
        ("trong 2 tháng", D(2025, 11, 15), D(2026, 1, 15)),
        ("trong 1 tháng", D(2025, 12, 31), D(2026, 1, 31)),
        ("trong 3 tháng", D(2025, 11, 30), D(2026, 2, 28)),
        ("trong 12 tháng", D(2025, 6, 10), D(2026, 6, 10)),
        ("trong 13 tháng", D(2025, 12, 1), D(2027, 1, 1)),
        ("trong 25 tháng", D(2023, 12, 31), D(2026, 1, 31)),
    ],
)
def test_month_duration_across_a_year_end_lands_in_the_right_year_and_month(text: str, issued_on: date, due: date) -> None:
    assert parse_deadline(text, issued_on=issued_on).due == due


@pytest.mark.parametrize(
    ("text", "issued_on", "due"),
    [
        ("30/6", D(2025, 1, 1), D(2025, 6, 30)),
        ("Trước ngày 30/6", D(2025, 1, 1), D(2025, 6, 30)),
        ("30/6", D(2025, 7, 1), D(2026, 6, 30)),
        ("Tháng 6", D(2025, 6, 10), D(2025, 6, 30)),
        ("Quý II", D(2025, 7, 1), D(2026, 6, 30)),
        ("6 tháng đầu năm", D(2025, 2, 1), D(2025, 6, 30)),
    ],
)
def test_date_without_year_is_the_next_one_after_issue(
    text: str, issued_on: date, due: date
) -> None:
    assert parse_deadline(text, issued_on=issued_on).due == due


def test_explicit_year_ignores_issue_date() -> None:
    assert parse_deadline("6/2025", issued_on=D(2026, 1, 1)).due == D(2025, 6, 30)


# -- property -------------------------------------------------------------------


@given(month=st.integers(min_value=1, max_value=12), year=st.integers(min_value=2000, max_value=2100))
def test_month_year_form_is_last_day_of_month(month: int, year: int) -> None:
    last = D(year, month, monthrange(year, month)[1])
    assert parse_deadline(f"{month}/{year}").due == last
    assert parse_deadline(f"{month:02d}/{year}").due == last
    assert parse_deadline(f"Tháng {month}/{year}").due == last


_FRAGMENTS = [
    "6", "2025", "/", "-", "–", " ", "tháng", "Quý", "II", "V", "năm", "trước", "ngày",
    "hằng", "từ", "và", "những", "tiếp theo", "đến", "31", "2", "13", "0", "9999", ",",
    "(", "*", ")", "làm việc", "trong", "thứ", "tuần", "cuối", "đầu", "kể từ", "ban hành",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(_FRAGMENTS), max_size=8),
    issued_on=st.sampled_from([None, D(2025, 1, 1), D(2100, 12, 31)]),
)
def test_any_text_gives_a_spec_or_a_deadline_error(parts: list[str], issued_on: date | None) -> None:
    text = "".join(parts)
    try:
        spec = parse_deadline(text, issued_on=issued_on)
    except DeadlineError as exc:
        assert exc.text == text.strip()
        return
    if spec.kind == "date":
        assert spec.due is not None and 2000 <= spec.due.year <= 2100
    if spec.kind == "recurring":
        assert spec.recurrence is not None and croniter.is_valid(spec.recurrence)


def test_duration_past_2100_is_rejected() -> None:
    with pytest.raises(DeadlineError, match="sau năm 2100"):
        parse_deadline("trong 2 tháng", issued_on=D(2100, 12, 1))


# -- occurrences and period keys ----------------------------------------------------


def test_yearly_occurrences_2025_2026() -> None:
    spec = parse_deadline("Hằng năm")
    assert occurrences(spec, D(2025, 1, 1), D(2026, 12, 31)) == [D(2025, 12, 31), D(2026, 12, 31)]


def test_yearly_occurrences_respect_start_year() -> None:
    spec = parse_deadline("Từ năm 2026 và những năm tiếp theo")
    assert occurrences(spec, D(2025, 1, 1), D(2027, 12, 31)) == [D(2026, 12, 31), D(2027, 12, 31)]


def test_monthly_occurrences_on_the_20th() -> None:
    spec = parse_deadline("trước ngày 20 hằng tháng")
    got = occurrences(spec, D(2025, 1, 1), D(2026, 12, 31))
    assert got == [D(y, m, 20) for y in (2025, 2026) for m in range(1, 13)]


def test_month_end_occurrences_include_february_ends() -> None:
    spec = parse_deadline("Hằng tháng")
    got = occurrences(spec, D(2025, 1, 1), D(2026, 12, 31))
    assert len(got) == 24
    assert got[1] == D(2025, 2, 28)
    assert got == [D(y, m, monthrange(y, m)[1]) for y in (2025, 2026) for m in range(1, 13)]
    assert occurrences(spec, D(2028, 2, 1), D(2028, 2, 29)) == [D(2028, 2, 29)]


def test_quarterly_occurrences_2025_2026() -> None:
    spec = parse_deadline("Hằng quý")
    assert occurrences(spec, D(2025, 1, 1), D(2026, 12, 31)) == [
        D(2025, 3, 31), D(2025, 6, 30), D(2025, 9, 30), D(2025, 12, 31),
        D(2026, 3, 31), D(2026, 6, 30), D(2026, 9, 30), D(2026, 12, 31),
    ]  # fmt: skip


def test_occurrence_window_is_inclusive_on_both_ends() -> None:
    spec = parse_deadline("Hằng quý")
    assert occurrences(spec, D(2025, 3, 31), D(2025, 6, 30)) == [D(2025, 3, 31), D(2025, 6, 30)]
    assert occurrences(spec, D(2025, 4, 1), D(2025, 6, 29)) == []
    assert occurrences(spec, D(2025, 6, 30), D(2025, 3, 31)) == []


@pytest.mark.parametrize("text", ["Hằng năm", "trước ngày 20 hằng tháng", "Hằng quý", "Hằng tuần"])
def test_occurrences_are_idempotent_and_split_cleanly(text: str) -> None:
    spec = parse_deadline(text)
    whole = occurrences(spec, D(2025, 1, 1), D(2026, 12, 31))
    assert whole == occurrences(spec, D(2025, 1, 1), D(2026, 12, 31))
    halves = occurrences(spec, D(2025, 1, 1), D(2025, 12, 31)) + occurrences(
        spec, D(2026, 1, 1), D(2026, 12, 31)
    )
    assert whole == halves
    assert whole == sorted(set(whole))


def test_date_and_ongoing_occurrences() -> None:
    spec = parse_deadline("6/2025")
    assert occurrences(spec, D(2025, 1, 1), D(2025, 12, 31)) == [D(2025, 6, 30)]
    assert occurrences(spec, D(2025, 7, 1), D(2025, 12, 31)) == []
    assert occurrences(parse_deadline("Thường xuyên"), D(2025, 1, 1), D(2030, 1, 1)) == []
    assert occurrences(parse_deadline(""), D(2025, 1, 1), D(2030, 1, 1)) == []


@pytest.mark.parametrize(
    ("text", "due", "key"),
    [
        ("Hằng năm", D(2025, 12, 31), "2025"),
        ("2025 và những năm tiếp theo", D(2026, 12, 31), "2026"),
        ("Trước ngày 15/12 hằng năm", D(2025, 12, 15), "2025"),
        ("trước ngày 20 hằng tháng", D(2025, 6, 20), "2025-06"),
        ("Hằng tháng", D(2025, 2, 28), "2025-02"),
        ("Hằng quý", D(2025, 6, 30), "2025-Q2"),
        ("Hằng quý", D(2025, 12, 31), "2025-Q4"),
        ("trước ngày 15 của tháng cuối quý", D(2025, 3, 15), "2025-Q1"),
        ("6 tháng một lần", D(2025, 6, 30), "2025-06-30"),
        ("Hằng tuần", D(2025, 6, 6), "2025-06-06"),
        ("6/2025", D(2025, 6, 30), "2025-06-30"),
    ],
)
def test_period_key(text: str, due: date, key: str) -> None:
    assert period_key(parse_deadline(text), due) == key


def test_period_keys_are_unique_per_occurrence() -> None:
    for text in ("Hằng năm", "Hằng tháng", "Hằng quý", "trước ngày 20 hằng tháng"):
        spec = parse_deadline(text)
        dues = occurrences(spec, D(2025, 1, 1), D(2027, 12, 31))
        keys = [period_key(spec, d) for d in dues]
        assert len(set(keys)) == len(keys)


# -- the real annex -------------------------------------------------------------------

_SECTION_TT = re.compile(r"^\**\s*[IVXLC]+\.?\s*\**$")


def _annex_rows() -> list[tuple[int, str, str]]:
    """(line number, TT cell, deadline cell) of every table row after the header."""
    rows: list[tuple[int, str, str]] = []
    lines = ANNEX2.read_text(encoding="utf-8").splitlines()
    table = [(i, line) for i, line in enumerate(lines, 1) if line.startswith("|")]
    for lineno, line in table[2:]:  # skip header and |---| separator
        cells = line.split("|")
        assert len(cells) == 8, f"{ANNEX2}:{lineno}: expected 6 columns, got {len(cells) - 2}"
        rows.append((lineno, cells[1].strip(), cells[6]))
    return rows


# The only deadline cell of the annex that does not parse is on the section-IV header
# row: "năm tiếp theo", the tail of task 76's "2025 và những năm tiếp theo" that spilled
# into the next row when the Word table was converted. Task rows have no junk.
KNOWN_JUNK_IN_TASK_ROWS: dict[str, str] = {}
SECTION_ROW_JUNK = {"năm tiếp theo"}


def test_every_task_deadline_in_the_real_annex_parses() -> None:
    rows = [r for r in _annex_rows() if not _SECTION_TT.match(r[1])]
    assert len(rows) == 140
    failures: dict[str, str] = {}
    kinds: dict[str | None, int] = {}
    for lineno, tt, cell in rows:
        try:
            spec = parse_deadline(cell, issued_on=D(2025, 1, 1))
        except DeadlineError as exc:
            failures[cell.strip()] = f"line {lineno}, task {tt}: {exc}"
            continue
        kinds[spec.kind] = kinds.get(spec.kind, 0) + 1
    assert failures == KNOWN_JUNK_IN_TASK_ROWS
    # 120 dated, 13 "Thường xuyên", 6 yearly, and task 42 with an empty deadline cell.
    assert kinds == {"date": 120, "ongoing": 13, "recurring": 6, None: 1}


def test_section_row_junk_in_the_real_annex_is_rejected() -> None:
    cells = {c.strip() for _, tt, c in _annex_rows() if _SECTION_TT.match(tt) and c.strip()}
    assert cells == SECTION_ROW_JUNK
    for cell in cells:
        with pytest.raises(DeadlineError):
            parse_deadline(cell)


def test_every_distinct_annex_deadline_is_in_the_tables_above() -> None:
    tested = (
        {c[0].strip() for c in DATE_CASES}
        | {c.strip() for c in ONGOING_CASES}
        | {c[0] for c in RECURRING_CASES}
        | {c[0] for c in ERROR_CASES}
    )
    distinct = {c.strip() for _, _, c in _annex_rows() if c.strip()}
    assert distinct - tested == set()


# -- window ends, day bounds, exact refusals (pinned by mutation testing) ---------------------------


def test_a_dated_deadline_occurs_on_either_end_of_a_window_and_in_a_one_day_window() -> None:
    spec = parse_deadline("15/6/2025")
    assert occurrences(spec, D(2025, 6, 15), D(2025, 6, 30)) == [D(2025, 6, 15)]
    assert occurrences(spec, D(2025, 6, 1), D(2025, 6, 15)) == [D(2025, 6, 15)]
    assert occurrences(spec, D(2025, 6, 15), D(2025, 6, 15)) == [D(2025, 6, 15)]
    assert occurrences(spec, D(2025, 6, 16), D(2025, 6, 30)) == []


def test_a_recurring_deadline_occurs_in_a_one_day_window_on_its_due_day() -> None:
    assert occurrences(parse_deadline("Hằng tháng"), D(2025, 6, 30), D(2025, 6, 30)) == [D(2025, 6, 30)]


def test_a_recurring_spec_without_a_recurrence_has_no_occurrences() -> None:
    assert occurrences(DeadlineSpec(text="x", kind="recurring"), D(2025, 1, 1), D(2025, 12, 31)) == []


@pytest.mark.parametrize(("text", "cron"), [
    ("ngày 1 hằng tháng", "0 0 1 * *"),
    ("ngày 28 hằng tháng", "0 0 28 * *"),
    ("Trước ngày 1 của tháng cuối quý", "0 0 1 3,6,9,12 *"),
    ("Trước ngày 30 của tháng cuối quý", "0 0 30 3,6,9,12 *"),
])
def test_the_first_and_last_allowed_day_of_a_monthly_or_quarterly_recurrence(text: str, cron: str) -> None:
    assert parse_deadline(text).recurrence == cron


def _reason(text: str, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DeadlineError) as info:
        parse_deadline(text, **kw)
    assert str(info.value) == f"Không hiểu thời hạn «{text}»: {info.value.reason}"
    return info.value.reason


@pytest.mark.parametrize(("text", "issued_on", "reason"), [
    ("ngày 29 hằng tháng", None, "không phải tháng nào cũng có ngày 29; dùng ngày 1–28 hoặc «hằng tháng» (cuối tháng)"),
    ("ngày 0 hằng tháng", None, "không phải tháng nào cũng có ngày 0; dùng ngày 1–28 hoặc «hằng tháng» (cuối tháng)"),
    ("ngày 31 của tháng cuối quý", None, "tháng cuối quý không phải lúc nào cũng có ngày 31; dùng ngày 1–30"),
    ("ngày 0 của tháng cuối quý", None, "tháng cuối quý không phải lúc nào cũng có ngày 0; dùng ngày 1–30"),
    ("trong 0 ngày", D(2025, 1, 1), "số ngày/tuần/tháng phải lớn hơn 0"),
    ("trong 15 ngày làm việc", None, "cần biết ngày ban hành kế hoạch để tính hạn"),
    ("2026 - 2025", None, "thời điểm kết thúc trước thời điểm bắt đầu"),
    ("30/6", None, "thiếu năm; cần biết ngày ban hành kế hoạch để suy ra năm"),
    ("13/2025", None, "không có tháng 13"),
    ("6/25", None, "không có tháng 25; nếu đó là năm, hãy viết đủ 4 chữ số (ví dụ 6/2025)"),
    ("trong 999 ngày", D(9999, 12, 1), "hạn tính được nằm sau năm 2100"),  # past date.max
    ("Tháng 6", D(2101, 1, 1), "năm 2101 nằm ngoài khoảng 2000–2100"),
    ("Tháng 6", D(2100, 7, 1), "năm 2101 nằm ngoài khoảng 2000–2100"),
])
def test_a_refusal_gives_its_exact_reason(text: str, issued_on: date | None, reason: str) -> None:
    assert _reason(text, issued_on=issued_on) == reason


@pytest.mark.parametrize(("text", "sign"), [("-1/2025", "-"), ("+6/2025", "+"), ("6/2025-", "-"),
                                            ("\u22121/2025", "-"), ("\u200b-1/2025", "-")])
def test_a_signed_number_is_refused_even_behind_a_unicode_minus_or_an_invisible_mark(text: str, sign: str) -> None:
    assert _reason(text) == tr("vi", "inputs.deadline_signed", sign=sign)


@pytest.mark.parametrize("text", [
    "ngày 15/13 hằng năm", "tháng 13 hằng năm", "2101 và những năm tiếp theo", "6 tháng năm 2101",
    "Từ 2025, ngày 31 hằng tháng", "Từ tháng 13/2025, hằng tháng", "Từ đầu năm, hằng tháng",
    "Hằng tháng, kể từ đầu năm", "Hằng tháng, kể từ tháng 13/2025", "ngày 31 hằng tháng, kể từ 2025",
    "Từ tháng 13/2025 đến tháng 12/2025",
])
def test_an_impossible_part_of_a_compound_deadline_is_a_deadline_error(text: str) -> None:
    with pytest.raises(DeadlineError):
        parse_deadline(text)


@pytest.mark.parametrize(("text", "issued_on", "spec"), [
    ("Trước năm 2001", None, dict(due=D(2000, 12, 31), precision="year")),
    ("trong 1 tháng", D(2100, 1, 1), dict(due=D(2100, 2, 1), precision="day")),
    ("30/6", D(2025, 6, 30), dict(due=D(2025, 6, 30), precision="day")),  # the issue day itself
    ("Từ tháng 6/2025 đến tháng 6/2025", None, dict(due=D(2025, 6, 30), starts=D(2025, 6, 1), precision="range")),
    ("Từ 6 tháng đầu năm 2025 đến 6 tháng cuối năm 2025", None,
     dict(due=D(2025, 12, 31), starts=D(2025, 1, 1), precision="range")),
    ("Từ 6 tháng cuối năm 2025 đến 2026", None, dict(due=D(2026, 12, 31), starts=D(2025, 7, 1), precision="range")),
    ("Trước 6 tháng đầu năm 2025", None, dict(due=D(2024, 12, 31), precision="half")),
    ("Trước 6 tháng cuối năm 2025", None, dict(due=D(2025, 6, 30), precision="half")),
    ("30/6 - 2025 - 2026", None, dict(due=D(2026, 12, 31), starts=D(2025, 6, 30), precision="range")),
    ("2025 , - , 2026", None, dict(due=D(2026, 12, 31), starts=D(2025, 1, 1), precision="range")),
    ("Giai đoạn - 2025 - 2026", None, dict(due=D(2026, 12, 31), starts=D(2025, 1, 1), precision="range")),
    ("6/\u200b2025", None, dict(due=D(2025, 6, 30), precision="month")),
    ("**Tháng** 6/2025", None, dict(due=D(2025, 6, 30), precision="month")),
    ("__6/2025__", None, dict(due=D(2025, 6, 30), precision="month")),
])
def test_edge_values_of_dated_deadlines(text: str, issued_on: date | None, spec: dict) -> None:
    assert parse_deadline(text, issued_on=issued_on) == DeadlineSpec(text=text, kind="date", **spec)

"""Issue 22, finding 12: a sign stuck to a number is not silently dropped by the deadline
parser ("-1/2025" used to be read as 31/01/2025)."""

from __future__ import annotations

from datetime import date

import pytest

from engine.deadlines import DeadlineError, parse_deadline


@pytest.mark.parametrize("text", ["-1/2025", "-6/2025", "+6/2025", "−1/2025", "--6/2025", "-2025", "-15/6/2025",
                                  "6/2025-"])
def test_a_signed_number_is_an_error(text):
    with pytest.raises(DeadlineError) as err:
        parse_deadline(text)
    assert err.value.text == text and "dính liền với số" in err.value.reason


@pytest.mark.parametrize(("text", "due"), [("- 6/2025", date(2025, 6, 30)), ("- Tháng 6/2025", date(2025, 6, 30)),
                                           ("6/2025 - 12/2025", date(2025, 12, 31)), ("2025-2026", date(2026, 12, 31)),
                                           ("2025-06", date(2025, 6, 30)), ("6/2025.", date(2025, 6, 30))])
def test_bullets_ranges_and_iso_months_still_read(text, due):
    assert parse_deadline(text).due == due

"""Words and number/date formats of the rendered reports (Vietnamese by default, English)."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.i18n import has, tr

# The label tables live in the catalog (engine/catalog/render.py) as ``render.<table>.<key>``.
SUMMARY_KEYS: tuple[str, ...] = (
    "total", "due", "completed", "completed_on_time", "completed_late", "completed_unknown", "completed_ahead",
    "in_progress_within_deadline", "overdue", "not_yet_due", "ongoing", "ongoing_with_results", "no_deadline",
)
PERCENT_KEYS: tuple[str, ...] = ("completed_of_due", "on_time_of_completed", "overdue_of_due")


def pick(table: str, key: str | None, lang: str) -> str:
    """The label of ``key`` in the catalog table ``table`` ("bucket", "completion", "unit_status",
    "item_status", "direction", "summary", "percent"); an unknown key is shown as it is."""
    if key is None:
        return "—"
    name = f"render.{table}.{key}"
    return tr(lang, name) if has(name) else key


def _sep(lang: str) -> tuple[str, str]:
    """(decimal separator, thousands separator) of ``lang``."""
    return tr(lang, "render.decimal_sep"), tr(lang, "render.thousands_sep")


def fmt_date(iso: str | None, lang: str = "vi") -> str:
    if not iso:
        return "—"
    return tr(lang, "render.date", d=date.fromisoformat(iso[:10]))


def fmt_pct(value: float | None, lang: str = "vi") -> str:
    if value is None:
        return "—"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", _sep(lang)[0]) + "%"


def fmt_num(value: Any, lang: str = "vi") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return tr(lang, "render.yes") if value else tr(lang, "render.no")
    decimal, thousands = _sep(lang)
    if isinstance(value, int):
        return f"{value:,}".replace(",", thousands)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return fmt_num(int(value), lang)
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)
    return str(value)


class _IssueDate(date):
    """A date with the day and month written as Nghị định 30/2020/NĐ-CP (Phụ lục I) asks for the
    date of a document: a day below 10 and the months 1 and 2 with a leading zero (so no digit can
    be put in front of them later), other months without: "ngày 01 tháng 8", "ngày 15 tháng 02"."""

    @property
    def nd30_day(self) -> str:
        return f"{self.day:02d}"

    @property
    def nd30_month(self) -> str:
        return f"{self.month:02d}" if self.month <= 2 else str(self.month)


def long_date(iso: str, lang: str = "vi") -> str:
    """"ngày 24 tháng 5 năm 2025", "ngày 01 tháng 8 năm 2025" / "24 May 2025"."""
    d = date.fromisoformat(iso)
    return tr(lang, "render.long_date", d=_IssueDate(d.year, d.month, d.day))


def authority_short(text: str | None) -> str:
    """"Ủy ban nhân dân tỉnh Lâm Sơn" -> "UBND TỈNH LÂM SƠN" (header line of an official document)."""
    if not text:
        return "UBND TỈNH …"
    s = text.replace("Ủy ban nhân dân", "UBND").replace("Uỷ ban nhân dân", "UBND")
    return s.upper()


def authority_line(text: str | None, lang: str) -> str:
    """The issuing authority at the head of the report: abbreviated the Vietnamese way
    (``authority_short``) or the full name in capitals, as the catalog's
    ``render.authority_style`` ("short" | "full") of ``lang`` says."""
    if tr(lang, "render.authority_style") == "short":
        return authority_short(text)
    return (text or "").upper()

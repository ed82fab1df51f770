"""Words and number/date formats of the rendered reports (Vietnamese by default, English)."""

from __future__ import annotations

from datetime import date
from typing import Any

BUCKET: dict[str, tuple[str, str]] = {
    "completed": ("Đã hoàn thành", "Completed"),
    "in_progress_within_deadline": ("Đang thực hiện trong hạn", "In progress, within deadline"),
    "overdue": ("Quá hạn", "Overdue"),
    "not_yet_due": ("Chưa đến hạn", "Not yet due"),
    "ongoing": ("Thường xuyên", "Ongoing"),
    "no_deadline": ("Không có thời hạn", "No deadline"),
    "unassigned": ("Chưa giao đơn vị chủ trì", "No lead unit"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "no_occurrence": ("Không có kỳ thực hiện trong kỳ báo cáo", "No occurrence in this period"),
}
COMPLETION: dict[str, tuple[str, str]] = {
    "on_time": ("đúng hạn", "on time"),
    "late": ("trễ hạn", "late"),
    "unknown": ("chưa rõ thời điểm", "timeliness unknown"),
}
UNIT_STATUS: dict[str, tuple[str, str]] = {
    "green": ("Xanh", "Green"),
    "yellow": ("Vàng", "Yellow"),
    "red": ("Đỏ", "Red"),
}
ITEM_STATUS: dict[str, tuple[str, str]] = {
    "not_started": ("Chưa bắt đầu", "Not started"),
    "in_progress": ("Đang thực hiện", "In progress"),
    "submitted": ("Chờ xác nhận", "Submitted"),
    "completed": ("Đã hoàn thành", "Completed"),
    "blocked": ("Vướng mắc", "Blocked"),
    "cancelled": ("Đã hủy", "Cancelled"),
}
DIRECTION: dict[str, tuple[str, str]] = {"up": ("Tăng", "Up"), "down": ("Giảm", "Down"), "flat": ("Không đổi", "Flat")}

# summary rows: (key, Vietnamese, English)
SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("total", "Tổng số được theo dõi", "Total tracked"),
    ("due", "Đã đến hạn", "Due"),
    ("completed", "Đã hoàn thành", "Completed"),
    ("completed_on_time", "   - Đúng hạn", "   - on time"),
    ("completed_late", "   - Trễ hạn", "   - late"),
    ("completed_unknown", "   - Chưa rõ thời điểm hoàn thành", "   - timeliness unknown"),
    ("completed_ahead", "   - Trong đó hoàn thành trước khi đến hạn", "   - of which before becoming due"),
    ("in_progress_within_deadline", "Đang thực hiện trong hạn", "In progress within deadline"),
    ("overdue", "Quá hạn chưa hoàn thành", "Overdue"),
    ("not_yet_due", "Chưa đến hạn", "Not yet due"),
    ("ongoing", "Nhiệm vụ thường xuyên", "Ongoing"),
    ("ongoing_with_results", "   - Có kết quả trong kỳ", "   - with results this period"),
    ("no_deadline", "Không có thời hạn", "No deadline"),
)
PERCENT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("completed_of_due", "Tỷ lệ hoàn thành (trên số đến hạn)", "Completed of due"),
    ("on_time_of_completed", "Tỷ lệ đúng hạn (trên số hoàn thành rõ thời điểm)", "On time of completed"),
    ("overdue_of_due", "Tỷ lệ quá hạn (trên số đến hạn)", "Overdue of due"),
)


def t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def pick(table: dict[str, tuple[str, str]], key: str | None, lang: str) -> str:
    if key is None:
        return "—"
    vi, en = table.get(key, (key, key))
    return en if lang == "en" else vi


def fmt_date(iso: str | None, lang: str = "vi") -> str:
    if not iso:
        return "—"
    d = date.fromisoformat(iso[:10])
    return d.isoformat() if lang == "en" else d.strftime("%d/%m/%Y")


def fmt_pct(value: float | None, lang: str = "vi") -> str:
    if value is None:
        return "—"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return (text if lang == "en" else text.replace(".", ",")) + "%"


def fmt_num(value: Any, lang: str = "vi") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return t(lang, "Có", "Yes") if value else t(lang, "Không", "No")
    if isinstance(value, int):
        text = f"{value:,}"
        return text if lang == "en" else text.replace(",", ".")
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return fmt_num(int(value), lang)
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return text if lang == "en" else text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return str(value)


def long_date(iso: str, lang: str = "vi") -> str:
    """"ngày 24 tháng 5 năm 2025" / "24 May 2025"."""
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}" if lang == "en" else f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def authority_short(text: str | None) -> str:
    """"Ủy ban nhân dân tỉnh Lâm Sơn" -> "UBND TỈNH LÂM SƠN" (header line of an official document)."""
    if not text:
        return "UBND TỈNH …"
    s = text.replace("Ủy ban nhân dân", "UBND").replace("Uỷ ban nhân dân", "UBND")
    return s.upper()

"""Calendar days and moments as people write and read them (dd/mm/yyyy, committee local time)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from engine.clock import DEFAULT_TZ, require_aware
from engine.errors import UserError
from engine.i18n import tr


def parse_day(text: str, *, lang: str = "vi") -> date:
    """A calendar date written YYYY-MM-DD or dd/mm/yyyy (UserError otherwise)."""
    raw = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", raw):
            y, m, d = (int(x) for x in raw.split("-"))
            return date(y, m, d)
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", raw):
            d, m, y = (int(x) for x in raw.split("/"))
            return date(y, m, d)
    except ValueError:
        pass
    raise UserError(tr(lang, "lc.bad_day", raw=raw))


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")
_DMY_DAY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?:\s.*)?")


def read_day(text: str) -> date | None:
    """A date as people type it in a sheet: dd/mm/yyyy, d-m-yyyy, d.m.yyyy or yyyy-mm-dd, a
    time after it ignored; None when it is none of them (the lenient sibling of ``parse_day``,
    for cells: the caller names the cell in its own message)."""
    raw = str(text).strip()
    m = _ISO_DAY.fullmatch(raw)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _DMY_DAY.fullmatch(raw)
        if not m:
            return None
        d, mo, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def fmt_local(moment: datetime | None, tz: str = DEFAULT_TZ) -> str:
    """dd/mm/yyyy HH:MM in the committee's timezone."""
    if moment is None:
        return "—"
    return require_aware(moment).astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")


def fmt_date(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "—"

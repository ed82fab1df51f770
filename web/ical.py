"""iCalendar (RFC 5545) feed of a unit's open deadlines: one all-day event per work item."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.i18n import tr
from engine.states import OPEN_STATES, status_label
from engine.models import Plan, Task, Unit, WorkItem

MAX_EVENTS = 5000


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Fold to 75 octets per line (continuation lines start with a space)."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    cur = b""
    limit = 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(cur) + len(b) > limit:
            parts.append(cur.decode("utf-8"))
            cur = b
            limit = 74
        else:
            cur += b
    parts.append(cur.decode("utf-8"))
    return "\r\n ".join(parts)


def unit_calendar(session: Session, unit: Unit, *, now: datetime, base_url: str, lang: str = "vi") -> str:
    """The feed text for ``unit`` (its open items with a deadline, and its groups' items)."""
    codes = [unit.code] + list(unit.groups or [])
    for g in session.execute(select(Unit).where(Unit.is_group.is_(True))).scalars():
        if unit.code in (g.members or []) and g.code not in codes:
            codes.append(g.code)
    rows = session.execute(
        select(WorkItem, Task, Plan.code, Unit.code)
        .join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
        .join(Unit, Unit.id == WorkItem.unit_id)
        .where(Unit.code.in_(codes), WorkItem.status.in_(OPEN_STATES), WorkItem.deadline.is_not(None))
        .order_by(WorkItem.deadline, WorkItem.id).limit(MAX_EVENTS)).all()
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    host = base_url.split("//", 1)[-1].split("/", 1)[0] or "steer"
    base = base_url.rstrip("/")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Steer//Steering committee deadlines//VI", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", _fold(f"X-WR-CALNAME:{_escape(tr(lang, 'ical.name', unit=unit.name))}")]
    for w, task, plan_code, ucode in rows:
        start = w.deadline
        end = start + timedelta(days=1)
        summary = f"[{plan_code}/{task.code}] {task.title}"
        desc = tr(lang, "ical.description", status=status_label(w.status, lang), unit=ucode,
                  link=f"{base}/items/{w.id}")
        lines += [
            "BEGIN:VEVENT",
            f"UID:steer-item-{w.id}@{host}",
            f"SEQUENCE:{w.version}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
            f"DTEND;VALUE=DATE:{end:%Y%m%d}",
            _fold(f"SUMMARY:{_escape(summary)}"),
            _fold(f"DESCRIPTION:{_escape(desc)}"),
            _fold(f"URL:{base}/items/{w.id}"),
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"

"""Messages of the iCalendar feed of a unit's deadlines (web/ical.py)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "ical.name": ("Thời hạn {unit}", "Deadlines {unit}"),
    "ical.description": ("Trạng thái: {status}\nĐơn vị: {unit}\n{link}", "Status: {status}\nUnit: {unit}\n{link}"),
}

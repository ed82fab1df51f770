"""Messages: a digest (``engine.escalation.Digest``) rendered with the Jinja templates in
``notifications/templates`` — ``subject.<lang>.txt.j2`` and ``digest.<lang>.txt.j2``,
Vietnamese by default, English with ``lang="en"``.

The subject states the worst state first: "3 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn —
Sở Nội vụ"; the body lists the items grouped by plan and unit, worst first, each with its
reference, title, deadline, days overdue, lead unit, status, latest progress note and a
link when a base URL is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from engine.escalation import STATE_ORDER, Digest
from engine.lifecycle import status_label
from notifications.quoting import one_line, quoted

TEMPLATES = Path(__file__).resolve().parent / "templates"

STATE_LABELS: dict[str, tuple[str, str]] = {
    "overdue": ("Quá hạn", "Overdue"),
    "due_soon": ("Sắp đến hạn", "Due soon"),
    "extension_pending": ("Đề nghị gia hạn chờ quyết định", "Extension request awaiting a decision"),
    "verification_pending": ("Chờ xác nhận hoàn thành", "Awaiting verification"),
    "delivery_failed": ("Không gửi được thông báo", "Notification not delivered"),
}
# subject phrases: (vi, en singular, en plural)
COUNT_PHRASES: dict[str, tuple[str, str, str]] = {
    "overdue": ("{n} nhiệm vụ quá hạn", "{n} overdue task", "{n} overdue tasks"),
    "delivery_failed": ("{n} thông báo không gửi được", "{n} notification not delivered", "{n} notifications not delivered"),
    "extension_pending": ("{n} đề nghị gia hạn chờ quyết định", "{n} extension request awaiting a decision",
                          "{n} extension requests awaiting a decision"),
    "verification_pending": ("{n} kết quả chờ xác nhận", "{n} submission awaiting verification",
                             "{n} submissions awaiting verification"),
    "due_soon": ("{n} nhiệm vụ sắp đến hạn", "{n} task due soon", "{n} tasks due soon"),
}


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    body: str
    key: str  # idempotency key (the batch key)
    lang: str = "vi"
    items: int = 0


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=False, undefined=StrictUndefined)
    env.filters["d"] = lambda v: v.strftime("%d/%m/%Y") if isinstance(v, date) else ("—" if v is None else str(v))
    env.filters["dt"] = _local_dt
    env.filters["one_line"] = one_line  # text from people and files: one line, no live links
    env.filters["quoted"] = quoted  # ... and in «…» (notes, reasons)
    return env


@pass_context
def _local_dt(ctx: Any, v: Any) -> str:
    """dd/mm/yyyy HH:MM in the committee's timezone (the ``tz`` of the render context)."""
    if not isinstance(v, datetime):
        return "—"
    return v.astimezone(ZoneInfo(ctx["tz"])).strftime("%d/%m/%Y %H:%M")


def subject_parts(digest: Digest) -> list[str]:
    """"3 nhiệm vụ quá hạn", "1 nhiệm vụ sắp đến hạn", ... worst state first."""
    out = []
    for state in STATE_ORDER:
        n = digest.counts.get(state, 0)
        if not n:
            continue
        vi, en1, en2 = COUNT_PHRASES[state]
        out.append((en1 if n == 1 else en2).format(n=n) if digest.lang == "en" else vi.format(n=n))
    return out


def render(digest: Digest) -> Message:
    from engine.links import digest_links

    lang = "en" if digest.lang == "en" else "vi"
    digest_links(digest)  # signed one-click links when STEER_SECRET_KEY is set (engine/links.py)
    env = _env()
    ctx = {
        "digest": digest, "parts": subject_parts(digest), "tz": digest.tz,
        "state_label": lambda s: _pick(STATE_LABELS.get(s, (s, s)), lang),
        "status_label": lambda s: status_label(s, lang),
    }
    subject = env.get_template(f"subject.{lang}.txt.j2").render(ctx).strip()
    body = env.get_template(f"digest.{lang}.txt.j2").render(ctx).strip() + "\n"
    return Message(recipient=digest.recipient, subject=subject, body=body, key=digest.key, lang=lang,
                   items=len(digest.items))

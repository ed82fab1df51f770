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
from engine.i18n import has, norm_lang, tr
from engine.states import status_label
from notifications.quoting import one_line, quoted

TEMPLATES = Path(__file__).resolve().parent / "templates"

# state labels and subject phrases: the catalog's notify.state.<state>, notify.count[_one].<state>


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    body: str
    key: str  # idempotency key (the batch key)
    lang: str = "vi"
    items: int = 0
    attachments: tuple[str, ...] = ()  # file paths sent along (reports)


def state_label(state: str, lang: str) -> str:
    key = f"notify.state.{state}"
    return tr(lang, key) if has(key) else state


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
        out.append(tr(digest.lang, f"notify.count_one.{state}" if n == 1 else f"notify.count.{state}", n=n))
    return out


def render(digest: Digest) -> Message:
    from engine.links import digest_links

    lang = norm_lang(digest.lang)
    digest_links(digest)  # signed one-click links when STEER_SECRET_KEY is set (engine/links.py)
    env = _env()
    ctx = {
        "digest": digest, "parts": subject_parts(digest), "tz": digest.tz,
        "state_label": lambda s: state_label(s, lang),
        "status_label": lambda s: status_label(s, lang),
    }
    subject = env.get_template(f"subject.{lang}.txt.j2").render(ctx).strip()
    body = env.get_template(f"digest.{lang}.txt.j2").render(ctx).strip() + "\n"
    return Message(recipient=digest.recipient, subject=subject, body=body, key=digest.key, lang=lang,
                   items=len(digest.items))

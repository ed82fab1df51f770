"""Messages: a digest (``engine.escalation.Digest``) rendered with the Jinja templates in
``notifications/templates`` — ``subject.<lang>.txt.j2`` and ``digest.<lang>.txt.j2``,
Vietnamese by default, English with ``lang="en"``.

The subject states the worst state first: "3 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn —
Sở Nội vụ"; the body lists the items grouped by plan and unit, worst first, each with its
reference, title, deadline, days overdue, lead unit, status, latest progress note and a
link when a base URL is configured.
"""

from __future__ import annotations

import re
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
    html: str | None = None  # the HTML part of an e-mail (the text part is made from it)
    sender: str = ""  # display name of the sender (never "Apprise")


def state_label(state: str, lang: str) -> str:
    key = f"notify.state.{state}"
    return tr(lang, key) if has(key) else state


@cache
def _env(html: bool = False) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=html, trim_blocks=True,
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


# An e-mail digest stays within this many bytes on the wire (issue 17: a 300-item chair
# digest ≤ 15 KB). Measured: the message is the HTML part plus a text part Apprise derives
# from it (about the HTML without its tags), both base64 (×4/3, plus line ends), plus ~1 KB
# of headers and MIME boundaries.
MAIL_BUDGET_BYTES = 15 * 1024
MIN_FULL = 5
_TAG = re.compile(r"<[^>]+>")


def _wire_estimate(html: str) -> int:
    content = len(html.encode("utf-8")) + len(_TAG.sub("", html).encode("utf-8"))
    return int(content * 1.36) + 1100


def count_parts(counts: dict[str, int], lang: str) -> list[str]:
    """"12 nhiệm vụ quá hạn", "1 nhiệm vụ sắp đến hạn" for one unit's counts, worst first."""
    return [tr(lang, f"notify.count_one.{st}" if n == 1 else f"notify.count.{st}", n=n)
            for st in STATE_ORDER if (n := counts.get(st, 0))]


def render(digest: Digest) -> Message:
    """Subject, plain text (``digest.<lang>.txt.j2``: every channel) and HTML
    (``digest.html.j2``: e-mail, whose text part Apprise derives from it) of one digest:
    the first ``digest.max_items`` items in full, worst first, then the counts per lead
    unit and one link to the list in the web app."""
    from engine.links import digest_links
    from engine.reporting import period_key_label

    lang = norm_lang(digest.lang)
    digest_links(digest)  # signed one-click links when STEER_SECRET_KEY is set (engine/links.py)
    env = _env()
    ctx = {
        "digest": digest, "parts": subject_parts(digest), "tz": digest.tz, "lang": lang,
        "rest": digest.rest_by_unit,
        "several": len(digest.counts) > 1,  # state labels only when the digest mixes states
        "state_label": lambda s: state_label(s, lang),
        "status_label": lambda s: status_label(s, lang),
        "count_parts": lambda c: count_parts(c, lang),
        "t": lambda msg_key, **kw: tr(lang, msg_key, **kw),
        "period_label": lambda key: period_key_label(str(key or ""), lang),  # "2025-10" -> "tháng 10/2025"
    }
    subject = env.get_template(f"subject.{lang}.txt.j2").render(ctx).strip()
    html_t = _env(True).get_template("digest.html.j2")
    html = html_t.render({**ctx, "subject": subject}).strip() + "\n"
    # Fit the e-mail in MAIL_BUDGET_BYTES: fewer items in full (never fewer than MIN_FULL)
    # when long titles or signed links would make it larger; the rest are counted per unit.
    while _wire_estimate(html) > MAIL_BUDGET_BYTES and digest.max_items > MIN_FULL:
        digest.max_items = max(MIN_FULL, min(digest.max_items, len(digest.items)) - 1)
        ctx["rest"] = digest.rest_by_unit
        html = html_t.render({**ctx, "subject": subject}).strip() + "\n"
    body = env.get_template(f"digest.{lang}.txt.j2").render(ctx).strip() + "\n"
    return Message(recipient=digest.recipient, subject=subject, body=body, key=digest.key, lang=lang,
                   items=len(digest.items), html=html, sender=digest.sender)

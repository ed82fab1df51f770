"""Send a generated report, with its files attached, to people through Apprise.

Scheduled reports go **through the outbox** (:func:`enqueue_report`): one row per person
with an idempotency key per (report, person), delivered, retried with backoff and recorded
like the escalation digests (``notifications.delivery.dispatch``), the files re-rendered
from the stored snapshot at send time. :func:`send_report` sends at once (no outbox).

One fresh ``Apprise`` object per person (Apprise throttles repeated sends on one object),
every notify URL of the person in it, the files passed as ``attach=``. Returns one row per
URL with the outcome, so the caller can record delivery per channel.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Recipient:
    id: str
    name: str
    role: str
    urls: tuple[str, ...] = field(default_factory=tuple)


def send_report(recipients: Sequence[Recipient], *, title: str, body: str, attachments: Sequence[str | Path],
                timeout: float = 30) -> list[dict[str, Any]]:
    """Deliver to each recipient; rows ``{person, role, url, status}`` (status SUCCESS/FAILURE/...,
    INVALID_URL, or NO_ADDRESS for a person without a notify URL). URLs are redacted
    (``notifications.delivery.redact``: no password, token or query string)."""
    import apprise

    from notifications.delivery import redact

    files = [str(p) for p in attachments]
    out: list[dict[str, Any]] = []
    for r in recipients:
        if not r.urls:
            out.append({"person": r.id, "role": r.role, "url": None, "status": "NO_ADDRESS"})
            continue
        app = apprise.Apprise()
        bad = [u for u in r.urls if not app.add(u)]
        for u in bad:
            out.append({"person": r.id, "role": r.role, "url": redact(u), "status": "INVALID_URL"})
        if len(bad) == len(r.urls):
            continue
        attach = apprise.AppriseAttachment()
        for f in files:
            attach.add(f)
        result = app.notify(body=body, title=title, attach=attach, timeout=timeout)
        for one in result:
            status = getattr(one.status, "name", str(one.status))
            out.append({"person": r.id, "role": r.role, "url": redact(one.url), "status": status})
    return out


# --- through the outbox -----------------------------------------------------------------------------

DEFAULT_FORMATS: tuple[str, ...] = ("xlsx", "docx", "html")


def report_batch_key(snapshot_id: int, person_id: str) -> str:
    """The idempotency key of one report to one person (the same on every retry)."""
    return f"steer-report-{snapshot_id}-{hashlib.sha256(person_id.encode('utf-8')).hexdigest()[:16]}"


def file_stem(data: dict[str, Any], snapshot_id: int) -> str:
    what = data["plan"]["code"] if data.get("plan") else "tong-hop"  # no plan: a stored roll-up (engine.rollup)
    return re.sub(r"[^\w.-]+", "-", f"bao-cao-{what}-{data['period']['key']}-{snapshot_id}").strip("-")


def write_report_files(engine: Any, snapshot_id: int, folder: str | Path,
                       formats: Sequence[str] = DEFAULT_FORMATS) -> list[str]:
    """Render the stored snapshot ``snapshot_id`` into ``folder``; returns the file paths."""
    from engine.db import transaction
    from engine.render import EXTENSIONS, render
    from engine.snapshots import snapshot_data

    with transaction(engine) as s:
        data = snapshot_data(s, snapshot_id)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats or DEFAULT_FORMATS:
        path = out / f"{file_stem(data, snapshot_id)}{EXTENSIONS[fmt]}"
        path.write_bytes(render(data, fmt))
        paths.append(str(path))
    return paths


def enqueue_report(session: Any, recipients: Sequence[Recipient], *, snapshot_id: int, title: str, body: str,
                   now: Any, formats: Sequence[str] = DEFAULT_FORMATS) -> int:
    """Queue the report for each recipient with a notify address: one outbox row each,
    unique per (report, person) — queuing again (a retried run) adds nothing, and a report
    already sent is not sent again. Returns the rows added. Delivery, retries with backoff
    and the secretariat's failure notice are the digests' (notifications.delivery)."""
    from sqlalchemy import func, select

    from engine.models import OutboxMessage
    from engine.outbox import OutboxStatus
    from engine.policy import FAILURE_RANK
    from notifications.delivery import REPORT_LEVEL

    added = 0
    for r in recipients:
        if not r.urls:
            continue
        key = f"report:{snapshot_id}:person:{r.id}"
        if session.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key == key)).scalar():
            continue
        session.add(OutboxMessage(
            dedupe_key=key, level=REPORT_LEVEL, level_rank=FAILURE_RANK, occurrence=f"report-{snapshot_id}",
            work_item_id=None, deadline=None, recipient=f"person:{r.id}", status=OutboxStatus.PENDING, not_before=now,
            next_attempt_at=now, attempts=0, delivered=[], batch_key=report_batch_key(snapshot_id, r.id),
            data={"snapshot_id": snapshot_id, "title": title, "body": body, "formats": list(formats)}, created_at=now))
        added += 1
    session.flush()
    return added

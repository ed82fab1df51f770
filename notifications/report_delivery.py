"""Send a generated report, with its files attached, to people through Apprise.

One fresh ``Apprise`` object per person (Apprise throttles repeated sends on one object),
every notify URL of the person in it, the files passed as ``attach=``. Returns one row per
URL with the outcome, so the caller can record delivery per channel.
"""

from __future__ import annotations

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

"""One-click signed links for notifications (pure: no web import, no clock reading).

A link is ``{base_url}/l/{token}``. The token names its purpose in clear
(``open.`` or ``ack.``) followed by an itsdangerous signature over the claims, made with a
salt per purpose, so a token signed for one purpose never verifies for another:

- ``open``: open one work item of one unit (and act on it as that unit's focal point,
  or as the named recipient);
- ``ack``: acknowledge the escalation of one work item.

Claims: ``i`` work item id, ``u`` unit code, ``r`` recipient person id (or None for the
unit's focal point), ``e`` expiry (Unix seconds). The expiry is derived from a date, not
the clock, so re-rendering the same notification gives the same link.

The signing key is ``STEER_SECRET_KEY`` (the same key the web app uses); without it
notifications keep their plain ``{base_url}/items/{id}`` links, which need a login.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from engine.clock import local_datetime
from engine.errors import SteerError

PURPOSES = ("open", "ack")
DEFAULT_DAYS = 14
SECRET_ENV = "STEER_SECRET_KEY"


class LinkError(SteerError):
    """Base: the link cannot be used. ``reason`` is "invalid" or "expired"."""

    reason = "invalid"


class LinkInvalid(LinkError):
    reason = "invalid"


class LinkExpired(LinkError):
    reason = "expired"

    def __init__(self, claims: LinkClaims):
        super().__init__("expired")
        self.claims = claims


@dataclass(frozen=True)
class LinkClaims:
    purpose: str
    item_id: int
    unit_code: str
    recipient: str | None
    expires: int  # Unix seconds

    @property
    def expires_at(self) -> datetime:
        from datetime import timezone

        return datetime.fromtimestamp(self.expires, tz=timezone.utc)


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return URLSafeSerializer(secret_key, salt=f"steer.link.{purpose}")


def make_token(secret_key: str, *, purpose: str, item_id: int, unit_code: str, expires: datetime | int,
               recipient: str | None = None) -> str:
    """A signed token for ``purpose`` on one item of one unit, valid until ``expires``."""
    if not secret_key:
        raise ValueError("a secret key is required to sign links")
    exp = int(expires.timestamp()) if isinstance(expires, datetime) else int(expires)
    payload: dict[str, Any] = {"i": int(item_id), "u": str(unit_code), "r": recipient, "e": exp}
    return f"{purpose}.{_serializer(secret_key, purpose).dumps(payload)}"


def read_token(secret_key: str, token: str, *, now: datetime) -> LinkClaims:
    """The claims of a valid token; ``LinkInvalid`` (tampered, unknown purpose, wrong key)
    or ``LinkExpired`` (valid signature, past its expiry)."""
    purpose, _, signed = (token or "").partition(".")
    if purpose not in PURPOSES or not signed or len(token) > 2000:
        raise LinkInvalid("invalid")
    try:
        data = _serializer(secret_key, purpose).loads(signed)
    except BadSignature:
        raise LinkInvalid("invalid") from None
    try:
        claims = LinkClaims(purpose=purpose, item_id=int(data["i"]), unit_code=str(data["u"]),
                            recipient=(str(data["r"]) if data.get("r") else None), expires=int(data["e"]))
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid("invalid") from None
    if now.timestamp() > claims.expires:
        raise LinkExpired(claims)
    return claims


def expiry_for(day: date, *, days: int = DEFAULT_DAYS, tz: str = "Asia/Ho_Chi_Minh") -> datetime:
    """End of the committee-local day ``days`` after ``day`` (deterministic per notification day)."""

    return local_datetime(day + timedelta(days=days), time(23, 59, 59), tz)


def secret_from_env() -> str | None:
    return os.environ.get(SECRET_ENV) or None


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/l/{token}"


def digest_links(digest: Any, *, secret_key: str | None = None, days: int = DEFAULT_DAYS) -> None:
    """Replace each digest item's plain ``{base}/items/{id}`` link with a signed "open" link,
    and add a signed "ack" link in ``item.extra["ack_link"]`` for overdue items, when a
    signing key is configured. ``digest``: an ``engine.escalation.Digest``."""
    key = secret_key or secret_from_env()
    if not key:
        return
    recipient = digest.recipient or ""
    kind, _, who = recipient.partition(":")
    person = who if kind == "person" else None
    exp = expiry_for(digest.today, days=days, tz=digest.tz)
    for item in digest.items:
        if not item.link or item.work_item_id is None or "/items/" not in item.link:
            continue
        base = item.link.rsplit("/items/", 1)[0]
        open_token = make_token(key, purpose="open", item_id=item.work_item_id, unit_code=item.unit_code,
                                expires=exp, recipient=person)
        item.link = link_url(base, open_token)
        if item.state in ("overdue", "due_soon"):
            ack_token = make_token(key, purpose="ack", item_id=item.work_item_id, unit_code=item.unit_code,
                                   expires=exp, recipient=person)
            item.extra = {**(item.extra or {}), "ack_link": link_url(base, ack_token)}

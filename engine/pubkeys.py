"""Child units' public keys: their textual form and the keys a directory file publishes.

A unit's Ed25519 public key is written "ed25519:" + base64 of its 32 raw bytes (what
``steer keys show`` prints). The level above trusts it with ``steer keys trust`` or by
loading a directory file whose unit carries it as ``signing_key`` (:func:`directory_keys`).
Kept apart from ``engine.rollup`` so the directory parser and store can use it without the
roll-up's imports (the engine's modules have no import cycles).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import UserError
from engine.i18n import tr
from engine.models import RollupKey, Unit

KEY_PREFIX = "ed25519:"


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def public_text(raw: bytes) -> str:
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def decode_public(text: Any) -> bytes | None:
    """The 32 raw bytes of "ed25519:BASE64" (what ``steer keys show`` prints), or None."""
    if not isinstance(text, str):
        return None
    t = text.strip()
    if not t.startswith(KEY_PREFIX):
        return None
    try:
        raw = base64.b64decode(t[len(KEY_PREFIX):], validate=True)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def directory_keys(session: Session, keys: Sequence[tuple[str, str]], *, source: str, now: datetime,
                   actor: str = "secretariat", lang: str = "vi") -> int:
    """Trust the child units' public keys published in a directory file (each unit's
    ``signing_key``: ``(unit code, "ed25519:…")``, already checked by the directory parser).

    The directory is the word of the level above on a unit's key: the listed key is trusted
    and every other key of that unit is retired (kept, so the snapshots it signed stay
    verifiable, but refused for new snapshots from now on), each change an audit event.
    A unit without ``signing_key`` keeps its keys. Returns how many keys changed (0: the same
    file loaded again writes nothing)."""
    from engine.audit import append_events

    if not keys:
        return 0
    codes = {c for c, _ in keys}
    units = {u.code: u for u in session.execute(select(Unit).where(Unit.code.in_(codes))).scalars()}
    texts = {public_text(decode_public(t) or b"") for _, t in keys}
    by_text = {k.public_key: k for k in session.execute(select(RollupKey).where(RollupKey.public_key.in_(texts)))
               .scalars()}
    ids = {u.id for u in units.values()}
    of_unit: dict[int, list[RollupKey]] = {}
    for k in session.execute(select(RollupKey).where(RollupKey.unit_id.in_(ids)).order_by(RollupKey.id)).scalars():
        of_unit.setdefault(k.unit_id, []).append(k)
    code_of = dict(session.execute(select(Unit.id, Unit.code).where(
        Unit.id.in_({k.unit_id for k in by_text.values()}))).all()) if by_text else {}
    events: list[dict[str, Any]] = []
    for code, given in keys:
        raw = decode_public(given)
        unit = units.get(code)
        assert raw is not None and unit is not None  # checked by the parser; the units were just stored
        text = public_text(raw)
        row = by_text.get(text)
        if row is not None and row.unit_id != unit.id:
            raise UserError(tr(lang, "dir.signing_key_other_unit", source=source, code=code, key_id=row.key_id,
                               unit=code_of.get(row.unit_id, "?")))
        if row is None:
            row = RollupKey(unit_id=unit.id, public_key=text, key_id=key_id(raw), added_by=actor, added_at=now)
            session.add(row)
            of_unit.setdefault(unit.id, []).append(row)
            by_text[text] = row
            events.append({"kind": "rollup_key_trusted", "note": f"{code} {row.key_id}",
                           "data": {"unit": code, "key_id": row.key_id, "public_key": text, "source": source}})
        elif row.retired_at is not None:
            row.retired_at = None
            events.append({"kind": "rollup_key_trusted", "note": f"{code} {row.key_id}",
                           "data": {"unit": code, "key_id": row.key_id, "public_key": text, "source": source,
                                    "trusted_again": True}})
        for old in of_unit.get(unit.id, []):
            if old is not row and old.retired_at is None:
                old.retired_at = now
                events.append({"kind": "rollup_key_retired", "note": f"{code} {old.key_id} -> {row.key_id}",
                               "data": {"unit": code, "key_id": old.key_id, "public_key": old.public_key,
                                        "replaced_by": row.key_id, "source": source}})
    if events:
        session.flush()
        append_events(session, [{"at": now, "actor": actor, "actor_role": "secretariat", **e} for e in events], now=now)
    return len(events)

"""Anchoring the audit chain outside the database: signed checkpoints and a state replay.

The hash chain (``engine.audit``) alone shows that rows were edited or removed *by someone
who did not recompute it*: its head lives in the same database and its hash is plain
SHA-256, so whoever can write the database can delete the newest events and move
``chain_head``, or edit an event and recompute every later hash, and the chain is intact
again. A checkpoint closes that gap up to the moment it was taken:

- ``checkpoint`` signs the chain head (last event id, its hash, the event count, the hash of
  event #1 naming this chain) with an Ed25519 key kept **outside the database** (a key file
  the operator keeps, ``make_key``) and appends the signed record to a checkpoint file, also
  outside the database (one JSON object a line; copy it somewhere the database's writers
  cannot reach: another host, write-once storage, the roll-up report archive).
- ``check_checkpoints`` (``steer audit verify --checkpoints FILE --key KEY``): every record's
  signature must be valid, its event must still be in the log with the same hash, and the
  log must not have shrunk below it — so deleting events up to the checkpoint (and moving
  the head), or editing one and recomputing the later hashes, is found.
- ``replay_problems``: each work item's stored status must equal the status its events
  give (the ``to_status`` of its last "status" event; "not_started" without one), so a bare
  ``UPDATE work_item SET status = …`` with no event is found.

What stays open: events appended after the newest checkpoint can still be rewritten or
dropped unseen by the checkpoint (take checkpoints often, e.g. from the daily flow); a
person with both the key file and the checkpoint file can forge both; columns outside the
events and the item status (deadlines, titles, accounts) are covered by neither check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import String, func, literal, select
from sqlalchemy.orm import Session

from engine.clock import require_aware
from engine.errors import InputFileError, UserError
from engine.i18n import tr
from engine.models import ChainHead, Event, WorkItem
from engine.states import Status

KEY_ENV = "STEER_AUDIT_KEY"
CHECKPOINTS_ENV = "STEER_AUDIT_CHECKPOINTS"
VERSION = 1
SIGNED = ("v", "event_id", "hash", "count", "first", "at")


# --- keys ----------------------------------------------------------------------------------------


def make_key(path: str | Path, *, lang: str = "vi") -> Path:
    """Write a new Ed25519 private key to ``path`` (PEM, mode 0600) and its public key to
    ``path.pub``; refuses to overwrite (checkpoints signed with the old key would no longer verify)."""
    p = Path(path)
    if p.exists():
        raise UserError(tr(lang, "sec.key_exists", path=str(p)))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub = p.with_name(p.name + ".pub")
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return pub


def _read_pem(path: str | Path, lang: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(tr(lang, "sec.key_unreadable", path=str(path), error=exc.strerror or str(exc))) from None


def load_private_key(path: str | Path, *, lang: str = "vi") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read_pem(path, lang), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputFileError(tr(lang, "sec.key_invalid", path=str(path)))
    return key


def load_public_key(path: str | Path, *, lang: str = "vi") -> Ed25519PublicKey:
    """The public key from a private key file or from its ``.pub``."""
    data = _read_pem(path, lang)
    try:
        key: Any = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            key = None
    if not isinstance(key, Ed25519PublicKey):
        raise InputFileError(tr(lang, "sec.key_invalid", path=str(path)))
    return key


# --- checkpoints ---------------------------------------------------------------------------------


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps({k: record[k] for k in SIGNED}, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _first_hash(session: Session) -> str | None:
    return session.scalar(select(Event.hash).order_by(Event.id).limit(1))


def checkpoint(session: Session, *, key_path: str | Path, out_path: str | Path, now: datetime,
               lang: str = "vi") -> dict[str, Any]:
    """Sign the chain head and append the record to ``out_path``; returns the record."""
    require_aware(now)
    key = load_private_key(key_path, lang=lang)
    head = session.execute(select(ChainHead.last_event_id, ChainHead.last_hash, ChainHead.count)
                           .where(ChainHead.id == 1)).one()
    record: dict[str, Any] = {"v": VERSION, "event_id": int(head[0]), "hash": head[1], "count": int(head[2]),
                              "first": _first_hash(session), "at": now.isoformat()}
    record["sig"] = key.sign(_canonical(record)).hex()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return record


def read_checkpoints(path: str | Path, *, lang: str = "vi") -> list[dict[str, Any]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputFileError(tr(lang, "sec.checkpoints_unreadable", path=str(path),
                                error=exc.strerror or str(exc))) from None
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or not all(k in rec for k in (*SIGNED, "sig")):
                raise ValueError
        except ValueError:
            raise InputFileError(tr(lang, "sec.checkpoint_bad_line", path=str(path), line=n)) from None
        rec["_line"] = n
        out.append(rec)
    return out


def check_checkpoints(session: Session, records: Iterable[dict[str, Any]], public_key: Ed25519PublicKey, *,
                      lang: str = "vi") -> tuple[int, list[str]]:
    """(how many records were checked, problems): each record must carry a valid signature,
    name an event still in the log with the same hash, and the log must not have shrunk
    below it; all records must be of this chain (same first event)."""
    records = list(records)
    problems: list[str] = []
    first = _first_hash(session)
    head_id, head_count = session.execute(select(ChainHead.last_event_id, ChainHead.count)
                                          .where(ChainHead.id == 1)).one()
    present = max(int(session.scalar(select(func.max(Event.id))) or 0), 0)
    wanted = {int(r["event_id"]) for r in records if isinstance(r.get("event_id"), int)}
    hashes = dict(session.execute(select(Event.id, Event.hash).where(Event.id.in_(wanted))).all()) if wanted else {}
    for r in records:
        line, eid = r["_line"], r["event_id"]
        try:
            public_key.verify(bytes.fromhex(str(r["sig"])), _canonical(r))
        except (InvalidSignature, ValueError):
            problems.append(tr(lang, "sec.cp_bad_signature", line=line, event_id=eid))
            continue
        if eid == 0:  # taken on an empty log
            continue
        if r["first"] != first:
            problems.append(tr(lang, "sec.cp_other_chain", line=line, event_id=eid))
            continue
        if eid not in hashes:
            problems.append(tr(lang, "sec.cp_event_missing", line=line, event_id=eid, last=present))
        elif hashes[eid] != r["hash"]:
            problems.append(tr(lang, "sec.cp_hash_differs", line=line, event_id=eid))
        if int(head_id) < eid or int(head_count) < int(r["count"]):
            problems.append(tr(lang, "sec.cp_log_shrank", line=line, event_id=eid, count=r["count"],
                               head=int(head_id), head_count=int(head_count)))
    return len(records), problems


# --- state replay --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateMismatch:
    item_id: int
    stored: str
    replayed: str


def replay_mismatches(session: Session, *, limit: int = 50) -> list[StateMismatch]:
    """Work items whose stored status differs from the status their events give (the
    ``to_status`` of the last "status" event; "not_started" without one)."""
    last = (select(Event.work_item_id.label("wid"), func.max(Event.id).label("eid"))
            .where(Event.kind == "status", Event.work_item_id.is_not(None))
            .group_by(Event.work_item_id).subquery())
    replayed = func.coalesce(Event.to_status, literal(Status.NOT_STARTED, String))
    rows = session.execute(
        select(WorkItem.id, WorkItem.status, replayed)
        .outerjoin(last, last.c.wid == WorkItem.id)
        .outerjoin(Event, Event.id == last.c.eid)
        .where(WorkItem.status != replayed)
        .order_by(WorkItem.id).limit(limit)).all()
    return [StateMismatch(int(i), s, r) for i, s, r in rows]


def replay_problems(session: Session, *, lang: str = "vi", limit: int = 50) -> list[str]:
    return [tr(lang, "sec.state_mismatch", item_id=m.item_id, stored=m.stored, replayed=m.replayed)
            for m in replay_mismatches(session, limit=limit)]

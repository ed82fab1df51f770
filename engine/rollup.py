"""Roll-up across levels: signed report snapshots sent up, verified, stored and rolled up.

A committee at one level (a province, a commune) signs a snapshot of one of its stored
reports with its Ed25519 key (``steer keys init`` makes it; the private key lives in a file
outside the database, mode 0600) and sends the file up, e-mail is fine. The level above has
registered that child unit's public key (``steer keys trust UNIT FILE``); ``import_snapshots``
checks the file byte for byte (canonical form), the signer, the signature, the schema and
that it is not older than the last one accepted for that unit and period, then stores it.
All the files of one import are accepted together or none is (nothing half-stored).

The roll-up (:func:`build_rollup`) colours each child unit with the *receiving* level's
rules from the figures the child signed: its items due by its as-of date and those done
(the sum of its units' ``due_tally``), its overdue items, its counts. A child unit without
a snapshot for the period is grey ("chưa báo cáo").

File format (``docs/rollup-snapshot.md``)::

    {"payload": {... "schema": "steer.rollup-snapshot/1" ...},
     "signature": {"alg": "ed25519", "key_id": "…", "public_key": "ed25519:…", "value": "base64"}}

written as canonical JSON (keys sorted, no spaces, UTF-8) plus one newline; the signature
covers the canonical JSON of ``payload``. Nothing here reads the clock.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import heapq
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import heatrules
from engine.central import CENTRAL_EXTRA, CENTRAL_STATUSES, ROLLUP_SCHEMA, central_counts, central_profile  # noqa: F401 (re-exported)
from engine.days import fmt_date
from engine.errors import InputFileError, NotFound, PermissionDenied, UserError
from engine.i18n import tr
from engine.models import ChainHead, RollupKey, RollupSnapshot, Unit
from engine.pubkeys import KEY_PREFIX, decode_public, key_id, public_text  # noqa: F401 (KEY_PREFIX re-exported)
from engine.states import Status

SNAPSHOT_SCHEMA = "steer.rollup-snapshot/1"
MAX_FILE_BYTES = 32 * 1024 * 1024
GREY = "grey"
STATUS_ORDER = {"red": 0, "yellow": 1, "green": 2, GREY: 3}
FIGURE_KEYS = ("total", "due", "completed", "completed_on_time", "completed_late", "completed_unknown",
               "completed_due", "completed_ahead", "in_progress_within_deadline", "overdue", "not_yet_due",
               "ongoing", "ongoing_with_results", "no_deadline", "due_soon", "due_soon_without_progress",
               "cancelled")



# =====================================================================================
# Keys
# =====================================================================================


def default_key_path() -> Path:
    """``$STEER_SIGNING_KEY``, else ``~/.config/steer/signing-key.pem`` (outside the database)."""
    env = os.environ.get("STEER_SIGNING_KEY")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "steer" / "signing-key.pem"


def _raw_public(private: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def init_key(path: Path, *, lang: str = "vi") -> str:
    """Make a new Ed25519 key pair, write the private key (PEM, PKCS#8) to ``path`` with mode
    0600, and return the public key text. Never overwrites an existing file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if path.exists():
        raise UserError(tr(lang, "rollup.key_exists", path=path))
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise UserError(tr(lang, "rollup.key_cannot_write", path=path, reason=exc.strerror or str(exc))) from None
    return public_text(_raw_public(private))


def load_private_key(path: Path, *, lang: str = "vi") -> Any:
    """The Ed25519 private key in ``path``; refuses a file others can read (like ssh)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.is_file():
        raise UserError(tr(lang, "rollup.key_missing", path=path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise UserError(tr(lang, "rollup.key_too_open", path=path, mode=f"{mode:o}"))
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise UserError(tr(lang, "rollup.key_unreadable", path=path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(tr(lang, "rollup.key_unreadable", path=path))
    return key


def public_key_of(path: Path, *, lang: str = "vi") -> str:
    return public_text(_raw_public(load_private_key(path, lang=lang)))


def parse_public(text: str, *, source: str, lang: str = "vi") -> bytes:
    """The 32 raw bytes of "ed25519:BASE64" (a file made by ``steer keys show --out``; a
    PEM public key is accepted too)."""
    t = (text or "").strip()
    if t.startswith("-----BEGIN PUBLIC KEY-----"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            k = serialization.load_pem_public_key(t.encode("ascii"))
        except ValueError:
            k = None
        if isinstance(k, Ed25519PublicKey):
            return k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        raise UserError(tr(lang, "rollup.bad_public_key", source=source))
    raw = decode_public(t)
    if raw is None:
        raise UserError(tr(lang, "rollup.bad_public_key", source=source))
    return raw


def _unit(session: Session, code: str, lang: str) -> Unit:
    u = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if u is None:
        raise NotFound(tr(lang, "rollup.unknown_unit", unit=code))
    return u


def trust_key(session: Session, unit_code: str, public: str, *, source: str, now: datetime,
              actor: str = "secretariat", lang: str = "vi") -> dict[str, Any]:
    """Register a child unit's public key (idempotent for the same unit; a key already
    registered for another unit is refused). The unit's other keys stay trusted (a key can
    be rotated with an overlap); a retired key registered again is trusted again."""
    from engine.audit import append_event

    raw = parse_public(public, source=source, lang=lang)
    unit = _unit(session, unit_code, lang)
    text = public_text(raw)
    row = session.execute(select(RollupKey).where(RollupKey.public_key == text)).scalar_one_or_none()
    if row is not None:
        if row.unit_id != unit.id:
            other = session.get(Unit, row.unit_id)
            raise UserError(tr(lang, "rollup.key_other_unit", key_id=row.key_id, unit=other.code if other else "?"))
        if row.retired_at is None:
            return {"unit": unit.code, "key_id": row.key_id, "public_key": text, "new": False}
        row.retired_at = None
        session.flush()
        append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="rollup_key_trusted",
                     note=f"{unit.code} {row.key_id}",
                     data={"unit": unit.code, "key_id": row.key_id, "public_key": text, "source": source,
                           "trusted_again": True})
        return {"unit": unit.code, "key_id": row.key_id, "public_key": text, "new": True}
    row = RollupKey(unit_id=unit.id, public_key=text, key_id=key_id(raw), added_by=actor, added_at=now)
    session.add(row)
    session.flush()
    append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="rollup_key_trusted",
                 note=f"{unit.code} {row.key_id}",
                 data={"unit": unit.code, "key_id": row.key_id, "public_key": text, "source": source})
    return {"unit": unit.code, "key_id": row.key_id, "public_key": text, "new": True}


def list_keys(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(RollupKey, Unit.code, Unit.name).join(Unit, Unit.id == RollupKey.unit_id)
                           .order_by(Unit.code, RollupKey.id)).all()
    return [{"unit": code, "name": name, "key_id": k.key_id, "public_key": k.public_key,
             "added_at": k.added_at.isoformat(), "added_by": k.added_by,
             "retired_at": k.retired_at.isoformat() if k.retired_at else None} for k, code, name in rows]


# =====================================================================================
# Snapshot: build, sign, write
# =====================================================================================


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _figures(counts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: counts[k] for k in FIGURE_KEYS if k in counts}


def snapshot_payload(session: Session, report: Mapping[str, Any], *, report_id: int | None, checksum: str | None,
                     now: datetime) -> dict[str, Any]:
    """The signed part of a snapshot, from a stored report's data (``engine.reporting``)."""
    from engine.txcache import committee_settings

    head = session.execute(select(ChainHead.last_hash, ChainHead.count, ChainHead.last_event_id)
                           .where(ChainHead.id == 1)).first()
    _, settings = committee_settings(session)
    c = report.get("committee") or {}
    return {
        "schema": SNAPSHOT_SCHEMA,
        "generated_at": now.isoformat(),
        "committee": {"name": c.get("name"), "short_name": c.get("short_name"), "authority": c.get("authority"),
                      "place": c.get("place"), "unit_code": settings.get("rollup_unit_code")},
        "plan": {k: (report.get("plan") or {}).get(k) for k in ("code", "title", "document", "issued_on")},
        "report": {"id": report_id, "checksum": checksum, "schema": report.get("schema")},
        "kind": report["kind"],
        "period": {k: report["period"].get(k) for k in ("kind", "key", "year", "number", "start", "end", "cutoff_day")},
        "as_of": report["as_of"],
        "rules": report.get("rules"),
        "summary": _figures(report.get("summary") or {}),
        "units": [{"unit": u["unit"], "name": u.get("name"), "status": u.get("status"),
                   "counts": _figures(u.get("counts") or {}),
                   "due_tally": {k: (u.get("due_tally") or {}).get(k) for k in ("milestone", "due", "done", "overdue")}}
                  for u in report.get("units", [])],
        "audit": {"head_hash": head[0] if head else None, "length": int(head[1]) if head else 0,
                  "last_event_id": int(head[2]) if head else 0},
    }


def sign_payload(payload: Mapping[str, Any], private: Any) -> bytes:
    """The snapshot file's bytes: canonical JSON of {payload, signature} and a newline."""
    raw = _raw_public(private)
    sig = private.sign(canonical(payload))
    doc = {"payload": payload, "signature": {"alg": "ed25519", "key_id": key_id(raw), "public_key": public_text(raw),
                                             "value": base64.b64encode(sig).decode("ascii")}}
    return canonical(doc) + b"\n"


def export_signed(session: Session, report_id: int, *, key_path: Path, now: datetime, lang: str = "vi") -> bytes:
    from engine.snapshots import get_snapshot, snapshot_data

    private = load_private_key(key_path, lang=lang)
    data = snapshot_data(session, report_id, lang=lang)
    if data.get("schema") == ROLLUP_SCHEMA:  # a stored roll-up has no units' due tallies to sign
        raise UserError(tr(lang, "rollup.cannot_sign_rollup", report=report_id))
    row = get_snapshot(session, report_id, lang=lang)
    return sign_payload(snapshot_payload(session, data, report_id=report_id, checksum=row.checksum, now=now), private)


# =====================================================================================
# Import: verify and store
# =====================================================================================


@dataclass
class Checked:
    name: str
    unit: Any  # Unit, or the import's _UnitRef
    key_id: str
    payload: dict[str, Any]
    signed: str  # the signed text, as received
    signature: str
    digest: str
    as_of: date
    generated_at: datetime
    figures: dict[str, Any] | None = None  # with the import's rules (_figures_of)


def _need(cond: bool, name: str, field: str, lang: str) -> None:
    if not cond:
        raise InputFileError(tr(lang, "rollup.schema_field", file=name, field=field))


def _ints(d: Any, keys: tuple[str, ...]) -> bool:
    return isinstance(d, dict) and all(type(d.get(k)) is int and d[k] >= 0 for k in keys)


def validate_payload(p: Any, name: str, lang: str = "vi") -> tuple[date, datetime]:
    """Schema check of a payload (after the signature): the keys the roll-up reads, typed."""
    as_of, gen, _ = _validate(p, name, lang, None)
    return as_of, gen


def _validate(p: Any, name: str, lang: str, rules: Any) -> tuple[date, datetime, dict[str, Any] | None]:
    """:func:`validate_payload`; with ``rules``, the check of the units also computes their
    figures (:func:`_figures_of`) in the same pass."""
    from engine.reporting import KINDS

    _need(isinstance(p, dict), name, "payload", lang)
    if p.get("schema") != SNAPSHOT_SCHEMA:
        raise InputFileError(tr(lang, "rollup.bad_schema", file=name, found=str(p.get("schema"))[:60],
                                expected=SNAPSHOT_SCHEMA))
    _need(p.get("kind") in KINDS, name, "kind", lang)
    per = p.get("period")
    _need(isinstance(per, dict) and isinstance(per.get("key"), str) and 0 < len(per["key"]) <= 16, name,
          "period.key", lang)
    _need(per.get("kind") == p["kind"], name, "period.kind", lang)
    try:
        as_of = date.fromisoformat(p.get("as_of"))
    except (TypeError, ValueError):
        raise InputFileError(tr(lang, "rollup.schema_field", file=name, field="as_of")) from None
    try:
        gen = datetime.fromisoformat(p.get("generated_at"))
    except (TypeError, ValueError):
        gen = None
    _need(gen is not None and gen.tzinfo is not None, name, "generated_at", lang)
    assert gen is not None
    _need(isinstance(p.get("committee"), dict), name, "committee", lang)
    _need(_ints(p.get("audit"), ("length",)), name, "audit.length", lang)
    for k in ("total", "due", "completed", "overdue"):
        _need(_ints(p.get("summary"), (k,)), name, f"summary.{k}", lang)
    units = p.get("units")
    _need(isinstance(units, list), name, "units", lang)
    return as_of, gen, _unit_pass(p, rules, name, lang)


_HEAD = b'{"payload":'
_SPLIT = b',"signature":'


def check_file(session: Session, name: str, body: bytes, *, lang: str = "vi",
               keys: Mapping[str, Any] | None = None, units: Mapping[int, Any] | None = None,
               rules: Any = None) -> Checked:
    """Verify one snapshot file; raises a ``UserError`` saying why it is refused.

    The file is ``{"payload":P,"signature":S}`` and a newline, with P the signed bytes
    themselves: the signature is checked over P exactly as it is in the file (no
    re-serialisation), and S must be the canonical JSON of the signature block, so no byte of
    the file can change without a refusal. ``keys``: the registered keys by public key text
    (looked up per file without it). ``rules``: the payload's figures with them are computed
    during the schema check (``Checked.figures``)."""
    from cryptography.exceptions import InvalidSignature

    if len(body) > MAX_FILE_BYTES:
        raise InputFileError(tr(lang, "rollup.too_big", file=name, mb=MAX_FILE_BYTES // (1024 * 1024)))
    cut = body.rfind(_SPLIT)
    if not body.startswith(_HEAD) or not body.endswith(b"}\n") or cut < 0:
        try:  # a snapshot re-spaced or re-ordered by hand: changed after signing
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict) and set(doc) == {"payload", "signature"}:
            raise UserError(tr(lang, "rollup.tampered", file=name))
        raise InputFileError(tr(lang, "rollup.not_snapshot", file=name))
    # the signed bytes as a view into the file: verified and decoded without a copy of ~50 kB
    signed, sig_text = memoryview(body)[len(_HEAD):cut], body[cut + len(_SPLIT):-2]
    try:
        sig = json.loads(sig_text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UserError(tr(lang, "rollup.tampered", file=name)) from None
    if not isinstance(sig, dict) or set(sig) != {"alg", "key_id", "public_key", "value"} \
            or not all(isinstance(v, str) for v in sig.values()):
        raise UserError(tr(lang, "rollup.tampered", file=name))
    if canonical(sig) != sig_text:  # spacing, order or escapes changed in the signature block
        raise UserError(tr(lang, "rollup.tampered", file=name))
    public = sig["public_key"]
    row = keys.get(public) if keys is not None else \
        session.execute(select(RollupKey).where(RollupKey.public_key == public)).scalar_one_or_none()
    if row is None:
        raise PermissionDenied(tr(lang, "rollup.unknown_signer", file=name, key_id=sig["key_id"][:32]))
    if sig["alg"] != "ed25519" or sig["key_id"] != row.key_id:
        raise UserError(tr(lang, "rollup.tampered", file=name))
    if row.retired_at is not None:  # replaced by the unit's new key (directory signing_key)
        owner = units.get(row.unit_id) if units is not None else None
        owner = owner or session.get(Unit, row.unit_id)
        raise PermissionDenied(tr(lang, "rollup.key_retired", file=name, key_id=row.key_id,
                                  unit=owner.code if owner else "?", date=_local_day(session, row.retired_at)))
    try:
        value = base64.b64decode(sig["value"], validate=True)
        if base64.b64encode(value).decode("ascii") != sig["value"]:  # unused low bits of the last character
            raise ValueError("non-canonical base64")
        _verifier(public).verify(value, signed)
    except (InvalidSignature, ValueError):
        raise UserError(tr(lang, "rollup.tampered", file=name)) from None
    try:  # decoded once: the text is both what is stored and what is parsed (json.loads of bytes decodes again)
        text = str(signed, "utf-8")
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputFileError(tr(lang, "rollup.not_snapshot", file=name)) from None
    as_of, gen, figures = _validate(payload, name, lang, rules)
    unit = units.get(row.unit_id) if units is not None else None
    unit = unit or session.get(Unit, row.unit_id)
    assert unit is not None
    return Checked(name=name, unit=unit, key_id=row.key_id, payload=payload, signed=text, signature=sig["value"],
                   digest=hashlib.sha256(body).hexdigest(), as_of=as_of, generated_at=gen, figures=figures)


def _local_day(session: Session, when: datetime) -> str:
    """dd/mm/yyyy of ``when`` in the committee's time zone."""
    from zoneinfo import ZoneInfo

    from engine.txcache import committee_settings

    return fmt_date(when.astimezone(ZoneInfo(committee_settings(session)[0])).date())


@functools.lru_cache(maxsize=4096)
def _verifier(public: str) -> Any:
    """The Ed25519 verifier of a registered key's text (a pure function of the text: kept
    across files and imports instead of decoding the key for every file)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(parse_public(public, source="rollup_key"))


def _last(session: Session, unit_id: int, kind: str, period: str) -> RollupSnapshot | None:
    return session.execute(select(RollupSnapshot).where(RollupSnapshot.unit_id == unit_id, RollupSnapshot.kind == kind,
                                                        RollupSnapshot.period == period)
                           .order_by(RollupSnapshot.as_of.desc(), RollupSnapshot.generated_at.desc(),
                                     RollupSnapshot.id.desc()).limit(1)).scalar_one_or_none()


def import_snapshots(session: Session, files: Sequence[tuple[str, bytes]], *, now: datetime, actor: str = "secretariat",
                     lang: str = "vi", rules: Any = None) -> list[dict[str, Any]]:
    """Verify every file and store them all, or raise (the caller's transaction stores nothing).

    A file older than (or the same as) the last one accepted for its unit and period is a
    replay and refused. Returns per file: unit, period, as-of, snapshot id, and the colour
    with this level's rules."""
    from sqlalchemy import insert

    from engine.audit import append_events
    from engine.reporting import committee_rules, period_key_label

    if not files:
        raise UserError(tr(lang, "rollup.no_files"))
    rules = rules or committee_rules(session, lang=lang)
    # the registered keys and their units in one query, held for the whole import
    keys: dict[str, Any] = {}
    units: dict[int, Any] = {}
    for k in session.execute(select(RollupKey.public_key, RollupKey.unit_id, RollupKey.key_id, RollupKey.retired_at,
                                    Unit.code, Unit.name).join(Unit, Unit.id == RollupKey.unit_id)):
        keys[k.public_key] = k  # rows, not ORM objects: read, never changed here
        units[k.unit_id] = _UnitRef(k.unit_id, k.code, k.name)
    checked = [check_file(session, name, body, lang=lang, keys=keys, units=units, rules=rules) for name, body in files]
    # the newest accepted (as_of, generated_at) per (unit, kind, period) of this import, in one
    # query on the (unit, kind, period) index: only the periods of this import, not the history
    wanted = {(c.unit.id, c.payload["kind"], c.payload["period"]["key"]) for c in checked}
    last: dict[tuple[int, str, str], tuple[date, datetime, int]] = {}
    for uid, kind, period, as_of, gen, sid in session.execute(
            select(RollupSnapshot.unit_id, RollupSnapshot.kind, RollupSnapshot.period, RollupSnapshot.as_of,
                   RollupSnapshot.generated_at, RollupSnapshot.id)
            .where(RollupSnapshot.unit_id.in_({w[0] for w in wanted}), RollupSnapshot.kind.in_({w[1] for w in wanted}),
                   RollupSnapshot.period.in_({w[2] for w in wanted}))):
        k = (uid, kind, period)
        if k in wanted and (k not in last or (as_of, gen) > last[k][:2]):
            last[k] = (as_of, gen, sid)
    values = []
    for c in checked:
        kind, period = c.payload["kind"], c.payload["period"]["key"]
        k = (c.unit.id, kind, period)
        prev = last.get(k)
        if prev is not None and (c.as_of, c.generated_at) <= prev[:2]:
            raise UserError(tr(lang, "rollup.replayed", file=c.name, unit=c.unit.code, period=period_key_label(period, lang),
                               as_of=fmt_date(c.as_of), last=fmt_date(prev[0]), last_id=prev[2] or "—"))
        last[k] = (c.as_of, c.generated_at, 0)
        values.append({"unit_id": c.unit.id, "key_id": c.key_id, "kind": kind, "period": period, "as_of": c.as_of,
                       "generated_at": c.generated_at, "payload": c.signed, "signature": c.signature,
                       "digest": c.digest, "received_by": actor, "received_at": now})
    # one multi-row INSERT … RETURNING id (Core: no ORM object per ~50 kB row; the rows are
    # never updated, and nothing in this session has them loaded)
    ids = list(session.execute(insert(RollupSnapshot).returning(RollupSnapshot.id, sort_by_parameter_order=True),
                               values).scalars())
    rows = [_Stored(id=i, **v) for i, v in zip(ids, values, strict=True)]
    append_events(session, [
        {"at": now, "actor": actor, "actor_role": "secretariat", "kind": "rollup_imported",
         "note": f"{c.unit.code} {row.kind} {row.period} (as of {c.as_of.isoformat()})",
         "data": {"snapshot_id": row.id, "unit": c.unit.code, "kind": row.kind, "period": row.period,
                  "as_of": c.as_of.isoformat(), "digest": c.digest, "key_id": c.key_id,
                  "audit_head": c.payload["audit"].get("head_hash")}}
        for c, row in zip(checked, rows, strict=True)], now=now)
    out = []
    for c, row in zip(checked, rows, strict=True):
        _PARSED.put(row.digest, c.payload, len(c.signed), figures={rules: c.figures} if c.figures else None)
        child = child_row(c.unit, row, rules)  # the figures stay cached for the roll-up that follows
        out.append({"file": c.name, "id": row.id, "unit": c.unit.code, "name": c.unit.name, "kind": row.kind,
                    "period": row.period, "as_of": c.as_of.isoformat(), "status": child["status"],
                    "reason": _reason(child, child["reasons"][0], lang, _view_reason) if child["reasons"] else ""})
    return out


class _UnitRef(NamedTuple):
    """A unit as the import and the roll-up read it."""

    id: int
    code: str
    name: str


@dataclass
class _Stored:
    """A snapshot row just inserted, as :func:`child_row` reads it (the ``RollupSnapshot`` columns)."""

    id: int
    unit_id: int
    key_id: str
    kind: str
    period: str
    as_of: date
    generated_at: datetime
    payload: str
    signature: str
    digest: str
    received_by: str
    received_at: datetime


def _view_reason(r: Mapping[str, Any], lang: str) -> str:
    from engine.render.view import reason_text

    return str(reason_text(r, lang))


class _ParsedCache:
    """Parsed payloads of accepted snapshots, keyed by the sha256 of the file they came from.

    A ``rollup_snapshot`` row is never updated and its digest names one content forever, so a
    parsed copy can be reused by every later roll-up in this process: the national heat map
    (34 provinces × 100 communes, ~1.6 MB of JSON) then costs no JSON parsing per page view.
    Bounded by total text size (least recently used out first); a miss parses the row."""

    def __init__(self, max_chars: int = 64 * 1024 * 1024) -> None:
        import threading
        from collections import OrderedDict

        self.max_chars, self.chars = max_chars, 0
        # digest -> (size, payload, figures derived from it per colour rules: _figures_of)
        self.items: OrderedDict[str, tuple[int, dict[str, Any], dict[Any, dict[str, Any]]]] = OrderedDict()
        self.lock = threading.Lock()

    def put(self, digest: str, payload: dict[str, Any], size: int = 0,
            figures: dict[Any, dict[str, Any]] | None = None) -> None:
        size = size or len(payload.get("units") or ()) * 600 + 2000
        with self.lock:
            if digest in self.items:
                return
            self.items[digest] = (size, payload, dict(figures or {}))
            self.chars += size
            while self.chars > self.max_chars and self.items:
                _, (n, _, _) = self.items.popitem(last=False)
                self.chars -= n

    def figures(self, digest: str, payload: dict[str, Any], rules: Any) -> dict[str, Any]:
        """:func:`_figures_of` the payload with ``rules``, computed once per (snapshot, rules):
        a payload never changes, so the import's pass over its ~100 units serves the roll-up
        and every heat map view after it."""
        with self.lock:
            hit = self.items.get(digest)
            got = hit[2].get(rules) if hit is not None else None
        if got is not None:
            return got
        got = _figures_of(payload, rules)
        with self.lock:
            hit = self.items.get(digest)
            if hit is not None and hit[1] is payload:
                hit[2][rules] = got
        return got

    def peek(self, digest: str) -> dict[str, Any] | None:
        """The parsed payload of ``digest`` if held, else None."""
        with self.lock:
            hit = self.items.get(digest)
            if hit is None:
                return None
            self.items.move_to_end(digest)
            return hit[1]

    def get(self, snap: Any) -> dict[str, Any]:
        held = getattr(snap, "parsed", None)  # latest_snapshots holds it for the roll-up being built
        if held is not None:
            return held
        with self.lock:
            hit = self.items.get(snap.digest)
            if hit is not None:
                self.items.move_to_end(snap.digest)
                return hit[1]
        payload = json.loads(snap.payload)
        self.put(snap.digest, payload, len(snap.payload))
        return payload

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.chars = 0


_PARSED = _ParsedCache()



# =====================================================================================
# The roll-up: child units coloured with this level's rules
# =====================================================================================


def _sum_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    tot: dict[str, int] = {}
    for r in rows:
        for k, v in r.items():
            if type(v) is int:  # whole numbers only (not True/False, not the rates)
                tot[k] = tot.get(k, 0) + v
    return tot


def _rates(counts: dict[str, Any]) -> dict[str, Any]:
    on, late = counts.get("completed_on_time", 0), counts.get("completed_late", 0)
    counts["on_time_rate"] = round(on * 100.0 / (on + late), 1) if on + late else None
    return counts


def colour_of(counts: Mapping[str, Any], tally: Mapping[str, Any], rules: Any) -> tuple[str, list[dict[str, Any]]]:
    """(colour, reasons) with ``rules`` (``engine.reporting.StatusRules``) from signed figures."""
    from engine.reporting import unit_status

    full = {"milestone": tally.get("milestone"), "due": tally["due"], "done": tally["done"],
            "share": heatrules.share_pct(tally["done"], tally["due"]), "overdue": tally["overdue"],
            "overdue_items": []}
    c = _rates(dict(counts))
    for k in ("overdue", "due_soon", "due_soon_without_progress"):
        c.setdefault(k, 0)
    return unit_status(c, rules, full)


def _figures_of(p: Mapping[str, Any], rules: Any) -> dict[str, Any]:
    """One pass over a snapshot's own units: the sums of their due tallies, how many are
    green / yellow / red with ``rules`` (recoloured here, not as the child coloured them), and
    the ones with the most overdue items (for the reason)."""
    got = _unit_pass(p, rules, "rollup_snapshot", "vi")
    assert got is not None
    return got


def _unit_pass(p: Mapping[str, Any], rules: Any, name: str, lang: str) -> dict[str, Any] | None:
    """The check of a payload's units (each typed, done ≤ due; a bad one named: ``units[3].
    due_tally``) and, with ``rules``, their figures (:func:`_figures_of`), in one pass: ~100
    communes a province, 3,400 per national import, so the loop is kept to plain locals."""
    units = p["units"]
    due = done = overdue = green = 0
    kids = {"green": 0, "yellow": 0, "red": 0}
    late: list[tuple[int, str]] = []
    share = rules is not None and rules.rule == heatrules.SHARE_DUE
    green_at, colour = (rules.green_at if rules is not None else 1.0), heatrules.share_colour
    for u in units:
        try:  # the usual case in one expression; else say which field
            c, t = u["counts"], u["due_tally"]
            d, n, o = t["due"], t["done"], t["overdue"]
            ok = (type(u["unit"]) is str and type(c["total"]) is int and type(c["due"]) is int
                  and type(c["overdue"]) is int and type(d) is int and type(n) is int
                  and type(o) is int and 0 <= n <= d and o >= 0 and c["total"] >= 0 and c["due"] >= 0
                  and c["overdue"] >= 0)
        except (TypeError, KeyError):
            ok = False
        if not ok:
            where = f"units[{units.index(u)}]"
            _need(isinstance(u, dict) and isinstance(u.get("unit"), str), name, f"{where}.unit", lang)
            _need(_ints(u.get("counts"), ("total", "due", "overdue")), name, f"{where}.counts", lang)
            _need(False, name, f"{where}.due_tally", lang)
        due += d
        done += n
        if o:
            overdue += o
            late.append((-o, u["unit"]))
        if share:
            if d <= 0 or n >= green_at * d:  # green by share_colour too (it allows 1e-9 below the mark)
                green += 1
            else:  # the colour alone, without the reasons: heatrules.share_colour decides near the marks
                kids[colour(n, d, green_at=green_at, yellow_at=rules.yellow_at)] += 1
        elif rules is not None:
            kids[colour_of(c, {**t, "milestone": p["as_of"]}, rules)[0]] += 1
    if rules is None:
        return None
    kids["green"] += green
    if units:
        tally = {"due": due, "done": done, "overdue": overdue}
    else:
        s = p["summary"]
        tally = {"due": s["due"], "done": s.get("completed_due", 0), "overdue": s["overdue"]}
    kids["total"] = len(units)
    kids["green_share"] = heatrules.share_pct(kids["green"], len(units))
    worst = [{"unit": c, "overdue": -n} for n, c in heapq.nsmallest(heatrules.MAX_LISTED, late)]
    return {"tally": tally, "children": kids, "worst": worst}


def child_row(unit: Any, snap: Any, rules: Any, *, today: date | None = None) -> dict[str, Any]:
    """One child unit of the roll-up (grey without a snapshot). ``snap``: a ``RollupSnapshot``
    (or the import's just-stored row)."""
    base: dict[str, Any] = {"unit": unit.code, "name": unit.name}
    if snap is None:
        return {**base, "status": GREY, "reasons": [{"rule": "no_report", "level": GREY}], "reason": None,
                "due": 0, "done": 0, "share": None, "overdue": 0, "counts": None, "children": None, "snapshot": None}
    p = _PARSED.get(snap)
    f = _PARSED.figures(snap.digest, p, rules)
    tally = {**f["tally"], "milestone": p["as_of"]}
    counts = dict(p["summary"])
    status, reasons = colour_of(counts, tally, rules)
    age = (today - snap.as_of).days if today else None
    return {**base, "status": status, "reasons": reasons, "reason": None, "due": tally["due"], "done": tally["done"],
            "share": heatrules.share_pct(tally["done"], tally["due"]), "overdue": tally["overdue"], "counts": counts,
            "children": dict(f["children"]), "worst": [dict(w) for w in f["worst"]],
            "snapshot": {"id": snap.id, "as_of": snap.as_of.isoformat(), "generated_at": snap.generated_at.isoformat(),
                         "received_at": snap.received_at.isoformat(), "key_id": snap.key_id, "digest": snap.digest,
                         "committee": (p.get("committee") or {}).get("name"), "plan": (p.get("plan") or {}).get("code"),
                         "audit": p.get("audit"), "age_days": age}}


def child_units(session: Session) -> list[Any]:
    """The units this level rolls up: those with a trusted key, by code (rows with ``id``,
    ``code``, ``name``: the roll-up reads nothing else of a unit, so no ORM object and no JSON
    column of it is loaded)."""
    ids = select(RollupKey.unit_id).distinct()
    return list(session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(ids)).order_by(Unit.code)))


class _Snap:
    """A snapshot row as the roll-up reads it (no ORM object; the signed text not loaded), with
    its parsed payload held for the roll-up being built."""

    __slots__ = ("id", "unit_id", "key_id", "as_of", "generated_at", "received_at", "digest", "parsed")

    def __init__(self, row: Any, parsed: dict[str, Any]) -> None:
        self.id, self.unit_id, self.key_id, self.as_of = row.id, row.unit_id, row.key_id, row.as_of
        self.generated_at, self.received_at, self.digest = row.generated_at, row.received_at, row.digest
        self.parsed = parsed


def latest_snapshots(session: Session, kind: str, period: str) -> dict[int, _Snap]:
    """Per unit, the newest accepted snapshot of the period (as-of, then signing time)."""
    R = RollupSnapshot
    rows = session.execute(select(R.id, R.unit_id, R.key_id, R.as_of, R.generated_at, R.received_at, R.digest)
                           .where(R.kind == kind, R.period == period)
                           .order_by(R.unit_id, R.as_of, R.generated_at, R.id)).all()
    last: dict[int, Any] = {}
    for r in rows:
        last[r.unit_id] = r  # the last of each unit wins
    parsed = {r.digest: _PARSED.peek(r.digest) for r in last.values()}
    # the signed text (~50 kB a province) is read only for the rows whose parsed payload is not
    # in _PARSED already, in one query
    missing = {r.id: r.digest for r in last.values() if parsed[r.digest] is None}
    if missing:
        for sid, text in session.execute(select(R.id, R.payload).where(R.id.in_(missing))):
            parsed[missing[sid]] = payload = json.loads(text)
            _PARSED.put(missing[sid], payload, len(text))
    return {uid: _Snap(r, parsed[r.digest]) for uid, r in last.items()}


def build_rollup(session: Session, *, today: date, kind: str = "monthly", period: str | None = None,
                 rules: Any = None, lang: str = "vi") -> dict[str, Any]:
    """The roll-up of the child units for a period (``steer.rollup/1``, docs/rollup-snapshot.md).

    ``period`` defaults to the period of ``today``. Units worst first: red, yellow, green,
    then grey (no snapshot), each by the lower share done, then code."""
    from engine.render.view import reason_text
    from engine.reporting import committee_header, committee_rules, normalise_kind, parse_period, period_for, period_label

    kind = normalise_kind(kind, lang=lang)
    p = parse_period(period, kind=kind, lang=lang) if period else period_for(kind, today)
    rules = rules or committee_rules(session, lang=lang)
    snaps = latest_snapshots(session, kind, p.key)
    units = [child_row(u, snaps.get(u.id), rules, today=today) for u in child_units(session)]
    for u in units:
        if u["status"] == GREY:
            u["reason"] = tr(lang, "rollup.not_reported")
        else:
            u["reason"] = "; ".join(_reason(u, r, lang, reason_text) for r in u["reasons"])
    from zoneinfo import ZoneInfo

    from engine.txcache import committee_settings

    tz = ZoneInfo(committee_settings(session)[0])
    for u in units:
        if u["snapshot"]:  # the committee-local time it arrived, as people read it
            u["snapshot"]["received_local"] = datetime.fromisoformat(u["snapshot"]["received_at"]).astimezone(
                tz).strftime("%d/%m/%Y %H:%M")
    units.sort(key=lambda u: (STATUS_ORDER[u["status"]], u["share"] if u["share"] is not None else 100.0, u["unit"]))
    reported = [u for u in units if u["snapshot"]]
    totals = _sum_counts(u["counts"] for u in reported)
    by = {c: sum(1 for u in units if u["status"] == c) for c in STATUS_ORDER}
    per = {**p.as_dict(), "label": period_label(p, lang)}
    return {"schema": ROLLUP_SCHEMA, "lang": lang, "kind": kind, "period": per, "as_of": today.isoformat(),
            "committee": committee_header(session), "rules": rules.as_dict(),
            "summary": {"units": len(units), "reported": len(reported), **{f"units_{k}": v for k, v in by.items()},
                        "due": sum(u["due"] for u in reported), "done": sum(u["done"] for u in reported),
                        "overdue": sum(u["overdue"] for u in reported),
                        "share": heatrules.share_pct(sum(u["done"] for u in reported), sum(u["due"] for u in reported)),
                        "counts": totals,
                        "children": _sum_counts(u["children"] for u in reported)},
            "units": units}


def generate_rollup(session: Session, *, now: datetime, store: bool = True, created_by: str = "system",
                    **build: Any) -> tuple[dict[str, Any], int | None]:
    """The roll-up of the child units (``engine.rollup.build_rollup`` arguments; ``today``
    defaults to the committee-local date of ``now``), stored as a report like any other unless
    ``store`` is False: it is listed with the reports, re-rendered by ``steer report show ID`` and
    the report pages, and keeps its figures whatever arrives later.

    Returns (data, snapshot id or None); the data is the stored JSON."""
    from engine.reporting import committee_today
    from engine.snapshots import store_snapshot

    if build.get("today") is None:
        build["today"] = committee_today(session, now)
    data = json.loads(json.dumps(build_rollup(session, **build), ensure_ascii=False))
    snap = store_snapshot(session, data, now=now, created_by=created_by) if store else None
    return data, snap


def _reason(u: Mapping[str, Any], r: Mapping[str, Any], lang: str, reason_text: Any) -> str:
    """A child unit's reason in words: the share rule's "6/8 việc đến hạn đã xong; 2 quá hạn,
    nhiều nhất ở X03 (1), X04 (1)" (its own units with the most overdue items), or the other
    rule's reasons as the report phrases them."""
    if r.get("rule") != heatrules.SHARE_DUE:
        return str(reason_text(r, lang))
    text = heatrules.reason_text({**r, "overdue": 0, "overdue_items": []}, lang)
    if r.get("overdue"):
        more = r["overdue"] - sum(w["overdue"] for w in u.get("worst") or [])
        units = ", ".join(f"{w['unit']} ({w['overdue']})" for w in u.get("worst") or [])
        text += "; " + tr(lang, "rollup.overdue_units", n=r["overdue"], units=units)
        if more > 0 and units:
            text += tr(lang, "heat.and_more", n=more)
    return text


def with_rules(rules: Any, name: str | None, lang: str = "vi") -> Any:
    from engine.reporting import with_rule

    return with_rule(rules, name, lang=lang) if name else rules


def load_rollup_rules(session: Session, rules_file: Path | None, rule: str | None, lang: str) -> Any:
    from engine.reporting import committee_rules, load_rules_file

    rules = load_rules_file(rules_file, lang=lang) if rules_file else committee_rules(session, lang=lang)
    return with_rules(rules, rule, lang)


__all__ = ("CENTRAL_STATUSES", "ROLLUP_SCHEMA", "SNAPSHOT_SCHEMA", "build_rollup", "canonical", "central_profile",
           "check_file", "child_row", "default_key_path", "export_signed", "generate_rollup", "import_snapshots", "init_key",
           "list_keys", "load_private_key", "parse_public", "public_key_of", "sign_payload",
           "snapshot_payload", "trust_key", "validate_payload")


# =====================================================================================
# Child plans in the same instance (a unit's implementing plan loaded with a parent)
# =====================================================================================

def child_plans(session: Session, parent_code: str, *, as_of: date, rules: Any = None,
                lang: str = "vi") -> dict[str, Any]:
    """The parent plan's children in this instance: per child plan (a unit's implementing plan,
    ``Plan.parent_plan_id`` = the parent, ``issued_by`` the unit) its colour with this level's
    rules from its own report as of ``as_of`` (the sum of its units' items due and done), the
    share of child units green, and per parent task the child tasks implementing it
    (``Task.parent_task_id``), each as its plan's report has it as of ``as_of`` (the report's
    bucket, computed from the event log: a task completed after ``as_of`` is not completed yet;
    a task created after it is left out)."""
    from engine.models import Plan, Task
    from engine.reporting import build_report, committee_rules
    from engine.states import PlanStatus

    rules = rules or committee_rules(session, lang=lang)
    parent = session.execute(select(Plan).where(Plan.code == parent_code)).scalar_one_or_none()
    if parent is None:
        raise NotFound(tr(lang, "rollup.unknown_plan", plan=parent_code))
    kids = list(session.execute(select(Plan).where(Plan.parent_plan_id == parent.id, Plan.status != PlanStatus.CANCELLED)
                                .order_by(Plan.code)).scalars())
    units = {u.id: u for u in session.execute(select(Unit).where(Unit.id.in_(
        {k.issued_by_unit_id for k in kids if k.issued_by_unit_id}))).scalars()}
    rows = []
    as_of_tasks: dict[int, dict[str, Any]] = {}  # child plan id -> task code -> its row in the report
    for k in kids:
        data = build_report(session, plan_code=k.code, kind="monthly", as_of=as_of, rules=rules, lang=lang)
        as_of_tasks[k.id] = {t["code"]: t for t in data["tasks"]}
        tally = {"due": sum(u["due_tally"]["due"] for u in data["units"]),
                 "done": sum(u["due_tally"]["done"] for u in data["units"]),
                 "overdue": sum(u["due_tally"]["overdue"] for u in data["units"]), "milestone": data["as_of"]}
        status, reasons = colour_of(data["summary"], tally, rules)
        unit = units.get(k.issued_by_unit_id) if k.issued_by_unit_id else None
        rows.append({"plan": k.code, "title": k.title, "unit": unit.code if unit else None,
                     "name": unit.name if unit else None, "status": status,
                     "reason": "; ".join(_reason({}, r, lang, _view_reason) for r in reasons),
                     "due": tally["due"], "done": tally["done"], "overdue": tally["overdue"],
                     "share": heatrules.share_pct(tally["done"], tally["due"])})
    green = sum(1 for r in rows if r["status"] == "green")
    # per parent task: the child tasks implementing it, as of the day (their plans' reports)
    kid_ids = [k.id for k in kids]
    by_parent: dict[int, list[dict[str, Any]]] = {}
    if kid_ids:
        code_of = {k.id: k.code for k in kids}
        for plan_id, code, title, parent_id in session.execute(
                select(Task.plan_id, Task.code, Task.title, Task.parent_task_id)
                .where(Task.plan_id.in_(kid_ids), Task.parent_task_id.is_not(None))
                .order_by(Task.plan_id, Task.position)):
            row = as_of_tasks[plan_id].get(code)
            if row is None or row["status"] == Status.CANCELLED:  # created after the day, or cancelled by then
                continue
            by_parent.setdefault(parent_id, []).append(
                {"plan": code_of[plan_id], "task": code, "title": title, "bucket": row["status"],
                 "units_completed": row["units_completed"], "units_total": row["units_total"]})
    tasks = []
    for t in session.execute(select(Task).where(Task.plan_id == parent.id).order_by(Task.position)).scalars():
        ch = by_parent.get(t.id, [])
        if ch:
            tasks.append({"task": t.code, "title": t.title, "children": ch,
                          "completed": sum(1 for c in ch if c["bucket"] == Status.COMPLETED), "total": len(ch)})
    return {"plan": parent.code, "as_of": as_of.isoformat(), "rule": rules.rule, "children": rows,
            "green": green, "total": len(rows), "green_share": heatrules.share_pct(green, len(rows)), "tasks": tasks}

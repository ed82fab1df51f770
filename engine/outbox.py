"""The outbox's delivery protocol: claim with a lease, record every attempt, mark.

States of a row::

    pending ──claim──▶ sending ──all targets accepted──────────────▶ sent
       ▲                  │  ├─temporary failure, attempts left──▶ pending (next_attempt_at = backoff)
       │                  │  ├─permanent failure / attempts used up ▶ failed (+ a notice to the secretariat)
       │                  │  └─reason gone (done, moved, acknowledged) ▶ obsolete
       └──lease expired───┘  (a worker that crashed: the rows are claimed again)

* **Claim** (``claim``): one transaction selects the due rows — pending with
  ``next_attempt_at <= now`` (``next_attempt_at`` starts at ``not_before``: quiet hours) or
  sending with an expired lease — with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite:
  ``BEGIN IMMEDIATE`` already serialises writers), and sets them ``sending`` with
  ``lease_until`` and ``claimed_by``. Rows are grouped by recipient into batches: one
  message each. A batch keeps its ``batch_key`` across retries and re-claims, so the
  message is always re-sent under the same idempotency key. A group that another worker's
  concurrent claim left incomplete (rows skipped as locked) waits for a later round, so a
  recipient gets one digest per run.
* **Renew** (``renew``): right before a batch is sent, its lease is extended to a full
  lease from that moment, on condition the worker still holds every row. A round is sent
  batch after batch; without this, a slow round would outlive the leases of its last
  batches, another worker would claim and send them, and this one would send them again.
* **Record** (``record_outcome``): each target's outcome becomes a ``delivery_attempt``
  row (target redacted); the batch's rows move on with a compare-and-set on
  (batch_key, status = sending, claimed_by = this worker): a worker whose lease expired
  and was taken over changes nothing.

Nothing here talks to the outside world (``notifications.delivery`` sends).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.clock import require_aware
from engine.models import DeliveryAttempt, OutboxMessage, Person
from engine.policy import FAILURE_RANK, Delivery, QuietHours
from engine.states import Role
from engine.workdays import WorkCalendar


class OutboxStatus(StrEnum):
    """An outbox row's state (``OutboxMessage.status``; the diagram above)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    OBSOLETE = "obsolete"


STATUSES: tuple[str, ...] = tuple(OutboxStatus)
FAILURE_LEVEL = "delivery_failed"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fingerprint(target: str) -> str:
    """A stable, non-reversible id of a target URL (to remember which targets accepted a batch)."""
    return hashlib.sha256(target.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class TargetOutcome:
    fingerprint: str
    target: str  # redacted
    status: str  # delivered | temporary | permanent
    error: str | None = None


@dataclass
class Batch:
    key: str
    recipient: str
    row_ids: list[int]
    attempts: int  # attempts already made
    delivered: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)


def _batch_key(recipient: str, dedupe_keys: list[str]) -> str:
    h = hashlib.sha256("\n".join([recipient, *sorted(dedupe_keys)]).encode("utf-8")).hexdigest()
    return f"steer-{h[:40]}"


class Claimed(list):  # type: ignore[type-arg]
    """The batches of one claim. ``busy``: nothing was taken only because every due group was
    partly locked by another worker's claim in progress — try again shortly, it is not empty."""

    busy: bool = False


def claim(session: Session, *, now: datetime, worker: str, lease: timedelta, limit: int = 500,
          levels: Collection[str] | None = None) -> Claimed:
    """Claim due rows (lease ``lease``) and return them as batches, one per recipient.
    ``levels``: only rows of these levels (the report flow delivers its reports only).

    Run in its own short transaction; send after it commits."""
    require_aware(now)
    o = OutboxMessage
    due = or_(and_(o.status == OutboxStatus.PENDING, o.next_attempt_at <= now),
              and_(o.status == OutboxStatus.SENDING, o.lease_until < now))
    if levels is not None:
        due = and_(due, o.level.in_(list(levels)))
    stmt = (select(o.id, o.recipient, o.batch_key, o.attempts, o.delivered, o.dedupe_key, o.level)
            .where(due).order_by(o.recipient, o.batch_key, o.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = session.execute(stmt).all()
    if not rows:
        return Claimed()
    groups: dict[tuple[str, str | None], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r.recipient, r.batch_key)].append(r)
    if len(rows) >= limit and len(groups) > 1:
        groups.pop(list(groups)[-1])  # possibly cut by LIMIT: next round
    # A group can also be incomplete because SKIP LOCKED passed over rows another worker's
    # claim had locked (it will leave them, cut by its own LIMIT): sending the rest now would
    # give the recipient two digests in one run. Leave such groups for a later round, unless
    # a single recipient has more due rows than ``limit`` (then it goes in pieces).
    if groups and not (len(groups) == 1 and len(rows) >= limit):
        totals = {(r, k): n for r, k, n in session.execute(
            select(o.recipient, o.batch_key, func.count()).where(due, o.recipient.in_({r for r, _ in groups}))
            .group_by(o.recipient, o.batch_key))}
        for g in [g for g, members in groups.items() if totals.get(g, 0) > len(members)]:
            groups.pop(g)
    lease_until = now + lease
    batches = Claimed()
    batches.busy = not groups
    for (recipient, existing), members in groups.items():
        key = existing or _batch_key(recipient, [m.dedupe_key for m in members])
        ids = [m.id for m in members]
        for chunk in _chunks(ids, 900):
            session.execute(update(o).where(o.id.in_(chunk))
                            .values(status=OutboxStatus.SENDING, lease_until=lease_until, claimed_by=worker, batch_key=key)
                            .execution_options(synchronize_session=False))
        delivered = sorted({fp for m in members for fp in (m.delivered or [])})
        batches.append(Batch(key=key, recipient=recipient, row_ids=ids, attempts=max(m.attempts for m in members),
                             delivered=delivered, levels=sorted({m.level for m in members})))
    return batches


def renew(session: Session, batch: Batch, *, now: datetime, worker: str, lease: timedelta) -> bool:
    """Extend ``batch``'s lease to ``now + lease`` just before sending it; False when this
    worker no longer holds every row of it (its lease expired during an earlier, slow send of
    the same round and another worker claimed the rows): then it must not be sent."""
    require_aware(now)
    o = OutboxMessage
    res = session.execute(update(o).where(o.batch_key == batch.key, o.status == OutboxStatus.SENDING, o.claimed_by == worker,
                                          o.id.in_(batch.row_ids))
                          .values(lease_until=now + lease).execution_options(synchronize_session=False))
    return res.rowcount == len(batch.row_ids)


def _chunks(ids: list[int], n: int) -> list[list[int]]:
    return [ids[i:i + n] for i in range(0, len(ids), n)]


def record_outcome(session: Session, batch: Batch, outcomes: list[TargetOutcome], *, now: datetime, worker: str,
                   delivery: Delivery, quiet: QuietHours | None = None, tz: str = "Asia/Ho_Chi_Minh",
                   calendar: WorkCalendar | None = None, obsolete: list[int] | None = None,
                   no_targets_error: str = "no notify address") -> str:
    """Record one delivery attempt of ``batch`` and move its rows on; returns the new status
    (``sent``, ``pending`` = retry later, ``failed``, ``obsolete``, or ``lost`` when this
    worker no longer holds the lease)."""
    require_aware(now)
    o = OutboxMessage
    attempt = batch.attempts + 1
    obsolete = [i for i in (obsolete or []) if i in set(batch.row_ids)]
    live = [i for i in batch.row_ids if i not in set(obsolete)]
    held = and_(o.batch_key == batch.key, o.status == OutboxStatus.SENDING, o.claimed_by == worker)
    if obsolete:
        res = session.execute(update(o).where(held, o.id.in_(obsolete))
                              .values(status=OutboxStatus.OBSOLETE, lease_until=None, claimed_by=None)
                              .execution_options(synchronize_session=False))
        if res.rowcount != len(obsolete):
            return "lost"
    if not live:
        return OutboxStatus.OBSOLETE
    if outcomes:
        session.execute(insert(DeliveryAttempt), [
            dict(batch_key=batch.key, outbox_ids=[str(i) for i in live], recipient=batch.recipient, target=x.target,
                 status=x.status, error=x.error, attempt=attempt, worker=worker, at=now) for x in outcomes])
    delivered = sorted(set(batch.delivered) | {x.fingerprint for x in outcomes if x.status == "delivered"})
    temporary = [x for x in outcomes if x.status == "temporary"]
    permanent = [x for x in outcomes if x.status == "permanent"]
    errors = "; ".join(f"{x.target}: {x.error}" for x in outcomes if x.status != "delivered") or None
    values: dict[str, Any] = dict(attempts=attempt, delivered=delivered, lease_until=None, claimed_by=None)
    notice_error: str | None = None
    if not outcomes and not delivered:
        status, notice_error = OutboxStatus.FAILED, no_targets_error
        values.update(status=status, last_error=no_targets_error)
    elif temporary and attempt < delivery.max_attempts:
        status = OutboxStatus.PENDING
        retry_at = now + delivery.backoff(attempt)
        if quiet is not None and calendar is not None:
            retry_at = quiet.next_allowed(retry_at, tz, calendar)
        values.update(status=status, next_attempt_at=retry_at, last_error=errors)
    else:
        status = OutboxStatus.SENT if delivered else OutboxStatus.FAILED
        values.update(status=status, last_error=errors)
        if status == OutboxStatus.SENT:
            values["sent_at"] = now
        if temporary or permanent:
            notice_error = errors
    res = session.execute(update(o).where(held, o.id.in_(live)).values(**values).execution_options(synchronize_session=False))
    if res.rowcount != len(live):
        return "lost"
    if notice_error is not None and FAILURE_LEVEL not in batch.levels:
        notify_secretariat(session, batch, error=notice_error, now=now, targets=[x.target for x in outcomes
                                                                                  if x.status != "delivered"],
                           attempts=attempt, final_status=status)
    return status


def notify_secretariat(session: Session, batch: Batch, *, error: str, now: datetime, targets: list[str],
                       attempts: int, final_status: str) -> int:
    """Queue one "delivery failed" notice per secretariat member (deduped per batch)."""
    from engine.escalation import recipient_label

    ids = list(session.execute(select(Person.id).where(Person.role == Role.SECRETARIAT, Person.active.is_(True))
                               .order_by(Person.id)).scalars())
    items = sorted({wid for wid in session.execute(select(OutboxMessage.work_item_id)
                                                    .where(OutboxMessage.id.in_(batch.row_ids))).scalars() if wid})
    data = {"recipient": batch.recipient, "recipient_name": recipient_label(session, batch.recipient),
            "batch_key": batch.key, "error": error, "targets": targets, "attempts": attempts,
            "final_status": final_status, "levels": batch.levels, "work_item_ids": items}
    n = 0
    for pid in ids:
        rcpt = f"person:{pid}"
        key = f"{FAILURE_LEVEL}:{batch.key}:{rcpt}"
        if session.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
            continue
        session.add(OutboxMessage(dedupe_key=key, level=FAILURE_LEVEL, level_rank=FAILURE_RANK, occurrence=batch.key,
                                  work_item_id=None, deadline=None, recipient=rcpt, status=OutboxStatus.PENDING, not_before=now,
                                  next_attempt_at=now, attempts=0, delivered=[], data=data, created_at=now))
        n += 1
    session.flush()
    return n


# --- reading ------------------------------------------------------------------------------------------


def counts(session: Session) -> dict[str, int]:
    return {s: n for s, n in session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))}


def list_rows(session: Session, *, status: str | None = None, limit: int | None = 200) -> list[dict[str, Any]]:
    """Outbox rows as dicts (JSON-ready; no target URLs), newest first, with their attempts."""
    from engine.escalation import recipient_label
    from engine.refs import item_refs
    from engine.models import WorkItem

    stmt = select(OutboxMessage)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    stmt = stmt.order_by(OutboxMessage.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    rows = list(session.execute(stmt).scalars())
    item_ids = {r.work_item_id for r in rows if r.work_item_id}
    items = list(session.execute(select(WorkItem).where(WorkItem.id.in_(item_ids))).scalars()) if item_ids else []
    refs = item_refs(session, items)
    keys = {r.batch_key for r in rows if r.batch_key}
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if keys:
        for a in session.execute(select(DeliveryAttempt).where(DeliveryAttempt.batch_key.in_(keys))
                                 .order_by(DeliveryAttempt.id)).scalars():
            attempts[a.batch_key].append({"attempt": a.attempt, "target": a.target, "status": a.status,
                                          "error": a.error, "at": a.at.isoformat()})
    labels: dict[str, str] = {}
    out = []
    for r in rows:
        if r.recipient not in labels:
            labels[r.recipient] = recipient_label(session, r.recipient)
        out.append({
            "id": r.id, "item": refs.get(r.work_item_id) if r.work_item_id else None, "work_item_id": r.work_item_id,
            "level": r.level, "occurrence": r.occurrence, "deadline": r.deadline.isoformat() if r.deadline else None,
            "recipient": r.recipient, "recipient_name": labels[r.recipient], "status": r.status,
            "attempts": r.attempts, "not_before": r.not_before.isoformat(), "next_attempt_at": r.next_attempt_at.isoformat(),
            "sent_at": r.sent_at.isoformat() if r.sent_at else None, "batch_key": r.batch_key,
            "last_error": r.last_error, "delivery_attempts": attempts.get(r.batch_key or "", []),
        })
    return out

"""The append-only, hash-chained event log.

Every change (status, note, deadline, extension, plan load, timeliness flip) is one
``Event`` row. Events get contiguous ids from the single ``chain_head`` row, which each
append locks (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers). Each event's hash covers its content and the previous hash, so
``verify_chain`` finds an edited row (hash mismatch), a deleted row (gap in ids or a
broken link) and a deleted tail (head disagrees with the last row).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from engine.models import ChainHead, Event

GENESIS = "0" * 64

# The columns an event's hash covers, in order.
HASHED = (
    "id", "at", "recorded_at", "actor", "actor_role", "kind", "plan_id", "task_id",
    "work_item_id", "from_status", "to_status", "note", "evidence", "percent",
    "deadline_before", "deadline_after", "data",
)  # fmt: skip


def _canon(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # aware on every backend (UTCDateTime)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def _json_safe(data: Mapping[str, Any] | None) -> dict[str, Any]:
    return json.loads(json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str))


def event_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    payload = {k: _canon(row.get(k)) for k in HASHED}
    if row.get("percent") is not None:  # stored as a float column: 70 and 70.0 must hash alike
        payload["percent"] = repr(float(row["percent"]))
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + blob).encode("utf-8")).hexdigest()


def _lock_head(conn: Connection) -> tuple[int, str]:
    """(last event id, last hash) of the chain head, row-locked until the transaction ends
    (``FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` already holds the write lock).
    A plain column read: no ORM object to load, refresh and expire on every append."""
    last_id, last_hash = conn.execute(_head_stmt(conn.dialect.name == "postgresql")).one()
    return int(last_id), last_hash


@cache
def _head_stmt(lock: bool):  # -> Select (built once)
    stmt = select(ChainHead.last_event_id, ChainHead.last_hash).where(ChainHead.id == 1)
    return stmt.with_for_update() if lock else stmt


@cache
def _event_insert():  # -> Insert (built once)
    return insert(Event.__table__)


@cache
def _append_pg(n: int, keys: tuple[str, ...]):  # -> Update with the INSERT as a CTE (built once per shape)
    t = Event.__table__
    rows = [{t.c[k]: bindparam(f"e{i}_{k}", type_=t.c[k].type) for k in keys} for i in range(n)]
    # one row as a plain VALUES mapping: SQLAlchemy caches its compiled form (a multi-row
    # VALUES has no cache key and is compiled again on every execution, ~1.5 ms)
    return _head_update().add_cte(insert(t).values(rows[0] if n == 1 else rows).cte("appended"))


@cache
def _head_update():  # -> Update (built once)
    return (update(ChainHead).where(ChainHead.id == 1)
            .values(last_event_id=bindparam("new_last"), last_hash=bindparam("new_hash"),
                    count=ChainHead.count + bindparam("added"))
            .execution_options(synchronize_session=False))


def append_events(session: Session, rows: Iterable[Mapping[str, Any]], *, now: datetime) -> list[int]:
    """Append events in order; returns their ids. Must run inside the caller's transaction.

    The chain head is locked here, as late as the caller allows: everything the caller did
    before (reads, the item's compare-and-set) runs without it, so concurrent writers on
    PostgreSQL queue on the head only for the last statements of their transaction."""
    rows = list(rows)
    if not rows:
        return []
    # hash everything that does not depend on the head before taking the lock
    prepared: list[dict[str, Any]] = []
    for r in rows:
        row = {k: r.get(k) for k in HASHED if k not in ("id", "data", "recorded_at")}
        row.update(recorded_at=now, data=_json_safe(r.get("data")))
        if row.get("at") is None:
            row["at"] = now
        prepared.append(row)
    session.flush()
    conn = session.connection()  # Core statements: no ORM bulk machinery per append
    last_id, prev = _lock_head(conn)
    next_id = last_id + 1
    for row in prepared:
        row["id"] = next_id
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, row)
        next_id += 1
    head = {"new_last": next_id - 1, "new_hash": prev, "added": len(prepared)}
    if conn.dialect.name == "postgresql" and len(prepared) <= 8:
        # one round trip for both while the head is locked: WITH (INSERT events) UPDATE head
        params = {f"e{i}_{k}": v for i, row in enumerate(prepared) for k, v in row.items()}
        conn.execute(_append_pg(len(prepared), tuple(prepared[0])), {**params, **head})
    else:
        conn.execute(_event_insert(), prepared)
        conn.execute(_head_update(), head)
    loaded = session.identity_map.get(identity_key(ChainHead, 1))
    if loaded is not None:  # a head object someone loaded in this session is stale now
        session.expire(loaded)
    return [r["id"] for r in prepared]


def append_event(session: Session, *, now: datetime, **fields: Any) -> int:
    return append_events(session, [fields], now=now)[0]


@dataclass
class ChainReport:
    count: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, *, batch: int = 5000, limit_problems: int = 50) -> ChainReport:
    """Re-hash the whole log; name every edited, deleted or out-of-place event."""
    report = ChainReport()
    head = session.execute(select(ChainHead).where(ChainHead.id == 1)).scalar_one()
    cols = [getattr(Event, c) for c in HASHED] + [Event.prev_hash, Event.hash]
    prev_hash, prev_id = GENESIS, 0
    last = 0
    while True:
        rows = session.execute(select(*cols).where(Event.id > last).order_by(Event.id).limit(batch)).mappings().all()
        if not rows:
            break
        for row in rows:
            rid = row["id"]
            report.count += 1
            if rid != prev_id + 1:
                missing = f"#{prev_id + 1}" if rid == prev_id + 2 else f"#{prev_id + 1}–#{rid - 1}"
                report.problems.append(f"event {missing} deleted (ids jump from #{prev_id} to #{rid})")
            if row["prev_hash"] != prev_hash:
                report.problems.append(f"event #{rid}: link to the previous event is broken (a row before it was changed or removed)")
            if event_hash(row["prev_hash"], row) != row["hash"]:
                report.problems.append(f"event #{rid} was edited after it was written (kind={row['kind']}, actor={row['actor']})")
            prev_hash, prev_id = row["hash"], rid
            if len(report.problems) >= limit_problems:
                return report
        last = rows[-1]["id"]
    if head.last_event_id != prev_id or head.last_hash != prev_hash:
        report.problems.append(
            f"the log ends at event #{prev_id} but the chain head records #{head.last_event_id}: "
            "the newest events were deleted (or the head was altered)"
        )
    if head.count != report.count:
        report.problems.append(f"the head counts {head.count} events but {report.count} are present")
    return report

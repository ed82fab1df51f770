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
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

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


def _lock_head(session: Session) -> ChainHead:
    stmt = select(ChainHead).where(ChainHead.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    head = session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
    return head


def append_events(session: Session, rows: Iterable[Mapping[str, Any]], *, now: datetime) -> list[int]:
    """Append events in order; returns their ids. Must run inside the caller's transaction."""
    rows = list(rows)
    if not rows:
        return []
    session.flush()
    head = _lock_head(session)
    prev, next_id = head.last_hash, head.last_event_id + 1
    out: list[dict[str, Any]] = []
    for r in rows:
        row = {k: r.get(k) for k in HASHED if k not in ("id", "data", "recorded_at")}
        row.update(id=next_id, recorded_at=now, data=_json_safe(r.get("data")))
        if row.get("at") is None:
            row["at"] = now
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, row)
        out.append(row)
        next_id += 1
    session.execute(insert(Event), out)
    session.execute(
        update(ChainHead)
        .where(ChainHead.id == 1)
        .values(last_event_id=next_id - 1, last_hash=prev, count=ChainHead.count + len(out))
    )
    session.expire(head)
    return [r["id"] for r in out]


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

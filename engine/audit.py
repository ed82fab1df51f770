"""The append-only, hash-chained event log.

Every change (status, note, deadline, extension, plan load, timeliness flip) is one
``Event`` row. Events get contiguous ids from the single ``chain_head`` row, which each
append locks (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers). Each event's hash covers its content and the previous hash, so
``verify_chain`` finds an edited row (hash mismatch), a deleted row (gap in ids or a
broken link) and a deleted tail (head disagrees with the last row).

On PostgreSQL a lifecycle action's event takes its place in the chain when its transaction
commits (``append_event_at_commit``: the row waits in ``event_pending`` and a deferred
trigger chains it inside COMMIT), so concurrent writers hold the head only while a commit
runs. Within the transaction, reading the event log first settles the waiting events
(``settle``), so the transaction sees its own events as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, String, Update, bindparam, cast, event, func, insert, inspect, literal_column, select, update
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables
from sqlalchemy.orm.util import identity_key

from engine.models import ChainHead, Event, PendingEvent

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


class _NotPlain(Exception):
    pass


def _plain_copy(value: Any) -> Any:
    """``value`` as a round trip through ``json.dumps(sort_keys=True)`` and ``json.loads``
    would give it back, when it is plain JSON already (keys sorted, containers copied);
    ``_NotPlain`` for anything the round trip would change (a date, a tuple, a str subclass)."""
    if value is None or type(value) in (str, bool, int):
        return value
    if type(value) is float and value == value and value not in (float("inf"), float("-inf")):
        return value
    if type(value) is dict:
        if not all(type(k) is str for k in value):
            raise _NotPlain
        return {k: _plain_copy(value[k]) for k in sorted(value)}
    if type(value) is list:
        return [_plain_copy(v) for v in value]
    raise _NotPlain


def _json_safe(data: Mapping[str, Any] | None) -> dict[str, Any]:
    # most events' data is plain JSON already: copying it is cheaper than the round trip
    # (bench/progress_import.py: 13,600 events, a dumps and a loads each, about 0.1 s)
    if type(data) is dict:
        try:
            return _plain_copy(data)  # type: ignore[no-any-return]
        except _NotPlain:
            pass
    return json.loads(json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str))


def _payload(row: Mapping[str, Any]) -> dict[str, Any]:
    payload = {k: _canon(row.get(k)) for k in HASHED}
    if row.get("percent") is not None:  # stored as a float column: 70 and 70.0 must hash alike
        payload["percent"] = repr(float(row["percent"]))
    return payload


def event_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    blob = json.dumps(_payload(row), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + blob).encode("utf-8")).hexdigest()


def hashed_text_around_id(row: Mapping[str, Any]) -> tuple[str, str]:
    """(before, after): the text ``event_hash`` hashes after the previous hash and its newline
    is ``before + str(id) + after`` — so the database can hash an event whose id it assigns
    (``_append_one_pg``). Built key by key exactly as ``json.dumps(…, sort_keys=True)`` does."""
    payload = _payload({**row, "id": 0})
    parts: list[str] = []
    cut = -1
    for k in sorted(payload):
        if k == "id":
            cut = len(parts)
            parts.append("")
            continue
        parts.append(json.dumps(k) + ":" + json.dumps(payload[k], ensure_ascii=False, sort_keys=True,
                                                      separators=(",", ":")))
    before = "{" + ",".join(parts[:cut]) + ("," if cut > 0 else "") + '"id":'
    after = ("," if cut < len(parts) - 1 else "") + ",".join(parts[cut + 1:]) + "}"
    return before, after


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
    """PostgreSQL, a few events (a single one goes through ``_append_one_pg``): the head is
    locked already; insert them and move the head in one statement."""
    t = Event.__table__
    rows = [{t.c[k]: bindparam(f"e{i}_{k}", type_=t.c[k].type) for k in keys} for i in range(n)]
    return _head_update().add_cte(insert(t).values(rows).cte("appended"))


@cache
def _append_one_pg(keys: tuple[str, ...]) -> Any:
    """PostgreSQL, one event: lock the head, insert the event with the next id and its hash
    (computed here: sha256 of the previous hash, a newline and the event's canonical text,
    ``hashed_text_around_id``), and move the head — one statement, so the head stays locked
    only for it and the commit."""
    t, h = Event.__table__, ChainHead.__table__
    head = select(h.c.last_event_id, h.c.last_hash).where(h.c.id == 1).with_for_update().cte("head")
    new_id = head.c.last_event_id + 1
    text_ = (head.c.last_hash + literal_column("E'\\n'", String) + bindparam("pre", type_=String)
             + cast(new_id, String) + bindparam("post", type_=String))
    digest = func.encode(func.sha256(func.convert_to(text_, literal_column("'UTF8'"))), literal_column("'hex'"))
    cols = [t.c[k] for k in keys]
    values = select(new_id.label("id"), *(bindparam(f"e_{k}", type_=t.c[k].type) for k in keys),
                    head.c.last_hash.label("prev_hash"), digest.label("hash"))
    ins = (insert(t).from_select([t.c.id, *cols, t.c.prev_hash, t.c.hash], values)
           .returning(t.c.id, t.c.hash).cte("appended"))
    return (update(h).where(h.c.id == 1)
            .values(last_event_id=select(ins.c.id).scalar_subquery(), last_hash=select(ins.c.hash).scalar_subquery(),
                    count=h.c.count + 1)
            .returning(select(ins.c.id).scalar_subquery())
            .execution_options(synchronize_session=False))


@cache
def _head_update():  # -> Update (built once)
    return (update(ChainHead).where(ChainHead.id == 1)
            .values(last_event_id=bindparam("new_last"), last_hash=bindparam("new_hash"),
                    count=ChainHead.count + bindparam("added"))
            .execution_options(synchronize_session=False))


# The chain head read (and locked) by ``update_locking_head`` for this transaction's next append.
_LOCKED_HEAD = "steer.audit.locked_head"


# Set while this transaction has events waiting in ``event_pending`` for its commit.
_WAITING = "steer.audit.events_waiting"
# The deferred constraint trigger that chains them (migration 0008).
_TRIGGER = "event_pending_chain"


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction_state(session: Session, transaction: Any) -> None:
    # any end (a savepoint's too): a head read in a transaction or savepoint that ended is
    # not known to be locked and current any more; the next append reads it again
    session.info.pop(_LOCKED_HEAD, None)
    if transaction.parent is None:  # waiting events belong to the whole transaction
        session.info.pop(_WAITING, None)


@cache
def _pending_insert():  # -> Insert (built once)
    return insert(PendingEvent.__table__)


def append_event_at_commit(session: Session, *, now: datetime, **fields: Any) -> None:
    """Append one event whose place in the chain (id, hash) is taken when the transaction
    commits — PostgreSQL: the row waits in ``event_pending`` and the deferred trigger
    ``event_pending_chain`` locks the head, writes the event and moves the head inside
    COMMIT (events of one transaction keep their order). Everything the transaction does
    after this runs without the head, which concurrent writers would otherwise wait for.
    Elsewhere (SQLite, whose writers are serialised anyway) it is ``append_event``.

    The event has no id before the commit; reads of the event log later in the same
    transaction see it (``settle`` runs first), and so does any append of events that
    takes its ids at once."""
    conn = session.connection()
    # (the trigger comes with the table, migration 0008; were it dropped or disabled, the
    # events would stay in event_pending, and verify_chain says so)
    if conn.dialect.name != "postgresql":
        append_events(session, [fields], now=now)
        return
    row = _prepare(fields, now)
    pre, post = hashed_text_around_id(row)
    session.flush()
    conn.execute(_pending_insert(), {**row, "pre": pre, "post": post})
    session.info[_WAITING] = True


def settle(session: Session) -> None:
    """Chain this transaction's waiting events now (``SET CONSTRAINTS … IMMEDIATE``: the
    deferred trigger fires at once, and for the rest of the transaction at each insert),
    so they have ids and are visible to the transaction's own reads and later appends."""
    if session.info.pop(_WAITING, None):
        session.connection().exec_driver_sql(f"SET CONSTRAINTS {_TRIGGER} IMMEDIATE")


@event.listens_for(Session, "do_orm_execute")
def _settle_before_reading_events(state: ORMExecuteState) -> None:
    # only sessions with waiting events pay for the look at the statement
    if _WAITING in state.session.info and Event.__table__ in find_tables(state.statement, include_crud=True):
        settle(state.session)


@cache
def _update_with_head(stmt: Update) -> Any:
    """SQLite: ``stmt`` (an UPDATE of one row by its key) that also reads the chain head,
    ``UPDATE … RETURNING (SELECT head)`` (its writers are serialised by BEGIN IMMEDIATE)."""
    head = ChainHead.__table__.alias("head")
    return stmt.returning(select(head.c.last_event_id).where(head.c.id == 1).scalar_subquery(),
                          select(head.c.last_hash).where(head.c.id == 1).scalar_subquery())


def update_locking_head(session: Session, stmt: Update, params: Mapping[str, Any]) -> bool:
    """Run ``stmt``, an UPDATE of at most one row (a compare-and-set) that an event append
    follows in this transaction; True when it changed the row. On SQLite the same statement
    reads the chain head, which the next ``append_events`` of the transaction then uses
    instead of reading it again (one statement fewer per action; BEGIN IMMEDIATE already
    holds the write lock). On PostgreSQL the head is left alone: an action's event takes it
    inside COMMIT (``append_event_at_commit``), so concurrent writers queue on it only while
    a commit runs."""
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite" or not dialect.update_returning:
        return conn.execute(stmt, params).rowcount == 1
    rows = conn.execute(_update_with_head(stmt), params).all()
    if not rows:
        return False
    session.info[_LOCKED_HEAD] = (int(rows[0][0]), rows[0][1])
    return True


def append_events(session: Session, rows: Iterable[Mapping[str, Any]], *, now: datetime) -> list[int]:
    """Append events in order; returns their ids. Must run inside the caller's transaction.

    The chain head is locked here, as late as the caller allows: everything the caller did
    before (reads, the item's compare-and-set) runs without it, so concurrent writers on
    PostgreSQL queue on the head only for the last statements of their transaction — for
    one event, only for the one statement that locks it, writes the event and moves it, and
    the commit. (On SQLite, when the caller's compare-and-set read the head already,
    ``update_locking_head``, that is used.)"""
    rows = list(rows)
    if not rows:
        return []
    # hash everything that does not depend on the head before taking the lock
    prepared = [_prepare(r, now) for r in rows]
    settle(session)  # events waiting for the commit come first
    session.flush()
    conn = session.connection()  # Core statements: no ORM bulk machinery per append
    locked = session.info.pop(_LOCKED_HEAD, None)
    if locked is None and len(prepared) == 1 and conn.dialect.name == "postgresql":
        # the usual action: head locked, event written and head moved in one statement
        row = prepared[0]
        pre, post = hashed_text_around_id(row)
        new_id = conn.execute(_append_one_pg(tuple(row)), {**{f"e_{k}": v for k, v in row.items()},
                                                          "pre": pre, "post": post}).scalar_one()
        _expire_head(session)
        return [int(new_id)]
    last_id, prev = locked if locked is not None else _lock_head(conn)
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
    _expire_head(session)
    return [r["id"] for r in prepared]


def _prepare(r: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    row = {k: r.get(k) for k in HASHED if k not in ("id", "data", "recorded_at")}
    row.update(recorded_at=now, data=_json_safe(r.get("data")))
    if row.get("at") is None:
        row["at"] = now
    return row


def _expire_head(session: Session) -> None:
    loaded = session.identity_map.get(identity_key(ChainHead, 1))
    if loaded is not None:  # a head object someone loaded in this session is stale now
        session.expire(loaded)


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
    waiting = 0
    if inspect(session.connection()).has_table(PendingEvent.__tablename__):  # (a backup's older schema)
        waiting = session.scalar(select(func.count()).select_from(PendingEvent)) or 0
    if waiting:  # committed rows there were never chained: the trigger is missing or disabled
        report.problems.append(f"{waiting} events are outside the chain, in event_pending "
                               f"(the trigger {_TRIGGER} that chains them at commit is missing or disabled)")
    return report

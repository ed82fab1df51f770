"""Concurrency at scale: several `steer escalation dispatch` processes draining one outbox
into a real HTTP receiver that counts deliveries by idempotency key.

The outbox is seeded directly (tests/faultkit.seed_outbox: bulk inserts of the rows
detection would write; detection itself is tested in test_escalation*.py). Each recipient
(a unit with a ``json://`` notify URL) has several due rows, so every message is a digest
and the claims' grouping by recipient is exercised under contention: 8 rows per recipient
do not divide the claim limit (500), so claims are cut inside groups.

What "exactly once" means here, checked from both ends:
* receiver: the set of idempotency keys == the set of the outbox's batch keys, each
  accepted exactly once, and each recipient got exactly one message (one digest per run);
* content: every work item's reference appears in exactly one accepted message — the one
  whose key is its row's batch key;
* database: every row ``sent`` after one attempt, one ``delivered`` delivery_attempt per batch,
  spread over the worker processes.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import outbox
from engine.db import make_engine, transaction
from engine.models import DeliveryAttempt, OutboxMessage, Task, WorkItem
from tests.conftest import IN_CI, PG_URL
from tests.factories import at
from tests.faultkit import KeyReceiver, outbox_state, seed_outbox, start_dispatcher

T = at("2025-06-16 08:00")  # a Monday morning: no quiet hours
REF = re.compile(r"\] (KH-SCALE/\d+) — ")
needs_pg = pytest.mark.skipif(not PG_URL and not IN_CI, reason="set STEER_TEST_POSTGRES_URL")


def drain(engine, db_url: str, tmp_path, *, units: int, per_unit: int,  # type: ignore[no-untyped-def]
          workers: int) -> dict[str, float]:
    with KeyReceiver() as r:
        t0 = time.monotonic()
        row_ids = seed_outbox(engine, units, lambda c: r.url(f"/u/{c}"), now=T, per_unit=per_unit)
        seeded = time.monotonic() - t0
        assert len(row_ids) == units * per_unit
        t0 = time.monotonic()
        procs = [start_dispatcher(db_url, T, tmp_path, f"dispatcher{i}") for i in range(workers)]
        for p in procs:
            assert p.wait(timeout=900) == 0, p.stderr[-3000:]
            assert "Traceback" not in p.stderr and "locked" not in p.stderr, p.stderr[-3000:]
        drained = time.monotonic() - t0
        got = list(r.got)

    rows = outbox_state(engine)
    assert Counter(x["status"] for x in rows) == {"sent": len(row_ids)}
    assert {x["attempts"] for x in rows} == {1}
    keys_of_rows = {x["id"]: x["batch_key"] for x in rows}
    batch_keys = set(keys_of_rows.values())

    # receiver side: every batch key exactly once, one message per recipient
    by_key = Counter(g.key for g in got)
    assert set(by_key) == batch_keys
    assert [k for k, n in by_key.items() if n != 1] == []
    by_recipient = Counter(g.path for g in got)
    assert len(by_recipient) == units and set(by_recipient.values()) == {1}, \
        {p: n for p, n in by_recipient.items() if n > 1}

    # content: each item in exactly one message, the one with its row's key
    with transaction(engine) as s:
        ref_of_row = {oid: f"KH-SCALE/{code}" for oid, code in s.execute(
            select(OutboxMessage.id, Task.code).join(WorkItem, WorkItem.id == OutboxMessage.work_item_id)
            .join(Task, Task.id == WorkItem.task_id))}
        attempts = s.execute(select(DeliveryAttempt.batch_key, DeliveryAttempt.status, DeliveryAttempt.worker)).all()
    seen: dict[str, str] = {}
    for g in got:
        refs = REF.findall(g.message)
        assert refs and f"Mã thông báo: {g.key}" in g.message
        for ref in refs:
            assert ref not in seen, f"{ref} delivered twice"
            seen[ref] = g.key
    assert {ref_of_row[i]: keys_of_rows[i] for i in row_ids} == seen

    # database side: one delivered attempt per batch, recorded by the workers that ran
    assert Counter(k for k, _, _ in attempts) == Counter({k: 1 for k in batch_keys})
    assert {st for _, st, _ in attempts} == {"delivered"}
    workers_used = Counter(w for _, _, w in attempts)
    assert set(workers_used) <= {p.worker for p in procs}
    assert len(workers_used) >= 2, f"the work was not shared: {workers_used}"
    return {"seed_s": round(seeded, 2), "drain_s": round(drained, 2), "messages": len(got),
            "messages_per_s": round(len(got) / drained, 1), "rows_per_s": round(len(row_ids) / drained, 1)}


@pytest.mark.slow
@needs_pg
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_four_dispatcher_processes_on_postgres_deliver_10000_notifications_each_exactly_once(engine, db_url, tmp_path):
    m = drain(engine, db_url, tmp_path, units=1250, per_unit=8, workers=4)
    print(f"\n10,000 rows / 1,250 digests, 4 processes, PostgreSQL: {m}")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_four_dispatcher_processes_on_sqlite_deliver_2000_notifications_each_exactly_once(engine, db_url, tmp_path):
    m = drain(engine, db_url, tmp_path, units=250, per_unit=8, workers=4)
    print(f"\n2,000 rows / 250 digests, 4 processes, SQLite: {m}")


@needs_pg
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_claim_never_takes_the_rest_of_a_recipients_rows_another_open_claim_has_locked(engine, db_url):
    """Found by the scale test: worker A's claim cuts recipient R's rows at its LIMIT (and
    leaves R for its next round) while worker B's concurrent claim skips A's locked rows
    and took R's remaining rows — R got two digests in one run."""
    with KeyReceiver() as r:
        seed_outbox(engine, 3, lambda c: r.url(f"/u/{c}"), now=T, per_unit=4)  # rows: U1 ×4, U2 ×4, U3 ×4
    lease = timedelta(minutes=5)
    other = make_engine(db_url)
    try:
        with transaction(engine) as a:
            got_a = outbox.claim(a, now=T, worker="A", lease=lease, limit=6)   # U1 whole + 2 rows of U2 (left)
            assert [(b.recipient, len(b.row_ids)) for b in got_a] == [("unit:U00001", 4)]
            with transaction(other) as b:                                     # while A's rows are still locked
                got_b = outbox.claim(b, now=T, worker="B", lease=lease, limit=10)
            assert [(x.recipient, len(x.row_ids)) for x in got_b] == [("unit:U00003", 4)]
        with transaction(engine) as c:                                        # after A committed: U2 whole
            got_c = outbox.claim(c, now=T, worker="C", lease=lease, limit=6)
        assert [(x.recipient, len(x.row_ids)) for x in got_c] == [("unit:U00002", 4)]
    finally:
        other.dispose()
    with transaction(engine) as s:
        assert outbox.counts(s) == {"sending": 12}

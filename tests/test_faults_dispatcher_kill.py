"""kill -9 of a `steer escalation dispatch` process in the middle of a round, then restarts,
on SQLite and PostgreSQL, with a real HTTP receiver counting deliveries per idempotency key.

The README's promise ("Escalation and delivery"): nothing is lost — a row leaves
``pending``/``sending`` only when recorded ``sent``/``failed``/``obsolete`` — and a
duplicate happens only when a worker dies (or loses the database) after a receiver
accepted a message but before its rows were marked sent; the rows the dead worker had
leased are sent again once the lease (5 minutes) has expired, under the same key.

A dispatcher sends one batch at a time and records it before sending the next, so at any
moment at most one accepted-but-unrecorded message exists per dispatcher: each kill can
add at most one duplicate, and only for a batch whose lease the killed process held.
Times are simulated with ``--now`` (the lease is 5 minutes of that clock): nothing sleeps.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine.db import transaction
from engine.models import DeliveryAttempt
from tests.factories import at
from tests.faultkit import KeyReceiver, outbox_state, seed_outbox, start_dispatcher, wait_until

T = at("2025-06-16 08:00")
LEASE = timedelta(minutes=5)  # plans/escalation-policy.yaml delivery.lease_seconds


def test_kill_9_with_a_message_in_flight_loses_nothing_and_resends_only_that_message_after_the_lease(engine, db_url,
                                                                                                     tmp_path):
    units = 40
    with KeyReceiver(hold_at=15) as r:
        seed_outbox(engine, units, lambda c: r.url(f"/u/{c}"), now=T, per_unit=2)
        victim = start_dispatcher(db_url, T, tmp_path, "victim")
        wait_until(r.held.is_set, 180, "the 15th message to arrive")  # accepted by the receiver, not answered
        victim.kill9()
        r.release()
        at_kill = outbox_state(engine)
        in_flight = r.got[14].key

        # at the kill: 14 batches recorded sent; the rest of the round leased by the dead process
        assert Counter(x["status"] for x in at_kill) == {"sent": 28, "sending": 52}
        sent_keys = {x["batch_key"] for x in at_kill if x["status"] == "sent"}
        assert sent_keys == {g.key for g in r.got[:14]}
        leased = {x["batch_key"] for x in at_kill if x["status"] == "sending"}
        assert {x["claimed_by"] for x in at_kill if x["status"] == "sending"} == {victim.worker}
        assert in_flight in leased

        # within the lease the dead worker's rows wait: a dispatcher 4 minutes later sends nothing
        early = start_dispatcher(db_url, T + timedelta(minutes=4), tmp_path, "early")
        assert early.wait(180) == 0, early.stderr
        assert r.count == 15
        assert outbox_state(engine) == at_kill

        # after the lease: the rest of the round goes out, the in-flight message again
        after = start_dispatcher(db_url, T + LEASE + timedelta(seconds=1), tmp_path, "after")
        assert after.wait(300) == 0, after.stderr
        got = list(r.got)

    rows = outbox_state(engine)
    assert {x["status"] for x in rows} == {"sent"}                      # nothing lost
    by_key = Counter(g.key for g in got)
    assert set(by_key) == {x["batch_key"] for x in rows} and len(by_key) == units
    dups = {k for k, n in by_key.items() if n > 1}
    assert dups == {in_flight} and by_key[in_flight] == 2               # the one documented duplicate
    assert dups <= leased
    first, second = [g for g in got if g.key == in_flight]
    assert (first.title, first.message) == (second.title, second.message)  # same message, same key
    with transaction(engine) as s:
        attempts = s.execute(select(DeliveryAttempt.batch_key, DeliveryAttempt.worker, DeliveryAttempt.status)).all()
    assert Counter(k for k, _, _ in attempts) == Counter({k: 1 for k in by_key})  # the dead one never recorded
    assert {k for k, w, _ in attempts if w == victim.worker} == sent_keys
    assert {k for k, w, _ in attempts if w == after.worker} == leased
    assert {st for _, _, st in attempts} == {"delivered"}


@pytest.mark.slow
def test_repeated_kill_9_at_random_moments_never_loses_a_notification_and_adds_at_most_one_duplicate_per_kill(
        engine, db_url, tmp_path):
    units, kills = 60, 6
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    in_flight: set[str] = set()
    moments: list[float] = []
    with KeyReceiver(delay=0.02) as r:
        seed_outbox(engine, units, lambda c: r.url(f"/u/{c}"), now=T, per_unit=2)
        now = T
        for i in range(kills):
            p = start_dispatcher(db_url, now, tmp_path, f"victim{i}")
            # mid-round: after 1-6 more messages arrived, plus 0-60 ms (inside a send, a
            # digest being built, a transaction being committed, ...)
            before, more, extra_wait = r.count, rng.randint(1, 6), rng.uniform(0, 0.06)
            wait_until(lambda: r.count >= before + more or p.popen.poll() is not None, 180, "messages")
            time.sleep(extra_wait)
            if p.popen.poll() is not None:  # it finished everything before the kill
                break
            p.kill9()
            moments.append((r.count - before, round(extra_wait * 1000)))
            if r.got:
                in_flight.add(r.got[-1].key)  # the only message that can be accepted but unrecorded
            now += LEASE + timedelta(seconds=1)
        last = start_dispatcher(db_url, now, tmp_path, "survivor")
        assert last.wait(300) == 0, last.stderr
        got = list(r.got)

    info = f"seed={seed} kills (messages received from the victim, ms after the last) {moments}"
    rows = outbox_state(engine)
    assert {x["status"] for x in rows} == {"sent"}, info
    by_key = Counter(g.key for g in got)
    assert set(by_key) == {x["batch_key"] for x in rows} and len(by_key) == units, info
    extra = sum(n - 1 for n in by_key.values())
    assert extra <= len(moments), info
    assert {k for k, n in by_key.items() if n > 1} <= in_flight, info
    if db_url.startswith("sqlite"):
        with engine.connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    print(f"\n{info}: {len(got)} deliveries for {units} messages ({extra} duplicate(s))")

"""A dispatcher that is slow rather than dead: its round outlives the lease.

A dispatcher claims a round of batches under one lease, then sends them one after the
other. When one send takes longer than the lease (a receiver that answers after minutes,
a paused VM), another worker may claim the expired rows and send them. The batch being
sent at that moment is the documented duplicate window (same key twice); the batches not
yet sent must not be sent a second time by the slow worker: before each send it renews
its lease on condition it still holds the rows (engine.outbox.renew), and skips them if not.

Both workers run in this process (threads, separate engines) so that the slow worker's
clock can jump: ``dispatch(now_fn=…)`` is the clock the dispatcher reads.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from engine.db import make_engine
from notifications.delivery import dispatch
from tests.factories import at
from tests.faultkit import KeyReceiver, outbox_state, seed_outbox, wait_until

T = at("2025-06-16 08:00")


def test_a_dispatcher_whose_round_outlives_its_lease_does_not_resend_the_batches_another_worker_took_over(
        engine, db_url):
    clock = {"now": T}
    result: dict[str, object] = {}
    with KeyReceiver(hold_at=1) as r:
        seed_outbox(engine, 3, lambda c: r.url(f"/u/{c}"), now=T)  # 3 recipients, one batch each

        def slow() -> None:
            eng = make_engine(db_url)
            try:
                result["slow"] = dispatch(eng, now_fn=lambda: clock["now"], worker="slow")
            except BaseException as exc:  # pragma: no cover - reported below
                result["slow"] = exc
            finally:
                eng.dispose()

        t = threading.Thread(target=slow)
        t.start()
        wait_until(r.held.is_set, 60, "the slow worker's first message")
        first = r.got[0].key
        clock["now"] = T + timedelta(minutes=6)   # ... its first send takes 6 minutes
        other = dispatch(engine, now=T + timedelta(minutes=5, seconds=1), worker="other")  # takes the expired leases
        assert other.by_status == {"sent": 3}
        r.release()
        t.join(60)
        assert not t.is_alive()
        got = Counter(g.key for g in r.got)

    slow_result = result["slow"]
    assert not isinstance(slow_result, BaseException), slow_result
    assert slow_result.by_status == {"lost": 3}    # recorded nothing, sent nothing more
    assert len(got) == 3
    assert got[first] == 2                          # the send that outlived the lease: the documented window
    assert [k for k, n in got.items() if k != first and n != 1] == []
    assert {(x["status"], x["attempts"]) for x in outbox_state(engine)} == {("sent", 1)}

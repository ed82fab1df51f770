"""The outbox protocol without the network: leases, compare-and-set marking, backoff,
failure notices to the secretariat, and concurrent claims that never share a row."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import date, timedelta

from sqlalchemy import select

from engine import escalation as esc
from engine import outbox
from engine.db import make_engine, transaction
from engine.models import DeliveryAttempt, OutboxMessage
from engine.outbox import TargetOutcome
from engine.policy import Delivery, load_policy
from tests.factories import at, seed

TASKS = tuple({"code": str(i), "lead": [u], "deadline": date(2025, 5, 30)}
              for i, u in enumerate(["SKHCN", "SNV", "STC", "SKHCN", "SNV"], start=1))
NOW = at("2025-06-16 08:00")  # 11 wd overdue: chair level + weekly digest
LEASE = timedelta(minutes=5)
DELIVERY = Delivery(max_attempts=3, backoff_seconds=60, backoff_max_seconds=3600)


def _detected(engine) -> int:  # type: ignore[no-untyped-def]
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        return esc.detect(s, now=NOW).inserted


def _claim(engine, worker: str, when=NOW, limit: int = 500):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return outbox.claim(s, now=when, worker=worker, lease=LEASE, limit=limit)


def _statuses(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return outbox.counts(s)


def test_claim_groups_rows_by_recipient_and_leases_them(engine):
    n = _detected(engine)
    batches = _claim(engine, "A")
    assert sum(len(b.row_ids) for b in batches) == n
    assert sorted(b.recipient for b in batches) == ["person:chair", "person:pct_kt", "person:secretariat",
                                                     "person:secretariat2"]
    assert _statuses(engine) == {"sending": n}
    assert _claim(engine, "B") == []                                 # leased
    again = _claim(engine, "B", when=NOW + LEASE + timedelta(seconds=1))  # expired: claimed again
    assert {(b.key, tuple(b.row_ids)) for b in again} == {(b.key, tuple(b.row_ids)) for b in batches}
    with transaction(engine) as s:
        assert set(s.execute(select(OutboxMessage.claimed_by)).scalars()) == {"B"}


def test_a_worker_whose_lease_was_taken_over_changes_nothing(engine):
    _detected(engine)
    batch = _claim(engine, "A")[0]
    _claim(engine, "B", when=NOW + LEASE + timedelta(seconds=1))
    ok = [TargetOutcome("fp", "json://127.0.0.1/x", "delivered")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, batch, ok, now=NOW + LEASE, worker="A", delivery=DELIVERY) == "lost"
    assert "sent" not in _statuses(engine)
    with transaction(engine) as s:
        assert outbox.record_outcome(s, batch, ok, now=NOW + LEASE, worker="B", delivery=DELIVERY) == "sent"


def test_temporary_failures_back_off_then_fail_and_the_secretariat_is_told_once(engine):
    _detected(engine)
    bad = [TargetOutcome("fp1", "json://127.0.0.1:9/hook", "temporary", "A Connection error occurred")]
    when = NOW
    chair = next(b for b in _claim(engine, "A") if b.recipient == "person:chair")
    for attempt, wait in ((1, 60), (2, 120)):
        with transaction(engine) as s:
            assert outbox.record_outcome(s, chair, bad, now=when, worker="A", delivery=DELIVERY) == "pending"
            row = s.get(OutboxMessage, chair.row_ids[0])
            assert row.attempts == attempt and row.next_attempt_at == when + timedelta(seconds=wait)
        assert not [b for b in _claim(engine, "A", when=when + timedelta(seconds=wait - 1)) if b.key == chair.key]
        when += timedelta(seconds=wait)
        chair = next(b for b in _claim(engine, "A", when=when) if b.key == chair.key)
        assert chair.attempts == attempt
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=when, worker="A", delivery=DELIVERY) == "failed"
        notices = s.execute(select(OutboxMessage).where(OutboxMessage.level == "delivery_failed")).scalars().all()
        assert sorted(n.recipient for n in notices) == ["person:secretariat", "person:secretariat2"]
        assert notices[0].data["recipient"] == "person:chair" and notices[0].data["attempts"] == 3
        assert "Connection error" in notices[0].data["error"]
        assert outbox.notify_secretariat(s, chair, error="x", now=when, targets=[], attempts=3, final_status="failed") == 0
        attempts = s.execute(select(DeliveryAttempt.attempt, DeliveryAttempt.status)
                             .where(DeliveryAttempt.batch_key == chair.key).order_by(DeliveryAttempt.id)).all()
    assert attempts == [(1, "temporary"), (2, "temporary"), (3, "temporary")]


def test_a_batch_remembers_which_targets_accepted_it(engine):
    _detected(engine)
    b = next(x for x in _claim(engine, "A") if x.recipient == "person:chair")
    mixed = [TargetOutcome("mail", "mailto://chair@x/", "delivered"),
             TargetOutcome("hook", "json://127.0.0.1:9/h", "temporary", "HTTP 503")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, b, mixed, now=NOW, worker="A", delivery=DELIVERY) == "pending"
    again = next(x for x in _claim(engine, "A", when=NOW + timedelta(minutes=2)) if x.key == b.key)
    assert again.delivered == ["mail"]
    with transaction(engine) as s:
        done = [TargetOutcome("hook", "json://127.0.0.1:9/h", "delivered")]
        assert outbox.record_outcome(s, again, done, now=NOW + timedelta(minutes=2), worker="A", delivery=DELIVERY) == "sent"
        assert s.get(OutboxMessage, b.row_ids[0]).delivered == ["hook", "mail"]


def test_no_address_fails_at_once_and_tells_the_secretariat(engine):
    _detected(engine)
    b = next(x for x in _claim(engine, "A") if x.recipient == "person:pct_kt")
    with transaction(engine) as s:
        assert outbox.record_outcome(s, b, [], now=NOW, worker="A", delivery=DELIVERY, no_targets_error="no notify") == "failed"
    assert _statuses(engine)["failed"] == len(b.row_ids)
    assert _statuses(engine)["pending"] == 2  # the two notices


def test_four_workers_claiming_at_once_never_get_the_same_row(engine, db_url):
    seed(engine, tasks=tuple({"code": str(i), "lead": ["SKHCN", "SNV", "STC"][i % 3:i % 3 + 1],
                              "deadline": date(2025, 5, 30)} for i in range(1, 61)))
    with transaction(engine) as s:
        n = esc.detect(s, now=NOW).inserted
    seen: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        eng = make_engine(db_url)
        try:
            while True:
                with transaction(eng) as s:
                    got = outbox.claim(s, now=NOW, worker=name, lease=LEASE, limit=7)
                if not got:
                    if got.busy:  # another worker's claim holds part of a group right now
                        time.sleep(0.01)
                        continue
                    return
                with lock:
                    seen.extend(i for b in got for i in b.row_ids)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == len(set(seen)) == n


def test_outbox_listing_shows_recipients_levels_and_attempts(engine):
    _detected(engine)
    b = _claim(engine, "A")[0]
    with transaction(engine) as s:
        outbox.record_outcome(s, b, [TargetOutcome("f", "json://127.0.0.1:9/h", "temporary", "HTTP 500")],
                              now=NOW, worker="A", delivery=DELIVERY)
        rows = outbox.list_rows(s, status="pending")
    mine = [r for r in rows if r["batch_key"] == b.key]
    assert mine and mine[0]["attempts"] == 1 and mine[0]["delivery_attempts"][0]["status"] == "temporary"
    assert mine[0]["item"].startswith("KH-TEST/") and mine[0]["recipient_name"]
    assert load_policy().delivery.max_attempts == 5


def test_renew_extends_the_lease_of_a_batch_this_worker_still_holds(engine):
    _detected(engine)
    batch = _claim(engine, "A")[0]
    later = NOW + timedelta(minutes=4)
    with transaction(engine) as s:
        assert outbox.renew(s, batch, now=later, worker="A", lease=LEASE) is True
        leases = set(s.execute(select(OutboxMessage.lease_until).where(OutboxMessage.id.in_(batch.row_ids))).scalars())
    assert {x.replace(tzinfo=None) for x in leases} == {(later + LEASE).replace(tzinfo=None)}
    # the renewed lease holds past the first one: no other worker can claim the batch
    assert not [b for b in _claim(engine, "B", when=NOW + LEASE + timedelta(seconds=1)) if b.key == batch.key]


def test_renew_is_refused_once_another_worker_took_the_expired_lease(engine):
    _detected(engine)
    batch = _claim(engine, "A")[0]
    _claim(engine, "B", when=NOW + LEASE + timedelta(seconds=1))
    with transaction(engine) as s:
        assert outbox.renew(s, batch, now=NOW + LEASE, worker="A", lease=LEASE) is False
        assert outbox.renew(s, batch, now=NOW + LEASE, worker="B", lease=LEASE) is True


def test_renew_is_refused_when_a_row_of_the_batch_is_no_longer_sending(engine):
    _detected(engine)
    batch = next(b for b in _claim(engine, "A") if len(b.row_ids) > 1)
    with transaction(engine) as s:
        s.get(OutboxMessage, batch.row_ids[-1]).status = "sent"
    with transaction(engine) as s:
        assert outbox.renew(s, batch, now=NOW, worker="A", lease=LEASE) is False


def test_a_lease_is_held_up_to_its_last_instant_and_expires_after_it(engine):
    n = _detected(engine)
    assert sum(len(b.row_ids) for b in _claim(engine, "A")) == n
    assert _claim(engine, "B", when=NOW + LEASE) == []
    assert sum(len(b.row_ids) for b in _claim(engine, "B", when=NOW + LEASE + timedelta(microseconds=1))) == n


def test_a_pending_row_is_due_from_its_next_attempt_time_on(engine):
    n = _detected(engine)
    with transaction(engine) as s:
        first = s.execute(select(OutboxMessage.next_attempt_at).limit(1)).scalar_one()
    due = first if first.tzinfo else first.replace(tzinfo=NOW.tzinfo)
    assert _claim(engine, "A", when=due - timedelta(microseconds=1)) == []
    assert sum(len(b.row_ids) for b in _claim(engine, "A", when=due)) == n


def test_a_claim_records_the_worker_the_lease_and_one_key_per_recipient(engine):
    _detected(engine)
    batches = _claim(engine, "A")
    assert len({b.key for b in batches}) == len(batches)
    assert all(re.fullmatch(r"steer-[0-9a-f]{40}", b.key) for b in batches)
    with transaction(engine) as s:
        rows = s.execute(select(OutboxMessage)).scalars().all()
        for b in batches:
            mine = [r for r in rows if r.id in b.row_ids]
            assert {r.recipient for r in mine} == {b.recipient}
            assert {(r.status, r.claimed_by, r.batch_key) for r in mine} == {("sending", "A", b.key)}
            assert {r.lease_until.replace(tzinfo=None) for r in mine} == {(NOW + LEASE).replace(tzinfo=None)}
            assert b.attempts == 0 and b.delivered == []
            assert b.levels == sorted({r.level for r in mine})
            assert b.row_ids == sorted(b.row_ids)


def test_a_claim_cut_by_its_limit_leaves_the_cut_recipient_whole_for_the_next_round(engine):
    n = _detected(engine)
    with transaction(engine) as s:
        chair = len(s.execute(select(OutboxMessage.id).where(OutboxMessage.recipient == "person:chair")).all())
    # the first recipient's rows and one of the next one's: that one is left whole for later
    first = _claim(engine, "A", limit=chair + 1)
    assert [(b.recipient, len(b.row_ids)) for b in first] == [("person:chair", chair)]
    rest = _claim(engine, "B")
    assert "person:chair" not in {b.recipient for b in rest}
    assert chair + sum(len(b.row_ids) for b in rest) == n


def test_a_single_recipient_with_more_rows_than_the_limit_goes_in_pieces(engine):
    _detected(engine)
    with transaction(engine) as s:
        chair = len(s.execute(select(OutboxMessage.id).where(OutboxMessage.recipient == "person:chair")).all())
    assert chair >= 2
    piece = _claim(engine, "A", limit=chair - 1)
    assert [(b.recipient, len(b.row_ids)) for b in piece] == [("person:chair", chair - 1)]


def test_the_batch_key_depends_on_the_recipient_and_the_rows_not_their_order():
    k = outbox._batch_key("person:a", ["x", "y"])
    assert k == outbox._batch_key("person:a", ["y", "x"])
    assert k != outbox._batch_key("person:b", ["x", "y"]) and k != outbox._batch_key("person:a", ["x"])
    assert re.fullmatch(r"steer-[0-9a-f]{40}", k)
    assert k == "steer-" + hashlib.sha256(b"person:a\nx\ny").hexdigest()[:40]


def test_a_target_fingerprint_is_a_short_stable_hash():
    assert outbox.fingerprint("mailto://a@x/") == hashlib.sha256(b"mailto://a@x/").hexdigest()[:16]
    assert outbox.fingerprint("mailto://a@x/") != outbox.fingerprint("mailto://b@x/")


def test_ids_go_in_chunks_of_the_given_size():
    assert outbox._chunks(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert outbox._chunks([], 900) == []

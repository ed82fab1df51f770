"""The outbox protocol without the network: leases, compare-and-set marking, backoff,
failure notices to the secretariat, and concurrent claims that never share a row."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from datetime import date, datetime, time as clock, timedelta, timezone

from sqlalchemy import select

from engine import escalation as esc
from engine import outbox
from engine.db import make_engine, transaction
from engine.models import DeliveryAttempt, OutboxMessage, Person
from engine.outbox import Batch, TargetOutcome
from engine.policy import Delivery, QuietHours, load_policy
from engine.workdays import default_calendar
from tests.factories import at, seed

TASKS = tuple({"code": str(i), "lead": [u], "deadline": date(2025, 5, 30)}
              for i, u in enumerate(["SKHCN", "SNV", "STC", "SKHCN", "SNV"], start=1))
# 11 wd overdue: the chair level, the lead units told once (issue 17) and the weekly digest
# (to the lead units, the vice-chair and the secretariat; not the chair by default)
NOW = at("2025-06-16 08:00")
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
                                                     "person:secretariat2", "unit:SKHCN", "unit:SNV", "unit:STC"]
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


# --- recording an attempt: obsolete rows, retries, errors, the failure notice -------------------


def _utc(moment: datetime) -> datetime:
    """A stored instant as naive UTC (SQLite gives it back without its zone)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _rows(engine, ids) -> dict[int, OutboxMessage]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.id.in_(list(ids)))).scalars().all()
        s.expunge_all()
    return {r.id: r for r in rows}


def _chair(engine, worker: str = "A", when=NOW) -> Batch:  # type: ignore[no-untyped-def]
    return next(b for b in _claim(engine, worker, when=when) if b.recipient == "person:chair")


def _notices(engine) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.level == "delivery_failed")
                         .order_by(OutboxMessage.id)).scalars().all()
        s.expunge_all()
    return rows


def test_obsolete_rows_leave_the_batch_and_the_rest_is_sent(engine):
    _detected(engine)
    batches = _claim(engine, "A")
    chair = next(b for b in batches if b.recipient == "person:chair")
    other = next(b for b in batches if b.recipient == "person:pct_kt")
    gone, live = chair.row_ids[:2], chair.row_ids[2:]
    ok = [TargetOutcome("fp", "mailto://chair@x/", "delivered")]
    with transaction(engine) as s:
        # ids of another batch or of no row are not this batch's: ignored
        assert outbox.record_outcome(s, chair, ok, now=NOW, worker="A", delivery=DELIVERY,
                                     obsolete=[*gone, other.row_ids[0], 99999]) == "sent"
        attempts = s.execute(select(DeliveryAttempt)).scalars().all()
        assert [(a.batch_key, a.outbox_ids, a.recipient, a.target, a.status, a.error, a.attempt, a.worker, _utc(a.at))
                for a in attempts] == [(chair.key, [str(i) for i in live], "person:chair", "mailto://chair@x/",
                                        "delivered", None, 1, "A", _utc(NOW))]
    rows = _rows(engine, chair.row_ids + other.row_ids)
    for i in gone:
        r = rows[i]
        assert (r.status, r.lease_until, r.claimed_by, r.attempts, r.sent_at) == ("obsolete", None, None, 0, None)
    for i in live:
        r = rows[i]
        assert (r.status, r.lease_until, r.claimed_by, r.attempts, r.last_error, r.delivered) == ("sent", None, None, 1,
                                                                                                  None, ["fp"])
        assert _utc(r.sent_at) == _utc(NOW)
    assert {(rows[i].status, rows[i].claimed_by) for i in other.row_ids} == {("sending", "A")}
    assert _notices(engine) == []


def test_a_batch_whose_rows_are_all_obsolete_records_no_attempt_and_tells_nobody(engine):
    _detected(engine)
    chair = _chair(engine)
    bad = [TargetOutcome("fp", "json://127.0.0.1:9/h", "permanent", "HTTP 404")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=NOW, worker="A", delivery=DELIVERY,
                                     obsolete=list(chair.row_ids)) == "obsolete"
        assert s.execute(select(DeliveryAttempt)).scalars().all() == []
    assert {(r.status, r.attempts, r.last_error) for r in _rows(engine, chair.row_ids).values()} == {("obsolete", 0, None)}
    assert _notices(engine) == []


def test_obsolete_rows_of_a_batch_another_worker_took_over_are_left_alone(engine):
    _detected(engine)
    chair = _chair(engine)
    _claim(engine, "B", when=NOW + LEASE + timedelta(seconds=1))
    ok = [TargetOutcome("fp", "mailto://chair@x/", "delivered")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, ok, now=NOW + LEASE, worker="A", delivery=DELIVERY,
                                     obsolete=chair.row_ids[:1]) == "lost"
        assert s.execute(select(DeliveryAttempt)).scalars().all() == []
    assert {(r.status, r.claimed_by) for r in _rows(engine, chair.row_ids).values()} == {("sending", "B")}


def test_obsolete_rows_one_of_which_is_no_longer_held_lose_the_batch(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:
        s.get(OutboxMessage, chair.row_ids[1]).status = "sent"
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, [], now=NOW, worker="A", delivery=DELIVERY,
                                     obsolete=chair.row_ids[:2]) == "lost"


def test_a_temporary_failure_is_retried_when_the_quiet_hours_end(engine):
    _detected(engine)
    quiet = QuietHours(start=clock(21, 0), end=clock(7, 0))
    evening = at("2025-06-16 20:59")  # + 60 s backoff = 21:00, quiet until 07:00 the next morning
    bad = [TargetOutcome("fp", "json://127.0.0.1:9/h", "temporary", "HTTP 503")]
    chair = _chair(engine)
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=evening, worker="A", delivery=DELIVERY, quiet=quiet,
                                     calendar=default_calendar()) == "pending"
    assert {_utc(r.next_attempt_at) for r in _rows(engine, chair.row_ids).values()} == {_utc(at("2025-06-17 07:00"))}


def test_quiet_hours_are_read_in_the_committee_time_zone(engine):
    _detected(engine)
    quiet = QuietHours(start=clock(21, 0), end=clock(7, 0))
    evening = at("2025-06-16 20:59")  # 13:59 in UTC: not quiet there
    bad = [TargetOutcome("fp", "json://127.0.0.1:9/h", "temporary", "HTTP 503")]
    chair = _chair(engine)
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=evening, worker="A", delivery=DELIVERY, quiet=quiet,
                                     calendar=default_calendar(), tz="UTC") == "pending"
    assert {_utc(r.next_attempt_at) for r in _rows(engine, chair.row_ids).values()} == {
        _utc(evening + timedelta(seconds=60))}


def test_quiet_hours_without_a_calendar_do_not_delay_a_retry(engine):
    _detected(engine)
    evening = at("2025-06-16 20:59")
    bad = [TargetOutcome("fp", "json://127.0.0.1:9/h", "temporary", "HTTP 503")]
    chair = _chair(engine)
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=evening, worker="A", delivery=DELIVERY,
                                     quiet=QuietHours(start=clock(21, 0), end=clock(7, 0))) == "pending"
    assert {_utc(r.next_attempt_at) for r in _rows(engine, chair.row_ids).values()} == {
        _utc(evening + timedelta(seconds=60))}


def test_the_error_text_names_each_failed_target_and_its_error(engine):
    _detected(engine)
    chair = _chair(engine)
    mixed = [TargetOutcome("m", "mailto://chair@x/", "delivered"),
             TargetOutcome("t", "json://127.0.0.1:9/t", "temporary", "HTTP 503"),
             TargetOutcome("p", "json://127.0.0.1:9/p", "permanent", "HTTP 404")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, mixed, now=NOW, worker="A", delivery=DELIVERY) == "pending"
    rows = _rows(engine, chair.row_ids).values()
    assert {(r.status, r.last_error, r.attempts, r.sent_at, r.lease_until, r.claimed_by, tuple(r.delivered))
            for r in rows} == {("pending", "json://127.0.0.1:9/t: HTTP 503; json://127.0.0.1:9/p: HTTP 404", 1, None,
                                None, None, ("m",))}
    assert {_utc(r.next_attempt_at) for r in rows} == {_utc(NOW + timedelta(seconds=60))}
    assert _notices(engine) == []  # a retry is not a failure yet


def test_a_permanent_failure_fails_at_once_and_the_secretariat_is_told_what_failed(engine):
    _detected(engine)
    chair = _chair(engine)
    bad = [TargetOutcome("p", "json://127.0.0.1:9/p", "permanent", "HTTP 404")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=NOW, worker="A", delivery=DELIVERY) == "failed"
    assert {(r.status, r.last_error, r.attempts, r.sent_at) for r in _rows(engine, chair.row_ids).values()} == {
        ("failed", "json://127.0.0.1:9/p: HTTP 404", 1, None)}
    notices = _notices(engine)
    assert [n.recipient for n in notices] == ["person:secretariat", "person:secretariat2"]
    assert {(n.data["error"], tuple(n.data["targets"]), n.data["attempts"], n.data["final_status"]) for n in notices} == {
        ("json://127.0.0.1:9/p: HTTP 404", ("json://127.0.0.1:9/p",), 1, "failed")}


def test_a_batch_one_target_accepted_and_another_refused_is_sent_and_reported(engine):
    _detected(engine)
    chair = _chair(engine)
    mixed = [TargetOutcome("m", "mailto://chair@x/", "delivered"),
             TargetOutcome("p", "json://127.0.0.1:9/p", "permanent", "HTTP 404")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, mixed, now=NOW, worker="A", delivery=DELIVERY) == "sent"
    rows = _rows(engine, chair.row_ids).values()
    assert {(r.status, r.last_error, _utc(r.sent_at)) for r in rows} == {
        ("sent", "json://127.0.0.1:9/p: HTTP 404", _utc(NOW))}
    assert {(n.data["final_status"], tuple(n.data["targets"])) for n in _notices(engine)} == {
        ("sent", ("json://127.0.0.1:9/p",))}


def test_a_batch_accepted_earlier_with_no_target_left_is_sent_without_a_notice(engine):
    _detected(engine)
    chair = _chair(engine)
    mixed = [TargetOutcome("m", "mailto://chair@x/", "delivered"),
             TargetOutcome("t", "json://127.0.0.1:9/t", "temporary", "HTTP 503")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, mixed, now=NOW, worker="A", delivery=DELIVERY) == "pending"
    later = NOW + timedelta(minutes=2)
    again = _chair(engine, when=later)
    assert again.delivered == ["m"]
    with transaction(engine) as s:  # the webhook was removed meanwhile: no target this time
        assert outbox.record_outcome(s, again, [], now=later, worker="A", delivery=DELIVERY) == "sent"
    assert {(r.status, r.last_error, r.attempts, _utc(r.sent_at)) for r in _rows(engine, chair.row_ids).values()} == {
        ("sent", None, 2, _utc(later))}
    assert _notices(engine) == []


def test_the_last_attempt_of_a_mix_of_temporary_and_accepted_targets_is_sent_and_reported(engine):
    _detected(engine)
    chair = _chair(engine)
    once = Delivery(max_attempts=1, backoff_seconds=60, backoff_max_seconds=3600)
    mixed = [TargetOutcome("m", "mailto://chair@x/", "delivered"),
             TargetOutcome("t", "json://127.0.0.1:9/t", "temporary", "HTTP 503")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, mixed, now=NOW, worker="A", delivery=once) == "sent"
    assert {n.data["error"] for n in _notices(engine)} == {"json://127.0.0.1:9/t: HTTP 503"}


def test_a_failure_notice_that_cannot_be_delivered_does_not_beget_another(engine):
    _detected(engine)
    chair = _chair(engine)
    bad = [TargetOutcome("p", "json://127.0.0.1:9/p", "permanent", "HTTP 404")]
    with transaction(engine) as s:
        assert outbox.record_outcome(s, chair, bad, now=NOW, worker="A", delivery=DELIVERY) == "failed"
    assert len(_notices(engine)) == 2
    # everything else is leased to A: only the two notices are due
    notices = _claim(engine, "N")
    assert sorted((b.recipient, b.levels) for b in notices) == [("person:secretariat", ["delivery_failed"]),
                                                                ("person:secretariat2", ["delivery_failed"])]
    for b in notices:
        with transaction(engine) as s:
            assert outbox.record_outcome(s, b, bad, now=NOW, worker="N", delivery=DELIVERY) == "failed"
    assert [n.status for n in _notices(engine)] == ["failed", "failed"]


def test_the_failure_notice_carries_what_the_secretariat_needs(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:
        s.get(Person, "secretariat2").active = False  # an inactive member is not told
    with transaction(engine) as s:
        assert outbox.notify_secretariat(s, chair, error="boom", now=NOW, targets=["json://x"], attempts=4,
                                         final_status="failed") == 1
        assert outbox.notify_secretariat(s, chair, error="boom", now=NOW, targets=["json://x"], attempts=4,
                                         final_status="failed") == 0  # once per batch
    (n,) = _notices(engine)
    assert (n.dedupe_key, n.level, n.level_rank, n.occurrence, n.work_item_id, n.deadline, n.recipient, n.status,
            n.attempts, n.delivered, n.batch_key) == (
        f"delivery_failed:{chair.key}:person:secretariat", "delivery_failed", 0, chair.key, None, None,
        "person:secretariat", "pending", 0, [], None)
    assert {_utc(n.not_before), _utc(n.next_attempt_at), _utc(n.created_at)} == {_utc(NOW)}
    assert n.data == {"recipient": "person:chair", "recipient_name": "Nguyễn Văn An", "batch_key": chair.key,
                      "error": "boom", "targets": ["json://x"], "attempts": 4, "final_status": "failed",
                      "levels": ["chair"], "work_item_ids": [1, 2, 3, 4, 5]}


def test_a_notice_about_notices_lists_no_work_item(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:
        outbox.notify_secretariat(s, chair, error="boom", now=NOW, targets=[], attempts=1, final_status="failed")
    batch = next(b for b in _claim(engine, "N") if b.recipient == "person:secretariat")
    with transaction(engine) as s:
        assert outbox.notify_secretariat(s, batch, error="again", now=NOW, targets=[], attempts=1,
                                         final_status="failed") == 2
    assert [n.data["work_item_ids"] for n in _notices(engine) if n.data["batch_key"] == batch.key] == [[], []]


# --- claiming and renewing ----------------------------------------------------------------------


def test_a_claim_of_nothing_is_empty_and_not_busy(engine):
    seed(engine, tasks=TASKS)
    got = _claim(engine, "A")
    assert got == [] and got.busy is False
    with transaction(engine) as s:
        assert esc.detect(s, now=NOW).inserted
    got = _claim(engine, "A")
    assert got and got.busy is False


def test_a_claim_that_fills_its_limit_exactly_leaves_the_last_recipient_for_the_next_round(engine):
    n = _detected(engine)
    first = _claim(engine, "A", limit=n)  # it cannot tell whether the last group was cut
    assert [b.recipient for b in first] == ["person:chair", "person:pct_kt", "person:secretariat",
                                            "person:secretariat2", "unit:SKHCN", "unit:SNV"]
    assert [b.recipient for b in _claim(engine, "B")] == ["unit:STC"]


def test_a_reclaimed_batch_keeps_its_key_and_takes_the_most_attempts_and_every_accepted_target(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:
        outbox.record_outcome(s, chair, [TargetOutcome("t", "json://127.0.0.1:9/t", "temporary", "HTTP 503")],
                              now=NOW, worker="A", delivery=DELIVERY)
        s.get(OutboxMessage, chair.row_ids[0]).delivered = ["b"]
        s.get(OutboxMessage, chair.row_ids[1]).delivered = ["a", "b"]
        s.get(OutboxMessage, chair.row_ids[2]).attempts = 2
    again = _chair(engine, when=NOW + timedelta(minutes=2))
    assert (again.key, again.row_ids, again.attempts, again.delivered, again.levels) == (
        chair.key, chair.row_ids, 2, ["a", "b"], ["chair"])


def test_renew_is_refused_for_rows_held_under_another_batch_key(engine):
    _detected(engine)
    chair = _chair(engine)
    forged = Batch(key="steer-other", recipient=chair.recipient, row_ids=chair.row_ids, attempts=0)
    with transaction(engine) as s:
        assert outbox.renew(s, forged, now=NOW, worker="A", lease=LEASE) is False
        assert outbox.renew(s, chair, now=NOW, worker="A", lease=LEASE) is True


def test_renew_counts_only_the_rows_of_the_batch(engine):
    _detected(engine)
    chair = _chair(engine)
    part = Batch(key=chair.key, recipient=chair.recipient, row_ids=chair.row_ids[:3], attempts=0)
    with transaction(engine) as s:
        assert outbox.renew(s, part, now=NOW + timedelta(minutes=1), worker="A", lease=LEASE) is True
    rows = _rows(engine, chair.row_ids)
    assert [_utc(rows[i].lease_until) for i in chair.row_ids] == (
        [_utc(NOW + timedelta(minutes=1) + LEASE)] * 3 + [_utc(NOW + LEASE)] * (len(chair.row_ids) - 3))


# --- reading ------------------------------------------------------------------------------------


def test_counts_per_status(engine):
    n = _detected(engine)
    assert _statuses(engine) == {"pending": n}
    chair = _chair(engine)
    assert _statuses(engine) == {"sending": n}
    with transaction(engine) as s:
        outbox.record_outcome(s, chair, [TargetOutcome("m", "mailto://c@x/", "delivered")], now=NOW, worker="A",
                              delivery=DELIVERY)
    assert _statuses(engine) == {"sending": n - len(chair.row_ids), "sent": len(chair.row_ids)}


def test_the_listing_gives_every_field_of_a_row_and_its_attempts(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:
        outbox.record_outcome(s, chair, [TargetOutcome("m", "mailto://c@x/", "delivered"),
                                         TargetOutcome("p", "json://127.0.0.1:9/p", "permanent", "HTTP 404")],
                              now=NOW, worker="A", delivery=DELIVERY)
        rows = outbox.list_rows(s)
    first = next(r for r in rows if r["id"] == chair.row_ids[0])
    attempts = [{"attempt": 1, "target": "mailto://c@x/", "status": "delivered", "error": None, "at": first["sent_at"]},
                {"attempt": 1, "target": "json://127.0.0.1:9/p", "status": "permanent", "error": "HTTP 404",
                 "at": first["sent_at"]}]
    assert first == {
        "id": chair.row_ids[0], "item": "KH-TEST/1", "work_item_id": 1, "level": "chair", "occurrence": "2025-05-30",
        "deadline": "2025-05-30", "recipient": "person:chair", "recipient_name": "Nguyễn Văn An", "status": "sent",
        "attempts": 1, "not_before": first["not_before"], "next_attempt_at": first["next_attempt_at"],
        "sent_at": first["sent_at"], "batch_key": chair.key, "last_error": "json://127.0.0.1:9/p: HTTP 404",
        "delivery_attempts": attempts,
    }
    assert datetime.fromisoformat(first["sent_at"]).replace(tzinfo=None) == _utc(NOW)
    assert datetime.fromisoformat(first["not_before"]).replace(tzinfo=None) == _utc(NOW)
    assert datetime.fromisoformat(first["next_attempt_at"]).replace(tzinfo=None) == _utc(NOW)
    notices = [r for r in rows if r["level"] == "delivery_failed"]  # newest first
    assert [(r["item"], r["work_item_id"], r["deadline"], r["sent_at"], r["batch_key"], r["delivery_attempts"],
             r["recipient_name"]) for r in notices] == [(None, None, None, None, None, [], "Trần Văn Bảo"),
                                                        (None, None, None, None, None, [], "Đỗ Thị Lan")]


def test_the_listing_is_newest_first_filtered_by_status_and_limited(engine):
    n = _detected(engine)
    with transaction(engine) as s:
        every = outbox.list_rows(s, limit=None)
        assert [r["id"] for r in every] == list(range(n, 0, -1))
        assert [r["id"] for r in outbox.list_rows(s, limit=3)] == [n, n - 1, n - 2]
        assert len(outbox.list_rows(s)) == n  # 200 by default
        assert outbox.list_rows(s, status="sent") == []
        assert len(outbox.list_rows(s, status="pending")) == n


def test_a_batch_without_an_address_records_why_it_failed(engine):
    _detected(engine)
    batches = _claim(engine, "A")
    pct, chair = (next(b for b in batches if b.recipient == r) for r in ("person:pct_kt", "person:chair"))
    with transaction(engine) as s:
        assert outbox.record_outcome(s, pct, [], now=NOW, worker="A", delivery=DELIVERY,
                                     no_targets_error="no notify") == "failed"
        assert outbox.record_outcome(s, chair, [], now=NOW, worker="A", delivery=DELIVERY) == "failed"
    assert {r.last_error for r in _rows(engine, pct.row_ids).values()} == {"no notify"}
    assert {r.last_error for r in _rows(engine, chair.row_ids).values()} == {"no notify address"}
    assert {n.data["error"] for n in _notices(engine)} == {"no notify", "no notify address"}


def test_recording_touches_only_the_rows_of_the_batch(engine):
    _detected(engine)
    chair = _chair(engine)
    part = Batch(key=chair.key, recipient=chair.recipient, row_ids=chair.row_ids[:3], attempts=0)
    with transaction(engine) as s:
        assert outbox.record_outcome(s, part, [TargetOutcome("m", "mailto://c@x/", "delivered")], now=NOW,
                                     worker="A", delivery=DELIVERY) == "sent"
    rows = _rows(engine, chair.row_ids)
    assert [rows[i].status for i in chair.row_ids] == ["sent"] * 3 + ["sending"] * (len(chair.row_ids) - 3)


def test_recording_under_another_batch_key_is_lost(engine):
    _detected(engine)
    chair = _chair(engine)
    forged = Batch(key="steer-other", recipient=chair.recipient, row_ids=chair.row_ids, attempts=0)
    with transaction(engine) as s:
        assert outbox.record_outcome(s, forged, [TargetOutcome("m", "mailto://c@x/", "delivered")], now=NOW,
                                     worker="A", delivery=DELIVERY) == "lost"
    assert {r.status for r in _rows(engine, chair.row_ids).values()} == {"sending"}


def test_a_member_not_yet_told_is_told_even_when_another_already_was(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:
        s.get(Person, "secretariat2").active = False
    with transaction(engine) as s:
        assert outbox.notify_secretariat(s, chair, error="x", now=NOW, targets=[], attempts=1, final_status="failed") == 1
    with transaction(engine) as s:
        s.get(Person, "secretariat2").active = True
    with transaction(engine) as s:  # secretariat has it already; secretariat2 still gets one
        assert outbox.notify_secretariat(s, chair, error="x", now=NOW, targets=[], attempts=1, final_status="failed") == 1
    assert [n.recipient for n in _notices(engine)] == ["person:secretariat", "person:secretariat2"]


def _many(engine, n: int, recipient: str = "person:chair") -> None:  # type: ignore[no-untyped-def]
    seed(engine, tasks=TASKS)
    with transaction(engine) as s:
        s.add_all(OutboxMessage(dedupe_key=f"k{i}", level="weekly", occurrence="2025-W25", recipient=recipient,
                                not_before=NOW, next_attempt_at=NOW, delivered=[], data={}, created_at=NOW)
                  for i in range(n))


def test_a_claim_takes_at_most_500_rows_by_default(engine):
    _many(engine, 501)
    with transaction(engine) as s:
        (piece,) = outbox.claim(s, now=NOW, worker="A", lease=LEASE)
    assert len(piece.row_ids) == 500


def test_the_listing_shows_the_200_newest_rows_by_default(engine):
    _many(engine, 201)
    with transaction(engine) as s:
        rows = outbox.list_rows(s)
    assert [r["id"] for r in rows] == list(range(201, 1, -1))


def test_failure_notices_are_written_in_member_id_order(engine):
    _detected(engine)
    chair = _chair(engine)
    with transaction(engine) as s:  # added last, first by id
        s.add(Person(id="a_secretary", name="Hà Văn An", role="secretariat", created_at=NOW))
    with transaction(engine) as s:
        assert outbox.notify_secretariat(s, chair, error="x", now=NOW, targets=[], attempts=1, final_status="failed") == 3
    assert [n.recipient for n in _notices(engine)] == ["person:a_secretary", "person:secretariat", "person:secretariat2"]

"""steer audit verify / log: an intact chain passes; an edited, a deleted middle and a
deleted newest event are each named, with exit status 1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from typer.testing import CliRunner

from cli.main import app
from engine import lifecycle as lc
from engine.db import make_engine, transaction
from engine.models import Event
from tests.factories import actor, at, item_of, seed_url

runner = CliRunner()


@pytest.fixture
def logged(db_url, tmp_path_factory) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database with 6 events: plan_loaded, start, note, extension requested/approved, submit."""
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp())
    eng = make_engine(db_url)
    with transaction(eng) as s:
        w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
        lc.start(s, w, a, now=at("2025-04-02 09:00"))
        lc.add_note(s, w, a, now=at("2025-04-10 09:00"), text="Đã có dự thảo", percent=40)
        lc.request_extension(s, w, a, now=at("2025-06-01 09:00"), until=date(2025, 8, 31), reason="Chờ ý kiến")
        lc.approve_extension(s, w, actor(s, "pct_kt"), now=at("2025-06-02 09:00"))
        lc.submit(s, w, a, now=at("2025-08-01 09:00"), evidence="Quyết định số 1234/QĐ-UBND")
    yield eng
    eng.dispose()


def run(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", db_url, *args])


def count(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Event)) or 0


def test_intact_chain_verifies(logged, db_url):
    r = run(db_url, "audit", "verify")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == "6 sự kiện, chuỗi băm nguyên vẹn (chain intact)."
    r = run(db_url, "--lang", "en", "audit", "verify")
    assert (r.exit_code, r.output.strip()) == (0, "6 events, chain intact")


def test_edited_note_is_named(logged, db_url):
    with logged.begin() as c:
        c.execute(update(Event).where(Event.id == 3).values(note="Đã hoàn thành 100%"))
    r = run(db_url, "audit", "verify")
    assert r.exit_code == 1
    assert "event #3 was edited after it was written (kind=note, actor=skhcn_focal)" in r.output
    assert "#4" not in r.output  # the later events still link to the stored hash


def test_edited_date_via_raw_sql_is_named(logged, db_url):
    with logged.begin() as c:
        c.execute(text("UPDATE event SET deadline_after = :d WHERE id = 5"), {"d": date(2025, 12, 31)})
    r = run(db_url, "--lang", "en", "audit", "verify")
    assert r.exit_code == 1 and "event #5 was edited" in r.output and "TAMPERED" in r.output


def test_deleted_middle_event_is_named_as_a_gap(logged, db_url):
    with logged.begin() as c:
        c.execute(delete(Event).where(Event.id == 3))
    r = run(db_url, "audit", "verify")
    assert r.exit_code == 1
    assert "event #3 deleted (ids jump from #2 to #4)" in r.output
    assert "event #4: link to the previous event is broken" in r.output


def test_deleted_newest_event_is_named_as_the_tail(logged, db_url):
    with logged.begin() as c:
        c.execute(delete(Event).where(Event.id == 6))
    r = run(db_url, "audit", "verify")
    assert r.exit_code == 1
    assert "the log ends at event #5 but the chain head records #6" in r.output


def test_audit_log_shows_one_items_history_in_local_time(logged, db_url):
    r = run(db_url, "audit", "log", "--item", "KH-TEST/1", "--limit", "2")
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 3 and lines[-1] == "2 sự kiện"
    assert lines[0].startswith("#5  02/06/2025 09:00  pct_kt  KH-TEST/1  extension_approved")
    assert "2025-06-30 → 2025-08-31" in lines[0]
    assert lines[1].startswith("#6  01/08/2025 09:00  skhcn_focal  KH-TEST/1  Đang thực hiện → Đã báo cáo hoàn thành")
    assert "[Quyết định số 1234/QĐ-UBND]" in lines[1]


def test_audit_log_json_lists_every_event(logged, db_url):
    import json

    r = run(db_url, "audit", "log", "--limit", "0", "--format", "json")
    rows = json.loads(r.output)
    assert [e["id"] for e in rows] == [1, 2, 3, 4, 5, 6] and rows[0]["kind"] == "plan_loaded"
    assert rows[2]["percent"] == 40 and rows[2]["item"] == "KH-TEST/1"
    assert count(logged) == 6


def test_audit_log_bad_item_is_one_message(logged, db_url):
    r = run(db_url, "audit", "log", "--item", "KH-TEST/99")
    assert r.exit_code == 1 and "không có nhiệm vụ số «99»" in r.output and "Traceback" not in r.output


# --- the compare-and-set reads the chain head for the event that follows ----------------------------


def test_a_head_read_by_a_compare_and_set_that_was_rolled_back_is_not_used(logged, db_url):  # type: ignore[no-untyped-def]
    """An action's compare-and-set reads the head for its event (engine.audit.update_locking_head).
    If that transaction ends without the event, a later append in the same session reads
    the head again: the chain stays whole although other events were appended meanwhile."""
    from sqlalchemy.orm import Session

    from engine.audit import append_event

    with Session(logged, expire_on_commit=False) as s:
        s.begin()
        w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
        lc._cas(s, w, {}, actor=a, now=at("2025-08-02 09:00"), tz="Asia/Ho_Chi_Minh", lang="vi")
        s.rollback()
        with transaction(logged) as other:  # someone else appends in between
            lc.add_note(other, item_of(other, "KH-TEST", "1"), actor(other, "skhcn_focal"),
                        now=at("2025-08-02 10:00"), text="ghi chú khác")
        s.begin()
        append_event(s, now=at("2025-08-02 11:00"), at=at("2025-08-02 11:00"), actor="system", actor_role=None,
                     kind="account", note="x", data={})
        s.commit()
    r = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert r.exit_code == 0, r.output


def test_a_failed_compare_and_set_leaves_the_head_to_the_next_append(logged, db_url):  # type: ignore[no-untyped-def]
    from engine.audit import update_locking_head
    from engine.errors import Conflict

    with transaction(logged) as s:
        w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
        stale = w.version - 1
        assert not update_locking_head(s, lc._cas_stmt(()), {"w_id": w.id, "w_version": stale,
                                                              "v_updated_at": at("2025-08-02 09:00"),
                                                              "v_updated_by": a.id})
        with pytest.raises(Conflict):
            lc.add_note(s, w, a, now=at("2025-08-02 09:00"), text="cũ", expected_version=stale)
        lc.add_note(s, w, a, now=at("2025-08-02 09:05"), text="mới")
    with transaction(logged) as s:
        assert s.execute(select(func.count()).select_from(Event)).scalar() == 7
    assert runner.invoke(app, ["--db", db_url, "audit", "verify"]).exit_code == 0


NOWAIT = text("SELECT last_event_id FROM chain_head WHERE id = 1 FOR UPDATE NOWAIT")


def _pg_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE; actions append at once")


def _head(engine: Engine) -> tuple[int, int]:
    with engine.connect() as c:
        last, n = c.execute(text("SELECT last_event_id, count FROM chain_head WHERE id = 1")).one()
        waiting = c.execute(text("SELECT count(*) FROM event_pending")).scalar_one()
    assert waiting == 0, "committed rows left in event_pending"
    return int(last), int(n)


def test_on_postgresql_an_actions_event_leaves_the_chain_head_free_until_its_commit(logged, db_url):  # type: ignore[no-untyped-def]
    """The action's event waits for the commit (engine.audit.append_event_at_commit): neither
    the item's compare-and-set nor the event holds the head, so another writer appends and
    commits in between; the waiting event then takes the next place in the chain."""
    _pg_only(db_url)
    before, _ = _head(logged)
    with transaction(logged) as s:
        w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
        lc._cas(s, w, {}, actor=a, now=at("2025-08-02 09:00"), tz="Asia/Ho_Chi_Minh", lang="vi")
        lc.append_item_event(s, w, a, now=at("2025-08-02 09:00"), kind="note", note="chờ commit")
        with logged.connect() as other:
            other.execute(NOWAIT)  # free: nothing this transaction did holds it
            other.rollback()
        with transaction(logged) as s2:  # another writer, committed first
            s2.execute(text("SET LOCAL lock_timeout = '5s'"))  # were the head held, fail instead of hanging
            w2, a2 = item_of(s2, "KH-TEST", "2"), actor(s2, "secretariat")
            lc.add_note(s2, w2, a2, now=at("2025-08-02 09:01"), text="người khác")
    assert _head(logged) == (before + 2, before + 2)
    with logged.connect() as c:
        notes = c.execute(text("SELECT id, note FROM event WHERE id > :b ORDER BY id"), {"b": before}).all()
    assert [n for _, n in notes] == ["người khác", "chờ commit"]  # chained in commit order
    assert runner.invoke(app, ["--db", db_url, "audit", "verify"]).exit_code == 0


def test_on_postgresql_the_head_is_held_only_by_the_commit_that_chains_the_event(logged, db_url):  # type: ignore[no-untyped-def]
    """Inside COMMIT the trigger locks the head: a second writer's commit waits for it and
    then chains after it (no lost or doubled id), also when both commit at once."""
    import threading

    from engine.audit import append_event_at_commit

    _pg_only(db_url)
    before, _ = _head(logged)
    barrier = threading.Barrier(4)

    def writer(k: int) -> None:
        eng = make_engine(db_url)
        try:
            for i in range(5):
                with transaction(eng) as s:
                    append_event_at_commit(s, now=at("2025-08-02 10:00"), actor="system", kind="account",
                                           note=f"{k}-{i}")
                    if i == 0:
                        barrier.wait()
        finally:
            eng.dispose()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _head(logged) == (before + 20, before + 20)
    r = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert r.exit_code == 0, r.output


def test_on_postgresql_a_transaction_reads_its_own_waiting_events_in_order(logged, db_url):  # type: ignore[no-untyped-def]
    """Reading the log in the transaction that appended settles the waiting events first, and
    an append that takes its ids at once (several events) comes after them."""
    from engine.audit import append_events

    _pg_only(db_url)
    with transaction(logged) as s:
        w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
        lc.add_note(s, w, a, now=at("2025-08-03 09:00"), text="một")
        lc.add_note(s, w, a, now=at("2025-08-03 09:01"), text="hai")
        last = lc._last_event(s, w.id, kind="note")
        assert last is not None and last.note == "hai" and last.id is not None
        append_events(s, [dict(at=at("2025-08-03 09:02"), actor="system", kind="account", note=f"#{i}", data={})
                          for i in range(2)], now=at("2025-08-03 09:02"))
        lc.add_note(s, w, a, now=at("2025-08-03 09:03"), text="ba")  # after a settle: chained at once
        notes = s.execute(select(Event.note).where(Event.id > last.id - 2).order_by(Event.id)).scalars().all()
    assert notes == ["một", "hai", "#0", "#1", "ba"]
    _head(logged)
    assert runner.invoke(app, ["--db", db_url, "audit", "verify"]).exit_code == 0


def test_on_postgresql_a_rolled_back_action_leaves_no_event_and_no_waiting_row(logged, db_url):  # type: ignore[no-untyped-def]
    _pg_only(db_url)
    before = _head(logged)
    with pytest.raises(RuntimeError):
        with transaction(logged) as s:
            w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
            lc.add_note(s, w, a, now=at("2025-08-03 09:00"), text="bỏ")
            raise RuntimeError("rolled back")
    assert _head(logged) == before
    assert count(logged) == 6


def test_events_left_outside_the_chain_are_named_by_verify(logged, db_url):  # type: ignore[no-untyped-def]
    """If the chaining trigger were disabled, committed events would stay in event_pending:
    ``audit verify`` says so (exit 1) instead of calling the chain intact."""
    _pg_only(db_url)
    with logged.begin() as c:
        c.execute(text("ALTER TABLE event_pending DISABLE TRIGGER event_pending_chain"))
    try:
        with transaction(logged) as s:
            w, a = item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal")
            lc.add_note(s, w, a, now=at("2025-08-03 09:00"), text="lạc")
    finally:  # the PostgreSQL test schema is shared by the session's tests
        with logged.begin() as c:
            c.execute(text("ALTER TABLE event_pending ENABLE TRIGGER event_pending_chain"))
    r = run(db_url, "--lang", "en", "audit", "verify")
    assert r.exit_code == 1
    assert "1 events are outside the chain, in event_pending" in r.output


# --- PostgreSQL hashes a single event in the statement that writes it --------------------------------

TRICKY = [
    dict(note='dấu "ngoặc" \\ gạch chéo\nxuống dòng', evidence=None, percent=70, data={}),
    dict(note=None, evidence="Quyết định số 1234/QĐ-UBND", percent=33.3,
         data={"id": 0, "nested": {"id": "x", "b": [1, 2.5, None]}, "ưu tiên": True}),
    dict(note="😀 ký tự ngoài BMP, \u0000 NUL và \t tab", evidence="", percent=None, data={"a": "\"id\":0"}),
]


@pytest.mark.parametrize("fields", TRICKY)
def test_the_hashed_text_split_around_the_id_rebuilds_exactly_what_event_hash_hashes(fields):
    import hashlib

    from engine.audit import event_hash, hashed_text_around_id

    row = dict(id=4242, at=at("2025-08-02 09:00"), recorded_at=at("2025-08-02 09:01"), actor="skhcn_focal",
               actor_role="focal_point", kind="note", plan_id=1, task_id=2, work_item_id=3, from_status=None,
               to_status=None, deadline_before=date(2025, 8, 31), deadline_after=None, **fields)
    before, after = hashed_text_around_id(row)
    text_ = before + "4242" + after
    assert hashlib.sha256(("ab" * 32 + "\n" + text_).encode("utf-8")).hexdigest() == event_hash("ab" * 32, row)


@pytest.mark.parametrize("fields", TRICKY)
def test_events_hashed_by_postgresql_verify_like_events_hashed_in_python(logged, db_url, fields):  # type: ignore[no-untyped-def]
    """On PostgreSQL a single event's hash is computed by the database; the chain must verify
    (verify_chain recomputes every hash in Python) whatever the event's text holds."""
    from engine.audit import append_event, append_event_at_commit, append_events

    with transaction(logged) as s:
        note = fields["note"]
        if db_url.startswith("postgresql") and note and "\u0000" in note:
            note = note.replace("\u0000", "")  # PostgreSQL text cannot hold NUL
        append_event(s, now=at("2025-08-02 11:00"), at=at("2025-08-02 11:00"), actor="system", actor_role=None,
                     kind="account", note=note, evidence=fields["evidence"], percent=fields["percent"],
                     data=fields["data"])
        # a multi-event append (hashed in Python) right after, on the same chain
        append_events(s, [dict(at=at("2025-08-02 11:05"), actor="system", kind="account", note=f"#{i}", data={})
                          for i in range(2)], now=at("2025-08-02 11:05"))
        append_event(s, now=at("2025-08-02 11:10"), at=at("2025-08-02 11:10"), actor="system", actor_role=None,
                     kind="account", note="sau", data={"k": fields["percent"]})
    # events hashed by the trigger that chains them at commit (PostgreSQL), two in one transaction
    with transaction(logged) as s:
        for minute in (15, 16):
            append_event_at_commit(s, now=at(f"2025-08-02 11:{minute}"), at=at(f"2025-08-02 11:{minute}"),
                                   actor="system", actor_role=None, kind="account", note=note,
                                   evidence=fields["evidence"], percent=fields["percent"], data=fields["data"])
    r = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert r.exit_code == 0, r.output
    assert count(logged) == 12


def test_on_postgresql_tracking_and_an_action_on_the_same_item_do_not_deadlock(logged, db_url):  # type: ignore[no-untyped-def]
    """Every writer takes item rows before the chain head: an action holds its item from the
    compare-and-set and takes the head inside COMMIT; tracking updates its items before it
    appends its flips. (The other way round, tracking would hold the head while waiting for
    the item, the action's commit would wait for the head, and PostgreSQL would abort one.)"""
    import threading
    import time

    from engine.tracking import compute_flips, track

    _pg_only(db_url)
    later = at("2025-12-01 09:00")
    with transaction(logged) as s:
        w2 = item_of(s, "KH-TEST", "2")
        assert w2.id in {f.work_item_id for f in compute_flips(s, now=later)[1]}
    errors: list[BaseException] = []
    blocked = threading.Event()

    def tracking() -> None:
        eng = make_engine(db_url)
        try:
            with transaction(eng) as s:
                blocked.set()
                track(s, now=later)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    with transaction(logged) as s:
        w, a = item_of(s, "KH-TEST", "2"), actor(s, "secretariat")
        lc.add_note(s, w, a, now=at("2025-08-03 09:00"), text="trong lúc theo dõi")  # holds the item
        t = threading.Thread(target=tracking)
        t.start()
        blocked.wait(10)
        with logged.connect() as c:  # wait until tracking waits for this transaction's item
            for _ in range(100):
                if c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar():
                    break
                time.sleep(0.05)
        time.sleep(0.2)
    t.join(30)
    assert not errors, errors
    r = runner.invoke(app, ["--db", db_url, "audit", "verify"])
    assert r.exit_code == 0, r.output


def test_event_pending_holds_every_column_of_event_but_the_chains(db_url):  # type: ignore[no-untyped-def]
    """The chaining trigger (migration 0008) copies the waiting row into ``event`` column by
    column: both tables, as migrated, must keep the same columns of the same types (a column
    added to ``event`` alone would be silently left out of actions' events)."""
    from sqlalchemy import inspect as sa_inspect

    eng = make_engine(db_url)
    try:
        insp = sa_inspect(eng)
        ev = {c["name"]: str(c["type"]) for c in insp.get_columns("event")}
        pending = {c["name"]: str(c["type"]) for c in insp.get_columns("event_pending")}
    finally:
        eng.dispose()
    for name in ("id", "prev_hash", "hash"):
        ev.pop(name)
    for name in ("pending_id", "pre", "post"):
        pending.pop(name)
    assert pending == ev

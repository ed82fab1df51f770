"""Finding 11: the audit chain's head is in the same database and its hash is plain SHA-256,
so (a) deleting the newest events and moving ``chain_head``, or (b) editing an event and
recomputing the later hashes, passed ``steer audit verify``; (c) ``UPDATE work_item SET
status='completed'`` with no event was not noticed. ``steer audit checkpoint`` signs the head
with an Ed25519 key kept outside the database into a file outside it; ``audit verify
--checkpoints`` catches (a) and (b) after a checkpoint, and verify's state replay catches (c)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text, update
from typer.testing import CliRunner

from cli.main import app
from engine import lifecycle as lc
from engine.audit import HASHED, event_hash
from engine.db import transaction
from engine.models import ChainHead, Event, WorkItem
from tests.factories import actor, at, item_of

# the fixture with 6 events (plan_loaded, start, note, extension requested/approved, submit)
from tests.test_audit import logged  # noqa: E402,F401

runner = CliRunner()


@pytest.fixture
def anchored(logged, db_url, tmp_path):  # type: ignore[no-untyped-def]
    """The operator's key and checkpoint file (outside the database), one checkpoint taken."""
    key, cps = tmp_path / "operator" / "audit.key", tmp_path / "offsite" / "checkpoints.jsonl"
    r = run(db_url, "audit", "keygen", str(key))
    assert r.exit_code == 0, r.output
    assert (key.stat().st_mode & 0o777) == 0o600 and Path(f"{key}.pub").exists()
    r = run(db_url, "audit", "checkpoint", "--key", str(key), "--checkpoints", str(cps))
    assert r.exit_code == 0, r.output
    rec = json.loads(cps.read_text().splitlines()[-1])
    assert rec["event_id"] == 6 and rec["count"] == 6 and len(rec["sig"]) == 128
    return key, cps


def run(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", db_url, "--lang", "en", *args])


def verify(db_url: str, key: Path, cps: Path):  # type: ignore[no-untyped-def]
    return run(db_url, "audit", "verify", "--checkpoints", str(cps), "--key", f"{key}.pub")


def _rechain(engine: Engine, from_id: int) -> None:
    """What an attacker with database access does: recompute every hash from ``from_id`` on
    and move the head to the last event."""
    with engine.begin() as c:
        rows = c.execute(select(*[Event.__table__.c[k] for k in HASHED], Event.prev_hash)
                         .order_by(Event.id)).mappings().all()
        prev = next((r["prev_hash"] for r in rows if r["id"] == from_id), None)
        last_id, count = 0, 0
        for r in rows:
            count += 1
            last_id = r["id"]
            if r["id"] < from_id:
                prev = c.execute(select(Event.hash).where(Event.id == r["id"])).scalar_one()
                continue
            h = event_hash(prev, r)
            c.execute(update(Event).where(Event.id == r["id"]).values(prev_hash=prev, hash=h))
            prev = h
        c.execute(update(ChainHead).where(ChainHead.id == 1).values(last_event_id=last_id, last_hash=prev, count=count))


def test_intact_log_passes_with_its_checkpoint_and_after_more_events(anchored, logged, db_url):  # type: ignore[no-untyped-def]
    key, cps = anchored
    r = verify(db_url, key, cps)
    assert r.exit_code == 0, r.output
    assert "6 events, chain intact" in r.output and "1 signed checkpoint(s) match the log (newest: event #6)" in r.output
    with transaction(logged) as s:  # normal work goes on after the checkpoint
        lc.add_note(s, item_of(s, "KH-TEST", "1"), actor(s, "skhcn_focal"), now=at("2025-08-02 09:00"), text="thêm")
    assert run(db_url, "audit", "checkpoint", "--key", str(key), "--checkpoints", str(cps)).exit_code == 0
    r = verify(db_url, key, cps)
    assert r.exit_code == 0 and "2 signed checkpoint(s)" in r.output and "event #7" in r.output, r.output


def test_truncation_with_the_head_moved_is_caught(anchored, logged, db_url):  # type: ignore[no-untyped-def]
    key, cps = anchored
    # delete the two newest events, move the head, and put the item back as the log now says
    with logged.begin() as c:
        c.execute(delete(Event).where(Event.id >= 5))
        wid = c.execute(select(Event.work_item_id).where(Event.id == 4)).scalar_one()
        c.execute(update(WorkItem).where(WorkItem.id == wid).values(status="in_progress", deadline=date(2025, 6, 30)))
    _rechain(logged, 5)
    assert run(db_url, "audit", "verify").exit_code == 0  # the chain alone cannot tell
    r = verify(db_url, key, cps)
    assert r.exit_code == 1, r.output
    assert "TAMPERED" in r.output and "the signed event #6 is no longer in the log (it now ends at #4)" in r.output
    assert "the log was truncated" in r.output


def test_edited_event_with_recomputed_hashes_is_caught(anchored, logged, db_url):  # type: ignore[no-untyped-def]
    key, cps = anchored
    with logged.begin() as c:
        c.execute(update(Event).where(Event.id == 3).values(note="Đã hoàn thành 100%"))
    _rechain(logged, 3)
    assert run(db_url, "audit", "verify").exit_code == 0  # the chain alone cannot tell
    r = verify(db_url, key, cps)
    assert r.exit_code == 1, r.output
    assert "the hash of event #6 differs from the signed one" in r.output


def test_status_changed_without_an_event_is_caught(logged, db_url):  # type: ignore[no-untyped-def]
    with logged.begin() as c:
        wid = c.execute(select(Event.work_item_id).where(Event.id == 6)).scalar_one()
        c.execute(text("UPDATE work_item SET status = 'completed' WHERE id = :i"), {"i": wid})
    r = run(db_url, "audit", "verify")
    assert r.exit_code == 1, r.output
    assert (f"work item #{wid}: stored status «completed» differs from the status its events give «submitted»"
            in r.output)


def test_a_forged_or_edited_checkpoint_is_refused(anchored, logged, db_url, tmp_path):  # type: ignore[no-untyped-def]
    key, cps = anchored
    rec = json.loads(cps.read_text().splitlines()[-1])
    _rechain(logged, 1)  # nothing changed: still verifies
    rec.update(event_id=5)  # an attacker "moves" the checkpoint back, keeping the signature
    cps.write_text(cps.read_text() + json.dumps(rec) + "\n")
    r = verify(db_url, key, cps)
    assert r.exit_code == 1 and "line 2 (event #5): invalid signature" in r.output, r.output
    other = tmp_path / "other.key"
    assert run(db_url, "audit", "keygen", str(other)).exit_code == 0
    r = verify(db_url, other, cps)  # checkpoints are checked with the operator's key, not any key
    assert r.exit_code == 1 and "line 1 (event #6): invalid signature" in r.output
    assert run(db_url, "audit", "keygen", str(key)).exit_code == 1  # never overwrites the key

"""Migrations are the only way the schema is made, and they match the models."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from engine import db as dbmod


def test_migrations_reach_head_and_alembic_check_finds_no_drift(db_url):
    eng = dbmod.make_engine(db_url)
    assert dbmod.current_revision(eng) == dbmod.head_revision()
    assert dbmod.schema_state(eng) == "current"
    command.check(dbmod.alembic_config(eng))  # raises if models and migrations differ
    eng.dispose()


def test_empty_sqlite_database_is_created_and_migrated_on_first_use(tmp_path):
    eng = dbmod.make_engine(f"sqlite:///{tmp_path / 'sub' / 'new.db'}")
    assert dbmod.schema_state(eng) == "empty"
    assert dbmod.ensure_schema(eng) == "current"
    assert "work_item" in inspect(eng).get_table_names()


def test_sqlite_connection_has_wal_foreign_keys_and_busy_timeout(engine):
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_schema_head_constant_matches_the_newest_migration():
    assert dbmod.SCHEMA_HEAD == dbmod.head_revision()


def test_upgrade_0007_rewrites_existing_dedupe_keys_so_nothing_is_notified_twice(tmp_path):
    """Rows detected before 0007 carry item-first keys; after the upgrade they carry the
    level-first keys detection now writes, so the next run finds them and writes nothing."""
    from datetime import datetime, timezone

    from sqlalchemy import text

    from engine import escalation as esc
    from datetime import date

    from tests.factories import seed

    eng = dbmod.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    dbmod.ensure_schema(eng)
    now = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)
    seed(eng, tasks=[{"code": "1", "lead": ["SKHCN", "SNV"], "deadline": date(2025, 5, 12)},  # overdue: levels fire
                     {"code": "2", "lead": ["STC"], "deadline": date(2025, 6, 4)}])  # reminder
    with dbmod.transaction(eng) as s:
        first = esc.detect(s, now=now)
    assert first.inserted > 0
    cfg = dbmod.alembic_config(eng)
    command.downgrade(cfg, "0006")
    with eng.begin() as c:  # what 0006 databases hold: "{item}:{level}:{occurrence}:{recipient}"
        old = [k for (k,) in c.exec_driver_sql("SELECT dedupe_key FROM outbox ORDER BY id")]
        assert all(k.split(":", 1)[0].isdigit() for k in old)
    command.upgrade(cfg, "head")
    with eng.begin() as c:
        rows = c.execute(text("SELECT dedupe_key, level, occurrence, work_item_id, recipient FROM outbox ORDER BY id")).all()
    assert [r[0] for r in rows] == [f"{lv}:{occ}:{wid}:{rcpt}" for _, lv, occ, wid, rcpt in rows]
    with dbmod.transaction(eng) as s:
        again = esc.detect(s, now=now, incremental=False)
    assert again.inserted == 0
    eng.dispose()


def test_upgrade_0009_keeps_detection_incremental_and_compares_keys_bytewise(db_url):
    """0009 moves "when did detection last run" from the outbox's rows to detection_run: the
    latest instant detection wrote rows at becomes a run, so the first pass after the
    upgrade is incremental from it as before. On PostgreSQL the dedupe key is compared
    bytewise (its prefix ranges are exact whatever the database's collation)."""
    from datetime import date, datetime, timezone

    from sqlalchemy import text

    from engine import escalation as esc
    from engine.models import DetectionRun
    from tests.factories import seed

    eng = dbmod.make_engine(db_url)
    now = datetime(2025, 6, 2, 1, 0, tzinfo=timezone.utc)
    seed(eng, tasks=[{"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 5, 12)}])
    with dbmod.transaction(eng) as s:
        assert esc.detect(s, now=now).inserted > 0
    cfg = dbmod.alembic_config(eng)
    command.downgrade(cfg, "0008")
    with eng.begin() as c:
        assert "detection_run" not in inspect(c).get_table_names()
    command.upgrade(cfg, "head")
    with dbmod.transaction(eng) as s:
        runs = s.execute(text("SELECT today, incremental FROM detection_run")).all()
        assert [(str(d)[:10], bool(i)) for d, i in runs] == [("2025-06-02", True)]
        assert esc.last_run(s, datetime(2025, 6, 3, 1, 0, tzinfo=timezone.utc)) == now
        assert s.query(DetectionRun).count() == 1
    if eng.dialect.name == "postgresql":
        with eng.begin() as c:
            coll = c.execute(text("SELECT collation_name FROM information_schema.columns WHERE table_schema = "
                                  "current_schema() AND table_name = 'outbox' AND column_name = 'dedupe_key'")).scalar()
        assert coll == "C"
    names = {ix["name"] for ix in inspect(eng).get_indexes("outbox")}
    assert "ix_outbox_created_at" not in names and "ix_outbox_deadline_level_item" not in names
    eng.dispose()

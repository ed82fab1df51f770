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

"""Shared fixtures: every DB test runs on SQLite and, when STEER_TEST_POSTGRES_URL is set,
on PostgreSQL too (each test session gets its own PostgreSQL schema; tables are truncated
between tests). In CI an unreachable PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from engine import db as dbmod
from engine import policy as policymod
from engine import workdays as workdaysmod
from engine.models import Base
from tests.realdata import SHARED

PG_URL = os.environ.get("STEER_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Set by mutmut in the process that runs a mutant (bench/mutate.py); never in a normal test run.
UNDER_MUTATION = bool(os.environ.get("MUTANT_UNDER_TEST"))

BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    return f"steer backends: {', '.join(BACKENDS)}" + ("" if PG_URL else " (set STEER_TEST_POSTGRES_URL for PostgreSQL)")


@pytest.fixture(autouse=True)
def _no_process_caches_under_mutation() -> Iterator[None]:
    """mutmut forks each mutant's test process from one that already ran the tests: a value
    cached there (the holiday calendar, a parsed policy file) would hide the mutant from every
    test that reads it. Under mutation each test starts without them."""
    if UNDER_MUTATION:
        workdaysmod.default_calendar.cache_clear()
        policymod._PARSED.clear()
    yield


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    eng = dbmod.make_engine(f"sqlite:///{path}")
    dbmod.upgrade(eng)
    eng.dispose()  # last connection closed: SQLite checkpoints and removes the WAL
    return path


@pytest.fixture(scope="session")
def _pg_schema_url() -> Iterator[str]:
    assert PG_URL
    schema = f"steer_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = dbmod.make_engine(PG_URL)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        msg = f"PostgreSQL at {dbmod.redact(PG_URL)} is unreachable: {exc}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng)
    eng.dispose()
    yield url
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _truncate_pg(eng: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # the migration's genesis row of the audit chain
        c.execute(text("INSERT INTO chain_head (id, last_event_id, last_hash, count) VALUES (1, 0, :h, 0)"), {"h": "0" * 64})


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """URL of a migrated, empty database on each backend."""
    if request.param == "sqlite":
        tpl = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "steer.db"
        shutil.copy(tpl, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_pg_schema_url")
        eng = dbmod.make_engine(url)
        _truncate_pg(eng)
        eng.dispose()
        yield url


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    eng = dbmod.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def annex2() -> Path:
    path = SHARED / "real-plans" / "nq03-annex2-tasks.md"
    if not path.exists():  # pragma: no cover
        pytest.fail(f"real data missing: {path} (shared/ must sit beside the repo)")
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (orchestration tests only)."""
    import flows.settings  # noqa: F401  quiet, offline Prefect environment before prefect is imported
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield

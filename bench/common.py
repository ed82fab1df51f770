"""Shared helpers for benchmarks: fresh databases on SQLite/PostgreSQL, timing, output."""

from __future__ import annotations

import gc
import os
import platform
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from engine import db as dbmod

PG_URL = os.environ.get("STEER_BENCH_POSTGRES_URL") or os.environ.get("STEER_TEST_POSTGRES_URL") \
    or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def backends(requested: list[str] | None = None) -> list[str]:
    out = requested or ["sqlite", "postgres"]
    if "postgres" in out:
        try:
            eng = dbmod.make_engine(PG_URL)
            with eng.connect():
                pass
            eng.dispose()
        except Exception as exc:
            print(f"(postgres unavailable: {exc}; skipping it)")
            out = [b for b in out if b != "postgres"]
    return out


@contextmanager
def fresh_db(backend: str, workdir: Path) -> Iterator[str]:
    """A migrated, empty database; dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        eng = dbmod.make_engine(url)
        dbmod.upgrade(eng)
        eng.dispose()
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = dbmod.make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng)
    eng.dispose()
    try:
        yield url
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Timer:
    def __enter__(self) -> "Timer":
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0


class QuietTimer(Timer):
    """A Timer with Python's garbage collector collected before and paused during the timed
    block, so a collection triggered by whatever ran before does not land on one side only.
    Used for both sides of a comparison."""

    def __enter__(self) -> "QuietTimer":
        gc.collect()
        gc.disable()
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        gc.enable()


def machine() -> str:
    return f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"

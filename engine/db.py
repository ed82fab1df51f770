"""Engine/session factory and schema state.

SQLite: WAL, foreign keys on, busy timeout, and SQLAlchemy's documented pysqlite recipe
(driver-level autocommit off, emit ``BEGIN IMMEDIATE`` ourselves) so that concurrent
writers queue on the lock instead of failing with SQLITE_BUSY_SNAPSHOT.
PostgreSQL: psycopg 3.

The schema is created and upgraded only by Alembic migrations (``migrations/``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event, exc, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from engine.errors import SchemaError  # noqa: F401  (re-exported)

DEFAULT_URL = "sqlite:///steer.db"
# The newest migration. Lets every command confirm a current schema with one SELECT,
# without importing Alembic (~0.5 s); tests/test_migrations.py keeps it equal to the head.
SCHEMA_HEAD = "0013"
REPO_ROOT = Path(__file__).resolve().parent.parent

SchemaState = Literal["empty", "current", "behind", "ahead", "foreign"]




def database_url(cli_value: str | None = None) -> str:
    url = cli_value or os.environ.get("STEER_DATABASE_URL") or DEFAULT_URL
    return normalize_url(url)


def normalize_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def redact(url: str) -> str:
    """A URL safe to print (password hidden)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"


def make_engine(url: str, *, echo: bool = False, pool_size: int | None = None,
                ping_idle: float | None = None) -> Engine:
    """An engine on ``url`` (SQLite: the recipe above). PostgreSQL: a pooled connection is
    checked with a ping on every checkout (``pool_pre_ping``); with ``ping_idle`` (seconds)
    only when it has been idle in the pool longer than that (``_ping_when_idle``)."""
    url = normalize_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        db = u.database
        if db and db != ":memory:":
            Path(db).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        _install_sqlite_recipe(engine)
        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": ping_idle is None}
    if pool_size:
        kwargs["pool_size"] = pool_size
    engine = create_engine(url, echo=echo, **kwargs)
    if ping_idle is not None:
        _ping_when_idle(engine, ping_idle)
    return engine


_IDLE_SINCE = "steer.idle_since"


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Pre-ping only connections that sat in the pool more than ``seconds``: one round trip
    fewer per transaction for a busy server (the web app), while a connection the server
    dropped during a quiet spell is still found dead at checkout and replaced (SQLAlchemy's
    custom pessimistic-disconnect recipe: ``DisconnectionError`` from a checkout listener).
    A connection lost within ``seconds`` of its last use fails that one transaction, and
    SQLAlchemy then invalidates the pool's older connections."""
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since <= seconds:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.DisconnectionError(str(err)) from err  # the pool reconnects and checks out again
            raise


def _install_sqlite_recipe(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def id_fits(session: Session, value: int) -> bool:
    """Whether ``value`` can be a row id here: SQLite's integers are 64-bit, the ids on
    PostgreSQL are ``integer`` (32-bit). Asking the driver for a larger number overflows
    instead of finding nothing, so lookups of user-given ids check this first."""
    bits = 64 if session.get_bind().dialect.name == "sqlite" else 32
    return 0 < value < 2 ** (bits - 1)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


# --- migrations ------------------------------------------------------------------------


def alembic_config(engine: Engine | None = None):  # -> alembic.config.Config
    from alembic.config import Config

    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    tables = set(inspect(engine).get_table_names())
    if not tables:
        return "empty"
    if "alembic_version" not in tables:
        return "foreign"
    current, head = current_revision(engine), head_revision()
    if current == head:
        return "current"
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current is None or current in known:
        return "behind"
    return "ahead"


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def _quick_version(engine: Engine) -> str | None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def ensure_schema(engine: Engine, *, lang: str = "vi") -> SchemaState:
    """Create and migrate a missing/empty database; refuse one that is behind or foreign."""
    if _quick_version(engine) == SCHEMA_HEAD:
        return "current"
    state = schema_state(engine)
    if state == "empty":
        upgrade(engine)
        return "current"
    # the catalog is read only when there is something to say (every command passes here)
    from engine.i18n import tr

    if state == "behind":
        raise SchemaError(tr(lang, "db.schema_behind", url=redact(str(engine.url)), current=current_revision(engine),
                             head=head_revision()))
    if state == "ahead":
        raise SchemaError(tr(lang, "db.schema_ahead", url=redact(str(engine.url)), current=current_revision(engine)))
    if state == "foreign":
        raise SchemaError(tr(lang, "db.schema_foreign", url=redact(str(engine.url))))
    return state

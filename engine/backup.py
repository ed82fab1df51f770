"""Backup and verified restore of a Steer database.

SQLite: ``backup`` copies the live database with SQLite's online backup API (a consistent
snapshot, taken while other processes keep reading and writing in WAL mode) into a
temporary file beside ``PATH``, switches the copy to a self-contained single file
(``journal_mode=DELETE``), checks it (integrity, schema revision, audit chain) and renames
it into place. ``restore`` never touches the target until the backup has been checked:
it copies the backup into a staging file, upgrades the staging copy if it is an older
schema, runs ``PRAGMA integrity_check`` and ``engine.audit.verify_chain`` on it, and only
then copies it into the target with one backup-API step — a single write transaction, so
other connections see either the old database or the restored one, never a mix. A target
that already holds data is refused unless ``force``.

PostgreSQL: use ``pg_dump`` / ``pg_restore`` (the commands are in :func:`pg_commands` and
the README); both functions raise :class:`PostgresBackup` carrying them.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from engine.audit import verify_chain
from engine.db import normalize_url, transaction
from engine.errors import UserError
from engine.i18n import tr

SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables a freshly migrated, unused database already fills (ignored by the "holds data" test).
_BOOKKEEPING = {"alembic_version", "sqlite_sequence"}


class PostgresBackup(UserError):
    """A PostgreSQL database: back up and restore with pg_dump / pg_restore (message has the commands)."""


@dataclass
class Snapshot:
    """What a database (or backup file) holds: schema revision, rows per table, audit chain."""

    path: Path
    revision: str | None
    counts: dict[str, int]
    events: int
    chain_problems: list[str] = field(default_factory=list)
    upgraded_from: str | None = None

    @property
    def chain_ok(self) -> bool:
        return not self.chain_problems


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other backends. ``:memory:`` is refused."""

    u = make_url(normalize_url(url))
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        raise UserError(f"Cannot back up or restore this SQLite database: {u.database or '(memory)'}")
    return Path(u.database).expanduser().resolve()


# --- PostgreSQL ----------------------------------------------------------------------------------


def libpq_url(url: str) -> tuple[str, str | None]:
    """(``postgresql://user@host:port/db`` without the password, schema from ``search_path``)."""

    u = make_url(normalize_url(url))
    auth = quote(u.username, safe="") + "@" if u.username else ""
    host = u.host or ""
    port = f":{u.port}" if u.port else ""
    schema = None
    options = u.query.get("options")
    for opt in (options if isinstance(options, tuple) else (options or "",)):
        for part in str(opt).split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0]
    return f"postgresql://{auth}{host}{port}/{u.database or ''}", schema


def pg_commands(url: str, path: str | Path) -> tuple[str, str]:
    """The exact pg_dump and pg_restore commands for ``url`` (password never included)."""
    conn, schema = libpq_url(url)
    only = f" --schema={schema}" if schema else ""
    dump = f"pg_dump --format=custom --no-owner{only} --file='{path}' '{conn}'"
    restore = f"pg_restore --clean --if-exists --no-owner --single-transaction --dbname='{conn}' '{path}'"
    return dump, restore


def _postgres_error(url: str, path: str | Path, *, restore: bool, lang: str) -> PostgresBackup:
    dump, rest = pg_commands(url, path)
    has_password = make_url(url).password is not None
    pw = tr(lang, "backup.password_comes_from_pgpassword_or") \
        if has_password else ""
    if restore:
        return PostgresBackup(tr(lang, "backup.database_postgresql_steer_db_restore", rest=rest, pw=pw))
    return PostgresBackup(tr(lang, "backup.database_postgresql_steer_db_backup", dump=dump, rest=rest, pw=pw))


# --- inspection ----------------------------------------------------------------------------------


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
            for t in _tables(conn) if t not in _BOOKKEEPING}


def holds_data(path: Path) -> dict[str, int]:
    """Non-empty tables of the SQLite file at ``path`` (``{}``: missing, empty or freshly migrated)."""
    if not path.exists() or path.stat().st_size == 0:
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        counts = _counts(conn)
        if "chain_head" in counts and conn.execute("SELECT coalesce(sum(count), 0) FROM chain_head").fetchone()[0] == 0:
            counts.pop("chain_head")  # the migration's genesis row
        return {t: n for t, n in counts.items() if n}
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: {exc}") from None
    finally:
        conn.close()


def inspect_file(path: Path, *, lang: str = "vi") -> Snapshot:
    """Read-only check of a SQLite Steer database file: integrity, revision, counts, audit chain."""

    _require_sqlite_file(path, lang)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise UserError(tr(lang, "backup.corrupt_integrity_check", path=path, ok=ok))
        tables = set(_tables(conn))
        if "alembic_version" not in tables or "event" not in tables or "chain_head" not in tables:
            raise UserError(tr(lang, "backup.not_steer_database_no_alembic", path=path))
        rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = _counts(conn)
    finally:
        conn.close()
    eng = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with transaction(eng) as s:
            report = verify_chain(s)
    finally:
        eng.dispose()
    return Snapshot(path=path, revision=rev[0] if rev else None, counts=counts, events=report.count,
                    chain_problems=list(report.problems))


def _require_sqlite_file(path: Path, lang: str) -> None:
    if not path.is_file():
        raise UserError(tr(lang, "backup.no_such_file", path=path))
    with open(path, "rb") as fh:
        if fh.read(16) != SQLITE_MAGIC:
            raise UserError(tr(lang, "backup.not_sqlite_database", path=path))


def _copy(src_path: Path, dst_path: Path) -> None:
    """Online backup of ``src_path`` into a new single-file database ``dst_path``."""
    src = sqlite3.connect(str(src_path), timeout=30)
    dst = sqlite3.connect(str(dst_path))
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shown(path: Path) -> str:
    """``path`` for a message: a very long one keeps its start and its end."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:120]}…{text[-60:]}"


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents, one level at a time (``Path.mkdir(parents=True)``
    recurses once per level: a path of a thousand folders overflows the stack). Returns the
    folders created, outermost first, so a failure can remove them again."""
    missing: list[Path] = []
    p = folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
    except OSError:
        remove_folders(created)
        raise
    return created


def remove_folders(created: list[Path]) -> None:
    for d in reversed(created):
        try:
            d.rmdir()
        except OSError:
            break


def _cleanup(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
              path.with_name(path.name + "-journal")):
        p.unlink(missing_ok=True)


# --- backup ----------------------------------------------------------------------------------------


def backup(url: str, dest: str | Path, *, force: bool = False, lang: str = "vi") -> Snapshot:
    """Copy the SQLite database at ``url`` to ``dest`` (checked, then renamed into place).

    Returns what the backup holds; ``chain_problems`` is non-empty when the live database's
    audit chain was already broken (the backup is still written: it is what there is)."""
    dest = Path(dest).expanduser().resolve()
    src = sqlite_path(url)
    if src is None:
        raise _postgres_error(url, dest, restore=False, lang=lang)
    _require_sqlite_file(src, lang)
    if dest == src:
        raise UserError(tr(lang, "backup.backup_file_must_differ_from"))
    if dest.exists() and not force:
        raise UserError(tr(lang, "backup.already_exists_use_force_overwrite", dest=dest))
    created = make_folders(dest.parent)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    done = False
    try:
        _cleanup(tmp)
        try:
            _copy(src, tmp)
        except sqlite3.OperationalError as exc:  # e.g. a path longer than SQLite opens
            raise UserError(tr(lang, "backup.cannot_write_backup_file", dest=_shown(dest), exc=exc)) from None
        snap = inspect_file(tmp, lang=lang)
        _fsync(tmp)
        os.replace(tmp, dest)
        done = True
    finally:
        _cleanup(tmp)
        if not done:
            remove_folders(created)  # a failed backup leaves no new folders behind
    snap.path = dest
    return snap


# --- restore ---------------------------------------------------------------------------------------


def restore(backup_file: str | Path, url: str, *, force: bool = False, lang: str = "vi") -> Snapshot:
    """Replace the SQLite database at ``url`` with ``backup_file`` after checking the backup.

    Refused (target untouched) when: the target holds data and ``force`` is false; the file
    is not a SQLite Steer database; its schema is newer than this code or unknown; its
    integrity check or audit chain fails."""
    from engine import db as dbmod

    path = Path(backup_file).expanduser().resolve()
    target = sqlite_path(url)
    if target is None:
        raise _postgres_error(url, path, restore=True, lang=lang)
    _require_sqlite_file(path, lang)
    if path == target:
        raise UserError(tr(lang, "backup.backup_file_target_database_itself"))
    existing = holds_data(target)
    if existing and not force:
        shown = ", ".join(f"{t} {n}" for t, n in sorted(existing.items())[:6])
        raise UserError(tr(lang, "backup.target_database_holds_data_use", target=target, shown=shown))
    staging = target.with_name(f".{target.name}.restore-{os.getpid()}")
    _cleanup(staging)
    make_folders(target.parent)
    try:
        _copy(path, staging)
        upgraded_from = _bring_to_head(staging, path, lang)
        snap = inspect_file(staging, lang=lang)
        if snap.revision != dbmod.SCHEMA_HEAD:
            raise UserError(tr(lang, "backup.backup_at_schema_revision_expected", path=path,
                               snap_revision=snap.revision,
                               dbmod_schema_head=dbmod.SCHEMA_HEAD))
        if not snap.chain_ok:
            raise UserError(tr(lang, "backup.backup_has_tampered_audit_chain", path=path)
                            + "; ".join(snap.chain_problems[:5]))
        _swap_in(staging, target)
    finally:
        _cleanup(staging)
    after = inspect_file(target, lang=lang)
    if after.counts != snap.counts or not after.chain_ok:  # pragma: no cover - would be a SQLite bug
        raise UserError(tr(lang, "backup.restored_does_not_match_backup", target=target))
    after.upgraded_from = upgraded_from
    return after


def _bring_to_head(staging: Path, original: Path, lang: str) -> str | None:
    """Upgrade the staging copy when the backup is an older schema; refuse newer/foreign ones."""
    from engine import db as dbmod

    eng = dbmod.make_engine(f"sqlite:///{staging}")
    try:
        state = dbmod.schema_state(eng)
        if state == "current":
            return None
        if state == "behind":
            old = dbmod.current_revision(eng)
            dbmod.upgrade(eng)
            return old
        if state == "ahead":
            raise UserError(tr(lang, "backup.backup_was_made_by_newer", original=original,
                               current_revision=dbmod.current_revision(eng)))
        raise UserError(tr(lang, "backup.not_steer_backup_schema_state", original=original, state=state))
    finally:
        eng.dispose()
        conn = sqlite3.connect(str(staging))  # back to a single file (make_engine switched it to WAL)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
        finally:
            conn.close()


def _swap_in(staging: Path, target: Path) -> None:
    """Copy the checked staging database into ``target`` in one backup step (one write
    transaction on the target: atomic for every other connection)."""
    src = sqlite3.connect(f"file:{staging}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target), timeout=60)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def describe(snap: Snapshot) -> dict[str, Any]:
    """JSON-ready summary."""
    return {"path": str(snap.path), "revision": snap.revision, "events": snap.events, "chain_ok": snap.chain_ok,
            "chain_problems": snap.chain_problems[:10], "counts": snap.counts, "upgraded_from": snap.upgraded_from}

"""steer db backup / restore: an online SQLite backup restores exactly the backup moment
(row counts and audit chain), a tampered or foreign backup is refused without touching the
target, a database holding data is only replaced with --force, and PostgreSQL gets the
pg_dump / pg_restore commands (password never shown)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod
from engine import lifecycle
from engine.audit import verify_chain
from engine.backup import holds_data, inspect_file
from engine.db import transaction
from engine.models import Event, WorkItem
from tests.factories import PLAN_CODE, actor, at, item_of, make_plan, seed

runner = CliRunner()


def _db(tmp_path: Path, name: str = "steer.db") -> tuple[str, Path]:
    path = tmp_path / name
    eng = dbmod.make_engine(f"sqlite:///{path}")
    dbmod.upgrade(eng)
    eng.dispose()
    return f"sqlite:///{path}", path


def _state(url: str) -> tuple[dict[str, int], int, list[str]]:
    """(rows per table, events, chain problems) read through SQLAlchemy."""
    eng = dbmod.make_engine(url)
    try:
        with transaction(eng) as s:
            rep = verify_chain(s)
            n_items = s.execute(select(func.count()).select_from(WorkItem)).scalar_one()
            n_events = s.execute(select(func.count()).select_from(Event)).scalar_one()
        counts = inspect_file(Path(url.removeprefix("sqlite:///"))).counts
    finally:
        eng.dispose()
    assert counts["work_item"] == n_items and counts["event"] == n_events
    return counts, rep.count, rep.problems


def _busy_day(url: str) -> None:
    """Status changes (events) on the seeded plan."""
    eng = dbmod.make_engine(url)
    try:
        with transaction(eng) as s:
            w = item_of(s, PLAN_CODE, "1")
            lifecycle.start(s, w, actor(s, "skhcn_focal"), now=at("2025-04-02 09:00"))
        with transaction(eng) as s:
            w = item_of(s, PLAN_CODE, "1")
            lifecycle.submit(s, w, actor(s, "skhcn_focal"), now=at("2025-04-03 10:00"), evidence="QĐ số 12/QĐ-SKHCN")
    finally:
        eng.dispose()


def test_restore_brings_back_exactly_the_backup_moment(tmp_path):
    url, path = _db(tmp_path)
    eng = dbmod.make_engine(url)
    seed(eng)
    _busy_day(url)
    at_backup = _state(url)
    assert at_backup[1] >= 3 and not at_backup[2]

    # online: another connection is open (as a running web app would be) while backing up
    with eng.connect():
        r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "backup", str(tmp_path / "b" / "steer-backup.db")])
    assert r.exit_code == 0, r.output
    assert "audit chain intact" in r.output
    backup_file = tmp_path / "b" / "steer-backup.db"
    assert sorted(p.name for p in backup_file.parent.iterdir()) == ["steer-backup.db"]  # one self-contained file

    # more work after the backup: a new plan and more events
    with transaction(eng) as s:
        make_plan(s, "KH-LATER", tasks=[{"code": "9", "lead": ["STC"]}], now=at("2025-05-01"))
    with transaction(eng) as s:
        w = item_of(s, PLAN_CODE, "1")
        lifecycle.verify(s, w, actor(s, "secretariat"), now=at("2025-05-02 09:00"))
    after_changes = _state(url)
    assert after_changes[0] != at_backup[0] and after_changes[1] > at_backup[1]

    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "restore", str(backup_file)])
    assert r.exit_code == 1 and "--force" in r.output and "Traceback" not in r.output
    assert _state(url) == after_changes  # refused: untouched

    with eng.connect():  # a connection stays open across the restore
        r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "restore", str(backup_file), "--force"])
    assert r.exit_code == 0, r.output
    assert _state(url) == at_backup
    eng.dispose()
    r = runner.invoke(app, ["--db", url, "audit", "verify"])
    assert r.exit_code == 0, r.output
    # the restored database is still a normal, writable Steer database
    _busy_day_after = dbmod.make_engine(url)
    with transaction(_busy_day_after) as s:
        w = item_of(s, PLAN_CODE, "1")
        lifecycle.verify(s, w, actor(s, "secretariat"), now=at("2025-05-03 09:00"))
    _busy_day_after.dispose()
    assert _state(url)[1] == at_backup[1] + 1


def test_restore_into_a_new_file_and_an_empty_migrated_database(tmp_path):
    url, _ = _db(tmp_path)
    eng = dbmod.make_engine(url)
    seed(eng)
    eng.dispose()
    expected = _state(url)
    backup_file = tmp_path / "bk.db"
    assert runner.invoke(app, ["--db", url, "db", "backup", str(backup_file)]).exit_code == 0

    new_url = f"sqlite:///{tmp_path / 'fresh' / 'new.db'}"
    r = runner.invoke(app, ["--db", new_url, "db", "restore", str(backup_file)])
    assert r.exit_code == 0, r.output
    assert _state(new_url) == expected

    empty_url, empty_path = _db(tmp_path, "empty.db")
    assert holds_data(empty_path) == {}
    r = runner.invoke(app, ["--db", empty_url, "db", "restore", str(backup_file)])
    assert r.exit_code == 0, r.output
    assert _state(empty_url) == expected


def test_tampered_backup_is_refused_and_the_target_is_untouched(tmp_path):
    url, _ = _db(tmp_path)
    eng = dbmod.make_engine(url)
    seed(eng)
    eng.dispose()
    _busy_day(url)
    backup_file = tmp_path / "bk.db"
    assert runner.invoke(app, ["--db", url, "db", "backup", str(backup_file)]).exit_code == 0
    con = sqlite3.connect(backup_file)
    edited = con.execute("SELECT max(id) FROM event").fetchone()[0]
    con.execute("UPDATE event SET evidence = 'QĐ số 99' WHERE id = ?", (edited,))
    con.commit()
    con.close()

    target_url, _ = _db(tmp_path, "target.db")
    before = _state(target_url)
    r = runner.invoke(app, ["--lang", "en", "--db", target_url, "db", "restore", str(backup_file), "--force"])
    assert r.exit_code == 1, r.output
    assert "tampered" in r.output and f"{edited}" in r.output and "Traceback" not in r.output
    assert _state(target_url) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging file left


def test_a_deleted_event_in_the_backup_is_refused(tmp_path):
    url, _ = _db(tmp_path)
    eng = dbmod.make_engine(url)
    seed(eng)
    eng.dispose()
    _busy_day(url)
    backup_file = tmp_path / "bk.db"
    assert runner.invoke(app, ["--db", url, "db", "backup", str(backup_file)]).exit_code == 0
    con = sqlite3.connect(backup_file)
    con.execute("DELETE FROM event WHERE id = 2")
    con.commit()
    con.close()
    r = runner.invoke(app, ["--lang", "en", "--db", f"sqlite:///{tmp_path / 'new.db'}", "db", "restore", str(backup_file)])
    assert r.exit_code == 1 and "tampered" in r.output
    assert not (tmp_path / "new.db").exists() or holds_data(tmp_path / "new.db") == {}


def test_not_a_backup_is_refused(tmp_path):
    url, _ = _db(tmp_path)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello", encoding="utf-8")
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "restore", str(text_file)])
    assert r.exit_code == 1 and "not a SQLite database" in r.output
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("create table foo (x int)").connection.commit()
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "restore", str(foreign)])
    assert r.exit_code == 1 and "not a Steer" in r.output
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "restore", str(tmp_path / "missing.db")])
    assert r.exit_code == 1 and "No such file" in r.output


def test_backup_refuses_to_overwrite_without_force(tmp_path):
    url, _ = _db(tmp_path)
    dest = tmp_path / "bk.db"
    dest.write_bytes(b"keep me")
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "backup", str(dest)])
    assert r.exit_code == 1 and "--force" in r.output
    assert dest.read_bytes() == b"keep me"
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "backup", str(dest), "--force"])
    assert r.exit_code == 0, r.output
    assert inspect_file(dest).revision == dbmod.SCHEMA_HEAD


def test_backup_to_a_path_sqlite_cannot_open_is_one_error_and_leaves_nothing(tmp_path, monkeypatch):
    """1,200 nested folders: Path.mkdir(parents=True) recursed once per level (RecursionError)
    and SQLite cannot open a path that long (found by fuzzing). Now: one message naming the
    backup file, exit 1, and the folders made for it are removed again."""
    url, _ = _db(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for lang, text in (("vi", "Không ghi được tệp sao lưu «"), ("en", "Cannot write the backup file «")):
        r = runner.invoke(app, ["--lang", lang, "--db", url, "db", "backup", "[/]" * 1200])
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
        out = " ".join(r.output.split())
        assert f"{text}{work}/[/][/]" in out and "…" in out and "Traceback" not in r.output, out[:400]
        assert list(work.iterdir()) == []


def test_backup_creates_missing_folders(tmp_path):
    url, _ = _db(tmp_path)
    dest = tmp_path / "bk" / "2025" / "08" / "steer.db"
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "backup", str(dest)])
    assert r.exit_code == 0, r.output
    assert inspect_file(dest).revision == dbmod.SCHEMA_HEAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["steer.db"]  # no temporary file left


def test_backup_of_an_older_schema_is_upgraded_on_restore(tmp_path):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(dbmod.alembic_config())
    previous = script.get_revision(script.get_current_head()).down_revision
    old_path = tmp_path / "old.db"
    eng = dbmod.make_engine(f"sqlite:///{old_path}")
    dbmod.upgrade(eng, previous)
    eng.dispose()
    backup_file = tmp_path / "old-backup.db"
    r = runner.invoke(app, ["--db", f"sqlite:///{old_path}", "db", "backup", str(backup_file)])
    assert r.exit_code == 0, r.output
    assert inspect_file(backup_file).revision == previous
    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    r = runner.invoke(app, ["--lang", "en", "--db", new_url, "db", "restore", str(backup_file)])
    assert r.exit_code == 0, r.output
    assert f"the backup was at schema {previous}" in r.output
    assert inspect_file(tmp_path / "new.db").revision == dbmod.SCHEMA_HEAD
    assert inspect_file(backup_file).revision == previous  # the backup file itself is never modified


def test_postgresql_gets_pg_dump_and_pg_restore_commands_without_the_password(tmp_path):
    url = "postgresql+psycopg://steer:s3cret@db.example:5433/steer?options=-csearch_path%3Dbcd57"
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "backup", str(tmp_path / "steer.dump")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    out = " ".join(r.output.split())
    assert (f"pg_dump --format=custom --no-owner --schema=bcd57 --file='{tmp_path / 'steer.dump'}' "
            "'postgresql://steer@db.example:5433/steer'") in out
    assert "pg_restore --clean --if-exists --no-owner --single-transaction" in out
    assert "s3cret" not in r.output and "PGPASSWORD" in r.output
    r = runner.invoke(app, ["--db", url, "db", "restore", str(tmp_path / "steer.dump")])
    assert r.exit_code == 1 and "pg_restore" in r.output and "s3cret" not in r.output
    assert not (tmp_path / "steer.dump").exists()

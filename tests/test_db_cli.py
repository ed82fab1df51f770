"""Schema life cycle through the CLI: created on first use, refused when behind, upgraded on request."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod

runner = CliRunner()


def _previous_revision() -> str:
    script = ScriptDirectory.from_config(dbmod.alembic_config())
    head = script.get_revision(script.get_current_head())
    assert head.down_revision, "needs at least two migrations"
    return head.down_revision  # type: ignore[return-value]


def test_database_behind_is_refused_by_commands_and_upgraded_by_db_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng, _previous_revision())
    eng.dispose()
    r = runner.invoke(app, ["--db", url, "plan", "list"])
    assert r.exit_code == 1
    assert "steer db upgrade" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["--db", url, "db", "upgrade"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", url, "plan", "list"])
    assert r.exit_code == 0, r.output


def test_db_status_hides_the_password():
    r = runner.invoke(app, ["--db", "postgresql+psycopg://steer:s3cret@127.0.0.1:1/none", "db", "status"])
    assert "s3cret" not in r.output
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_foreign_database_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("create table foo (x int)").connection.commit()
    r = runner.invoke(app, ["--db", f"sqlite:///{path}", "plan", "list"])
    assert r.exit_code == 1 and "Steer" in r.output


def test_the_schema_messages_speak_the_chosen_language(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("create table foo (x int)").connection.commit()
    en = runner.invoke(app, ["--db", f"sqlite:///{path}", "--lang", "en", "plan", "list"])
    vi = runner.invoke(app, ["--db", f"sqlite:///{path}", "plan", "list"])
    assert en.exit_code == vi.exit_code == 1
    assert "already has tables that are not Steer's (no alembic_version)" in en.output
    assert "đã có bảng nhưng không phải của Steer" in vi.output
    old = f"sqlite:///{tmp_path / 'old.db'}"
    eng = dbmod.make_engine(old)
    dbmod.upgrade(eng, _previous_revision())
    eng.dispose()
    r = runner.invoke(app, ["--db", old, "--lang", "en", "plan", "list"])
    assert r.exit_code == 1 and "has an older schema than this version" in r.output and "steer db upgrade" in r.output

"""steer doctor: database, schema, Prefect API and every notify target, each OK/FAIL/SKIP,
exit 1 on any FAIL; nothing is sent and no secret is printed. (The all-OK case against a
real Prefect server and worker is in tests/test_prod_prefect_server.py.) Also: the README
documents the production commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod
from engine.db import transaction
from engine.models import Person, Unit
from notifications.doctor import FAIL, OK, SKIP, Endpoint, endpoint, probe
from tests.factories import seed
from tests.receivers import HttpReceiver, SmtpReceiver, free_port

runner = CliRunner()
README = Path(__file__).resolve().parent.parent / "README.md"
SECRET = "Secr3tPw"


def _rows(output: str) -> dict[str, dict[str, str]]:
    data = json.loads(output)
    return {c["name"]: c for c in data["checks"]}


@pytest.fixture
def seeded(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'steer.db'}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng)
    seed(eng)
    yield url, eng
    eng.dispose()


def test_each_target_is_checked_without_sending_and_without_showing_secrets(seeded, monkeypatch):
    url, eng = seeded
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    closed = free_port()
    with SmtpReceiver() as smtp, HttpReceiver() as http:
        mail = smtp.url("snv@lamson.example").replace("mailto://steer@", f"mailto://steer:{SECRET}@")
        hook = f"json://bot:{SECRET}@127.0.0.1:{http.port}/hook?token={SECRET}"
        with transaction(eng) as s:
            units = {u.code: u for u in s.execute(select(Unit)).scalars()}
            for u in units.values():
                u.notify = []
            units["SNV"].notify = [mail]
            units["STC"].notify = [f"json://127.0.0.1:{closed}/down"]
            for p in s.execute(select(Person)).scalars():
                p.notify = []
            s.get(Person, "chair").notify = [hook]
            s.get(Person, "pct_kt").notify = [f"tgram://123456789:{SECRET}AAAA/987654"]
            s.get(Person, "secretariat").notify = ["nosuchservice://whatever"]
            s.get(Person, "observer").active = False
            s.get(Person, "observer").notify = [f"json://127.0.0.1:{closed}/inactive"]  # inactive: not checked
        r = runner.invoke(app, ["--lang", "en", "--db", url, "doctor", "--timeout", "3", "--format", "json"])
        assert smtp.messages == [] and http.requests == []  # reachability only: nothing sent, no HTTP request
    assert r.exit_code == 1, r.output
    assert SECRET not in r.output
    rows = _rows(r.output)
    by_ref = {re.match(r"Target (\S+):", n).group(1): c for n, c in rows.items() if n.startswith("Target ")}
    assert set(by_ref) == {"unit:SNV", "unit:STC", "person:chair", "person:pct_kt", "person:secretariat"}
    assert by_ref["unit:SNV"]["status"] == OK and f"SMTP 127.0.0.1:{smtp.port}" in by_ref["unit:SNV"]["detail"]
    assert by_ref["person:chair"]["status"] == OK and f"TCP 127.0.0.1:{http.port}" in by_ref["person:chair"]["detail"]
    assert by_ref["unit:STC"]["status"] == FAIL and "connection refused" in by_ref["unit:STC"]["detail"]
    assert by_ref["person:pct_kt"]["status"] == SKIP
    assert by_ref["person:secretariat"]["status"] == FAIL and "cannot parse" in by_ref["person:secretariat"]["detail"]
    assert rows["Database"]["status"] == OK and rows["Schema (migrations)"]["status"] == OK
    assert rows["Prefect API"]["status"] == FAIL and "PREFECT_API_URL" in rows["Prefect API"]["detail"]


def test_table_output_is_vietnamese_by_default_and_english_on_request(seeded, monkeypatch):
    url, _ = seeded
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")  # nothing listens
    r = runner.invoke(app, ["--db", url, "doctor", "--timeout", "2"])
    assert r.exit_code == 1
    assert "Cơ sở dữ liệu" in r.output and "Máy chủ Prefect" in r.output and "FAIL" in r.output
    assert "chưa có địa chỉ nhận nào" in r.output  # the seeded directory has no notify URL at all
    r = runner.invoke(app, ["--lang", "en", "--db", url, "doctor", "--timeout", "2"])
    assert r.exit_code == 1
    assert "Prefect API" in r.output and "ConnectError" in r.output and "no notify URL at all" in r.output


def test_missing_database_is_a_fail_and_is_not_created(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    path = tmp_path / "nowhere" / "steer.db"
    r = runner.invoke(app, ["--lang", "en", "--db", f"sqlite:///{path}", "doctor", "--format", "json"])
    assert r.exit_code == 1
    assert _rows(r.output)["Database"]["status"] == FAIL
    assert not path.exists() and not path.parent.exists()


def test_schema_behind_is_a_fail_naming_db_upgrade(tmp_path, monkeypatch):
    from alembic.script import ScriptDirectory

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    script = ScriptDirectory.from_config(dbmod.alembic_config())
    previous = script.get_revision(script.get_current_head()).down_revision
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng, previous)
    eng.dispose()
    r = runner.invoke(app, ["--lang", "en", "--db", url, "doctor", "--format", "json"])
    assert r.exit_code == 1
    rows = _rows(r.output)
    assert rows["Database"]["status"] == OK
    assert rows["Schema (migrations)"]["status"] == FAIL and "steer db upgrade" in rows["Schema (migrations)"]["detail"]


def test_postgres_password_is_never_printed(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    r = runner.invoke(app, ["--db", f"postgresql+psycopg://steer:{SECRET}@127.0.0.1:{free_port()}/none", "doctor"])
    assert r.exit_code == 1 and SECRET not in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "601"])
@pytest.mark.parametrize("lang,text", [("vi", "không hợp lệ: ghi số giây lớn hơn 0"), ("en", "is invalid: give the seconds, above 0")])
def test_timeout_must_be_positive_seconds(seeded, monkeypatch, value, lang, text):
    """--timeout 0 made the sockets non-blocking (ValueError from smtplib, found by fuzzing)."""
    url, _ = seeded
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    r = runner.invoke(app, ["--lang", lang, "--db", url, "doctor", "--timeout", value])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert f"--timeout «{float(value):g}» {text}" in " ".join(r.output.split())
    assert "Cơ sở dữ liệu" not in r.output and "Database" not in r.output  # refused before any check


def test_check_targets_refuses_a_timeout_that_is_not_positive():
    from notifications.doctor import check_targets

    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number of seconds"):
            check_targets([], timeout=bad)
    assert check_targets([], timeout=0.5) == []


def test_unreachable_postgres_fails_within_the_timeout(monkeypatch):
    """A PostgreSQL server that accepts the connection and never answers: the database row is
    a FAIL after about --timeout seconds (connect_timeout; libpq's minimum is 2 s), not after
    the driver's default of minutes."""
    import socket
    import time

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads or answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        r = runner.invoke(app, ["--lang", "en", "--db", f"postgresql+psycopg://steer@127.0.0.1:{port}/none",
                                "doctor", "--timeout", "1", "--format", "json"])
        took = time.monotonic() - started
    assert r.exit_code == 1, r.output
    row = _rows(r.output)["Database"]
    assert row["status"] == FAIL and f"127.0.0.1:{port}" in row["detail"], row
    assert took < 15, f"doctor waited {took:.1f}s for a silent server"


def test_endpoints_follow_the_apprise_url():
    assert endpoint("mailtos://user:pw@gmail.com")[0] == Endpoint("smtp", "smtp.gmail.com", 587, "starttls")
    ep, _ = endpoint("mailtos://user:pw@mail.example?smtp=smtp.mail.example&port=465&mode=ssl")
    assert ep == Endpoint("smtp", "smtp.mail.example", 465, "ssl")
    assert endpoint("jsons://hooks.example/x")[0] == Endpoint("tls", "hooks.example", 443)
    assert endpoint("json://10.0.0.5:8080/x")[0] == Endpoint("tcp", "10.0.0.5", 8080)
    assert endpoint("tgram://123456789:abcdef/42") == (None, "uncheckable")
    assert endpoint("not a url") == (None, "invalid")


def test_starttls_mode_fails_against_a_server_without_starttls():
    with SmtpReceiver() as smtp:  # plain SMTP: no STARTTLS offered
        ok, _ = probe(Endpoint("smtp", "127.0.0.1", smtp.port, "insecure"), 3)
        assert ok
        ok, detail = probe(Endpoint("smtp", "127.0.0.1", smtp.port, "starttls"), 3)
        assert not ok and "STARTTLS" in detail
        assert smtp.messages == []


def test_readme_documents_the_production_commands():
    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    for cmd in ("steer deploy", "steer doctor", "steer db backup", "steer db restore"):
        assert f"| `{cmd}" in table, f"README command table lacks {cmd}"
    assert "## Running in production" in text
    prod = text.split("## Running in production", 1)[1].split("\n## ", 1)[0]
    for needed in ("CREATE DATABASE", "steer db upgrade", "PREFECT_API_DATABASE_CONNECTION_URL", "prefect server start",
                   "prefect work-pool create", "prefect worker start", "steer deploy", "steer doctor", "steer web",
                   "pg_dump", "pg_restore", "steer db backup", "steer db restore"):
        assert needed in prod, f"'Running in production' does not mention {needed}"


# --- steer deploy, the parts that need no server (the real registration: test_prod_prefect_server.py) ---


def test_deploy_refuses_without_a_server_or_with_a_password_in_the_url(seeded, monkeypatch):
    url, _ = seeded
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    r = runner.invoke(app, ["--lang", "en", "--db", url, "deploy"])
    assert r.exit_code == 1 and "PREFECT_API_URL is not set" in r.output and "Traceback" not in r.output
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    r = runner.invoke(app, ["--lang", "en", "--db", url, "deploy"])
    assert r.exit_code == 1 and "Cannot reach the Prefect server" in r.output
    r = runner.invoke(app, ["--lang", "en", "--db", f"postgresql+psycopg://steer:{SECRET}@127.0.0.1:1/steer", "deploy"])
    assert r.exit_code == 1 and "--db-from-worker-env" in r.output and SECRET not in r.output


def test_deployments_for_a_process_worker_reuse_the_serve_schedules():
    pytest.importorskip("prefect")
    from flows import report
    from flows.deploy import DEPLOYMENT_NAMES, build

    deps = build(tz="Asia/Bangkok", pool="p1", db_url="postgresql+psycopg://steer@db/steer", report_dir="/srv/reports")
    assert [f"{d.flow_name}/{d.name}" for d in deps] == list(DEPLOYMENT_NAMES)
    by = {f"{d.flow_name}/{d.name}": d for d in deps}
    daily = by["steer-escalate/daily"]
    # code from the installed package: module entrypoints, no storage, no local path
    assert daily.entrypoint == "flows.escalate.escalate" and daily.storage is None
    assert by["monthly-report/monthly-report"].entrypoint == "flows.report.monthly_report"
    # or a git clone per run
    cloned = build(tz="Asia/Bangkok", pool="p1", db_url=None, git_url="https://example.org/steer.git", git_ref="v1")
    step = cloned[0].storage.to_pull_step()
    assert cloned[0].entrypoint == "flows/escalate.py:escalate"
    assert step["prefect.deployments.steps.git_clone"]["repository"] == "https://example.org/steer.git"
    assert step["prefect.deployments.steps.git_clone"]["branch"] == "v1"
    assert all(d.concurrency_limit == 1 and d.concurrency_options.collision_strategy == "CANCEL_NEW" for d in deps)
    assert all(d.work_pool_name == "p1" for d in deps)
    assert daily.job_variables == {"env": {"STEER_DATABASE_URL": "postgresql+psycopg://steer@db/steer",
                                           "STEER_REPORT_DIR": "/srv/reports"}}
    assert not any(v for v in daily.parameters.values())  # no database URL among the parameters
    # the cron strings come from the flow modules (one definition), in the given timezone
    sched = {n: d.schedules[0].schedule for n, d in by.items()}
    assert (sched["steer-escalate/daily"].cron, sched["steer-escalate/daily"].timezone) == ("0 8 * * 1-5", "Asia/Bangkok")
    assert sched["monthly-report/monthly-report"].cron == report.MONTHLY_CRON
    assert sched["quarterly-report/quarterly-report"].cron == report.QUARTERLY_CRON
    assert sched["steer-dispatch/retry"].interval.total_seconds() == 600

"""Production mode end to end, against a real Prefect server (not the temporary one).

One test, marked ``slow`` (~1 minute): ``prefect server start`` on loopback with its own
PostgreSQL database (created here, dropped afterwards; SQLite with a warning when PostgreSQL
is unreachable), the sample directory and 80-task plan in a Steer database (a PostgreSQL
schema when STEER_TEST_POSTGRES_URL is set, else a SQLite file) whose notify URLs point at a
real HTTP receiver, ``steer deploy`` as a subprocess, a process worker
(``prefect worker start``), then one run of the ``steer-escalate/daily`` deployment
through the Prefect API, after ``steer doctor`` reports every check OK. The receiver must get exactly the digests a dry run predicts, one
per recipient, and every outbox row must end ``sent``. Worker and server are stopped with
signals and waited for; everything created is removed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, time as dtime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine import db as dbmod
from tests.receivers import HttpReceiver, free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("STEER_TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
AS_OF = "2025-08-01"  # a Friday: 08:00 is outside quiet hours; many sample tasks are overdue by then
POOL = "steer-it"
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def _tail(path: Path, n: int = 40) -> str:
    if not path.exists():
        return f"(no {path.name})"
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-n:])


class Proc:
    """A subprocess in its own session with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> None:
        self.name, self.log = name, log
        with open(log, "ab") as fh:
            self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> str:
        """Signal, wait; a second signal, wait; then SIGKILL. Returns how it ended."""
        if not self.alive():
            return f"exited {self.p.returncode}"
        for attempt, s in enumerate((sig, signal.SIGTERM)):
            try:
                os.killpg(self.p.pid, s)
            except ProcessLookupError:
                return "gone"
            try:
                self.p.wait(timeout=timeout if attempt == 0 else 10)
                return f"{signal.Signals(s).name} → exit {self.p.returncode}"
            except subprocess.TimeoutExpired:
                continue
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)
        return "SIGKILL"


@contextmanager
def prefect_database() -> Iterator[str]:
    """A new PostgreSQL database for the Prefect server (dropped after), or SQLite if unreachable."""
    admin_url = dbmod.normalize_url(PG_ADMIN).split("?", 1)[0]
    name = f"steer_prefect_it_{uuid.uuid4().hex[:8]}"
    base = dbmod.make_engine(admin_url)
    admin = base.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - depends on the machine
        warnings.warn(f"PostgreSQL unreachable ({type(exc).__name__}); the Prefect server uses SQLite in this run",
                      stacklevel=1)
        base.dispose()
        yield ""
        return
    u = admin.url
    try:
        yield f"postgresql+asyncpg://{u.username}@{u.host}:{u.port or 5432}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        base.dispose()


@contextmanager
def steer_database(tmp: Path) -> Iterator[str]:
    """Steer's database: a fresh PostgreSQL schema when STEER_TEST_POSTGRES_URL is set, else SQLite."""
    pg = os.environ.get("STEER_TEST_POSTGRES_URL")
    if not pg:
        yield f"sqlite:///{tmp / 'steer.db'}"
        return
    schema = f"steer_it_{uuid.uuid4().hex[:8]}"
    admin = dbmod.make_engine(pg)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _load_sample(url: str, http: HttpReceiver) -> None:
    """Sample directory + plan; every unit and non-focal person → its own receiver path."""
    from engine import clock
    from engine.db import transaction
    from engine.directory_store import parse_directory_file, store_directory
    from engine.models import Person, Unit
    from engine.planfile.loader import load_plan_file

    eng = dbmod.make_engine(url)
    try:
        dbmod.upgrade(eng)
        now = clock.local_datetime(date(2025, 4, 1), dtime(9, 0))
        with transaction(eng) as s:
            store_directory(s, parse_directory_file(REPO / "plans" / "sample-directory.yaml"), now=now)
        load_plan_file(eng, REPO / "plans" / "sample-plan.yaml", now=now)
        with transaction(eng) as s:
            for u in s.execute(select(Unit)).scalars():
                u.notify = [http.url(f"/unit/{u.code}")]
            for p in s.execute(select(Person)).scalars():
                # a unit's digest also goes to its focal points: keep one path per recipient
                p.notify = [] if p.role == "focal_point" else [http.url(f"/person/{p.id}")]
    finally:
        eng.dispose()


def _predicted(url: str) -> tuple[set[str], set[str]]:
    """(receiver paths, dedupe keys) a run at AS_OF will produce, by the dry-run path (writes nothing)."""
    from engine import clock, escalation, tracking

    eng = dbmod.make_engine(url)
    try:
        with Session(eng) as s:
            tz = escalation.committee(s)[0]
            now = clock.local_datetime(date.fromisoformat(AS_OF), dtime(8, 0), tz)
            tracking.track(s, now=now, dry_run=True)
            planned = escalation.preview(s, now=now, ctx=escalation.context(s, now=now))
            s.rollback()
    finally:
        eng.dispose()
    paths = {"/" + p.recipient.replace(":", "/", 1) for p in planned}
    return paths, {p.dedupe_key for p in planned}


def _api(client: httpx.Client, method: str, path: str, **kw):  # type: ignore[no-untyped-def]
    r = client.request(method, path, **kw)
    assert r.status_code < 300, f"{method} {path} → {r.status_code}: {r.text[:500]}"
    return r.json() if r.content else None


def test_escalation_deployment_runs_on_a_real_prefect_server_and_worker(tmp_path):
    from engine.models import OutboxMessage
    from flows.deploy import DEPLOYMENT_NAMES

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("PREFECT_") and k not in ("STEER_DATABASE_URL", "STEER_LANG")}
    base_env.update(QUIET)
    started = time.monotonic()
    timings: dict[str, float] = {}
    server = worker = None
    with prefect_database() as prefect_db, steer_database(tmp_path) as steer_url, HttpReceiver() as http:
        server_env = dict(base_env, PREFECT_HOME=str(tmp_path / "server-home"), PREFECT_SERVER_LOGGING_LEVEL="WARNING",
                          PREFECT_UI_ENABLED="false",
                          PREFECT_API_DATABASE_CONNECTION_URL=prefect_db or f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}")
        client_env = dict(base_env, PREFECT_HOME=str(tmp_path / "client-home"), PREFECT_API_URL=api,
                          PREFECT_SERVER_EPHEMERAL_ENABLED="false")
        server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
        try:
            server = Proc("server", [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                     "--port", str(port)], server_env, server_log, tmp_path)
            _load_sample(steer_url, http)  # meanwhile
            expected_paths, expected_keys = _predicted(steer_url)
            assert len(expected_paths) >= 5, f"the sample data should escalate to several recipients: {expected_paths}"
            deadline = time.monotonic() + 120
            while True:
                assert server.alive(), f"prefect server exited ({server.p.returncode}):\n{_tail(server_log)}"
                try:
                    if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"prefect server not healthy within 120 s:\n{_tail(server_log)}"
                time.sleep(0.5)
            timings["server healthy"] = time.monotonic() - started

            # steer deploy (the real CLI, in its own process)
            t0 = time.monotonic()
            out = subprocess.run([str(BIN / "steer"), "--lang", "en", "--db", steer_url, "deploy", "--pool", POOL,
                                  "--format", "json"], env=client_env, cwd=tmp_path, capture_output=True, text=True,
                                 timeout=180)
            timings["steer deploy"] = time.monotonic() - t0
            assert out.returncode == 0, f"steer deploy failed:\n{out.stdout}\n{out.stderr}\nserver log:\n{_tail(server_log)}"
            registered = json.loads(out.stdout)
            assert sorted(d["name"] for d in registered["deployments"]) == sorted(DEPLOYMENT_NAMES)

            with httpx.Client(base_url=api, timeout=15) as c:
                deps = {n: _api(c, "GET", f"/deployments/name/{n}") for n in DEPLOYMENT_NAMES}
                daily = deps["steer-escalate/daily"]
                assert daily["work_pool_name"] == POOL
                # the installed package, no local path: the worker below runs in tmp_path, outside the checkout
                assert daily["entrypoint"] == "flows.escalate.escalate"
                assert not daily["pull_steps"]
                assert daily["job_variables"]["env"]["STEER_DATABASE_URL"] == steer_url
                assert "db_url" not in {k for k, v in daily["parameters"].items() if v}  # the URL is not a parameter
                crons = {n: [(s["schedule"].get("cron"), s["schedule"].get("timezone")) for s in d["schedules"]]
                         for n, d in deps.items()}
                assert crons["steer-escalate/daily"] == [("0 8 * * 1-5", "Asia/Ho_Chi_Minh")]
                assert crons["monthly-report/monthly-report"] == [("0 8 20 * *", "Asia/Ho_Chi_Minh")]
                assert crons["quarterly-report/quarterly-report"] == [("0 8 20 3,6,9,12 *", "Asia/Ho_Chi_Minh")]
                pool = _api(c, "GET", f"/work_pools/{POOL}")
                assert pool["type"] == "process"

                worker_env = dict(client_env, PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_LOGGING_LEVEL="INFO")
                worker = Proc("worker", [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL,
                                         "--type", "process"], worker_env, worker_log, tmp_path)
                deadline = time.monotonic() + 60
                while not [w for w in _api(c, "POST", f"/work_pools/{POOL}/workers/filter", json={})
                           if w.get("status") == "ONLINE"]:
                    assert worker.alive(), f"worker exited ({worker.p.returncode}):\n{_tail(worker_log)}"
                    assert time.monotonic() < deadline, f"worker not online within 60 s:\n{_tail(worker_log)}"
                    time.sleep(0.5)

                # steer doctor against the real server: every row OK (database, schema, API,
                # the four deployments, the worker, each receiver URL)
                doc = subprocess.run([str(BIN / "steer"), "--lang", "en", "--db", steer_url, "doctor", "--format", "json"],
                                     env=client_env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
                report = json.loads(doc.stdout or "{}")
                bad = [ch for ch in report.get("checks", []) if ch["status"] != "OK"]
                assert doc.returncode == 0 and report["ok"] and not bad, f"doctor: {bad or doc.stdout + doc.stderr}"
                names = [ch["name"] for ch in report["checks"]]
                assert {f"Deployment {n}" for n in DEPLOYMENT_NAMES} <= set(names) and f"Worker ({POOL})" in names
                assert sum(n.startswith("Target ") for n in names) >= len(expected_paths)

                # keep the scheduler out of the rest: no run but the one triggered below
                for d in deps.values():
                    _api(c, "PATCH", f"/deployments/{d['id']}", json={"paused": True})
                scheduled = _api(c, "POST", "/flow_runs/filter", json={
                    "deployments": {"id": {"any_": [d["id"] for d in deps.values()]}},
                    "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
                for fr in scheduled:
                    _api(c, "DELETE", f"/flow_runs/{fr['id']}")

                t0 = time.monotonic()
                run = _api(c, "POST", f"/deployments/{daily['id']}/create_flow_run",
                           json={"parameters": {"as_of": AS_OF}})
                deadline = time.monotonic() + 150
                state = run["state"]
                while state["type"] not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                    assert worker.alive(), f"worker exited ({worker.p.returncode}):\n{_tail(worker_log)}"
                    assert time.monotonic() < deadline, (f"flow run still {state['type']} after 150 s\nworker log:\n"
                                                         f"{_tail(worker_log)}\nserver log:\n{_tail(server_log, 15)}")
                    time.sleep(1)
                    state = _api(c, "GET", f"/flow_runs/{run['id']}")["state"]
                timings["flow run (trigger → completed)"] = time.monotonic() - t0
                assert state["type"] == "COMPLETED", f"flow run {state['type']}: {state.get('message')}\n{_tail(worker_log)}"
        finally:
            stops = {}
            if worker is not None:
                stops["worker"] = worker.stop(signal.SIGTERM, timeout=20)  # what systemd sends
            if server is not None:
                stops["server"] = server.stop(signal.SIGTERM, timeout=20)
            timings["total"] = time.monotonic() - started
            print(f"\ntimings (s): {', '.join(f'{k} {v:.1f}' for k, v in timings.items())}; stop: {stops}; "
                  f"prefect db: {'postgresql' if prefect_db else 'sqlite'}; steer db: {dbmod.redact(steer_url).split(':')[0]}")

        # What the worker's run did, seen from outside: the receiver and the outbox.
        hits = sorted(h.path for h in http.accepted)
        assert hits == sorted(expected_paths), (f"missing {sorted(expected_paths - set(hits))}, "
                                                f"unexpected {sorted(set(hits) - expected_paths)}")
        assert len(hits) == len(set(hits)), "a recipient got more than one digest"
        assert all(h.headers.get("Idempotency-Key") for h in http.accepted)
        eng = dbmod.make_engine(steer_url)
        try:
            with Session(eng) as s:
                rows = s.execute(select(OutboxMessage.dedupe_key, OutboxMessage.status)).all()
        finally:
            eng.dispose()
        assert {k for k, _ in rows} == expected_keys
        assert {st for _, st in rows} == {"sent"}
        assert stops["worker"] == "SIGTERM → exit 0", f"the worker did not stop cleanly on SIGTERM: {stops}"
        assert stops["server"].startswith("SIGTERM"), f"the server did not stop on SIGTERM: {stops}"

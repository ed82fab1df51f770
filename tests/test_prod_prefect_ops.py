"""Operations against a real Prefect server and process workers (issue 21), one slow test
(~2–3 minutes) in the style of tests/test_prod_prefect_server.py, whose helpers it reuses.

``steer deploy --db-from-worker-env`` with a database URL that carries a password, then:

1. a worker **without** ``STEER_DATABASE_URL``, started in a directory that holds no Steer
   code: the daily run ends Failed at once (no retry), its message names the variable, no
   SQLite file appears; the failure automation makes the server POST an alert to a local
   receiver;
2. a worker with the URL while every notify target answers HTTP 500: the run is not
   Completed (Failed, "No notification was delivered"); its stored parameters and its
   logs hold no password; its log has the steps' lines; its table artifact counts the
   flips per state, the rows queued per level and one failed/pending delivery per
   recipient, equal to what the database holds; the flips' events carry the item's name
   and related plan and unit resources;
3. two runs triggered together: one is cancelled (concurrency limit 1, CANCEL_NEW).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from engine import db as dbmod
from tests.receivers import HttpReceiver, free_port
from tests.test_prod_prefect_server import (AS_OF, BIN, QUIET, Proc, _api, _load_sample, _tail, prefect_database,
                                            steer_database)

pytestmark = pytest.mark.slow

POOL = "steer-ops"
SECRET = "Pw-Secret-4711"
TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _with_password(url: str) -> str:
    """``url`` with a password (PostgreSQL trust authentication ignores it); SQLite: as is."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        return url
    return u.set(password=SECRET).render_as_string(hide_password=False)


def _wait_state(c: httpx.Client, run_id: str, worker: Proc, log: Path, timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = _api(c, "GET", f"/flow_runs/{run_id}")
        if run["state"]["type"] in TERMINAL:
            return run
        assert worker.alive(), f"worker exited ({worker.p.returncode}):\n{_tail(log)}"
        assert time.monotonic() < deadline, f"flow run still {run['state']['type']} after {timeout} s\n{_tail(log)}"
        time.sleep(1)


def _wait_worker(c: httpx.Client, name: str, worker: Proc, log: Path) -> None:
    deadline = time.monotonic() + 60
    while not [w for w in _api(c, "POST", f"/work_pools/{POOL}/workers/filter", json={})
               if w.get("status") == "ONLINE" and w.get("name") == name]:
        assert worker.alive(), f"worker exited ({worker.p.returncode}):\n{_tail(log)}"
        assert time.monotonic() < deadline, f"worker not online within 60 s:\n{_tail(log)}"
        time.sleep(0.5)


def test_failures_are_loud_secrets_stay_out_and_the_prefect_ui_shows_the_work(tmp_path):
    from engine.models import Event, OutboxMessage

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("PREFECT_") and k not in ("STEER_DATABASE_URL", "STEER_LANG")}
    base_env.update(QUIET)
    elsewhere = tmp_path / "elsewhere"  # the workers' working directory: no Steer code, no database
    elsewhere.mkdir()
    server = None
    workers: list[Proc] = []
    with prefect_database() as prefect_db, steer_database(tmp_path) as steer_url, HttpReceiver() as http, \
            HttpReceiver() as alerts:
        secret_url = _with_password(steer_url)
        server_env = dict(base_env, PREFECT_HOME=str(tmp_path / "server-home"), PREFECT_SERVER_LOGGING_LEVEL="WARNING",
                          PREFECT_UI_ENABLED="false",
                          PREFECT_API_DATABASE_CONNECTION_URL=prefect_db or f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}")
        client_env = dict(base_env, PREFECT_HOME=str(tmp_path / "client-home"), PREFECT_API_URL=api,
                          PREFECT_SERVER_EPHEMERAL_ENABLED="false")
        worker_env = dict(client_env, PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_LOGGING_LEVEL="INFO", STEER_LANG="en")
        server_log = tmp_path / "server.log"
        try:
            server = Proc("server", [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                     "--port", str(port)], server_env, server_log, tmp_path)
            _load_sample(steer_url, http)
            deadline = time.monotonic() + 120
            while True:
                assert server.alive(), f"prefect server exited:\n{_tail(server_log)}"
                try:
                    if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"prefect server not healthy within 120 s:\n{_tail(server_log)}"
                time.sleep(0.5)

            out = subprocess.run([str(BIN / "steer"), "--lang", "en", "--db", secret_url, "deploy", "--pool", POOL,
                                  "--db-from-worker-env", "--alert-url", alerts.url("/alerts"), "--format", "json"],
                                 env=client_env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
            assert out.returncode == 0, f"steer deploy failed:\n{out.stdout}\n{out.stderr}\n{_tail(server_log)}"
            assert SECRET not in out.stdout + out.stderr

            with httpx.Client(base_url=api, timeout=15) as c:
                deps = {n: _api(c, "GET", f"/deployments/name/{n}")
                        for n in ("steer-escalate/daily", "steer-dispatch/retry")}
                daily = deps["steer-escalate/daily"]
                for d in deps.values():
                    assert d["global_concurrency_limit"]["limit"] == 1
                    assert d["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
                    assert d["entrypoint"].startswith("flows.escalate.") and not d["pull_steps"]
                    assert SECRET not in json.dumps(d)
                    _api(c, "PATCH", f"/deployments/{d['id']}", json={"paused": True})
                for fr in _api(c, "POST", "/flow_runs/filter", json={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}):
                    _api(c, "DELETE", f"/flow_runs/{fr['id']}")
                names = {a["name"] for a in _api(c, "POST", "/automations/filter", json={})}
                assert {"steer: alert the secretariat when a run fails", "steer: mark runs stuck in Running as crashed"} <= names

                # 1. a worker without STEER_DATABASE_URL
                log1 = tmp_path / "worker1.log"
                w1 = Proc("w1", [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
                                 "--name", "w1"], worker_env, log1, elsewhere)
                workers.append(w1)
                _wait_worker(c, "w1", w1, log1)
                t0 = time.monotonic()
                run = _api(c, "POST", f"/deployments/{daily['id']}/create_flow_run", json={"parameters": {"as_of": AS_OF}})
                done = _wait_state(c, run["id"], w1, log1)
                took = time.monotonic() - t0
                assert done["state"]["type"] == "FAILED", done["state"]
                assert "STEER_DATABASE_URL is not set" in done["state"]["message"], done["state"]["message"]
                assert done["run_count"] == 1  # failed at once: no flow retry for a missing setting
                assert not list(elsewhere.rglob("*.db")), "a default SQLite database was created"
                deadline = time.monotonic() + 90
                while not alerts.accepted:
                    assert time.monotonic() < deadline, f"no alert from the failure automation\n{_tail(server_log)}"
                    time.sleep(1)
                alert = alerts.accepted[0].payload
                assert done["name"] in alert["title"] and "Failed" in alert["title"], alert
                assert "STEER_DATABASE_URL" in alert["message"], alert
                print(f"\nmissing setting: Failed after {took:.1f} s; alert: {alert['title']}")
                w1.stop(signal.SIGTERM)

                # 2. the URL from the worker's environment; every target answers 500
                http.status = 500
                log2 = tmp_path / "worker2.log"
                w2 = Proc("w2", [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
                                 "--name", "w2"], dict(worker_env, STEER_DATABASE_URL=secret_url), log2, elsewhere)
                workers.append(w2)
                _wait_worker(c, "w2", w2, log2)
                run = _api(c, "POST", f"/deployments/{daily['id']}/create_flow_run", json={"parameters": {"as_of": AS_OF}})
                done = _wait_state(c, run["id"], w2, log2)
                assert done["state"]["type"] == "FAILED", (done["state"], _tail(log2))
                assert "No notification was delivered" in done["state"]["message"], done["state"]["message"]
                assert done["run_count"] == 1
                assert SECRET not in json.dumps(done["parameters"]) and SECRET not in json.dumps(done)
                deadline = time.monotonic() + 30
                while True:  # the run's logs reach the server in batches, a little after its end
                    logs = _api(c, "POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run["id"]]}},
                                                                  "limit": 200})
                    text = "\n".join(x["message"] for x in logs)
                    if "delivery batch" in text or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                assert SECRET not in text
                assert "Tracked 2025-08-01:" in text and "Queued " in text and "delivery batch" in text, text[:2000]

                # the table artifact against the database
                arts = _api(c, "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
                tables = [a for a in arts if a["type"] == "table" and a["key"] == "steer-escalation"]
                assert len(tables) == 1, arts
                rows = json.loads(tables[0]["data"]) if isinstance(tables[0]["data"], str) else tables[0]["data"]
                by_part: dict[str, dict[str, dict]] = {}
                for r in rows:
                    by_part.setdefault(r["Part"], {})[r["Name"]] = r
                eng = dbmod.make_engine(steer_url)
                try:
                    with Session(eng) as s:
                        flips = s.execute(select(func.count()).select_from(Event).where(Event.kind == "timeliness")).scalar()
                        per_level = dict(s.execute(select(OutboxMessage.level, func.count())
                                                   .where(OutboxMessage.level != "delivery_failed")
                                                   .group_by(OutboxMessage.level)).all())
                        recipients = {r for (r,) in s.execute(select(OutboxMessage.recipient).distinct())}
                finally:
                    eng.dispose()
                assert sum(r["Count"] for r in by_part["Timeliness changes"].values()) == flips > 0
                assert {k: r["Count"] for k, r in by_part["Queued per level"].items()} == per_level
                delivery = by_part["Delivery per recipient"]
                assert len(delivery) == len(recipients) and all(r["Sent"] == 0 for r in delivery.values())
                assert all(r["Failed"] + r["Retry pending"] == r["Count"] == 1 for r in delivery.values())

                # events: named after the item, related plan and unit
                page = _api(c, "POST", "/events/filter", json={"filter": {"event": {"prefix": ["steer.item."]}}, "limit": 50})
                ev = page["events"][0]
                assert "@" in ev["resource"]["prefect.resource.name"], ev["resource"]
                roles = {r["prefect.resource.role"] for r in ev["related"]}
                assert {"plan", "unit"} <= roles and all(r.get("prefect.resource.name") for r in ev["related"]
                                                          if r["prefect.resource.role"] in ("plan", "unit"))

                # the CLI against the server with a password in --db: the URL is not a parameter
                cli = subprocess.run([str(BIN / "steer"), "--lang", "en", "--db", secret_url, "escalate", "--as-of",
                                      AS_OF, "--no-dispatch"], env=client_env, cwd=elsewhere, capture_output=True,
                                     text=True, timeout=180)
                assert cli.returncode == 0 and "Traceback" not in cli.stderr, cli.stdout + cli.stderr
                [mine] = _api(c, "POST", "/flow_runs/filter", json={
                    "flow_runs": {"deployment_id": {"is_null_": True}}, "sort": "START_TIME_DESC", "limit": 1})
                assert mine["parameters"].get("db_url") is None and SECRET not in json.dumps(mine), mine["parameters"]
                assert mine["state"]["type"] == "COMPLETED"

                # steer doctor reports each deployment's last run
                doc = subprocess.run([str(BIN / "steer"), "--lang", "en", "--db", secret_url, "doctor", "--format",
                                      "json", "--timeout", "3"], env=client_env, cwd=tmp_path, capture_output=True,
                                     text=True, timeout=180)
                rows = {ch["name"]: ch for ch in json.loads(doc.stdout)["checks"]}
                last = rows["Deployment steer-escalate/daily"]
                assert last["status"] == "FAIL" and "last run Failed" in last["detail"], last  # (and paused here)
                assert "no run yet" in rows["Deployment steer-dispatch/retry"]["detail"]

                # 3. a second trigger while one runs is cancelled
                http.status = 200
                pair = [_api(c, "POST", f"/deployments/{daily['id']}/create_flow_run",
                             json={"parameters": {"as_of": AS_OF}})["id"] for _ in range(2)]
                states = sorted(_wait_state(c, rid, w2, log2)["state"]["type"] for rid in pair)
                assert states.count("CANCELLED") == 1, states
                print(f"two triggers: {states}")
        finally:
            stops = [w.stop(signal.SIGTERM, timeout=20) for w in workers]
            if server is not None:
                stops.append(server.stop(signal.SIGTERM, timeout=20))
            print(f"stops: {stops}; alerts: {len(alerts.requests)}; receiver: {Counter(h.status for h in http.requests)}")

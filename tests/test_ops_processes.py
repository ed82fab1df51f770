"""The embedded default and ``steer serve`` as processes (issue 21), marked slow:

* ``steer escalate`` on a fresh ``PREFECT_HOME`` (no ``PREFECT_API_URL``: Prefect's
  temporary server has to start from nothing) works the first time: exit 0, no traceback;
* ``steer serve`` stops its Prefect server on SIGTERM (what systemd and docker send) as on
  Ctrl-C: no process left, the port free, and a second start works.

Each prints its figures (seconds, memory) for the notes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from engine import db as dbmod
from tests.factories import seed
from tests.receivers import free_port

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k not in ("STEER_DATABASE_URL",)}
    env.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1", STEER_LANG="en")
    env.update(extra)
    return env


def _database(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'steer.db'}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng)
    seed(eng, tasks=[{"code": "1", "lead": ["SNV"], "deadline": date(2025, 5, 30)},
                     {"code": "2", "lead": ["STC"], "deadline": date(2025, 6, 3)}])
    eng.dispose()
    return url


def test_the_first_escalate_on_a_fresh_prefect_home_works(tmp_path):
    url = _database(tmp_path)
    home = tmp_path / "fresh-prefect-home"
    t0 = time.monotonic()
    r = subprocess.run([str(BIN / "steer"), "--lang", "en", "--db", url, "escalate", "--as-of", "2025-06-04",
                        "--no-dispatch"], env=_env(tmp_path, PREFECT_HOME=str(home)), cwd=tmp_path,
                       capture_output=True, text=True, timeout=400)
    took = time.monotonic() - t0
    print(f"\nfirst steer escalate on a fresh PREFECT_HOME: {took:.1f} s, exit {r.returncode}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    assert "2 timeliness change" in r.stdout and "starting a temporary Prefect server" in r.stderr, r.stdout + r.stderr


def _rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (kB)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo += [int(c) for c in children]
        except (OSError, StopIteration):
            continue
    return total


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _serve_once(url: str, data: Path, port: int, log: Path, sig: int, tmp: Path) -> dict[str, float]:
    """Start ``steer serve``, wait until it serves, measure, send ``sig``; check it cleaned up."""
    t0 = time.monotonic()
    with open(log, "w") as fh:
        p = subprocess.Popen([str(BIN / "steer"), "--lang", "en", "--db", url, "serve", "--data-dir", str(data),
                              "--port", str(port)], env=_env(tmp), cwd=tmp, stdout=fh, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while "Serving:" not in log.read_text():
            assert p.poll() is None, f"steer serve exited {p.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"steer serve not serving within 240 s:\n{log.read_text()}"
            time.sleep(0.5)
        started = time.monotonic() - t0
        server_pid = int((data / "prefect" / "server.pid").read_text())
        assert _alive(server_pid)
        import httpx  # the database URL reaches the runs through the environment, never a parameter

        for name in ("steer-escalate/daily", "steer-dispatch/retry", "monthly-report/monthly-report"):
            deadline = time.monotonic() + 90  # "Serving:" comes just before the runner registers them
            while (r := httpx.get(f"http://127.0.0.1:{port}/api/deployments/name/{name}", timeout=10)).status_code != 200:
                assert time.monotonic() < deadline, f"{name} not registered by steer serve: {r.status_code}"
                time.sleep(1)
            dep = r.json()
            assert not dep["parameters"].get("db_url") and "steer.db" not in str(dep), dep["parameters"]
        time.sleep(10)  # idle
        rss = _rss_kb(p.pid) / 1024  # the server is a child of steer serve: counted once
        os.kill(p.pid, sig)
        p.wait(timeout=90)
    finally:
        if p.poll() is None:  # pragma: no cover - only when an assertion failed above
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "Stopped." in text, text
    deadline = time.monotonic() + 10
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(server_pid), f"the Prefect server (pid {server_pid}) outlived steer serve"
    assert _port_free(port), f"port {port} still taken"
    assert not (data / "prefect" / "server.pid").exists()
    return {"start_s": started, "idle_rss_mb": rss}


def test_serve_stops_its_prefect_server_on_sigterm_as_on_ctrl_c_and_starts_again(tmp_path):
    url = _database(tmp_path)
    port = free_port()
    data = tmp_path / ".steer"
    first = _serve_once(url, data, port, tmp_path / "serve1.log", signal.SIGTERM, tmp_path)
    second = _serve_once(url, data, port, tmp_path / "serve2.log", signal.SIGINT, tmp_path)
    print(f"\nsteer serve: SIGTERM run {first}, restart + SIGINT run {second}")

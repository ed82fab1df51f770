"""``steer serve``: run Steer's schedules on one machine.

Prefect's temporary (ephemeral) server never runs the scheduler, so unless
``PREFECT_API_URL`` names a server, ``serve`` starts a local ``prefect server start``
subprocess (SQLite under ``<data dir>/prefect``, log in ``<data dir>/prefect/server.log``),
waits until it is healthy, then serves the deployments in this process:

* ``steer-escalate/daily``  — track → detect → dispatch, cron ``0 8 * * 1-5`` in the
  committee's timezone;
* ``steer-dispatch/retry``  — deliver due notifications every 10 minutes (retries);
* the report deployments of ``flows/report.py`` when that module exists (its
  ``deployments(db_url=…, tz=…)`` if it defines one, else ``monthly_report`` on the 1st
  and ``quarterly_report`` on the 1st of each quarter at 07:00).

Ctrl-C (SIGINT) and SIGTERM (what systemd and docker send) are handled alike, at any
moment — while the server starts, while deployments register, while serving: the runner
stops, then the server (SIGTERM to its process group, SIGKILL after 15 s), without
tracebacks, and the port is free again. The server's pid is kept in
``<data dir>/prefect/server.pid``: a server left behind by a ``steer serve`` that was
killed outright (SIGKILL) is stopped by the next start instead of blocking its port.

Secrets: the database URL reaches the flow runs through ``STEER_DATABASE_URL`` in this
process's environment (inherited by each run's process), never as a deployment
parameter; the policy travels by value. Prefect's INFO logging stays on, so every run's
steps are in its log in the Prefect UI.
"""

from __future__ import annotations

import importlib
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.i18n import tr
from flows.settings import QUIET_ENV, configure

PID_FILE = "server.pid"


class ServeError(Exception):
    """The local Prefect server could not be started (message for a person)."""


@dataclass
class LocalServer:
    process: subprocess.Popen[bytes]
    api_url: str
    log_path: Path

    def stop(self, timeout: float = 15.0) -> None:
        try:
            if self.process.poll() is not None:
                return
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:  # pragma: no cover - already gone
                return
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        finally:
            (self.log_path.parent / PID_FILE).unlink(missing_ok=True)


def _stop_leftover(home: Path) -> None:
    """Stop a server a previous ``steer serve`` on this data dir left running (it was
    killed outright): its pid is in ``server.pid`` and its command line is ours."""
    pid_file = home / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return
    if b"server" not in cmdline or not any(b"prefect" in part for part in cmdline):
        pid_file.unlink(missing_ok=True)
        return
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(150):
            time.sleep(0.1)
            os.killpg(pid, 0)
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    pid_file.unlink(missing_ok=True)


def start_server(home: Path, *, port: int = 4200, timeout: float = 120.0, wait: bool = True) -> LocalServer:
    """``prefect server start`` on 127.0.0.1:``port`` with its SQLite database in ``home``."""
    import httpx

    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    configure(env)
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_HOME"] = str(home)
    env.setdefault("PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{home / 'prefect.db'}")
    log_path = home / "server.log"
    api = f"http://127.0.0.1:{port}/api"
    _stop_leftover(home)
    try:
        if httpx.get(f"{api}/health", timeout=1.0).status_code == 200:
            raise ServeError(f"a server already answers on 127.0.0.1:{port}; set PREFECT_API_URL={api} to use it, "
                             "or choose another --port")
    except httpx.HTTPError:
        pass
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    (home / PID_FILE).write_text(str(proc.pid))
    server = LocalServer(proc, api, log_path)
    if not wait:
        return server
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: LocalServer, timeout: float) -> None:
    import httpx

    proc, api, log_path = server.process, server.api_url, server.log_path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
            raise ServeError("the Prefect server stopped while starting:\n  " + "\n  ".join(tail))
        try:
            if httpx.get(f"{api}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServeError(f"the Prefect server did not answer within {timeout:.0f} s (see {log_path})")


def report_deployments(db_url: str | None, tz: str) -> list[Any]:
    """Deployments of ``flows/report.py`` if another module provides it (else none)."""
    try:
        mod = importlib.import_module("flows.report")
    except ModuleNotFoundError as exc:
        if exc.name in ("flows.report",):
            return []
        raise
    if callable(getattr(mod, "deployments", None)):
        fn = mod.deployments
        kwargs = {k: v for k, v in {"db_url": db_url, "tz": tz}.items() if k in inspect.signature(fn).parameters}
        return list(fn(**kwargs))
    from prefect.schedules import Cron

    out = []
    for name, cron in (("monthly_report", "0 7 1 * *"), ("quarterly_report", "0 7 1 1,4,7,10 *")):
        fl = getattr(mod, name, None)
        if fl is None or not hasattr(fl, "to_deployment"):
            continue
        params = {"db_url": db_url} if "db_url" in inspect.signature(fl.fn).parameters else {}
        out.append(fl.to_deployment(name="scheduled", schedules=[Cron(cron, timezone=tz)], parameters=params))
    return out


def serve(*, db_url: str | None = None, data_dir: Path = Path(".steer"), port: int = 4200,
          policy: str | None = None, say: Callable[[str], None] = print, lang: str = "vi") -> None:
    """Start (or use) a Prefect server and serve the deployments until Ctrl-C or SIGTERM."""
    configure(logs=True)
    previous_term = _on_sigterm_interrupt()
    server: LocalServer | None = None
    try:
        from engine.db import database_url, make_engine, redact, transaction
        from engine.escalation import committee
        from flows.runtime import DB_ENV

        url = database_url(db_url)
        os.environ[DB_ENV] = url  # inherited by every flow run's process; never a parameter
        policy_value = _policy_value(policy, lang)
        if not os.environ.get("PREFECT_API_URL"):
            home = (data_dir / "prefect").resolve()
            say(tr(lang, "flow.starting_local_prefect_server_data", home=home))
            os.environ.setdefault("PREFECT_HOME", str(home))
            server = start_server(home, port=port, wait=False)
            os.environ["PREFECT_API_URL"] = server.api_url
        eng = make_engine(url)
        try:
            with transaction(eng) as s:
                tz = committee(s)[0]
        finally:
            eng.dispose()
        # meanwhile the server starts: import prefect and build the deployments (no API call)
        from prefect import serve as prefect_serve

        from flows.escalate import deployments

        deps = deployments(None, tz=tz, policy=policy_value) + report_deployments(None, tz)
        if server is not None:
            _wait_healthy(server, 120.0)
            say(tr(lang, "flow.prefect_server", url=server.api_url.removesuffix('/api')))
        names = ", ".join(f"{d.flow_name}/{d.name}" for d in deps)
        say(tr(lang, "flow.serving_database", db=redact(url)))
        say(tr(lang, "flow.serving_timezone_press_ctrl_c", names=names, tz=tz))
        try:
            prefect_serve(*deps, print_starting_message=False, pause_on_shutdown=False)
        except (KeyboardInterrupt, SystemExit):
            pass
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        # A second Ctrl-C/SIGTERM (or the one `uv run` forwards) must not abandon the server half-stopped.
        previous = _ignore_sigint()
        if previous is not None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if server is not None:
                say(tr(lang, "flow.stopping_prefect_server"))
                server.stop()
            say(tr(lang, "flow.stopped"))
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
                signal.signal(signal.SIGTERM, previous_term or signal.SIG_DFL)


def _policy_value(policy: str | None, lang: str) -> dict[str, Any] | None:
    """The policy file's mapping, checked (it travels by value in the deployments)."""
    if not policy:
        return None
    from engine.policy import parse_policy, read_policy_file

    data = read_policy_file(policy, lang=lang)
    parse_policy(data, source=str(policy), lang=lang)
    return data


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C."""


def _on_sigterm_interrupt() -> Any:
    """SIGTERM raises like Ctrl-C (until prefect's runner installs its own graceful handler,
    which ends ``serve`` normally): the ``finally`` that stops the server always runs."""
    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def _ignore_sigint() -> Any:
    try:
        return signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        return None


__all__ = ["QUIET_ENV", "LocalServer", "ServeError", "report_deployments", "serve", "start_server"]

"""``steer task …`` handed to a running server (cli/launch.py + web/localapi.py).

The client is the real console script in a subprocess; the server is uvicorn in a thread
serving the web app (whose JSON API takes the launcher's actions) on a loopback port. The hand-over must give the same output and
the same single audit event as running in-process, and fall back to in-process whenever the
server cannot take the command — never running an action twice.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import stat
import subprocess
import tempfile
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import func, select

from cli import launch
from engine import db as dbmod
from engine.db import make_engine, transaction
from engine.models import Event
from tests.factories import seed_url
from web import serverfile as cli_bridge  # the server-file side of the hand-over
from web.app import create_app

REPO = Path(__file__).resolve().parent.parent
STEER = str(Path(sys.executable).with_name("steer"))
TASKS = [
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30), "title": "Xây dựng kế hoạch chuyển đổi số"},
    {"code": "2", "lead": ["SKHCN"], "deadline": date(2025, 6, 25), "title": "Rà soát thủ tục"},
    {"code": "3", "lead": ["SNV"], "deadline": date(2025, 6, 28)},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn in a thread serving the web app with the launcher's endpoint; counts the commands it ran."""

    def __init__(self, db_url: str, *, token: str | None = None) -> None:
        self.db_url = db_url
        self.token = token or secrets.token_urlsafe(16)
        self.port = _free_port()
        self.calls = 0
        app = create_app(db_url, secret_key="k" * 32, upload_dir=tempfile.mkdtemp(prefix="steer-bridge-"),
                         local_token=self.token)

        @app.middleware("http")
        async def count(request, call_next):  # type: ignore[no-untyped-def]
            if request.url.path.startswith("/api/v1/local/"):
                self.calls += 1
            return await call_next(request)

        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "bridge server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.db.write.dispose()
        self.app.state.db.read.dispose()


@pytest.fixture
def db(db_url, tmp_path_factory, tmp_path, monkeypatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    monkeypatch.setenv("STEER_RUNTIME_DIR", str(tmp_path / "run"))  # server files of non-SQLite URLs
    yield db_url


def events(url: str, kind: str | None = None) -> int:
    eng = make_engine(url)
    try:
        with transaction(eng) as s:
            q = select(func.count()).select_from(Event)
            if kind:
                q = q.where(Event.kind == kind)
            return s.scalar(q) or 0
    finally:
        eng.dispose()


def steer(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("STEER_NOW", "STEER_NO_SERVER", "STEER_LANG")}
    e.update(env)
    return subprocess.run([STEER, "--db", url, *args], cwd=REPO, capture_output=True, text=True, env=e, timeout=120)


def test_note_is_run_by_the_server_with_the_same_output_and_one_event(db):
    before = events(db, "note")
    local = steer(db, "task", "note", "KH-TEST/1", "--as", "skhcn_focal", "--note", "Bước 1", "--percent", "10",
                  STEER_NO_SERVER="1")
    assert local.returncode == 0, local.stderr
    with Server(db) as srv:
        cli_bridge.write_server_file(db, "127.0.0.1", srv.port, srv.token)
        try:
            remote = steer(db, "task", "note", "KH-TEST/1", "--as", "skhcn_focal", "--note", "Bước 2", "--percent", "20")
        finally:
            cli_bridge.remove_server_file(db, srv.token)
    assert srv.calls == 1
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.strip() and re.sub(r"\d+", "N", remote.stdout) == re.sub(r"\d+", "N", local.stdout)
    assert events(db, "note") == before + 2


def test_user_mistakes_come_back_as_one_message_and_exit_1(db):
    with Server(db) as srv:
        cli_bridge.write_server_file(db, "127.0.0.1", srv.port, srv.token)
        try:
            r = steer(db, "task", "note", "KH-TEST/3", "--as", "skhcn_focal", "--note", "x")  # another unit's item
            r2 = steer(db, "task", "note", "KH-TEST/1", "--as", "nobody", "--note", "x", STEER_LANG="en")
        finally:
            cli_bridge.remove_server_file(db, srv.token)
    assert srv.calls == 2
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.strip()
    assert r2.returncode == 1 and "Person «nobody» is unknown" in r2.stderr


def test_the_server_file_is_private_and_removed_on_exit(db):
    with Server(db) as srv:
        path = cli_bridge.write_server_file(db, "127.0.0.1", srv.port, srv.token)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        cli_bridge.remove_server_file(db, "someone-else")  # not ours: stays
        assert os.path.exists(path)
        cli_bridge.remove_server_file(db, srv.token)
        assert not os.path.exists(path)


def test_a_stale_server_file_falls_back_to_running_in_process(db):
    cli_bridge.write_server_file(db, "127.0.0.1", _free_port(), "stale")  # nobody listens there
    try:
        before = events(db, "note")
        r = steer(db, "task", "note", "KH-TEST/2", "--as", "skhcn_focal", "--note", "vẫn ghi được")
    finally:
        cli_bridge.remove_server_file(db, "stale")
    assert r.returncode == 0, r.stderr
    assert events(db, "note") == before + 1


def test_a_wrong_token_or_another_database_is_refused_and_the_client_runs_in_process(db, tmp_path):
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with Server(other) as srv_other, Server(db) as srv:
        cli_bridge.write_server_file(db, "127.0.0.1", srv_other.port, srv_other.token)  # serves another DB
        try:
            before = events(db, "note")
            r = steer(db, "task", "note", "KH-TEST/2", "--as", "skhcn_focal", "--note", "a")
            cli_bridge.write_server_file(db, "127.0.0.1", srv.port, "wrong-token")
            r2 = steer(db, "task", "note", "KH-TEST/2", "--as", "skhcn_focal", "--note", "b")
        finally:
            cli_bridge.remove_server_file(db, "wrong-token")
    assert (srv_other.calls, srv.calls) == (1, 1)  # asked, refused
    assert r.returncode == 0 and r2.returncode == 0, (r.stderr, r2.stderr)
    assert events(db, "note") == before + 2  # each done once, in-process


def test_only_task_actions_are_handed_over():
    assert launch._split(["--db", "x", "task", "note", "A", "--as", "p"]) == ("x", None, ["task", "note", "A", "--as", "p"])
    assert launch._split(["--lang=en", "task", "verify", "A"]) == (None, "en", ["task", "verify", "A"])
    assert launch._split(["task", "list", "--as", "p"]) is None  # not a served command
    assert launch._split(["plan", "load", "f.xlsx"]) is None
    assert launch._split(["task", "note", "--help"]) is None
    assert launch._split(["--verbose", "task", "note"]) is None  # unknown global option: let the full CLI decide


def test_the_clock_pin_keeps_the_command_in_process(db, monkeypatch):
    monkeypatch.setenv("STEER_NOW", "2025-06-01T08:00:00+07:00")
    assert launch.try_server(["--db", db, "task", "note", "KH-TEST/1", "--as", "skhcn_focal", "--note", "x"]) is None


def test_client_and_engine_agree_on_the_default_database():
    assert launch.DEFAULT_URL == dbmod.DEFAULT_URL
    assert launch.normalize_url("postgres://u@h/d") == dbmod.normalize_url("postgres://u@h/d")


def test_the_client_imports_only_the_standard_library():
    code = "import sys, cli.launch; print(sorted(m.split('.')[0] for m in sys.modules))"
    mods = set(eval(subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                                   check=True).stdout))
    assert not mods & {"sqlalchemy", "typer", "rich", "engine", "prefect", "apprise", "pydantic"}


def test_the_launcher_the_local_api_and_the_typer_commands_know_the_same_options():
    """cli/launch.py (stdlib only) and engine.commands.CLI_TASK_COMMANDS each spell out the
    options of the served ``steer task`` commands; both must match the Typer commands."""
    import typer.main

    from cli.main import app
    from engine.commands import CLI_TASK_COMMANDS

    task = typer.main.get_command(app).commands["task"]  # type: ignore[attr-defined]
    not_served = {"--now", "--evidence-file"}  # the clock and local files stay with the full CLI
    assert set(launch.COMMAND_OPTIONS) == set(CLI_TASK_COMMANDS)
    for name, (required, optional) in launch.COMMAND_OPTIONS.items():
        params = {o: p for p in task.commands[name].params for o in p.opts if o.startswith("--")}
        assert set(params) - not_served == {"--as", *required, *optional}, name
        assert {o[2:] for o in (*required, *optional)} == set(CLI_TASK_COMMANDS[name][1]), name
        # the launcher may demand more than Typer (submit without --evidence needs a file: in-process)
        assert {o for o, p in params.items() if p.required} - {"--as"} <= set(required), name

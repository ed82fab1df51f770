"""Finding 8: the per-IP login limit was bypassed with ``X-Forwarded-For`` from loopback
(``steer web`` ran uvicorn with proxy headers on, and uvicorn believes them from 127.0.0.1
by default). Proxy headers are now believed only from ``--forwarded-allow-ips`` (default:
none). The app is wrapped exactly as uvicorn wraps it with the options ``steer web`` gives."""

from __future__ import annotations

import os
import signal

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from tests.web_helpers import csrf_of, running_world


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


def _steer_web_options(url: str, tmp_path, monkeypatch, *extra: str) -> dict:  # type: ignore[no-untyped-def]
    """The keyword arguments ``steer web`` passes to ``uvicorn.run`` (which is not started)."""
    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    saved_env, saved_term = dict(os.environ), signal.getsignal(signal.SIGTERM)
    try:
        r = CliRunner().invoke(cli_app, ["--db", url, "web", "--no-cli-bridge", "--upload-dir", str(tmp_path / "up"),
                                         *extra], catch_exceptions=False)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        signal.signal(signal.SIGTERM, saved_term)
    assert r.exit_code == 0, r.output
    return seen


def _as_uvicorn_serves(app, options: dict):  # type: ignore[no-untyped-def]
    config = uvicorn.Config(app, log_config=None, proxy_headers=options["proxy_headers"],
                            forwarded_allow_ips=options.get("forwarded_allow_ips"))
    config.load()
    return config.loaded_app


def _failed_logins_from_loopback(asgi, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``n`` wrong passwords, each for another user name and with another forged X-Forwarded-For."""
    c = TestClient(asgi, follow_redirects=False, client=("127.0.0.1", 40000))
    tok = csrf_of(c.get("/login").text)
    return [c.post("/login", data={"username": f"u{i}", "password": "bad-password", "csrf_token": tok},
                   headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}).status_code for i in range(n)]


def test_forged_forwarded_for_from_loopback_does_not_escape_the_per_address_limit(world, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    options = _steer_web_options(world.url, tmp_path, monkeypatch)
    codes = _failed_logins_from_loopback(_as_uvicorn_serves(world.app, options), 21)
    assert codes[:20] == [401] * 20 and codes[20] == 429  # all counted against 127.0.0.1


def test_a_configured_proxy_is_believed(world, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    options = _steer_web_options(world.url, tmp_path, monkeypatch, "--forwarded-allow-ips", "127.0.0.1")
    assert options["proxy_headers"] is True and options["forwarded_allow_ips"] == "127.0.0.1"
    codes = _failed_logins_from_loopback(_as_uvicorn_serves(world.app, options), 21)
    assert codes == [401] * 21  # each forwarded client address has its own count

"""Finding 7: logout did not end the session: a cookie saved before ``POST /logout`` still
worked until its 8 h max age. A session now remembers the account's session version, and
a logout bumps it on the server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web_helpers import login, running_world


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


def _with_cookie(app, value: str) -> TestClient:  # type: ignore[no-untyped-def]
    c = TestClient(app, follow_redirects=False)
    c.cookies.set("steer_session", value)
    return c


def test_a_cookie_saved_before_logout_no_longer_works(world):  # type: ignore[no-untyped-def]
    client, csrf = login(world.app, "chair")
    assert client.get("/items").status_code == 200
    saved = client.cookies.get("steer_session")
    assert saved and _with_cookie(world.app, saved).get("/items").status_code == 200  # a copy works
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/items").status_code == 303
    replay = _with_cookie(world.app, saved)
    r = replay.get("/items")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert replay.get("/api/v1/me").status_code == 401  # no way in through the API either


def test_logging_in_again_after_logout_works_and_a_stale_cookie_cannot_end_it(world):  # type: ignore[no-untyped-def]
    other, _ = login(world.app, "secretariat")
    client, csrf = login(world.app, "chair")
    saved = client.cookies.get("steer_session")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert other.get("/items").status_code == 200  # another person's session is not ended
    again, _ = login(world.app, "chair")
    assert again.get("/items").status_code == 200
    # the saved (now void) cookie, with its own CSRF token, cannot log the new session out
    stale = _with_cookie(world.app, saved)
    assert stale.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert again.get("/items").status_code == 200

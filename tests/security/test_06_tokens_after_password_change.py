"""Finding 6: API tokens survived a password change. A new password (``steer user passwd``)
revokes every API token of the person, as it ends their web sessions; tokens issued
afterwards work, and other people's tokens are untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli_app
from engine import accounts
from engine.db import make_engine, transaction
from tests.web_helpers import NOW, running_world


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


def _me(app, token: str) -> int:  # type: ignore[no-untyped-def]
    return TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_password_change_in_the_engine_revokes_the_persons_tokens(world):  # type: ignore[no-untyped-def]
    old = world.tokens["skhcn_focal"]
    assert _me(world.app, old) == 200
    eng = make_engine(world.url)
    with transaction(eng) as s:
        accounts.set_password(s, "skhcn_focal", "mot-mat-khau-moi", now=NOW + timedelta(seconds=1))
    assert _me(world.app, old) == 401
    assert _me(world.app, world.tokens["chair"]) == 200  # someone else's token is untouched
    with transaction(eng) as s:
        new = accounts.issue_api_token(s, "skhcn_focal", now=NOW + timedelta(seconds=2))
    eng.dispose()
    assert _me(world.app, new) == 200


def test_steer_user_passwd_revokes_the_tokens(world):  # type: ignore[no-untyped-def]
    old = world.tokens["secretariat"]
    r = CliRunner().invoke(cli_app, ["--db", world.url, "user", "passwd", "secretariat", "--password-stdin"],
                           input="mot-mat-khau-moi\n", catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert _me(world.app, old) == 401

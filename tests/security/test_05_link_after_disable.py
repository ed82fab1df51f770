"""Finding 5: a one-click link still acted after ``steer user disable`` (the event's actor
was the disabled user). A link acts only as a person who is active and whose login, if
any, is not disabled — checked on every use, so a scope opened before the disable ends too."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from engine.links import make_token
from tests.web_helpers import NOW, SECRET, anon, fresh_item, running_world, snapshot


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


def _tok(purpose: str, iid: int, **kw):  # type: ignore[no-untyped-def]
    return make_token(SECRET, purpose=purpose, item_id=iid, unit_code="SKHCN", expires=NOW + timedelta(days=14), **kw)


def _disable(url: str, person: str) -> None:
    r = CliRunner().invoke(cli_app, ["--db", url, "user", "disable", person], catch_exceptions=False)
    assert r.exit_code == 0, r.output


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("recipient", ["skhcn_focal", None], ids=["named_recipient", "unit_focal_point"])
def test_links_of_a_disabled_user_do_nothing(world, recipient):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")  # overdue: an ack link applies
    open_tok, ack_tok = _tok("open", iid, recipient=recipient), _tok("ack", iid, recipient=recipient)
    # before: both links work (GETs change nothing)
    c, _ = anon(world.app)
    assert c.get(f"/l/{open_tok}").status_code == 303
    _disable(world.url, "skhcn_focal")
    before = snapshot(world.url)
    c, _ = anon(world.app)
    r = c.get(f"/l/{open_tok}")
    assert r.status_code == 400 and 'data-reason="invalid"' in r.text
    assert c.get(f"/items/{iid}").status_code == 303  # no scope granted
    page = c.get(f"/l/{ack_tok}")
    assert page.status_code == 400
    csrf = _csrf(c.get("/login").text)
    r = c.post(f"/l/{ack_tok}", data={"csrf_token": csrf, "note": "đã nhận"})
    assert r.status_code == 400
    assert snapshot(world.url) == before  # no acknowledgement, no event in the disabled user's name


def test_a_link_scope_opened_before_the_disable_ends_with_it(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "not_started")
    c, _ = anon(world.app)
    assert c.get(f"/l/{_tok('open', iid, recipient='skhcn_focal')}").status_code == 303
    page = c.get(f"/items/{iid}")
    assert page.status_code == 200 and 'data-testid="link-scope"' in page.text
    csrf = _csrf(page.text)
    _disable(world.url, "skhcn_focal")
    before = snapshot(world.url)
    r = c.post(f"/items/{iid}/start", data={"csrf_token": csrf})
    assert r.status_code in (303, 401, 403) and snapshot(world.url) == before
    if r.status_code == 303:
        assert r.headers["location"].startswith("/login")
    assert c.get(f"/items/{iid}").status_code == 303  # back to the login page

"""engine.accounts (logins, rate limiting, API tokens, calendar secrets), engine.links
(signed one-click links) and the `steer user …` / `steer web` commands."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from engine import accounts, links
from engine.db import make_engine, transaction
from engine.errors import UserError
from engine.models import Account, ApiToken, Event, IcalFeed, LoginAttempt, Person
from tests.factories import make_directory
from tests.web_helpers import NOW, fast_hasher


@pytest.fixture
def eng(db_url, monkeypatch):  # type: ignore[no-untyped-def]
    fast_hasher(monkeypatch)
    e = make_engine(db_url)
    with transaction(e) as s:
        make_directory(s, now=NOW)
    yield e
    e.dispose()


def test_password_is_an_argon2_hash_and_checks(eng):  # type: ignore[no-untyped-def]
    with transaction(eng) as s:
        accounts.set_password(s, "skhcn_focal", "mot-mat-khau", now=NOW)
    with transaction(eng) as s:
        acc = s.get(Account, "skhcn_focal")
        assert acc.password_hash.startswith("$argon2id$") and "mot-mat-khau" not in acc.password_hash
        assert accounts.check_login(s, "skhcn_focal", "mot-mat-khau", now=NOW).ok
        assert accounts.check_login(s, "skhcn_focal", "sai", now=NOW).status == "bad"
        assert accounts.check_login(s, "nobody", "mot-mat-khau", now=NOW).status == "bad"
        kinds = s.execute(select(Event.kind, Event.note).where(Event.kind == "account")).all()
        assert [k for k, _ in kinds] == ["account"] and "mot-mat-khau" not in str(kinds)


@pytest.mark.parametrize("kwargs,needle", [
    ({"password": "short"}, "ít nhất 8"),
    ({"password": "long-enough", "person_id": "newbie"}, "--name"),
    ({"password": "long-enough", "person_id": "newbie", "name": "A", "role": "boss"}, "Vai trò"),
    ({"password": "long-enough", "person_id": "newbie", "name": "A", "role": "focal_point"}, "--unit"),
    ({"password": "long-enough", "person_id": "newbie", "name": "A", "role": "focal_point", "unit": "XYZ"}, "XYZ"),
    ({"password": "long-enough", "role": "chair"}, "vai trò"),
    ({"password": "long-enough", "person_id": "bad id"}, "không hợp lệ"),
])
def test_add_user_mistakes_are_one_clear_message_and_write_nothing(eng, kwargs, needle):  # type: ignore[no-untyped-def]
    kwargs = dict(kwargs)  # parameters are shared between backends: do not mutate
    pid = kwargs.pop("person_id", "skhcn_focal")
    with pytest.raises(UserError, match=needle):
        with transaction(eng) as s:
            accounts.add_user(s, pid, now=NOW, **kwargs)
    with transaction(eng) as s:
        assert s.execute(select(func.count()).select_from(Account)).scalar_one() == 0
        assert s.get(Person, "newbie") is None


def test_add_user_creates_a_new_person_with_role_and_unit(eng):  # type: ignore[no-untyped-def]
    from engine.actors import load_actor

    with transaction(eng) as s:
        accounts.add_user(s, "stc_focal2", password="long-enough", now=NOW, name="Lê Văn B", role="focal_point", unit="STC")
    with transaction(eng) as s:
        a = load_actor(s, "stc_focal2")
        assert (a.role, a.unit_code, a.name) == ("focal_point", "STC", "Lê Văn B")
        assert accounts.check_login(s, "stc_focal2", "long-enough", now=NOW).ok


def test_rate_limit_counts_failures_in_the_window(eng):  # type: ignore[no-untyped-def]
    with transaction(eng) as s:
        accounts.set_password(s, "chair", "dung-mat-khau", now=NOW)
    for i in range(3):
        with transaction(eng) as s:
            assert accounts.check_login(s, "chair", "x", now=NOW + timedelta(seconds=i), limit=3).status == "bad"
    with transaction(eng) as s:
        r = accounts.check_login(s, "chair", "dung-mat-khau", now=NOW + timedelta(seconds=10), limit=3, window=60)
        assert r.status == "limited" and 0 < r.retry_after <= 60
    with transaction(eng) as s:  # the first failure has left the window
        assert accounts.check_login(s, "chair", "dung-mat-khau", now=NOW + timedelta(seconds=61), limit=3, window=60).ok
    with transaction(eng) as s:  # a success clears the user's failures
        assert s.execute(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == "user:chair")).scalar_one() == 0


def test_api_tokens_are_hashed_revocable_and_tied_to_an_active_account(eng):  # type: ignore[no-untyped-def]
    with transaction(eng) as s:
        accounts.set_password(s, "snv_focal", "long-enough", now=NOW)
        tok = accounts.issue_api_token(s, "snv_focal", now=NOW, label="cổng")
    with transaction(eng) as s:
        row = s.execute(select(ApiToken)).scalar_one()
        assert row.token_hash == accounts.sha256(tok) and tok not in str(row.__dict__)
        assert accounts.actor_for_token(s, tok, now=NOW).id == "snv_focal"
        assert accounts.actor_for_token(s, tok + "x", now=NOW) is None
        assert accounts.actor_for_token(s, "", now=NOW) is None
    with transaction(eng) as s:
        accounts.disable(s, "snv_focal", now=NOW)
    with transaction(eng) as s:
        assert accounts.actor_for_token(s, tok, now=NOW) is None
        with pytest.raises(UserError):
            accounts.issue_api_token(s, "snv_focal", now=NOW)


def test_ical_secret_rotates(eng):  # type: ignore[no-untyped-def]
    with transaction(eng) as s:
        first = accounts.issue_ical_secret(s, "SKHCN", now=NOW)
    with transaction(eng) as s:
        assert accounts.unit_for_ical(s, "SKHCN", first).code == "SKHCN"
        assert accounts.unit_for_ical(s, "SNV", first) is None
        second = accounts.issue_ical_secret(s, "SKHCN", now=NOW)
    with transaction(eng) as s:
        assert accounts.unit_for_ical(s, "SKHCN", first) is None
        assert accounts.unit_for_ical(s, "SKHCN", second) is not None
        assert s.execute(select(IcalFeed.secret_hash)).scalar_one() == accounts.sha256(second)
        with pytest.raises(UserError, match="ZZZ"):
            accounts.issue_ical_secret(s, "ZZZ", now=NOW)


# --- links (pure) ----------------------------------------------------------------------------------

KEY = "k" * 32


def test_link_tokens_round_trip_and_are_single_purpose():
    exp = NOW + timedelta(days=1)
    tok = links.make_token(KEY, purpose="open", item_id=7, unit_code="SNV", expires=exp, recipient=None)
    c = links.read_token(KEY, tok, now=NOW)
    assert (c.purpose, c.item_id, c.unit_code, c.recipient) == ("open", 7, "SNV", None)
    assert c.expires_at == exp.replace(microsecond=0)
    with pytest.raises(links.LinkInvalid):
        links.read_token(KEY, "ack." + tok.split(".", 1)[1], now=NOW)
    with pytest.raises(links.LinkInvalid):
        links.read_token("other-key-" + "x" * 20, tok, now=NOW)
    with pytest.raises(links.LinkExpired):
        links.read_token(KEY, tok, now=exp + timedelta(seconds=1))
    with pytest.raises(links.LinkInvalid):
        links.read_token(KEY, "nope", now=NOW)


def test_link_expiry_is_deterministic_per_day():
    a = links.expiry_for(date(2025, 7, 15), days=14)
    assert a == links.expiry_for(date(2025, 7, 15), days=14)
    assert a.astimezone().date() >= date(2025, 7, 29)
    t1 = links.make_token(KEY, purpose="ack", item_id=1, unit_code="X", expires=a)
    assert t1 == links.make_token(KEY, purpose="ack", item_id=1, unit_code="X", expires=a)


# --- CLI -------------------------------------------------------------------------------------------


def _cli(db_url: str, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    from cli.main import app

    return CliRunner().invoke(app, ["--db", db_url, *args], input=input)


def test_user_commands(eng, db_url):  # type: ignore[no-untyped-def]
    r = _cli(db_url, "user", "add", "skhcn_focal", "--password-stdin", input="mat-khau-moi-1\n")
    assert r.exit_code == 0, r.output
    r = _cli(db_url, "user", "add", "ghost", "--password-stdin", input="mat-khau-moi-1\n")
    assert r.exit_code == 1 and "--name" in r.output and "Traceback" not in r.output
    r = _cli(db_url, "user", "add", "ghost", "--name", "Ma Văn A", "--role", "viewer", "--password-stdin",
             input="mat-khau-moi-1\n")
    assert r.exit_code == 0, r.output
    r = _cli(db_url, "user", "token", "skhcn_focal")
    token = r.output.strip()
    assert r.exit_code == 0 and token.startswith("stk_")
    r = _cli(db_url, "user", "ical", "SKHCN", "--base-url", "https://steer.example")
    assert r.exit_code == 0 and r.output.startswith("https://steer.example/ical/SKHCN/") and r.output.strip().endswith(".ics")
    r = _cli(db_url, "user", "passwd", "skhcn_focal", "--password-stdin", input="ngan\n")
    assert r.exit_code == 1 and "8" in r.output
    r = _cli(db_url, "--lang", "en", "user", "disable", "skhcn_focal")
    assert r.exit_code == 0 and "disabled" in r.output
    with transaction(eng) as s:
        assert accounts.actor_for_token(s, token, now=NOW) is None
        assert not accounts.check_login(s, "skhcn_focal", "mat-khau-moi-1", now=NOW).ok
    r = _cli(db_url, "user", "disable", "nobody")
    assert r.exit_code == 1 and "nobody" in r.output


def test_web_command_help_has_an_example():
    from cli.main import app

    r = CliRunner().invoke(app, ["web", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output and "--base-url" in r.output


def test_web_workers_default_to_one_per_core_and_a_negative_count_is_refused(monkeypatch):
    from cli.main import app
    from cli.web import default_workers

    assert default_workers(3) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_workers() == 2
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_workers() == 4
    monkeypatch.setattr("os.cpu_count", lambda: None)
    assert default_workers() == 1
    r = CliRunner().invoke(app, ["web", "--workers", "-1"])
    assert r.exit_code == 2 and "--workers" in r.output and "Traceback" not in r.output

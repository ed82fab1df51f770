"""Accounts for the web app and the JSON API, on top of directory people.

A login is a ``person`` (its role and unit stay there) plus an ``Account`` row with an
argon2 password hash (pwdlib). Everything here runs in the caller's transaction, takes
``now`` as an argument (``engine.clock`` is the only clock reader) and raises
``UserError`` with a message for a person (Vietnamese by default, ``lang="en"``).

- ``add_user`` / ``set_password`` / ``disable``: account management (``steer user …``);
  each change is one "account" event in the audit log (never the password or a token).
  A password change or a disable revokes the person's API tokens and ends their sessions.
- ``check_login``: password check with rate limiting kept in the database
  (``login_attempt``), so it holds across web workers: after ``limit`` failures for a
  user name within ``window`` seconds (or ``4 × limit`` from one client address) further
  attempts are refused, even with the right password, until the window has passed.
- API tokens (``issue_api_token``, ``actor_for_token``) and per-unit iCalendar feed
  secrets (``issue_ical_secret``, ``unit_for_ical``): random strings shown once; only
  their sha256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.clock import require_aware
from engine.errors import UserError
from engine.actors import Actor, actor_from_rows, actor_select
from engine.i18n import tr
from engine.states import ROLES, Role
from engine.models import Account, ApiToken, IcalFeed, LoginAttempt, Person, Unit

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
TOKEN_PREFIX = "stk_"
DEFAULT_LOGIN_LIMIT = 5
DEFAULT_LOGIN_WINDOW = 900  # seconds
IP_FACTOR = 4  # one client address may fail this many times the per-user limit


@cache
def _hasher():  # -> pwdlib.PasswordHash
    from pwdlib import PasswordHash

    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_password_text(password: str | None, lang: str) -> str:
    pw = password or ""
    if len(pw) < MIN_PASSWORD:
        raise UserError(tr(lang, "acc.password_must_have_at_least", min_password=MIN_PASSWORD))
    if len(pw) > MAX_PASSWORD:
        raise UserError(tr(lang, "acc.password_too_long_at_most", max_password=MAX_PASSWORD))
    return pw


def _person(session: Session, person_id: str, lang: str) -> Person:
    p = session.get(Person, (person_id or "").strip())
    if p is None:
        known = session.execute(select(Person.id).order_by(Person.id).limit(10)).scalars().all()
        hint = tr(lang, "acc.hint_examples", ids=", ".join(known)) if known else tr(lang, "acc.hint_empty_directory")
        raise UserError(tr(lang, "acc.there_no_person_in_directory", person_id=person_id, hint=hint))
    return p


def _log(session: Session, *, now: datetime, by: str, action: str, person_id: str) -> None:
    append_event(session, now=now, at=now, actor=by or "system", actor_role=None, kind="account",
                 note=f"{action}: {person_id}", data={"action": action, "person": person_id})


def set_password(session: Session, person_id: str, password: str, *, now: datetime, by: str = "system",
                 lang: str = "vi") -> Account:
    """Create or replace the login of an existing directory person (re-enables a disabled
    account). Replacing a password revokes the person's API tokens and ends their sessions."""
    require_aware(now)
    p = _person(session, person_id, lang)
    if not p.active:
        raise UserError(tr(lang, "acc.person_inactive_in_directory_cannot", p_id=p.id))
    pw = _check_password_text(password, lang)
    acc = session.get(Account, p.id)
    created = acc is None
    if acc is None:
        acc = Account(person_id=p.id, password_hash=hash_password(pw), active=True, created_at=now,
                      password_changed_at=now)
        session.add(acc)
    else:
        acc.password_hash, acc.active, acc.password_changed_at = hash_password(pw), True, now
        # a new password ends every way in made with the old one: sessions (password_changed_at,
        # checked on each request) and API tokens, which may have leaked with it
        revoke_api_tokens(session, p.id, now=now)
    session.flush()
    _log(session, now=now, by=by, action="account_created" if created else "password_set", person_id=p.id)
    return acc


def add_user(session: Session, person_id: str, *, password: str, now: datetime, name: str | None = None,
             role: str | None = None, unit: str | None = None, title: str | None = None, by: str = "system",
             lang: str = "vi") -> Account:
    """Give a directory person a login; create the person first when ``name`` and ``role``
    are given and the id is not in the directory yet (``unit`` required for a focal point)."""
    require_aware(now)
    pid = (person_id or "").strip()
    if not pid or len(pid) > 64 or any(c.isspace() for c in pid):
        raise UserError(tr(lang, "acc.invalid_user_id_1_64", person_id=person_id))
    p = session.get(Person, pid)
    if p is None:
        if not name or not role:
            raise UserError(tr(lang, "acc.not_in_directory_create_it", pid=pid))
        if role not in ROLES:
            raise UserError(tr(lang, "acc.unknown_role_choose", role=role, roles=', '.join(ROLES)))
        unit_row = None
        if unit:
            unit_row = session.execute(select(Unit).where(Unit.code == unit.strip())).scalar_one_or_none()
            if unit_row is None:
                raise UserError(tr(lang, "acc.there_no_unit_see_steer", unit=unit))
        if role == Role.FOCAL_POINT and unit_row is None:
            raise UserError(tr(lang, "acc.focal_point_needs_unit_unit"))
        p = Person(id=pid, name=name.strip(), title=(title or None), role=role,
                   unit_id=unit_row.id if unit_row else None, oversees=[], notify=[], active=True, created_at=now)
        session.add(p)
        session.flush()
        _log(session, now=now, by=by, action="person_created", person_id=pid)
    else:
        if role and role != p.role:
            raise UserError(tr(lang, "acc.already_in_directory_as_roles", pid=pid, p_role=p.role))
        if unit and (p.unit is None or p.unit.code != unit.strip()):
            raise UserError(tr(lang, "acc.already_in_directory_in_unit", pid=pid,
                               unit=p.unit.code if p.unit else tr(lang, "acc.no_unit")))
    return set_password(session, pid, password, now=now, by=by, lang=lang)


def disable(session: Session, person_id: str, *, now: datetime, by: str = "system", lang: str = "vi") -> None:
    """Turn a login off and revoke its API tokens (the person stays in the directory)."""
    require_aware(now)
    p = _person(session, person_id, lang)
    acc = session.get(Account, p.id)
    if acc is None:
        raise UserError(tr(lang, "acc.has_no_login", p_id=p.id))
    acc.active = False
    revoke_api_tokens(session, p.id, now=now)
    session.flush()
    _log(session, now=now, by=by, action="account_disabled", person_id=p.id)


# --- login ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    status: Literal["ok", "bad", "limited"]
    person_id: str | None = None
    retry_after: int = 0  # seconds, when limited

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _failures(session: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    n, first = session.execute(select(func.count(), func.min(LoginAttempt.at))
                               .where(LoginAttempt.key == key, LoginAttempt.at > since)).one()
    return int(n or 0), first


def check_login(session: Session, username: str, password: str, *, now: datetime, client: str | None = None,
                limit: int = DEFAULT_LOGIN_LIMIT, window: int = DEFAULT_LOGIN_WINDOW) -> LoginResult:
    """Check a user name and password. Writes a failure row on a bad attempt (the caller
    commits either way); a success clears that user's failures and records the login."""
    require_aware(now)
    user = (username or "").strip()[:64]
    since = now - timedelta(seconds=window)
    keys = [f"user:{user.lower()}"] + ([f"ip:{client[:150]}"] if client else [])
    caps = [limit] + ([limit * IP_FACTOR] if client else [])
    for key, cap in zip(keys, caps):
        n, first = _failures(session, key, since)
        if n >= cap:
            retry = int(((first or now) + timedelta(seconds=window) - now).total_seconds()) + 1
            return LoginResult("limited", retry_after=max(retry, 1))
    acc = session.get(Account, user) if user else None
    person = session.get(Person, user) if acc is not None else None
    pw = (password or "")[:MAX_PASSWORD]
    if acc is None or person is None:
        _hasher().verify(pw, _dummy_hash())  # same cost as a real check: no user-name probing by timing
        good = False
    else:
        good, new_hash = _hasher().verify_and_update(pw, acc.password_hash)
        good = good and acc.active and person.active
        if good and new_hash:
            acc.password_hash = new_hash
    if not good:
        session.add_all([LoginAttempt(key=k, at=now) for k in keys])
        session.flush()
        return LoginResult("bad")
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == keys[0]))
    acc.last_login_at = now
    session.flush()
    return LoginResult("ok", person_id=acc.person_id)


def purge_login_attempts(session: Session, *, now: datetime, window: int = DEFAULT_LOGIN_WINDOW) -> int:
    """Delete failure rows older than the window (housekeeping)."""
    res = session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - timedelta(seconds=window)))
    return int(res.rowcount or 0)


@cache
def _login_stmt():  # -> Select (built once)
    return (actor_select(Account.active, Account.password_changed_at, Account.session_version)
            .join(Account, Account.person_id == Person.id).where(Person.id == bindparam("person_id")))


@cache
def _token_stmt():  # -> Select (built once)
    return (actor_select(ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at, Account.active)
            .join(ApiToken, ApiToken.person_id == Person.id)
            .outerjoin(Account, Account.person_id == Person.id)
            .where(ApiToken.token_hash == bindparam("token_hash")))


def _rows(session: Session, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """Rows of a column select, run on the session's connection: the same rows as
    ``session.execute`` without its ORM execution layer (no objects are loaded here), which
    costs as much as the query on every request. Pending changes are flushed first, as
    ``session.execute`` would."""
    if session.autoflush:
        session.flush()
    return list(session.connection().execute(stmt, params).all())


def login_actor(session: Session, person_id: str) -> tuple[Actor, datetime, int] | None:
    """The ``Actor`` of an active person with an active account, the time its password was
    last set and its session version (a session from before either changed is void), in one
    statement; None otherwise. What ``engine.lifecycle.load_actor`` gives, for an active
    account; checked on every web request."""
    if not person_id:
        return None
    rows = _rows(session, _login_stmt(), {"person_id": person_id})
    if not rows or not rows[0][4] or not rows[0][-3]:
        return None
    return actor_from_rows(rows), rows[0][-2], int(rows[0][-1] or 0)


def end_sessions(session: Session, person_id: str) -> None:
    """Void every web session of ``person_id`` begun so far (a logout): bumps the account's
    session version, which each request compares with its session's."""
    session.execute(update(Account).where(Account.person_id == person_id)
                    .values(session_version=Account.session_version + 1)
                    .execution_options(synchronize_session=False))


# --- one-click links ----------------------------------------------------------------------------


@cache
def _link_person_stmt():  # -> Select (built once)
    # active in the directory, and no login or a login that is not disabled
    return (select(Person.id).outerjoin(Account, Account.person_id == Person.id)
            .where(Person.active.is_(True), or_(Account.person_id.is_(None), Account.active.is_(True))))


def link_person_ok(session: Session, person_id: str | None) -> bool:
    """Whether a one-click link may act as ``person_id``: the person is active in the
    directory and, when they have a login, it is not disabled (``steer user disable`` ends
    their links as it ends their sessions and tokens). Checked on every use of a link."""
    if not person_id:
        return False
    stmt = _link_person_stmt().where(Person.id == bindparam("person_id"))
    return bool(_rows(session, stmt, {"person_id": person_id}))


def link_actor_id(session: Session, unit_code: str, recipient: str | None) -> str | None:
    """The person a link acts as: its named recipient, else the unit's first focal point —
    only someone ``link_person_ok`` allows; None when nobody may."""
    if recipient:
        return recipient if link_person_ok(session, recipient) else None
    stmt = (_link_person_stmt().join(Unit, Unit.id == Person.unit_id)
            .where(Unit.code == bindparam("unit_code"), Person.role == Role.FOCAL_POINT).order_by(Person.id).limit(1))
    rows = _rows(session, stmt, {"unit_code": unit_code})
    return rows[0][0] if rows else None


# --- API tokens ----------------------------------------------------------------------------------


def issue_api_token(session: Session, person_id: str, *, now: datetime, label: str | None = None,
                    by: str | None = None, lang: str = "vi") -> str:
    """A new bearer token for ``person_id`` (returned once; only its hash is kept)."""
    require_aware(now)
    p = _person(session, person_id, lang)
    if not p.active:
        raise UserError(tr(lang, "acc.person_inactive", p_id=p.id))
    acc = session.get(Account, p.id)
    if acc is not None and not acc.active:
        raise UserError(tr(lang, "acc.account_disabled_steer_user_passwd", p_id=p.id))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=p.id, token_hash=sha256(token), label=(label or None), created_at=now))
    session.flush()
    _log(session, now=now, by=by or p.id, action="api_token_issued", person_id=p.id)
    return token


def actor_for_token(session: Session, token: str, *, now: datetime, touch: bool = True) -> Actor | None:
    """The ``Actor`` (role, unit, groups) an API token belongs to, or None (unknown, revoked,
    person inactive, account disabled), in one statement. ``touch``: record the use (at most
    hourly) — off for read-only sessions."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    rows = _rows(session, _token_stmt(), {"token_hash": sha256(token)})
    if not rows:
        return None
    token_id, revoked_at, last_used_at, account_active = rows[0][-4:]
    if revoked_at is not None or not rows[0][4] or account_active is False:
        return None
    if touch and (last_used_at is None or now - last_used_at > timedelta(hours=1)):
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                        .execution_options(synchronize_session=False))
    return actor_from_rows(rows)


def revoke_api_tokens(session: Session, person_id: str, *, now: datetime) -> int:
    res = session.execute(update(ApiToken).where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
                          .values(revoked_at=now))
    return int(res.rowcount or 0)


# --- iCalendar feed secrets ----------------------------------------------------------------------


def issue_ical_secret(session: Session, unit_code: str, *, now: datetime, by: str = "system",
                      lang: str = "vi") -> str:
    """A new secret for the unit's deadline feed (the previous one stops working)."""
    require_aware(now)
    unit = session.execute(select(Unit).where(Unit.code == (unit_code or "").strip())).scalar_one_or_none()
    if unit is None:
        raise UserError(tr(lang, "acc.there_no_unit_see_steer_2", unit_code=unit_code))
    secret = secrets.token_urlsafe(24)
    row = session.get(IcalFeed, unit.id)
    if row is None:
        session.add(IcalFeed(unit_id=unit.id, secret_hash=sha256(secret), created_by=by, created_at=now))
    else:
        row.secret_hash, row.created_by, row.created_at = sha256(secret), by, now
    session.flush()
    append_event(session, now=now, at=now, actor=by or "system", actor_role=None, kind="account",
                 note=f"ical_secret_issued: {unit.code}", data={"action": "ical_secret_issued", "unit": unit.code})
    return secret


def unit_for_ical(session: Session, unit_code: str, secret: str) -> Unit | None:
    """The unit when ``secret`` is its current feed secret, else None."""
    if not secret or len(secret) > 200:
        return None
    unit = session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        return None
    row = session.get(IcalFeed, unit.id)
    if row is None or not hmac.compare_digest(row.secret_hash, sha256(secret)):
        return None
    return unit

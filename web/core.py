"""Shared plumbing of the web app: configuration, database sessions, the logged-in user,
CSRF, language, flash messages and template rendering.

No business rule lives here: actions go through ``engine.lifecycle`` /
``engine.escalation`` with the actor from ``engine.lifecycle.load_actor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from engine import clock
from engine.accounts import link_person_ok
from engine.actors import Actor
from engine.evidence import evidence_dir
from engine.states import role_label, status_label
from engine.i18n import has, pick_lang, tr

HERE = Path(__file__).resolve().parent
T = TypeVar("T")
LANG_COOKIE = "steer_lang"
SESSION_COOKIE = "steer_session"
SESSION_MAX_AGE = 8 * 3600
PG_WRITERS = 4  # PostgreSQL: threads running write requests (Db.run_write)
# PostgreSQL: ping a pooled connection before use only after it sat idle this long (seconds;
# engine.db._ping_when_idle) — a busy server saves a round trip on every request
PG_PING_IDLE = 2.0
# Actions a one-click "open" link may perform on its one item (never verification or decisions).
LINK_ACTIONS = frozenset({"start", "submit", "note", "request_extension", "block", "unblock", "ack"})


@dataclass
class Config:
    database_url: str
    secret_key: str
    upload_dir: Path
    base_url: str | None = None
    https_only: bool = False
    max_upload_bytes: int = 10 * 1024 * 1024
    login_limit: int = 5
    login_window: int = 900
    link_days: int = 14
    now: Callable[[], datetime] = clock.now

    @property
    def evidence_dir(self) -> Path:
        return evidence_dir(self.upload_dir)  # where engine.evidence stores files for every interface

    @property
    def pending_dir(self) -> Path:
        return self.upload_dir / "pending-plans"


class WebError(Exception):
    """An error page (HTML) or ``{"error": …}`` (API) with this status."""

    def __init__(self, status: int, message: str, *, reason: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers or {}


class LoginRequired(Exception):
    pass


@dataclass
class User:
    """Who is making the request: a logged-in person, or a one-click link scope."""

    person_id: str
    name: str
    role: str
    unit_code: str | None
    actor: Actor
    link_item: int | None = None  # set when acting through a one-click link (no login)
    link_unit: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> User:
        return cls(person_id=actor.id, name=actor.name, role=actor.role, unit_code=actor.unit_code, actor=actor)

    @property
    def via_link(self) -> bool:
        return self.link_item is not None

    def role_label(self, lang: str) -> str:
        return role_label(self.role, lang)


@dataclass
class Db:
    """Two engines on the same database: ``write`` (engine.db recipe: BEGIN IMMEDIATE on
    SQLite) for actions, ``read`` for pages (plain deferred transactions, so readers do not
    queue behind the write lock in WAL mode)."""

    write: Engine
    read: Engine
    _extra: dict[str, Any] = field(default_factory=dict)
    write_lock: Any = None  # SQLite: web.writelock.WriterLock (a threading.RLock in memory; see tx)
    writer: Any = None  # SQLite: the one thread that runs the web's write requests (see run_write)

    async def run_write(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a blocking function doing one write transaction) off the event loop.

        SQLite takes one writer at a time, so its writes run on one dedicated thread, queued
        in order as futures, rather than on many pool threads parked on the write lock and
        contending for the GIL. PostgreSQL: a few writer threads (``PG_WRITERS``), whose
        transactions overlap up to their commits (the audit chain's head is taken inside COMMIT)."""
        if self.writer is None:
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(fn)
        import asyncio
        import contextvars

        ctx = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self.writer, ctx.run, fn)

    @contextmanager
    def tx(self) -> Iterator[Session]:
        if self.write_lock is None:
            with Session(self.write, expire_on_commit=False) as s, s.begin():
                yield s
            return
        # SQLite: one writer at a time. Queue this process's writers on a lock here (they wait
        # without the GIL and wake in turn) instead of in SQLite's busy handler, which polls with
        # growing sleeps (up to 100 ms each) and leaves the database idle while writers sleep;
        # the web's other worker processes queue on the same lock's file (web.writelock).
        # Other programs (CLI, flows) still meet at BEGIN IMMEDIATE.
        with self.write_lock, Session(self.write, expire_on_commit=False) as s, s.begin():
            yield s

    @contextmanager
    def ro(self) -> Iterator[Session]:
        # closing (not rolling back) keeps loaded attributes readable after the block;
        # the connection's transaction is rolled back when it returns to the pool
        with Session(self.read, expire_on_commit=False) as s:
            yield s


def make_db(url: str) -> Db:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from engine.db import make_engine, normalize_url

    u = make_url(normalize_url(url))
    write = make_engine(url, ping_idle=PG_PING_IDLE if u.get_backend_name() != "sqlite" else None)
    if u.get_backend_name() != "sqlite":
        # every write ends on the one chain-head row (engine.audit): a few writer threads keep
        # that row busy; more would only wait there holding connections and contending for the GIL
        return Db(write=write, read=write, writer=ThreadPoolExecutor(
            max_workers=PG_WRITERS, thread_name_prefix="steer-pg-writer") if PG_WRITERS else None)
    if not u.database or u.database == ":memory:":
        return Db(write=write, read=write, write_lock=threading.RLock())
    read = create_engine(normalize_url(url), connect_args={"timeout": 30})

    @event.listens_for(read, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(read, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN")

    from web.writelock import WriterLock, lock_path

    # this process's writers queue on the lock, and the web's worker processes on its file
    return Db(write=write, read=read, write_lock=WriterLock(lock_path(u.database)),
              writer=ThreadPoolExecutor(max_workers=1, thread_name_prefix="steer-sqlite-writer"))


# --- request helpers -------------------------------------------------------------------------------


def cfg(request: Request) -> Config:
    return request.app.state.cfg


def db(request: Request) -> Db:
    return request.app.state.db


def now(request: Request) -> datetime:
    return clock.require_aware(cfg(request).now())


def lang_of(request: Request) -> str:
    cached = getattr(request.state, "lang", None)
    if cached:
        return cached
    lang = (pick_lang(request.query_params.get("lang")) or pick_lang(request.cookies.get(LANG_COOKIE)))
    if lang is None and request.url.path.startswith("/api/"):
        lang = pick_lang((request.headers.get("accept-language") or "").split(",")[0])
    request.state.lang = lang or "vi"
    return request.state.lang


def t(request: Request, key: str, **fmt: Any) -> str:
    return tr(lang_of(request), key, **fmt)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def csrf_token(request: Request) -> str:
    tok = request.session.get("csrf")
    if not tok:
        tok = secrets.token_urlsafe(32)
        request.session["csrf"] = tok
    return tok


async def check_csrf(request: Request) -> None:
    """Raise 403 unless the form field ``csrf_token`` (or header ``X-CSRF-Token``) matches the session's."""
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                form = await request.form()
            except Exception:
                form = None
            val = form.get("csrf_token") if form is not None else None
            sent = val if isinstance(val, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise WebError(403, t(request, "csrf_failed"), reason="csrf")


def flash(request: Request, kind: str, message: str) -> None:
    """A message for the next page. Kept in the (cookie) session compressed, at most the last two,
    so long Vietnamese engine messages never push the cookie past the browsers' 4 KB limit."""
    # a 4 KB window and a small memory level instead of zlib's defaults (32 KB, 8): about the
    # same output for texts this short, without setting up ~300 KB of compressor state per write
    # (pop_flash's zlib.decompress reads either)
    z = zlib.compressobj(9, zlib.DEFLATED, 12, 4)
    data = message[:1500].encode("utf-8")
    packed = base64.b64encode(z.compress(data) + z.flush()).decode("ascii")
    msgs = list(request.session.get("flash") or [])
    msgs.append([kind, packed])
    request.session["flash"] = msgs[-2:]


def pop_flash(request: Request) -> list[list[str]]:
    out = []
    for kind, packed in request.session.pop("flash", None) or []:
        try:
            out.append([kind, zlib.decompress(base64.b64decode(packed)).decode("utf-8")])
        except (ValueError, zlib.error):
            continue
    return out


def redirect(url: str, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status)


def safe_next(target: str | None) -> str:
    """Only local paths (no scheme, no //host) — no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- the user -------------------------------------------------------------------------------------


def _user_from_person(s: Session, person_id: str, lang: str) -> User | None:
    from engine.errors import UserError
    from engine.actors import load_actor

    try:
        actor = load_actor(s, person_id, lang=lang)
    except UserError:
        return None
    return User.of(actor)


def load_user(request: Request, s: Session) -> User | None:
    """The logged-in user (session cookie), or a one-click link scope, or None."""
    cached = getattr(request.state, "user", "unset")
    if cached != "unset":
        return cached
    from engine.accounts import login_actor

    user: User | None = None
    uid = request.session.get("uid")
    if uid:
        # one statement: an active person with an active account, their unit and groups, when
        # the password was last set and the session version (checked on every request: a
        # disabled account, a changed password or a logout ends the session at once, in every worker)
        found = login_actor(s, uid)
        stamp = found[1].timestamp() if found else None
        if found is None or request.session.get("pw") != stamp or request.session.get("sv", 0) != found[2]:
            request.session.pop("uid", None)
        else:
            actor = found[0]
            user = User.of(actor)
    if user is None:
        link = request.session.get("link")
        if link and link.get("e", 0) >= now(request).timestamp():
            # the person must still be allowed to act through links (active, login not disabled)
            u = _user_from_person(s, link["a"], lang_of(request)) if link_person_ok(s, link["a"]) else None
            if u is not None:
                u.link_item, u.link_unit = int(link["i"]), str(link["u"])
                user = u
        elif link:
            request.session.pop("link", None)
    request.state.user = user
    return user


def require_login(request: Request, s: Session, roles: tuple[str, ...] | None = None, *,
                  allow_link: bool = False) -> User:
    user = load_user(request, s)
    if user is None or (user.via_link and not allow_link):
        raise LoginRequired()
    if roles is not None and user.role not in roles:
        raise WebError(403, t(request, "forbidden"), reason="role")
    return user


# --- templates ------------------------------------------------------------------------------------

_ENV: Environment | None = None
_STATIC_VERSIONS: dict[str, str] = {}


def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>``: browsers keep it a year (web.app.CachedStatic), a changed file gets a new URL."""
    version = _STATIC_VERSIONS.get(name)
    if version is None:
        version = hashlib.sha256((HERE / "static" / name).read_bytes()).hexdigest()[:10]
        _STATIC_VERSIONS[name] = version
    return f"/static/{name}?v={version}"


def ref_html(ref: str) -> Any:
    """An item reference that wraps only before its "@unit" and "#occurrence" parts, never at a
    hyphen of the plan code ("KH-57-LS/1" stays on one line in a narrow column)."""
    import re

    from markupsafe import Markup, escape

    parts = re.split(r"(?=[@#])", str(ref))
    return Markup("<wbr>").join(Markup('<span class="nw">{}</span>').format(escape(p)) for p in parts if p)


def _period_words(key: Any, lang: str) -> str:
    from engine.reporting import period_key_label

    return period_key_label(str(key or ""), lang) if key else "—"


def env() -> Environment:
    global _ENV
    if _ENV is None:
        e = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                        autoescape=select_autoescape(["html", "xml", "j2"], default=True),
                        trim_blocks=True, lstrip_blocks=True)
        e.filters["d"] = lambda v: (v.strftime("%d/%m/%Y") if isinstance(v, date) else
                                    (date.fromisoformat(v).strftime("%d/%m/%Y") if isinstance(v, str) and len(v) == 10
                                     else ("—" if v in (None, "") else str(v))))
        e.filters["ref"] = ref_html
        e.globals["static_url"] = static_url
        _ENV = e
    return _ENV


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, *, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    lang = lang_of(request)
    user = getattr(request.state, "user", None)
    if user == "unset":
        user = None
    base = {
        "request": request, "lang": lang, "user": user,
        "t": lambda key, **fmt: tr(lang, key, **fmt),
        "csrf": csrf_token(request),
        "flashes": pop_flash(request),
        "status_label": lambda st: status_label(st, lang) if st else "—",
        "tl_label": lambda tl: tr(lang, f"tl_{tl}") if tl else "—",
        "period_label": lambda key: _period_words(key, lang),  # "2025-10" -> "tháng 10/2025"
        "event_label": lambda kind: (tr(lang, f"ev_{kind}") if has(f"ev_{kind}") else kind),
        "path": request.url.path,
        "query": str(request.url.query),
    }
    base.update(ctx or {})
    html = env().get_template(name).render(base)
    resp = HTMLResponse(html, status_code=status, headers=headers)
    return resp

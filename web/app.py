"""The FastAPI application: ``create_app(database_url, secret_key=…, upload_dir=…)``.

Pages (``web.pages``) are server-rendered Jinja2 with plain HTML forms (no JavaScript
needed); the JSON API (``web.api``) lives under ``/api/v1`` with its OpenAPI document at
``/api/v1/openapi.json``. Routes and test hooks: ``web/ROUTES.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi import HTTPException as FastAPIHTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import clock
from web.core import HERE, LANG_COOKIE, SESSION_COOKIE, SESSION_MAX_AGE, Config, LoginRequired, WebError, make_db
from engine.i18n import pick_lang, tr

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # one-click link tokens must not leak through Referer
}
# gzip text (HTML, CSS, SVG, JSON, CSV, iCal) when the client asks; office files and PDFs are
# zip-compressed already
GZIP_EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf", "application/octet-stream",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
# static files: a year for versioned URLs (``/static/style.css?v=<hash>``, web.core.static_url), else a day
STATIC_IMMUTABLE = "public, max-age=31536000, immutable"
STATIC_DEFAULT = "public, max-age=86400"
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes (Content-Length, and counted while streaming)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(scope, send, self.limit)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise FastAPIHTTPException(413, "too large")
            return msg

        await self.app(scope, limited, send)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    path = scope.get("path", "")
    mb = max(1, limit // (1024 * 1024))
    if path.startswith("/api/"):
        resp: Response = JSONResponse({"error": tr("en", "too_large", mb=mb)}, status_code=413)
    else:
        from fastapi.responses import HTMLResponse

        resp = HTMLResponse(f"<!doctype html><meta charset=utf-8><title>413 — Steer</title><p>{tr('vi', 'too_large', mb=mb)}</p>"
                            f"<p>{tr('en', 'too_large', mb=mb)}</p>", status_code=413)

    async def _noop() -> Message:
        return {"type": "http.disconnect"}

    await resp(scope, _noop, send)


class SecureHeaders:
    """Security headers on every response, CSP and no-store on HTML, and the language cookie
    when ``?lang=`` picks another language than the cookie's. Plain ASGI (no
    ``BaseHTTPMiddleware``: that one runs every request through an extra task and stream)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.static = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie: str | None = None
        qs = scope.get("query_string", b"")
        if b"lang=" in qs:
            req = Request(scope)
            lang = pick_lang(req.query_params.get("lang"))
            if lang and lang != pick_lang(req.cookies.get(LANG_COOKIE)):
                tmp = Response()
                tmp.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
                cookie = tmp.headers["set-cookie"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in self.static:
                    if k not in present:
                        headers.append((k, v))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    if b"content-security-policy" not in present:
                        headers.append((b"content-security-policy", CSP.encode("latin-1")))
                    if b"cache-control" not in present:
                        headers.append((b"cache-control", b"no-store"))
                if cookie is not None:
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CachedStatic(StaticFiles):
    """``StaticFiles`` with ``Cache-Control``: long-lived for a versioned URL (``?v=``), a day otherwise."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        resp = super().file_response(full_path, stat_result, scope, status_code)
        resp.headers["Cache-Control"] = STATIC_IMMUTABLE if b"v=" in scope.get("query_string", b"") else STATIC_DEFAULT
        return resp


def _error_handlers(app: FastAPI) -> None:
    from web.core import lang_of, render

    def api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        if api(request):
            return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
        tpl = "link_error.html" if request.url.path.startswith("/l/") else "error.html"
        return render(request, tpl, {"status": exc.status, "message": exc.message, "reason": exc.reason},
                      status=exc.status, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        from web.core import redirect, t

        if api(request):
            return JSONResponse({"error": "login required"}, status_code=401)
        if request.method == "GET":
            nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect(f"/login?next={quote(nxt, safe='/')}")
        return render(request, "error.html", {"status": 401, "message": t(request, "login_needed")}, status=401)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        lang = lang_of(request)
        if exc.status_code == 413:
            msg = tr(lang, "too_large", mb=max(1, app.state.cfg.max_upload_bytes // (1024 * 1024)))
        elif exc.status_code == 404:
            msg = tr(lang, "not_found")
        elif exc.status_code == 403:
            msg = tr(lang, "forbidden")
        else:
            msg = str(exc.detail)
        if api(request):
            return JSONResponse({"error": msg}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        return render(request, "error.html", {"status": exc.status_code, "message": msg}, status=exc.status_code,
                      headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors()[:5]:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
            parts.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        msg = "; ".join(parts) or "invalid request"
        if api(request):
            return JSONResponse({"error": msg}, status_code=400)
        return render(request, "error.html", {"status": 400, "message": msg}, status=400)


def create_app(database_url: str, *, secret_key: str, upload_dir: str | Path, base_url: str | None = None,
               https_only: bool = False, max_upload_bytes: int = 10 * 1024 * 1024,
               login_limit: tuple[int, int] = (5, 900), link_days: int = 14,
               now: Callable[[], datetime] | None = None, local_token: str | None = None) -> FastAPI:
    """The web app on ``database_url`` (schema created/checked with engine.db.ensure_schema).

    ``local_token``: also serve ``POST /api/v1/local/task/{command}`` (web/localapi.py:
    loopback clients holding this token — the ``steer`` launcher — hand quick ``steer task …``
    actions to this warm process)."""
    from engine.db import ensure_schema
    from web import api, assets, ocr_review, pages, progress, reportview, rollup

    if not secret_key or len(secret_key) < 16:
        raise ValueError("secret_key must be at least 16 characters")
    cfg = Config(database_url=database_url, secret_key=secret_key, upload_dir=Path(upload_dir).resolve(),
                 base_url=(base_url.rstrip("/") if base_url else None), https_only=https_only,
                 max_upload_bytes=max_upload_bytes, login_limit=login_limit[0], login_window=login_limit[1],
                 link_days=link_days, now=now or clock.now)
    cfg.upload_dir.mkdir(parents=True, exist_ok=True)
    database = make_db(database_url)
    ensure_schema(database.write)

    app = FastAPI(title="Steer API", version="1",
                  description="Work items of the steering committee's action plans (bearer token auth).",
                  openapi_url="/api/v1/openapi.json", docs_url="/api/docs", redoc_url=None,
                  swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect")
    app.state.cfg = cfg
    app.state.db = database
    # session cookie key derived from the secret, distinct from the link-signing use
    session_key = hashlib.sha256(b"steer.session\0" + secret_key.encode()).hexdigest()
    app.add_middleware(SessionMiddleware, secret_key=session_key, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax", https_only=https_only)
    app.add_middleware(SecureHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6, exclude_content_types=GZIP_EXCLUDED)
    app.add_middleware(BodyLimit, limit=max_upload_bytes + 1024 * 1024)
    _error_handlers(app)
    app.include_router(pages.router)
    app.include_router(ocr_review.router)
    app.include_router(progress.router)
    app.include_router(rollup.router)
    app.include_router(reportview.router)
    app.include_router(assets.router)
    app.include_router(api.router)
    if local_token:
        from web import localapi

        app.include_router(localapi.make_router(database_url, local_token))
    app.mount("/static", CachedStatic(directory=str(HERE / "static")), name="static")

    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory web.app:app_from_env``: STEER_DATABASE_URL, STEER_SECRET_KEY,
    STEER_UPLOAD_DIR, STEER_BASE_URL, STEER_HTTPS_ONLY, STEER_MAX_UPLOAD_MB,
    STEER_LOCAL_TOKEN (set by ``steer web``, which also publishes the server file)."""
    import os

    from engine.db import database_url
    from engine.evidence import default_max_bytes, default_upload_dir

    upload = default_upload_dir()
    return create_app(database_url(None), secret_key=secret_key_for(upload), upload_dir=upload,
                      base_url=os.environ.get("STEER_BASE_URL") or None, max_upload_bytes=default_max_bytes(),
                      https_only=os.environ.get("STEER_HTTPS_ONLY", "").lower() in ("1", "true", "yes"),
                      local_token=os.environ.get("STEER_LOCAL_TOKEN") or None)


def secret_key_for(upload_dir: Path) -> str:
    """``STEER_SECRET_KEY``, else a random key kept in ``<upload_dir>/.secret_key`` (mode 600)."""
    import os
    import secrets

    env = os.environ.get("STEER_SECRET_KEY")
    if env:
        return env
    path = upload_dir / ".secret_key"
    if path.is_file():
        return path.read_text().strip()
    upload_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key

"""steer web | steer user add|passwd|disable|token|ical — the web app and its accounts."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.common import console, err_console, handled, msg, state

user_app = typer.Typer(help="Web accounts of directory people.  Example: steer user add sxd_focal --password-stdin",
                       no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        data = sys.stdin.readline()
        return data.rstrip("\r\n")
    first = typer.prompt(msg("password"), hide_input=True)
    again = typer.prompt(msg("cli.repeat_password"), hide_input=True)
    if first != again:
        err_console.print(msg("cli.error_two_passwords_differ"))
        raise typer.Exit(1)
    return first


PwOpt = Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")]


def _demo_clock(url: str) -> str | None:
    """The instant a demo database is pinned at (``Committee.settings["demo_now"]``, written by
    ``steer demo``), or None for a real database."""
    from engine.db import make_engine, transaction
    from engine.txcache import committee_row

    with transaction(make_engine(url)) as s:
        c = committee_row(s)
        value = (c.settings or {}).get("demo_now") if c is not None else None
    return str(value) if value else None


def pin_demo_clock(url: str, environ: Any) -> str | None:
    """On a demo database, set STEER_NOW (the workers inherit it) to its story's instant unless
    STEER_NOW is already set; returns the instant pinned, or None."""
    if environ.get("STEER_NOW"):
        return None
    pinned = _demo_clock(url)
    if pinned:
        environ["STEER_NOW"] = pinned
    return pinned


def _dmy(iso: str) -> str:
    from datetime import datetime

    from engine.clock import local_date

    d = local_date(datetime.fromisoformat(iso))
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def web(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="Public address, for links in notifications and calendar feeds (env STEER_BASE_URL).", metavar="URL")] = None,
    upload_dir: Annotated[Optional[Path], typer.Option("--upload-dir", help="Where evidence files and pending plan uploads are kept (default: env STEER_UPLOAD_DIR, else .steer-web; `steer task submit --evidence-file` stores there too).")] = None,
    https_only: Annotated[bool, typer.Option("--https-only", help="Send the session cookie over HTTPS only (behind TLS).")] = False,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", help="Largest accepted upload, in MB.")] = 10,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Worker processes (uvicorn); 0 = one per CPU core, at most 4.")] = 0,
    cli_bridge: Annotated[bool, typer.Option("--cli-bridge/--no-cli-bridge", help="Let local `steer task …` actions be sent to this server's JSON API (loopback + a token in a 0600 file next to the database).")] = True,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option("--forwarded-allow-ips", help="Comma-separated addresses (or networks) of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; default: none, the client address is the connection's.", metavar="IPS")] = None,
) -> None:
    """Run the web app (pages for focal points, the secretariat and the chair; JSON API at /api/v1).

    Uses the same database as the other commands (--db / STEER_DATABASE_URL). The signing key
    comes from STEER_SECRET_KEY (set it, and STEER_BASE_URL, so notifications carry one-click
    links), else a random key kept in UPLOAD_DIR/.secret_key.
    On the database made by `steer demo` the clock is pinned at the demo's date (01/08/2025)
    unless STEER_NOW is set.
    Example: steer --db sqlite:///steer.db web --port 8000 --base-url https://steer.example.gov.vn
    """
    with handled():
        import uvicorn

        from engine.db import database_url, ensure_schema, make_engine

        url = database_url(state().db)
        ensure_schema(make_engine(url))
        pinned = pin_demo_clock(url, os.environ)
        if pinned:
            console.print(msg("cli.web_demo_clock", day=_dmy(pinned)))
        from engine.evidence import default_upload_dir

        upload = (upload_dir or default_upload_dir()).resolve()
        from web.app import secret_key_for

        secret_key_for(upload)  # create it once, before workers start
        os.environ["STEER_DATABASE_URL"] = url
        os.environ["STEER_UPLOAD_DIR"] = str(upload)
        os.environ["STEER_MAX_UPLOAD_MB"] = str(max_upload_mb)
        if base_url:
            os.environ["STEER_BASE_URL"] = base_url
        if https_only:
            os.environ["STEER_HTTPS_ONLY"] = "1"
        token = None
        if cli_bridge:
            import secrets

            from web import serverfile

            token = secrets.token_urlsafe(32)
            os.environ["STEER_LOCAL_TOKEN"] = token
            serverfile.write_server_file(url, serverfile.client_host(host), port, token)
        console.print(msg("cli.steer_web_http_ctrl_c", host=host, port=port))
        import signal

        # uvicorn re-raises the signal that stopped it: make SIGTERM an exit, so the finally below runs
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            uvicorn.run("web.app:app_from_env", factory=True, log_level="info",
                        **uvicorn_options(host=host, port=port, workers=workers, forwarded_allow_ips=forwarded_allow_ips))
        finally:
            if token:
                from web import serverfile

                serverfile.remove_server_file(url, token)


def uvicorn_options(*, host: str, port: int, workers: int, forwarded_allow_ips: str | None) -> dict[str, object]:
    """uvicorn's settings for ``steer web``. Proxy headers (X-Forwarded-For, which sets the
    client address the login rate limit counts by) are believed only from the addresses
    given: uvicorn's own default trusts them from loopback, so anyone able to connect locally
    could pose as any client."""
    trusted = ",".join(a.strip() for a in (forwarded_allow_ips or "").split(",") if a.strip())
    return {"host": host, "port": port, "workers": default_workers(workers),
            "proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def default_workers(requested: int = 0) -> int:
    """``requested``, or (0) one worker process per CPU core, at most 4: a request's Python
    work runs on one core per process (the GIL); the workers' SQLite writes still go one at
    a time (web.writelock), PostgreSQL's meet at the audit chain's head while committing."""
    if requested > 0:
        return requested
    return max(1, min(4, os.cpu_count() or 1))


def add(
    user: Annotated[str, typer.Argument(help="Person id (from the directory, or a new one with --name/--role).")],
    role: Annotated[Optional[str], typer.Option("--role", help="For a new person: chair, vice_chair, secretariat, focal_point or viewer.")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="For a new person: unit code (required for a focal point).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="For a new person: full name.")] = None,
    password_stdin: PwOpt = False,
) -> None:
    """Give a directory person a web login (or create the person with --name/--role/--unit).

    Example: echo 'mat-khau-dai' | steer user add sxd_focal --password-stdin
    """
    with handled():
        from engine import accounts, clock
        from engine.db import transaction

        password = _read_password(password_stdin)
        with transaction(state().engine()) as s:
            accounts.add_user(s, user, password=password, now=clock.now(), name=name, role=role, unit=unit,
                              by="cli", lang=state().lang)
        console.print(msg("cli.login_created_updated_for", user=user))


def passwd(user: Annotated[str, typer.Argument(help="Person id.")], password_stdin: PwOpt = False) -> None:
    """Set a new password (also re-enables a disabled login; other sessions are logged out).

    Example: steer user passwd sxd_focal
    """
    with handled():
        from engine import accounts, clock
        from engine.db import transaction

        password = _read_password(password_stdin)
        with transaction(state().engine()) as s:
            accounts.set_password(s, user, password, now=clock.now(), by="cli", lang=state().lang)
        console.print(msg("cli.password_changed", user=user))


def disable(user: Annotated[str, typer.Argument(help="Person id.")]) -> None:
    """Disable a login and revoke its API tokens (the person stays in the directory).

    Example: steer user disable sxd_focal
    """
    with handled():
        from engine import accounts, clock
        from engine.db import transaction

        with transaction(state().engine()) as s:
            accounts.disable(s, user, now=clock.now(), by="cli", lang=state().lang)
        console.print(msg("cli.login_disabled_api_tokens_revoked", user=user))


def token(
    user: Annotated[str, typer.Argument(help="Person id.")],
    label: Annotated[Optional[str], typer.Option("--label", help="What the token is for.")] = None,
) -> None:
    """Print a new API token for USER, once (only its hash is stored). Use it as
    "Authorization: Bearer TOKEN" on /api/v1.

    Example: steer user token secretariat --label "cổng dịch vụ công"
    """
    with handled():
        from engine import accounts, clock
        from engine.db import transaction

        with transaction(state().engine()) as s:
            tok = accounts.issue_api_token(s, user, now=clock.now(), label=label, by="cli", lang=state().lang)
        sys.stdout.write(tok + "\n")


def ical(
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="Public address of the web app (env STEER_BASE_URL).", metavar="URL")] = None,
) -> None:
    """Print a new secret calendar address (iCalendar) of UNIT's deadlines, once; the old one stops working.

    Example: steer user ical SXD --base-url https://steer.example.gov.vn
    """
    from urllib.parse import quote

    with handled():
        from engine import accounts, clock
        from engine.db import transaction

        with transaction(state().engine()) as s:
            secret = accounts.issue_ical_secret(s, unit, now=clock.now(), by="cli", lang=state().lang)
        base = (base_url or os.environ.get("STEER_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
        sys.stdout.write(f"{base}/ical/{quote(unit.strip())}/{secret}.ics\n")


def register(root: typer.Typer) -> None:
    root.command("web")(web)
    user_app.command("add")(add)
    user_app.command("passwd")(passwd)
    user_app.command("disable")(disable)
    user_app.command("token")(token)
    user_app.command("ical")(ical)
    root.add_typer(user_app, name="user")

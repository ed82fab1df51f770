"""Server side of the CLI hand-over (see cli/launch.py): run ``steer task …`` in this warm process.

A running ``steer web`` writes a server file (loopback address + random token, mode 0600)
next to its database. ``steer task note …`` started on the same machine by someone who can
read that file — i.e. who could open the database anyway — posts its command line here and
gets back exactly what the in-process CLI would have printed, because it *is* the same Typer
command, run under a lock (the CLI keeps per-invocation state in module globals).

Only loopback clients, only ``task`` commands in cli.launch.FAST_COMMANDS, only for the
database this server serves; everything else is refused so the client runs in-process.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import os
import secrets
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from cli.launch import FAST_COMMANDS, decode_request, reads_a_file, encode_response, normalize_url, read_server_file, server_file

_LOCK = threading.Lock()
_COMMAND: Any = None


def _click_command() -> Any:
    """The Typer app as a click command, built once (building it per call costs more than the work)."""
    global _COMMAND
    if _COMMAND is None:
        import typer.main

        from cli.main import app

        _COMMAND = typer.main.get_command(app)
    return _COMMAND


def run_cli(argv: list[str], *, db_url: str, lang: str) -> tuple[int, str, str]:
    """Run one ``steer`` command line in this process; (exit code, stdout, stderr)."""
    from cli import common

    cmd = _click_command()
    out, err = io.StringIO(), io.StringIO()
    with _LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), common.engine_cache():
        try:
            cmd.main(args=["--db", db_url, "--lang", lang, *argv], prog_name="steer", standalone_mode=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # a bug, not a user mistake: say so without a traceback to the client
            import logging

            logging.getLogger("steer.cli_bridge").exception("steer %s failed", " ".join(argv[:2]))
            err.write(("Lỗi nội bộ" if lang != "en" else "Internal error") + f": {type(exc).__name__}\n")
            code = 1
    return code, out.getvalue(), err.getvalue()


def make_router(db_url: str, token: str) -> APIRouter:
    router = APIRouter()
    served = normalize_url(db_url)

    @router.post("/_cli/run", include_in_schema=False)
    async def cli_run(request: Request) -> Response:
        host = request.client.host if request.client else ""
        if host not in ("127.0.0.1", "::1", "localhost", "testclient"):
            return JSONResponse({"error": "loopback only"}, status_code=403)
        auth = request.headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode())):
            return JSONResponse({"error": "bad token"}, status_code=401)
        try:
            db, lang, argv = decode_request(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "bad request"}, status_code=400)
        if len(argv) < 2 or argv[0] != "task" or argv[1] not in FAST_COMMANDS or reads_a_file(argv):
            return JSONResponse({"error": "command not served"}, status_code=404)
        if normalize_url(db) != served:
            return JSONResponse({"error": "another database"}, status_code=409)
        lang = "en" if lang.lower().startswith("en") else "vi"
        code, out, err = await run_in_threadpool(run_cli, argv, db_url=db_url, lang=lang)
        return Response(encode_response(code, out, err), media_type="application/octet-stream")

    return router


def write_server_file(db_url: str, host: str, port: int, token: str) -> str:
    """Publish the address + token (0600, atomic); returns the path."""
    path = server_file(db_url)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"host={host}\nport={port}\ntoken={token}\npid={os.getpid()}\n")
    os.replace(tmp, path)
    return path


def remove_server_file(db_url: str, token: str) -> None:
    """Remove the file if it is still ours (another server may have replaced it)."""
    path = server_file(db_url)
    try:
        if read_server_file(path)[2] != token:
            return
        os.unlink(path)
    except (OSError, ValueError, KeyError):
        pass


def client_host(bind_host: str) -> str:
    """The loopback address a local client should dial for a server bound to ``bind_host``."""
    return "::1" if bind_host == "::1" else "127.0.0.1"


@contextlib.contextmanager
def published(db_url: str, bind_host: str, port: int) -> Iterator[tuple[APIRouter, str]]:
    """Make a router and keep the server file published for the duration of the block."""
    token = secrets.token_urlsafe(32)
    router = make_router(db_url, token)
    write_server_file(db_url, client_host(bind_host), port, token)
    try:
        yield router, token
    finally:
        remove_server_file(db_url, token)

"""Where a running ``steer web`` tells local command-line clients how to reach it.

A running ``steer web`` writes a *server file* (loopback address, a random token, mode 0600)
next to its SQLite database (or, for a server database, in a per-user runtime folder); the
``steer`` launcher (``cli/launch.py``) reads it and sends quick ``steer task …`` actions to
the server's JSON API (``POST /api/v1/local/task/{command}``, ``web/localapi.py``) instead of
starting the full CLI. Whoever can read the file could open the database anyway.

Only the standard library's builtin modules here: the launcher imports this module on
every ``steer`` start, and its speed goal leaves no room for ``json``/``re``/``hashlib``.
"""

from __future__ import annotations

import os

DEFAULT_URL = "sqlite:///steer.db"  # keep equal to engine.db.DEFAULT_URL (a test checks)
SERVER_FILE_SUFFIX = ".server"
LOCAL_PATH = "/api/v1/local/task/"  # + the command name (start, note, extend, …)


def normalize_url(url: str) -> str:
    """The database URL as both sides name it: driver-qualified, SQLite paths absolute."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path, sep, query = url[len("sqlite:///"):].partition("?")
        if path and path != ":memory:":
            url = "sqlite:///" + os.path.abspath(path) + (sep + query if sep else "")
    return url


def server_file(url: str) -> str:
    """Where a server on this database leaves its address: next to a SQLite file, else in a cache dir."""
    url = normalize_url(url)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):].partition("?")[0]
        if path and path != ":memory:":
            return path + SERVER_FILE_SUFFIX
    base = os.environ.get("STEER_RUNTIME_DIR") or os.path.join(
        os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".cache"), "steer")
    return os.path.join(base, f"server-{_fnv1a64(url.encode()):016x}.server")


def _fnv1a64(data: bytes) -> int:
    """FNV-1a, 64 bits: names a server database's file without importing hashlib (its OpenSSL
    load costs a quarter of what the launcher may spend). Not a secret and not a check: two
    URLs sharing a name would only make the server refuse the other database (409), and the
    command then runs in-process."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_server_file(path: str) -> tuple[str, int, str]:
    """(host, port, token) from ``key=value`` lines."""
    with open(path, encoding="utf-8") as fh:
        info = dict(line.rstrip("\n").split("=", 1) for line in fh if "=" in line)
    return info["host"], int(info["port"]), info["token"]


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

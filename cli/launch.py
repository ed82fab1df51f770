"""The ``steer`` entry point: hand quick task commands to a running ``steer web``, else run the CLI.

Starting the full CLI costs ~0.7 s before any work is done (SQLAlchemy, Typer and Rich
imports), which is most of the time of a one-line command like ``steer task note``. When a
``steer web`` server is running on the same database it writes a *server file* (loopback
address + a random token, mode 0600) next to the database; this module, which imports only
the standard library, then sends the command line to that server, which runs the very same
Typer command in its warm process (same engine code, same audit trail) and returns the
output and exit code. Without a server, or for any other command, the full CLI runs
in-process as before.

Safety rules of the hand-over:
- only ``steer task <action>`` commands in FAST_COMMANDS, and none naming a file to read
  (``FILE_OPTIONS``: the server must never read a file on a client's behalf);
- never when ``STEER_NOW`` pins the clock (the server has its own clock) or ``--help`` is asked;
- the server refuses a request for another database (the client then runs in-process);
- the command is re-run in-process only if the connection failed *before* the request was
  sent; once sent, a lost answer is reported, never silently retried (no double action).
"""

from __future__ import annotations

import os
import sys

# Only builtin modules here: `json` pulls in `re`, and `socket` pulls in `enum` — together more
# than the whole hand-over costs. The wire format is therefore a tiny length-prefixed framing.

FAST_COMMANDS = frozenset({
    "start", "submit", "verify", "reject", "block", "unblock", "note", "extend",
    "approve-extension", "reject-extension", "cancel", "reopen", "show",
})
# Options naming a local file the command reads: such a command always runs in-process.
FILE_OPTIONS = ("--evidence-file",)
DEFAULT_URL = "sqlite:///steer.db"  # keep equal to engine.db.DEFAULT_URL (a test checks)
SERVER_FILE_SUFFIX = ".server"
PATH = "/_cli/run"


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


def _split(argv: list[str]) -> tuple[str | None, str | None, list[str]] | None:
    """(--db, --lang, the rest) when argv is a hand-over candidate, else None."""
    db = lang = None
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        if a in ("--db", "--lang") and i + 1 < len(argv):
            if a == "--db":
                db = argv[i + 1]
            else:
                lang = argv[i + 1]
            i += 2
        elif a.startswith("--db="):
            db, i = a[5:], i + 1
        elif a.startswith("--lang="):
            lang, i = a[7:], i + 1
        else:
            return None
    rest = argv[i:]
    if len(rest) < 2 or rest[0] != "task" or rest[1] not in FAST_COMMANDS:
        return None
    if any(x in ("--help", "-h") for x in rest) or reads_a_file(rest):
        return None
    return db, lang, rest


def reads_a_file(argv: list[str]) -> bool:
    """Whether the command names a local file to read (``FILE_OPTIONS``)."""
    return any(x == o or x.startswith(o + "=") for x in argv for o in FILE_OPTIONS)


def encode_request(db_url: str, lang: str, argv: list[str]) -> bytes:
    """Body: NUL-separated UTF-8 fields — database URL, language, then the command line."""
    return "\0".join([db_url, lang, *argv]).encode("utf-8")


def decode_request(body: bytes) -> tuple[str, str, list[str]]:
    db_url, lang, *argv = body.decode("utf-8").split("\0")
    return db_url, lang, argv


def encode_response(code: int, out: str, err: str) -> bytes:
    """Body: "<exit> <len(stdout)> <len(stderr)>\n" then both texts (UTF-8 byte lengths)."""
    o, e = out.encode("utf-8"), err.encode("utf-8")
    return f"{code} {len(o)} {len(e)}\n".encode("ascii") + o + e


def decode_response(body: bytes) -> tuple[int, str, str]:
    head, _, rest = body.partition(b"\n")
    code, n_out, n_err = (int(x) for x in head.split(b" "))
    if len(rest) != n_out + n_err:
        raise ValueError("truncated answer")
    return code, rest[:n_out].decode("utf-8"), rest[n_out:].decode("utf-8")


def read_server_file(path: str) -> tuple[str, int, str]:
    """(host, port, token) from ``key=value`` lines."""
    with open(path, encoding="utf-8") as fh:
        info = dict(line.rstrip("\n").split("=", 1) for line in fh if "=" in line)
    return info["host"], int(info["port"]), info["token"]


def _request(host: str, port: int, token: str, body: bytes) -> tuple[bool, int, bytes]:
    """(sent, status, body). ``sent`` is False when the server could not be reached at all."""
    import _socket  # the C module: no enum/selectors imports

    family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        try:
            sock.connect((host, port))
        except OSError:
            return False, 0, b""
        sock.settimeout(120.0)
        head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        try:
            sock.sendall(head.encode("ascii") + body)
        except OSError:
            return False, 0, b""
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return True, 0, b""
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    raw = b"".join(chunks)
    header, _, payload = raw.partition(b"\r\n\r\n")
    try:
        status = int(header.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return True, 0, b""
    if b"transfer-encoding: chunked" in header.lower():
        payload = _dechunk(payload)
    return True, status, payload


def _dechunk(data: bytes) -> bytes:
    out, i = [], 0
    while True:
        j = data.find(b"\r\n", i)
        if j < 0:
            break
        size = int(data[i:j].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(data[j + 2:j + 2 + size])
        i = j + 2 + size + 2
    return b"".join(out)


def try_server(argv: list[str]) -> int | None:
    """Run the command on a running server; its exit code, or None to run it in-process."""
    if os.environ.get("STEER_NOW") or os.environ.get("STEER_NO_SERVER"):
        return None
    split = _split(argv)
    if split is None:
        return None
    db, lang, rest = split
    url = normalize_url(db or os.environ.get("STEER_DATABASE_URL") or DEFAULT_URL)
    try:
        host, port, token = read_server_file(server_file(url))
    except (OSError, ValueError, KeyError):
        return None
    lang = lang or os.environ.get("STEER_LANG") or "vi"
    sent, status, payload = _request(host, port, token, encode_request(url, lang, rest))
    if not sent:
        return None  # nobody listening (stale file): do it here
    if status == 200:
        try:
            code, out, err = decode_response(payload)
        except (ValueError, UnicodeDecodeError):
            status = 0
        else:
            sys.stdout.write(out)
            sys.stderr.write(err)
            return code
    if status in (401, 403, 404, 409):
        return None  # not our database / token rotated / older server: nothing was done there
    en = lang.lower().startswith("en")
    sys.stderr.write(("Error: the running steer web server did not answer properly (HTTP %s); the action may or may "
                      "not have been recorded — check with «steer task show».\n" if en else
                      "Lỗi: máy chủ steer web đang chạy không trả lời đúng (HTTP %s); thao tác có thể đã hoặc chưa "
                      "được ghi — kiểm tra bằng «steer task show».\n") % (status or "-"))
    return 1


def main() -> None:
    code = try_server(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from cli.main import main as full_main

    full_main()


if __name__ == "__main__":
    main()

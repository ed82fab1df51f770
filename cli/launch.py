"""The ``steer`` entry point: hand quick task actions to a running ``steer web``, else run the CLI.

Starting the full CLI costs ~0.7 s before any work is done (SQLAlchemy, Typer and Rich
imports), which is most of the time of a one-line command like ``steer task note``. When a
``steer web`` server is running on the same database it publishes a *server file*
(``web/serverfile.py``: loopback address + a random token, mode 0600) next to the database;
this module, which imports only the standard library, then sends the action to that
server's JSON API — ``POST /api/v1/local/task/{command}`` (``web/localapi.py``) — which
performs it through the same action path as every other interface (``engine.commands``)
and answers with the exit code and the very lines the in-process CLI prints. Without a
server, or for anything else, the full CLI runs in-process as before.

Safety rules of the hand-over:
- only the ``steer task <action>`` commands in FAST_COMMANDS, with the options they take
  (no file arguments; an option the launcher does not know, a value Typer would refuse,
  ``--now`` or ``--help`` all leave the command to the full CLI, which reports it);
- never when ``STEER_NOW`` pins the clock (the server has its own clock);
- the server refuses a request for another database (the client then runs in-process);
- the command is re-run in-process only if the connection failed *before* the request was
  sent; once sent, a lost answer is reported, never silently retried (no double action).
"""

from __future__ import annotations

import os
import sys

# Builtin modules only (`json` pulls in `re`, `socket` pulls in `enum`: together more than the
# whole hand-over costs). JSON strings are written and read with the C accelerator `_json`
# that the `json` package itself uses.
import _json

from web.serverfile import DEFAULT_URL, LOCAL_PATH, normalize_url, read_server_file, server_file

__all__ = ["DEFAULT_URL", "FAST_COMMANDS", "main", "normalize_url", "server_file", "try_server"]

# command -> (required options, optional options); every command also requires --as.
# Kept in step with cli/lifecycle.py and engine.commands.CLI_TASK_COMMANDS by tests/test_cli_bridge.py.
_REASON = (("--reason",), ("--version",))
COMMAND_OPTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "start": ((), ("--note", "--override", "--version")),
    "submit": (("--evidence",), ("--note", "--override", "--version")),
    "verify": ((), ("--note", "--version")),
    "reject": _REASON,
    "block": _REASON,
    "unblock": ((), ("--note", "--version")),
    "cancel": _REASON,
    "reopen": _REASON,
    "note": (("--note",), ("--percent", "--evidence", "--version")),
    "extend": (("--until", "--reason"), ("--version",)),
    "approve-extension": ((), ("--note", "--version")),
    "reject-extension": _REASON,
}
FAST_COMMANDS = frozenset(COMMAND_OPTIONS)


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
    if any(x in ("--help", "-h") for x in rest):
        return None
    return db, lang, rest


def parse_action(rest: list[str]) -> tuple[str, str, dict[str, str]] | None:
    """(command, item, {option name without dashes: value}) for ``task COMMAND ITEM --opt v …``,
    or None when the full CLI must judge the command line (unknown option, a missing or
    malformed value, several items)."""
    command = rest[1]
    required, optional = COMMAND_OPTIONS[command]
    allowed = ("--as", *required, *optional)
    item: str | None = None
    options: dict[str, str] = {}
    i = 2
    while i < len(rest):
        a = rest[i]
        if a.startswith("--"):
            name, eq, value = a.partition("=")
            if name not in allowed:
                return None
            if not eq:
                if i + 1 >= len(rest):
                    return None
                i += 1
                value = rest[i]
            options[name[2:]] = value  # the last one wins, as in Typer
        elif a.startswith("-") and a != "-":
            return None
        elif item is None:
            item = a
        else:
            return None
        i += 1
    if item is None or any(o[2:] not in options for o in ("--as", *required)):
        return None
    try:
        if "version" in options:
            int(options["version"])
        if "percent" in options:
            float(options["percent"])
    except ValueError:
        return None  # Typer's usage error, in the full CLI
    return command, item, options


def _json_str(text: str) -> str:
    return _json.encode_basestring(text)


def encode_request(db_url: str, lang: str, item: str, options: dict[str, str]) -> bytes:
    """The JSON body: {"db": …, "lang": …, "item": …, "options": {name: value}}."""
    opts = ",".join(f"{_json_str(k)}:{_json_str(v)}" for k, v in options.items())
    return (f'{{"db":{_json_str(db_url)},"lang":{_json_str(lang)},"item":{_json_str(item)},'
            f'"options":{{{opts}}}}}').encode("utf-8")


def decode_response(body: bytes) -> tuple[int, str, str]:
    """(exit, out, err) from the server's JSON answer ``{"exit": N, "out": "…", "err": "…"}``
    (a flat object of strings and integers; anything else is a ValueError)."""
    text = body.decode("utf-8").strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("not an object")
    values: dict[str, object] = {}
    i, n = 1, len(text) - 1
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n:
            break
        if text[i] != '"':
            raise ValueError("key expected")
        key, i = _json.scanstring(text, i + 1)
        while text[i] in " \t\r\n":
            i += 1
        if text[i] != ":":
            raise ValueError("colon expected")
        i += 1
        while text[i] in " \t\r\n":
            i += 1
        if text[i] == '"':
            values[key], i = _json.scanstring(text, i + 1)
        else:
            j = i
            while j < n and text[j] not in ", \t\r\n":
                j += 1
            values[key] = int(text[i:j])
            i = j
    code, out, err = values["exit"], values.get("out", ""), values.get("err", "")
    if not isinstance(code, int) or not isinstance(out, str) or not isinstance(err, str):
        raise ValueError("bad types")
    return code, out, err


def _request(host: str, port: int, token: str, path: str, body: bytes) -> tuple[bool, int, bytes]:
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
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
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
    parsed = parse_action(rest)
    if parsed is None:
        return None
    command, item, options = parsed
    url = normalize_url(db or os.environ.get("STEER_DATABASE_URL") or DEFAULT_URL)
    try:
        host, port, token = read_server_file(server_file(url))
    except (OSError, ValueError, KeyError):
        return None
    lang = lang or os.environ.get("STEER_LANG") or "vi"
    sent, status, payload = _request(host, port, token, LOCAL_PATH + command,
                                     encode_request(url, lang, item, options))
    if not sent:
        return None  # nobody listening (stale file): do it here
    if status == 200:
        try:
            code, out, err = decode_response(payload)
        except (ValueError, UnicodeDecodeError, KeyError, IndexError):
            status = 0
        else:
            sys.stdout.write(out)
            sys.stderr.write(err)
            return code
    if status in (401, 403, 404, 409):
        return None  # not our database / token rotated / older server: nothing was done there
    # The catalog (engine.i18n) is out of reach here: importing it costs what the hand-over saves.
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

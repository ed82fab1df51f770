"""Real receivers for delivery tests: an SMTP server (aiosmtpd) and an HTTP JSON endpoint,
both on 127.0.0.1 and a free port. Nothing is mocked: Apprise connects to them.

    with SmtpReceiver() as smtp, HttpReceiver() as http:
        url_mail = smtp.url("chair@lamson.example")   # mailto://…?smtp=127.0.0.1&port=…&mode=insecure
        url_hook = http.url("/hook")                  # json://127.0.0.1:PORT/hook
        ...
        smtp.messages  -> [Mail(to, subject, body, headers)]
        http.requests  -> [Hit(path, headers, payload)];  http.by_key -> Counter of Idempotency-Key

The HTTP receiver can answer 500 (``http.status = 500``) or be stopped and restarted on the
same port (``http.stop()`` → connection refused; ``http.start()``).
"""

from __future__ import annotations

import email
import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    mail_from: str
    to: list[str]
    subject: str
    body: str
    headers: dict[str, str]
    html: str = ""  # the text/html part, when there is one
    size: int = 0  # bytes of the whole message as received
    raw: bytes = b""


def _html_body(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return ""


def _text_body(msg: Message) -> str:
    if msg.is_multipart():
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        return ""
    payload = msg.get_payload(decode=True)
    return payload.decode(msg.get_content_charset() or "utf-8") if payload else ""


class _SmtpHandler:
    def __init__(self, sink: list[Mail], lock: threading.Lock):
        self.sink, self.lock = sink, lock

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        msg = email.message_from_bytes(envelope.content)
        mail = Mail(mail_from=envelope.mail_from, to=list(envelope.rcpt_tos),
                    subject=str(make_header(decode_header(msg.get("Subject", "")))),
                    body=_text_body(msg), headers={k: str(v) for k, v in msg.items()}, html=_html_body(msg),
                    size=len(envelope.content), raw=envelope.content)
        with self.lock:
            self.sink.append(mail)
        return "250 OK"


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list[Mail] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(_SmtpHandler(self.messages, self._lock), hostname="127.0.0.1", port=self.port)

    def url(self, to: str, sender: str = "bcd57@lamson.example") -> str:
        return f"mailto://steer@localhost?smtp=127.0.0.1&port={self.port}&mode=insecure&from={sender}&to={to}"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.messages if address in m.to]

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]
    status: int


@dataclass
class HttpReceiver:
    """JSON webhook receiver. ``status`` is what it answers; ``requests`` every request it got."""

    status: int = 200
    requests: list[Hit] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    @property
    def accepted(self) -> list[Hit]:
        """Requests answered 2xx."""
        with self._lock:
            return [h for h in self.requests if 200 <= h.status < 300]

    @property
    def by_key(self) -> Counter[str]:
        """Accepted requests per Idempotency-Key (a key seen twice = a duplicate delivery)."""
        return Counter(h.headers.get("Idempotency-Key", "") for h in self.accepted)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {"raw": raw.decode("utf-8", "replace")}
                code = receiver.status
                with receiver._lock:
                    receiver.requests.append(Hit(self.path, dict(self.headers.items()), payload, code))
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the socket: further connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

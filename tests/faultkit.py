"""Tools for the fault and scale tests (tests/test_faults_*.py, tests/test_scale_*.py).

Nothing here is a mock: the receiver is a real HTTP server Apprise connects to, the proxy
forwards real PostgreSQL traffic, dispatchers are real ``steer`` processes.

* ``KeyReceiver`` — a threaded ``json://`` endpoint that records the ``Idempotency-Key`` of
  every request it accepted; it can answer slowly (``delay``) or hold its N-th request
  until released (``hold_at``), so a dispatcher can be killed while a message is in flight.
* ``PgProxy`` — a TCP proxy in front of PostgreSQL. ``down()`` closes every connection and
  refuses new ones, ``up()`` listens again on the same port. ``cut_after(marker)`` lets
  the first statement containing ``marker`` through, waits until the server reports it
  complete (CommandComplete, e.g. ``INSERT 0 6``; ``trip_info`` keeps the tag) and then
  goes down without passing that answer on: the statement ran in the server inside an
  open transaction, the client never learns it, the connection dies.
* ``seed_outbox`` — directory + one plan whose N tasks are each led by their own unit, with
  one due ``overdue`` outbox row per unit, written with bulk inserts (detection is tested
  elsewhere; these tests are about delivery). One unit = one recipient = one message.
* ``start_dispatcher`` — ``steer --db URL escalation dispatch --now …`` as a process
  (stdout/stderr to files: 10,000 output lines would fill a pipe).
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select as sa_select

from engine.db import transaction
from engine.models import OutboxMessage, Task, TaskUnit, Unit, WorkItem
from tests.factories import T0, make_directory, make_plan
from tests.receivers import free_port

REPO = Path(__file__).resolve().parent.parent
STEER = str(Path(sys.executable).parent / "steer")
HOST = socket.gethostname()


# --- receiver -----------------------------------------------------------------------------------


@dataclass
class Got:
    key: str
    path: str
    title: str
    message: str
    at: float


class KeyReceiver:
    """JSON webhook receiver counting deliveries per idempotency key.

    ``delay``: seconds to wait before answering each request. ``hold_at``: the N-th request
    (1-based) is recorded as accepted, then its answer waits until ``release()``;
    ``held`` is set when it arrived. A request counts as delivered once its body has been
    read (what a receiver that processes before answering would do)."""

    def __init__(self, *, delay: float = 0.0, hold_at: int | None = None, keep_bodies: bool = True) -> None:
        self.delay, self.hold_at, self.keep_bodies = delay, hold_at, keep_bodies
        self.got: list[Got] = []
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.got)

    @property
    def by_key(self) -> Counter[str]:
        with self._lock:
            return Counter(g.key for g in self.got)

    def release(self) -> None:
        self._release.set()

    def start(self) -> KeyReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload: dict[str, Any] = {}
                if receiver.keep_bodies:
                    try:
                        payload = json.loads(raw or b"{}")
                    except ValueError:
                        payload = {}
                with receiver._lock:
                    receiver.got.append(Got(self.headers.get("Idempotency-Key", ""), self.path,
                                            str(payload.get("title", "")), str(payload.get("message", "")),
                                            time.monotonic()))
                    n = len(receiver.got)
                if receiver.hold_at is not None and n == receiver.hold_at:
                    receiver.held.set()
                    receiver._release.wait(120)
                elif receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender died while we held its request
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> KeyReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- PostgreSQL proxy ----------------------------------------------------------------------------


# CommandComplete: 'C', int32 length, tag ("INSERT 0 6", "SELECT 1", ...), NUL
_COMMAND_DONE = re.compile(rb"C\x00\x00\x00.([A-Z]+(?: \d+)+)\x00", re.DOTALL)


class PgProxy:
    """A TCP proxy to PostgreSQL that can go down (refuse and drop) and come back."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.connections = 0          # accepted while up
        self.tripped = threading.Event()
        self.trip_info: dict[str, Any] = {}
        self._marker: bytes | None = None
        self._restore_after: float | None = None
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._listener: socket.socket | None = None

    def url(self, pg_url: str) -> str:
        """``pg_url`` with host and port replaced by the proxy's (and SSL off: the proxy reads the bytes)."""
        from sqlalchemy.engine import make_url

        u = make_url(pg_url).set(host="127.0.0.1", port=self.port)
        q = dict(u.query)
        q["sslmode"] = "disable"
        return u.set(query=q).render_as_string(hide_password=False)

    # up / down
    def up(self) -> PgProxy:
        with self._lock:
            if self._listener is not None:
                return self
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", self.port))
            ls.listen(64)
            self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()
        return self

    def down(self) -> None:
        """Refuse new connections and drop every open one (both ends see a closed socket)."""
        with self._lock:
            ls, self._listener = self._listener, None
            socks, self._socks = set(self._socks), set()
        if ls is not None:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def cut_after(self, marker: bytes, *, restore_after: float | None = None) -> None:
        """Go down right after the server completed the first statement containing ``marker``,
        before the client sees the result; come back after ``restore_after`` s (None: stay down)."""
        self._marker, self._restore_after = marker, restore_after
        self.tripped.clear()

    def __enter__(self) -> PgProxy:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    # plumbing
    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not ls:  # went down meanwhile
                    client.close()
                    server.close()
                    continue
                self._socks |= {client, server}
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        armed = False
        tail = b""
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [], 1.0)
                for src in readable:
                    data = src.recv(65536)
                    if not data:
                        return
                    if src is client:
                        if self._marker is not None and not self.tripped.is_set():
                            window = tail + data
                            if self._marker in window:
                                armed = True
                            tail = window[-len(self._marker):]
                        server.sendall(data)
                    else:
                        if armed and not self.tripped.is_set():
                            m = _COMMAND_DONE.search(data)
                            if m:  # the marked statement has run in the server: cut instead of answering
                                tag = m.group(1).decode()
                                self.trip_info = {"tag": tag, "rows": int(tag.rsplit(" ", 1)[1])}
                                self._marker = None
                                self.tripped.set()
                                self.down()
                                if self._restore_after is not None:
                                    threading.Timer(self._restore_after, self.up).start()
                                return
                        client.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (client, server):
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._socks -= {client, server}


# --- seeding ------------------------------------------------------------------------------------


DEADLINE = date(2025, 5, 30)


def seed_outbox(engine: Any, units: int, receiver_url: Any, *, now: datetime, per_unit: int = 1,
                plan: str = "KH-SCALE") -> list[int]:
    """``units`` units U00001… (notify URL ``receiver_url(code)``), each leading ``per_unit``
    overdue tasks of plan ``plan``, and one due ``overdue`` outbox row per work item, as
    detection writes them (dedupe key ``item:level:deadline:recipient``, ``not_before`` =
    ``next_attempt_at`` = ``now``). One unit = one recipient = one digest message listing
    its items. Returns the ids of the outbox rows."""
    codes = [f"U{i:05d}" for i in range(1, units + 1)]
    n = units * per_unit
    lead = [codes[(j - 1) % units] for j in range(1, n + 1)]          # interleaved: a unit's rows are not adjacent
    deadline = [DEADLINE - timedelta(days=(j % 7)) for j in range(1, n + 1)]
    with transaction(engine) as s:
        if s.execute(sa_select(Unit.id).limit(1)).first() is None:
            make_directory(s, now=T0)
        s.execute(insert(Unit), [dict(code=c, name=f"Đơn vị {c}", kind="commune", parent_code=None, aliases=[],
                                      former_names=[], members=[], groups=[], is_group=False,
                                      notify=[receiver_url(c)], source="directory", active=True, created_at=T0)
                                 for c in codes])
        p = make_plan(s, plan, tasks=(), now=T0, log=False)
        unit_ids = dict(s.execute(sa_select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all())
        s.execute(insert(Task), [dict(plan_id=p.id, section_id=None, code=str(j), position=j, title=f"Nhiệm vụ số {j}",
                                      deliverable="Báo cáo", lead_text=lead[j - 1], coordinating_text="",
                                      deadline=deadline[j - 1], deadline_text=deadline[j - 1].strftime("%d/%m/%Y"),
                                      deadline_kind="date", recurrence=None, vice_chair_id=None, status="active",
                                      created_at=T0, updated_at=T0) for j in range(1, n + 1)])
        task_ids = dict(s.execute(sa_select(Task.code, Task.id).where(Task.plan_id == p.id)).all())
        s.execute(insert(TaskUnit), [dict(task_id=task_ids[str(j)], unit_id=unit_ids[lead[j - 1]], role="lead",
                                          position=0) for j in range(1, n + 1)])
        s.execute(insert(WorkItem), [dict(task_id=task_ids[str(j)], unit_id=unit_ids[lead[j - 1]], occurrence="",
                                          deadline=deadline[j - 1], original_deadline=deadline[j - 1],
                                          status="not_started", version=1, updated_by="secretariat", updated_at=T0,
                                          created_at=T0)
                                     for j in range(1, n + 1)])
        items = dict(s.execute(sa_select(WorkItem.task_id, WorkItem.id)
                               .where(WorkItem.task_id.in_(list(task_ids.values())))).all())
        rows = []
        for j in range(1, n + 1):
            wid, c, d = items[task_ids[str(j)]], lead[j - 1], deadline[j - 1]
            rows.append(dict(dedupe_key=f"overdue:{d.isoformat()}:{wid}:unit:{c}", level="overdue", level_rank=3,
                             occurrence=d.isoformat(), work_item_id=wid, deadline=d, recipient=f"unit:{c}",
                             status="pending", not_before=now, next_attempt_at=now, attempts=0, delivered=[],
                             created_at=now))
        s.execute(insert(OutboxMessage), rows)
        return list(s.execute(sa_select(OutboxMessage.id).where(OutboxMessage.work_item_id.in_(list(items.values())))
                              .order_by(OutboxMessage.id)).scalars())


def outbox_state(engine: Any) -> list[dict[str, Any]]:
    """Every outbox row (id, recipient, status, batch_key, claimed_by, attempts)."""
    o = OutboxMessage
    with transaction(engine) as s:
        return [dict(r._mapping) for r in s.execute(sa_select(o.id, o.recipient, o.status, o.batch_key, o.claimed_by,
                                                              o.attempts).order_by(o.id))]


# --- dispatcher processes -----------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), "STEER_LANG": "en"}
    env.pop("STEER_DATABASE_URL", None)
    env.update(extra)
    return env


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float

    @property
    def worker(self) -> str:
        """The dispatcher's ``claimed_by`` (engine.outbox.worker_id of that process)."""
        return f"{HOST}:{self.popen.pid}"

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def kill9(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")


def start_steer(args: list[str], workdir: Path, name: str, **env: str) -> Proc:
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen([STEER, *args], cwd=REPO, env=child_env(**env), stdout=fo, stderr=fe)
    return Proc(p, out, err, time.monotonic())


def start_dispatcher(db_url: str, now: datetime, workdir: Path, name: str, *, policy: Path | None = None) -> Proc:
    args = ["--db", db_url, "escalation", "dispatch", "--now", now.isoformat()]
    if policy is not None:
        args += ["--policy", str(policy)]
    return start_steer(args, workdir, name)


def wait_until(pred: Any, timeout: float, what: str, step: float = 0.01) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def later(t: datetime, **kw: float) -> datetime:
    return t + timedelta(**kw)

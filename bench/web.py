"""Benchmark: 50 concurrent assignees writing through the running web app, next to its floor.

The app runs as a real server in a subprocess, as deployed: ``steer web`` (uvicorn, access
log on; by default as many worker processes as ``steer web`` starts by itself — one per CPU
core, at most 4 — or ``--workers N``; ``--no-access-log`` runs the same app factory
with uvicorn directly and the access log off, to measure what the log costs), on a fresh
database holding the sample directory and a generated plan (``--tasks``, default 16,000
tasks ≈ 25,000 work items over 12 departments: enough items reserved for both submit
endpoints at the fastest rate measured, each item submitted once). 50 users (focal points of those
departments, each with a session cookie from the real login form and an API token) run
from one asyncio load generator (an httpx AsyncClient per user, one keep-alive connection
each) against each endpoint:

    floor        GET /healthz                      (no DB: the app's floor, same client, same run)
    note-form    POST /items/{id}/note             (the UI path: form + CSRF token + session cookie; 303)
    note-api     POST /api/v1/items/{id}/notes     (JSON API, bearer token; 201)
    submit-form  POST /items/{id}/submit           (multipart as a browser sends it; each item once)
    submit-api   POST /api/v1/items/{id}/submit    (JSON API; each item once)

under two loads, ``--seconds`` each after a 1 s warm-up:

    max    closed loop: each user sends its next request when the answer arrives. Measures
           the throughput the server sustains; goal ≥ 0.30 × the floor's (same run, same client).
           Latency here is queueing (Little's law: 50 users / throughput), not service time.
    50/s   open loop: each user sends on a Poisson schedule (``--rate`` per user, default 1/s,
           i.e. 50 requests/s offered); latency counts from the scheduled send time, so a
           server that falls behind is charged for it. Goal: p99 < 100 ms.

Notes go to random open items of the user's own unit; submissions go to items reserved for
that user (no two users share an item), so the lifecycle refuses nothing. After each phase
the database is checked: new note events / submitted items must cover the requests that got
a success status. Also reported: server CPU per request (all uvicorn processes; PostgreSQL's
own processes are not counted). The load generator runs on the same cores as the server.

    uv run python bench/web.py [--backend sqlite|postgres] [--seconds 8] [--users 50] [--rate 1]
                               [--workers 1 --workers 2] [--no-access-log] [--endpoint note-form …]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import backends as available_backends, fresh_db, machine  # noqa: E402

NOW = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
PASSWORD = "bench-password-1"
GOAL_RATIO, GOAL_P99_MS = 0.30, 100.0
CSRF_RE = re.compile(r'<meta\s+name="csrf-token"\s+content="([^"]+)"')
CSRF_INPUT_RE = re.compile(r'name="csrf_token"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrf_token"')


@dataclass
class User:
    name: str
    unit: str
    token: str = ""
    note_items: list[int] = field(default_factory=list)
    submit_form_items: list[int] = field(default_factory=list)
    submit_api_items: list[int] = field(default_factory=list)


# --- data --------------------------------------------------------------------------------------


def seed(url: str, workdir: Path, *, tasks: int, users: int) -> list[User]:
    """Sample directory + a generated plan + `users` focal-point accounts spread over the busiest units."""
    from sqlalchemy import func, select

    from bench.load_plan import generate_csv
    from engine import accounts
    from engine import db as dbmod
    from engine.db import transaction
    from engine.directory_store import parse_directory_file, store_directory
    from engine.models import Unit, WorkItem
    from engine.planfile.loader import load_plan_spec
    from engine.planfile.readers import read_plan_file

    eng = dbmod.make_engine(url)
    with transaction(eng) as s:
        store_directory(s, parse_directory_file(ROOT / "plans" / "sample-directory.yaml"), now=NOW)
    csv_path = workdir / "bench-web-plan.csv"
    generate_csv(csv_path, tasks)
    load_plan_spec(eng, read_plan_file(csv_path), now=NOW, code="BENCH-WEB")
    with transaction(eng) as s:
        counts = s.execute(select(Unit.code, func.count(WorkItem.id)).join(WorkItem, WorkItem.unit_id == Unit.id)
                           .where(WorkItem.status == "not_started").group_by(Unit.code)
                           .order_by(func.count(WorkItem.id).desc())).all()
        units = [code for code, n in counts if n >= 20][:12]
        if not units:
            raise SystemExit("bench/web.py: the generated plan gave no unit with items")
        out = [User(name=f"bench_u{i:02d}", unit=units[i % len(units)]) for i in range(users)]
        for u in out:
            accounts.add_user(s, u.name, password=PASSWORD, now=NOW, name=f"Người thử tải {u.name}",
                              role="focal_point", unit=u.unit)
            u.token = accounts.issue_api_token(s, u.name, now=NOW)
        rnd = random.Random(7)
        for code in units:
            ids = list(s.execute(select(WorkItem.id).join(Unit, Unit.id == WorkItem.unit_id)
                                 .where(Unit.code == code, WorkItem.status == "not_started")
                                 .order_by(WorkItem.id)).scalars())
            rnd.shuffle(ids)
            mine = [u for u in out if u.unit == code]
            n_note = max(10, len(ids) // 5)
            note, rest = ids[:n_note], ids[n_note:]
            for k, u in enumerate(mine):
                u.note_items = note
                share = rest[k::len(mine)]
                u.submit_form_items, u.submit_api_items = share[::2], share[1::2]
    eng.dispose()
    return out


def count_writes(url: str) -> tuple[int, int]:
    """(note events, submitted items) — checked against the successful requests."""
    from sqlalchemy import func, select

    from engine import db as dbmod
    from engine.db import transaction
    from engine.models import Event, WorkItem

    eng = dbmod.make_engine(url)
    with transaction(eng) as s:
        notes = s.scalar(select(func.count()).select_from(Event).where(Event.kind == "note"))
        submitted = s.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.status == "submitted"))
    eng.dispose()
    return int(notes or 0), int(submitted or 0)


# --- the server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, workdir: Path, workers: int | None, *, access_log: bool = True) -> None:
        from cli.web import default_workers

        chosen = default_workers(workers or 0)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        uploads = workdir / f"uploads-{secrets.token_hex(3)}"
        uploads.mkdir()
        env = dict(os.environ, STEER_SECRET_KEY=secrets.token_urlsafe(32), STEER_DATABASE_URL=url,
                   STEER_UPLOAD_DIR=str(uploads), PYTHONPATH=str(ROOT), STEER_LANG="vi")
        env.pop("STEER_NOW", None)
        steer = Path(sys.executable).parent / "steer"
        if access_log:  # what a deployment runs: `steer web` (uvicorn, access log at info level)
            self.label = f"steer web ×{chosen}" + (" (default)" if not workers else "")
            cmd = [str(steer), "--db", url, "web", "--host", "127.0.0.1", "--port", str(self.port),
                   "--upload-dir", str(uploads)] + (["--workers", str(workers)] if workers else [])
        else:  # diagnostic: the same app factory without uvicorn's access log
            self.label = f"uvicorn ×{chosen} no-log"
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "web.app:app_from_env", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(chosen), "--no-access-log", "--log-level", "warning"]
        self.log = (workdir / f"server-{self.port}.log").open("w+")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        self.log.seek(0)
        raise SystemExit(f"bench/web.py: the server did not start:\n{self.log.read()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def tail(self, n: int = 3000) -> str:
        try:
            return Path(self.log.name).read_text()[-n:]
        except OSError:
            return ""


# --- the load -------------------------------------------------------------------------------------


def _csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    if m:
        return m.group(1)
    m = CSRF_INPUT_RE.search(html)
    if m:
        return m.group(1) or m.group(2)
    raise RuntimeError("no CSRF token in the page")


async def login(client, user: User) -> str:  # type: ignore[no-untyped-def]
    """The login form as a browser fills it; returns the CSRF token of the logged-in session."""
    r = await client.get("/login")
    r.raise_for_status()
    r = await client.post("/login", data={"username": user.name, "password": PASSWORD, "csrf_token": _csrf(r.text),
                                          "next": "/items"})
    if r.status_code != 303:
        raise RuntimeError(f"login of {user.name} failed: HTTP {r.status_code} {r.text[:300]}")
    r = await client.get(f"/items/{user.note_items[0]}")
    if r.status_code != 200:
        raise RuntimeError(f"{user.name} cannot open item {user.note_items[0]}: HTTP {r.status_code}")
    return _csrf(r.text)


@dataclass
class PhaseResult:
    latencies: list[float]
    ok: int
    errors: dict[str, int]
    seconds: float


Request = Callable[[int], Awaitable[tuple[bool, str]]]


class Exhausted(Exception):
    """A worker has no item left to submit (its phase ends early)."""


async def run_phase(makers: list[Request], seconds: float, *, rate: float | None = None,
                    warmup: float = 1.0, seed: int = 5) -> PhaseResult:
    """Each user (one coroutine, one connection) sends requests until time is up.

    ``rate`` None: closed loop, the next request as soon as the previous answer arrives
    (saturation: the throughput a server sustains). ``rate`` r: open loop, each user sends on a
    Poisson schedule of r requests/s; latency counts from the *scheduled* send time, so a
    server that falls behind is charged for the queueing (no coordinated omission).
    Only requests scheduled after the warm-up count."""
    loop = asyncio.get_running_loop()
    t_start = loop.time()
    t_measure, t_end = t_start + warmup, t_start + warmup + seconds
    lat: list[float] = []
    errors: dict[str, int] = {}
    ok = 0
    last_done = t_measure

    async def worker(k: int, make: Request) -> None:
        nonlocal ok, last_done
        rnd = random.Random(seed * 1000 + k)
        i = 0
        due = t_start + (rnd.expovariate(rate) if rate else 0.0)
        while True:
            now_ = loop.time()
            if rate:
                if due >= t_end:
                    return
                if due > now_:
                    await asyncio.sleep(due - now_)
                t0 = due
                due += rnd.expovariate(rate)
            else:
                if now_ >= t_end:
                    return
                t0 = now_
            try:
                good, why = await make(i)
            except Exhausted:
                return
            except Exception as exc:  # network error: count it
                good, why = False, type(exc).__name__
            t1 = loop.time()
            i += 1
            if t0 >= t_measure:
                lat.append(t1 - t0)
                last_done = max(last_done, t1)
                if good:
                    ok += 1
                else:
                    errors[why] = errors.get(why, 0) + 1

    await asyncio.gather(*(worker(k, m) for k, m in enumerate(makers)))
    span = (t_end - t_measure) if rate else (min(last_done, t_end + 5) - t_measure)
    return PhaseResult(lat, ok, errors, max(span, 1e-9))


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def server_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every process in the server's process group (uvicorn workers too)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp), after pid and (comm)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


ENDPOINTS = [
    ("floor", "GET /healthz", None),
    ("note-form", "POST /items/{id}/note (form)", "notes"),
    ("note-api", "POST /api/v1/items/{id}/notes", "notes"),
    ("submit-form", "POST /items/{id}/submit (multipart)", "submitted"),
    ("submit-api", "POST /api/v1/items/{id}/submit", "submitted"),
]


async def _bench_backend(backend: str, url: str, users: list[User], server: Server, seconds: float,
                         rate: float | None = 1.0, only: list[str] | None = None) -> list[dict]:
    import httpx

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=server.base, follow_redirects=False, timeout=60, limits=limits)
               for _ in users]
    api = [httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits,
                             headers={"Authorization": f"Bearer {u.token}"}) for u in users]
    # submissions: each user's reserved items, consumed across both phases (each item once)
    form_pool = [iter(u.submit_form_items) for u in users]
    api_pool = [iter(u.submit_api_items) for u in users]
    try:
        csrf = await asyncio.gather(*(login(c, u) for c, u in zip(clients, users)))
        rnd = random.Random(11)

        def floor(k: int) -> Request:
            async def go(i: int) -> tuple[bool, str]:
                r = await clients[k].get("/healthz")
                return r.status_code == 200, str(r.status_code)
            return go

        def note_form(k: int) -> Request:
            u = users[k]

            async def go(i: int) -> tuple[bool, str]:
                item = rnd.choice(u.note_items)
                r = await clients[k].post(f"/items/{item}/note", data={
                    "csrf_token": csrf[k], "text": f"Tiến độ lần {i} của {u.name}", "percent": str(i % 100)})
                return r.status_code == 303 and "/login" not in r.headers.get("location", ""), str(r.status_code)
            return go

        def note_api(k: int) -> Request:
            u = users[k]

            async def go(i: int) -> tuple[bool, str]:
                item = rnd.choice(u.note_items)
                r = await api[k].post(f"/api/v1/items/{item}/notes",
                                      json={"text": f"Tiến độ (API) lần {i} của {u.name}", "percent": i % 100})
                return r.status_code == 201, str(r.status_code)
            return go

        def submit_form(k: int) -> Request:
            u = users[k]

            async def go(i: int) -> tuple[bool, str]:
                item = next(form_pool[k], None)
                if item is None:
                    raise Exhausted  # this user has submitted every item reserved for it
                # what a browser sends for the submit form with no file chosen: an empty file part
                r = await clients[k].post(f"/items/{item}/submit",
                                          data={"csrf_token": csrf[k], "evidence": f"Văn bản số {i}/{u.name}"},
                                          files={"file": ("", b"", "application/octet-stream")})
                return r.status_code == 303 and "/login" not in r.headers.get("location", ""), str(r.status_code)
            return go

        def submit_api(k: int) -> Request:
            u = users[k]

            async def go(i: int) -> tuple[bool, str]:
                item = next(api_pool[k], None)
                if item is None:
                    raise Exhausted
                r = await api[k].post(f"/api/v1/items/{item}/submit", json={"evidence": f"Công văn số {i}/{u.name}"})
                return r.status_code == 200, str(r.status_code)
            return go

        makers = {"floor": floor, "note-form": note_form, "note-api": note_api, "submit-form": submit_form,
                  "submit-api": submit_api}
        modes: list[float | None] = [None] + ([rate] if rate else [])
        rows: list[dict] = []
        floor_rps: float | None = None
        for name, label, check in ENDPOINTS:
            if only and name != "floor" and name not in only:
                continue
            for mode_rate in modes:
                before = count_writes(url) if check else (0, 0)
                cpu0 = server_cpu_seconds(server.proc.pid)
                res = await run_phase([makers[name](k) for k in range(len(users))], seconds, rate=mode_rate)
                cpu1 = server_cpu_seconds(server.proc.pid)
                after = count_writes(url) if check else (0, 0)
                lat = sorted(res.latencies)
                ok_rps = res.ok / res.seconds
                if name == "floor" and mode_rate is None:
                    floor_rps = ok_rps
                # every success must be in the database (warm-up writes are counted in the delta too)
                written_ok = None
                if check is not None:
                    delta = (after[0] - before[0]) if check == "notes" else (after[1] - before[1])
                    written_ok = delta >= res.ok
                n_all = len(lat)
                row = {
                    "backend": backend, "server": server.label, "users": len(users), "endpoint": name,
                    "request": label, "mode": "max" if mode_rate is None else f"{mode_rate * len(users):g}/s",
                    "offered_rps": None if mode_rate is None else mode_rate * len(users),
                    "requests": n_all, "ok": res.ok, "errors": dict(res.errors), "seconds": round(res.seconds, 2),
                    "rps": ok_rps, "p50_ms": _pct(lat, 0.50) * 1000, "p99_ms": _pct(lat, 0.99) * 1000,
                    "ratio": (ok_rps / floor_rps) if (floor_rps and mode_rate is None) else None,
                    # server CPU per request (warm-up requests included in the CPU, so a slight overestimate)
                    "cpu_ms": 1000 * (cpu1 - cpu0) / n_all if n_all else None, "written_ok": written_ok,
                }
                if name == "floor" or not n_all:  # no goal for the floor, nor for a phase with no item left
                    row["goal_met"] = None
                elif mode_rate is None:  # throughput goal at saturation
                    row["goal_met"] = bool(row["ratio"] is not None and row["ratio"] >= GOAL_RATIO
                                           and not row["errors"] and written_ok is not False)
                else:  # latency goal at a steady offered load
                    row["goal_met"] = bool(row["p99_ms"] < GOAL_P99_MS and not row["errors"] and written_ok is not False)
                rows.append(row)
        return rows
    finally:
        await asyncio.gather(*(c.aclose() for c in clients + api))


def run(backends: list[str] | None = None, seconds: float = 8.0, *, users: int = 50, tasks: int = 16000,
        workers: list[int] | None = None, access_log: bool = True, rate: float | None = 1.0,
        only: list[str] | None = None) -> list[dict]:
    """Rows (backend, server, endpoint, mode, req/s, p50, p99, ratio to floor, ...) for bench/run_all.py.

    ``rate``: requests/s per user in the paced phase (None: saturation phase only);
    ``only``: these endpoints (names as in ENDPOINTS) besides the floor (None: all)."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        for backend in available_backends(backends):
            for w in workers or [None]:
                with fresh_db(backend, tmpd) as url:
                    people = seed(url, tmpd, tasks=tasks, users=users)
                    server = Server(url, tmpd, w, access_log=access_log)
                    try:
                        server.wait()
                        rows += asyncio.run(_bench_backend(backend, url, people, server, seconds, rate, only))
                    except BaseException:
                        print(server.tail(), file=sys.stderr)
                        raise
                    finally:
                        server.stop()
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'backend':8s} {'server':22s} {'endpoint':12s} {'load':>7s} {'req/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} "
          f"{'×floor':>6s} {'cpu ms':>6s} {'n':>6s}  goal / notes")
    for r in rows:
        notes = []
        if r["goal_met"] is not None:
            notes.append(("ok" if r["goal_met"] else "MISSED") + (" (≥0.30×floor)" if r["mode"] == "max" else " (p99<100ms)"))
        if r["errors"]:
            notes.append(f"errors {r['errors']}")
        if r["written_ok"] is False:
            notes.append("DB count mismatch")
        if not r["requests"]:
            notes.append("no reserved item left to submit (raise --tasks)")
        ratio = f"{r['ratio']:6.2f}" if r["ratio"] is not None else f"{'':6s}"
        cpu = f"{r['cpu_ms']:6.2f}" if r["cpu_ms"] is not None else f"{'—':>6s}"
        print(f"{r['backend']:8s} {r['server']:22s} {r['endpoint']:12s} {r['mode']:>7s} {r['rps']:7.1f} "
              f"{r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {ratio} {cpu} {r['requests']:6d}  {' '.join(notes)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per endpoint and load (after 1 s warm-up)")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--tasks", type=int, default=16000, help="tasks in the generated plan")
    ap.add_argument("--rate", type=float, default=1.0,
                    help="requests/s per user in the paced phase (0: saturation phase only)")
    ap.add_argument("--workers", type=int, action="append", help="uvicorn worker processes (repeatable; default: what `steer web` starts, one per core, at most 4)")
    ap.add_argument("--no-access-log", action="store_true",
                    help="diagnostic: run the app with uvicorn directly, access log off (default: `steer web`)")
    ap.add_argument("--endpoint", action="append", choices=[e[0] for e in ENDPOINTS if e[0] != "floor"],
                    help="run only this endpoint besides the floor (repeatable; default: all)")
    a = ap.parse_args()
    print(f"# web app under {a.users} concurrent users, {a.seconds:g} s per endpoint and load — {machine()}")
    print(f"# load 'max': closed loop (next request on the answer) → throughput, × the floor's; goal ≥ {GOAL_RATIO:.2f}")
    if a.rate:
        print(f"# load '{a.rate * a.users:g}/s': open loop, Poisson, {a.rate:g}/s per user, latency from the scheduled "
              f"send → goal p99 < {GOAL_P99_MS:.0f} ms")
    print("# cpu ms: server CPU per request (all worker processes); the load generator shares the same cores")
    rows = run(a.backend, a.seconds, users=a.users, tasks=a.tasks, workers=a.workers,
               access_log=not a.no_access_log, rate=a.rate or None, only=a.endpoint)
    print_table(rows)


if __name__ == "__main__":
    main()

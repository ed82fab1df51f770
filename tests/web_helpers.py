"""Shared helpers for the web tests (tests/test_web_*.py): a seeded database, the app on
it with a fixed clock, logged-in clients, and a snapshot of everything actions can change."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine import accounts
from engine.db import make_engine, transaction
from engine.models import (
    EscalationAck, Event, EvidenceFile, ExtensionRequest, Plan, ReportSnapshot, Task, WorkItem,
)
from tests.factories import PLAN_CODE, at, item_of, make_directory, make_plan

NOW = at("2025-07-15 09:00")  # a Tuesday; task 1 (deadline 30/06) is overdue
PASSWORD = "mat-khau-thu-nghiem"
SECRET = "test-secret-key-" + "k" * 24
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'

# role label -> person id (tests/factories.py personas)
PEOPLE = {
    "secretariat": "secretariat",
    "chair": "chair",
    "vice_chair": "pct_kt",          # oversees SKHCN
    "vice_chair_other": "pct_vx",    # oversees nothing here
    "focal_point": "skhcn_focal",    # the target items belong to SKHCN
    "focal_other": "snv_focal",      # another unit
    "viewer": "observer",
}

TASKS = (
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30), "title": "Ban hành kế hoạch chuyển đổi số"},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 9, 30)},
    {"code": "3", "lead": ["SKHCN", "SNV", "STC"], "deadline": date(2025, 12, 31)},
    {"code": "4", "lead": ["SNV"], "deadline": date(2025, 7, 20), "title": HOSTILE, "deliverable": HOSTILE},
)


def fast_hasher(monkeypatch: Any) -> None:
    """Real argon2id through pwdlib, with cheap parameters (tests hash a few hundred times)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    ph = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=512, parallelism=1),))
    monkeypatch.setattr(accounts, "_hasher", lambda: ph)
    monkeypatch.setattr(accounts, "_dummy_hash", lambda: ph.hash("dummy-password"))


@dataclass
class World:
    url: str
    app: Any
    upload_dir: Path
    tokens: dict[str, str]


def seed_world(db_url: str, tmp_path: Path, *, report: bool = True, **app_kw: Any) -> World:
    from web.app import create_app

    eng = make_engine(db_url)
    tokens: dict[str, str] = {}
    with transaction(eng) as s:
        make_directory(s, now=NOW)
        make_plan(s, PLAN_CODE, tasks=TASKS, now=NOW)
        for pid in PEOPLE.values():
            accounts.set_password(s, pid, PASSWORD, now=NOW)
            tokens[pid] = accounts.issue_api_token(s, pid, now=NOW)
    if report:
        from engine.snapshots import generate_report

        with transaction(eng) as s:
            generate_report(s, now=NOW, plan_code=PLAN_CODE, kind="monthly", period="2025-07", as_of=date(2025, 7, 15),
                            created_by="secretariat")
    eng.dispose()
    upload = tmp_path / "uploads"
    app = create_app(db_url, secret_key=SECRET, upload_dir=upload, now=lambda: NOW, **app_kw)
    return World(url=db_url, app=app, upload_dir=upload, tokens=tokens)


@contextmanager
def running_world(db_url: str, tmp_path: Path, monkeypatch: Any, **kw: Any) -> Iterator[World]:
    """``seed_world`` with the cheap password hasher, its engines disposed afterwards (the
    body of each web test file's ``world`` fixture)."""
    fast_hasher(monkeypatch)
    w = seed_world(db_url, tmp_path, **kw)
    try:
        yield w
    finally:
        w.app.state.db.write.dispose()
        w.app.state.db.read.dispose()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def anon(app: Any) -> tuple[TestClient, str]:
    c = TestClient(app, follow_redirects=False)
    return c, csrf_of(c.get("/login").text)


def login(app: Any, person: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    c, tok = anon(app)
    r = c.post("/login", data={"username": person, "password": password, "csrf_token": tok, "next": "/"})
    assert r.status_code == 303, (person, r.status_code, r.text[:300])
    return c, csrf_of(c.get("/account").text)


def flashes(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="flash" data-kind="([a-z]+)"[^>]*>([^<]*)<', html)


def item_id(url: str, task: str, unit: str | None = None, plan: str = PLAN_CODE) -> int:
    eng = make_engine(url)
    try:
        with transaction(eng) as s:
            return item_of(s, plan, task, unit).id
    finally:
        eng.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """Everything an action could change: events, items (version/status/deadline), requests, acks, files, plans."""
    eng = make_engine(url)
    try:
        with transaction(eng) as s:
            return {
                "events": s.execute(select(func.count()).select_from(Event)).scalar_one(),
                "items": s.execute(select(WorkItem.id, WorkItem.version, WorkItem.status, WorkItem.deadline)
                                   .order_by(WorkItem.id)).all(),
                "extensions": s.execute(select(ExtensionRequest.id, ExtensionRequest.status)
                                        .order_by(ExtensionRequest.id)).all(),
                "acks": s.execute(select(func.count()).select_from(EscalationAck)).scalar_one(),
                "files": s.execute(select(func.count()).select_from(EvidenceFile)).scalar_one(),
                "plans": s.execute(select(func.count()).select_from(Plan)).scalar_one(),
                "tasks": s.execute(select(func.count()).select_from(Task)).scalar_one(),
                "reports": s.execute(select(func.count()).select_from(ReportSnapshot)).scalar_one(),
            }
    finally:
        eng.dispose()


_counter = itertools.count(1)


def fresh_item(url: str, state: str, *, unit: str = "SKHCN", deadline: date = date(2025, 6, 30)) -> int:
    """A new one-item plan (lead ``unit``) in ``state``: not_started, in_progress, submitted,
    blocked, or "extension" (in progress with a pending extension request by the focal point)."""
    from engine import lifecycle as lc
    from engine.actors import load_actor

    code = f"M{next(_counter)}"
    eng = make_engine(url)
    try:
        with transaction(eng) as s:
            status = "in_progress" if state == "extension" else state
            make_plan(s, code, tasks=[{"code": "1", "lead": [unit], "deadline": deadline, "status": status}], now=NOW)
            w = item_of(s, code, "1")
            if status == "submitted":
                w.submitted_at = NOW
            if state == "extension":
                lc.request_extension(s, w, load_actor(s, "skhcn_focal"), now=NOW, until=date(2025, 12, 31),
                                     reason="cần thêm thời gian")
            return w.id
    finally:
        eng.dispose()

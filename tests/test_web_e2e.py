"""The web app end to end, in a real browser (Playwright driving Debian's Chromium).

One story on a live uvicorn server over a fresh, migrated SQLite database, with the clock
pinned to Monday 07/04/2025 10:00 (Hà Nội), three days after task 7's deadline
("trong 15 ngày làm việc" → 04/04/2025), so every unit that leads task 7 is red (its only
item due, 0/1 done, by the default rule: the share of the items due that are done):

1. the secretariat logs in, uploads ``plans/sample-plan.xlsx``, sees the "6 rõ" warnings
   in the preview (the same ones the engine's validator finds) and commits the plan;
2. the chair opens the heat map: Sở Xây dựng (SXD) is red;
3. SXD's focal point logs in, opens task 7 and submits it with a document number
   (also screenshotted at phone size);
4. the secretariat verifies it from the review queue;
5. the chair's heat map now shows SXD green (1/1 of its items due done; lateness does not
   change the share) while a unit that did nothing (STP) stays red; each card says why.

Screenshots of every step go to ``test-artifacts/web-e2e/``. Without a Chromium binary the
test skips with the reason; with ``CI=true`` a missing browser fails instead.
The browser runs in a worker thread so Playwright's sync API never meets an asyncio loop
that another fixture (e.g. the Prefect harness) may have left running in the main thread.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from engine import db as dbmod
from engine.db import transaction

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"
ARTIFACTS = REPO / "test-artifacts" / "web-e2e"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("STEER_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage",
                 "--disable-gpu", "--no-first-run", "--disable-extensions"]

NOW = datetime(2025, 4, 7, 3, 0, tzinfo=timezone.utc)  # Monday 07/04/2025 10:00 in Hà Nội
LOADED_AT = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
PLAN_CODE = "KH-57-LS"
UNIT, ASSIGNEE = "SXD", "sxd_focal"
CONTROL_UNIT = "STP"  # also leads task 7, does nothing in this story
TASK = "7"
PASSWORDS = {"secretariat": "thu-ky-2025!", "chair": "truong-ban-2025!", ASSIGNEE: "dau-moi-sxd-2025!"}
SIX_RO = {"no_deadline", "no_lead", "no_deliverable", "no_vice_chair"}  # the "6 rõ" warning codes
EVIDENCE = "Kế hoạch số 45/KH-SXD ngày 05/04/2025"


def _browser_or_skip() -> str:
    path = CHROMIUM if os.path.isabs(CHROMIUM) else (shutil.which(CHROMIUM) or "")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - dev dependency missing
        msg = f"Playwright is not installed ({exc}); run `uv sync`"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    if not path or not os.access(path, os.X_OK):
        msg = (f"no Chromium at {CHROMIUM} (apt-get install chromium, or set STEER_CHROMIUM); "
               "browser tests cannot run")
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


# --- live server ------------------------------------------------------------------------------


@dataclass
class Live:
    url: str
    db_url: str


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """uvicorn in a thread serving ``app`` on a free loopback port; yields its base URL."""
    import uvicorn

    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def live(tmp_path, _sqlite_template) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """uvicorn in a thread serving create_app() over a fresh SQLite DB with the sample directory."""
    from engine import accounts
    from engine.directory_store import parse_directory_file, store_directory
    from web.app import create_app

    path = tmp_path / "steer.db"
    shutil.copy(_sqlite_template, path)
    db_url = f"sqlite:///{path}"
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=LOADED_AT)
    with transaction(eng) as s:
        for person, pw in PASSWORDS.items():
            accounts.set_password(s, person, pw, now=LOADED_AT)
    eng.dispose()

    app = create_app(db_url, secret_key="e2e-" + "k" * 40, upload_dir=str(tmp_path / "uploads"),
                     now=lambda: NOW)
    with serving(app, "e2e-uvicorn") as url:
        yield Live(url=url, db_url=db_url)


# --- the story ----------------------------------------------------------------------------------


def _expected_six_ro(db_url: str) -> set[tuple[str, int]]:
    from engine.planfile.loader import validate_file

    eng = dbmod.make_engine(db_url)
    vp = validate_file(eng, PLANS / "sample-plan.xlsx", code=PLAN_CODE)
    eng.dispose()
    out = set()
    for issue in vp.issues:
        if issue.level == "warning" and issue.code in SIX_RO:
            out.add((issue.code, int(issue.ref.row or 0)))
    return out


def _item_state(db_url: str, item_id: int) -> tuple[str, list[dict]]:
    from sqlalchemy import select

    from engine.models import Event, WorkItem

    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        status = s.get(WorkItem, item_id).status
        events = [{"kind": e.kind, "actor": e.actor, "to": e.to_status, "evidence": e.evidence}
                  for e in s.execute(select(Event).where(Event.work_item_id == item_id)
                                                       .order_by(Event.id)).scalars()]
    eng.dispose()
    return status, events


def _plan_tasks(db_url: str) -> int | None:
    """Tasks of the plan in the database (None: not loaded)."""
    from sqlalchemy import func, select

    from engine.models import Plan, Task

    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        plan = s.execute(select(Plan).where(Plan.code == PLAN_CODE)).scalar_one_or_none()
        n = None if plan is None else s.scalar(select(func.count()).select_from(Task).where(Task.plan_id == plan.id))
    eng.dispose()
    return n


def _shot(page, name: str, *, full: bool = True) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def _login(ctx, base: str, user: str, name: str):  # type: ignore[no-untyped-def]
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("#login-username", user)
    page.fill("#login-password", PASSWORDS[user])
    _shot(page, f"{name}-login", full=False)
    with page.expect_navigation():
        page.click("#login-submit")
    assert "/login" not in page.url, f"{user} could not log in: {page.url}\n{page.inner_text('body')[:500]}"
    return page


def _flash_ok(page) -> str:  # type: ignore[no-untyped-def]
    flash = page.locator('[data-testid="flash"]').first
    assert flash.count() == 1, f"no flash message on {page.url}:\n{page.inner_text('body')[:800]}"
    text = flash.inner_text()
    assert flash.get_attribute("data-kind") == "ok", f"error flash on {page.url}: {text}"
    return text


def _heat(page, base: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/heatmap?plan={PLAN_CODE}")
    cells = page.locator('td[data-testid="heat-cell"]')
    out = {cells.nth(i).get_attribute("data-unit"): cells.nth(i).get_attribute("data-status")
           for i in range(cells.count())}
    assert out, f"no heat-map cells:\n{page.inner_text('body')[:800]}"
    assert set(out.values()) <= {"green", "yellow", "red"}, out
    return out


def _story(live: Live, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    base = live.url
    expected_warnings = _expected_six_ro(live.db_url)
    assert expected_warnings, "the sample plan should have '6 rõ' warnings"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            desk = {"viewport": {"width": 1280, "height": 900}, "locale": "vi-VN"}
            # 1. secretariat: upload, preview with the "6 rõ" warnings, commit
            sec_ctx = browser.new_context(**desk)
            sec = _login(sec_ctx, base, "secretariat", "01-secretariat")
            assert sec.url.rstrip("/").endswith("/review"), sec.url
            _shot(sec, "02-secretariat-review-empty")
            sec.goto(f"{base}/plans/upload")
            sec.set_input_files("#plan-file", str(PLANS / "sample-plan.xlsx"))
            sec.fill("#plan-code", PLAN_CODE)
            with sec.expect_navigation():
                sec.click('[data-testid="upload-submit"]')
            assert sec.locator('[data-testid="preview-errors"] li[data-testid="error"]').count() == 0
            assert "80" in sec.locator('[data-testid="preview-task-count"]').inner_text()
            warnings = sec.locator('ul[data-testid="preview-warnings"] li[data-testid="warning"]')
            shown = {(warnings.nth(i).get_attribute("data-code"), int(warnings.nth(i).get_attribute("data-row") or 0))
                     for i in range(warnings.count())}
            assert expected_warnings <= shown, f"preview warnings {shown} miss {expected_warnings - shown}"
            assert "rõ" in sec.locator('ul[data-testid="preview-warnings"]').inner_text()
            _shot(sec, "03-secretariat-upload-preview")
            assert _plan_tasks(live.db_url) is None, "the preview must not write the plan"
            with sec.expect_navigation():
                sec.click('[data-testid="commit-plan"]')
            assert sec.url.rstrip("/").endswith("/plans"), sec.url
            _flash_ok(sec)
            assert PLAN_CODE in sec.inner_text("body")
            assert _plan_tasks(live.db_url) == 80
            _shot(sec, "04-secretariat-plan-committed")

            # 2. chair: heat map before
            chair_ctx = browser.new_context(**desk)
            chair = _login(chair_ctx, base, "chair", "05-chair")
            before = _heat(chair, base)
            _shot(chair, "06-chair-heatmap-before")
            assert before.get(UNIT) == "red", before
            assert before.get(CONTROL_UNIT) == "red", before

            # 3. assignee: find task 7 of SXD, submit with a document number
            f_ctx = browser.new_context(**desk)
            f = _login(f_ctx, base, ASSIGNEE, "07-assignee")
            assert f.url.rstrip("/").endswith("/items"), f.url
            rows = f.locator('tr[data-testid="item-row"]')
            assert rows.count() > 0
            units = {rows.nth(i).get_attribute("data-unit") for i in range(rows.count())}
            assert units == {UNIT}, f"a focal point of {UNIT} sees items of {units}"
            _shot(f, "08-assignee-items")
            # the CLI reference of task 7's SXD share: "KH-57-LS/7" or "KH-57-LS/7@SXD"
            ref_re = re.compile(rf"^{re.escape(PLAN_CODE)}/{TASK}(@{UNIT})?$")
            refs = [rows.nth(i).get_attribute("data-ref") or "" for i in range(rows.count())]
            hits = [i for i, ref in enumerate(refs) if ref_re.match(ref)]
            assert len(hits) == 1, f"task {TASK} not found once among the rows {refs}"
            row = rows.nth(hits[0])
            item_id = int(row.get_attribute("data-item-id"))

            # the same pages at phone size (a focal point often works from a phone)
            phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="vi-VN")
            ph = _login(phone, base, ASSIGNEE, "09-phone")
            _shot(ph, "10-phone-assignee-items")
            ph.goto(f"{base}/items/{item_id}")
            assert ph.locator('[data-testid="action-submit"]').is_visible()
            _shot(ph, "11-phone-assignee-item")
            for what in ("items", f"items/{item_id}"):
                ph.goto(f"{base}/{what}")
                width = ph.evaluate("document.documentElement.scrollWidth")
                assert width <= 390 + 1, f"/{what} scrolls sideways at phone size ({width}px wide)"

            with f.expect_navigation():
                row.locator('a[data-testid="item-link"]').click()
            assert f.url.rstrip("/").endswith(f"/items/{item_id}"), f.url
            f.fill("#evidence", EVIDENCE)
            _shot(f, "12-assignee-item-before-submit")
            with f.expect_navigation():
                f.click('[data-testid="action-submit"]')
            _flash_ok(f)
            assert EVIDENCE in f.inner_text("body")
            _shot(f, "13-assignee-item-submitted")
            status, events = _item_state(live.db_url, item_id)
            assert status == "submitted", status
            assert any(e["actor"] == ASSIGNEE and e["to"] == "submitted" and EVIDENCE in (e["evidence"] or "")
                       for e in events), events

            ph.goto(f"{base}/items/{item_id}")
            _shot(ph, "14-phone-assignee-item-submitted")
            phone.close()

            # 4. secretariat: verify from the review queue
            sec.goto(f"{base}/review")
            review = sec.locator(f'tr[data-testid="review-row"][data-item-id="{item_id}"]')
            assert review.count() == 1, sec.inner_text("body")[:800]
            assert EVIDENCE in review.inner_text()
            _shot(sec, "15-secretariat-review-queue")
            with sec.expect_navigation():
                review.locator('[data-testid="review-verify"]').click()
            _flash_ok(sec)
            assert sec.locator(f'tr[data-testid="review-row"][data-item-id="{item_id}"]').count() == 0
            _shot(sec, "16-secretariat-verified")
            status, _ = _item_state(live.db_url, item_id)
            assert status == "completed", status

            # 5. chair: heat map after
            after = _heat(chair, base)
            _shot(chair, "17-chair-heatmap-after")
            assert after[UNIT] != before[UNIT], (before[UNIT], after[UNIT])
            assert after[UNIT] == "green", after[UNIT]  # 1/1 item due done (late: the share counts it)
            assert after[CONTROL_UNIT] == "red"
            reason = chair.locator(f'[data-testid="heat-cell"][data-unit="{UNIT}"] [data-testid="heat-reason"]')
            assert reason.inner_text() == "1/1 việc đến hạn đã xong", reason.inner_text()
            control = chair.locator(f'[data-testid="heat-cell"][data-unit="{CONTROL_UNIT}"] [data-testid="heat-reason"]')
            assert control.inner_text() == "0/1 việc đến hạn đã xong; 1 quá hạn: NV 7 (3 ngày)", control.inner_text()
            changed = {u for u in after if after[u] != before.get(u)}
            assert changed == {UNIT}, f"only {UNIT} should change colour, changed: {changed}"
        finally:
            browser.close()


@pytest.fixture
def chromium() -> str:
    """Path of the Chromium binary (asked for before the server starts, so a skip is quick)."""
    return _browser_or_skip()


def test_secretariat_uploads_assignee_submits_secretariat_verifies_chair_sees_colour_change(chromium, live):
    for old in ARTIFACTS.glob("*.png") if ARTIFACTS.exists() else []:
        old.unlink()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2e-browser") as pool:
        pool.submit(_story, live, chromium).result(timeout=240)
    shots = sorted(x.name for x in ARTIFACTS.glob("*.png"))
    assert len(shots) >= 17, shots


def test_phone_login_page_fits_and_bad_password_is_refused(chromium, live):
    """The login form at phone size: no sideways scrolling; a wrong password stays on the form with an error."""

    def run() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
                page = ctx.new_page()
                page.goto(f"{live.url}/login")
                page.fill("#login-username", ASSIGNEE)
                page.fill("#login-password", "sai-mat-khau")
                with page.expect_navigation():
                    page.click("#login-submit")
                err = page.locator('[data-testid="login-error"]')
                assert err.count() == 1 and err.inner_text().strip(), page.inner_text("body")[:500]
                assert re.search(r"/login", page.url), page.url
                assert page.evaluate("document.documentElement.scrollWidth") <= 361
                _shot(page, "18-phone-login-error", full=False)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result(timeout=120)

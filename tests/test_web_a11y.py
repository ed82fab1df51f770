"""Web pages everyone can use on a slow phone (issue 24): axe-core, titles, compression, the report view.

A live uvicorn server over the demo's database (sample directory, the 80-task plan KH-57-LS,
the scripted history to 01/08/2025 and the stored monthly report of 07/2025 — the same steps
as ``steer demo``), clock pinned to 01/08/2025 08:00 (Hà Nội), driven by Debian's Chromium:

- axe-core (WCAG 2.0/2.1 A and AA rules) over every page a person meets: login, item list,
  item, review queue, upload preview, heat map, overdue list, stored reports, the report
  view, 403/404 and the one-click link pages: no critical or serious violation. The check is
  shown to bite: the heat-map cards painted in the old green (#1e8e3e, 4.21:1 against white)
  are a colour-contrast violation.
- every page has its own ``<title>`` ("… — Steer");
- the report view of the monthly report transfers under 150 KB compressed (page, stylesheet
  and its three charts) and fits a 390 px screen without sideways scrolling.

Without a browser (TestClient on the web tests' world): HTML is gzip-compressed when the
client asks, static files carry cache headers, there is a favicon, and the report view links
its charts as cached SVG files rendered once per stored report.

axe-core comes from the PyPI dev dependency ``axe-playwright-python`` (its bundled
``axe.min.js``; ``STEER_AXE_JS`` may point at another build). Screenshots of the heat map and
the report view (desktop 1366×768 and phone 390×844) go to ``test-artifacts/web-a11y/``;
the axe results to ``test-artifacts/web-a11y/axe.json``. Without Chromium the tests skip
with the reason; with ``CI=true`` they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import accounts, clock
from engine import db as dbmod
from engine import lifecycle as lc
from engine.actors import load_actor
from engine.db import transaction
from engine.directory_store import parse_directory_file, store_directory
from engine.history import replay_history
from engine.links import make_token
from engine.models import Unit, WorkItem
from engine.planfile.loader import load_plan_file
from engine.snapshots import generate_report
from tests.test_web_e2e import CHROMIUM_ARGS, IN_CI, _browser_or_skip, serving
from tests.web_helpers import anon, login, running_world
from web import reportview
from web.app import create_app

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"
ARTIFACTS = REPO / "test-artifacts" / "web-a11y"
PLAN_CODE = "KH-57-LS"
LOAD_AT = date(2025, 3, 16)  # as cli/demo_run.py
AS_OF = date(2025, 8, 1)
NOW = datetime(2025, 8, 1, 1, 0, tzinfo=timezone.utc)  # 01/08/2025 08:00 in Hà Nội
SECRET = "a11y-" + "k" * 40
PASSWORDS = {"secretariat": "thu-ky-2025!", "chair": "truong-ban-2025!", "sxd_focal": "dau-moi-sxd-2025!"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BAD = {"critical", "serious"}
OLD_GREEN = "rgb(30, 142, 62)"  # #1e8e3e, the heat map's green before issue 24
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "vi-VN"}
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "vi-VN"}


@dataclass
class Site:
    url: str
    db_url: str
    report_id: int
    item_id: int        # an item of SXD the focal point can act on
    submitted_id: int   # an item waiting in the review queue
    ack_token: str
    expired_token: str


def _demo_database(path: Path, template: Path) -> tuple[str, int, int, int]:
    """The demo's database (cli/demo_run.py steps, without its printing and escalation):
    the URL, the monthly report's id, an open SXD item and a submitted item."""
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    eng = dbmod.make_engine(url)
    try:
        load_now = clock.local_datetime(LOAD_AT, dtime(8, 0))
        with transaction(eng) as s:
            store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=load_now)
        load_plan_file(eng, PLANS / "sample-plan.yaml", now=load_now)
        replay_history(eng, PLANS / "sample-history.yaml")
        with transaction(eng) as s:
            _, report_id = generate_report(s, now=clock.local_datetime(AS_OF, dtime(8, 0)), plan_code=PLAN_CODE,
                                           kind="monthly", period="2025-07", as_of=AS_OF, created_by="secretariat")
            for person, pw in PASSWORDS.items():
                accounts.set_password(s, person, pw, now=NOW)
        with transaction(eng) as s:
            sxd = s.execute(select(Unit.id).where(Unit.code == "SXD")).scalar_one()
            item = s.execute(select(WorkItem.id).where(WorkItem.unit_id == sxd, WorkItem.status.in_(
                ("not_started", "in_progress"))).order_by(WorkItem.id)).scalars().first()
            submitted = s.execute(select(WorkItem.id).where(WorkItem.status == "submitted")
                                  .order_by(WorkItem.id)).scalars().first()
        if submitted is None:  # the review queue must show its reject-reason inputs
            with transaction(eng) as s:
                w = s.get(WorkItem, item)
                actor = load_actor(s, "sxd_focal")
                if w.status == "not_started":
                    lc.start(s, w, actor, now=NOW)
                lc.submit(s, w, actor, now=NOW, evidence="Báo cáo số 12/BC-SXD")
                submitted = w.id
            with transaction(eng) as s:
                item = s.execute(select(WorkItem.id).where(WorkItem.unit_id == sxd, WorkItem.status.in_(
                    ("not_started", "in_progress"))).order_by(WorkItem.id)).scalars().first()
        assert item is not None and report_id is not None
        return url, report_id, item, submitted
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return _browser_or_skip()


@pytest.fixture(scope="module")
def site(chromium_path, tmp_path_factory, _sqlite_template) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("a11y")
    db_url, report_id, item_id, submitted_id = _demo_database(tmp / "steer.db", _sqlite_template)
    app = create_app(db_url, secret_key=SECRET, upload_dir=str(tmp / "uploads"), now=lambda: NOW)
    ack = make_token(SECRET, purpose="ack", item_id=item_id, unit_code="SXD", expires=NOW + timedelta(days=7))
    expired = make_token(SECRET, purpose="ack", item_id=item_id, unit_code="SXD", expires=NOW - timedelta(days=1))
    try:
        with serving(app, "a11y-uvicorn") as url:
            yield Site(url=url, db_url=db_url, report_id=report_id, item_id=item_id,
                       submitted_id=submitted_id, ack_token=ack, expired_token=expired)
    finally:
        app.state.db.write.dispose()
        app.state.db.read.dispose()


# --- browser helpers -------------------------------------------------------------------------------


def _axe_script() -> str:
    override = os.environ.get("STEER_AXE_JS")
    if override:
        return Path(override).read_text(encoding="utf-8")
    try:
        from axe_playwright_python.base import AXE_SCRIPT
    except ImportError as exc:  # pragma: no cover - dev dependency missing
        msg = f"axe-playwright-python is not installed ({exc}); run `uv sync`"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return AXE_SCRIPT


def _axe(page, script: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.0/2.1 A+AA violations on the page: [{id, impact, help, nodes: [target…]}]."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(script)
    res = page.evaluate("opts => axe.run(document, opts)",
                        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(map(str, n["target"])) for n in v["nodes"]][:8], "count": len(v["nodes"])}
            for v in res["violations"]]


def _shot(page, name: str, *, full: bool = True) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def _login(browser, base: str, user: str, **ctx_kw: Any):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(**(ctx_kw or DESKTOP))
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("#login-username", user)
    page.fill("#login-password", PASSWORDS[user])
    with page.expect_navigation():
        page.click("#login-submit")
    assert "/login" not in page.url, f"{user} could not log in: {page.inner_text('body')[:300]}"
    return ctx, page


def _in_browser(fn, chromium: str, timeout: int = 300) -> Any:  # type: ignore[no-untyped-def]
    """Run ``fn(browser)`` in a worker thread (Playwright's sync API must not meet a running asyncio loop)."""

    def run() -> Any:
        from playwright.sync_api import sync_playwright  # local: a missing Playwright skips (_browser_or_skip)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                return fn(browser)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="a11y-browser") as pool:
        return pool.submit(run).result(timeout=timeout)


# --- the pages ------------------------------------------------------------------------------------


def _visit_all(browser, site: Site, script: str) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """{page name: {"url", "title", "violations"}} for every page of the check."""
    base = site.url
    out: dict[str, dict[str, Any]] = {}

    def check(name: str, page) -> None:  # type: ignore[no-untyped-def]
        out[name] = {"url": page.url, "title": page.title(), "violations": _axe(page, script)}

    anon = browser.new_context(**DESKTOP)
    page = anon.new_page()
    page.goto(f"{base}/login")
    check("login", page)
    page.goto(f"{base}/l/{site.ack_token}")
    check("link-ack", page)
    with page.expect_navigation():
        page.click('[data-testid="link-ack-confirm"]')
    check("link-done", page)
    page.goto(f"{base}/l/{site.expired_token}")
    check("link-expired", page)
    page.goto(f"{base}/l/ack.not-a-token")
    check("link-invalid", page)
    anon.close()

    ctx, sec = _login(browser, base, "secretariat")
    for name, path in (("items", "/items"), ("items-completed", "/items?status=completed"), ("item", f"/items/{site.item_id}"), ("review", "/review"),
                       ("heatmap", "/heatmap"), ("overdue", "/overdue"), ("plans", "/plans"), ("reports", "/reports"),
                       ("report", f"/reports/{site.report_id}"), ("account", "/account"),
                       ("upload", "/plans/upload"), ("progress", "/progress"), ("rollup", "/rollup"),
                       ("rollup-import", "/rollup/import"), ("404", "/items/99999999")):
        sec.goto(base + path)
        check(name, sec)
    sec.goto(f"{base}/plans/upload")
    sec.set_input_files("#plan-file", str(PLANS / "sample-plan.xlsx"))
    sec.fill("#plan-code", "KH-A11Y")
    with sec.expect_navigation():
        sec.click('[data-testid="upload-submit"]')
    check("preview", sec)
    ctx.close()

    ctx, focal = _login(browser, base, "sxd_focal")
    focal.goto(f"{base}/items")
    check("items-focal", focal)
    focal.goto(f"{base}/items/{site.item_id}")
    check("item-focal", focal)
    focal.goto(f"{base}/progress")
    check("progress-focal", focal)
    with focal.expect_download() as dl:
        focal.click('[data-testid="progress-download-link"]')
    sheet = Path(dl.value.path())
    named = sheet.with_name("tien-do.xlsx")
    shutil.copy(sheet, named)
    focal.set_input_files("#progress-file", str(named))
    with focal.expect_navigation():
        focal.click('[data-testid="progress-upload-submit"]')
    check("progress-diff", focal)
    focal.goto(f"{base}/heatmap")
    check("403", focal)
    ctx.close()
    return out


def test_axe_finds_no_serious_violation_and_every_page_has_its_own_title(site, chromium_path):
    script = _axe_script()
    pages = _in_browser(lambda b: _visit_all(b, site, script), chromium_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(json.dumps(pages, ensure_ascii=False, indent=1), encoding="utf-8")
    bad = {name: [v for v in p["violations"] if v["impact"] in BAD] for name, p in pages.items()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, "axe-core critical/serious violations:\n" + json.dumps(bad, ensure_ascii=False, indent=1)

    titles = {name: p["title"] for name, p in pages.items()}
    assert all(re.fullmatch(r".+ — Steer", t) for t in titles.values()), titles
    # the same page seen by two roles may share its title; different pages may not
    same_page = {"items-focal": "items", "item-focal": "item", "items-completed": "items", "progress-focal": "progress"}
    distinct = {name: t for name, t in titles.items() if name not in same_page}
    dupes = {t for t in distinct.values() if list(distinct.values()).count(t) > 1}
    assert not dupes, f"pages sharing a title: { {n: t for n, t in distinct.items() if t in dupes} }"
    assert titles["heatmap"] == "Bản đồ nhiệt — Steer", titles["heatmap"]


def test_the_check_catches_the_old_green_cards(site, chromium_path):
    """The same axe run flags the heat map once its cards wear the old green (#1e8e3e) again;
    each card also says its status in words, not by colour alone."""
    script = _axe_script()

    def run(browser):  # type: ignore[no-untyped-def]
        ctx, page = _login(browser, site.url, "chair")
        page.goto(f"{site.url}/heatmap")
        cards = page.locator('[data-testid="heat-cell"]')
        greens = page.locator('[data-testid="heat-cell"][data-status="green"]')
        assert greens.count() > 0, "the demo's heat map should have green units"
        words = {"green": "Đúng tiến độ", "yellow": "Cần chú ý", "red": "Chậm tiến độ"}
        for i in range(cards.count()):
            card = cards.nth(i)
            assert words[card.get_attribute("data-status")] in card.text_content(), card.text_content()
        now_ok = [v for v in _axe(page, script) if v["id"] == "color-contrast"]
        page.evaluate("""old => document.querySelectorAll('[data-status="green"]').forEach(
                             c => { c.style.background = old; c.style.color = '#fff';
                                    c.querySelectorAll('*').forEach(e => e.style.color = '#fff'); })""", OLD_GREEN)
        old = [v for v in _axe(page, script) if v["id"] == "color-contrast"]
        ctx.close()
        return now_ok, old

    now_ok, old = _in_browser(run, chromium_path)
    assert not now_ok, now_ok
    assert old and old[0]["impact"] == "serious" and any("heat-cell" in n or "td" in n for n in old[0]["nodes"]), old


def _transfer(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const res = performance.getEntriesByType('resource');
        return {document: nav.transferSize, document_decoded: nav.decodedBodySize,
                total: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0),
                resources: res.length, nodes: document.getElementsByTagName('*').length};
    }""")


def test_report_view_is_light_and_fits_a_phone(site, chromium_path):
    def run(browser):  # type: ignore[no-untyped-def]
        found: dict[str, Any] = {}
        for label, kw in (("phone", PHONE), ("desktop", DESKTOP)):
            ctx, page = _login(browser, site.url, "chair", **kw)
            page.goto(f"{site.url}/reports/{site.report_id}")
            # scroll through the page so the lazily loaded charts load too
            height = page.evaluate("document.documentElement.scrollHeight")
            for y in range(0, height, 600):
                page.evaluate(f"window.scrollTo(0, {y})")
                page.wait_for_timeout(50)
            page.wait_for_load_state("networkidle")
            found[label] = _transfer(page)
            found[label]["width"] = page.evaluate("document.documentElement.scrollWidth")
            found[label]["main"] = page.locator("main").count()
            found[label]["broken_images"] = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
            found[label]["images"] = page.evaluate("document.images.length")
            page.evaluate("window.scrollTo(0, 0)")
            _shot(page, f"report-{label}", full=False)
            wide = page.locator("article.report .scroll").nth(2)
            wide.scroll_into_view_if_needed()
            found[label]["table_scrolls"] = wide.evaluate("e => e.scrollWidth > e.clientWidth")
            _shot(page, f"report-{label}-table", full=False)
            page.goto(f"{site.url}/heatmap")
            _shot(page, f"heatmap-{label}")
            ctx.close()
        return found

    found = _in_browser(run, chromium_path)
    (ARTIFACTS / "report-weight.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
    phone = found["phone"]
    assert phone["width"] <= 390, f"the report view scrolls sideways on a 390 px phone ({phone['width']} px)"
    assert phone["main"] == 1, phone
    assert phone["images"] >= 2 and phone["broken_images"] == 0, phone
    assert not found["desktop"]["table_scrolls"] and found["desktop"]["width"] <= 1366, found["desktop"]
    assert phone["total"] < 150_000, f"the report view transfers {phone['total']} bytes (limit 150 KB)"
    assert phone["document"] < phone["document_decoded"], f"the report view is not compressed: {phone}"


# --- without a browser (TestClient on the web tests' world) -----------------------------------------


@pytest.fixture
def world(db_url, tmp_path, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch) as w:
        yield w


def test_html_is_gzipped_when_asked_static_is_cached_and_there_is_a_favicon(world):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    plain = c.get("/login", headers={"Accept-Encoding": "identity"})
    zipped = c.get("/login", headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers
    assert zipped.headers.get("content-encoding") == "gzip"
    assert "accept-encoding" in zipped.headers.get("vary", "").lower()
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.text == plain.text
    assert zipped.headers["cache-control"] == "no-store"  # pages stay uncached
    css_href = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', plain.text).group(1)
    css = c.get(css_href, headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers.get("content-encoding") == "gzip"
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert c.get("/static/style.css").headers["cache-control"] == "public, max-age=86400"
    icon = c.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00" and "max-age=" in icon.headers["cache-control"]
    assert '<a class="skip-link" href="#main"' in plain.text and '<main id="main"' in plain.text


def test_report_view_links_cached_chart_files(world, monkeypatch):  # type: ignore[no-untyped-def]
    chair, _ = login(world.app, "chair")
    rid = int(re.search(r'data-report-id="(\d+)"', chair.get("/reports").text).group(1))
    view = chair.get(f"/reports/{rid}")
    assert view.status_code == 200 and "data:image" not in view.text and "<main" in view.text
    assert re.search(r"<title>Báo cáo số \d+: .+ — Steer</title>", view.text), view.text[:400]
    charts = re.findall(r'src="(/reports/\d+/charts/(\w+)\.svg\?v=([0-9a-f]+))"', view.text)
    assert {name for _, name, _ in charts} >= {"status", "units"}, charts
    for url, name, _ in charts:
        r = chair.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml", (url, r.status_code)
        assert b"<svg" in r.content[:2000]
        assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
        again = chair.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and not again.content
    assert chair.get(f"/reports/{rid}/charts/status.svg").headers["cache-control"] == "private, no-cache"
    assert chair.get(f"/reports/{rid}/charts/nope.svg").status_code == 404
    assert chair.get(f"/reports/999999/charts/status.svg").status_code == 404
    focal, _ = login(world.app, "skhcn_focal")
    assert focal.get(charts[0][0]).status_code == 403

    # the stored report is rendered once: later views and charts come from the cache
    def boom(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("rendered again")

    monkeypatch.setattr(reportview, "build_view", boom)
    monkeypatch.setattr(reportview, "CHARTS", {name: boom for name in reportview.CHARTS})
    assert chair.get(f"/reports/{rid}").text.count("/charts/") == len(charts)
    assert chair.get(charts[0][0]).status_code == 200

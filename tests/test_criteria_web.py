"""The readiness criteria page of the level above (issue 20, part 3): units x criteria, met /
not met with the evidence and the date, a unit green only when every required criterion is
met; linked from the roll-up page. With the TestClient, then in Chromium at desktop and phone
size (screenshots in test-artifacts/criteria-web/ for a person to look at).
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.db import make_engine, transaction
from tests.test_rollup import steer

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "criteria-web"
NOW = "2025-07-20T10:00:00+07:00"
T0 = datetime(2025, 7, 21, 2, 0, tzinfo=timezone.utc)
PASSWORD = "mat-khau-thu-nghiem"
UNITS = {"X01": "Xã Lâm Thượng", "X02": "Xã Lâm Hạ", "X03": "Xã Sơn Thủy"}


@pytest.fixture
def site(_sqlite_template: Path, tmp_path: Path, monkeypatch: Any) -> dict[str, Any]:
    from engine import accounts
    from tests.factories import make_directory, make_person
    from tests.web_helpers import fast_hasher
    from web.app import create_app

    fast_hasher(monkeypatch)
    path = tmp_path / "c.db"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    with transaction(eng) as s:
        make_directory(s, units=UNITS, personas=(), group=False)
        make_person(s, "secretariat", role="secretariat")
        make_person(s, "chair", role="chair")
        make_person(s, "x01_focal", role="focal_point", unit="X01")
        for pid in ("secretariat", "chair", "x01_focal"):
            accounts.add_user(s, pid, password=PASSWORD, now=T0)
    eng.dispose()
    up = tmp_path / "uploads"
    assert steer(url, "criteria", "load", str(REPO / "plans" / "sample-criteria.yaml"), "--now", NOW).exit_code == 0
    scan = tmp_path / "bien-ban-ban-giao.pdf"
    scan.write_bytes(b"%PDF-1.4 scanned " * 100)
    for unit, code, extra in (
        ("X01", "C1", ["--evidence", "Biên bản 12/BB-UBND ngày 3/7/2025 của UBND xã Lâm Thượng", "--file", str(scan)]),
        *((("X01", c, ["--evidence", f"Quyết định số {i}/QĐ-UBND ngày 10/7/2025"])
           for i, c in enumerate(("C2", "C3", "C4", "C5", "C6", "C7"), start=20))),
        ("X02", "C1", ["--evidence", "Biên bản số 3/BB-UBND ngày 1/7/2025"]),
        ("X02", "C2", ["--not-met"]),
    ):
        r = steer(url, "criteria", "record", "SS-2025", unit, code, *([] if "--not-met" in extra else ["--met"]),
                  *extra, "--upload-dir", str(up), "--now", NOW)
        assert r.exit_code == 0, r.output
    app = create_app(url, secret_key="k" * 40, upload_dir=str(up), now=lambda: T0)
    yield {"url": url, "app": app, "scan": scan}
    app.state.db.write.dispose()
    app.state.db.read.dispose()


def test_the_criteria_page_lists_units_by_criteria_green_only_when_all_required_are_met(site):
    from tests.web_helpers import login

    c, _ = login(site["app"], "chair", PASSWORD)
    roll = c.get("/rollup")
    assert 'href="/criteria" data-testid="rollup-criteria-link"' in roll.text
    r = c.get("/criteria")
    assert r.status_code == 302 and r.headers["location"] == "/criteria/SS-2025"  # one set: straight to it
    page = c.get("/criteria/SS-2025")
    assert page.status_code == 200
    rows = dict(re.findall(r'data-testid="criteria-row" data-unit="(\w+)" data-status="(\w+)"', page.text))
    assert rows == {"X01": "green", "X02": "red", "X03": "red"}  # X01: all 7 required met, the optional C8 not
    assert "1/3 đơn vị đạt đủ" in page.text
    cells = re.findall(r'data-testid="criteria-cell" data-criterion="(\w+)" data-met="(\w+)"', page.text)
    assert len(cells) == 3 * 8
    assert cells[8:11] == [("C1", "yes"), ("C2", "no"), ("C3", "none")]  # X02
    assert "Biên bản số 12/BB-UBND ngày 03/07/2025 của UBND xã Lâm Thượng" in page.text
    assert "20/07/2025" in page.text and "2025-07-20" not in page.text
    assert "Đạt 1/7 tiêu chí; chưa đạt: C2, C3, C4, C5, C6, C7" in page.text
    assert "(không bắt buộc)" in page.text
    link = re.search(r'href="(/criteria/SS-2025/files/\d+)" data-testid="criteria-file"', page.text)
    assert link
    f = c.get(link.group(1))
    assert f.status_code == 200 and f.content == site["scan"].read_bytes()
    assert "attachment" in f.headers["content-disposition"]
    assert c.get("/criteria/NONE").status_code == 404
    assert c.get(link.group(1).replace("SS-2025", "OTHER")).status_code == 404
    assert c.get("/criteria/SS-2025/files/999999").status_code == 404
    focal, _ = login(site["app"], "x01_focal", PASSWORD)
    assert focal.get("/criteria/SS-2025").status_code == 403
    en = c.get("/criteria/SS-2025?lang=en")
    assert "Readiness criteria — set SS-2025" in en.text and "Not recorded" in en.text and "1 of 3 units meet all" in en.text
    assert "Chưa ghi" not in en.text and "đơn vị đạt đủ" not in en.text


def test_the_secretariat_records_a_criterion_from_the_page(site):  # type: ignore[no-untyped-def]
    """The form on /criteria/{set} records through engine.criteria.record (as the CLI does): met
    with a document and a file, the cell and the unit's colour follow; met without evidence or
    with a document dated after today is refused with the reason and records nothing; only the
    secretariat sees and may use the form."""
    from tests.web_helpers import csrf_of, flashes, login

    c, _ = login(site["app"], "secretariat", PASSWORD)
    page = c.get("/criteria/SS-2025")
    assert 'data-testid="criteria-record-form"' in page.text
    tok = csrf_of(page.text)

    def post(**form):  # type: ignore[no-untyped-def]
        files = form.pop("files", None)
        r = c.post("/criteria/SS-2025/record", data={"csrf_token": tok, **form}, files=files)
        assert r.status_code == 303 and r.headers["location"] == "/criteria/SS-2025", (r.status_code, r.text[:300])
        return c.get("/criteria/SS-2025").text

    def cell(html: str, unit: str, code: str) -> str:
        row = html.split(f'data-testid="criteria-row" data-unit="{unit}"', 1)[1].split("</tr>", 1)[0]
        return re.search(rf'data-testid="criteria-cell" data-criterion="{code}" data-met="(\w+)"', row).group(1)

    before = c.get("/criteria/SS-2025").text
    html = post(unit="X02", criterion="C3", met="yes", evidence="")  # met without evidence
    assert any(k == "error" and "phải có minh chứng" in m for k, m in flashes(html)), flashes(html)
    html = post(unit="X02", criterion="C3", met="yes", evidence="Biên bản số 8/BB-UBND ngày 01/09/2025")  # future
    assert any(k == "error" and "sau hôm nay" in m for k, m in flashes(html)), flashes(html)
    assert cell(html, "X02", "C3") == cell(before, "X02", "C3") == "none"
    html = post(unit="X02", criterion="C3", met="yes", evidence="Biên bản số 8/BB-UBND ngày 15/07/2025",
                files={"file": ("bien-ban-8.pdf", b"%PDF-1.4 bien ban", "application/pdf")})
    assert any(k == "ok" for k, _ in flashes(html)), flashes(html)
    assert cell(html, "X02", "C3") == "yes"
    assert "Biên bản số 8/BB-UBND ngày 15/07/2025" in html and "bien-ban-8.pdf" in html
    assert cell(before, "X02", "C1") == "yes"
    html = post(unit="X02", criterion="C1", met="no", evidence="")  # withdrawn: not met any more
    assert cell(html, "X02", "C1") == "no"
    assert "Đạt 1/7 tiêu chí; chưa đạt: C1, C2, C4, C5, C6, C7" in html
    chair, _ = login(site["app"], "chair", PASSWORD)
    assert 'data-testid="criteria-record-form"' not in chair.get("/criteria/SS-2025").text


def _shots(base: str, chromium: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.test_web_e2e import CHROMIUM_ARGS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            for name, ctx_kw in (("desktop", {"viewport": {"width": 1280, "height": 900}}),
                                 ("phone", {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                                            "is_mobile": True, "has_touch": True})):
                ctx = browser.new_context(locale="vi-VN", **ctx_kw)
                page = ctx.new_page()
                page.goto(f"{base}/login")
                page.fill("#login-username", "chair")
                page.fill("#login-password", PASSWORD)
                with page.expect_navigation():
                    page.click("#login-submit")
                page.goto(f"{base}/rollup")
                with page.expect_navigation():
                    page.click('[data-testid="rollup-criteria-link"]')
                assert page.url.endswith("/criteria/SS-2025")
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                out[name] = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
                out[name + "_green"] = page.locator('[data-testid="criteria-row"][data-status="green"]').count()
                ctx.close()
        finally:
            browser.close()
    return out


def test_the_criteria_page_in_a_browser_on_desktop_and_phone(site):
    from tests.test_web_e2e import _browser_or_skip, serving

    chromium = _browser_or_skip()
    with serving(site["app"], "criteria-web") as base, ThreadPoolExecutor(max_workers=1) as pool:
        got = pool.submit(_shots, base, chromium).result(timeout=180)
    for name in ("desktop", "phone"):
        width, inner = got[name]
        assert width <= inner, (name, width, inner)  # the page itself never scrolls sideways; the table box may
        assert got[name + "_green"] == 1
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000

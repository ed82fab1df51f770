"""Issue 16 in the web: the upload preview shows what will be created, matches the plan it
revises (with the diff), lets the secretariat fix the identity, place an unread column and
assign a lead that names nobody, and cancel. Browser test with screenshots (desktop, phone).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from engine import db as dbmod
from engine.db import transaction
from engine.models import Plan, PlanRevision, Task
from engine.planfile.loader import load_plan_spec
from engine.planfile.readers import read_plan_file
from tests.test_plan_import_trust import _dk_files, _dk_table, _write_xlsx
from tests.test_web_e2e import (  # noqa: F401  (fixtures)
    CHROMIUM_ARGS, LOADED_AT, PASSWORDS, PLANS, chromium, live,
)
from tests.web_helpers import flashes, login, running_world, snapshot

import pytest

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "test-artifacts" / "import-preview"


def _seed_kh57_revision_base(db_url: str) -> None:
    """KH-57-LS as loaded earlier: without task 80, with task 5 worded differently and a task
    81 the new file no longer has. Uploading sample-plan.xlsx must show that diff."""
    spec = read_plan_file(PLANS / "sample-plan.yaml")
    spec.tasks = [t for t in spec.tasks if t.code != "80"]
    t5 = next(t for t in spec.tasks if t.code == "5")
    t5.deliverable = "Báo cáo (bản cũ)"
    extra = read_plan_file(PLANS / "sample-plan.yaml").tasks[-1]
    extra.code, extra.title = "81", "Nhiệm vụ bỏ trong bản sửa đổi"
    spec.tasks.append(extra)
    eng = dbmod.make_engine(db_url)
    load_plan_spec(eng, spec, now=LOADED_AT)
    eng.dispose()


def _revisions(db_url: str) -> tuple[int, list[str]]:
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        plan = s.execute(select(Plan).where(Plan.code == "KH-57-LS")).scalar_one()
        n = len(s.execute(select(PlanRevision.id).where(PlanRevision.plan_id == plan.id)).all())
        cancelled = [c for c, st in s.execute(select(Task.code, Task.status).where(Task.plan_id == plan.id)).all()
                     if st == "cancelled"]
    eng.dispose()
    return n, cancelled


def _shot(page, name: str, *, full: bool = False) -> Path:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def _login(ctx, base: str, user: str):  # type: ignore[no-untyped-def]
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("#login-username", user)
    page.fill("#login-password", PASSWORDS[user])
    with page.expect_navigation():
        page.click("#login-submit")
    return page


def _upload(page, base: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/plans/upload")
    page.set_input_files("#plan-file", str(path))
    with page.expect_navigation():
        page.click('[data-testid="upload-submit"]')


def _check_revision_preview(page) -> None:  # type: ignore[no-untyped-def]
    rev = page.locator('[data-testid="preview-revision"]')
    assert rev.count() == 1, page.inner_text("body")[:1500]
    assert rev.get_attribute("data-plan") == "KH-57-LS"
    assert (rev.get_attribute("data-added"), rev.get_attribute("data-changed"),
            rev.get_attribute("data-cancelled")) == ("1", "1", "1")
    assert page.locator('[data-testid="diff-added"]').inner_text().strip() == "80"
    assert page.locator('[data-testid="diff-changed"]').inner_text().startswith("5")
    assert "sản phẩm" in page.locator('[data-testid="diff-changed"]').inner_text()
    assert page.locator('[data-testid="diff-cancelled"]').inner_text().strip() == "81"
    assert page.input_value('[data-testid="pv-code"]') == "KH-57-LS"
    assert page.locator('[data-testid="pv-code-source"]').get_attribute("data-source") == "existing"
    assert page.input_value('[data-testid="pv-document"]') == "Kế hoạch số 45/KH-UBND"
    assert page.input_value('[data-testid="pv-issued"]') == "15/03/2025"
    rows = page.locator('tr[data-testid="preview-task"]')
    assert rows.count() == 80
    assert page.locator('tr[data-testid="preview-task"][data-diff="added"]').get_attribute("data-code") == "80"
    first = page.locator('tr[data-testid="preview-task"][data-code="1"]')
    assert "30/06/2025" in first.locator('[data-testid="pv-deadline"]').inner_text()
    assert "Quý II/2025" in first.locator('[data-testid="pv-deadline"]').inner_text()
    assert page.locator('[data-testid="commit-plan"]').count() == 1
    assert page.locator('[data-testid="cancel-upload"]').count() == 1


def test_uploading_sample_xlsx_previews_a_revision_of_kh57_with_its_diff(chromium, live):  # noqa: F811
    _seed_kh57_revision_base(live.db_url)
    for old in SHOTS.glob("*.png") if SHOTS.exists() else []:
        old.unlink()

    def run() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
                page = _login(desk, live.url, "secretariat")
                _upload(page, live.url, PLANS / "sample-plan.xlsx")
                _check_revision_preview(page)
                _shot(page, "01-desktop-preview-top")
                page.locator('tr[data-testid="preview-task"][data-code="5"]').scroll_into_view_if_needed()
                _shot(page, "02-desktop-preview-table")
                page.locator('tr[data-testid="preview-task"][data-code="23"]').scroll_into_view_if_needed()
                assert page.locator('tr[data-testid="preview-task"][data-code="23"] li[data-code="no_deliverable"]').count() == 1
                _shot(page, "03-desktop-preview-warning-row")
                page.locator('[data-testid="commit-plan"]').scroll_into_view_if_needed()
                _shot(page, "03b-desktop-preview-warnings-and-buttons")
                # cancel: nothing written, back to the upload form
                with page.expect_navigation():
                    page.click('[data-testid="cancel-upload"]')
                assert page.url.rstrip("/").endswith("/plans/upload"), page.url
                assert _revisions(live.db_url) == (1, [])

                phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                            locale="vi-VN")
                mob = _login(phone, live.url, "secretariat")
                _upload(mob, live.url, PLANS / "sample-plan.xlsx")
                _check_revision_preview(mob)
                assert mob.evaluate("document.documentElement.scrollWidth") <= 391
                _shot(mob, "04-phone-preview-top")
                mob.locator('tr[data-testid="preview-task"][data-code="5"]').scroll_into_view_if_needed()
                _shot(mob, "05-phone-preview-table")

                # commit from the desktop: revision 2 of KH-57-LS, task 81 cancelled, 80 added
                _upload(page, live.url, PLANS / "sample-plan.xlsx")
                with page.expect_navigation():
                    page.click('[data-testid="commit-plan"]')
                assert page.url.rstrip("/").endswith("/plans"), page.url
                assert _revisions(live.db_url) == (2, ["81"])

                # a new plan from a Word file converted from PDF: successors shown, a lead naming
                # nobody can be assigned, the code is a readable slug of the file name
                _upload(page, live.url, _dk_files(SHOTS)["pdfwrap-docx"])
                assert page.input_value('[data-testid="pv-code"]') == "phu-luc-tu-pdf"
                assert page.locator('[data-testid="preview-new-plan"]').count() == 1
                assert page.locator('select[data-testid="pv-assign"]').count() == 3  # tasks 1, 3, 4: telecom firms, no members
                row2 = page.locator('tr[data-testid="preview-task"][data-code="2"]')
                assert "nay là" in row2.inner_text() and "Sở Khoa học và Công nghệ" in row2.inner_text()
                page.locator('tr[data-testid="preview-task"][data-code="1"]').scroll_into_view_if_needed()
                _shot(page, "06-desktop-new-plan-from-pdf-word")
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result(timeout=240)
    assert len(list(SHOTS.glob("*.png"))) == 7


# --- the preview's choices, without a browser ------------------------------------------------------


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


def _token(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def test_preview_choices_code_title_mapping_and_lead_then_commit(world, tmp_path):
    titles, rows = _dk_table(header_for_results="Chỉ tiêu, quy mô thực hiện")
    path = _write_xlsx(tmp_path / "Phụ lục KH 99.xlsx", titles, rows)
    staff, csrf = login(world.app, "secretariat")
    before = snapshot(world.url)
    r = staff.post("/plans/upload", data={"csrf_token": csrf},
                   files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert r.status_code == 200, r.text[:800]
    html = r.text
    assert 'value="phu-luc-kh-99"' in html and 'data-source="filename"' in html
    assert 'data-testid="preview-new-plan"' in html
    assert 'name="map:Chỉ tiêu, quy mô thực hiện"' in html
    assert 'data-code="unmapped_column"' in html and "--code" not in html.split('data-testid="pv-code-source"')[1][:300]
    assert 'name="lead:1"' in html  # "Các doanh nghiệp viễn thông": a group with no members
    assert "Sở Thông tin và Truyền thông» nay là" in html
    token = _token(html)
    r = staff.post("/plans/upload/revise", data={
        "csrf_token": csrf, "token": token, "code": "KH-DK-99", "title": "Kế hoạch nâng cao chất lượng mạng di động",
        "document": "Kế hoạch số 99/KH-STTTT", "issued_on": "10/07/2024", "status_date": "",
        "map:Chỉ tiêu, quy mô thực hiện": "deliverable", "lead:1": "SKHCN"})
    assert r.status_code == 200, r.text[:800]
    html = r.text
    assert 'value="KH-DK-99"' in html and 'value="10/07/2024"' in html
    assert 'data-code="unmapped_column"' not in html and 'data-code="no_deliverable"' not in html
    assert re.search(r'data-code="1"[^>]*>.*?data-unit="SKHCN"', html, re.S)
    assert snapshot(world.url) == before  # the preview writes nothing
    r = staff.post("/plans/upload/commit", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 303 and r.headers["location"] == "/plans"
    eng = dbmod.make_engine(world.url)
    with transaction(eng) as s:
        plan = s.execute(select(Plan).where(Plan.code == "KH-DK-99")).scalar_one()
        t1 = s.execute(select(Task).where(Task.plan_id == plan.id, Task.code == "1")).scalar_one()
    eng.dispose()
    assert (plan.title, plan.document) == ("Kế hoạch nâng cao chất lượng mạng di động", "Kế hoạch số 99/KH-STTTT")
    assert t1.deliverable.startswith("Tập trung mở rộng vùng phủ sóng")


def test_preview_cancel_removes_the_pending_file(world):
    staff, csrf = login(world.app, "secretariat")
    path = _dk_files(world.upload_dir.parent)["md"]
    r = staff.post("/plans/upload", data={"csrf_token": csrf},
                   files={"file": ("dk.md", path.read_bytes(), "text/markdown")})
    assert r.status_code == 200
    token = _token(r.text)
    assert any((world.upload_dir / "pending-plans").iterdir())
    r = staff.post("/plans/upload/cancel", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 303 and r.headers["location"] == "/plans/upload"
    assert flashes(staff.get("/plans/upload").text)[0][0] == "ok"
    assert not any((world.upload_dir / "pending-plans").iterdir())
    r = staff.post("/plans/upload/commit", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 400


def test_preview_shows_what_dry_run_json_prints_and_refuses_a_bad_date(world, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app as cli_app

    path = _dk_files(tmp_path)["pdfwrap-docx"]
    out = CliRunner().invoke(cli_app, ["--db", world.url, "plan", "load", str(path), "--dry-run", "--format", "json"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    p = __import__("json").loads(out.output)["preview"]
    staff, csrf = login(world.app, "secretariat")
    r = staff.post("/plans/upload", data={"csrf_token": csrf},
                   files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert r.status_code == 200
    html = r.text
    shown = re.findall(r'<tr data-testid="preview-task" data-code="([^"]+)" data-section="([^"]*)"', html)
    assert shown == [(t["code"], t["section"]) for t in p["tasks"]]
    dues = re.findall(r'data-testid="pv-deadline" data-due="([^"]*)"', html)
    assert dues == [t["deadline"]["due"] or "" for t in p["tasks"]]
    for t in p["tasks"]:
        for u in t["lead"]:
            assert u["name"] in html
    assert [u["name"] for u in p["new_units"]] == ["UBND các huyện, thành phố Gia Nghĩa"]
    assert "NEW_UCHTPGN — UBND các huyện, thành phố Gia Nghĩa" in html
    r = staff.post("/plans/upload/revise", data={"csrf_token": csrf, "token": _token(html), "issued_on": "31/02/2024"})
    assert r.status_code == 400 and "31/02/2024" in r.text

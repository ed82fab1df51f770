"""The web side of progress sheets (web/progress.py), in a real browser: a unit's focal point
downloads its sheet, fills it (openpyxl, as a person would), uploads it, sees the per-row
diff — changes and conflicts with row numbers — before confirming, and the confirmation
writes. Screenshots at desktop and phone size go to test-artifacts/web-progress/."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from engine.db import make_engine, transaction
from engine.models import Event
from engine.progress import COLUMNS, HEADER_ROW
from tests.factories import PLAN_CODE, item_of
from tests.test_web_e2e import CHROMIUM_ARGS, _browser_or_skip, serving
from tests.web_helpers import PASSWORD, running_world

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "web-progress"
COL = {k: i for i, (k, *_) in enumerate(COLUMNS, start=1)}


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    if not db_url.startswith("sqlite"):
        pytest.skip("browser test: SQLite is enough")
    with running_world(db_url, tmp_path, monkeypatch) as w:
        yield w


def _fill(data: bytes) -> bytes:
    """SKHCN's sheet: task 1 (overdue) reported done with its decision, task 3 started with a
    note and a percent, and a row the clerk added (a conflict: no reference)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[1]
    rows = {ws.cell(r, COL["ref"]).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1) if ws.cell(r, COL["ref"]).value}
    r1 = rows[f"{PLAN_CODE}/1"]
    ws.cell(r1, COL["status"]).value = "Đã hoàn thành (gửi xác nhận)"
    ws.cell(r1, COL["result"]).value = "Đã ban hành kế hoạch chuyển đổi số năm 2025"
    ws.cell(r1, COL["doc"]).value = "Kế hoạch số 45/KH-UBND"
    ws.cell(r1, COL["doc_date"]).value = "10/07/2025"
    ws.cell(r1, COL["doc_issuer"]).value = "UBND tỉnh"
    r3 = rows[f"{PLAN_CODE}/3@SKHCN"]
    ws.cell(r3, COL["status"]).value = "Đang thực hiện"
    ws.cell(r3, COL["result"]).value = "Đã khảo sát 15/20 đơn vị"
    ws.cell(r3, COL["percent"]).value = 75
    extra = ws.max_row + 1
    ws.cell(extra, COL["title"]).value = "Hội nghị sơ kết (phát sinh)"
    ws.cell(extra, COL["result"]).value = "Đã tổ chức"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _shot(page, name: str, *, full: bool = True) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def _login(ctx, base: str, person: str):  # type: ignore[no-untyped-def]
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("#login-username", person)
    page.fill("#login-password", PASSWORD)
    with page.expect_navigation():
        page.click("#login-submit")
    return page


def _story(world, chromium: str, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with serving(world.app, "progress-web") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            desk = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = _login(desk, base, "skhcn_focal")
            # the unit's page links to the sheet
            page.goto(f"{base}/items")
            assert page.locator('[data-testid="unit-progress-download"]').count() == 1
            page.goto(f"{base}/progress")
            _shot(page, "01-desktop-progress-page")
            with page.expect_download() as dl:
                page.click('[data-testid="progress-download-link"]')
            sheet = tmp / dl.value.suggested_filename
            dl.value.save_as(sheet)
            assert sheet.name == "tien-do-SKHCN-2025-07.xlsx"
            filled = tmp / "tien-do-SKHCN-da-dien.xlsx"
            filled.write_bytes(_fill(sheet.read_bytes()))

            # on a phone first: the diff, not confirmed
            phone_ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
            phone = _login(phone_ctx, base, "skhcn_focal")
            phone.goto(f"{base}/progress")
            _shot(phone, "02-phone-progress-page")
            phone.set_input_files('[data-testid="progress-file"]', str(filled))
            with phone.expect_navigation():
                phone.click('[data-testid="progress-upload-submit"]')
            assert phone.locator('[data-testid="diff-row"]').count() >= 3
            assert phone.evaluate("document.documentElement.scrollWidth") <= 361
            _shot(phone, "03-phone-diff")

            # desktop: upload, look at the diff, confirm the rows without conflicts
            page.set_input_files('[data-testid="progress-file"]', str(filled))
            with page.expect_navigation():
                page.click('[data-testid="progress-upload-submit"]')
            _shot(page, "04-desktop-diff")
            text = page.inner_text('[data-testid="progress-diff"]')
            assert f"{PLAN_CODE}/1: Chưa bắt đầu → Đã báo cáo hoàn thành, chờ xác nhận" in text
            assert "minh chứng Kế hoạch số 45/KH-UBND ngày 10/07/2025 của UBND tỉnh" in text
            assert "tỷ lệ 75%" in text
            conflict = page.locator('[data-testid="diff-conflict"]')
            assert conflict.count() == 1 and "dòng thêm không có mã tham chiếu" in conflict.inner_text()
            assert page.locator('[data-testid="progress-commit"]').count() == 0  # not all rows: ask
            # nothing written by looking
            eng = make_engine(world.url)
            with transaction(eng) as s:
                assert item_of(s, PLAN_CODE, "1").status == "not_started"
            with page.expect_navigation():
                page.click('[data-testid="progress-commit-skip"]')
            flashes = page.locator('[data-testid="flash"]').all_inner_texts()
            assert any("Đã ghi báo cáo tiến độ: 3 thao tác." in f for f in flashes), flashes
            _shot(page, "05-desktop-after-confirm")
            with transaction(eng) as s:
                w1 = item_of(s, PLAN_CODE, "1")
                assert w1.status == "submitted"
                assert item_of(s, PLAN_CODE, "3", "SKHCN").status == "in_progress"
                ev = s.execute(select(Event).where(Event.work_item_id == w1.id, Event.kind == "status")).scalar_one()
                assert ev.actor == "skhcn_focal" and ev.data["source"]["file"] == filled.name
                w1_id = w1.id
            eng.dispose()
            # the item page shows the evidence as a document
            page.goto(f"{base}/items/{w1_id}")
            docs = page.locator('[data-testid="evidence-document"]')
            assert docs.count() == 1 and "45/KH-UBND" in docs.inner_text() and "10/07/2025" in docs.inner_text()
            _shot(page, "06-desktop-item-documents")
            phone.goto(f"{base}/items/{w1_id}")
            _shot(phone, "07-phone-item-documents")
        finally:
            browser.close()


def test_a_unit_uploads_its_sheet_and_sees_the_diff_before_confirming(world, tmp_path):  # type: ignore[no-untyped-def]
    chromium = _browser_or_skip()
    for old in ARTIFACTS.glob("*.png") if ARTIFACTS.exists() else []:
        old.unlink()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="progress-browser") as pool:
        pool.submit(_story, world, chromium, tmp_path).result(timeout=240)
    assert len(list(ARTIFACTS.glob("*.png"))) == 7


def test_a_focal_point_cannot_upload_another_units_sheet(world):  # type: ignore[no-untyped-def]
    from tests.web_helpers import login, snapshot

    client, csrf = login(world.app, "skhcn_focal")
    data = client.get("/progress/sheet").content
    other, csrf2 = login(world.app, "snv_focal")
    before = snapshot(world.url)
    r = other.post("/progress/upload", data={"csrf_token": csrf2},
                   files={"file": ("tien-do.xlsx", _fill(data), "application/octet-stream")})
    assert r.status_code == 403 and "không được nhập báo cáo của SKHCN" in r.text
    assert other.get("/progress/sheet?unit=SKHCN").status_code == 403
    # the secretariat's batch: every unit's sheet in one zip
    import zipfile

    staff, _ = login(world.app, "secretariat")
    r = staff.get("/progress/all?period=2025-07")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(r.content)).namelist() == ["tien-do-SKHCN-2025-07.xlsx", "tien-do-SNV-2025-07.xlsx",
                                                                 "tien-do-STC-2025-07.xlsx"]
    assert client.get("/progress/all").status_code == 403
    # a damaged upload: one message, nothing written
    r = client.post("/progress/upload", data={"csrf_token": csrf},
                    files={"file": ("hong.xlsx", data[:500], "application/octet-stream")})
    assert r.status_code == 400 and 'data-testid="error"' in r.text and "hong.xlsx" in r.text
    assert snapshot(world.url) == before

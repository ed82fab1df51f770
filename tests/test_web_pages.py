"""Pages without dead ends (issue 18, part 3), on the demo's database (the steps of
``steer demo``, as tests/test_web_a11y.py builds it; clock 01/08/2025 08:00, Hà Nội), plus a
second, small plan of Sở Xây dựng whose tasks are all long overdue (``EXTRA_PLAN``): the demo
story alone has only about a dozen overdue items on that day, none of them Sở Xây dựng's, and the
overdue list's paging needs more than one page of them:

- the overdue list is paged (20 a page) and filtered by unit (code, name, alias or former name;
  any case, with or without diacritics), plan, escalation level and acknowledged;
- item search without diacritics ("quy hoach" finds "quy hoạch");
- each role is offered its own actions only (engine.permissions.offered_actions): the chair and
  vice-chairs comment and acknowledge, never start / submit / request an extension — on the
  item page and on a one-click link; assignees get theirs; the secretariat verifies/rejects;
- a report is created from the web through engine.snapshots.generate_report (as ``steer
  report``), viewed in the app layout with a way back, and downloaded;
- an evidence file shows as its name with a download link; size and SHA-256 only in a details view;
- no English leftovers in the Vietnamese pages of any role: a list of the known ones, and a small
  English-word detector with an allowlist.

Browser part (Playwright, Debian's Chromium; skips without it, fails under CI): screenshots at
desktop 1366×768 and phone 390×844 of the overdue list filtered and paged, creating a report
and going back, the chair's item page and the secretariat's review queue with the evidence
link, into ``test-artifacts/web-pages/``; no page scrolls sideways on the phone.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import accounts
from engine import db as dbmod
from engine.actors import load_actor
from engine.commands import command_from, perform
from engine.db import transaction
from engine.evidence import Upload
from engine.planfile.loader import load_plan_file
from engine.links import make_token
from engine.models import EvidenceFile, ReportSnapshot, Unit, WorkItem
from engine.textsearch import fold, matching_unit_ids
from tests.test_web_a11y import PASSWORDS as A11Y_PASSWORDS, _demo_database
from tests.web_helpers import anon, csrf_of, flashes, login

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "web-pages"
NOW = datetime(2025, 8, 1, 1, 0, tzinfo=timezone.utc)  # 01/08/2025 08:00 in Hà Nội
SECRET = "pages-" + "k" * 40
PASSWORDS = {**A11Y_PASSWORDS, "pct_tt": "pho-truong-ban-1!", "pct_kt": "pho-truong-ban-2!",
             "observer": "quan-sat-vien-1!"}
EVIDENCE_NAME = "Kế hoạch 45-KH-SXD.pdf"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "vi-VN"}
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "vi-VN"}


@dataclass
class Site:
    app: Any
    db_url: str
    upload_dir: Path
    open_item: int       # an open SXD item (the chair's item page)
    file_item: int       # a submitted SXD item with an evidence file (the review queue)
    file_id: int


# A second plan, led by Sở Xây dựng (overseen by the vice-chair pct_kt), loaded with the demo's plan
# (16/03/2025): its 16 deadlines fall in April-June 2025, so on 01/08/2025 every one of its items is
# overdue by 10 working days or more (the chair's escalation level). With the demo story's 12 overdue
# items that makes 28: two pages of the overdue list, the unit filter "so" at the chair's level too.
EXTRA_PLAN_CODE = "KH-XD-LS"
EXTRA_TASKS = [
    ("Rà soát, số hóa hồ sơ cấp phép xây dựng đã lưu trữ", "30/04/2025"),
    ("Xây dựng cơ sở dữ liệu nhà ở và thị trường bất động sản của tỉnh", "30/04/2025"),
    ("Cung cấp dịch vụ công trực tuyến toàn trình cấp giấy phép xây dựng", "15/05/2025"),
    ("Ứng dụng mô hình thông tin công trình (BIM) cho công trình sử dụng vốn đầu tư công", "15/05/2025"),
    ("Số hóa hồ sơ thẩm định dự án đầu tư xây dựng", "20/05/2025"),
    ("Xây dựng bản đồ số hạ tầng giao thông của tỉnh", "31/05/2025"),
    ("Triển khai hệ thống giám sát hành trình xe tải trên các tuyến đường tỉnh", "31/05/2025"),
    ("Cập nhật cơ sở dữ liệu giá vật liệu xây dựng trên cổng thông tin điện tử của Sở", "05/06/2025"),
    ("Kết nối dữ liệu cấp phép xây dựng với cơ sở dữ liệu đất đai", "10/06/2025"),
    ("Tập huấn kỹ năng số cho cán bộ quản lý trật tự xây dựng", "15/06/2025"),
    ("Số hóa hồ sơ đăng kiểm phương tiện thủy nội địa", "15/06/2025"),
    ("Xây dựng phần mềm quản lý cây xanh, chiếu sáng đô thị", "20/06/2025"),
    ("Ban hành quy trình nội bộ giải quyết thủ tục hành chính trên môi trường điện tử", "25/06/2025"),
    ("Công khai thông tin dự án nhà ở xã hội trên cổng thông tin điện tử", "30/06/2025"),
    ("Báo cáo đánh giá mức độ sẵn sàng chuyển đổi số của ngành xây dựng", "30/06/2025"),
    ("Triển khai thanh toán không dùng tiền mặt phí, lệ phí trong lĩnh vực xây dựng", "30/06/2025"),
]


def _extra_plan(path: Path) -> Path:
    lines = ["plan:", f"  code: {EXTRA_PLAN_CODE}",
             "  title: Kế hoạch chuyển đổi số ngành xây dựng tỉnh Lâm Sơn năm 2025",
             "  document: Kế hoạch số 12/KH-SXD", "  issued_on: 2025-03-16", "  issued_by: SXD",
             "sections:", "  - code: I", "    title: Nhiệm vụ trọng tâm", "    tasks:"]
    for n, (title, deadline) in enumerate(EXTRA_TASKS, start=1):
        lines += [f'      - code: "{n}"', f"        title: {title}", "        lead: Sở Xây dựng",
                  "        deliverable: Báo cáo kết quả thực hiện", f'        deadline: "{deadline}"',
                  "        vice_chair: pct_kt"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _seed(tmp: Path, template: Path) -> tuple[str, int, int, int]:
    db_url, _report, open_item, _submitted = _demo_database(tmp / "steer.db", template)
    eng = dbmod.make_engine(db_url)
    try:
        load_plan_file(eng, _extra_plan(tmp / "ke-hoach-so-xay-dung.yaml"),
                       now=datetime(2025, 3, 16, 1, 0, tzinfo=timezone.utc))  # 16/03/2025 08:00, as the demo's
        with transaction(eng) as s:
            for person in ("pct_tt", "pct_kt", "observer"):
                accounts.set_password(s, person, PASSWORDS[person], now=NOW)
        with transaction(eng) as s:
            sxd = s.execute(select(Unit.id).where(Unit.code == "SXD")).scalar_one()
            item = s.execute(select(WorkItem).where(WorkItem.unit_id == sxd, WorkItem.status == "in_progress",
                                                    WorkItem.id != open_item).order_by(WorkItem.id)).scalars().first()
            if item is None:
                item = s.execute(select(WorkItem).where(WorkItem.unit_id == sxd, WorkItem.status == "not_started",
                                                        WorkItem.id != open_item).order_by(WorkItem.id)).scalars().first()
            actor = load_actor(s, "sxd_focal")
            cmd = command_from("submit", {"evidence": "Kế hoạch số 45/KH-SXD",
                                          "evidence_file": Upload(io.BytesIO(b"%PDF-1.4 ke hoach 45"), EVIDENCE_NAME,
                                                                  "application/pdf")})
            perform(s, actor, item, cmd, now=NOW, upload_dir=tmp / "uploads", max_upload_bytes=10 * 1024 * 1024)
            file_item = item.id
        with transaction(eng) as s:
            file_id = s.execute(select(EvidenceFile.id).where(EvidenceFile.work_item_id == file_item)).scalar_one()
    finally:
        eng.dispose()
    return db_url, open_item, file_item, file_id


@pytest.fixture(scope="module")
def site(tmp_path_factory, _sqlite_template) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    from web.app import create_app

    tmp = tmp_path_factory.mktemp("pages")
    db_url, open_item, file_item, file_id = _seed(tmp, _sqlite_template)
    app = create_app(db_url, secret_key=SECRET, upload_dir=str(tmp / "uploads"), now=lambda: NOW)
    try:
        yield Site(app=app, db_url=db_url, upload_dir=tmp / "uploads", open_item=open_item, file_item=file_item,
                   file_id=file_id)
    finally:
        app.state.db.write.dispose()
        app.state.db.read.dispose()


def _as(site: Site, person: str):  # type: ignore[no-untyped-def]
    return login(site.app, person, PASSWORDS[person])


def _rows(html: str, testid: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m)) for m in
            re.findall(rf'<tr data-testid="{testid}"([^>]*)>', html)]


class _Text(HTMLParser):
    """The visible text of a page (and its placeholders, labels, titles), without scripts/styles."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        for k, v in attrs:
            if k in ("placeholder", "aria-label", "title", "alt") and v:
                self.out.append(v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.out.append(data.strip())


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return "\n".join(p.out)


# --- search and filters ------------------------------------------------------------------------------


def test_fold_drops_case_and_diacritics():
    assert fold("Sở  Xây DỰNG") == "so xay dung"
    assert fold("Quy hoạch đô thị") == "quy hoach do thi"
    assert fold("ĐỔI MỚI") == "doi moi"


@pytest.mark.parametrize("query", ["SXD", "sxd", "Sở Xây dựng", "sở xây dựng", "so xay dung", "SO XAY DUNG",
                                   "Sở Giao thông vận tải", "so giao thong"])
def test_overdue_unit_filter_by_code_name_or_former_name_any_case_no_diacritics(site, query):
    client, _ = _as(site, "chair")
    html = client.get("/overdue", params={"unit": query}).text
    rows = _rows(html, "overdue-row")
    assert rows and {r["unit"] for r in rows} == {"SXD"}, (query, rows[:3])
    items = _rows(client.get("/items", params={"unit": query}).text, "item-row")
    assert items and {r["unit"] for r in items} == {"SXD"}


def test_unit_search_finds_aliases(site):
    eng = dbmod.make_engine(site.db_url)
    try:
        with transaction(eng) as s:
            ids = matching_unit_ids(s, "ubnd tinh lam son")
            codes = set(s.execute(select(Unit.code).where(Unit.id.in_(ids))).scalars())
    finally:
        eng.dispose()
    assert "UBND_TINH" in codes


def test_title_search_without_diacritics(site):
    client, _ = _as(site, "secretariat")
    plain = _rows(client.get("/items", params={"q": "quy hoach"}).text, "item-row")
    marked = _rows(client.get("/items", params={"q": "Quy hoạch"}).text, "item-row")
    assert plain and [r["item-id"] for r in plain] == [r["item-id"] for r in marked]
    html = client.get("/items", params={"q": "quy hoach"}).text
    assert "quy hoạch" in html.lower()


def test_overdue_list_is_paged_and_filtered_by_plan_level_and_acknowledged(site):
    client, csrf = _as(site, "chair")
    first = client.get("/overdue").text
    total = int(re.search(r"<small>\((\d+)\)</small>", first).group(1))
    assert total > 20
    pages = (total + 19) // 20
    seen: list[str] = []
    for page in range(pages):
        rows = _rows(client.get("/overdue", params={"page": page}).text, "overdue-row")
        assert len(rows) == (20 if page + 1 < pages else total - 20 * (pages - 1))
        seen += [r["item-id"] for r in rows]
    assert len(seen) == len(set(seen)) == total  # every overdue item once
    assert 'data-testid="page-next"' in first and "Trang 1/" in first
    # plan: the demo's plan and the extra one split the overdue items between them
    by_plan = [int(re.search(r"<small>\((\d+)\)</small>", client.get("/overdue", params={"plan": code}).text).group(1))
               for code in ("KH-57-LS", EXTRA_PLAN_CODE)]
    assert all(by_plan) and sum(by_plan) == total, by_plan
    assert not _rows(client.get("/overdue", params={"plan": "KHONG-CO"}).text, "overdue-row")
    # levels: the windows of the escalation policy partition the overdue items
    levels = re.findall(r'<option value="([a-z_0-9]+)"[^>]*>(Quá hạn[^<]*)</option>', first)
    assert [name for name, _ in levels] == ["overdue", "vice_chair", "chair"], levels
    counts = [int(re.search(r"<small>\((\d+)\)</small>", client.get("/overdue", params={"level": n}).text).group(1))
              for n, _ in levels]
    assert sum(counts) == total and counts[-1] > 0
    # acknowledged: none yet; acknowledge one (from the filtered list, back to it), then 1 / total-1
    assert not _rows(client.get("/overdue", params={"ack": "yes"}).text, "overdue-row")
    target = _rows(client.get("/overdue", params={"unit": "sxd"}).text, "overdue-row")[0]["item-id"]
    r = client.post(f"/items/{target}/ack", data={"csrf_token": csrf, "back": "/overdue?unit=sxd"})
    assert r.status_code == 303 and r.headers["location"] == "/overdue?unit=sxd"
    acked = _rows(client.get("/overdue", params={"ack": "yes"}).text, "overdue-row")
    assert [a["item-id"] for a in acked] == [target] and acked[0]["acked"] == "yes"
    not_acked = client.get("/overdue", params={"ack": "no"}).text
    assert f"({total - 1})" in not_acked


# --- role-appropriate forms ----------------------------------------------------------------------------

ASSIGNEE_FORMS = ("action-start", "action-submit", "action-extension", "action-block")


def test_chair_and_vice_chair_see_comment_and_acknowledge_not_assignee_forms(site):
    # a vice-chair comments on the items of the units he oversees (sample-directory.yaml): pct_kt
    # oversees Sở Xây dựng (the open SXD item), pct_tt the commune Đông Sơn (XDS, overdue items)
    chair, _ = _as(site, "chair")
    overdue_sxd = _rows(chair.get("/overdue", params={"unit": "SXD"}).text, "overdue-row")[-1]["item-id"]
    overdue_xds = _rows(chair.get("/overdue", params={"unit": "XDS"}).text, "overdue-row")[0]["item-id"]
    for person, items in (("chair", (site.open_item, overdue_sxd, overdue_xds)),
                          ("pct_kt", (site.open_item, overdue_sxd)), ("pct_tt", (overdue_xds,))):
        client, _ = _as(site, person)
        for item in items:
            html = client.get(f"/items/{item}").text
            for form in ASSIGNEE_FORMS:
                assert f'data-testid="{form}"' not in html, (person, item, form)
            assert 'data-testid="action-note"' in html, (person, item)
            if item != site.open_item:  # overdue: escalated, so there is something to acknowledge
                assert 'data-testid="action-ack"' in html, (person, item)


def test_assignee_and_secretariat_see_their_own_actions(site):
    focal, _ = _as(site, "sxd_focal")
    html = focal.get(f"/items/{site.open_item}").text
    assert 'data-testid="action-submit"' in html and 'data-testid="action-extension"' in html
    assert 'data-testid="action-verify"' not in html
    sec, _ = _as(site, "secretariat")
    html = sec.get(f"/items/{site.file_item}").text
    assert 'data-testid="action-verify"' in html and 'data-testid="action-reject"' in html
    assert 'data-testid="action-start"' not in html and 'data-testid="action-submit"' not in html
    viewer, _ = _as(site, "observer")
    html = viewer.get(f"/items/{site.open_item}").text
    assert 'data-testid="item-actions"' in html and "<form" not in html.split('data-testid="item-actions"')[1].split(
        "</section>")[0]


def test_chair_on_a_one_click_link_gets_no_assignee_forms(site):
    token = make_token(SECRET, purpose="open", item_id=site.open_item, unit_code="SXD",
                       expires=NOW + timedelta(days=3), recipient="chair")
    client, _ = anon(site.app)
    r = client.get(f"/l/{token}")
    assert r.status_code == 303
    html = client.get(r.headers["location"]).text
    assert 'data-testid="link-scope"' in html
    for form in ASSIGNEE_FORMS:
        assert f'data-testid="{form}"' not in html, form
    assert 'data-testid="action-note"' in html
    # and posting an assignee action through the chair's link is refused, nothing written
    def version() -> int:
        eng = dbmod.make_engine(site.db_url)
        try:
            with transaction(eng) as s:
                return s.get(WorkItem, site.open_item).version
        finally:
            eng.dispose()

    before = version()
    for action, data in (("start", {}), ("submit", {"evidence": "Văn bản số 1"}),
                         ("extension", {"until": "2025-12-31", "reason": "chờ"})):
        r = client.post(f"/items/{site.open_item}/{action}", data={"csrf_token": csrf_of(html), **data})
        assert r.status_code == 403, action
    assert version() == before
    # the unit's focal point on the same kind of link still gets the assignee forms
    token = make_token(SECRET, purpose="open", item_id=site.open_item, unit_code="SXD", expires=NOW + timedelta(days=3))
    client, _ = anon(site.app)
    html = client.get(client.get(f"/l/{token}").headers["location"]).text
    assert 'data-testid="action-submit"' in html


# --- reports from the web ------------------------------------------------------------------------------


def test_secretariat_creates_a_report_from_the_web_views_downloads_and_goes_back(site):
    client, csrf = _as(site, "secretariat")
    page = client.get("/reports").text
    assert 'data-testid="new-report-form"' in page and "quý II/2025" in page and "tháng 7/2025" in page
    r = client.post("/reports", data={"csrf_token": csrf, "plan": "KH-57-LS", "kind": "quarterly",
                                      "period": "2025-Q2", "format": "xlsx"})
    assert r.status_code == 303, r.text[:300]
    m = re.fullmatch(r"/reports/(\d+)\?fmt=xlsx", r.headers["location"])
    assert m, r.headers["location"]
    rid = int(m.group(1))
    view = client.get(r.headers["location"]).text
    assert flashes(view)[0][0] == "ok" and f'data-report-id="{rid}"' in view
    assert 'href="/reports" data-testid="back-to-reports"' in view
    assert f'href="/reports/{rid}/download/xlsx" data-testid="report-download-chosen"' in view
    dl = client.get(f"/reports/{rid}/download/xlsx")
    assert dl.status_code == 200 and dl.content[:2] == b"PK"
    listing = client.get("/reports").text
    row = [x for x in _rows(listing, "report-row") if x["report-id"] == str(rid)]
    assert row and row[0]["kind"] == "quarterly" and row[0]["period"] == "2025-Q2"
    assert "Báo cáo quý II/2025" in listing and "quarterly" not in visible_text(listing)
    eng = dbmod.make_engine(site.db_url)
    try:
        with transaction(eng) as s:
            snap = s.get(ReportSnapshot, rid)
            assert (snap.kind, snap.period, snap.created_by) == ("quarterly", "2025-Q2", "secretariat")
    finally:
        eng.dispose()
    # the period names its kind; a period not begun yet is refused with a message, nothing stored
    r = client.post("/reports", data={"csrf_token": csrf, "plan": "KH-57-LS", "kind": "monthly", "period": "2025-12",
                                      "format": "docx"})
    assert r.status_code == 303 and r.headers["location"] == "/reports"
    assert flashes(client.get("/reports").text)[0][0] == "error"
    chair, ccsrf = _as(site, "chair")
    assert 'data-testid="new-report-form"' not in chair.get("/reports").text
    assert chair.post("/reports", data={"csrf_token": ccsrf, "plan": "KH-57-LS"}).status_code == 403


# --- evidence ------------------------------------------------------------------------------------------


def test_evidence_is_a_file_name_with_a_link_and_the_checksum_only_in_details(site):
    client, _ = _as(site, "secretariat")
    for path in ("/review", f"/items/{site.file_item}"):
        html = client.get(path).text
        link = f'<a href="/items/{site.file_item}/evidence/{site.file_id}" data-testid="evidence-file-link" download>'
        assert link + EVIDENCE_NAME + "</a>" in html, path
        outside = re.sub(r"<details.*?</details>", "", html, flags=re.S)
        assert "sha256" not in outside.lower() and ".bin" not in outside and "lưu " not in visible_text(outside), path
        assert re.search(r'<code data-testid="file-sha256">[0-9a-f]{64}</code>', html), path
    r = client.get(f"/items/{site.file_item}/evidence/{site.file_id}")
    assert r.status_code == 200 and r.content == b"%PDF-1.4 ke hoach 45"


# --- no English in the Vietnamese UI ---------------------------------------------------------------------

# Leftovers found in issue 18 (and their kind): each must never come back.
KNOWN_LEFTOVERS = [
    r"\brevision:", r"\btasks:", r"\bmonthly\b", r"\bquarterly\b", r"\bsystem\b", r"\brow \d", r"\bcolumn\b",
    r"Phiên bản \d", r"\bsha256\b", r"lưu [0-9a-f]{4}", r"\.bin\b", r"\bin_progress\b", r"\bnot_started\b",
    r"\b20\d\d-Q\d\b", r"\b20\d\d-\d\d\b", r"\bimport\b", r"\bNone\b", r"\bTrue\b", r"\bFalse\b",
]
# Words that may appear in a Vietnamese page: the product, file formats, codes and people's data.
ALLOW = {"steer", "english", "docx", "xlsx", "html", "md", "json", "pdf", "word", "excel", "web", "kb", "mb",
         "sha", "ical", "url", "api", "token", "email", "id"}
# Common English words: any of them in the Vietnamese UI is a leftover.
# ("in", "to", "no", "on" are Vietnamese words too: báo in, to lớn, no đủ)
ENGLISH = {"the", "and", "of", "for", "with", "by", "status", "task", "tasks", "unit", "plan",
           "report", "reports", "overdue", "due", "deadline", "submit", "submitted", "verify", "reject", "start",
           "started", "progress", "note", "history", "version", "revision", "file", "files", "download", "view",
           "back", "level", "acknowledged", "acknowledge", "page", "next", "previous", "filter", "search", "all",
           "none", "yes", "system", "row", "column", "monthly", "quarterly", "annual", "created", "evidence",
           "extension", "pending", "open", "closed", "completed", "cancelled", "blocked", "action", "actions", "error",
           "warning", "warnings", "heat", "map", "chair", "secretariat", "focal", "point", "viewer", "logout", "login",
           "account", "home", "settings", "summary", "total", "date", "period", "kind", "format", "name", "size"}

PAGES = {
    "secretariat": ["/items", "/items?status=completed", "/review", "/heatmap", "/overdue", "/overdue?page=1",
                    "/plans", "/reports", "/reports/1", "/account", "/plans/upload", "/items/{file_item}",
                    "/items/{open_item}"],
    "chair": ["/items", "/review", "/heatmap", "/overdue", "/reports", "/items/{open_item}", "/items/{file_item}"],
    "pct_tt": ["/items", "/heatmap", "/overdue", "/items/{open_item}"],
    "sxd_focal": ["/items", "/items/{open_item}", "/items/{file_item}", "/account"],
    "observer": ["/items", "/heatmap", "/overdue", "/reports", "/plans", "/items/{open_item}"],
}


def english_leftovers(text: str) -> list[str]:
    """Known leftovers, and English words outside the allowlist, in a page's visible text."""
    def ctx(m: re.Match[str]) -> str:
        return f"{m.group(0)!r} in …{text[max(0, m.start() - 30):m.end() + 15]}…".replace("\n", " ")

    found = [ctx(m) for pat in KNOWN_LEFTOVERS for m in re.finditer(pat, text)]
    for m in re.finditer(r"(?<![^\W\d_])[A-Za-z]+(?![^\W\d_])", text):
        w = m.group(0).lower()
        if w in ENGLISH and w not in ALLOW:
            found.append(ctx(m))
    return found


def _strip_data(text: str) -> str:
    # references (KH-57-LS/7@SXD#2025-06), unit codes and e-mail-like data are data, not UI words
    text = re.sub(r"(?<!\w)[A-Z][A-Z0-9_]*(?:-[A-Z0-9]+)*(?:/[\w.]+)?(?:@[A-Z0-9_]+)?(?:#[\w-]+)?(?!\w)", " ", text)
    text = re.sub(r"[@#][\w-]+", " ", text)  # a reference's unit / occurrence part on its own
    return re.sub(r"(?<!\w)[a-z0-9]+(?:_[a-z0-9]+)+(?!\w)", " ", text)  # user names (sxd_focal)


def test_the_detector_bites():
    assert english_leftovers("revision: 1 tasks: 80") and english_leftovers("monthly 2025-07")
    assert english_leftovers("Lịch sử: system") and english_leftovers("plan.xlsx, row 8, column 'Thời hạn'")
    assert english_leftovers("Phiên bản 6") and english_leftovers("tệp (12 byte, sha256 ab, lưu f94f.bin)")
    assert not english_leftovers("Báo cáo quý II/2025 · tháng 7/2025 · dòng 8, cột «Thời hạn» · hệ thống")


def test_no_english_words_in_the_vietnamese_pages_of_any_role(site):
    bad: dict[str, list[str]] = {}
    for person, paths in PAGES.items():
        client, _ = _as(site, person)
        for raw in paths:
            path = raw.format(open_item=site.open_item, file_item=site.file_item)
            r = client.get(path)
            assert r.status_code == 200, (person, path, r.status_code)
            # the account page shows the user's own login name (data, not UI text)
            found = english_leftovers(_strip_data(visible_text(r.text).replace(person, " ")))
            if found:
                bad[f"{person} {path}"] = sorted(set(found))
    # pages without a login: login, a one-click acknowledgement, a broken link; error pages
    client, _ = anon(site.app)
    ack = make_token(SECRET, purpose="ack", item_id=site.open_item, unit_code="SXD", expires=NOW + timedelta(days=3))
    for path, status in (("/login", 200), (f"/l/{ack}", 200), ("/l/ack.khong-hop-le", 400)):
        r = client.get(path)
        assert r.status_code == status, path
        found = english_leftovers(_strip_data(visible_text(r.text)))
        if found:
            bad[f"anon {path}"] = found
    focal, _ = _as(site, "sxd_focal")
    for path, status in (("/heatmap", 403), ("/items/99999999", 404)):
        r = focal.get(path)
        assert r.status_code == status, path
        found = english_leftovers(_strip_data(visible_text(r.text).replace("sxd_focal", " ")))
        if found:
            bad[f"sxd_focal {path}"] = found
    assert not bad, bad


def test_english_pages_stay_english(site):
    client, _ = _as(site, "secretariat")
    assert "Unit (code, name or alias)" in client.get("/overdue", params={"lang": "en"}).text
    page = client.get("/reports", params={"lang": "en"}).text
    assert "Create a report" in page and "Q2 2025" in page


def test_history_names_the_system_in_vietnamese(site):
    from engine.models import Event
    from engine.tracking import track

    eng = dbmod.make_engine(site.db_url)
    try:
        with transaction(eng) as s:
            track(s, now=NOW)  # the daily run records timeliness changes as "system"
        with transaction(eng) as s:
            iid = s.execute(select(Event.work_item_id).where(Event.actor == "system", Event.work_item_id.is_not(None))
                            .order_by(Event.id)).scalars().first()
    finally:
        eng.dispose()
    assert iid is not None
    client, _ = _as(site, "secretariat")
    html = client.get(f"/items/{iid}").text
    events = re.findall(r'<li data-testid="event" data-kind="timeliness">.*?</li>', html, flags=re.S)
    assert events and all("<strong>hệ thống</strong>" in e for e in events)
    assert "system" not in visible_text(html)
    en = client.get(f"/items/{iid}", params={"lang": "en"}).text
    assert "<strong>system</strong>" in en


def test_upload_preview_warnings_in_vietnamese(site):
    client, csrf = _as(site, "secretariat")
    body = (REPO / "plans" / "sample-plan.xlsx").read_bytes()
    r = client.post("/plans/upload", data={"csrf_token": csrf, "code": "KH-PREVIEW"},
                    files={"file": ("ke-hoach-mau.xlsx", body, "application/vnd.openxmlformats-officedocument"
                                                              ".spreadsheetml.sheet")})
    assert r.status_code == 200
    warnings = re.findall(r'<li data-testid="warning"[^>]*>([^<]*)</li>', r.text)
    assert warnings and any("dòng " in w for w in warnings)
    assert not any(re.search(r"\brow \d|\bcolumn\b", w) for w in warnings), warnings[:3]
    assert not english_leftovers(_strip_data(visible_text(r.text)))


def test_page_csrf_helper_still_reads_forms(site):
    client, _ = _as(site, "secretariat")
    assert csrf_of(client.get("/reports").text)


# --- in a browser: screenshots, phone width -----------------------------------------------------------


@pytest.fixture(scope="module")
def chromium_path() -> str:
    from tests.test_web_e2e import _browser_or_skip

    return _browser_or_skip()


def _shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _no_sideways_scroll(page, name: str) -> None:  # type: ignore[no-untyped-def]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name}: the page is {width} px wide on a 390 px phone"


def test_browser_screenshots_desktop_and_phone(site, chromium_path, tmp_path):
    from tests.test_web_a11y import _in_browser
    from tests.test_web_e2e import serving

    def story(browser) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        out: dict[str, Any] = {}
        with serving(site.app, "pages-uvicorn") as base:
            for size, ctx_kw in (("desktop", DESKTOP), ("phone", PHONE)):
                phone = size == "phone"

                def login_as(user: str):  # type: ignore[no-untyped-def]
                    ctx = browser.new_context(**ctx_kw)
                    page = ctx.new_page()
                    page.goto(f"{base}/login")
                    page.fill("#login-username", user)
                    page.fill("#login-password", PASSWORDS[user])
                    with page.expect_navigation():
                        page.click("#login-submit")
                    return ctx, page

                # the chair: overdue list filtered by a unit name without diacritics, then paged
                ctx, page = login_as("chair")
                page.goto(f"{base}/overdue")
                page.fill("#f-unit", "so")
                page.select_option("#f-level", "chair")
                with page.expect_navigation():
                    page.click('[data-testid="filter-submit"]')
                out[f"{size}-filtered-rows"] = page.locator('[data-testid="overdue-row"]').count()
                assert page.locator('[data-testid="page-next"]').count() == 1
                with page.expect_navigation():
                    page.click('[data-testid="page-next"]')
                assert "page=1" in page.url and "unit=so" in page.url and "level=chair" in page.url
                assert page.locator("#f-unit").input_value() == "so"
                _shot(page, f"overdue-filtered-paged-{size}")
                if phone:
                    _no_sideways_scroll(page, "overdue")
                # the chair's item page (an overdue item, from the list): comment and acknowledge,
                # no assignee forms
                with page.expect_navigation():
                    page.locator('[data-testid="overdue-row"] td.ref a').first.click()
                assert page.locator('[data-testid="action-ack"]').count() == 1
                for form in ASSIGNEE_FORMS:
                    assert page.locator(f'[data-testid="{form}"]').count() == 0, form
                assert page.locator('[data-testid="action-note"]').count() == 1
                assert page.locator('[data-testid="note-percent"]').count() == 0
                _shot(page, f"chair-item-{size}")
                if phone:
                    _no_sideways_scroll(page, "chair item")
                ctx.close()

                # the secretariat: review queue with the evidence link, then a report from the web
                ctx, page = login_as("secretariat")
                page.goto(f"{base}/review")
                link = page.locator(f'tr[data-item-id="{site.file_item}"] [data-testid="evidence-file-link"]')
                assert link.inner_text() == EVIDENCE_NAME
                assert not page.locator('[data-testid="file-sha256"]').first.is_visible()
                _shot(page, f"review-evidence-{size}")
                if phone:
                    _no_sideways_scroll(page, "review")
                with page.expect_download() as dl:
                    link.click()
                out[f"{size}-download"] = dl.value.suggested_filename

                page.goto(f"{base}/reports")
                page.click('[data-testid="new-report"] summary')
                page.select_option("#rep-kind", "monthly")
                page.select_option("#rep-period", "2025-07")
                page.select_option("#rep-format", "docx")
                _shot(page, f"report-create-form-{size}")
                with page.expect_navigation():
                    page.click('[data-testid="create-report"]')
                assert re.search(r"/reports/\d+\?fmt=docx$", page.url), page.url
                assert page.locator('[data-testid="flash"][data-kind="ok"]').count() == 1
                assert page.locator('[data-testid="report-view"]').count() == 1
                page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
                page.wait_for_load_state("networkidle")
                _shot(page, f"report-created-view-{size}")
                if phone:
                    _no_sideways_scroll(page, "report view")
                with page.expect_download() as dl:
                    page.click('[data-testid="report-download-chosen"]')
                out[f"{size}-report"] = dl.value.suggested_filename
                with page.expect_navigation():
                    page.click('[data-testid="back-to-reports"]')
                assert page.url.endswith("/reports")
                _shot(page, f"reports-after-back-{size}")
                if phone:
                    _no_sideways_scroll(page, "reports")
                ctx.close()
        return out

    out = _in_browser(story, chromium_path)
    assert out["desktop-filtered-rows"] > 0
    assert out["desktop-download"] == EVIDENCE_NAME
    assert out["desktop-report"].endswith(".docx") and out["phone-report"].endswith(".docx")


# --- the same search on either database (SQLite; PostgreSQL with STEER_TEST_POSTGRES_URL) -----------------


@pytest.fixture
def world(db_url, tmp_path, monkeypatch) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from tests.web_helpers import running_world

    with running_world(db_url, tmp_path, monkeypatch) as w:
        yield w


@pytest.mark.parametrize("query", ["SKHCN", "skhcn", "Sở Khoa học và Công nghệ", "so khoa hoc", "SỞ KH&CN", "so kh&cn"])
def test_unit_and_title_search_on_either_database(world, query):  # type: ignore[no-untyped-def]
    from tests.web_helpers import PASSWORD

    client, _ = login(world.app, "secretariat", PASSWORD)
    rows = _rows(client.get("/items", params={"unit": query}).text, "item-row")
    assert rows and {r["unit"] for r in rows} == {"SKHCN"}, query
    api = client.get("/api/v1/items", params={"unit": query},
                     headers={"Authorization": f"Bearer {world.tokens['secretariat']}"}).json()
    assert api["total"] == len(rows) and {i["unit"] for i in api["items"]} == {"SKHCN"}
    found = _rows(client.get("/items", params={"q": "chuyen doi so"}).text, "item-row")
    assert [r["unit"] for r in found] == ["SKHCN"]  # "Ban hành kế hoạch chuyển đổi số"
    assert not _rows(client.get("/items", params={"q": "an hanh"}).text, "item-row")  # a word's beginning only


def test_heatmap_bad_query_is_400_and_unknown_plan_404(world):  # type: ignore[no-untyped-def]
    """A wrong ``rule``, ``section`` or ``milestone`` is the reader's mistake (400, saying what is
    wrong); a plan that does not exist is not found (404) — on the page and in the JSON API."""
    from tests.web_helpers import PASSWORD

    client, _ = login(world.app, "secretariat", PASSWORD)
    assert client.get("/heatmap").status_code == 200
    for query in ({"rule": "bogus"}, {"section": "ZZ"}, {"milestone": "31/02/2025"}):
        r = client.get("/heatmap", params=query)
        assert r.status_code == 400, (query, r.status_code)
        assert 'data-testid="error"' in r.text or "lỗi" in r.text.lower(), r.text[:300]
    assert client.get("/heatmap", params={"plan": "NO-SUCH-PLAN"}).status_code == 404
    auth = {"Authorization": f"Bearer {world.tokens['secretariat']}"}
    assert client.get("/api/v1/heatmap", params={"rule": "bogus"}, headers=auth).status_code == 400
    assert client.get("/api/v1/heatmap", params={"plan": "NO-SUCH-PLAN"}, headers=auth).status_code == 404

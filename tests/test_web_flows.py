"""What the web app is for: the assignee's two clicks, the secretariat's plan upload and
review queue, the chair's heat map, the calendar feed, the JSON API and notification links."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.db import make_engine, transaction
from engine.models import EscalationAck, Event, EvidenceFile, Plan, Task, WorkItem
from tests.web_helpers import (
    NOW, SECRET, anon, flashes, fresh_item, item_id, login, running_world, snapshot,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=True) as w:
        yield w


def _item(url: str, iid: int) -> WorkItem:
    eng = make_engine(url)
    with transaction(eng) as s:
        w = s.get(WorkItem, iid)
        s.expunge(w)
    eng.dispose()
    return w


def test_focal_point_list_is_due_soon_first(world):  # type: ignore[no-untyped-def]
    client, _ = login(world.app, "skhcn_focal")
    html = client.get("/items").text
    rows = re.findall(r'data-testid="item-row" data-item-id="(\d+)"[^>]*data-status="([a-z_]+)"', html)
    ids = [int(i) for i, _ in rows]
    assert ids == [item_id(world.url, "1"), item_id(world.url, "3", "SKHCN")]  # 30/06 before 31/12


def test_two_clicks_from_the_list_start_and_submit_with_evidence_file(world):  # type: ignore[no-untyped-def]
    iid = item_id(world.url, "1")
    client, csrf = login(world.app, "skhcn_focal")
    page = client.get(f"/items/{iid}").text
    assert 'data-testid="action-start"' in page and 'data-testid="evidence-input"' in page
    content = b"%PDF-1.4 Quyet dinh 1234"
    r = client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "Quyết định số 1234/QĐ-UBND"},
                    files={"file": ("QĐ 1234.pdf", content, "application/pdf")})
    assert r.status_code == 303 and r.headers["location"] == f"/items/{iid}"
    page = client.get(f"/items/{iid}").text
    assert flashes(page)[0][0] == "ok"
    assert _item(world.url, iid).status == "submitted"
    eng = make_engine(world.url)
    with transaction(eng) as s:
        f = s.execute(select(EvidenceFile).where(EvidenceFile.work_item_id == iid)).scalar_one()
        ev = s.execute(select(Event.evidence).where(Event.work_item_id == iid, Event.to_status == "submitted")).scalar_one()
        f_id, stored, sha = f.id, f.stored_name, f.sha256
        assert f.original_name == "QĐ 1234.pdf" and f.size == len(content) and f.uploaded_by == "skhcn_focal"
    eng.dispose()
    assert sha == hashlib.sha256(content).hexdigest()
    assert "Quyết định số 1234/QĐ-UBND" in ev and sha in ev and stored in ev and "QĐ 1234.pdf" in ev
    assert (world.upload_dir / "evidence" / stored).read_bytes() == content
    d = client.get(f"/items/{iid}/evidence/{f_id}")
    assert d.status_code == 200 and d.content == content and d.headers["content-disposition"].startswith("attachment")
    # the secretariat verifies it from the review queue
    staff, scsrf = login(world.app, "secretariat")
    queue = staff.get("/review").text
    assert f'data-testid="review-row" data-item-id="{iid}"' in queue
    r = staff.post(f"/items/{iid}/verify", data={"csrf_token": scsrf, "back": "/review"})
    assert r.status_code == 303 and r.headers["location"] == "/review"
    w = _item(world.url, iid)
    assert w.status == "completed" and w.completion == "late"  # deadline 30/06, verified 15/07
    assert f'data-item-id="{iid}"' not in staff.get("/review").text


def test_reject_sends_back_and_submit_without_evidence_is_refused(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    client, csrf = login(world.app, "skhcn_focal")
    before = snapshot(world.url)
    client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "   "})
    msgs = flashes(client.get(f"/items/{iid}").text)
    assert msgs[0][0] == "error" and "bằng chứng" in msgs[0][1]
    assert snapshot(world.url) == before
    client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "Dự thảo"})
    staff, scsrf = login(world.app, "secretariat")
    staff.post(f"/items/{iid}/reject", data={"csrf_token": scsrf, "reason": ""})
    assert _item(world.url, iid).status == "submitted"
    staff.post(f"/items/{iid}/reject", data={"csrf_token": scsrf, "reason": "Mới là dự thảo", "back": "/review"})
    assert _item(world.url, iid).status == "in_progress"


def test_stale_version_is_refused_with_the_engines_message(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "not_started")
    client, csrf = login(world.app, "skhcn_focal")
    client.post(f"/items/{iid}/note", data={"csrf_token": csrf, "text": "bắt đầu chuẩn bị"})
    before = snapshot(world.url)
    client.post(f"/items/{iid}/start", data={"csrf_token": csrf, "version": "1"})  # the page was read at version 1
    kind, msg = flashes(client.get(f"/items/{iid}").text)[-1]
    assert kind == "error" and "tải lại" in msg
    assert snapshot(world.url) == before


def test_extension_request_and_approval_from_the_review_page(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    client, csrf = login(world.app, "skhcn_focal")
    client.post(f"/items/{iid}/extension", data={"csrf_token": csrf, "until": "30/09/2025", "reason": "chờ vốn"})
    assert 'data-testid="pending-extension"' in client.get(f"/items/{iid}").text
    vc, vcsrf = login(world.app, "pct_kt")  # the vice-chair overseeing SKHCN
    assert 'data-testid="action-approve-extension"' in vc.get(f"/items/{iid}").text
    staff, scsrf = login(world.app, "secretariat")
    assert f'data-testid="extension-row" data-item-id="{iid}"' in staff.get("/review").text
    r = vc.post(f"/items/{iid}/extension/approve", data={"csrf_token": vcsrf})
    assert r.status_code == 303
    assert _item(world.url, iid).deadline == date(2025, 9, 30)


def test_chair_acknowledges_from_the_overdue_list(world):  # type: ignore[no-untyped-def]
    iid = item_id(world.url, "1")
    chair, csrf = login(world.app, "chair")
    page = chair.get("/overdue").text
    assert f'data-testid="overdue-row" data-item-id="{iid}"' in page
    assert f'data-item-id="{item_id(world.url, "2")}"' not in page  # not overdue
    r = chair.post(f"/items/{iid}/ack", data={"csrf_token": csrf, "back": "/overdue"})
    assert r.status_code == 303 and r.headers["location"] == "/overdue"
    eng = make_engine(world.url)
    with transaction(eng) as s:
        acks = s.execute(select(EscalationAck.recipient, EscalationAck.acked_by)
                         .where(EscalationAck.work_item_id == iid)).all()
    eng.dispose()
    assert [tuple(a) for a in acks] == [("person:chair", "chair")]
    # issue 17: the item page shows who acknowledged what and when; a second ack records nothing
    page = chair.get(f"/items/{iid}").text
    assert 'data-testid="acks"' in page and "Nguyễn Văn An xác nhận cho Nguyễn Văn An ở mức" in page
    assert "lúc 15/07/2025 09:00" in page
    before = snapshot(world.url)
    chair.post(f"/items/{iid}/ack", data={"csrf_token": csrf})
    page = chair.get(f"/items/{iid}").text
    assert any("đã xác nhận lúc 15/07/2025 09:00" in text for _, text in flashes(page)), flashes(page)
    assert snapshot(world.url) == before


def test_api_ack_is_idempotent_and_says_when(world):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    h = {"Authorization": f"Bearer {world.tokens['skhcn_focal']}"}
    iid = item_id(world.url, "1")
    first = c.post(f"/api/v1/items/{iid}/ack", json={"note": "đang xử lý"}, headers=h).json()
    assert first["already"] is False and first["recipients"] == ["person:skhcn_focal", "unit:SKHCN"]
    before = snapshot(world.url)
    again = c.post(f"/api/v1/items/{iid}/ack", json={}, headers=h)
    assert again.status_code == 200 and again.json()["already"] is True
    assert "đã xác nhận lúc 15/07/2025 09:00" in again.json()["message"] and again.json()["acked_by"] == "skhcn_focal"
    assert snapshot(world.url) == before


def test_heat_map_cells_match_the_reports_unit_colours(world):  # type: ignore[no-untyped-def]
    from engine.reporting import build_report

    chair, _ = login(world.app, "chair")
    html = chair.get("/heatmap").text
    cells = dict(re.findall(r'data-testid="heat-cell" data-unit="([^"]+)" data-status="(green|yellow|red)"', html))
    eng = make_engine(world.url)
    with transaction(eng) as s:
        data = build_report(s, plan_code="KH-TEST", kind="monthly", as_of=date(2025, 7, 15))
    eng.dispose()
    expected = {u["unit"]: u["status"] for u in data["units"]}
    assert cells == expected
    assert cells["SKHCN"] == "red"  # task 1 overdue
    # after the overdue item is completed, the cached map is rebuilt
    client, csrf = login(world.app, "skhcn_focal")
    iid = item_id(world.url, "1")
    client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "QĐ 5"})
    staff, scsrf = login(world.app, "secretariat")
    staff.post(f"/items/{iid}/verify", data={"csrf_token": scsrf})
    html = chair.get("/heatmap").text
    cells2 = dict(re.findall(r'data-testid="heat-cell" data-unit="([^"]+)" data-status="(green|yellow|red)"', html))
    assert cells2["SKHCN"] != "red"


def test_reports_view_and_downloads(world):  # type: ignore[no-untyped-def]
    chair, _ = login(world.app, "chair")
    html = chair.get("/reports").text
    rid = int(re.search(r'data-testid="report-row" data-report-id="(\d+)"', html).group(1))
    view = chair.get(f"/reports/{rid}")
    assert view.status_code == 200 and "KH-TEST" in view.text
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("json", b"{"), ("md", b""), ("html", b"<!")):
        r = chair.get(f"/reports/{rid}/download/{fmt}")
        assert r.status_code == 200 and r.content.startswith(magic), fmt
        if fmt in ("md", "json", "html"):
            assert "KH-TEST" in r.content.decode("utf-8"), fmt
        assert "attachment" in r.headers["content-disposition"]
    assert chair.get(f"/reports/{rid}/download/exe").status_code == 404
    assert chair.get("/reports/99999").status_code == 404


def test_plan_upload_preview_shows_the_6_ro_warnings_then_commit_loads(world):  # type: ignore[no-untyped-def]
    from engine.directory_store import current_directory, people_index
    from engine.planfile.readers import read_plan_file
    from engine.planfile.validate import validate_plan

    xlsx = REPO / "plans" / "sample-plan.xlsx"
    eng = make_engine(world.url)
    with transaction(eng) as s:
        vp = validate_plan(read_plan_file(xlsx), current_directory(s), code="KH-57-LS", people=people_index(s))
    expected = sorted((w.code, str(w.ref.row or "")) for w in vp.warnings)
    assert expected and {c for c, _ in expected} >= {"no_deliverable", "no_vice_chair"}
    staff, csrf = login(world.app, "secretariat")
    before = snapshot(world.url)
    r = staff.post("/plans/upload", data={"csrf_token": csrf, "code": "KH-57-LS"},
                   files={"file": ("sample-plan.xlsx", xlsx.read_bytes(), "application/octet-stream")})
    assert r.status_code == 200
    shown = sorted(re.findall(r'data-testid="warning" data-code="([a-z_]+)" data-row="(\d*)"', r.text))
    assert shown == expected
    assert 'data-testid="preview-task-count" data-count="80"' in r.text
    assert 'data-testid="commit-plan"' in r.text and 'data-testid="preview-errors"' not in r.text
    assert snapshot(world.url) == before  # the preview wrote nothing
    token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)
    r = staff.post("/plans/upload/commit", data={"csrf_token": csrf, "token": token})
    assert r.status_code == 303 and r.headers["location"] == "/plans"
    page = staff.get("/plans").text
    assert flashes(page)[0][0] == "ok" and 'data-plan="KH-57-LS"' in page
    with transaction(eng) as s:
        plan = s.execute(select(Plan).where(Plan.code == "KH-57-LS")).scalar_one()
        n = len(s.execute(select(Task.id).where(Task.plan_id == plan.id)).all())
        loaded_by = s.execute(select(Event.actor).where(Event.kind == "plan_loaded", Event.plan_id == plan.id)).scalar_one()
    eng.dispose()
    assert n == 80 and loaded_by == "secretariat"
    assert not any((world.upload_dir / "pending-plans").iterdir())  # the pending file is gone


def test_plan_upload_with_errors_has_no_commit_button(world):  # type: ignore[no-untyped-def]
    staff, csrf = login(world.app, "secretariat")
    bad = "TT,Nhiệm vụ,Cơ quan chủ trì\n1,,Sở Nội vụ\n1,Trùng mã,Sở Nội vụ\n".encode()
    before = snapshot(world.url)
    r = staff.post("/plans/upload", data={"csrf_token": csrf}, files={"file": ("bad.csv", bad, "text/csv")})
    assert r.status_code in (200, 400)
    assert 'data-testid="preview-errors"' in r.text and 'data-testid="commit-plan"' not in r.text
    r = staff.post("/plans/upload", data={"csrf_token": csrf}, files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 400 and 'data-testid="error"' in r.text
    assert snapshot(world.url) == before


def test_ical_feed_lists_open_deadlines_of_the_unit(world):  # type: ignore[no-untyped-def]
    client, csrf = login(world.app, "skhcn_focal")
    r = client.post("/account/ical", data={"csrf_token": csrf, "unit": "SNV"})  # a focal point gets its own unit
    assert r.status_code == 303
    page = client.get("/account").text
    feed_url = re.search(r'data-testid="ical-url">([^<]+)<', page).group(1)
    assert "/ical/SKHCN/" in feed_url
    assert 'data-testid="ical-url"' not in client.get("/account").text  # shown once
    path = feed_url.split("testserver", 1)[1]
    c, _ = anon(world.app)
    r = c.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    body = r.text
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.rstrip().endswith("END:VCALENDAR")
    assert body.count("BEGIN:VEVENT") == 2  # tasks 1 and 3@SKHCN
    assert "DTSTART;VALUE=DATE:20250630" in body and "DTSTART;VALUE=DATE:20251231" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert c.get(path.replace("/SKHCN/", "/SNV/")).status_code == 404
    assert c.get(path[:-6] + "xx.ics").status_code == 404
    client.post("/account/ical", data={"csrf_token": csrf})  # a new address disables the old one
    assert c.get(path).status_code == 404


def test_language_switch(world):  # type: ignore[no-untyped-def]
    client, _ = login(world.app, "chair")
    vi = client.get("/overdue").text
    assert "Nhiệm vụ quá hạn" in vi and 'lang="vi"' in vi
    en = client.get("/overdue?lang=en")
    assert "Overdue tasks" in en.text and "steer_lang=en" in en.headers.get("set-cookie", "")
    assert "Overdue tasks" in client.get("/overdue").text  # the cookie keeps it
    assert "Nhiệm vụ quá hạn" in client.get("/overdue?lang=vi").text


# --- JSON API ---------------------------------------------------------------------------------------


def test_api_notes_by_reference_or_id(world):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    h = {"Authorization": f"Bearer {world.tokens['skhcn_focal']}"}
    iid = item_id(world.url, "3", "SKHCN")
    # "KH-TEST/3" has three lead units; the focal point's scope picks its own share
    r = c.post("/api/v1/items/KH-TEST/3/notes", json={"text": "Đã có dự thảo", "percent": 40}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == iid and r.json()["version"] == 2
    r = c.post(f"/api/v1/items/{iid}/notes", json={"text": "Trình UBND", "evidence": "Tờ trình 5"}, headers=h)
    assert r.status_code == 201 and r.json()["version"] == 3
    r = c.post("/api/v1/items/KH-TEST%2F3%40SKHCN/notes", json={"text": "x"}, headers=h)
    assert r.status_code == 201
    r = c.post(f"/api/v1/items/%23{iid}/notes", json={"text": "y"}, headers=h)
    assert r.status_code == 201
    detail = c.get(f"/api/v1/items/{iid}", headers=h).json()
    notes = [e for e in detail["events"] if e["kind"] == "note"]
    assert [n["note"] for n in notes] == ["Đã có dự thảo", "Trình UBND", "x", "y"] and notes[0]["percent"] == 40.0
    assert "note" in detail["allowed_actions"]


@pytest.mark.parametrize("body,code", [
    ({"text": "x", "version": 1}, 409),
    ({"text": "x", "percent": 140}, 400),
    ({"text": ""}, 400),
    ({}, 400),
    ({"text": "x", "percent": "abc"}, 400),
])
def test_api_errors_are_json(world, body, code):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    h = {"Authorization": f"Bearer {world.tokens['skhcn_focal']}"}
    iid = fresh_item(world.url, "in_progress")
    if code == 409:
        assert c.post(f"/api/v1/items/{iid}/notes", json={"text": "first"}, headers=h).status_code == 201
    before = snapshot(world.url)
    r = c.post(f"/api/v1/items/{iid}/notes", json=body, headers=h)
    assert r.status_code == code and set(r.json()) == {"error"} and r.json()["error"]
    assert snapshot(world.url) == before


def test_api_lifecycle_and_lists(world):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    f = {"Authorization": f"Bearer {world.tokens['skhcn_focal']}"}
    s = {"Authorization": f"Bearer {world.tokens['secretariat']}"}
    iid = fresh_item(world.url, "not_started")
    assert c.post(f"/api/v1/items/{iid}/start", headers=f).json()["status"] == "in_progress"
    assert c.post(f"/api/v1/items/{iid}/submit", json={"evidence": "QĐ 7"}, headers=f).json()["status"] == "submitted"
    r = c.post(f"/api/v1/items/{iid}/verify", headers=f)
    assert r.status_code == 403 and "error" in r.json()
    assert c.post(f"/api/v1/items/{iid}/verify", json={"note": "đạt"}, headers=s).json()["status"] == "completed"
    r = c.get("/api/v1/items?status=open&due_within=200", headers=f).json()
    assert r["total"] == 2 and all(i["status"] in ("not_started", "in_progress") for i in r["items"])
    page = c.get("/api/v1/items?limit=1&offset=1", headers=s).json()
    assert len(page["items"]) == 1 and page["total"] > 1
    hm = c.get("/api/v1/heatmap", headers=s).json()
    assert {u["code"] for u in hm["units"]} >= {"SKHCN", "SNV"}
    summary = c.get("/api/v1/reports/summary?plan=KH-TEST", headers=s).json()
    assert summary["plan"]["code"] == "KH-TEST" and "due" in summary["summary"]


def test_openapi_documents_the_api_only(world):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    spec = c.get("/api/v1/openapi.json").json()
    paths = set(spec["paths"])
    assert "/api/v1/items/{ref}/notes" in paths and "/api/v1/items" in paths
    assert all(p.startswith("/api/v1/") for p in paths)
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()


# --- notifications carry one-click links -----------------------------------------------------------


def test_notification_links_open_the_item_in_the_web_app(world, monkeypatch):  # type: ignore[no-untyped-def]
    from engine.escalation import build_digest, detect
    from engine.models import OutboxMessage
    from notifications.messages import render

    monkeypatch.setenv("STEER_SECRET_KEY", SECRET)
    eng = make_engine(world.url)
    with transaction(eng) as s:
        detect(s, now=NOW)
    with transaction(eng) as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "unit:SNV")).scalars().all()
        assert rows, "no notification queued for SNV (task 4 is due in 3 working days)"
        digest = build_digest(s, rows, now=NOW)
        for i in digest.items:  # the policy has no base_url in tests: give the plain link the engine would
            i.link = f"https://steer.example/items/{i.work_item_id}"
        msg = render(digest)
    eng.dispose()
    links = re.findall(r"https://steer\.example(/l/open\.[^\s]+)", msg.body)
    acks = re.findall(r"https://steer\.example(/l/ack\.[^\s]+)", msg.body)
    assert links and acks
    c, _ = anon(world.app)
    r = c.get(links[0])
    assert r.status_code == 303
    iid = int(r.headers["location"].rsplit("/", 1)[1])
    assert c.get(f"/items/{iid}").status_code == 200
    r = c.get(acks[0])
    assert r.status_code == 200 and 'data-testid="link-ack-confirm"' in r.text
    # the same digest renders the same links (deterministic expiry), so a re-send is identical
    assert render(digest).body == msg.body


def test_cli_bridge_runs_task_commands_in_the_web_process(world, tmp_path):  # type: ignore[no-untyped-def]
    from web.app import create_app

    token = "bridge-" + "b" * 30
    app = create_app(world.url, secret_key=SECRET, upload_dir=tmp_path / "u", now=lambda: NOW, local_token=token)
    try:
        c, _ = anon(app)
        before = snapshot(world.url)
        from cli.launch import decode_response, encode_request

        body = encode_request(world.url, "vi", "KH-TEST/1", {"as": "skhcn_focal", "note": "qua cầu nối"})
        path = "/api/v1/local/task/note"
        assert c.post(path, content=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = c.post(path, content=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        code, out, err = decode_response(r.content)
        assert code == 0 and "KH-TEST/1" in out and not err, (code, out, err)
        assert snapshot(world.url)["events"] == before["events"] + 1
    finally:
        app.state.db.write.dispose()
        app.state.db.read.dispose()


def test_the_launchers_endpoint_refuses_bad_requests_and_writes_nothing(world, tmp_path):  # type: ignore[no-untyped-def]
    from web.app import create_app

    token = "bridge-" + "c" * 30
    app = create_app(world.url, secret_key=SECRET, upload_dir=tmp_path / "u", now=lambda: NOW, local_token=token)
    auth = {"Authorization": f"Bearer {token}"}
    good = {"db": world.url, "lang": "en", "item": "KH-TEST/1", "options": {"as": "skhcn_focal", "note": "x"}}
    try:
        c, _ = anon(app)
        before = snapshot(world.url)
        assert c.post("/api/v1/local/task/note", content=b"{not json", headers=auth).status_code == 400
        assert c.post("/api/v1/local/task/note", json={"item": "KH-TEST/1"}, headers=auth).status_code == 400
        assert c.post("/api/v1/local/task/show", json=good, headers=auth).status_code == 404  # not served
        unknown = dict(good, options={"as": "skhcn_focal", "note": "x", "evidence-file": "/etc/passwd"})
        assert c.post("/api/v1/local/task/note", json=unknown, headers=auth).status_code == 404  # no file options
        other = dict(good, db=f"sqlite:///{tmp_path / 'other.db'}")
        assert c.post("/api/v1/local/task/note", json=other, headers=auth).status_code == 409
        bad = dict(good, options={"as": "skhcn_focal", "note": "x", "percent": "a lot"})
        r = c.post("/api/v1/local/task/note", json=bad, headers=auth)
        assert r.status_code == 200 and r.json()["exit"] == 1 and r.json()["out"] == ""
        assert r.json()["err"].startswith("Error: ") and "a lot" in r.json()["err"]
        assert snapshot(world.url) == before
    finally:
        app.state.db.write.dispose()
        app.state.db.read.dispose()


# --- extension dates (issue 17): the one action path refuses an earlier date, on every interface --------


@pytest.mark.parametrize(("until", "words"), [
    ("20/08/2025", "phải sau thời hạn hiện tại"),   # after today (15/07), before the deadline (30/09)
    ("30/09/2025", "phải sau thời hạn hiện tại"),   # the deadline itself
    ("10/07/2025", "phải sau hôm nay"),             # in the past
])
def test_web_form_refuses_an_extension_not_later_than_the_deadline(world, until, words):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress", deadline=date(2025, 9, 30))
    client, csrf = login(world.app, "skhcn_focal")
    before = snapshot(world.url)
    r = client.post(f"/items/{iid}/extension", data={"csrf_token": csrf, "until": until, "reason": "chờ vốn"})
    assert r.status_code in (303, 400)
    page = client.get(f"/items/{iid}").text
    assert any(kind == "error" and words in text for kind, text in flashes(page)) or words in r.text
    assert snapshot(world.url) == before


@pytest.mark.parametrize(("until", "words"), [
    ("2025-08-20", "must be after the deadline in force"),
    ("2025-07-10", "must be after today"),
])
def test_api_refuses_an_extension_not_later_than_the_deadline(world, until, words):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    h = {"Authorization": f"Bearer {world.tokens['skhcn_focal']}", "Accept-Language": "en"}
    iid = fresh_item(world.url, "in_progress", deadline=date(2025, 9, 30))
    before = snapshot(world.url)
    r = c.post(f"/api/v1/items/{iid}/extension", json={"until": until, "reason": "x"}, headers=h)
    assert r.status_code == 400 and words in r.json()["error"], r.text
    assert snapshot(world.url) == before
    r = c.post(f"/api/v1/items/{iid}/extension", json={"until": "2025-10-31", "reason": "x"}, headers=h)
    assert r.status_code == 200, r.text

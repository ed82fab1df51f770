"""Hostile input and the protections around it: CSRF, escaping, login rate limiting,
sessions, one-click links, upload limits, redirects and headers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine import accounts
from engine.db import make_engine, transaction
from engine.links import make_token
from tests.web_helpers import (
    HOSTILE, NOW, PASSWORD, SECRET, anon, flashes, fresh_item, item_id, login, running_world, snapshot,
)


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


# --- CSRF ------------------------------------------------------------------------------------------

POST_FORMS = [
    ("start", {}), ("submit", {"evidence": "QĐ 1"}), ("note", {"text": "x"}),
    ("extension", {"until": "2025-12-31", "reason": "r"}), ("block", {"reason": "r"}), ("unblock", {}),
    ("verify", {}), ("reject", {"reason": "r"}), ("extension/approve", {}), ("extension/reject", {"reason": "r"}),
    ("ack", {}),
]


@pytest.mark.parametrize("variant", ["missing", "wrong", "other_session"])
def test_posts_without_the_sessions_csrf_token_are_refused_and_write_nothing(world, variant):  # type: ignore[no-untyped-def]
    client, csrf = login(world.app, "secretariat")
    _other, other_csrf = login(world.app, "chair")
    token = {"missing": None, "wrong": "x" * 43, "other_session": other_csrf}[variant]
    iid = fresh_item(world.url, "in_progress")
    before = snapshot(world.url)
    targets = [f"/items/{iid}/{a}" for a, _ in POST_FORMS] + ["/account/token", "/account/ical", "/plans/upload",
                                                               "/plans/upload/commit", "/plans/upload/ocr", "/progress/upload",
                                                               "/progress/upload/commit", "/logout"]
    for target in targets:
        data = dict(dict(POST_FORMS).get(target.split("/", 3)[-1], {}))
        if token is not None:
            data["csrf_token"] = token
        r = client.post(target, data=data)
        assert r.status_code == 403, (target, r.status_code)
        assert "csrf" in r.text.lower() or "mã bảo vệ" in r.text
    assert snapshot(world.url) == before
    # still logged in (the refused /logout did nothing); the right token works
    r = client.post(f"/items/{iid}/note", data={"csrf_token": csrf, "text": "ok"})
    assert r.status_code == 303 and snapshot(world.url)["events"] == before["events"] + 1


def test_login_form_needs_csrf_too(world):  # type: ignore[no-untyped-def]
    c, _ = anon(world.app)
    r = c.post("/login", data={"username": "secretariat", "password": PASSWORD})
    assert r.status_code == 403
    assert c.get("/items").status_code == 303  # not logged in


def test_csrf_header_is_accepted_for_htmx_style_posts(world):  # type: ignore[no-untyped-def]
    client, csrf = login(world.app, "skhcn_focal")
    iid = fresh_item(world.url, "not_started")
    r = client.post(f"/items/{iid}/start", data={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 303


# --- escaping ---------------------------------------------------------------------------------------


def test_hostile_titles_notes_and_file_names_render_escaped(world):  # type: ignore[no-untyped-def]
    iid = item_id(world.url, "4")  # SNV's task with a hostile title and deliverable
    client, csrf = login(world.app, "snv_focal")
    r = client.post(f"/items/{iid}/note", data={"csrf_token": csrf, "text": HOSTILE, "percent": "10"})
    assert r.status_code == 303
    r = client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": HOSTILE},
                    files={"file": ('<svg onload=alert(1)>.pdf', b"%PDF", "application/pdf")})
    assert r.status_code == 303
    staff, _ = login(world.app, "secretariat")
    pages = [client.get("/items").text, client.get(f"/items/{iid}").text, staff.get("/review").text,
             staff.get("/items?q=script").text]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
    detail = pages[1]
    assert "&lt;script&gt;alert(" in detail  # the title, shown as text
    assert detail.count("&lt;script&gt;") >= 3  # title, deliverable, note (and the evidence)
    assert ">svg onload=alert(1).pdf<" in detail  # markup characters are dropped from stored file names
    assert "&lt;script&gt;" in pages[2]


def test_hostile_text_in_the_json_api_is_returned_as_data(world):  # type: ignore[no-untyped-def]
    client, _ = anon(world.app)
    h = {"Authorization": f"Bearer {world.tokens['snv_focal']}"}
    r = client.get(f"/api/v1/items/{item_id(world.url, '4')}", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["title"] == HOSTILE


# --- login rate limiting --------------------------------------------------------------------------


def test_login_is_rate_limited_per_user_across_app_instances(world, tmp_path):  # type: ignore[no-untyped-def]
    from web.app import create_app

    clock = {"now": NOW}
    app1 = create_app(world.url, secret_key=SECRET, upload_dir=tmp_path / "u1", now=lambda: clock["now"])
    app2 = create_app(world.url, secret_key=SECRET, upload_dir=tmp_path / "u2", now=lambda: clock["now"])
    try:
        for i in range(5):
            c, tok = anon(app1 if i % 2 else app2)  # two "workers" share the counter (it is in the database)
            r = c.post("/login", data={"username": "chair", "password": "wrong-password", "csrf_token": tok})
            assert r.status_code == 401 and 'data-testid="login-error"' in r.text
        c, tok = anon(app1)
        r = c.post("/login", data={"username": "chair", "password": PASSWORD, "csrf_token": tok})
        assert r.status_code == 429 and "Retry-After" in r.headers  # even the right password
        assert c.get("/items").status_code == 303
        # another user is not affected
        c2, tok2 = anon(app2)
        assert c2.post("/login", data={"username": "observer", "password": PASSWORD, "csrf_token": tok2}).status_code == 303
        # after the window the right password works again, and a success clears the count
        clock["now"] = NOW + timedelta(minutes=16)
        c3, tok3 = anon(app2)
        assert c3.post("/login", data={"username": "chair", "password": PASSWORD, "csrf_token": tok3}).status_code == 303
    finally:
        for a in (app1, app2):
            a.state.db.write.dispose()
            a.state.db.read.dispose()


def test_one_client_address_is_limited_across_user_names(world):  # type: ignore[no-untyped-def]
    c, tok = anon(world.app)
    codes = [c.post("/login", data={"username": f"u{i}", "password": "bad-password", "csrf_token": tok}).status_code
             for i in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429


# --- sessions -------------------------------------------------------------------------------------


def test_password_change_and_disable_end_sessions_and_tokens(world):  # type: ignore[no-untyped-def]
    client, _ = login(world.app, "skhcn_focal")
    assert client.get("/items").status_code == 200
    eng = make_engine(world.url)
    with transaction(eng) as s:
        accounts.set_password(s, "skhcn_focal", "a-new-password", now=NOW + timedelta(seconds=1))
    assert client.get("/items").status_code == 303  # old session ended
    client, _ = login(world.app, "skhcn_focal", "a-new-password")
    # the password change revoked the old token (issue 22, finding 6); a new one works until the disable
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {world.tokens['skhcn_focal']}"}).status_code == 401
    with transaction(eng) as s:
        api = {"Authorization": f"Bearer {accounts.issue_api_token(s, 'skhcn_focal', now=NOW + timedelta(seconds=2))}"}
    assert client.get("/api/v1/me", headers=api).status_code == 200
    with transaction(eng) as s:
        accounts.disable(s, "skhcn_focal", now=NOW)
    eng.dispose()
    assert client.get("/items").status_code == 303
    assert client.get("/api/v1/me", headers=api).status_code == 401
    c, tok = anon(world.app)
    assert c.post("/login", data={"username": "skhcn_focal", "password": "a-new-password",
                                  "csrf_token": tok}).status_code == 401


def test_session_cookie_flags_and_security_headers(world):  # type: ignore[no-untyped-def]
    c, tok = anon(world.app)
    r = c.post("/login", data={"username": "chair", "password": PASSWORD, "csrf_token": tok})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "steer_session=" in cookie
    page = c.get("/heatmap")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"


def test_https_only_sets_secure_cookie(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False, https_only=True) as w:
        c, _ = anon(w.app)
        r = c.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_next_cannot_redirect_off_site(world, target):  # type: ignore[no-untyped-def]
    c, tok = anon(world.app)
    r = c.post("/login", data={"username": "chair", "password": PASSWORD, "csrf_token": tok, "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


# --- one-click links --------------------------------------------------------------------------------


def _tok(purpose: str, iid: int, unit: str = "SKHCN", days: int = 14, **kw):  # type: ignore[no-untyped-def]
    return make_token(SECRET, purpose=purpose, item_id=iid, unit_code=unit,
                      expires=NOW + timedelta(days=days), **kw)


def test_open_link_gives_a_scope_of_one_item_and_one_unit(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "not_started")
    other_own = fresh_item(world.url, "not_started")  # same unit, another item
    c, _ = anon(world.app)
    r = c.get(f"/l/{_tok('open', iid)}")
    assert r.status_code == 303 and r.headers["location"] == f"/items/{iid}"
    page = c.get(f"/items/{iid}")
    assert page.status_code == 200 and 'data-testid="link-scope"' in page.text
    assert 'data-testid="action-submit"' in page.text and 'data-testid="action-verify"' not in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    before = snapshot(world.url)
    assert c.get(f"/items/{other_own}").status_code == 404
    assert c.post(f"/items/{other_own}/start", data={"csrf_token": csrf}).status_code == 404
    assert c.get("/items").status_code == 303  # lists need a login
    assert c.get("/api/v1/items").status_code == 401
    assert snapshot(world.url) == before
    # click 2: report done with the decision number
    r = c.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "Quyết định số 99/QĐ-UBND"})
    assert r.status_code == 303
    assert ("ok", ) == tuple(k for k, _ in flashes(c.get(f"/items/{iid}").text))[:1]
    after = snapshot(world.url)
    assert after["events"] == before["events"] + 1
    assert dict((i[0], i[2]) for i in after["items"])[iid] == "submitted"


def test_link_cannot_verify_even_for_staff_recipients(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "submitted")
    c, _ = anon(world.app)
    c.get(f"/l/{_tok('open', iid, recipient='secretariat')}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get(f"/items/{iid}").text).group(1)
    before = snapshot(world.url)
    assert c.post(f"/items/{iid}/verify", data={"csrf_token": csrf}).status_code == 403
    assert snapshot(world.url) == before


def test_ack_link_confirms_with_a_post_and_acknowledges(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")  # deadline 30/06: overdue on 15/07
    c, _ = anon(world.app)
    tok = _tok("ack", iid)
    before = snapshot(world.url)
    page = c.get(f"/l/{tok}")  # GET never changes anything (mail scanners prefetch links)
    assert page.status_code == 200 and 'data-testid="link-ack-confirm"' in page.text
    assert snapshot(world.url) == before
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post(f"/l/{tok}", data={"csrf_token": csrf})
    assert r.status_code == 200 and flashes(r.text)[0][0] == "ok"
    # acting as the unit's focal point: repeats stop for the person and for the unit's channel
    assert snapshot(world.url)["acks"] == before["acks"] + 2
    # an open token cannot be POSTed as an acknowledgement
    r = c.post(f"/l/{_tok('open', iid)}", data={"csrf_token": csrf})
    assert r.status_code == 400


@pytest.mark.parametrize("case", ["tampered", "truncated", "wrong_key", "swapped_purpose", "garbage", "wrong_unit"])
def test_bad_links_get_a_clear_page_not_an_error(world, case):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "not_started")
    good = _tok("open", iid)
    token = {
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "truncated": good[: len(good) // 2],
        "wrong_key": make_token("another-secret-key-123456", purpose="open", item_id=iid, unit_code="SKHCN",
                                expires=NOW + timedelta(days=1)),
        "swapped_purpose": "ack." + good.split(".", 1)[1],
        "garbage": "open.%3Cscript%3E",
        "wrong_unit": _tok("open", iid, unit="SNV"),
    }[case]
    c, _ = anon(world.app)
    before = snapshot(world.url)
    r = c.get(f"/l/{token}")
    assert r.status_code == 400
    assert 'data-testid="link-error"' in r.text and 'data-reason="invalid"' in r.text
    assert "<script" not in r.text.split("<body>", 1)[1]
    assert c.get(f"/items/{iid}").status_code == 303  # no scope granted
    assert snapshot(world.url) == before


def test_expired_link_gets_410_with_a_clear_page(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "not_started")
    c, _ = anon(world.app)
    r = c.get(f"/l/{_tok('open', iid, days=-1)}")
    assert r.status_code == 410 and 'data-reason="expired"' in r.text
    assert "hết hạn" in r.text
    assert c.get(f"/items/{iid}").status_code == 303


def test_link_scope_ends_when_the_link_expires(world, tmp_path):  # type: ignore[no-untyped-def]
    from web.app import create_app

    clock = {"now": NOW}
    app = create_app(world.url, secret_key=SECRET, upload_dir=tmp_path / "u", now=lambda: clock["now"])
    try:
        iid = fresh_item(world.url, "not_started")
        c, _ = anon(app)
        tok = make_token(SECRET, purpose="open", item_id=iid, unit_code="SKHCN", expires=NOW + timedelta(hours=1))
        assert c.get(f"/l/{tok}").status_code == 303
        assert c.get(f"/items/{iid}").status_code == 200
        clock["now"] = NOW + timedelta(hours=2)
        assert c.get(f"/items/{iid}").status_code == 303  # back to the login page
        assert c.get(f"/l/{tok}").status_code == 410
    finally:
        app.state.db.write.dispose()
        app.state.db.read.dispose()


# --- uploads ----------------------------------------------------------------------------------------


def test_oversized_evidence_is_refused_and_nothing_is_kept(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False, max_upload_bytes=1000) as w:
        iid = fresh_item(w.url, "in_progress")
        client, csrf = login(w.app, "skhcn_focal")
        before = snapshot(w.url)
        r = client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "x"},
                        files={"file": ("big.pdf", b"x" * 5000, "application/pdf")})
        assert r.status_code == 303
        assert flashes(client.get(f"/items/{iid}").text)[0][0] == "error"
        assert snapshot(w.url) == before
        ev = w.upload_dir / "evidence"
        assert not ev.exists() or not any(ev.iterdir())
        # far above the limit: refused before the body is read
        r = client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "x"},
                        files={"file": ("big.pdf", b"x" * (3 * 1024 * 1024), "application/pdf")})
        assert r.status_code == 413
        assert snapshot(w.url) == before


def test_uploaded_file_names_cannot_escape_the_upload_dir(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    client, csrf = login(world.app, "skhcn_focal")
    r = client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": ""},
                    files={"file": ("../../../../etc/passwd", b"root:x:0:0", "text/plain")})
    assert r.status_code == 303
    files = list((world.upload_dir / "evidence").iterdir())
    assert len(files) == 1 and re.fullmatch(r"[0-9a-f]{32}\.bin", files[0].name)
    assert files[0].resolve().parent == (world.upload_dir / "evidence").resolve()
    page = client.get(f"/items/{iid}").text
    assert ">passwd<" in page


def test_plan_commit_token_is_bound_to_the_session(world):  # type: ignore[no-untyped-def]
    a, csrf_a = login(world.app, "secretariat")
    csv = "TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành\n1,Việc A,Sở Nội vụ,Báo cáo,31/12/2025\n".encode()
    r = a.post("/plans/upload", data={"csrf_token": csrf_a, "code": "KH-X"}, files={"file": ("p.csv", csv, "text/csv")})
    token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)
    b, csrf_b = login(world.app, "secretariat")  # same person, another session
    before = snapshot(world.url)
    for tok in (token, "../" + token, "0" * 32):
        r = b.post("/plans/upload/commit", data={"csrf_token": csrf_b, "token": tok})
        assert r.status_code == 400
    assert snapshot(world.url) == before
    assert a.post("/plans/upload/commit", data={"csrf_token": csrf_a, "token": token}).status_code == 303
    assert snapshot(world.url)["plans"] == before["plans"] + 1
    # used once
    assert a.post("/plans/upload/commit", data={"csrf_token": csrf_a, "token": token}).status_code == 400

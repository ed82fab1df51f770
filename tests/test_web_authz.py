"""Authorization matrix: every route of the app × every role (and no login).

The route list comes from ``app.routes``: a new route without an entry in ``MATRIX`` fails
``test_every_route_is_in_the_matrix``. Each cell checks the status code, and:
- a refused cell (401/403/404) changed nothing in the database (events, item versions and
  statuses, extension requests, acks, files, plans, reports);
- an allowed action wrote exactly one event, by the acting person.
Actions run on a fresh item in the right state per cell, so cells do not depend on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.db import make_engine, transaction
from engine.models import Event, EvidenceFile
from tests.web_helpers import (
    NOW, PEOPLE, SECRET, anon, flashes, fresh_item, item_id, login, running_world, snapshot,
)

ROLES = ["anon", *PEOPLE]
S, C, V, V2, F, F2, W = ("secretariat", "chair", "vice_chair", "vice_chair_other", "focal_point", "focal_other", "viewer")
LOGGED_IN = [S, C, V, V2, F, F2, W]
OVERSIGHT = [S, C, V, V2, W]


def _codes(default: int, **per_role: int) -> dict[str, int]:
    out = {r: default for r in ROLES}
    out.update(per_role)
    return out


@dataclass
class Cell:
    """How to call one route: ``prepare(ctx) -> (path, kwargs)``; expected status per role."""

    expect: dict[str, int]
    prepare: Callable[[Ctx], tuple[str, dict[str, Any]]]
    api: bool = False
    action: bool = False  # an allowed call must add exactly one event by the actor
    follow: Callable[[Any, Ctx], None] | None = None  # extra assertion on an allowed response


@dataclass
class Ctx:
    url: str
    role: str
    csrf: str
    token: str | None
    base_item: int
    other_item: int
    file_id: int
    report_id: int
    app: Any
    client: Any
    extra: dict[str, Any] = field(default_factory=dict)


def _form(data: dict[str, Any] | None = None) -> Callable[[Ctx], dict[str, Any]]:
    def make(ctx: Ctx) -> dict[str, Any]:
        return {"data": {"csrf_token": ctx.csrf, **(data or {})}}
    return make


def _item_action(action_path: str, state: str, data: dict[str, Any] | None = None) -> Callable[[Ctx], tuple[str, dict]]:
    def prepare(ctx: Ctx) -> tuple[str, dict[str, Any]]:
        iid = fresh_item(ctx.url, state)
        ctx.extra["item"] = iid
        return f"/items/{iid}/{action_path}", _form(data)(ctx)
    return prepare


def _api_action(action_path: str, state: str, body: dict[str, Any] | None) -> Callable[[Ctx], tuple[str, dict]]:
    def prepare(ctx: Ctx) -> tuple[str, dict[str, Any]]:
        iid = fresh_item(ctx.url, state)
        ctx.extra["item"] = iid
        kw: dict[str, Any] = {"json": body} if body is not None else {}
        return f"/api/v1/items/{iid}/{action_path}", kw
    return prepare


def _api_file_submit(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    iid = fresh_item(ctx.url, "in_progress")
    ctx.extra["item"] = iid
    return f"/api/v1/items/{iid}/submit/file", {"data": {"evidence": "Quyết định số 12/QĐ-UBND"},
                                                 "files": {"file": ("qd-12.pdf", b"%PDF-1.4 test", "application/pdf")}}


# Who may do which item action on an SKHCN item (from engine.lifecycle's rules):
# staff everything; the overseeing vice-chair notes and extension decisions; the unit's focal
# point the assignee actions; the other unit's focal point gets 404; the viewer 403.
ASSIGNEE = {S: 303, C: 303, V: 403, V2: 403, F: 303, F2: 404, W: 403, "anon": 401}
STAFF_ONLY = {S: 303, C: 303, V: 403, V2: 403, F: 403, F2: 404, W: 403, "anon": 401}
NOTE = {S: 303, C: 303, V: 303, V2: 403, F: 303, F2: 404, W: 403, "anon": 401}
DECIDE = {S: 303, C: 303, V: 303, V2: 403, F: 403, F2: 404, W: 403, "anon": 401}
ACK = {S: 303, C: 303, V: 303, V2: 303, F: 303, F2: 404, W: 403, "anon": 401}  # any vice-chair sees all items


def _api_codes(html: dict[str, int], ok: int = 200) -> dict[str, int]:
    return {r: (ok if c == 303 else c) for r, c in html.items()}


ITEM_ACTIONS: list[tuple[str, str, str, dict[str, Any], dict[str, int]]] = [
    # (path suffix, state, api suffix, form/json data, expected)
    ("start", "not_started", "start", {}, ASSIGNEE),
    ("submit", "in_progress", "submit", {"evidence": "Quyết định số 12/QĐ-UBND"}, ASSIGNEE),
    ("note", "in_progress", "notes", {"text": "Đã hoàn thành 60%", "percent": 60}, NOTE),
    ("extension", "in_progress", "extension", {"until": "2025-12-31", "reason": "chờ kinh phí"}, ASSIGNEE),
    ("block", "in_progress", None, {"reason": "chưa có nhà thầu"}, ASSIGNEE),
    ("unblock", "blocked", None, {}, ASSIGNEE),
    ("verify", "submitted", "verify", {}, STAFF_ONLY),
    ("reject", "submitted", "reject", {"reason": "mới là dự thảo"}, STAFF_ONLY),
    ("extension/approve", "extension", "extension/approve", {}, DECIDE),
    ("extension/reject", "extension", "extension/reject", {"reason": "không đủ căn cứ"}, DECIDE),
    ("ack", "not_started", "ack", {}, ACK),
]


def _matrix() -> dict[tuple[str, str], Cell]:
    m: dict[tuple[str, str], Cell] = {}
    get = lambda path: (lambda ctx: (path(ctx) if callable(path) else path, {}))  # noqa: E731

    m[("GET", "/healthz")] = Cell(_codes(200), get("/healthz"))
    m[("GET", "/login")] = Cell(_codes(303, anon=200), get("/login"))
    m[("POST", "/login")] = Cell(_codes(401), lambda ctx: ("/login", _form({"username": f"nobody-{ctx.role}", "password": "x" * 9})(ctx)))
    m[("POST", "/logout")] = Cell(_codes(303), lambda ctx: ("/logout", _form()(ctx)))
    m[("GET", "/")] = Cell(_codes(303), get("/"))
    m[("GET", "/items")] = Cell(_codes(200, anon=303), get("/items"))
    m[("GET", "/items/{item_id}")] = Cell(_codes(200, anon=303, focal_other=404), get(lambda c: f"/items/{c.base_item}"))
    m[("GET", "/items/{item_id}/evidence/{file_id}")] = Cell(
        _codes(200, anon=303, focal_other=404), get(lambda c: f"/items/{c.base_item}/evidence/{c.file_id}"))
    for suffix, state, _api, data, expect in ITEM_ACTIONS:
        m[("POST", f"/items/{{item_id}}/{suffix}")] = Cell(expect, _item_action(suffix, state, data), action=True)
    m[("GET", "/review")] = Cell(_codes(403, anon=303, secretariat=200, chair=200), get("/review"))
    m[("GET", "/plans")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403), get("/plans"))
    m[("GET", "/plans/upload")] = Cell(_codes(403, anon=303, secretariat=200), get("/plans/upload"))
    m[("POST", "/plans/upload")] = Cell(_codes(403, anon=401, secretariat=200), lambda ctx: (
        "/plans/upload", {"data": {"csrf_token": ctx.csrf, "code": "KH-UP"},
                          "files": {"file": ("plan.csv", _CSV, "text/csv")}}))
    m[("POST", "/plans/upload/commit")] = Cell(_codes(403, anon=401, secretariat=303), _commit, follow=_committed)
    m[("POST", "/plans/upload/ocr")] = Cell(_codes(403, anon=401, secretariat=200), lambda ctx: (
        "/plans/upload/ocr", _form({"rows": "2", "cols": "5", "file": "scan.pdf", "code": "KH-OCR",
                                    **{f"c-{r}-{c}": v for r, row in enumerate(_CSV.decode().splitlines())
                                       for c, v in enumerate(row.split(","))}})(ctx)))
    m[("POST", "/plans/upload/revise")] = Cell(_codes(403, anon=401, secretariat=200), _revise)
    m[("POST", "/plans/upload/cancel")] = Cell(_codes(403, anon=401, secretariat=303), lambda ctx: (
        "/plans/upload/cancel", {"data": {"csrf_token": ctx.csrf, "token": "0" * 32}}))
    # progress sheets (web/progress.py): the secretariat and chair for any unit, a focal point for its own
    m[("GET", "/progress")] = Cell(_codes(403, anon=303, secretariat=200, chair=200, focal_point=200, focal_other=200),
                                   get("/progress"))
    m[("GET", "/progress/sheet")] = Cell(_codes(403, anon=303, secretariat=200, chair=200, focal_point=200),
                                         get("/progress/sheet?unit=SKHCN&period=2025-07"))
    m[("GET", "/progress/all")] = Cell(_codes(403, anon=303, secretariat=200, chair=200), get("/progress/all?period=2025-07"))
    m[("POST", "/progress/upload")] = Cell(_codes(403, anon=401, secretariat=200, chair=200, focal_point=200),
                                           lambda ctx: ("/progress/upload", {
                                               "data": {"csrf_token": ctx.csrf},
                                               "files": {"file": ("tien-do.xlsx", _progress_sheet(ctx), "application/octet-stream")}}))
    m[("POST", "/progress/upload/commit")] = Cell(_codes(403, anon=401, secretariat=303, chair=400, focal_point=400,
                                                         focal_other=400), _progress_commit, follow=_progress_committed)
    m[("GET", "/heatmap")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403), get("/heatmap"))
    m[("GET", "/overdue")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403), get("/overdue"))
    m[("GET", "/reports")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403), get("/reports"))
    m[("POST", "/reports")] = Cell(_codes(403, anon=401, secretariat=303), lambda ctx: (
        "/reports", _form({"plan": "KH-TEST", "kind": "monthly", "period": "", "format": "docx"})(ctx)))
    m[("GET", "/reports/{report_id}")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403),
                                              get(lambda c: f"/reports/{c.report_id}"))
    m[("GET", "/reports/{report_id}/charts/{name}.svg")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403),
                                                             get(lambda c: f"/reports/{c.report_id}/charts/status.svg"))
    m[("GET", "/reports/{report_id}/download/{fmt}")] = Cell(
        _codes(200, anon=303, focal_point=403, focal_other=403), get(lambda c: f"/reports/{c.report_id}/download/json"))
    # the roll-up of child units (web/rollup.py): oversight sees it, the secretariat imports
    m[("GET", "/rollup")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403), get("/rollup"))
    m[("GET", "/rollup/download/{fmt}")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403),
                                                get("/rollup/download/json"))
    m[("GET", "/rollup/import")] = Cell(_codes(403, anon=303, secretariat=200), get("/rollup/import"))
    m[("POST", "/rollup/import")] = Cell(_codes(403, anon=401, secretariat=400), lambda ctx: (
        "/rollup/import", {"data": {"csrf_token": ctx.csrf},
                           "files": {"files": ("x.json", b'{"payload":{},"signature":{}}\n', "application/json")}}))
    m[("POST", "/rollup/store")] = Cell(_codes(403, anon=401, secretariat=303), lambda ctx: (
        "/rollup/store", _form({"period": ""})(ctx)))
    # readiness criteria (web/rollup.py): oversight reads them; an unknown set or file is 404 after the role check
    m[("GET", "/criteria")] = Cell(_codes(200, anon=303, focal_point=403, focal_other=403), get("/criteria"))
    m[("GET", "/criteria/{set_code}")] = Cell(_codes(404, anon=303, focal_point=403, focal_other=403),
                                              get("/criteria/NONE"))
    m[("POST", "/criteria/{set_code}/record")] = Cell(_codes(403, anon=401, secretariat=303), lambda ctx: (
        "/criteria/NONE/record", _form({"unit": "SKHCN", "criterion": "C1", "met": "no"})(ctx)))
    m[("GET", "/criteria/{set_code}/files/{record_id}")] = Cell(_codes(404, anon=303, focal_point=403, focal_other=403),
                                                                get("/criteria/NONE/files/1"))
    m[("GET", "/account")] = Cell(_codes(200, anon=303), get("/account"))
    m[("POST", "/account/token")] = Cell(_codes(303, anon=401), lambda ctx: ("/account/token", _form()(ctx)))
    m[("POST", "/account/ical")] = Cell(_codes(403, anon=401, secretariat=303, focal_point=303, focal_other=303),
                                        lambda ctx: ("/account/ical", _form({"unit": "SKHCN"})(ctx)))
    m[("GET", "/l/{token}")] = Cell(_codes(303), get(lambda c: f"/l/{_link(c, 'open')}"))
    m[("POST", "/l/{token}")] = Cell(_codes(200), lambda ctx: (f"/l/{_link(ctx, 'ack')}", _form()(ctx)))
    m[("GET", "/ical/{unit_code}/{secret}.ics")] = Cell(_codes(200), get(_ical))
    m[("GET", "/static")] = Cell(_codes(200), get("/static/style.css"))
    m[("GET", "/favicon.ico")] = Cell(_codes(200), get("/favicon.ico"))
    # the launcher's hand-over (web/localapi.py): only the server-file token opens it, never a login or an API token
    m[("POST", "/api/v1/local/task/{command}")] = Cell(_codes(401), lambda ctx: (
        "/api/v1/local/task/note", {"json": {"item": "KH-TEST/1", "options": {"as": "secretariat", "note": "x"},
                                             "db": ctx.url, "lang": "vi"},
                                    "headers": {"Authorization": f"Bearer {ctx.token or 'stk_x'}"}}))
    # the JSON API (bearer tokens)
    m[("GET", "/api/v1/openapi.json")] = Cell(_codes(200), get("/api/v1/openapi.json"), api=True)
    m[("GET", "/api/docs")] = Cell(_codes(200), get("/api/docs"), api=True)
    m[("GET", "/api/docs/oauth2-redirect")] = Cell(_codes(200), get("/api/docs/oauth2-redirect"), api=True)
    m[("GET", "/api/v1/me")] = Cell(_codes(200, anon=401), get("/api/v1/me"), api=True)
    m[("GET", "/api/v1/items")] = Cell(_codes(200, anon=401), get("/api/v1/items"), api=True)
    m[("GET", "/api/v1/items/{ref}")] = Cell(_codes(200, anon=401, focal_other=404),
                                             get(lambda c: f"/api/v1/items/{c.base_item}"), api=True)
    for suffix, state, api_suffix, data, expect in ITEM_ACTIONS:
        if api_suffix is None:
            continue
        ok = 201 if api_suffix == "notes" else 200
        m[("POST", f"/api/v1/items/{{ref}}/{api_suffix}")] = Cell(
            _api_codes(expect, ok), _api_action(api_suffix, state, data), api=True, action=True)
    m[("POST", "/api/v1/items/{ref}/submit/file")] = Cell(_api_codes(ASSIGNEE), _api_file_submit, api=True, action=True)
    m[("GET", "/api/v1/heatmap")] = Cell(_codes(200, anon=401, focal_point=403, focal_other=403), get("/api/v1/heatmap"),
                                         api=True)
    m[("GET", "/api/v1/reports/summary")] = Cell(_codes(200, anon=401, focal_point=403, focal_other=403),
                                                 get("/api/v1/reports/summary?plan=KH-TEST"), api=True)
    m[("GET", "/api/v1/rollup")] = Cell(_codes(200, anon=401, focal_point=403, focal_other=403), get("/api/v1/rollup"),
                                        api=True)
    m[("POST", "/api/v1/rollup/import")] = Cell(_codes(403, anon=401, secretariat=400), lambda ctx: (
        "/api/v1/rollup/import", {"files": {"files": ("x.json", b"{}", "application/json")}}), api=True)
    return m


_CSV = ("TT,Nhiệm vụ,Cơ quan chủ trì,Sản phẩm,Thời gian hoàn thành\n"
        "1,Xây dựng cơ sở dữ liệu,Sở Khoa học và Công nghệ,Cơ sở dữ liệu,31/12/2025\n").encode()


def _commit(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    token = "0" * 32
    if ctx.role == S:
        r = ctx.client.post("/plans/upload", data={"csrf_token": ctx.csrf, "code": "KH-UP2"},
                            files={"file": ("plan.csv", _CSV, "text/csv")})
        assert r.status_code == 200, r.text[:500]
        import re

        token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)
        ctx.extra["before"] = snapshot(ctx.url)
    return "/plans/upload/commit", {"data": {"csrf_token": ctx.csrf, "token": token}}


def _revise(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    token = "0" * 32
    if ctx.role == S:
        r = ctx.client.post("/plans/upload", data={"csrf_token": ctx.csrf, "code": "KH-UP3"},
                            files={"file": ("plan.csv", _CSV, "text/csv")})
        assert r.status_code == 200, r.text[:500]
        import re

        token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)
    return "/plans/upload/revise", {"data": {"csrf_token": ctx.csrf, "token": token, "code": "KH-UP3B"}}


def _progress_sheet(ctx: Ctx) -> bytes:
    """SKHCN's progress sheet with task 1 reported as started."""
    import io

    import openpyxl

    from engine.progress import COLUMNS, HEADER_ROW, export_sheet

    eng = make_engine(ctx.url)
    try:
        with transaction(eng) as s:
            data = export_sheet(s, "SKHCN", now=NOW, period="2025-07").data
    finally:
        eng.dispose()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[1]
    col = {k: i for i, (k, *_) in enumerate(COLUMNS, start=1)}
    ws.cell(HEADER_ROW + 1, col["result"]).value = "Đã triển khai"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _progress_commit(ctx: Ctx) -> tuple[str, dict[str, Any]]:
    token = "0" * 32
    if ctx.role == S:
        r = ctx.client.post("/progress/upload", data={"csrf_token": ctx.csrf},
                            files={"file": ("tien-do.xlsx", _progress_sheet(ctx), "application/octet-stream")})
        assert r.status_code == 200, r.text[:500]
        import re

        token = re.search(r'name="token" value="([0-9a-f]{32})"', r.text).group(1)
        ctx.extra["before"] = snapshot(ctx.url)
    return "/progress/upload/commit", {"data": {"csrf_token": ctx.csrf, "token": token}}


def _progress_committed(resp: Any, ctx: Ctx) -> None:
    if ctx.role != S:  # the others sent an unknown token (400)
        return
    assert resp.headers["location"] == "/items"
    assert snapshot(ctx.url)["events"] == ctx.extra["before"]["events"] + 2  # the note and the import record


def _committed(resp: Any, ctx: Ctx) -> None:
    assert resp.headers["location"] == "/plans"
    assert snapshot(ctx.url)["plans"] == ctx.extra["before"]["plans"] + 1


def _link(ctx: Ctx, purpose: str) -> str:
    from engine.links import expiry_for, make_token

    return make_token(SECRET, purpose=purpose, item_id=ctx.base_item, unit_code="SKHCN", expires=expiry_for(NOW.date()))


def _ical(ctx: Ctx) -> str:
    from engine.accounts import issue_ical_secret

    if "ical" not in ctx.extra:
        eng = make_engine(ctx.url)
        with transaction(eng) as s:
            ctx.extra["ical"] = issue_ical_secret(s, "SKHCN", now=NOW)
        eng.dispose()
    return f"/ical/SKHCN/{ctx.extra['ical']}.ics"


MATRIX = _matrix()


def _flat_routes(routes: Any, prefix: str = "") -> Any:
    """Every route, through included routers (FastAPI may wrap them) and mounts."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            ctx = getattr(r, "include_context", None)
            yield from _flat_routes(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        else:
            yield prefix, r


def _route_keys(app: Any) -> set[tuple[str, str]]:
    from starlette.routing import Mount

    keys = set()
    for prefix, r in _flat_routes(app.routes):
        if isinstance(r, Mount):
            keys.add(("GET", prefix + r.path))
            continue
        for method in sorted(getattr(r, "methods", None) or {"GET"}):
            if method == "HEAD":
                continue
            keys.add((method, (prefix + r.path).replace(":path}", "}")))
    return keys


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, local_token="bridge-" + "t" * 30) as w:
        yield w


def test_every_route_is_in_the_matrix(world):  # type: ignore[no-untyped-def]
    routes = _route_keys(world.app)
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"routes without an authorization-matrix entry: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    for key, cell in MATRIX.items():
        assert set(cell.expect) == set(ROLES), key


def _evidence_file(url: str, iid: int, upload_dir: Any) -> int:
    (upload_dir / "evidence").mkdir(parents=True, exist_ok=True)
    (upload_dir / "evidence" / ("a" * 32 + ".bin")).write_bytes(b"%PDF-1.4 test")
    eng = make_engine(url)
    with transaction(eng) as s:
        f = EvidenceFile(work_item_id=iid, stored_name="a" * 32 + ".bin", original_name="qd.pdf", content_type=None,
                         size=13, sha256="0" * 64, uploaded_by="skhcn_focal", uploaded_at=NOW)
        s.add(f)
        s.flush()
        fid = f.id
    eng.dispose()
    return fid


def _events_by(url: str, since: int) -> list[tuple[str, str]]:
    eng = make_engine(url)
    with transaction(eng) as s:
        rows = s.execute(select(Event.actor, Event.kind).where(Event.id > since).order_by(Event.id)).all()
    eng.dispose()
    return [tuple(r) for r in rows]


def _max_event(url: str) -> int:
    eng = make_engine(url)
    with transaction(eng) as s:
        n = s.execute(select(func.coalesce(func.max(Event.id), 0))).scalar_one()
    eng.dispose()
    return int(n)


def test_authorization_matrix_every_route_every_role(world):  # type: ignore[no-untyped-def]
    from engine.models import ReportSnapshot

    url = world.url
    base = item_id(url, "1")
    other = item_id(url, "2")
    file_id = _evidence_file(url, base, world.upload_dir)
    eng = make_engine(url)
    with transaction(eng) as s:
        report_id = s.execute(select(ReportSnapshot.id)).scalars().first()
    eng.dispose()
    clients: dict[str, tuple[Any, str]] = {}
    for role, pid in PEOPLE.items():
        clients[role] = login(world.app, pid)
    failures: list[str] = []
    for key, cell in sorted(MATRIX.items()):
        method, path = key
        for role in ROLES:
            if role == "anon":  # fresh: no one-click link scope left from an earlier cell
                client, csrf = anon(world.app)
            else:
                client, csrf = clients[role]
            if role != "anon" and method == "POST" and path == "/logout":
                client, csrf = anon(world.app) if role == "anon" else login(world.app, PEOPLE[role])
            pid = PEOPLE.get(role)
            ctx = Ctx(url=url, role=role, csrf=csrf, token=world.tokens.get(pid) if pid else None, base_item=base,
                      other_item=other, file_id=file_id, report_id=report_id, app=world.app, client=client)
            target, kw = cell.prepare(ctx)
            headers = {}
            if cell.api and ctx.token:
                headers["Authorization"] = f"Bearer {ctx.token}"
            before = ctx.extra.get("before") or snapshot(url)
            last = _max_event(url)
            headers.update(kw.pop("headers", {}))
            resp = client.request(method, target, headers=headers, **kw)
            if role != "anon" and method == "POST" and path == "/logout":
                # a logout ends every session of the person on the server (issue 22): log the
                # shared client in again for the later cells
                clients[role] = login(world.app, PEOPLE[role])
            want = cell.expect[role]
            where = f"{method} {path} as {role} ({target})"
            if resp.status_code != want:
                failures.append(f"{where}: {resp.status_code}, expected {want}: {resp.text[:200]!r}")
                continue
            if want in (401, 403, 404):
                if snapshot(url) != before:
                    failures.append(f"{where}: refused with {want} but the database changed")
                continue
            if cell.action:
                new = _events_by(url, last)
                if len(new) != 1 or new[0][0] != pid:
                    failures.append(f"{where}: expected one event by {pid}, got {new}")
                if not cell.api:
                    assert resp.headers["location"].startswith(f"/items/{ctx.extra['item']}"), where
                    page = client.get(resp.headers["location"]).text
                    if not any(k == "ok" for k, _ in flashes(page)):
                        failures.append(f"{where}: no success message ({flashes(page)})")
            if cell.follow is not None:
                cell.follow(resp, ctx)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("api", [False, True], ids=["html", "api"])
def test_guessing_another_units_item_ids_changes_nothing(world, api):  # type: ignore[no-untyped-def]
    """SKHCN's focal point tries every action on SNV's items by id (and by reference): 404, nothing written."""
    client, csrf = login(world.app, "skhcn_focal")
    headers = {"Authorization": f"Bearer {world.tokens['skhcn_focal']}"}
    targets = [item_id(world.url, "2"), item_id(world.url, "3", "SNV"), item_id(world.url, "4")]
    before = snapshot(world.url)
    for iid in targets + [999_999]:
        for suffix, _state, api_suffix, data, _exp in ITEM_ACTIONS:
            if api:
                if api_suffix is None:
                    continue
                r = client.post(f"/api/v1/items/{iid}/{api_suffix}", json=data, headers=headers)
            else:
                r = client.post(f"/items/{iid}/{suffix}", data={"csrf_token": csrf, **data})
            assert r.status_code == 404, (iid, suffix, r.status_code, r.text[:200])
        r = client.get(f"/api/v1/items/{iid}", headers=headers) if api else client.get(f"/items/{iid}")
        assert r.status_code == 404
    if api:
        for ref in ("KH-TEST/2", "KH-TEST/3@SNV", "KH-TEST%2F2", "%232"):
            assert client.get(f"/api/v1/items/{ref}", headers=headers).status_code == 404, ref
            r = client.post(f"/api/v1/items/{ref}/notes", json={"text": "x"}, headers=headers)
            assert r.status_code == 404, (ref, r.text)
    assert snapshot(world.url) == before
    # and the listing never shows them
    r = client.get("/api/v1/items", headers=headers) if api else client.get("/items")
    body = r.text
    for iid in targets:
        assert (f'"id":{iid},' not in body) if api else (f'data-item-id="{iid}"' not in body)


def test_focal_point_list_shows_only_its_unit(world):  # type: ignore[no-untyped-def]
    import re

    client, _ = login(world.app, "snv_focal")
    units = set(re.findall(r'data-testid="item-row"[^>]*data-unit="([^"]+)"', client.get("/items").text))
    assert units == {"SNV"}
    r = client.get("/api/v1/items", headers={"Authorization": f"Bearer {world.tokens['snv_focal']}"})
    assert {i["unit"] for i in r.json()["items"]} == {"SNV"}
    assert r.json()["total"] == 3  # tasks 2, 3@SNV and 4


"""What one write request costs the database: the columns a write request leaves unloaded
(``engine.lifecycle.load_item(for_action=True)``) are never read back one by one, and the
action forms, read without FastAPI form parameters, still answer odd input as before.

Every action of the pages and the API, its refusals included, runs twice on identical
fresh items: once as the app does it, once with ``get_item`` loading every column. Both
must issue the same statements, and neither may load a column or a relationship on its own
(``ORMExecuteState.is_column_load`` / ``is_relationship_load``) — except after a version
conflict, where the engine expires the item on purpose and both runs reload it alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

import web.actions
from tests.web_helpers import flashes, fresh_item, login, running_world

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        yield w


@contextmanager
def _watch(app: Any) -> Iterator[dict[str, list[str]]]:
    """Statements the write engine runs, and ORM loads of single columns/relationships."""
    seen: dict[str, list[str]] = {"sql": [], "lazy": []}

    def on_sql(conn, cursor, stmt, params, ctx, many):  # type: ignore[no-untyped-def]
        if not stmt.startswith("UPDATE api_token"):  # a token's first use in the hour is recorded
            seen["sql"].append(re.sub(r"\s+", " ", stmt)[:160])

    def on_orm(state):  # type: ignore[no-untyped-def]
        if state.is_column_load or state.is_relationship_load:
            seen["lazy"].append(str(state.statement)[:200])

    engine = app.state.db.write
    event.listen(engine, "before_cursor_execute", on_sql)
    event.listen(Session, "do_orm_execute", on_orm)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_sql)
        event.remove(Session, "do_orm_execute", on_orm)


def _full_columns(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = web.actions.get_item

    def get_item(*a, **kw):  # type: ignore[no-untyped-def]
        kw["for_action"] = False
        return real(*a, **kw)

    for mod in ("web.pages", "web.api"):
        monkeypatch.setattr(f"{mod}.get_item", get_item)


# (who, item state, page path, form fields / API path, JSON body, expected outcome)
FORMS = [
    ("focal_point", "not_started", "start", {"note": "bắt đầu"}, "ok"),
    ("focal_point", "in_progress", "submit", {"evidence": "QĐ 12/QĐ-UBND"}, "ok"),
    ("focal_point", "in_progress", "note", {"text": "đã họp", "percent": "40"}, "ok"),
    ("focal_point", "in_progress", "extension", {"until": "2025-12-31", "reason": "chờ ý kiến"}, "ok"),
    ("focal_point", "in_progress", "block", {"reason": "thiếu kinh phí"}, "ok"),
    ("focal_point", "blocked", "unblock", {"note": "đã có kinh phí"}, "ok"),
    ("focal_point", "in_progress", "ack", {"note": "đã biết"}, "ok"),
    ("secretariat", "submitted", "verify", {"note": "đạt"}, "ok"),
    ("secretariat", "submitted", "reject", {"reason": "thiếu hồ sơ"}, "ok"),
    ("secretariat", "extension", "extension/approve", {"note": "đồng ý"}, "ok"),
    ("secretariat", "extension", "extension/reject", {"reason": "không đủ căn cứ"}, "ok"),
    ("vice_chair", "extension", "extension/approve", {"note": "đồng ý"}, "ok"),
    ("vice_chair", "in_progress", "note", {"text": "chỉ đạo"}, "ok"),
    ("focal_point", "submitted", "start", {}, "error"),  # not from this state: names who moved it
    ("focal_point", "in_progress", "note", {"text": "x", "version": "0"}, "error"),  # stale version
    ("focal_point", "in_progress", "note", {"text": "x", "percent": "120"}, "error"),
    ("focal_point", "submitted", "verify", {}, 403),
    ("vice_chair_other", "in_progress", "note", {"text": "x"}, 403),
]
APIS = [
    ("focal_point", "in_progress", "notes", {"text": "đã họp", "percent": 40}, 201),
    ("focal_point", "not_started", "start", {}, 200),
    ("focal_point", "in_progress", "submit", {"evidence": "QĐ 12"}, 200),
    ("focal_point", "in_progress", "extension", {"until": "2025-12-31", "reason": "chờ"}, 200),
    ("secretariat", "submitted", "verify", {}, 200),
    ("secretariat", "extension", "extension/approve", {}, 200),
    ("focal_point", "in_progress", "ack", {}, 200),
    ("focal_point", "in_progress", "notes", {"text": "x", "version": 0}, 409),
    ("focal_point", "submitted", "start", {}, 409),
    ("focal_point", "submitted", "verify", {}, 403),
]


def _run_form(world: Any, who: str, state: str, path: str, fields: dict[str, str]) -> tuple[Any, list[Any]]:
    from tests.web_helpers import PEOPLE

    iid = fresh_item(world.url, state)
    client, csrf = login(world.app, PEOPLE[who])
    with _watch(world.app) as seen:
        r = client.post(f"/items/{iid}/{path}", data={"csrf_token": csrf, **fields})
    outcome: Any = r.status_code
    if r.status_code == 303:
        outcome = flashes(client.get(f"/items/{iid}").text)[0][0]
    return outcome, seen


def _run_api(world: Any, who: str, state: str, path: str, body: dict[str, Any]) -> tuple[Any, list[Any]]:
    from fastapi.testclient import TestClient

    from tests.web_helpers import PEOPLE

    iid = fresh_item(world.url, state)
    client = TestClient(world.app)
    with _watch(world.app) as seen:
        r = client.post(f"/api/v1/items/{iid}/{path}", json=body,
                        headers={"Authorization": f"Bearer {world.tokens[PEOPLE[who]]}"})
    return r.status_code, seen


def _shape(sql: list[str]) -> list[str]:
    # the same statements, whatever the ids and columns of the fresh item
    return [re.sub(r"\d+", "N", s.split(" FROM ")[0] if s.startswith("SELECT work_item.id") else s) for s in sql]


def _lean_matches_full(monkeypatch, run, expected, *, no_lazy_loads: bool) -> None:  # type: ignore[no-untyped-def]
    """``run()`` ends as ``expected`` with the lighter item load (no unloaded column read when
    ``no_lazy_loads``) and again with every column loaded, running as many statements."""
    outcome, lean = run()
    assert outcome == expected
    if no_lazy_loads:
        assert lean["lazy"] == [], lean["lazy"]
    _full_columns(monkeypatch)
    outcome_full, full = run()
    assert outcome_full == expected
    assert len(lean["sql"]) == len(full["sql"]), (lean["sql"], full["sql"])
    assert len(lean["lazy"]) == len(full["lazy"])


@pytest.mark.parametrize("case", FORMS, ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[4]}" for c in FORMS])
def test_a_page_action_reads_no_column_it_left_unloaded(world, monkeypatch, case):  # type: ignore[no-untyped-def]
    who, state, path, fields, expected = case
    _lean_matches_full(monkeypatch, lambda: _run_form(world, who, state, path, fields), expected,
                       no_lazy_loads=not (expected == "error" and "version" in fields))


@pytest.mark.parametrize("case", APIS, ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[4]}" for c in APIS])
def test_an_api_action_reads_no_column_it_left_unloaded(world, monkeypatch, case):  # type: ignore[no-untyped-def]
    who, state, path, body, expected = case
    _lean_matches_full(monkeypatch, lambda: _run_api(world, who, state, path, body), expected,
                       no_lazy_loads="version" not in body)


def test_a_note_is_one_statement_per_step(world):  # type: ignore[no-untyped-def]
    """login; the item (locked on PostgreSQL); the compare-and-set (on SQLite reading the
    chain head in the same statement); the event (on SQLite then the head's update; on
    PostgreSQL into event_pending, chained inside COMMIT, so no statement takes the head)."""
    iid = fresh_item(world.url, "in_progress")
    client, csrf = login(world.app, "skhcn_focal")
    with _watch(world.app) as seen:
        r = client.post(f"/items/{iid}/note", data={"csrf_token": csrf, "text": "đã họp"})
    assert r.status_code == 303
    sql = [s for s in seen["sql"] if not s.startswith("BEGIN")]
    sqlite = world.url.startswith("sqlite")
    assert len(sql) == (5 if sqlite else 4), sql
    assert not any(s.startswith("SELECT chain_head") for s in sql), sql
    assert seen["lazy"] == []


@pytest.mark.parametrize("fields,files,status,message", [
    ({"text": "a", "percent": "abc"}, None, 303, "Tỷ lệ hoàn thành phải là số"),
    ({}, {"text": ("a.txt", b"hi", "text/plain")}, 400, "text: Input should be a valid string"),
    ({"percent": "3"}, {"text": ("", b"", "application/octet-stream")}, 303, "Cần nhập nội dung ghi nhận"),
    ({"text": "x", "back": "//evil.example"}, None, 303, None),
])
def test_the_note_form_answers_odd_input_as_form_parameters_did(world, fields, files, status, message):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    client, csrf = login(world.app, "skhcn_focal")
    r = client.post(f"/items/{iid}/note", data={"csrf_token": csrf, **fields}, files=files)
    assert r.status_code == status
    if status == 303:
        assert r.headers["location"] == ("/" if "back" in fields else f"/items/{iid}")
        if message:
            assert message in flashes(client.get(f"/items/{iid}").text)[0][1]
    else:
        assert message in r.text


def test_the_submit_form_wants_a_file_in_its_file_field(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    client, csrf = login(world.app, "skhcn_focal")
    r = client.post(f"/items/{iid}/submit", data={"csrf_token": csrf, "evidence": "e", "file": "notafile"})
    assert r.status_code == 400 and "Expected UploadFile" in r.text
    # a browser's empty file input is no file
    body = (b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + csrf.encode() + b"\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"evidence\"\r\n\r\nQD 9\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n\r\n--B--\r\n")
    r = client.post(f"/items/{iid}/submit", content=body, headers={"content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 303
    assert flashes(client.get(f"/items/{iid}").text)[0][0] == "ok"


def test_an_unreadable_form_is_refused_before_the_csrf_check(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    client, _ = login(world.app, "skhcn_focal")
    r = client.post(f"/items/{iid}/note", content=b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n",
                    headers={"content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 400 and "must be provided" in r.text
    r = client.post(f"/items/{iid}/note", data={"text": "x"})
    assert r.status_code == 403 and 'data-reason="csrf"' in r.text or "mã bảo vệ" in r.text


# --- PostgreSQL: a pooled connection is pinged only after sitting idle ---------------------------------


def _kill_backends(url: str, pids: set[int]) -> None:
    from sqlalchemy import text

    from engine.db import make_engine

    eng = make_engine(url)
    with eng.connect() as c:
        for pid in pids:
            c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    eng.dispose()


def _backend_pid(engine) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as c:
        return c.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_idle_longer_than_the_threshold_is_pinged_and_replaced_when_dead(db_url):  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from engine.db import make_engine

    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL connection pool")
    pinged: list[int] = []
    for idle, survives in ((0.0, True), (3600.0, False)):
        eng = make_engine(db_url, ping_idle=idle, pool_size=1)
        real = eng.dialect.do_ping
        eng.dialect.do_ping = lambda c, real=real: pinged.append(1) or real(c)  # type: ignore[method-assign]
        try:
            pid = _backend_pid(eng)
            before = len(pinged)
            _kill_backends(db_url, {pid})
            if survives:  # idle longer than 0 s: pinged at checkout, found dead, replaced
                assert _backend_pid(eng) != pid
                assert len(pinged) > before
            else:  # used within the hour: not pinged; the lost connection fails this once
                with pytest.raises(OperationalError):
                    with eng.connect() as c:
                        c.execute(text("SELECT 1"))
                assert len(pinged) == before
                assert _backend_pid(eng) != pid  # SQLAlchemy replaced it after the failure
        finally:
            eng.dispose()


def test_the_web_app_replaces_a_connection_lost_during_a_quiet_spell(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    import time

    import web.core

    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL connection pool")
    monkeypatch.setattr(web.core, "PG_PING_IDLE", 0.2)
    with running_world(db_url, tmp_path, monkeypatch, report=False) as w:
        client, csrf = login(w.app, "skhcn_focal")
        iid = fresh_item(w.url, "in_progress")
        engine = w.app.state.db.write
        pooled = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
        pids = set()
        for conn in pooled:
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pids.add(cur.fetchone()[0])
            cur.close()
            conn.close()  # back to the pool
        assert pids
        _kill_backends(db_url, pids)  # the server drops the app's idle connections
        time.sleep(0.3)
        r = client.post(f"/items/{iid}/note", data={"csrf_token": csrf, "text": "sau khi mất kết nối"})
        assert r.status_code == 303
        assert flashes(client.get(f"/items/{iid}").text)[0][0] == "ok"

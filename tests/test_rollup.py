"""Roll-up across levels (issue 20): three instances on separate SQLite databases.

Two provinces (each with communes as units) sign report snapshots with their own keys; the
centre registers their public keys, imports the files, and rolls them up with its own rules.
Everything goes through the real CLI (typer CliRunner with --db), as a secretariat would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from engine.db import make_engine, transaction
from engine.models import Committee, Event, RollupSnapshot
from engine.rollup import FIGURE_KEYS
from tests.factories import make_directory, make_plan

runner = CliRunner()
AS_OF = "2025-05-20"
NOW = "2025-05-20T17:00:00+07:00"

# Province LAMSON: 4 communes; due by 20/05: T1 (all 4, done), T2 (X01, X02 done), T3 (X03, X04 overdue)
# -> 6/8 = 75 %: yellow with the default share_due rule; T4 is not due yet.
LAMSON_TASKS = (
    {"code": "1", "lead": ["X01", "X02", "X03", "X04"], "deadline": date(2025, 5, 10), "status": "completed"},
    {"code": "2", "lead": ["X01", "X02"], "deadline": date(2025, 5, 15), "status": "completed"},
    {"code": "3", "lead": ["X03", "X04"], "deadline": date(2025, 5, 15)},
    {"code": "4", "lead": ["X01", "X02", "X03", "X04"], "deadline": date(2025, 7, 30)},
)
# Province HASON: 3 communes, everything due is done -> green.
HASON_TASKS = (
    {"code": "1", "lead": ["Y01", "Y02", "Y03"], "deadline": date(2025, 5, 12), "status": "completed"},
    {"code": "2", "lead": ["Y01"], "deadline": date(2025, 8, 30)},
)


def steer(url: str, *args: str) -> Any:
    return runner.invoke(app, ["--db", url, *args])


def _instance(template: Path, path: Path, *, name: str, units: dict[str, str], plan: str,
              tasks: tuple[dict[str, Any], ...]) -> str:
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    with transaction(eng) as s:
        make_directory(s, units=units, personas=(), group=False)
        s.get(Committee, 1).name = name
        if tasks:
            make_plan(s, plan, tasks=tasks)
    eng.dispose()
    return url


@pytest.fixture
def world(_sqlite_template: Path, tmp_path: Path) -> dict[str, Any]:
    w: dict[str, Any] = {"dir": tmp_path}
    w["lamson"] = _instance(_sqlite_template, tmp_path / "lamson.db", name="Ban Chỉ đạo tỉnh Lâm Sơn",
                            units={f"X0{i}": f"Xã Lâm {i}" for i in range(1, 5)}, plan="KH-LS", tasks=LAMSON_TASKS)
    w["hason"] = _instance(_sqlite_template, tmp_path / "hason.db", name="Ban Chỉ đạo tỉnh Hà Sơn",
                           units={f"Y0{i}": f"Xã Hà {i}" for i in range(1, 4)}, plan="KH-HS", tasks=HASON_TASKS)
    w["centre"] = _instance(_sqlite_template, tmp_path / "centre.db", name="Ban Chỉ đạo Trung ương",
                            units={"LAMSON": "Tỉnh Lâm Sơn", "HASON": "Tỉnh Hà Sơn", "THUYSON": "Tỉnh Thủy Sơn"},
                            plan="KH-TW", tasks=())
    # each province (and a third that never reports) makes its key; the centre registers the public keys
    for prov, code in (("lamson", "LAMSON"), ("hason", "HASON"), ("thuyson", "THUYSON")):
        key = tmp_path / f"{prov}.pem"
        r = steer(w["centre"], "keys", "init", "--key", str(key))
        assert r.exit_code == 0, r.output
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        pub = tmp_path / f"{prov}.pub"
        assert steer(w["centre"], "keys", "show", "--key", str(key), "--out", str(pub)).exit_code == 0
        assert r.stdout.strip().splitlines()[-1] == pub.read_text().strip()
        t = steer(w["centre"], "keys", "trust", code, str(pub), "--now", NOW)
        assert t.exit_code == 0 and "Đã đăng ký khóa" in t.output, t.output
        w[f"{prov}_key"] = key
    return w


def _report(url: str, as_of: str = AS_OF, now: str = NOW) -> tuple[dict[str, Any], int]:
    r = steer(url, "report", "monthly", "--period", "2025-05", "--as-of", as_of, "--format", "json", "--now", now)
    assert r.exit_code == 0, r.output
    rows = json.loads(steer(url, "report", "list", "--format", "json").stdout)
    return json.loads(r.stdout), rows[0]["id"]


def _export(w: dict[str, Any], prov: str, report_id: int, name: str, now: str = NOW) -> Path:
    out = w["dir"] / name
    r = steer(w[prov], "report", "export", str(report_id), "--signed", "--key", str(w[f"{prov}_key"]),
              "--out", str(out), "--now", now)
    assert r.exit_code == 0, r.output
    return out


def _stored(url: str) -> tuple[int, int]:
    eng = make_engine(url)
    with transaction(eng) as s:
        n = s.execute(select(func.count()).select_from(RollupSnapshot)).scalar_one()
        e = s.execute(select(func.count()).select_from(Event)).scalar_one()
    eng.dispose()
    return n, e


def _rollup(url: str, *extra: str) -> dict[str, Any]:
    r = steer(url, "rollup", "report", "--period", "2025-05", "--format", "json", "--now", "2025-05-21T09:00:00+07:00",
              *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_three_instances_signed_snapshots_refusals_and_the_national_roll_up(world):
    w = world
    ls_report, ls_id = _report(w["lamson"])
    hs_report, hs_id = _report(w["hason"])
    a = _export(w, "lamson", ls_id, "lamson-2025-05.json")
    b = _export(w, "hason", hs_id, "hason-2025-05.json")
    doc = json.loads(a.read_text(encoding="utf-8"))
    p = doc["payload"]
    assert p["schema"] == "steer.rollup-snapshot/1" and p["period"]["key"] == "2025-05" and p["as_of"] == AS_OF
    assert p["committee"]["name"] == "Ban Chỉ đạo tỉnh Lâm Sơn" and p["rules"]["rule"] == "share_due"
    assert p["audit"]["length"] > 0 and len(p["audit"]["head_hash"]) == 64
    assert doc["signature"]["alg"] == "ed25519"

    centre = w["centre"]
    before = _stored(centre)

    # a tampered byte: one figure changed -> the signature does not match
    bad = w["dir"] / "tampered.json"
    raw = a.read_bytes()
    i = raw.index(b'"overdue":2')
    bad.write_bytes(raw[:i] + b'"overdue":0' + raw[i + len(b'"overdue":2'):])
    r = steer(centre, "rollup", "import", str(b), str(bad), "--now", NOW)
    assert r.exit_code == 1 and "tampered.json" in r.output and "đã bị sửa sau khi ký" in r.output, r.output
    assert _stored(centre) == before  # the good file of the same import is not stored either
    # a space added (outside the signed text) is a changed byte too
    spaced = w["dir"] / "spaced.json"
    spaced.write_bytes(raw.replace(b'{"payload"', b'{ "payload"', 1))
    r = steer(centre, "rollup", "import", str(spaced), "--now", NOW)
    assert r.exit_code == 1 and "đã bị sửa sau khi ký" in r.output, r.output

    # an unknown key: a province whose key the centre never registered
    stranger = w["dir"] / "stranger.pem"
    assert steer(w["lamson"], "keys", "init", "--key", str(stranger)).exit_code == 0
    c = w["dir"] / "stranger.json"
    assert steer(w["lamson"], "report", "export", str(ls_id), "--signed", "--key", str(stranger), "--out", str(c),
                 "--now", NOW).exit_code == 0
    r = steer(centre, "rollup", "import", str(c), "--now", NOW)
    assert r.exit_code == 1 and "chưa được đăng ký cho đơn vị nào" in r.output and "steer keys trust" in r.output, r.output
    assert _stored(centre) == before

    # both good files: accepted, coloured with the centre's rules
    r = steer(centre, "rollup", "import", str(a), str(b), "--now", NOW)
    assert r.exit_code == 0, r.output
    assert "LAMSON" in r.output and "Vàng" in r.output and "HASON" in r.output and "Xanh" in r.output
    assert _stored(centre)[0] == before[0] + 2

    # a newer Lâm Sơn snapshot (as of 25/05) is accepted; the older one again is a replay
    _, ls_id2 = _report(w["lamson"], "2025-05-25", "2025-05-25T17:00:00+07:00")
    a2 = _export(w, "lamson", ls_id2, "lamson-2025-05-25.json", now="2025-05-25T17:30:00+07:00")
    assert steer(centre, "rollup", "import", str(a2), "--now", "2025-05-25T18:00:00+07:00").exit_code == 0
    mid = _stored(centre)
    r = steer(centre, "rollup", "import", str(a), "--now", "2025-05-26T09:00:00+07:00")
    assert r.exit_code == 1 and "không mới hơn bản đã nhận" in r.output, r.output
    assert _stored(centre) == mid
    r = steer(centre, "rollup", "import", str(a2), "--now", "2025-05-26T09:00:00+07:00")  # the same file twice
    assert r.exit_code == 1 and "không mới hơn" in r.output
    assert _stored(centre) == mid

    # the national roll-up: each province's colour and reason; Thủy Sơn never reported: grey
    data = _rollup(centre)
    by = {u["unit"]: u for u in data["units"]}
    assert by["LAMSON"]["status"] == "yellow"
    assert by["LAMSON"]["reason"] == "6/8 việc đến hạn đã xong; 2 quá hạn, nhiều nhất ở X03 (1), X04 (1)"
    assert by["LAMSON"]["snapshot"]["as_of"] == "2025-05-25"
    assert by["HASON"]["status"] == "green" and by["HASON"]["reason"] == "3/3 việc đến hạn đã xong"
    assert by["THUYSON"]["status"] == "grey" and by["THUYSON"]["reason"] == "chưa báo cáo"
    assert by["THUYSON"]["snapshot"] is None
    assert [u["unit"] for u in data["units"]] == ["LAMSON", "HASON", "THUYSON"]  # worst first, grey last
    assert data["summary"]["reported"] == 2 and data["summary"]["units_grey"] == 1
    # the centre's own rules recolour: any_overdue makes Lâm Sơn (2 overdue) red
    strict = _rollup(centre, "--rule", "any_overdue")
    assert {u["unit"]: u["status"] for u in strict["units"]} == {"LAMSON": "red", "HASON": "green", "THUYSON": "grey"}
    # the same roll-up as a report: HTML, XLSX and DOCX name each province, its colour and reason
    html = steer(centre, "rollup", "report", "--period", "2025-05", "--format", "html").stdout
    assert "LAMSON — Tỉnh Lâm Sơn" in html and "6/8 việc đến hạn đã xong" in html and "chưa báo cáo" in html
    x = w["dir"] / "tong-hop.xlsx"
    assert steer(centre, "rollup", "report", "--period", "2025-05", "--format", "xlsx", "--out", str(x)).exit_code == 0
    from openpyxl import load_workbook

    cells = [c.value for row in load_workbook(x)["Theo đơn vị"].iter_rows() for c in row]
    assert "THUYSON — Tỉnh Thủy Sơn" in cells and "Xám" in cells and "Vàng" in cells and "chưa báo cáo" in cells
    d = w["dir"] / "tong-hop.docx"
    assert steer(centre, "rollup", "report", "--period", "2025-05", "--format", "docx", "--out", str(d)).exit_code == 0
    assert d.stat().st_size > 5000
    # the audit log of the centre records each accepted snapshot
    eng = make_engine(centre)
    with transaction(eng) as s:
        kinds = s.execute(select(Event.kind).where(Event.kind.like("rollup_%"))).scalars().all()
    eng.dispose()
    assert kinds.count("rollup_imported") == 3 and kinds.count("rollup_key_trusted") == 3


def test_the_roll_up_figures_equal_the_provinces_own_reports(world):
    w = world
    own = {}
    files = []
    for prov, code in (("lamson", "LAMSON"), ("hason", "HASON")):
        report, rid = _report(w[prov])
        own[code] = report
        files.append(str(_export(w, prov, rid, f"{prov}.json")))
    assert steer(w["centre"], "rollup", "import", *files, "--now", NOW).exit_code == 0
    data = _rollup(w["centre"])
    by = {u["unit"]: u for u in data["units"]}
    for code, report in own.items():
        u = by[code]
        # the province's own figures, unchanged ...
        assert {k: u["counts"][k] for k in FIGURE_KEYS} == {k: report["summary"][k] for k in FIGURE_KEYS}
        # ... its items due and done are its communes' (the province's own heat map), and the other way round
        assert u["due"] == sum(x["due_tally"]["due"] for x in report["units"])
        assert u["done"] == sum(x["due_tally"]["done"] for x in report["units"])
        assert u["overdue"] == sum(x["due_tally"]["overdue"] for x in report["units"]) == report["summary"]["overdue"]
        assert u["children"]["total"] == len(report["units"])
        assert u["children"]["green"] == sum(1 for x in report["units"] if x["status"] == "green")
        assert u["children"]["red"] == sum(1 for x in report["units"] if x["status"] == "red")
    totals = data["summary"]["counts"]
    for k in FIGURE_KEYS:
        assert totals[k] == sum(r["summary"][k] for r in own.values()), k
    assert by["LAMSON"]["children"] == {"green": 2, "yellow": 0, "red": 2, "total": 4, "green_share": 50.0}

    # the central template: the four statuses per province, the same totals
    r = steer(w["centre"], "rollup", "central", "--period", "2025-05", "--format", "json",
              "--now", "2025-05-21T09:00:00+07:00")
    assert r.exit_code == 0, r.output
    central = json.loads(r.stdout)
    row = {x["unit"]: x for x in central["rows"]}["LAMSON"]
    s = own["LAMSON"]["summary"]
    assert row["completed_on_time"] == s["completed_on_time"] == 6
    assert row["overdue_not_completed"] == s["overdue"] == 2
    assert row["in_progress_on_time"] == 4  # T4, not due yet
    assert (row["completed_on_time"] + row["completed_late"] + row["in_progress_on_time"]
            + row["overdue_not_completed"] + row["completed_unknown"]) == row["total"] == s["total"]
    # a province's own report in the same template
    x = w["dir"] / "mau.xlsx"
    assert steer(w["lamson"], "report", "export", "1", "--profile", "central", "--format", "xlsx",
                 "--out", str(x)).exit_code == 0
    from openpyxl import load_workbook

    rows = [[c.value for c in row] for row in load_workbook(x).active.iter_rows()]
    assert rows[3][:5] == ["Đơn vị", "Hoàn thành đúng hạn", "Hoàn thành quá hạn", "Đang thực hiện trong hạn",
                           "Quá hạn chưa hoàn thành"]
    assert rows[-1][0] == "Tổng cộng" and rows[-1][1:] == [6, 0, 4, 2, 0, 12]


def test_every_changed_byte_is_refused(world):
    """Flip each of 200 bytes spread over the file: never accepted, nothing stored."""
    from engine.errors import UserError
    from engine.rollup import check_file

    _, rid = _report(world["lamson"])
    body = _export(world, "lamson", rid, "a.json").read_bytes()
    eng = make_engine(world["centre"])
    with transaction(eng) as s:
        assert check_file(s, "a.json", body).unit.code == "LAMSON"
        step = max(1, len(body) // 200)
        for i in range(0, len(body), step):
            changed = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
            with pytest.raises(UserError):
                check_file(s, "a.json", changed)
    eng.dispose()


def test_keys_are_refused_when_unsafe_or_missing(world, tmp_path):
    key = world["lamson_key"]
    r = steer(world["lamson"], "keys", "init", "--key", str(key))
    assert r.exit_code == 1 and "không ghi đè" in r.output
    os.chmod(key, 0o644)
    _, rid = _report(world["lamson"])
    r = steer(world["lamson"], "report", "export", str(rid), "--signed", "--key", str(key))
    assert r.exit_code == 1 and "chmod 600" in r.output, r.output
    r = steer(world["lamson"], "report", "export", str(rid), "--signed", "--key", str(tmp_path / "none.pem"))
    assert r.exit_code == 1 and "steer keys init" in r.output
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key")
    r = steer(world["centre"], "keys", "trust", "LAMSON", str(junk))
    assert r.exit_code == 1 and "không phải khóa công khai" in r.output
    r = steer(world["centre"], "keys", "trust", "NOWHERE", str(tmp_path / "lamson.pub"))
    assert r.exit_code == 1 and "NOWHERE" in r.output
    r = steer(world["centre"], "keys", "trust", "HASON", str(tmp_path / "lamson.pub"))
    assert r.exit_code == 1 and "LAMSON" in r.output  # one key, one unit
    listed = json.loads(steer(world["centre"], "keys", "list", "--format", "json").stdout)
    assert [x["unit"] for x in listed] == ["HASON", "LAMSON", "THUYSON"]


def test_a_wrong_schema_is_refused_with_the_field(world):
    """A correctly signed file whose payload lacks a field (e.g. an older/other writer)."""
    from engine.errors import UserError
    from engine.rollup import check_file, load_private_key, sign_payload

    _, rid = _report(world["lamson"])
    doc = json.loads(_export(world, "lamson", rid, "a.json").read_text(encoding="utf-8"))
    payload = doc["payload"]
    del payload["summary"]["due"]
    body = sign_payload(payload, load_private_key(world["lamson_key"]))
    eng = make_engine(world["centre"])
    with transaction(eng) as s:
        with pytest.raises(UserError, match="summary.due"):
            check_file(s, "x.json", body)
        payload["schema"] = "steer.rollup-snapshot/9"
        with pytest.raises(UserError, match="steer.rollup-snapshot/9"):
            check_file(s, "x.json", sign_payload(payload, load_private_key(world["lamson_key"])))
    eng.dispose()


def test_web_roll_up_heat_map_upload_and_api(world, monkeypatch):
    """The centre's web: the secretariat uploads the files (a tampered one refused, nothing
    stored), the chair sees each province's colour and reason, Thủy Sơn grey; the API too."""
    import re
    from datetime import datetime, timezone

    from engine import accounts
    from tests.factories import make_person
    from tests.web_helpers import fast_hasher, flashes, login
    from web.app import create_app

    fast_hasher(monkeypatch)
    w = world
    _, ls_id = _report(w["lamson"])
    _, hs_id = _report(w["hason"])
    a = _export(w, "lamson", ls_id, "a.json").read_bytes()
    b = _export(w, "hason", hs_id, "b.json").read_bytes()
    t0 = datetime(2025, 5, 21, 2, 0, tzinfo=timezone.utc)
    eng = make_engine(w["centre"])
    with transaction(eng) as s:
        make_person(s, "secretariat", role="secretariat")
        make_person(s, "chair", role="chair")
        for pid in ("secretariat", "chair"):
            accounts.add_user(s, pid, password="mat-khau-thu-nghiem", now=t0)
        token = accounts.issue_api_token(s, "secretariat", now=t0)
        chair_token = accounts.issue_api_token(s, "chair", now=t0)
    eng.dispose()
    app_ = create_app(w["centre"], secret_key="k" * 40, upload_dir=str(w["dir"] / "up"), now=lambda: t0)
    c, csrf = login(app_, "secretariat")
    form = c.get("/rollup/import")
    assert form.status_code == 200 and 'data-testid="rollup-import-form"' in form.text
    i = a.index(b'"overdue":2')
    bad = a[:i] + b'"overdue":1' + a[i + 11:]
    r = c.post("/rollup/import", data={"csrf_token": csrf},
               files=[("files", ("b.json", b, "application/json")), ("files", ("a.json", bad, "application/json"))])
    assert r.status_code == 400 and "a.json: chữ ký không khớp nội dung" in r.text
    assert _stored(w["centre"])[0] == 0
    r = c.post("/rollup/import", data={"csrf_token": csrf},
               files=[("files", ("a.json", a, "application/json")), ("files", ("b.json", b, "application/json"))])
    assert r.status_code == 303 and r.headers["location"] == "/rollup?period=2025-05"
    page = c.get("/rollup?period=2025-05")
    assert page.status_code == 200
    assert ("ok", "Đã nhận 2 bản báo cáo.") in flashes(page.text)
    cells = re.findall(r'data-unit="(\w+)" data-status="(\w+)"', page.text)
    assert cells == [("LAMSON", "yellow"), ("HASON", "green"), ("THUYSON", "grey")]
    assert "6/8 việc đến hạn đã xong; 2 quá hạn, nhiều nhất ở X03 (1), X04 (1)" in page.text
    assert "chưa báo cáo" in page.text
    x = c.get("/rollup/download/xlsx?period=2025-05")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert c.get("/rollup/download/central.xlsx?period=2025-05").status_code == 200
    chair, _ = login(app_, "chair")
    assert chair.get("/rollup?period=2025-05").status_code == 200
    assert chair.get("/rollup/import").status_code == 403
    # the API: the roll-up for an oversight token; import for the secretariat only
    api = chair.get("/api/v1/rollup?period=2025-05", headers={"Authorization": f"Bearer {chair_token}"})
    assert api.status_code == 200
    assert {u["unit"]: u["status"] for u in api.json()["units"]} == {"LAMSON": "yellow", "HASON": "green",
                                                                      "THUYSON": "grey"}
    r = chair.post("/api/v1/rollup/import", headers={"Authorization": f"Bearer {chair_token}"},
                   files=[("files", ("a.json", a, "application/json"))])
    assert r.status_code == 403
    r = chair.post("/api/v1/rollup/import", headers={"Authorization": f"Bearer {token}"},
                   files=[("files", ("a.json", a, "application/json"))])
    assert r.status_code == 400 and "không mới hơn" in r.json()["error"]


def test_the_centre_on_each_backend(db_url, _sqlite_template, tmp_path):
    """The centre's database on SQLite and (with STEER_TEST_POSTGRES_URL) PostgreSQL: import,
    replay refused, roll-up; the province on its own SQLite file."""
    province = _instance(_sqlite_template, tmp_path / "p.db", name="Ban Chỉ đạo tỉnh Lâm Sơn",
                         units={f"X0{i}": f"Xã Lâm {i}" for i in range(1, 5)}, plan="KH-LS", tasks=LAMSON_TASKS)
    eng = make_engine(db_url)
    with transaction(eng) as s:
        make_directory(s, units={"LAMSON": "Tỉnh Lâm Sơn", "HASON": "Tỉnh Hà Sơn"}, personas=(), group=False)
    eng.dispose()
    key, pub = tmp_path / "k.pem", tmp_path / "k.pub"
    assert steer(province, "keys", "init", "--key", str(key)).exit_code == 0
    assert steer(province, "keys", "show", "--key", str(key), "--out", str(pub)).exit_code == 0
    assert steer(db_url, "keys", "trust", "LAMSON", str(pub), "--now", NOW).exit_code == 0
    _, rid = _report(province)
    f = tmp_path / "ls.json"
    assert steer(province, "report", "export", str(rid), "--signed", "--key", str(key), "--out", str(f),
                 "--now", NOW).exit_code == 0
    r = steer(db_url, "rollup", "import", str(f), "--format", "json", "--now", NOW)
    assert r.exit_code == 0, r.output
    assert [(x["unit"], x["status"]) for x in json.loads(r.stdout)] == [("LAMSON", "yellow")]
    r = steer(db_url, "rollup", "import", str(f), "--now", NOW)
    assert r.exit_code == 1 and "không mới hơn" in r.output
    data = _rollup(db_url)
    assert [(u["unit"], u["status"], u["done"], u["due"]) for u in data["units"]] == [("LAMSON", "yellow", 6, 8)]
    assert _stored(db_url)[0] == 1
    # a new key published in the centre's directory retires the old one on this backend too
    key2 = tmp_path / "k2.pem"
    assert steer(province, "keys", "init", "--key", str(key2)).exit_code == 0
    pub2 = steer(province, "keys", "show", "--key", str(key2)).stdout.strip().splitlines()[-1]
    r = steer(db_url, "directory", "load", str(_directory(tmp_path / "d.yaml", {"LAMSON": pub2})), "--now",
              "2025-05-22T10:00:00+07:00")
    assert r.exit_code == 0 and "2 thay đổi" in r.output, r.output
    _, rid2 = _report(province, "2025-05-25", "2025-05-25T17:00:00+07:00")
    for k, name, code in ((key, "old.json", 1), (key2, "new.json", 0)):
        f = tmp_path / name
        assert steer(province, "report", "export", str(rid2), "--signed", "--key", str(k), "--out", str(f),
                     "--now", "2025-05-25T17:30:00+07:00").exit_code == 0
        r = steer(db_url, "rollup", "import", str(f), "--now", "2025-05-25T18:00:00+07:00")
        assert r.exit_code == code, r.output
    assert _stored(db_url)[0] == 2
    assert [k for k, _ in _key_events(db_url)] == ["rollup_key_trusted", "rollup_key_trusted", "rollup_key_retired"]


def test_child_plans_in_the_same_instance(db_url, monkeypatch, tmp_path):
    """Two communes' implementing plans loaded under the province's plan: each child unit's
    colour (this level's rules), the share green, and per parent task its child tasks."""
    from engine.models import Task, Unit
    from engine.rollup import child_plans
    from tests.factories import make_person

    eng = make_engine(db_url)
    with transaction(eng) as s:
        make_directory(s, units={"SNV": "Sở Nội vụ", "X01": "Xã Một", "X02": "Xã Hai"}, personas=(), group=False)
        parent = make_plan(s, "KH-TINH", tasks=({"code": "1", "lead": ["SNV"], "deadline": date(2025, 6, 30)},
                                                {"code": "2", "lead": ["SNV"], "deadline": date(2025, 9, 30)}))
        p1 = {t.code: t.id for t in s.execute(select(Task).where(Task.plan_id == parent.id)).scalars()}
        a = make_plan(s, "KH-X01", tasks=({"code": "1", "lead": ["X01"], "deadline": date(2025, 5, 10),
                                           "status": "completed"},
                                          {"code": "2", "lead": ["X01"], "deadline": date(2025, 5, 12)}))
        b = make_plan(s, "KH-X02", tasks=({"code": "1", "lead": ["X02"], "deadline": date(2025, 5, 10),
                                           "status": "completed"},))
        for child, unit in ((a, "X01"), (b, "X02")):
            child.parent_plan_id = parent.id
            child.issued_by_unit_id = s.execute(select(Unit.id).where(Unit.code == unit)).scalar_one()
            for t in s.execute(select(Task).where(Task.plan_id == child.id)).scalars():
                t.parent_task_id = p1["1"]
    with transaction(eng) as s:
        data = child_plans(s, "KH-TINH", as_of=date(2025, 5, 20))
    eng.dispose()
    assert [(c["unit"], c["plan"], c["status"], c["done"], c["due"]) for c in data["children"]] == [
        ("X01", "KH-X01", "red", 1, 2), ("X02", "KH-X02", "green", 1, 1)]
    assert (data["green"], data["total"], data["green_share"]) == (1, 2, 50.0)
    assert [(t["task"], t["completed"], t["total"]) for t in data["tasks"]] == [("1", 2, 3)]
    r = steer(db_url, "rollup", "children", "--plan", "KH-TINH", "--as-of", "2025-05-20")
    assert r.exit_code == 0 and "1/2 kế hoạch của đơn vị cấp dưới xanh" in r.output, r.output
    assert "NV 1: 2/3 nhiệm vụ cấp dưới đã hoàn thành" in r.output
    # Xã Một completes its task 2 on 25/05: as of 20/05 it is still open, as of 26/05 done (the
    # child tasks' states as of the day, from the event log, not their current state)
    eng = make_engine(db_url)
    with transaction(eng) as s:
        make_person(s, "x01_focal", role="focal_point", unit="X01")
        make_person(s, "secretariat", role="secretariat")
    eng.dispose()
    for args in (("start", "KH-X01/2", "--as", "x01_focal"),
                 ("submit", "KH-X01/2", "--as", "x01_focal", "--evidence", "Báo cáo số 9/BC-UBND ngày 25/5/2025"),
                 ("verify", "KH-X01/2", "--as", "secretariat")):
        r = steer(db_url, "task", *args, "--now", "2025-05-25T10:00:00+07:00")
        assert r.exit_code == 0, r.output
    eng = make_engine(db_url)
    for day, done in (("2025-05-20", 2), ("2025-05-24", 2), ("2025-05-26", 3)):
        with transaction(eng) as s:
            tasks = child_plans(s, "KH-TINH", as_of=date.fromisoformat(day))["tasks"]
        assert [(t["task"], t["completed"], t["total"]) for t in tasks] == [("1", done, 3)], day
        assert {(c["plan"], c["task"]): c["bucket"] for c in tasks[0]["children"]}[("KH-X01", "2")] == \
            ("completed" if done == 3 else "overdue")
    eng.dispose()
    # the parent's heat map shows its children
    import re
    from datetime import datetime, timezone

    from engine import accounts
    from tests.web_helpers import fast_hasher, login
    from web.app import create_app

    fast_hasher(monkeypatch)
    t0 = datetime(2025, 5, 20, 2, 0, tzinfo=timezone.utc)
    eng = make_engine(db_url)
    with transaction(eng) as s:
        make_person(s, "chair", role="chair")
        accounts.add_user(s, "chair", password="mat-khau-thu-nghiem", now=t0)
    eng.dispose()
    c, _ = login(create_app(db_url, secret_key="k" * 40, upload_dir=str(tmp_path / "up"), now=lambda: t0), "chair")
    page = c.get("/heatmap?plan=KH-TINH")
    assert page.status_code == 200
    assert re.findall(r'data-testid="heat-child" data-unit="(\w+)" data-plan="[\w-]+" data-status="(\w+)"', page.text) == [
        ("X01", "red"), ("X02", "green")]
    assert "Kế hoạch của đơn vị cấp dưới: 1/2 xanh" in page.text and "NV 1: 2/3 nhiệm vụ cấp dưới" in page.text


def test_readiness_criteria_green_only_when_all_met(db_url, tmp_path):
    eng = make_engine(db_url)
    with transaction(eng) as s:
        make_directory(s, units={"X01": "Xã Một", "X02": "Xã Hai"}, personas=(), group=False)
    eng.dispose()
    f = tmp_path / "tc.yaml"
    f.write_text("set: SS-2025\ntitle: Tiêu chí sẵn sàng\ncriteria:\n  - {code: C1, title: Trụ sở}\n"
                 "  - {code: C2, title: Một cửa điện tử}\n", encoding="utf-8")
    r = steer(db_url, "criteria", "load", str(f), "--now", NOW)
    assert r.exit_code == 0 and "2 tiêu chí (2 mới)" in r.output, r.output
    for unit, crit in (("X01", "C1"), ("X01", "C2"), ("X02", "C1")):
        r = steer(db_url, "criteria", "record", "SS-2025", unit, crit, "--met", "--evidence", "Biên bản số 1", "--now", NOW)
        assert r.exit_code == 0, r.output
    r = steer(db_url, "criteria", "record", "SS-2025", "X02", "C2", "--met", "--now", NOW)
    assert r.exit_code == 1 and "phải có minh chứng" in r.output
    data = json.loads(steer(db_url, "criteria", "show", "SS-2025", "--format", "json").stdout)
    assert [(u["unit"], u["status"], u["met"], u["missing"]) for u in data["units"]] == [
        ("X01", "green", 2, []), ("X02", "red", 1, ["C2"])]
    # a criterion recorded not met again: the latest record counts
    assert steer(db_url, "criteria", "record", "SS-2025", "X01", "C2", "--not-met", "--now",
                 "2025-05-21T09:00:00+07:00").exit_code == 0
    text = steer(db_url, "criteria", "show", "SS-2025").stdout
    assert "0/2 đơn vị đạt đủ" in text and "Đạt 1/2 tiêu chí; chưa đạt: C2" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("set: X\ncriteria: []\n", encoding="utf-8")
    r = steer(db_url, "criteria", "load", str(bad))
    assert r.exit_code == 1 and "criteria" in r.output
    assert steer(db_url, "criteria", "show", "NONE").exit_code == 1


def _directory(path: Path, keys: dict[str, str]) -> Path:
    """The centre's directory file: its provinces, each with the public key it signs with."""
    lines = ["units:"]
    for code, name in (("LAMSON", "Tỉnh Lâm Sơn"), ("HASON", "Tỉnh Hà Sơn")):
        lines += [f"  - code: {code}", f"    name: {name}"]
        if code in keys:
            lines.append(f'    signing_key: "{keys[code]}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _key_events(url: str) -> list[tuple[str, dict[str, Any]]]:
    eng = make_engine(url)
    with transaction(eng) as s:
        rows = s.execute(select(Event.kind, Event.data).where(Event.kind.like("rollup_key_%")).order_by(Event.id)).all()
    eng.dispose()
    return [(k, d) for k, d in rows]


def test_the_keys_published_in_the_directory_of_the_level_above(world, _sqlite_template, tmp_path):
    """A centre that trusts its provinces by loading its directory file (signing_key per unit):
    a changed key is recorded and retires the old one; bad keys are refused naming the field."""
    w = world
    centre = _instance(_sqlite_template, tmp_path / "centre2.db", name="Ban Chỉ đạo Trung ương",
                       units={"LAMSON": "Tỉnh Lâm Sơn", "HASON": "Tỉnh Hà Sơn"}, plan="KH-TW", tasks=())
    pub = {c: (tmp_path / f"{p}.pub").read_text().strip() for p, c in (("lamson", "LAMSON"), ("hason", "HASON"))}
    d = _directory(tmp_path / "danh-muc.yaml", pub)
    r = steer(centre, "directory", "load", str(d), "--now", NOW)
    assert r.exit_code == 0 and "Khóa ký của đơn vị cấp dưới: 2 thay đổi" in r.output, r.output
    listed = json.loads(steer(centre, "keys", "list", "--format", "json").stdout)
    assert {(x["unit"], x["public_key"], x["retired_at"]) for x in listed} == \
        {("LAMSON", pub["LAMSON"], None), ("HASON", pub["HASON"], None)}
    # loading the same file again changes nothing and records nothing
    r = steer(centre, "directory", "load", str(d), "--now", NOW)
    assert r.exit_code == 0 and "thay đổi" not in r.output
    assert [k for k, _ in _key_events(centre)] == ["rollup_key_trusted", "rollup_key_trusted"]

    _, ls_id = _report(w["lamson"])
    old_file = _export(w, "lamson", ls_id, "lamson-old-key.json")
    assert steer(centre, "rollup", "import", str(old_file), "--now", NOW).exit_code == 0

    # Lâm Sơn makes a new key; the centre publishes it in its directory: the old one is retired
    new_key = tmp_path / "lamson-new.pem"
    assert steer(w["lamson"], "keys", "init", "--key", str(new_key)).exit_code == 0
    new_pub = steer(w["lamson"], "keys", "show", "--key", str(new_key)).stdout.strip().splitlines()[-1]
    d = _directory(tmp_path / "danh-muc.yaml", {**pub, "LAMSON": new_pub})
    r = steer(centre, "directory", "load", str(d), "--now", "2025-05-22T10:00:00+07:00")
    assert r.exit_code == 0 and "2 thay đổi" in r.output, r.output
    events = _key_events(centre)
    assert [k for k, _ in events] == ["rollup_key_trusted", "rollup_key_trusted", "rollup_key_trusted",
                                      "rollup_key_retired"]
    retired = events[-1][1]
    assert retired["unit"] == "LAMSON" and retired["public_key"] == pub["LAMSON"] and retired["source"] == "danh-muc.yaml"
    assert retired["replaced_by"] == events[-2][1]["key_id"] and events[-2][1]["public_key"] == new_pub
    listed = {x["public_key"]: x for x in json.loads(steer(centre, "keys", "list", "--format", "json").stdout)}
    assert listed[pub["LAMSON"]]["retired_at"] is not None and listed[new_pub]["retired_at"] is None
    assert listed[pub["HASON"]]["retired_at"] is None
    text = steer(centre, "keys", "list").stdout
    assert "đã thu hồi 22/05/2025" in text

    # a newer snapshot signed with the old key: refused, nothing stored; with the new key: accepted
    _, ls_id2 = _report(w["lamson"], "2025-05-25", "2025-05-25T17:00:00+07:00")
    stale = _export(w, "lamson", ls_id2, "lamson-stale.json", now="2025-05-25T17:30:00+07:00")
    before = _stored(centre)
    r = steer(centre, "rollup", "import", str(stale), "--now", "2025-05-25T18:00:00+07:00")
    assert r.exit_code == 1 and "lamson-stale.json" in r.output and "đã được thay bằng khóa mới từ ngày 22/05/2025" \
        in r.output, r.output
    assert _stored(centre) == before
    fresh = w["dir"] / "lamson-new-key.json"
    assert steer(w["lamson"], "report", "export", str(ls_id2), "--signed", "--key", str(new_key), "--out", str(fresh),
                 "--now", "2025-05-25T17:30:00+07:00").exit_code == 0
    assert steer(centre, "rollup", "import", str(fresh), "--now", "2025-05-25T18:00:00+07:00").exit_code == 0
    assert _stored(centre)[0] == before[0] + 1  # the old key's snapshot stays stored beside it
    by = {u["unit"]: u for u in _rollup(centre)["units"]}
    assert by["LAMSON"]["snapshot"]["as_of"] == "2025-05-25"

    # bad keys: the file, the unit and the field named; nothing written
    before, keys_before = _stored(centre), steer(centre, "keys", "list", "--format", "json").stdout
    bad = tmp_path / "bad.yaml"
    for keys, words in (({"LAMSON": "ed25519:abc"}, ("bad.yaml", "LAMSON", "signing_key", "steer keys show")),
                        ({"LAMSON": new_pub.removeprefix("ed25519:")}, ("bad.yaml", "LAMSON", "signing_key")),
                        ({"LAMSON": new_pub, "HASON": new_pub}, ("bad.yaml", "HASON", "signing_key", "LAMSON")),
                        ({"HASON": new_pub}, ("bad.yaml", "HASON", "signing_key", "LAMSON"))):
        r = steer(centre, "directory", "load", str(_directory(bad, keys)), "--now", "2025-05-26T10:00:00+07:00")
        assert r.exit_code == 1 and all(x in r.output for x in words), (keys, r.output)
        assert "Traceback" not in r.output
        assert _stored(centre) == before
        assert steer(centre, "keys", "list", "--format", "json").stdout == keys_before
    # `steer keys trust` of the retired key trusts it again (recorded); it does not retire the new one
    r = steer(centre, "keys", "trust", "LAMSON", str(tmp_path / "lamson.pub"), "--now", "2025-05-27T10:00:00+07:00")
    assert r.exit_code == 0 and "Đã đăng ký khóa" in r.output, r.output
    listed = {x["public_key"]: x for x in json.loads(steer(centre, "keys", "list", "--format", "json").stdout)}
    assert listed[pub["LAMSON"]]["retired_at"] is None and listed[new_pub]["retired_at"] is None
    assert _key_events(centre)[-1][1].get("trusted_again") is True

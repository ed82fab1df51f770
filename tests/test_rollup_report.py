"""The roll-up stored as a report like any other (issue 20, part 3).

``steer rollup report`` keeps a snapshot of the roll-up in the same table as the plan reports:
``steer report list`` lists it, ``steer report show ID --format docx|xlsx|html|json`` renders
it again, the web's report pages show and download it. Its figures are the live roll-up's at
the time it was stored, and stay so when newer snapshots arrive. The DOCX is the report layout
(Nghị định 30/2020/NĐ-CP), checked in the file and, with LibreOffice installed, as rendered.

The three instances (centre, two provinces) are tests/test_rollup.py's ``world``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from engine.db import make_engine, transaction
from tests.test_rollup import _export, _report, steer, world  # noqa: F401  (world: the fixture)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "rollup-report"
LATER = "2025-05-21T09:00:00+07:00"


def _imported(w: dict[str, Any]) -> None:
    """Both provinces report 2025-05 as of 20/05; the centre imports them (Thủy Sơn never reports)."""
    files = []
    for prov in ("lamson", "hason"):
        _, rid = _report(w[prov])
        files.append(str(_export(w, prov, rid, f"{prov}.json")))
    r = steer(w["centre"], "rollup", "import", *files, "--now", "2025-05-20T18:00:00+07:00")
    assert r.exit_code == 0, r.output


def _stored_rollup(url: str, *options: str) -> tuple[dict[str, Any], int]:
    """``steer [OPTIONS] rollup report`` (stored): its JSON and the report number it says it kept."""
    r = steer(url, *options, "rollup", "report", "--period", "2025-05", "--format", "json", "--now", LATER)
    assert r.exit_code == 0, r.output
    m = re.search(r"(?:Đã lưu báo cáo số|Stored as report) (\d+)", r.stderr)
    assert m, r.stderr
    return json.loads(r.stdout), int(m.group(1))


def _live(url: str, *extra: str) -> dict[str, Any]:
    r = steer(url, "rollup", "report", "--period", "2025-05", "--format", "json", "--now", LATER, "--no-store", *extra)
    assert r.exit_code == 0, r.output
    assert "báo cáo số" not in r.stderr  # --no-store: nothing kept
    return json.loads(r.stdout)


def test_the_stored_roll_up_is_the_live_one_listed_and_shown_like_any_report(world):
    w = world
    _imported(w)
    centre = w["centre"]
    live = _live(centre)
    printed, rid = _stored_rollup(centre)
    assert printed == live
    # listed with the plan reports, as a roll-up (no plan)
    rows = json.loads(steer(centre, "report", "list", "--format", "json").stdout)
    row = next(r for r in rows if r["id"] == rid)
    assert row["type"] == "rollup" and row["plan"] is None and row["period"] == "2025-05"
    assert (row["due"], row["overdue"]) == (live["summary"]["due"], live["summary"]["overdue"]) == (11, 2)
    assert row["completed"] == live["summary"]["counts"]["completed"]
    text = steer(centre, "report", "list").stdout
    assert re.search(rf"#{rid}\s+Tổng hợp cấp dưới", text), text
    # shown again: the same figures, unit by unit
    shown = json.loads(steer(centre, "report", "show", str(rid), "--format", "json").stdout)
    assert shown == live
    by = {u["unit"]: u for u in shown["units"]}
    assert (by["LAMSON"]["status"], by["LAMSON"]["done"], by["LAMSON"]["due"]) == ("yellow", 6, 8)
    assert (by["HASON"]["status"], by["THUYSON"]["status"]) == ("green", "grey")

    # a newer Hà Sơn snapshot changes the live roll-up, never the stored one
    _, rid2 = _report(w["hason"], as_of="2025-05-31", now="2025-05-31T17:00:00+07:00")
    f = _export(w, "hason", rid2, "hason-31.json", now="2025-05-31T17:00:00+07:00")
    assert steer(centre, "rollup", "import", str(f), "--now", "2025-05-31T18:00:00+07:00").exit_code == 0
    newer = _live(centre)
    assert {u["unit"]: u["snapshot"]["as_of"] for u in newer["units"] if u["snapshot"]}["HASON"] == "2025-05-31"
    assert json.loads(steer(centre, "report", "show", str(rid), "--format", "json").stdout) == live

    # a roll-up is not signed for the level above: its own report is (clear message, exit 1)
    r = steer(centre, "report", "export", str(rid), "--signed", "--key", str(w["lamson_key"]))
    assert r.exit_code == 1 and "bản tổng hợp các đơn vị cấp dưới" in r.output, r.output
    # the central template of a stored roll-up: one row per unit that reported
    r = steer(centre, "report", "export", str(rid), "--profile", "central", "--format", "json")
    assert [x["unit"] for x in json.loads(r.stdout)["rows"]] == ["HASON", "LAMSON"]


def test_the_stored_roll_up_in_xlsx_and_html_says_what_the_data_says(world, tmp_path):
    from openpyxl import load_workbook

    w = world
    _imported(w)
    live, rid = _stored_rollup(w["centre"])
    x = tmp_path / "tong-hop.xlsx"
    r = steer(w["centre"], "report", "show", str(rid), "--format", "xlsx", "--out", str(x))
    assert r.exit_code == 0, r.output
    wb = load_workbook(x)
    assert wb.sheetnames == ["Tổng hợp", "Theo đơn vị", "Báo cáo đã nhận", "Phụ lục"]
    ws = wb["Theo đơn vị"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head = next(i for i, row in enumerate(rows) if row[:3] == ["TT", "Đơn vị", "Xếp loại"])
    body = rows[head + 1:head + 1 + len(live["units"])]
    for u, row in zip(live["units"], body, strict=True):
        assert row[1] == f"{u['unit']} — {u['name']}"
        assert row[2] == {"green": "Xanh", "yellow": "Vàng", "red": "Đỏ", "grey": "Xám"}[u["status"]]
        if u["snapshot"]:
            assert (row[3], row[4], row[6]) == (u["due"], u["done"], u["overdue"])
            assert row[5] == pytest.approx(u["share"] / 100)
            assert row[7] == f"{u['children']['green']}/{u['children']['total']}"
        else:
            assert row[3] is None and row[8] == "chưa báo cáo"
        fill = ws.cell(head + 1 + body.index(row) + 1, 3).fill.fgColor.rgb
        assert fill.endswith({"green": "C8E6C9", "yellow": "FFF3C4", "red": "FFCDD2", "grey": "E0E0E0"}[u["status"]])
    # the reports received: each as-of date a real date cell, shown dd/mm/yyyy
    got = wb["Báo cáo đã nhận"]
    dates = {r[0].value: r[1] for r in got.iter_rows() if r[1].is_date}
    assert {k: v.value.date().isoformat() for k, v in dates.items()} == \
        {f"{u['unit']} — {u['name']}": u["snapshot"]["as_of"] for u in live["units"] if u["snapshot"]}
    assert {v.number_format for v in dates.values()} == {"dd/mm/yyyy"}
    # the summed figures and the central template's total are the live roll-up's
    summary = {r[0]: r[1] for r in ([c.value for c in row] for row in wb["Tổng hợp"].iter_rows()) if r[0]}
    assert summary["Tổng số được theo dõi"] == live["summary"]["counts"]["total"]
    appendix = [[c.value for c in row] for row in wb["Phụ lục"].iter_rows()]
    total = next(r for r in appendix if r[1] == "Tổng cộng")
    assert total[-1] == live["summary"]["counts"]["total"]
    assert total[2] == live["summary"]["counts"]["completed_on_time"]
    # HTML: the document, in Vietnamese, dates dd/mm/yyyy
    html = steer(w["centre"], "report", "show", str(rid), "--format", "html").stdout
    for text in ("BÁO CÁO", "Tổng hợp tình hình thực hiện của các đơn vị cấp dưới tháng 5/2025",
                 "LAMSON — Tỉnh Lâm Sơn", "6/8 việc đến hạn đã xong", "chưa báo cáo", "20/05/2025",
                 "Đề nghị Tỉnh Thủy Sơn gửi báo cáo có chữ ký tháng 5/2025."):
        assert text in html, text
    assert not re.search(r"\b2025-05-\d\d\b", html)


def test_the_roll_up_report_in_english(world):
    w = world
    _imported(w)
    data, rid = _stored_rollup(w["centre"], "--lang", "en")
    md = steer(w["centre"], "--lang", "en", "report", "show", str(rid), "--format", "md").stdout
    assert "Progress of the child units, May 2025" in md and "not reported" in md
    assert "THUYSON — Tỉnh Thủy Sơn | Grey" in md
    assert "Not reported for this period (1): Tỉnh Thủy Sơn." in md
    assert "| 2025-05-20 18:00 |" in md and "20/05/2025" not in md  # dates as the English catalog writes them
    for vi in ("Đơn vị", "Xếp loại", "chưa báo cáo", "Tổng hợp tình hình"):
        assert vi not in md, vi
    assert data["lang"] == "en"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_the_roll_up_docx_is_laid_out_as_a_report_and_renders(world, tmp_path):
    from docx import Document

    w = world
    _imported(w)
    live, rid = _stored_rollup(w["centre"])
    d = tmp_path / "tong-hop-2025-05.docx"
    r = steer(w["centre"], "report", "show", str(rid), "--format", "docx", "--out", str(d))
    assert r.exit_code == 0, r.output
    doc = Document(io.BytesIO(d.read_bytes()))
    text = " ".join(" ".join(p.text.split()) for p in doc.paragraphs)  # the subtitle is broken into balanced lines
    assert "BÁO CÁO" in text and "Tổng hợp tình hình thực hiện của các đơn vị cấp dưới tháng 5/2025" in text
    assert "BAN CHỈ ĐẠO TRUNG ƯƠNG" in doc.tables[0].rows[0].cells[0].text
    units = next(t for t in doc.tables if t.rows[0].cells[1].text == "Đơn vị" and t.rows[0].cells[2].text == "Xếp loại")
    got = [(row.cells[1].text, row.cells[2].text) for row in units.rows[1:]]
    assert got == [(f"{u['unit']} — {u['name']}", {"green": "Xanh", "yellow": "Vàng", "grey": "Xám"}[u["status"]])
                   for u in live["units"]]
    assert doc.sections[0].page_width.cm == pytest.approx(21.0, abs=0.01)

    soffice = _tool("soffice")
    pdftoppm = _tool("pdftoppm")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(d)], check=True, capture_output=True, timeout=300)
    pdf = d.with_suffix(".pdf")
    info = subprocess.run([_tool("pdfinfo"), "-f", "1", "-l", "99", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert len(sizes) >= 2
    for wd, ht in sizes:
        assert sorted((round(float(wd)), round(float(ht)))) == [595, 842]  # A4
    words = subprocess.run([_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    flat = " ".join(words.split())
    for t in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Tỉnh Lâm Sơn", "Nơi nhận:",
              "Tổng cộng"):
        assert t in flat, t
    for number in range(2, len(sizes) + 1):  # no page left blank but for its number (a section break spilling over)
        page = subprocess.run([_tool("pdftotext"), "-f", str(number), "-l", str(number), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout.split()
        assert page[0] == str(number) and len(page) > 5, (number, page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for number in range(1, len(sizes) + 1):
        base = ARTIFACTS / f"page{number}"
        subprocess.run([pdftoppm, "-r", "70", "-png", "-singlefile", "-f", str(number), "-l", str(number), str(pdf),
                        str(base)], check=True, timeout=120)
        assert base.with_suffix(".png").stat().st_size > 5_000


def test_web_keeps_the_roll_up_as_a_report_and_shows_it_with_the_others(world, monkeypatch):
    from engine import accounts
    from tests.factories import make_person
    from tests.web_helpers import fast_hasher, flashes, login
    from web.app import create_app

    fast_hasher(monkeypatch)
    w = world
    _imported(w)
    t0 = datetime(2025, 5, 21, 2, 0, tzinfo=timezone.utc)
    eng = make_engine(w["centre"])
    with transaction(eng) as s:
        for pid, role in (("secretariat", "secretariat"), ("chair", "chair")):
            make_person(s, pid, role=role)
            accounts.add_user(s, pid, password="mat-khau-thu-nghiem", now=t0)
    eng.dispose()
    app_ = create_app(w["centre"], secret_key="k" * 40, upload_dir=str(w["dir"] / "up"), now=lambda: t0)
    chair, chair_csrf = login(app_, "chair")
    page = chair.get("/rollup?period=2025-05")
    assert page.status_code == 200 and 'data-testid="rollup-store"' not in page.text  # the secretariat keeps reports
    assert chair.post("/rollup/store", data={"csrf_token": chair_csrf, "period": "2025-05"}).status_code == 403
    c, csrf = login(app_, "secretariat")
    page = c.get("/rollup?period=2025-05")
    assert 'data-testid="rollup-store"' in page.text
    r = c.post("/rollup/store", data={"csrf_token": csrf, "period": "2025-05", "rule": "any_overdue"})
    assert r.status_code == 303 and re.fullmatch(r"/reports/\d+", r.headers["location"]), r.headers
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    view = c.get(r.headers["location"])
    assert view.status_code == 200
    assert ("ok", f"Đã lập báo cáo số {rid}: Báo cáo tổng hợp các đơn vị cấp dưới tháng 5/2025.") in flashes(view.text)
    assert 'data-testid="report-view"' in view.text and "LAMSON — Tỉnh Lâm Sơn" in view.text
    assert 'class="st st-red">Đỏ' in view.text  # the rule chosen on the page: any overdue item makes Lâm Sơn red
    assert 'class="st st-grey">Xám' in view.text and 'data-testid="report-chart"' not in view.text
    listing = c.get("/reports")
    row = re.search(rf'<tr data-testid="report-row" data-report-id="{rid}"[^>]*data-type="rollup">(.*?)</tr>',
                    listing.text, re.S)
    assert row and "Báo cáo tổng hợp các đơn vị cấp dưới tháng 5/2025" in row.group(1)
    assert "Tổng hợp cấp dưới" in row.group(1)
    stored = json.loads(c.get(f"/reports/{rid}/download/json").content)
    live = _live(w["centre"], "--rule", "any_overdue")
    assert {u["unit"]: (u["status"], u["done"], u["due"]) for u in stored["units"]} == \
        {u["unit"]: (u["status"], u["done"], u["due"]) for u in live["units"]}
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("html", b"<!DOCTYPE html>")):
        d = c.get(f"/reports/{rid}/download/{fmt}")
        assert d.status_code == 200 and d.content.startswith(magic), fmt
        assert "attachment" in d.headers["content-disposition"]


def test_an_out_file_that_cannot_be_written_stores_no_roll_up(world, tmp_path):  # type: ignore[no-untyped-def]
    """``--out`` under a file, not a folder: one message naming it, exit 1, and no report stored
    (the file is written before the snapshot commits, as for plan reports)."""
    centre = world["centre"]
    _imported(world)
    before = json.loads(steer(centre, "report", "list", "--format", "json").stdout)
    blocker = tmp_path / "tep.txt"
    blocker.write_text("x")
    r = steer(centre, "rollup", "report", "--period", "2025-05", "--format", "docx", "--now", LATER,
              "--out", str(blocker / "tong-hop.docx"))
    assert r.exit_code == 1 and "là một tệp, không phải thư mục" in r.output, r.output
    assert "Traceback" not in r.output
    assert json.loads(steer(centre, "report", "list", "--format", "json").stdout) == before
    assert not list(tmp_path.glob(".tong-hop.docx.tmp-*"))

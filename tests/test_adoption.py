"""Plan adoption: units registering their implementing plans; "14 of 17 departments"."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from engine.adoption import adoption_status, register_adoption
from engine.db import transaction
from engine.directory_store import parse_directory_file, store_directory
from engine.errors import UserError
from engine.models import Event, PlanAdoption
from engine.planfile.loader import load_plan_file
from tests.factories import at, ensure_chain_head, make_plan

PLANS = Path(__file__).resolve().parent.parent / "plans"
NOW = at("2025-05-02 09:00")

# The 17 provincial departments of the sample directory, in file order.
DEPARTMENTS = ["VP_UBND", "SNV", "STP", "STC", "SCT", "SNNMT", "SXD", "SVHTTDL", "SKHCN", "SGDDT", "SYT", "SDTTG",
               "TTT", "CAT", "BCHQS", "BPTTH", "BQLKCN"]


@pytest.fixture
def db(engine):  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        ensure_chain_head(s)
        store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=NOW)
        make_plan(s, "KH-57", tasks=[
            {"code": "1", "lead": ["SKHCN", "SNV"], "deadline": date(2025, 6, 30)},
            {"code": "2", "lead": ["STC", "CAC_SO_NGANH_LS"], "deadline": date(2025, 9, 30)},
            {"code": "3", "lead": ["SYT"], "deadline": date(2025, 9, 30), "task_status": "cancelled"},
        ], now=NOW)
    return engine


def _adopt(engine, unit: str, n: int, **kw) -> dict:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        return register_adoption(s, "KH-57", unit, document=f"Kế hoạch số {n}/KH-{unit}",
                                 issued_on=date(2025, 4, n), actor="secretariat", now=NOW, **kw)


def test_fourteen_of_seventeen_departments_have_issued_their_plan(db):
    for n, code in enumerate(DEPARTMENTS[:14], start=1):
        _adopt(db, code, n)
    with transaction(db) as s:
        d = adoption_status(s, "KH-57", expected="departments")
    assert (d["expected"], d["adopted"]) == (17, 14)
    missing = sorted(u["code"] for u in d["units"] if not u["adopted"])
    assert missing == sorted(DEPARTMENTS[14:])
    snv = next(u for u in d["units"] if u["code"] == "SNV")
    assert (snv["document"], snv["issued_on"]) == ("Kế hoạch số 2/KH-SNV", "2025-04-02")


def test_expected_lead_units_are_the_non_group_leads_of_active_tasks(db):
    _adopt(db, "Sở Nội vụ", 10)  # a name resolves like a code
    with transaction(db) as s:
        d = adoption_status(s, "KH-57")
    # the group "Các sở, ban, ngành" and the cancelled task's SYT do not count
    assert [u["code"] for u in d["units"]] == ["SKHCN", "SNV", "STC"]
    assert (d["expected"], d["adopted"]) == (3, 1)


def test_an_explicit_list_of_units_and_adoptions_outside_it(db):
    _adopt(db, "SYT", 3)
    _adopt(db, "SKHCN", 4)
    with transaction(db) as s:
        d = adoption_status(s, "KH-57", expected=["SKHCN", "Sở Giáo dục và Đào tạo"])
    assert [(u["code"], u["adopted"]) for u in d["units"]] == [("SGDDT", False), ("SKHCN", True)]
    assert [u["code"] for u in d["others"]] == ["SYT"]


def test_a_child_plan_loaded_with_a_parent_counts_without_registration(db, tmp_path):
    path = tmp_path / "kh-snv.yaml"
    path.write_text("""\
plan:
  code: KH-SNV-57
  title: Kế hoạch của Sở Nội vụ triển khai Kế hoạch KH-57
  document: Kế hoạch số 12/KH-SNV
  issued_on: 2025-04-10
  issued_by: SNV
  parent: KH-57
tasks:
  - code: "1"
    title: Rà soát vị trí việc làm về chuyển đổi số
    lead: Sở Nội vụ
    deliverable: Báo cáo
    deadline: 6/2025
""", encoding="utf-8")
    load_plan_file(db, path, now=NOW)
    with transaction(db) as s:
        d = adoption_status(s, "KH-57")
    snv = next(u for u in d["units"] if u["code"] == "SNV")
    assert (snv["adopted"], snv["document"], snv["issued_on"], snv["child_plan"]) == \
        (True, "Kế hoạch số 12/KH-SNV", "2025-04-10", "KH-SNV-57")
    assert d["adopted"] == 1


def test_registering_again_updates_the_record_and_logs_before_and_after(db):
    first = _adopt(db, "SNV", 10)
    same = _adopt(db, "SNV", 10)
    changed = _adopt(db, "SNV", 12)
    assert (first["created"], same["changed"], changed["created"], changed["changed"]) == (True, False, False, True)
    with transaction(db) as s:
        rows = s.execute(select(PlanAdoption)).scalars().all()
        events = s.execute(select(Event).where(Event.kind == "plan_adopted").order_by(Event.id)).scalars().all()
    assert [(r.document, r.issued_on) for r in rows] == [("Kế hoạch số 12/KH-SNV", date(2025, 4, 12))]
    assert len(events) == 2
    assert events[1].data["before"]["document"] == "Kế hoạch số 10/KH-SNV"
    assert events[1].data["after"]["issued_on"] == "2025-04-12"


def test_adoption_mistakes_are_explained(db):
    with transaction(db) as s:
        with pytest.raises(UserError, match="Không có kế hoạch mã «KH-75». Có phải: KH-57"):
            register_adoption(s, "KH-75", "SNV", document="KH 1", issued_on=None, actor="x", now=NOW)
        with pytest.raises(UserError, match="Không tìm thấy cơ quan, đơn vị «Sở Ngoại giao»"):
            register_adoption(s, "KH-57", "Sở Ngoại giao", document="KH 1", issued_on=None, actor="x", now=NOW)
        with pytest.raises(UserError, match="là một nhóm cơ quan"):
            register_adoption(s, "KH-57", "CAC_SO_NGANH_LS", document="KH 1", issued_on=None, actor="x", now=NOW)
        with pytest.raises(UserError, match="--document"):
            register_adoption(s, "KH-57", "SNV", document=" ", issued_on=None, actor="x", now=NOW)
        with pytest.raises(UserError, match="không hợp lệ; dùng lead_units"):
            adoption_status(s, "KH-57", expected="sở")  # type: ignore[arg-type]


def test_cli_adopt_then_adoption_report(db, db_url):
    from cli.main import app

    runner = CliRunner()
    r = runner.invoke(app, ["--db", db_url, "plan", "adopt", "KH-57", "--unit", "SNV", "--document",
                            "Kế hoạch số 12/KH-SNV", "--issued-on", "2025-04-10", "--now", "2025-05-02"])
    assert r.exit_code == 0, r.output
    assert "Đã ghi nhận Sở Nội vụ (SNV) ban hành Kế hoạch số 12/KH-SNV triển khai KH-57" in r.output
    r = runner.invoke(app, ["--db", db_url, "plan", "adopt", "KH-57", "--unit", "STC", "--document", "KH 5/KH-STC",
                            "--issued-on", "10/4/2025"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", db_url, "plan", "adoption", "KH-57"])
    assert r.exit_code == 0 and "KH-57: 2/3 đơn vị đã ban hành kế hoạch triển khai." in r.output
    r = runner.invoke(app, ["--db", db_url, "plan", "adoption", "KH-57", "--expected", "departments", "--format", "json"])
    d = json.loads(r.stdout)
    assert (d["expected"], d["adopted"]) == (17, 2)
    r = runner.invoke(app, ["--db", db_url, "plan", "adopt", "KH-57", "--unit", "SNV", "--issued-on", "31/2/2025"])
    assert r.exit_code != 0 and "31/2/2025" in r.output

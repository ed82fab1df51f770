"""Loading real annexes (converted to .xlsx and .docx in the test) and revising plans."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.audit import verify_chain
from engine.db import transaction
from engine.models import Event, Plan, PlanRevision, Section, Task, Unit, WorkItem
from engine.planfile.loader import load_plan_file
from engine.planfile.spec import PlanFileError
from engine.planfile.validate import PlanValidationError
from engine.queries import list_tasks
from tests.realdata import write_annex_docx, write_annex_xlsx

NOW = datetime(2025, 5, 1, 2, 0, tzinfo=timezone.utc)

# TT -> expected deadline (ISO or kind), from the real annex
DEADLINES = {
    "1": "2025-06-30",  # 6/2025
    "8": "2025-03-31",  # 03/2025
    "7": "2025-01-31",  # 01/2025
    "14": "2025-12-31",  # 2025
    "16": "2025-10-31",  # Tháng 10/2025
    "17": "2025-05-31",  # Tháng 5/2025
    "20": "2025-02-28",  # 2/2025
    "29": "2025-07-31",  # 7/2025
    "47": "2026-12-31",  # 2025 - 2026
    "72": "2026-12-31",  # 2025-2026
    "123": "2025-06-30",  # Quý II/2025
    "2": "ongoing",  # Thường xuyên
    "9": "ongoing",  # Nhiệm vụ thường xuyên
    "49": "recurring",  # Hằng năm
    "114": "recurring",  # 2025 và những năm tiếp theo
    "42": None,  # empty
}

LEADS = {
    "45": ["Bộ Tài chính", "Bộ Công Thương"],
    "46": ["Bộ Khoa học và Công nghệ", "Các địa phương"],
    "51": ["Bộ Khoa học và Công nghệ", "Bộ Nông nghiệp và Môi trường"],
    "52": ["Bộ Công Thương", "Bộ Nông nghiệp và Môi trường", "Bộ Xây dựng"],
    "113": ["Văn phòng Chính phủ", "Bộ Công an"],
}
# row 108: eight former/current ministries -> successors, de-duplicated, in order
LEADS_108 = ["Bộ Công an", "Bộ Nội vụ", "Bộ Nông nghiệp và Môi trường", "Bộ Xây dựng",
             "Ngân hàng Nhà nước Việt Nam", "Bộ Khoa học và Công nghệ", "Bộ Tài chính"]

NO_DELIVERABLE = {"3", "41", "42", "61", "76", "108", "114", "115", "131"}
NO_DEADLINE = {"42"}


@pytest.fixture(params=["xlsx", "docx"])
def annex_file(request, tmp_path, annex2) -> Path:
    writer = write_annex_xlsx if request.param == "xlsx" else write_annex_docx
    return writer(tmp_path / f"phu-luc-2.{request.param}", annex2)


def test_real_annex_loads_140_tasks_in_7_sections_with_deadlines_units_and_warnings(engine, annex_file):
    r = load_plan_file(engine, annex_file, now=NOW, code="NQ03-PL2")
    assert (r.tasks, r.sections, r.created) == (140, 7, True)
    with transaction(engine) as s:
        tasks = {t["code"]: t for t in list_tasks(s, plan="NQ03-PL2")}
        assert s.scalar(select(func.count()).select_from(Section)) == 7
    assert len(tasks) == 140
    for code, expected in DEADLINES.items():
        t = tasks[code]
        if expected is None:
            assert t["deadline_kind"] is None and t["deadline"] is None, code
        elif expected in ("ongoing", "recurring"):
            assert t["deadline_kind"] == expected, code
        else:
            assert (t["deadline_kind"], t["deadline"]) == ("date", expected), code
    assert tasks["49"]["recurrence"] and tasks["2"]["recurrence"] is None
    for code, names in LEADS.items():
        assert tasks[code]["lead_units"] == names, code
    assert tasks["108"]["lead_units"] == LEADS_108
    assert tasks["46"]["coordinating_units"] == ["Bộ Khoa học và Công nghệ", "Bộ Ngoại giao"]
    by_code: dict[str, set[str]] = {}
    for w in r.warnings:
        by_code.setdefault(w.code, set()).add(w.task or "")
    assert by_code["no_deliverable"] == NO_DELIVERABLE
    assert by_code["no_deadline"] == NO_DEADLINE
    # every warning names the file, a row and a column
    for w in r.warnings:
        if w.task:
            assert w.ref.file.endswith(annex_file.name) and w.ref.row and w.ref.column, w


def test_real_annex_work_items_one_per_lead_unit(engine, annex_file):
    load_plan_file(engine, annex_file, now=NOW, code="NQ03-PL2")
    with transaction(engine) as s:
        t108 = s.execute(select(Task).where(Task.code == "108")).scalar_one()
        items = s.execute(select(WorkItem).where(WorkItem.task_id == t108.id)).scalars().all()
        assert len(items) == len(LEADS_108)
        assert {i.deadline for i in items} == {date(2025, 12, 31)}


def test_loading_the_same_file_twice_changes_nothing(engine, annex_file):
    load_plan_file(engine, annex_file, now=NOW, code="NQ03-PL2")
    with transaction(engine) as s:
        before = {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in (Task, WorkItem, Event, PlanRevision, Unit)}
    r = load_plan_file(engine, annex_file, now=NOW, code="NQ03-PL2")
    assert r.unchanged
    with transaction(engine) as s:
        after = {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in (Task, WorkItem, Event, PlanRevision, Unit)}
    assert before == after


YAML_V1 = """
plan: {code: KH-T, title: Kế hoạch thử, issued_on: 2025-03-15}
sections:
  - code: I
    title: Phần một
    tasks:
      - {code: "1", title: Nhiệm vụ một, lead: [Sở Khoa học và Công nghệ], deliverable: Kế hoạch, deadline: "6/2025"}
      - {code: "2", title: Nhiệm vụ hai, lead: "Sở Nội vụ, Sở Tài chính", deliverable: Báo cáo, deadline: "Quý III/2025", depends_on: ["1"]}
      - {code: "3", title: Nhiệm vụ ba, lead: [Sở Y tế], deliverable: Đề án, deadline: "2025"}
"""
YAML_V2 = """
plan: {code: KH-T, title: Kế hoạch thử (sửa đổi), issued_on: 2025-03-15}
sections:
  - code: I
    title: Phần một
    tasks:
      - {code: "1", title: Nhiệm vụ một, lead: [Sở Khoa học và Công nghệ], deliverable: Kế hoạch, deadline: "9/2025"}
      - {code: "2", title: Nhiệm vụ hai, lead: "Sở Nội vụ", deliverable: Báo cáo, deadline: "Quý III/2025", depends_on: ["1"]}
      - {code: "4", title: Nhiệm vụ bốn, lead: [Sở Xây dựng], deliverable: Quyết định, deadline: "12/2025"}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_revised_plan_updates_by_code_cancels_removed_tasks_and_keeps_history(engine, tmp_path):
    load_plan_file(engine, _write(tmp_path, "v1.yaml", YAML_V1), now=NOW)
    with transaction(engine) as s:
        # some history on task 3 and task 2 before the revision
        t3 = s.execute(select(Task).where(Task.code == "3")).scalar_one()
        n_events = s.scalar(select(func.count()).select_from(Event))
    r = load_plan_file(engine, _write(tmp_path, "v2.yaml", YAML_V2), now=NOW)
    assert (r.created, r.revision) == (False, 2)
    assert r.added == ["4"] and r.cancelled == ["3"] and set(r.changed) == {"1", "2"}
    with transaction(engine) as s:
        t3 = s.get(Task, t3.id)
        assert t3.status == "cancelled"  # kept, never deleted
        assert {i.status for i in s.execute(select(WorkItem).where(WorkItem.task_id == t3.id)).scalars()} == {"cancelled"}
        t1 = s.execute(select(Task).where(Task.code == "1")).scalar_one()
        assert t1.deadline == date(2025, 9, 30)
        (i1,) = s.execute(select(WorkItem).where(WorkItem.task_id == t1.id)).scalars().all()
        assert i1.deadline == date(2025, 9, 30)
        t2 = s.execute(select(Task).where(Task.code == "2")).scalar_one()
        st = {i.unit.code: i.status for i in s.execute(select(WorkItem).where(WorkItem.task_id == t2.id)).scalars()}
        assert sorted(st.values()) == ["cancelled", "not_started"]  # Sở Tài chính no longer leads
        revs = s.execute(select(PlanRevision).order_by(PlanRevision.number)).scalars().all()
        assert [(r.number, r.added, r.changed, r.cancelled) for r in revs] == [(1, 3, 0, 0), (2, 1, 2, 1)]
        assert s.scalar(select(func.count()).select_from(Event)) > n_events
        assert s.execute(select(Plan.title)).scalar_one() == "Kế hoạch thử (sửa đổi)"
        assert verify_chain(s).ok
    # loading v1 again brings task 3 back and cancels 4
    r3 = load_plan_file(engine, _write(tmp_path, "v1b.yaml", YAML_V1), now=NOW)
    assert r3.reactivated == ["3"] and r3.cancelled == ["4"]


def test_yaml_with_a_dependency_cycle_is_refused_and_nothing_is_written(engine, tmp_path):
    bad = YAML_V1.replace('deadline: "6/2025"}', 'deadline: "6/2025", depends_on: ["2"]}')
    with pytest.raises(PlanValidationError) as ei:
        load_plan_file(engine, _write(tmp_path, "cycle.yaml", bad), now=NOW)
    assert "cycle.yaml" in str(ei.value) and "1 → 2 → 1" in str(ei.value).replace("2 → 1 → 2", "1 → 2 → 1")
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_unparseable_deadline_and_duplicate_code_are_errors_naming_row_and_column(engine, tmp_path):
    bad = YAML_V1.replace('"Quý III/2025"', '"sớm nhất có thể"').replace('code: "3"', 'code: "1"')
    with pytest.raises(PlanValidationError) as ei:
        load_plan_file(engine, _write(tmp_path, "bad.yaml", bad), now=NOW)
    msg = str(ei.value)
    assert "sớm nhất có thể" in msg and "bad.yaml" in msg and "row" in msg
    assert {e.code for e in ei.value.plan.errors} >= {"bad_deadline", "duplicate_code"}


def test_unknown_unit_names_are_registered_with_a_warning_not_dropped(engine, tmp_path):
    text = YAML_V1.replace("lead: [Sở Y tế]", "lead: [Sở Y tế, Trung tâm Chuyển đổi số Lâm Sơn]")
    r = load_plan_file(engine, _write(tmp_path, "new.yaml", text), now=NOW)
    assert any(w.code == "new_unit" and "Trung tâm Chuyển đổi số Lâm Sơn" in w.message for w in r.warnings)
    with transaction(engine) as s:
        (t,) = [t for t in list_tasks(s, plan="KH-T") if t["code"] == "3"]
        assert t["lead_units"] == ["Sở Y tế", "Trung tâm Chuyển đổi số Lâm Sơn"]


def test_dry_run_writes_nothing(engine, tmp_path):
    r = load_plan_file(engine, _write(tmp_path, "v1.yaml", YAML_V1), now=NOW, dry_run=True)
    assert r.dry_run and r.tasks == 3
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0
        assert s.scalar(select(func.count()).select_from(Unit)) == 0


@pytest.mark.parametrize("name,content", [
    ("junk.xlsx", b"\x00\x01\x02 not a zip"),
    ("junk.docx", b"PK\x03\x04garbage"),
    ("junk.csv", b"\x00\xff\xfe\x00binary"),
])
def test_corrupt_files_give_a_plan_file_error(engine, tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(PlanFileError) as ei:
        load_plan_file(engine, p, now=NOW)
    assert name in str(ei.value)

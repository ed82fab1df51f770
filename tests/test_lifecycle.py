"""Work item lifecycle: transitions, permissions, extensions, dependencies, notes, versions,
references and history replay — on SQLite and (with STEER_TEST_POSTGRES_URL) PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engine import lifecycle as lc
from engine.actors import load_actor
from engine.permissions import ALL_ACTIONS, check_permission, visible_items
from engine.refs import item_ref, resolve_item
from engine.states import ALLOWED_TRANSITIONS, STATUSES, TRANSITIONS
from engine.txcache import load_item
from engine.audit import verify_chain
from engine.db import transaction
from engine.errors import Conflict, PermissionDenied, UserError
from engine.history import replay_history
from engine.models import Event, ExtensionRequest, Plan, WorkItem
from engine.db import make_engine
from tests.factories import T0, actor, at, item_of, make_directory, make_plan, seed, seed_url

P = "KH-TEST"
TASKS = [
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30)},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 9, 30), "depends_on": ["1"]},
    {"code": "3", "lead": ["SKHCN", "SNV", "STC"], "deadline": date(2025, 12, 31)},
    {"code": "4", "lead": ["CSBN"], "deadline": date(2025, 6, 30)},
    {"code": "5", "lead": ["SKHCN"], "deadline": None, "deadline_kind": "ongoing"},
    {"code": "6", "lead": ["SNV"], "deadline_kind": "recurring", "deadline": None,
     "occurrences": [("2025-04", date(2025, 4, 20)), ("2025-05", date(2025, 5, 20)), ("2025-06", date(2025, 6, 20))]},
    {"code": "7", "lead": ["SNV"], "deadline": date(2025, 6, 30), "vice_chair": "pct_kt"},
]


@pytest.fixture
def world(db_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def act(engine: Any, fn: Any, ref: str, person: str, when: str, **kw: Any) -> tuple[str, int]:
    with transaction(engine) as s:
        w = fn(s, resolve_item(s, ref), actor(s, person), now=at(when), **kw)
        return w.status, w.version


def item(engine: Any, ref: str) -> WorkItem:
    with transaction(engine) as s:
        w = resolve_item(s, ref)
        s.expunge(w)
        return w


def events(engine: Any, ref: str, kind: str | None = None) -> list[Event]:
    with transaction(engine) as s:
        wid = resolve_item(s, ref).id
        stmt = select(Event).where(Event.work_item_id == wid)
        if kind:
            stmt = stmt.where(Event.kind == kind)
        rows = s.execute(stmt.order_by(Event.id)).scalars().all()
        s.expunge_all()
        return list(rows)


# --- transitions ------------------------------------------------------------------------------------------


def test_happy_path_records_times_evidence_and_one_event_per_action(world):
    assert act(world, lc.start, f"{P}/1", "skhcn_focal", "2025-04-02 09:00") == ("in_progress", 2)
    assert act(world, lc.add_note, f"{P}/1", "skhcn_focal", "2025-05-02 09:00", text="Đã có dự thảo", percent=60) == ("in_progress", 3)
    assert act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-06-20 15:00", evidence="Quyết định số 1234/QĐ-UBND") == ("submitted", 4)
    assert act(world, lc.verify, f"{P}/1", "secretariat", "2025-06-23 08:30") == ("completed", 5)
    w = item(world, f"{P}/1")
    assert (w.started_at, w.submitted_at, w.completed_at) == (at("2025-04-02 09:00"), at("2025-06-20 15:00"), at("2025-06-23 08:30"))
    assert w.completion == "on_time" and w.updated_by == "secretariat"
    evs = events(world, f"{P}/1")
    assert [(e.kind, e.from_status, e.to_status) for e in evs] == [
        ("status", "not_started", "in_progress"), ("note", None, None),
        ("status", "in_progress", "submitted"), ("status", "submitted", "completed")]
    sub = evs[2]
    assert sub.evidence == "Quyết định số 1234/QĐ-UBND" and sub.actor == "skhcn_focal" and sub.actor_role == "focal_point"
    assert sub.task_id == w.task_id and sub.work_item_id == w.id and sub.plan_id is not None and sub.at == at("2025-06-20 15:00")
    assert evs[1].percent == 60 and evs[1].note == "Đã có dự thảo"


def test_verified_after_the_deadline_is_late_even_one_local_day_after(world):
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-06-30 22:00", evidence="BC 1")
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-07-01 00:05")
    assert item(world, f"{P}/1").completion == "late"


def test_completed_late_at_night_on_the_deadline_day_is_on_time(world):
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-06-30 20:00", evidence="BC 1")
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-06-30 23:30")  # 16:30 UTC
    assert item(world, f"{P}/1").completion == "on_time"


def test_auto_verify_setting_makes_submit_complete_directly(engine):
    seed(engine, tasks=TASKS, settings={"auto_verify": True})
    assert act(engine, lc.submit, f"{P}/1", "skhcn_focal", "2025-07-02 10:00", evidence="http://vb.example/1") == ("completed", 2)
    w = item(engine, f"{P}/1")
    assert w.completion == "late" and w.completed_at == at("2025-07-02 10:00")
    (ev,) = events(engine, f"{P}/1", "status")
    assert (ev.from_status, ev.to_status, ev.data) == ("not_started", "completed", {"auto_verify": True})


def test_illegal_transition_names_the_state_and_the_allowed_actions(world):
    with pytest.raises(UserError) as exc:
        act(world, lc.verify, f"{P}/1", "secretariat", "2025-04-02 09:00")
    msg = str(exc.value)
    assert "KH-TEST/1" in msg and "Chưa bắt đầu" in msg
    assert "(start)" in msg and "(submit)" in msg and "(block)" in msg and "(verify)" not in msg
    with pytest.raises(UserError) as exc:
        act(world, lc.unblock, f"{P}/1", "secretariat", "2025-04-02 09:00", lang="en")
    assert "Cannot unblock item KH-TEST/1: it is «Not started»" in str(exc.value)
    assert "Allowed from this state:" in str(exc.value)


def test_verify_of_an_item_someone_already_completed_says_who_and_when(world):
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-06-20 15:00", evidence="BC 1")
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-06-23 08:30")
    with pytest.raises(UserError) as exc:
        act(world, lc.verify, f"{P}/1", "secretariat2", "2025-06-23 08:31")
    assert "Đã hoàn thành" in str(exc.value) and "Đỗ Thị Lan" in str(exc.value) and "23/06/2025 08:30" in str(exc.value)
    assert "(reopen)" in str(exc.value)


def test_block_needs_a_reason_and_unblock_returns_to_the_state_before(world):
    with pytest.raises(UserError, match="vướng mắc"):
        act(world, lc.block, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", reason="  ")
    assert act(world, lc.block, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", reason="Chờ kinh phí")[0] == "blocked"
    assert item(world, f"{P}/1").blocked_reason == "Chờ kinh phí"
    assert act(world, lc.unblock, f"{P}/1", "skhcn_focal", "2025-04-03 09:00")[0] == "not_started"
    act(world, lc.start, f"{P}/1", "skhcn_focal", "2025-04-04 09:00")
    act(world, lc.block, f"{P}/1", "skhcn_focal", "2025-04-05 09:00", reason="Chờ nhà thầu")
    with pytest.raises(UserError):
        act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-04-06 09:00", evidence="x")
    assert act(world, lc.unblock, f"{P}/1", "skhcn_focal", "2025-04-07 09:00")[0] == "in_progress"
    assert item(world, f"{P}/1").blocked_reason is None


def test_reject_sends_a_submission_back_with_a_reason(world):
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-06-20 15:00", evidence="Dự thảo")
    with pytest.raises(UserError):
        act(world, lc.reject, f"{P}/1", "secretariat", "2025-06-21 09:00", reason="")
    assert act(world, lc.reject, f"{P}/1", "secretariat", "2025-06-21 09:00", reason="Mới là dự thảo")[0] == "in_progress"
    w = item(world, f"{P}/1")
    assert w.submitted_at is None and w.started_at == at("2025-06-20 15:00")
    assert events(world, f"{P}/1", "status")[-1].note == "Mới là dự thảo"


def test_reopen_a_completed_item_clears_completion(world):
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-06-20 15:00", evidence="BC")
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-06-21 09:00")
    with pytest.raises(PermissionDenied):
        act(world, lc.reopen, f"{P}/1", "skhcn_focal", "2025-06-22 09:00", reason="x")
    assert act(world, lc.reopen, f"{P}/1", "secretariat", "2025-06-22 09:00", reason="Sai sản phẩm")[0] == "in_progress"
    w = item(world, f"{P}/1")
    assert (w.completed_at, w.completion, w.submitted_at) == (None, None, None)


def test_cancel_is_for_the_secretariat_and_reopen_restores_the_state_before(world):
    act(world, lc.start, f"{P}/1", "skhcn_focal", "2025-04-02 09:00")
    with pytest.raises(PermissionDenied, match="Thường trực"):
        act(world, lc.cancel, f"{P}/1", "skhcn_focal", "2025-04-03 09:00", reason="x")
    assert act(world, lc.cancel, f"{P}/1", "secretariat", "2025-04-03 09:00", reason="Điều chỉnh kế hoạch")[0] == "cancelled"
    with pytest.raises(UserError):
        act(world, lc.start, f"{P}/1", "secretariat", "2025-04-04 09:00")
    assert act(world, lc.reopen, f"{P}/1", "secretariat", "2025-04-04 09:00", reason="Khôi phục")[0] == "in_progress"


def test_submit_needs_evidence(world):
    with pytest.raises(UserError, match="bằng chứng"):
        act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", evidence=" ")
    with pytest.raises(UserError, match="Evidence"):
        act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", evidence="", lang="en")


def test_allowed_transitions_table_is_closed_over_statuses():
    for src, dst in ALLOWED_TRANSITIONS:
        assert src in STATUSES and dst in STATUSES and src != dst
    for action, table in TRANSITIONS.items():
        assert set(table) <= set(STATUSES), action


# --- permissions -------------------------------------------------------------------------------------------

# persona -> actions allowed on KH-TEST/1 (SKHCN's item; pct_kt oversees SKHCN)
ASSIGNEE = {"start", "submit", "block", "unblock", "note", "request_extension"}
EVERYTHING = ALL_ACTIONS
PERMISSIONS = {
    "secretariat": EVERYTHING,
    "chair": EVERYTHING,
    "pct_kt": {"note", "decide_extension"},
    "pct_vx": set(),
    "skhcn_focal": ASSIGNEE,
    "snv_focal": set(),
    "observer": set(),
}


@pytest.mark.parametrize("person", sorted(PERMISSIONS))
def test_permission_table(world, person):
    with transaction(world) as s:
        w = item_of(s, P, "1")
        a = actor(s, person)
        for action in sorted(EVERYTHING):
            if action in PERMISSIONS[person]:
                check_permission(s, a, w, action)
            else:
                with pytest.raises(PermissionDenied):
                    check_permission(s, a, w, action)


def test_focal_point_may_act_on_a_group_item_of_its_unit_group(world):
    assert act(world, lc.start, f"{P}/4", "skhcn_focal", "2025-04-02 09:00")[0] == "in_progress"
    with transaction(world) as s:
        assert [r.unit.code for r in s.execute(visible_items(s, actor(s, "snv_focal"))).scalars()
                if r.task.code == "4"] == ["CSBN"]


def test_vice_chair_assigned_to_the_task_decides_extensions_on_it(world):
    act(world, lc.request_extension, f"{P}/7", "snv_focal", "2025-06-01 09:00", until=date(2025, 8, 31), reason="Chờ số liệu")
    with pytest.raises(PermissionDenied):
        act(world, lc.approve_extension, f"{P}/7", "pct_vx", "2025-06-02 09:00")
    with pytest.raises(PermissionDenied):
        act(world, lc.start, f"{P}/7", "pct_kt", "2025-06-02 09:00")
    act(world, lc.approve_extension, f"{P}/7", "pct_kt", "2025-06-02 09:00")
    assert item(world, f"{P}/7").deadline == date(2025, 8, 31)


def test_focal_point_of_another_unit_is_refused_and_nothing_changes(world):
    with transaction(world) as s:
        before = (s.scalar(select(func.count()).select_from(Event)), item_of(s, P, "1").version)
    with pytest.raises(PermissionDenied, match="đơn vị khác"):
        act(world, lc.start, f"{P}/1", "snv_focal", "2025-04-02 09:00")
    with transaction(world) as s:
        assert (s.scalar(select(func.count()).select_from(Event)), item_of(s, P, "1").version) == before


def test_viewer_may_do_nothing(world):
    with pytest.raises(PermissionDenied, match="chỉ được xem"):
        act(world, lc.add_note, f"{P}/1", "observer", "2025-04-02 09:00", text="x")


def test_unknown_person_points_to_the_directory_command(world):
    with transaction(world) as s, pytest.raises(UserError, match="steer directory show"):
        load_actor(s, "nobody")


def test_visible_items_hides_other_units_items(world):
    with transaction(world) as s:
        seen = {(w.task.code, w.unit.code) for w in s.execute(visible_items(s, actor(s, "snv_focal"))).scalars()}
        assert seen == {("2", "SNV"), ("3", "SNV"), ("4", "CSBN"), ("6", "SNV"), ("7", "SNV")}
        assert len(s.execute(visible_items(s, actor(s, "observer"))).all()) == s.scalar(select(func.count()).select_from(WorkItem))


# --- extensions ---------------------------------------------------------------------------------------------


def test_extension_request_then_approval_moves_the_deadline_in_force_only(world):
    act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-06-16 10:00", until=date(2025, 9, 30), reason="Chờ dữ liệu")
    with transaction(world) as s:
        (req,) = s.execute(select(ExtensionRequest)).scalars().all()
        assert (req.status, req.until, req.previous_deadline, req.requested_by) == ("pending", date(2025, 9, 30), date(2025, 6, 30), "skhcn_focal")
    with pytest.raises(UserError, match="đang chờ"):
        act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-06-17 10:00", until=date(2025, 10, 30), reason="x")
    with pytest.raises(PermissionDenied):
        act(world, lc.approve_extension, f"{P}/1", "skhcn_focal", "2025-06-18 09:00")
    act(world, lc.approve_extension, f"{P}/1", "pct_kt", "2025-06-18 09:00", note="Đồng ý")
    w = item(world, f"{P}/1")
    assert (w.deadline, w.original_deadline) == (date(2025, 9, 30), date(2025, 6, 30))
    evs = events(world, f"{P}/1")
    assert [e.kind for e in evs] == ["extension_requested", "extension_approved"]
    assert (evs[1].deadline_before, evs[1].deadline_after, evs[1].actor) == (date(2025, 6, 30), date(2025, 9, 30), "pct_kt")
    with transaction(world) as s:
        req = s.execute(select(ExtensionRequest)).scalar_one()
        assert (req.status, req.decided_by, req.decision_note) == ("approved", "pct_kt", "Đồng ý")
    # completing before the extended deadline is on time
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-08-01 10:00", evidence="BC")
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-08-02 10:00")
    assert item(world, f"{P}/1").completion == "on_time"


def test_rejected_extension_keeps_the_deadline_and_needs_a_reason(world):
    act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-06-16 10:00", until=date(2025, 9, 30), reason="Chờ")
    with pytest.raises(UserError):
        act(world, lc.reject_extension, f"{P}/1", "chair", "2025-06-17 10:00", reason="")
    act(world, lc.reject_extension, f"{P}/1", "chair", "2025-06-17 10:00", reason="Hoàn thành trong tháng 6")
    assert item(world, f"{P}/1").deadline == date(2025, 6, 30)
    assert events(world, f"{P}/1")[-1].kind == "extension_rejected"
    with pytest.raises(UserError, match="không có đề nghị"):
        act(world, lc.approve_extension, f"{P}/1", "chair", "2025-06-18 10:00")
    # a new request is possible once the first was decided
    act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-06-18 10:00", until=date(2025, 7, 15), reason="Lần 2")


@pytest.mark.parametrize(("until", "match"), [
    (date(2025, 6, 16), "sau hôm nay"),
    (date(2025, 6, 1), "sau hôm nay"),
    (date(2025, 6, 30), "phải sau thời hạn hiện tại của phần việc KH-TEST/1 \\(30/06/2025\\)"),  # the deadline itself
    (date(2025, 6, 20), "phải sau thời hạn hiện tại"),  # after today, but earlier than the deadline (issue 17)
])
def test_extension_date_must_be_after_today_and_after_the_deadline(world, until, match):
    with pytest.raises(UserError, match=match):
        act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-06-16 10:00", until=until, reason="x")


def test_extension_needs_a_reason(world):
    with pytest.raises(UserError, match="lý do"):
        act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-06-16 10:00", until=date(2025, 9, 1), reason="")


# --- dependencies ---------------------------------------------------------------------------------------------


def test_start_waits_for_prerequisites_unless_the_secretariat_overrides(world):
    with pytest.raises(UserError, match=r"nhiệm vụ 1 hoàn thành") as exc:
        act(world, lc.start, f"{P}/2", "snv_focal", "2025-04-02 09:00")
    assert "--override" in str(exc.value)
    with pytest.raises(UserError, match="depends on task"):
        act(world, lc.submit, f"{P}/2", "snv_focal", "2025-04-02 09:00", evidence="x", lang="en")
    with pytest.raises(PermissionDenied):
        act(world, lc.start, f"{P}/2", "snv_focal", "2025-04-02 09:00", override_note="gấp")
    assert act(world, lc.start, f"{P}/2", "secretariat", "2025-04-02 09:00", override_note="Chỉ đạo của Trưởng ban")[0] == "in_progress"
    assert events(world, f"{P}/2", "status")[0].data == {"override": "Chỉ đạo của Trưởng ban", "blocking": ["1"]}


def test_prerequisite_completed_lets_the_dependent_task_start(world):
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-04-10 09:00", evidence="BC")
    with pytest.raises(UserError):  # submitted is not completed
        act(world, lc.start, f"{P}/2", "snv_focal", "2025-04-11 09:00")
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-04-12 09:00")
    assert act(world, lc.start, f"{P}/2", "snv_focal", "2025-04-13 09:00")[0] == "in_progress"
    assert events(world, f"{P}/2", "status")[0].data == {}


def test_cancelled_prerequisite_does_not_block(world):
    act(world, lc.cancel, f"{P}/1", "secretariat", "2025-04-10 09:00", reason="Bỏ")
    assert act(world, lc.start, f"{P}/2", "snv_focal", "2025-04-13 09:00")[0] == "in_progress"


# --- notes ---------------------------------------------------------------------------------------------------


def test_note_validation_and_where_notes_are_allowed(world):
    with pytest.raises(UserError, match="0 đến 100"):
        act(world, lc.add_note, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", text="x", percent=120)
    with pytest.raises(UserError, match="nội dung"):
        act(world, lc.add_note, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", text=" ")
    act(world, lc.submit, f"{P}/1", "skhcn_focal", "2025-04-02 09:00", evidence="BC")
    assert act(world, lc.add_note, f"{P}/1", "skhcn_focal", "2025-04-03 09:00", text="Bổ sung")[1] == 3
    act(world, lc.verify, f"{P}/1", "secretariat", "2025-04-04 09:00")
    with pytest.raises(UserError, match="Đã hoàn thành"):
        act(world, lc.add_note, f"{P}/1", "skhcn_focal", "2025-04-05 09:00", text="Thêm")
    # an ongoing task keeps taking notes after completion
    act(world, lc.submit, f"{P}/5", "skhcn_focal", "2025-04-02 09:00", evidence="BC")
    act(world, lc.verify, f"{P}/5", "secretariat", "2025-04-03 09:00")
    assert act(world, lc.add_note, f"{P}/5", "skhcn_focal", "2025-05-01 09:00", text="Tháng 4", evidence="BC 12")[0] == "completed"


def test_vice_chair_may_comment_on_items_they_oversee(world):
    assert act(world, lc.add_note, f"{P}/5", "pct_kt", "2025-04-05 09:00", text="Đề nghị đẩy nhanh")[1] == 2
    with pytest.raises(PermissionDenied):
        act(world, lc.add_note, f"{P}/2", "pct_kt", "2025-04-05 09:00", text="x")


# --- versions and conflicts ----------------------------------------------------------------------------------


def test_stale_expected_version_is_a_conflict_naming_who_and_when(world):
    act(world, lc.start, f"{P}/1", "skhcn_focal", "2025-04-02 09:00")
    with pytest.raises(Conflict) as exc:
        act(world, lc.add_note, f"{P}/1", "secretariat", "2025-04-02 10:00", text="x", expected_version=1)
    assert str(exc.value) == ("Phần việc KH-TEST/1 đã được Phan Đức Minh thay đổi lúc 02/04/2025 09:00; "
                              "hãy tải lại rồi thử lại.")
    with pytest.raises(Conflict, match="was changed by Phan Đức Minh at 02/04/2025 09:00; reload"):
        act(world, lc.add_note, f"{P}/1", "secretariat", "2025-04-02 10:00", text="x", expected_version=1, lang="en")
    assert act(world, lc.add_note, f"{P}/1", "secretariat", "2025-04-02 10:00", text="x", expected_version=2)[1] == 3


def test_compare_and_set_refuses_a_write_based_on_a_stale_read(world):
    with transaction(world) as s:
        w = item_of(s, P, "1")
        a = actor(s, "skhcn_focal")
        assert w.version == 1
        # someone else's write lands between our read and our write (same row, behind the ORM's back)
        s.execute(update(WorkItem).where(WorkItem.id == w.id).values(version=WorkItem.version + 1)
                  .execution_options(synchronize_session=False))
        with pytest.raises(Conflict, match="hãy tải lại"):
            lc.start(s, w, a, now=at("2025-04-02 09:00"))
        assert s.scalar(select(func.count()).select_from(Event).where(Event.work_item_id == w.id)) == 0


def test_naive_now_is_refused(world):
    from datetime import datetime

    with transaction(world) as s, pytest.raises(ValueError):
        lc.start(s, item_of(s, P, "1"), actor(s, "skhcn_focal"), now=datetime(2025, 4, 2, 9, 0))


# --- references -------------------------------------------------------------------------------------------------


def test_resolve_references(world):
    with transaction(world) as s:
        one = item_of(s, P, "1")
        assert resolve_item(s, f"#{one.id}").id == one.id
        assert resolve_item(s, f"{P}/1").id == one.id
        for ref in (f"{P}/3@SNV", f"{P}/3@snv", f"{P}/3@Sở Nội vụ", f"{P}/3@ sở nội  vụ"):
            assert resolve_item(s, ref).unit.code == "SNV", ref
        assert resolve_item(s, f"{P}/3@Sở KH&CN").unit.code == "SKHCN"  # alias
        assert resolve_item(s, f"{P}/6").occurrence == "2025-04"  # earliest open
        assert resolve_item(s, f"{P}/6#2025-06").occurrence == "2025-06"
        assert resolve_item(s, f"{P}/6@SNV#2025-05").occurrence == "2025-05"
        assert resolve_item(s, f"{P}/3", actor=actor(s, "stc_focal")).unit.code == "STC"
        for w in s.execute(select(WorkItem)).scalars():
            assert resolve_item(s, item_ref(w, s)).id == w.id
        assert item_ref(resolve_item(s, f"{P}/3@STC")) == "KH-TEST/3@STC"
        assert item_ref(resolve_item(s, f"{P}/6#2025-05")) == "KH-TEST/6#2025-05"


def test_resolve_skips_completed_occurrences(world):
    act(world, lc.submit, f"{P}/6#2025-04", "snv_focal", "2025-04-18 09:00", evidence="BC T4")
    act(world, lc.verify, f"{P}/6#2025-04", "secretariat", "2025-04-19 09:00")
    assert item(world, f"{P}/6").occurrence == "2025-05"


@pytest.mark.parametrize(("ref", "match"), [
    (f"{P}/3", "có 3 đơn vị chủ trì: @SKHCN, @SNV, @STC"),
    (f"{P}/3@SXD", "không chủ trì"),
    (f"{P}/99", "không có nhiệm vụ số «99»"),
    ("KH-NONE/1", "Các kế hoạch hiện có: KH-TEST"),
    (f"{P}/6#2024-01", "không có kỳ «2024-01»"),
    ("#999999", "Không có phần việc"),
    ("12", "KẾ_HOẠCH/NHIỆM_VỤ"),
    ("", "Thiếu mã"),
])
def test_bad_references_are_explained(world, ref, match):
    with transaction(world) as s, pytest.raises(UserError, match=match):
        resolve_item(s, ref)


def test_plan_codes_with_a_slash_resolve(engine):
    with transaction(engine) as s:
        make_directory(s)
        make_plan(s, "57/KH-UBND", tasks=[{"code": "2", "lead": ["SNV"], "deadline": date(2025, 6, 30)}])
        w = resolve_item(s, "57/KH-UBND/2")
        assert item_ref(w) == "57/KH-UBND/2" and s.get(Plan, w.task.plan_id).code == "57/KH-UBND"


def test_audit_chain_stays_intact_through_the_lifecycle(world):
    act(world, lc.start, f"{P}/1", "skhcn_focal", "2025-04-02 09:00")
    act(world, lc.request_extension, f"{P}/1", "skhcn_focal", "2025-04-03 09:00", until=date(2025, 7, 31), reason="x")
    act(world, lc.approve_extension, f"{P}/1", "secretariat", "2025-04-04 09:00")
    with transaction(world) as s:
        rep = verify_chain(s)
        assert rep.ok and rep.count == 4, rep.problems


# --- history replay ---------------------------------------------------------------------------------------------

HISTORY = """\
plan: KH-TEST
steps:
  - {at: "2025-04-02 09:00", as: skhcn_focal, action: start, item: "1"}
  - {at: "2025-05-28 15:30", as: skhcn_focal, action: note, item: "1", note: "Đã có dự thảo", percent: 70}
  - {at: "2025-06-16 10:00", as: skhcn_focal, action: request_extension, item: "1", until: "30/09/2025", reason: "Chờ"}
  - {at: "2025-06-18 09:00", as: pct_kt, action: approve_extension, item: "1"}
  - {at: "2025-06-20 09:00", as: skhcn_focal, action: submit, item: "1", evidence: "Quyết định số 1234/QĐ-UBND"}
  - {at: "2025-06-21 09:00", as: secretariat, action: verify, item: "1"}
  - {at: "2025-06-22 09:00", as: snv_focal, action: start, item: "3@SNV"}
  - {at: "2025-06-23 09:00", as: snv_focal, action: block, item: "3@SNV", reason: "Chờ kinh phí"}
  - {at: "2025-06-24 09:00", as: snv_focal, action: unblock, item: "3@SNV"}
  - {at: "2025-06-25 09:00", as: snv_focal, action: submit, item: "6#2025-05", evidence: "BC"}
  - {at: "2025-06-26 09:00", as: secretariat, action: reject, item: "6#2025-05", reason: "Thiếu số liệu"}
"""


def test_history_replays_each_step_at_its_time(world, tmp_path: Path):
    f = tmp_path / "h.yaml"
    f.write_text(HISTORY, encoding="utf-8")
    r = replay_history(world, f)
    assert (r.steps, r.errors) == (11, [])
    assert r.by_action == {"start": 2, "note": 1, "request_extension": 1, "approve_extension": 1, "submit": 2,
                           "verify": 1, "block": 1, "unblock": 1, "reject": 1}
    w = item(world, f"{P}/1")
    assert (w.status, w.completed_at, w.deadline, w.completion) == ("completed", at("2025-06-21 09:00"), date(2025, 9, 30), "on_time")
    assert item(world, f"{P}/6#2025-05").status == "in_progress"


def test_history_stops_at_the_first_bad_step_naming_it(world, tmp_path: Path):
    f = tmp_path / "h.yaml"
    f.write_text(HISTORY + '  - {at: "2025-06-27 09:00", as: snv_focal, action: start, item: "1"}\n'
                 '  - {at: "2025-06-28 09:00", as: snv_focal, action: fly, item: "2"}\n', encoding="utf-8")
    with pytest.raises(UserError) as exc:
        replay_history(world, f)
    msg = str(exc.value)
    assert "bước 12" in msg and "dòng 14" in msg and "action: start" in msg and "đơn vị khác" in msg


def test_history_lenient_mode_collects_every_bad_step(world, tmp_path: Path):
    f = tmp_path / "h.yaml"
    f.write_text("plan: KH-TEST\nsteps:\n"
                 '  - {at: "2025-04-01 09:00", as: snv_focal, action: start, item: "1"}\n'
                 '  - {at: "2025-04-02 09:00", as: skhcn_focal, action: start, item: "1"}\n'
                 '  - {at: "2025-04-03 09:00", as: snv_focal, action: fly, item: "2"}\n', encoding="utf-8")
    r = replay_history(world, f, strict=False)
    assert r.steps == 1 and r.by_action == {"start": 1} and len(r.errors) == 2
    assert "bước 1 " in r.errors[0] and "bước 3 " in r.errors[1] and "fly" in r.errors[1]


def test_history_step_without_time_uses_now_fn(world, tmp_path: Path):
    f = tmp_path / "h.yaml"
    f.write_text("plan: KH-TEST\nsteps:\n  - {as: skhcn_focal, action: start, item: '1'}\n", encoding="utf-8")
    assert replay_history(world, f, now_fn=lambda: T0).steps == 1
    assert item(world, f"{P}/1").started_at == T0


@pytest.mark.parametrize(("text", "match"), [
    ("plan: KH-TEST\nsteps: 3\n", "steps"),
    ("plan: KH-NONE\nsteps: []\n", "chưa nạp kế hoạch"),
    ("plan: KH-TEST\nsteps:\n  - {as: x, action: start, item: '1', colour: red}\n", "colour"),
    ("plan: KH-TEST\nsteps:\n  - {as: skhcn_focal, action: submit, item: '1'}\n", "thiếu evidence"),
    ("plan: [\n", "YAML"),
])
def test_bad_history_files_are_explained(world, tmp_path: Path, text, match):
    f = tmp_path / "h.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=match):
        replay_history(world, f)


def test_the_sample_history_replays_cleanly_on_the_sample_plan(engine):
    import yaml

    from engine.directory_store import parse_directory_file, store_directory
    from engine.planfile.loader import load_plan_file
    from tests.factories import ensure_chain_head

    plans = Path(__file__).resolve().parent.parent / "plans"
    now = at("2025-03-16 08:00")
    with transaction(engine) as s:
        ensure_chain_head(s)
        store_directory(s, parse_directory_file(plans / "sample-directory.yaml"), now=now)
    load_plan_file(engine, plans / "sample-plan.yaml", now=now)
    r = replay_history(engine, plans / "sample-history.yaml")  # strict: any failing step raises
    n_steps = len(yaml.safe_load((plans / "sample-history.yaml").read_text(encoding="utf-8"))["steps"])
    assert (r.steps, r.errors) == (n_steps, [])
    with transaction(engine) as s:
        assert verify_chain(s).ok
        granted = resolve_item(s, "KH-57-LS/36")
        assert (granted.deadline, granted.original_deadline) == (date(2025, 9, 30), date(2025, 6, 30))
        refused = resolve_item(s, "KH-57-LS/47@XNS")
        assert refused.deadline == refused.original_deadline
        assert s.execute(select(ExtensionRequest.status).where(ExtensionRequest.work_item_id == refused.id)).scalar_one() == "rejected"


@pytest.mark.parametrize("number", [2**31, 2**63, 10**20])
def test_an_item_or_request_number_beyond_the_id_column_is_not_found_on_either_backend(engine, number):
    """Ids are 64-bit on SQLite but 32-bit ``integer`` on PostgreSQL: a number beyond the
    column is "not found", never a driver overflow (found by fuzzing on SQLite, 2**31 on PG)."""
    seed(engine)
    with transaction(engine) as s:
        with pytest.raises(UserError, match=f"#{number}"):
            resolve_item(s, f"#{number}")
        assert load_item(s, number) is None
        w = item_of(s, "KH-TEST", "1")
        lc.request_extension(s, w, actor(s, "skhcn_focal"), now=T0, until=date(2025, 12, 31), reason="Chờ kinh phí")
        with pytest.raises(UserError, match="đề nghị gia hạn"):
            lc.decide_extension(s, w, actor(s, "secretariat"), now=T0, approve=True, request_id=number)

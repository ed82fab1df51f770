"""engine.commands.perform_many: a batch of actions through the one action path with the
writes done in bulk gives the same database state and the same events (ids, hashes) as
the same actions performed one by one, and a conflict anywhere in the batch writes
nothing — on SQLite and (with STEER_TEST_POSTGRES_URL) PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text, update

from engine import commands as cmds
from engine.audit import verify_chain
from engine.db import make_engine, transaction
from engine.errors import Conflict
from engine.models import ChainHead, Event, ExtensionRequest, WorkItem
from engine.states import Status
from tests.factories import actor, at, item_of, seed_url

P = "KH-TEST"
TASKS = [
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30)},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 9, 30), "depends_on": ["1"]},
    {"code": "3", "lead": ["SKHCN", "SNV", "STC"], "deadline": date(2025, 12, 31)},
    {"code": "4", "lead": ["CSBN"], "deadline": date(2025, 6, 30)},
    {"code": "5", "lead": ["SKHCN"], "deadline": None, "deadline_kind": "ongoing"},
    {"code": "7", "lead": ["SNV"], "deadline": date(2025, 6, 30), "vice_chair": "pct_kt"},
]
NOW = "2025-05-20 10:00"


@pytest.fixture
def world(db_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(), tasks=TASKS)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _steps(s: Any) -> list[cmds.Step]:
    """A mixed batch: several actions on one item, held-back and at-once actions interleaved
    (unblock reads the log, a task with a prerequisite completed earlier in the batch, an
    extension request), an import-style source on some steps."""
    i1, i2, i4, i5, i7 = (item_of(s, P, c) for c in ("1", "2", "4", "5", "7"))
    i3a, i3b, i3c = (item_of(s, P, "3", u) for u in ("SKHCN", "SNV", "STC"))
    src = {"file": "so-lieu.xlsx", "row": 7}
    return [
        cmds.Step(i1, cmds.Start(version=i1.version, note="Bắt đầu"), src),
        cmds.Step(i1, cmds.Note(text="Đạt một nửa", percent=50)),
        cmds.Step(i3a, cmds.Start()),
        cmds.Step(i3b, cmds.Submit(evidence="Công văn số 12/UBND-KT ngày 15/5/2025", note="Xong")),
        cmds.Step(i1, cmds.Submit(evidence="Quyết định số 1234/QĐ-UBND ngày 15/5/2025")),
        cmds.Step(i3a, cmds.Block(reason="Chờ kinh phí")),
        cmds.Step(i1, cmds.Verify(note="Đạt")),
        cmds.Step(i2, cmds.Start()),  # its prerequisite (task 1) was completed just above
        cmds.Step(i3a, cmds.Unblock(note="Đã có kinh phí")),
        cmds.Step(i3a, cmds.Note(text="Tiếp tục", percent=70), {**src, "row": 9}),
        cmds.Step(i4, cmds.Cancel(reason="Không còn phù hợp")),
        cmds.Step(i7, cmds.RequestExtension(until=date(2025, 8, 31), reason="Chờ hướng dẫn")),
        cmds.Step(i5, cmds.Note(text="Thường xuyên")),
        cmds.Step(i3c, cmds.Submit(evidence="Báo cáo số 5/BC-STC")),
        cmds.Step(i3c, cmds.Reject(reason="Thiếu phụ lục")),
        cmds.Step(i3b, cmds.Verify()),
    ]


def _state(s: Any) -> dict[str, Any]:
    def rows(table: Any, order: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in s.execute(select(table).order_by(order)).mappings()]

    return {"items": rows(WorkItem.__table__, WorkItem.id),
            "extensions": rows(ExtensionRequest.__table__, ExtensionRequest.id),
            "events": rows(Event.__table__, Event.id),  # (the ORM read chains waiting events first)
            "head": rows(ChainHead.__table__, ChainHead.id)}


class _Undo(Exception):
    pass


def _run(eng: Any, batch: bool) -> dict[str, Any]:
    """The mixed batch, performed in bulk or one by one; the state as written, then rolled back."""
    state: dict[str, Any] = {}
    with pytest.raises(_Undo), transaction(eng) as s:
        if s.get_bind().dialect.name == "postgresql":  # ids of extension requests as in the other run
            s.execute(text("SELECT setval(pg_get_serial_sequence('extension_request', 'id'), "
                           "coalesce((SELECT max(id) FROM extension_request), 0) + 1, false)"))
        a, steps = actor(s, "secretariat"), _steps(s)
        if batch:
            outs = cmds.perform_many(s, a, steps, now=at(NOW))
        else:
            outs = []
            for st in steps:
                if st.source is None:
                    s.info.pop(cmds.lc.EVENT_SOURCE, None)
                else:
                    s.info[cmds.lc.EVENT_SOURCE] = st.source
                outs.append(cmds.perform(s, a, st.item, st.command, now=at(NOW)))
            s.info.pop(cmds.lc.EVENT_SOURCE, None)
        state["messages"] = [o.message() for o in outs]
        s.flush()
        state.update(_state(s))
        raise _Undo
    return state


def test_perform_many_equals_one_by_one(world):  # type: ignore[no-untyped-def]
    with transaction(world) as s:
        before = len(_state(s)["events"])
    one_by_one = _run(world, batch=False)
    bulk = _run(world, batch=True)
    assert len(bulk["events"]) == before + 16  # one event per action
    assert bulk["messages"] == one_by_one["messages"]
    for key in ("items", "extensions", "events", "head"):
        assert bulk[key] == one_by_one[key], key  # ids, versions, hashes and chain head alike
    items = {r["id"]: r for r in bulk["items"]}
    with transaction(world) as s:
        assert items[item_of(s, P, "1").id]["status"] == Status.COMPLETED
        assert items[item_of(s, P, "2").id]["status"] == Status.IN_PROGRESS
        assert items[item_of(s, P, "3", "SKHCN").id]["status"] == Status.IN_PROGRESS
    # and written for real, the chain verifies
    with transaction(world) as s:
        cmds.perform_many(s, actor(s, "secretariat"), _steps(s), now=at(NOW))
    with transaction(world) as s:
        report = verify_chain(s)
        assert report.ok, report.problems
        assert report.count == before + 16


def _nothing_written(world, attempt) -> None:  # type: ignore[no-untyped-def]
    with transaction(world) as s:
        before = _state(s)
    with transaction(world) as s:
        with pytest.raises(Conflict):
            attempt(s)
        # the caller carries on and commits: the batch itself left nothing behind
    with transaction(world) as s:
        assert _state(s) == before
        assert verify_chain(s).ok


def test_a_stale_version_in_the_middle_writes_nothing(world):  # type: ignore[no-untyped-def]
    def attempt(s: Any) -> None:
        steps = _steps(s)
        i4 = steps[10].item
        steps[10] = cmds.Step(i4, cmds.Cancel(version=i4.version - 1 if i4.version > 1 else 99, reason="x"))
        cmds.perform_many(s, actor(s, "secretariat"), steps, now=at(NOW))

    _nothing_written(world, attempt)


def test_a_row_changed_behind_the_batch_writes_nothing(world):  # type: ignore[no-untyped-def]
    def attempt(s: Any) -> None:
        i1, i4, i5 = (item_of(s, P, c) for c in ("1", "4", "5"))
        steps = [cmds.Step(i1, cmds.Start(version=i1.version)), cmds.Step(i4, cmds.Start(version=i4.version)),
                 cmds.Step(i5, cmds.Note(text="a", version=i5.version))]
        # another writer moved item 4 after it was read (a Core write: the loaded object does not see it)
        s.execute(update(WorkItem).where(WorkItem.id == i4.id).values(version=WorkItem.version + 1)
                  .execution_options(synchronize_session=False))
        cmds.perform_many(s, actor(s, "secretariat"), steps, now=at(NOW))

    with transaction(world) as s:
        before = _state(s)
    with transaction(world) as s:
        with pytest.raises(Conflict) as exc:
            attempt(s)
        assert "KH-TEST/4" in str(exc.value)
        s.rollback()
    with transaction(world) as s:
        assert _state(s) == before

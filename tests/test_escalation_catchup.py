"""Escalation decided from state (issue 17), table-driven: a plan loaded with old deadlines,
runs that skip days (server down), an extension approved after the chair level, an
acknowledgement then the next level, a completed item. Each scenario runs the daily pass
(detect, then dispatch with a recording notifier) on the given days at 08:00 local time, and
checks who was sent what — each (recipient, item, level, deadline) exactly once, at most one
message per recipient per run, nothing stale (a reminder for an item already overdue).

Items (tests.factories.seed): 1 → SKHCN, vice-chair pct_kt; 2 → SNV, nobody oversees it.
Both due Fri 30/05/2025. Working days after it: 02/06 = 1 wd overdue, 06/06 = 5, 13/06 = 10.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from engine import escalation as esc
from engine import lifecycle as lc
from engine.clock import local_datetime
from engine.db import transaction
from engine.models import OutboxMessage, Person, Unit
from engine.outbox import OutboxStatus, TargetOutcome, fingerprint
from engine.workdays import default_calendar
from notifications.delivery import dispatch
from tests.factories import actor, at, item_of, seed

CAL = default_calendar()
TASKS = (
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 5, 30), "vice_chair": "pct_kt"},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 5, 30)},
)
S1, S2, C, VC = "person:secretariat", "person:secretariat2", "person:chair", "person:pct_kt"
U1, U2 = "unit:SKHCN", "unit:SNV"


class Recorder:
    """A notifier that accepts everything and remembers (recipient, subject) per message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def send(self, targets, message):  # type: ignore[no-untyped-def]
        self.messages.append((message.recipient, message.subject))
        return [TargetOutcome(fingerprint(t), "json://…", "delivered") for t in targets]


def _give_everyone_an_address(engine) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        s.execute(update(Person).values(notify=["json://127.0.0.1:9/p"]))
        s.execute(update(Unit).values(notify=["json://127.0.0.1:9/u"]))


def _working_days(first: str, last: str, skip: Sequence[str] = ()) -> list[date]:
    d, end, out = date.fromisoformat(first), date.fromisoformat(last), []
    while d <= end:
        if CAL.is_working_day(d) and d.isoformat() not in skip:
            out.append(d)
        d += timedelta(days=1)
    return out


def _run(engine, days: list[date], actions: dict[str, list]) -> tuple[set, Recorder]:  # type: ignore[no-untyped-def]
    """The daily pass on ``days`` (08:00); ``actions[day]``: callables (session) run at 10:00
    that day. Returns {(day, level, recipient, item code, deadline)} of the rows sent."""
    rec = Recorder()
    for day in days:
        run_at = local_datetime(day, time(8, 0))
        with transaction(engine) as s:
            esc.detect(s, now=run_at)
        before = len(rec.messages)
        dispatch(engine, now=run_at, notifier=rec)
        per_run = Counter(r for r, _ in rec.messages[before:])
        assert all(n == 1 for n in per_run.values()), f"two messages to one recipient on {day}: {per_run}"
        for act in actions.get(day.isoformat(), []):
            with transaction(engine) as s:
                act(s, at(f"{day.isoformat()} 10:00"))
    with transaction(engine) as s:
        from tests.test_escalation import _code

        rows = s.execute(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENT)).scalars().all()
        sent = [(r.sent_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat(),
                 r.level, r.recipient, _code(s, r.work_item_id), r.deadline.isoformat() if r.deadline else None)
                for r in rows]
    assert len(sent) == len(set(sent)), "a notification was sent twice"
    return set(sent), rec


def _weekly(day: str, item: str, recipients: Sequence[str], deadline: str = "2025-05-30") -> list[tuple]:
    return [(day, "weekly", r, item, deadline) for r in recipients]


def _ack(person: str, code: str):  # type: ignore[no-untyped-def]
    return lambda s, now: esc.acknowledge(s, item_of(s, "KH-TEST", code), actor(s, person), now=now)


def _extend(code: str, until: date, focal: str, approver: str):  # type: ignore[no-untyped-def]
    def act(s, now):  # type: ignore[no-untyped-def]
        item = item_of(s, "KH-TEST", code)
        lc.request_extension(s, item, actor(s, focal), now=now, until=until, reason="Chờ số liệu")
        lc.approve_extension(s, item, actor(s, approver), now=now + timedelta(minutes=5))
    return act


def _complete(code: str, focal: str):  # type: ignore[no-untyped-def]
    def act(s, now):  # type: ignore[no-untyped-def]
        item = item_of(s, "KH-TEST", code)
        lc.start(s, item, actor(s, focal), now=now)
        lc.submit(s, item, actor(s, focal), now=now + timedelta(minutes=1), evidence="Văn bản số 12/BC")
        lc.verify(s, item, actor(s, "secretariat"), now=now + timedelta(minutes=2))
    return act


D = "2025-05-30"
SCENARIOS = {
    # loaded on 16/06 with deadlines 11 wd past: the chair level (the highest reached), each
    # lead unit told once that its item is overdue, the weekly digest (the week began with
    # the items ≥ 10 wd late) to the lead unit, the vice-chair in charge and the secretariat
    "late_loaded_plan": (
        ["2025-06-16", "2025-06-17", "2025-06-23"], {},
        {("2025-06-16", "chair", C, "1", D), ("2025-06-16", "chair", C, "2", D),
         ("2025-06-16", "overdue", U1, "1", D), ("2025-06-16", "overdue", U2, "2", D),
         *_weekly("2025-06-16", "1", (U1, VC, S1, S2)), *_weekly("2025-06-16", "2", (U2, S1, S2)),
         *_weekly("2025-06-23", "1", (U1, VC, S1, S2)), *_weekly("2025-06-23", "2", (U2, S1, S2))}),
    # server down 29/05, 30/05 and 02/06 (remind_1's whole window and the first overdue day),
    # then 11–13/06 (the chair's day): remind_1 is not sent late (no longer true), the
    # overdue level comes on 03/06, the chair's on 16/06 — nothing the policy calls for lost
    "skipped_days": (
        _working_days("2025-05-20", "2025-06-24", skip=("2025-05-29", "2025-05-30", "2025-06-02",
                                                        "2025-06-11", "2025-06-12", "2025-06-13")), {},
        {("2025-05-21", "remind_7", U1, "1", D), ("2025-05-21", "remind_7", U2, "2", D),
         ("2025-06-03", "overdue", U1, "1", D), ("2025-06-03", "overdue", S1, "1", D), ("2025-06-03", "overdue", S2, "1", D),
         ("2025-06-03", "overdue", U2, "2", D), ("2025-06-03", "overdue", S1, "2", D), ("2025-06-03", "overdue", S2, "2", D),
         ("2025-06-06", "vice_chair", VC, "1", D),
         ("2025-06-16", "chair", C, "1", D), ("2025-06-16", "chair", C, "2", D),
         *_weekly("2025-06-16", "1", (U1, VC, S1, S2)), *_weekly("2025-06-16", "2", (U2, S1, S2)),
         *_weekly("2025-06-23", "1", (U1, VC, S1, S2)), *_weekly("2025-06-23", "2", (U2, S1, S2))}),
    # item 1 extended on 16/06 (after the chair level) to Mon 30/06: the ladder starts again
    # for the new deadline; item 2 left alone is not shown (item 1 only is checked below)
    "extension_after_chair": (
        _working_days("2025-06-13", "2025-07-02"), {"2025-06-16": [_extend("1", date(2025, 6, 30), "skhcn_focal", "pct_kt")]},
        {("2025-06-13", "chair", C, "1", D), ("2025-06-13", "overdue", U1, "1", D),
         *_weekly("2025-06-16", "1", (U1, VC, S1, S2)),   # sent at 08:00, before the extension
         ("2025-06-19", "remind_7", U1, "1", "2025-06-30"), ("2025-06-27", "remind_1", U1, "1", "2025-06-30"),
         ("2025-07-01", "overdue", U1, "1", "2025-06-30"), ("2025-07-01", "overdue", S1, "1", "2025-06-30"),
         ("2025-07-01", "overdue", S2, "1", "2025-06-30")}),
    # pct_kt acknowledges item 1 at the vice-chair level on 06/06: the chair level still comes
    # (the next level), the weekly repeats skip pct_kt only
    "ack_then_next_level": (
        _working_days("2025-06-02", "2025-06-17"), {"2025-06-06": [_ack("pct_kt", "1")]},
        {("2025-06-02", "overdue", U1, "1", D), ("2025-06-02", "overdue", S1, "1", D), ("2025-06-02", "overdue", S2, "1", D),
         ("2025-06-06", "vice_chair", VC, "1", D), ("2025-06-13", "chair", C, "1", D),
         *_weekly("2025-06-16", "1", (U1, S1, S2))}),
    # item 1 done on 04/06: nothing after the overdue level
    "completed_item": (
        _working_days("2025-06-02", "2025-06-24"), {"2025-06-04": [_complete("1", "skhcn_focal")]},
        {("2025-06-02", "overdue", U1, "1", D), ("2025-06-02", "overdue", S1, "1", D), ("2025-06-02", "overdue", S2, "1", D)}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_who_gets_what_exactly_once(engine, name):
    days, actions, expected = SCENARIOS[name]
    seed(engine, tasks=TASKS)
    _give_everyone_an_address(engine)
    got, _ = _run(engine, [d if isinstance(d, date) else date.fromisoformat(d) for d in days], actions)
    if name in ("extension_after_chair", "ack_then_next_level", "completed_item"):
        got = {g for g in got if g[3] == "1"}
    assert sorted(got) == sorted(expected)


def test_a_full_rescan_after_skipped_days_finds_nothing_the_incremental_runs_missed(engine):
    seed(engine, tasks=TASKS)
    for d in _working_days("2025-05-20", "2025-06-24", skip=("2025-06-10", "2025-06-11", "2025-06-12")):
        with transaction(engine) as s:
            esc.detect(s, now=local_datetime(d, time(8, 0)))
    with transaction(engine) as s:
        assert esc.detect(s, now=at("2025-06-24 09:00"), incremental=False).inserted == 0


def test_a_reminder_found_in_quiet_hours_is_not_sent_once_the_deadline_has_passed(engine):
    # Fri 30/05 22:00 (quiet): remind_1 queued for Mon 02/06 07:00; by then the item is overdue
    seed(engine, tasks=TASKS[:1])
    _give_everyone_an_address(engine)
    with transaction(engine) as s:
        assert esc.detect(s, now=at("2025-05-30 22:00")).by_level["remind_1"] == 1
    rec = Recorder()
    dispatch(engine, now=at("2025-06-02 08:00"), notifier=rec)
    with transaction(engine) as s:
        st = dict(s.execute(select(OutboxMessage.level, OutboxMessage.status)).all())
    assert st == {"remind_1": OutboxStatus.OBSOLETE} and rec.messages == []
    with transaction(engine) as s:
        esc.detect(s, now=at("2025-06-02 08:00"))
    dispatch(engine, now=at("2025-06-02 08:00"), notifier=rec)
    assert sorted(r for r, _ in rec.messages) == [S1, S2, U1]  # the overdue level instead

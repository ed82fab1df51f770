"""Walk a clock through 60 days of the sample plan and check every reminder and escalation.

The sample province (plans/sample-directory.yaml, the 80-task plans/sample-plan.yaml) is
loaded as on 16/03/2025; its scripted history (plans/sample-history.yaml) is replayed as
the days go by, with four extra steps (two acknowledgements, an extension requested and
approved). From 01/05/2025 to 29/06/2025, on each working day at 08:00 local time, the
daily run records timeliness flips and enqueues what the default policy
(plans/escalation-policy.yaml) calls for.

The expectations below were derived by hand from the policy and the working-day calendar
(weekends; holidays 07/04 Giỗ Tổ, 30/04, 01/05 and 02/05/2025, with Saturday 26/04 worked in
exchange): reminders 7 and 1 working days (wd) before the deadline, unit + secretariat on
the first overdue day, the vice-chair at 5 wd overdue, the chair at 10, then a weekly
digest in every ISO week that begins with the item ≥ 10 wd overdue.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import shutil

import pytest
import yaml
from sqlalchemy import select

from engine import db as dbmod
from engine import escalation, tracking
from engine.clock import local_datetime
from engine.db import transaction
from engine.directory_store import parse_directory_file, store_directory
from engine.history import parse_local_time, replay_history
from engine.actors import load_actor
from engine.refs import item_ref, resolve_item
from engine.models import Event, OutboxMessage
from engine.planfile.loader import load_plan_file
from engine.workdays import default_calendar
from tests.conftest import BACKENDS, _truncate_pg
from tests.factories import ensure_chain_head

PLANS = Path(__file__).resolve().parent.parent / "plans"
TZ = "Asia/Ho_Chi_Minh"
PLAN = "KH-57-LS"
START, END = date(2025, 5, 1), date(2025, 6, 29)

# Steps added to the sample history for this walk (history format).
EXTRA_STEPS = [
    {"at": "2025-05-27 09:00", "as": "cat_focal", "action": "request_extension", "item": "53#2025-05",
     "until": "2025-06-10", "reason": "Chờ số liệu đối soát của các huyện"},
    {"at": "2025-05-28 10:00", "as": "pct_nc", "action": "approve_extension", "item": "53#2025-05"},
]
# Acknowledgements: (local time, item, person).
ACKS = [("2025-05-22 10:00", "42", "snv_focal"), ("2025-06-10 10:00", "42", "pct_nc")]

S, C, U = "person:secretariat", "person:chair", "unit:"
# The weekly digest goes to the lead unit, the vice-chair and the secretariat (issue 17; the
# chair only when the policy lists it).
WEEKLY_TT = (U + "XDS", "person:pct_tt", S)  # 7@XDS: the commune Đông Sơn, vice-chair pct_tt
WEEKLY_NC = (U + "CAT", "person:pct_nc", S)


def _weekly(ref: str, mondays: list[str], recipients: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    return [(d, ref, "weekly", r) for d in mondays for r in recipients]


# (date of the run, item, level, recipient): every row expected for these items, no more.
EXPECTED: dict[str, list[tuple[str, str, str, str]]] = {
    # never started, due Sat 31/05: the full ladder. snv_focal acknowledges on 22/05 at the
    # remind_7 level (remind_1 and overdue still come: higher levels); pct_nc acknowledges on
    # 10/06 at the vice_chair level, so the weekly digests skip pct_nc and SNV (whose focal
    # point acknowledged: an acknowledgement stops the weekly repeats for the deadline).
    "KH-57-LS/42": [
        ("2025-05-21", "KH-57-LS/42", "remind_7", U + "SNV"),     # 22,23,26,27,28,29,30 = 7 wd left
        ("2025-05-29", "KH-57-LS/42", "remind_1", U + "SNV"),     # only 30/05 left
        ("2025-06-02", "KH-57-LS/42", "overdue", U + "SNV"),      # first run after the deadline
        ("2025-06-02", "KH-57-LS/42", "overdue", S),
        ("2025-06-06", "KH-57-LS/42", "vice_chair", "person:pct_nc"),  # 2..6/06 = 5 wd overdue
        ("2025-06-13", "KH-57-LS/42", "chair", C),                # + 9..13/06 = 10 wd
        *_weekly("KH-57-LS/42", ["2025-06-16", "2025-06-23"], (S,)),  # weeks that began ≥ 10 wd late
    ],
    # done before its deadline (31/05): two reminders, never overdue
    "KH-57-LS/18": [
        ("2025-05-21", "KH-57-LS/18", "remind_7", U + "VP_UBND"),
        ("2025-05-29", "KH-57-LS/18", "remind_1", U + "VP_UBND"),  # submitted at 09:00, after the run
    ],
    # submitted 28/05 15:00 → no remind_1 (waiting for the secretariat), which is reminded
    # 2 wd later (30/05 08:00, verified at 08:30); never overdue
    "KH-57-LS/38": [
        ("2025-05-21", "KH-57-LS/38", "remind_7", U + "SGDDT"),
        ("2025-05-30", "KH-57-LS/38", "verification_pending", S),
    ],
    # June report due Sun 15/06, verified 13/06: two reminders only
    "KH-57-LS/17": [
        ("2025-06-04", "KH-57-LS/17", "remind_7", U + "SNV"),
        ("2025-06-12", "KH-57-LS/17", "remind_1", U + "SNV"),
    ],
    # May report (due 20/05) goes overdue, then the deadline is extended to 10/06 on 28/05:
    # the levels start again for the new deadline
    "KH-57-LS/53#2025-05": [
        ("2025-05-09", "KH-57-LS/53#2025-05", "remind_7", U + "CAT"),
        ("2025-05-19", "KH-57-LS/53#2025-05", "remind_1", U + "CAT"),
        ("2025-05-21", "KH-57-LS/53#2025-05", "overdue", U + "CAT"),
        ("2025-05-21", "KH-57-LS/53#2025-05", "overdue", S),
        ("2025-05-27", "KH-57-LS/53#2025-05", "vice_chair", "person:pct_nc"),
        ("2025-05-30", "KH-57-LS/53#2025-05", "remind_7", U + "CAT"),   # new deadline 10/06
        ("2025-06-09", "KH-57-LS/53#2025-05", "remind_1", U + "CAT"),
        ("2025-06-11", "KH-57-LS/53#2025-05", "overdue", U + "CAT"),
        ("2025-06-11", "KH-57-LS/53#2025-05", "overdue", S),
        ("2025-06-17", "KH-57-LS/53#2025-05", "vice_chair", "person:pct_nc"),
        ("2025-06-24", "KH-57-LS/53#2025-05", "chair", C),
    ],
    # April report (due Sun 20/04): 9 wd overdue on 05/05 (21-25/04, Sat 26/04 worked, 28, 29/04,
    # 05/05; 30/04-02/05 are holidays) → the vice-chair (the highest level reached) and the lead
    # unit told once that its item is overdue (its own level was skipped: the walk starts late),
    # the chair the next day, then weekly
    "KH-57-LS/53#2025-04": [
        ("2025-05-05", "KH-57-LS/53#2025-04", "vice_chair", "person:pct_nc"),
        ("2025-05-05", "KH-57-LS/53#2025-04", "overdue", U + "CAT"),
        ("2025-05-06", "KH-57-LS/53#2025-04", "chair", C),
        *_weekly("KH-57-LS/53#2025-04", ["2025-05-12", "2025-05-19", "2025-05-26", "2025-06-02", "2025-06-09",
                                         "2025-06-16", "2025-06-23"], WEEKLY_NC),
    ],
    # own plan due 04/04, never done (Đông Sơn commune): already at the chair level when the walk starts; the
    # lead unit is told once that it is overdue
    "KH-57-LS/7@XDS": [
        ("2025-05-05", "KH-57-LS/7@XDS", "chair", C),
        ("2025-05-05", "KH-57-LS/7@XDS", "overdue", U + "XDS"),
        *_weekly("KH-57-LS/7@XDS", ["2025-05-05", "2025-05-12", "2025-05-19", "2025-05-26", "2025-06-02",
                                    "2025-06-09", "2025-06-16", "2025-06-23"], WEEKLY_TT),
    ],
    # extension asked 16/06 10:00 → approver (pct_kt) reminded 2 wd later at 08:00, approved at
    # 09:00 (30/06 → 30/09): the 30/06 reminders never come (8 wd left on 18/06)
    "KH-57-LS/36": [
        ("2025-06-18", "KH-57-LS/36", "extension_pending", "person:pct_kt"),
    ],
    # extension asked 20/06, refused 24/06 10:00; reminders for 30/06
    "KH-57-LS/47@XNS": [
        ("2025-06-19", "KH-57-LS/47@XNS", "remind_7", U + "XNS"),
        ("2025-06-24", "KH-57-LS/47@XNS", "extension_pending", "person:pct_tt"),
        ("2025-06-27", "KH-57-LS/47@XNS", "remind_1", U + "XNS"),
    ],
    "KH-57-LS/47@XDS": [
        ("2025-06-19", "KH-57-LS/47@XDS", "remind_7", U + "XDS"),
        ("2025-06-27", "KH-57-LS/47@XDS", "remind_1", U + "XDS"),
    ],
    # submitted 25/06 10:00, rejected 27/06 09:00: no remind_1 (submitted), the secretariat is
    # reminded on 27/06 at 08:00
    "KH-57-LS/4": [
        ("2025-06-19", "KH-57-LS/4", "remind_7", U + "SNV"),
        ("2025-06-27", "KH-57-LS/4", "verification_pending", S),
    ],
}

# Rows per level over the whole walk (all 273 items), pinned so that any change is noticed.
# Checked by hand: remind_7 = 31/05 (18, 38, 42) + 53#2025-05 twice + 17 + 53#2025-06 + 50 items
# due 30/06 still open on 19/06 (tasks 1 ×19, 64 ×21, 47 ×3, 4, 11, 39, 45, 51, 52, 58; the
# first Quý II and half-year reports are sent on 20/06);
# remind_1 = 53 items open on 27/06 08:00 before the history sent 22 of them by then (1@ of STC,
# SCT, SNV, STP, SYT, XBS, XNS, BPTTH, BQLKCN, CAT: 10; 64@ of SKHCN, PLS, SNV, STC, SCT, SGDDT,
# STP, SYT, XBS, XNS, BPTTH, BQLKCN: 12) = 31;
# 17 of the 18 open own plans (7@…, due 04/04) are done in early April, before the walk: only
# 7@XDS is still open, so chair = 22 − 17 = 5;
# overdue = 42 and 53#2025-05 twice, 3 rows each, + the 3 items already past the overdue
# window when the walk starts (05/05; 20 before the 17 own plans were done), whose lead units
# are told once (issue 17) = 9;
# weekly (lead unit, vice-chair, secretariat) = 2 items × 3 (week of 05/05) + 3 × 3 × 5 weeks
# + (4 × 3 − 2 acknowledged: pct_nc and 42's lead unit SNV) × 2 = 71.
TOTALS = {
    "remind_7": 57, "remind_1": 31, "overdue": 9, "vice_chair": 4, "chair": 5, "weekly": 71,
    "extension_pending": 2, "verification_pending": 2,
}


def _steps_until(steps: list[dict], moment: datetime) -> tuple[list[dict], list[dict]]:
    due = [s for s in steps if parse_local_time(s["at"], TZ) < moment]
    return due, steps[len(due):]


def _walk(engine, tmp_path: Path) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    load_at = local_datetime(date(2025, 3, 16), time(8, 0))
    with transaction(engine) as s:
        store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=load_at)
    load_plan_file(engine, PLANS / "sample-plan.yaml", now=load_at)
    history = yaml.safe_load((PLANS / "sample-history.yaml").read_text(encoding="utf-8"))
    steps = sorted(history["steps"] + EXTRA_STEPS, key=lambda s: parse_local_time(s["at"], TZ))
    acks = [(parse_local_time(a, TZ), item, who) for a, item, who in ACKS]
    cal = default_calendar()

    def replay(chunk: list[dict], n: int) -> None:
        if chunk:
            path = tmp_path / f"chunk-{n}.yaml"
            path.write_text(yaml.safe_dump({"plan": PLAN, "steps": chunk}, allow_unicode=True), encoding="utf-8")
            replay_history(engine, path)

    day, n = START, 0
    while day <= END:
        if cal.is_working_day(day):
            run_at = local_datetime(day, time(8, 0), TZ)
            due, steps = _steps_until(steps, run_at)
            replay(due, n)
            n += 1
            for at, ref, who in [a for a in acks if a[0] < run_at]:
                with transaction(engine) as s:
                    actor = load_actor(s, who)
                    escalation.acknowledge(s, resolve_item(s, f"{PLAN}/{ref}", actor=actor), actor, now=at)
                acks.remove((at, ref, who))
            with transaction(engine) as s:
                tracking.track(s, now=run_at)
            with transaction(engine) as s:
                escalation.detect(s, now=run_at)
        day += timedelta(days=1)
    with transaction(engine) as s:
        rows = s.execute(select(OutboxMessage)).scalars().all()
        out = []
        for r in rows:
            ref = _ref(s, r.work_item_id)
            out.append((r.created_at.astimezone(ZoneInfo(TZ)).date().isoformat(), ref, r.level, r.recipient))
    return out


def _ref(session, item_id: int) -> str:  # type: ignore[no-untyped-def]
    from engine.models import WorkItem

    return item_ref(session.get(WorkItem, item_id), session)


@pytest.fixture(scope="module", params=BACKENDS)
def walked(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One walk per backend for the whole module (it takes a few seconds)."""
    tmp = tmp_path_factory.mktemp("walk")
    if request.param == "sqlite":
        path = tmp / "walk.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_pg_schema_url")
        eng = dbmod.make_engine(url)
        _truncate_pg(eng)
        eng.dispose()
    engine = dbmod.make_engine(url)
    with transaction(engine) as s:
        ensure_chain_head(s)
    yield _walk(engine, tmp), engine
    engine.dispose()


def test_walk_sends_exactly_what_the_policy_implies_for_the_hand_picked_items(walked):
    rows, _ = walked
    by_item: dict[str, list[tuple[str, str, str, str]]] = {}
    for r in rows:
        by_item.setdefault(r[1], []).append(r)
    for ref, expected in EXPECTED.items():
        got = sorted(by_item.get(ref, []))
        assert got == sorted(expected), f"{ref}:\n got      {got}\n expected {sorted(expected)}"


def test_walk_totals_per_level_are_stable(walked):
    rows, _ = walked
    totals = Counter(level for _, _, level, _ in rows)
    assert dict(totals) == TOTALS
    assert len(rows) == len(set(rows)), "a notification was queued twice"


def test_walk_records_flips_and_the_extension_sends_the_item_back_on_track(walked):
    _, engine = walked
    with transaction(engine) as s:
        actor = load_actor(s, "secretariat")
        item = resolve_item(s, f"{PLAN}/53#2025-05", actor=actor)
        flips = [(a.astimezone(ZoneInfo(TZ)).date().isoformat(), f, t) for a, f, t in tracking.history(s, item.id)]
        n_flip_events = len(s.execute(select(Event.id).where(Event.kind == "timeliness")).all())
    assert flips == [
        ("2025-05-05", None, "on_track"),
        ("2025-05-13", "on_track", "due_soon"),    # 20/05 within 7 days
        ("2025-05-21", "due_soon", "overdue"),
        ("2025-05-29", "overdue", "on_track"),     # extended to 10/06 on 28/05
        ("2025-06-03", "on_track", "due_soon"),
        ("2025-06-11", "due_soon", "overdue"),
    ]
    assert n_flip_events > 273  # every item's first state, then its changes


def test_a_full_rescan_after_the_walk_finds_nothing_the_incremental_runs_missed(walked):
    _, engine = walked
    with transaction(engine) as s:
        assert escalation.detect(s, now=local_datetime(END - timedelta(days=2), time(8, 0), TZ),
                                 incremental=False).inserted == 0

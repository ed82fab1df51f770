"""Benchmark: the monthly report of a plan with 100,000 work items and a year of history.

Data (generated, fixed seed): 50 units; 30,000 dated tasks with 2 lead units (60,000
items), 2,500 monthly recurring tasks with 12 occurrences (30,000 items), 10,000 ongoing
tasks (10,000 items); a year (2025) of bulk-generated, hash-chained events: starts, notes,
submissions, verifications, extension requests and approvals.

Ours: ``engine.reporting.build_report`` for November 2025 as of 20/11/2025 — the whole
report data: item and task counts, sections, units with their colour and rank, the
previous period and the changes, overdue list, timeline, appendix rows for every task.
Floor: the same figures' core in hand-written SQL — each item's status and deadline in
force at the as-of instant (window functions over the event log), bucketed and counted per
unit and per bucket, on-time/late split, ongoing items with a note in the period — run for
the period and for the previous period (the report needs both). Goal: ratio ≤ 2×.

    uv run python bench/report.py [--items 100000] [--backend sqlite --backend postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Date, bindparam, insert, text, update  # noqa: E402

from bench.common import Timer, backends, fresh_db, machine  # noqa: E402
from engine import db as dbmod  # noqa: E402
from engine.audit import GENESIS, event_hash  # noqa: E402
from engine.clock import end_of_local_day, local_datetime  # noqa: E402
from engine.models import (  # noqa: E402
    ChainHead, Committee, Event, Plan, Section, Task, TaskUnit, UTCDateTime, Unit, WorkItem,
)
from engine.reporting import build_report, make_period, previous_period  # noqa: E402

TZ = "Asia/Ho_Chi_Minh"
T0 = datetime(2025, 1, 2, 1, 0, tzinfo=timezone.utc)
AS_OF = date(2025, 11, 20)
HASHED_EXTRA = ("recorded_at",)


def _moment(day: date, rnd: random.Random) -> datetime:
    return datetime.combine(day, time(rnd.randint(8, 16), rnd.randint(0, 59)), tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc)


def generate(url: str, items: int = 100_000, seed: int = 57) -> dict[str, int]:
    """Fill a migrated, empty database; returns row counts."""
    rnd = random.Random(seed)
    scale = items / 100_000
    n_dated, n_rec, n_ong = int(30_000 * scale), int(2_500 * scale), int(10_000 * scale)
    eng = dbmod.make_engine(url)
    with dbmod.transaction(eng) as s:
        s.add(Committee(id=1, name="Ban Chỉ đạo tỉnh Thử Tải", short_name="BCĐ", timezone=TZ, standing_agency=None,
                        settings={}, updated_at=T0))
        if s.get(ChainHead, 1) is None:
            s.add(ChainHead(id=1, last_event_id=0, last_hash=GENESIS, count=0))
        s.execute(insert(Unit), [dict(id=i, code=f"U{i:02d}", name=f"Sở thử tải {i}", kind="department", aliases=[],
                                      former_names=[], members=[], groups=[], is_group=False, notify=[],
                                      source="directory", active=True, created_at=T0) for i in range(1, 51)])
        s.add(Plan(id=1, code="KH-BENCH", title="Kế hoạch thử tải", status="active", revision=1, settings={},
                   created_at=T0, updated_at=T0))
        s.flush()
        s.execute(insert(Section), [dict(id=i, plan_id=1, code=f"S{i}", title=f"Phần {i}", position=i)
                                    for i in range(1, 11)])
    tasks, tunits, witems = [], [], []
    tid = wid = 0
    specs: list[tuple[int, str, list[tuple[int, str, date | None]]]] = []  # (task, kind, [(item, unit, deadline)])
    for kind, count in (("date", n_dated), ("recurring", n_rec), ("ongoing", n_ong)):
        for _ in range(count):
            tid += 1
            units = rnd.sample(range(1, 51), 2 if kind == "date" else 1)
            dl = date(2025, 1, 15) + timedelta(days=rnd.randint(0, 380)) if kind == "date" else None
            tasks.append(dict(id=tid, plan_id=1, section_id=1 + tid % 10, code=str(tid), position=tid,
                              title=f"Nhiệm vụ thử tải số {tid}", deliverable="Báo cáo", lead_text="", coordinating_text="",
                              deadline=dl, deadline_text=dl.strftime("%d/%m/%Y") if dl else
                              ("Ngày 20 hằng tháng" if kind == "recurring" else "Thường xuyên"),
                              deadline_kind=kind, recurrence="0 0 20 * *" if kind == "recurring" else None,
                              status="active", created_at=T0, updated_at=T0))
            mine = []
            for pos, u in enumerate(units):
                tunits.append(dict(task_id=tid, unit_id=u, role="lead", position=pos))
                occs = [(f"2025-{m:02d}", date(2025, m, 20)) for m in range(1, 13)] if kind == "recurring" else [("", dl)]
                for occ, d in occs:
                    wid += 1
                    witems.append(dict(id=wid, task_id=tid, unit_id=u, occurrence=occ, deadline=d, original_deadline=d,
                                       status="not_started", version=1, updated_by="system", updated_at=T0, created_at=T0))
                    mine.append((wid, u, d))
            specs.append((tid, kind, mine))
    # the history: events in time order
    evs: list[dict] = []
    final: dict[int, dict] = {}

    def ev(item: int, task: int, at: datetime, kind: str, **kw: object) -> None:
        evs.append(dict(at=at, recorded_at=at, actor="bench", actor_role="focal_point", kind=kind, plan_id=1, task_id=task,
                        work_item_id=item, **kw))

    for task_id, kind, mine in specs:
        for item, _u, d in mine:
            if kind == "ongoing":
                for _ in range(rnd.randint(1, 6)):
                    ev(item, task_id, _moment(date(2025, 1, 5) + timedelta(days=rnd.randint(0, 355)), rnd), "note",
                       note="Tiếp tục triển khai", percent=None)
                continue
            assert d is not None
            if rnd.random() < 0.05 and kind == "date":  # an extension, approved two days later
                ask = d - timedelta(days=rnd.randint(3, 20))
                new = d + timedelta(days=rnd.randint(15, 60))
                ev(item, task_id, _moment(ask, rnd), "extension_requested", deadline_before=d, deadline_after=new,
                   note="Đề nghị gia hạn")
                ev(item, task_id, _moment(ask + timedelta(days=2), rnd), "extension_approved", deadline_before=d,
                   deadline_after=new, note=None)
                d = new
            p_start = 0.75 if kind == "date" else 0.85
            if rnd.random() > p_start:
                continue
            started = d - timedelta(days=rnd.randint(10, 90) if kind == "date" else rnd.randint(1, 10))
            ev(item, task_id, _moment(started, rnd), "status", from_status="not_started", to_status="in_progress")
            if kind == "date" and rnd.random() < 0.5:
                ev(item, task_id, _moment(started + timedelta(days=rnd.randint(1, 9)), rnd), "note",
                   note="Đang triển khai", percent=float(rnd.randint(10, 90)))
            if rnd.random() < 0.7:
                done = d + timedelta(days=rnd.randint(-12, 10))
                sub = max(done - timedelta(days=1), started + timedelta(days=1))
                ev(item, task_id, _moment(sub, rnd), "status", from_status="in_progress", to_status="submitted",
                   evidence=f"Văn bản số {item}")
                ver = _moment(max(done, sub + timedelta(days=1)), rnd)
                ev(item, task_id, ver, "status", from_status="submitted", to_status="completed")
                final[item] = {"status": "completed", "completed_at": ver,
                               "completion": "on_time" if ver.astimezone(ZoneInfo(TZ)).date() <= d else "late"}
            else:
                final[item] = {"status": "in_progress"}
            if d != mine[0][2] or kind == "date":
                final.setdefault(item, {})["deadline"] = d
    evs.sort(key=lambda e: e["at"])
    horizon = end_of_local_day(date(2025, 12, 31), TZ)
    evs = [e for e in evs if e["at"] <= horizon]
    prev = GENESIS
    rows = []
    for n, e in enumerate(evs, start=1):
        row = {k: e.get(k) for k in ("at", "recorded_at", "actor", "actor_role", "kind", "plan_id", "task_id",
                                     "work_item_id", "from_status", "to_status", "note", "evidence", "percent",
                                     "deadline_before", "deadline_after")}
        row.update(id=n, data={})
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, row)
        rows.append(row)
    # final item state = what the lifecycle would have left (for the whole year)
    by_item_status: dict[int, str] = {}
    by_item_deadline: dict[int, date] = {}
    for r in rows:
        if r["kind"] == "status":
            by_item_status[r["work_item_id"]] = r["to_status"]
        elif r["kind"] == "extension_approved":
            by_item_deadline[r["work_item_id"]] = r["deadline_after"]
    for w in witems:
        st = by_item_status.get(w["id"], "not_started")
        w["status"] = st
        if w["id"] in by_item_deadline:
            w["deadline"] = by_item_deadline[w["id"]]
        f = final.get(w["id"], {})
        if st == "completed":
            w["completed_at"], w["completion"] = f.get("completed_at"), f.get("completion")
    with dbmod.transaction(eng) as s:
        for table, data in ((Task, tasks), (TaskUnit, tunits), (WorkItem, witems)):
            for i in range(0, len(data), 20_000):
                s.execute(insert(table), data[i:i + 20_000])
        for i in range(0, len(rows), 20_000):
            s.execute(insert(Event), rows[i:i + 20_000])
        s.execute(update(ChainHead).where(ChainHead.id == 1).values(last_event_id=len(rows), last_hash=prev,
                                                                     count=len(rows)))
    if eng.dialect.name == "postgresql":
        with eng.begin() as c:
            c.execute(text("ANALYZE"))
    eng.dispose()
    return {"tasks": len(tasks), "work_items": len(witems), "events": len(rows)}


_BUCKETS = """
, b AS (
  SELECT unit_id, noted, deadline,
    CASE WHEN status = 'cancelled' THEN 'cancelled'
         WHEN dk = 'recurring' AND (deadline IS NULL OR deadline < :start OR deadline > :due_by) THEN 'out'
         WHEN dk = 'ongoing' THEN 'ongoing'
         WHEN status = 'completed' THEN 'completed'
         WHEN deadline IS NULL THEN 'no_deadline'
         WHEN deadline < :as_of THEN 'overdue'
         WHEN deadline <= :due_by THEN 'within'
         ELSE 'not_yet_due' END AS bucket,
    CASE WHEN status = 'completed' THEN (CASE WHEN {local_day} <= deadline THEN 'on_time' ELSE 'late' END) END AS completion
  FROM it
)
SELECT unit_id, bucket, completion, COUNT(*) AS n,
       SUM(CASE WHEN deadline IS NOT NULL AND deadline <= :due_by THEN 1 ELSE 0 END) AS due,
       SUM(CASE WHEN noted THEN 1 ELSE 0 END) AS noted
FROM b WHERE bucket <> 'out' GROUP BY unit_id, bucket, completion
"""

# 1. window functions over the log, joined to the items
FLOOR_WINDOW = """
WITH st AS (
  SELECT work_item_id, to_status, at,
         ROW_NUMBER() OVER (PARTITION BY work_item_id ORDER BY at DESC, id DESC) AS rn
  FROM event WHERE plan_id = :plan AND kind = 'status' AND work_item_id IS NOT NULL AND at <= :cut
), dl AS (
  SELECT work_item_id, deadline_after,
         ROW_NUMBER() OVER (PARTITION BY work_item_id ORDER BY at DESC, id DESC) AS rn
  FROM event WHERE plan_id = :plan AND kind = 'extension_approved' AND work_item_id IS NOT NULL AND at <= :cut
), nt AS (
  SELECT DISTINCT work_item_id FROM event
  WHERE plan_id = :plan AND kind = 'note' AND work_item_id IS NOT NULL AND at >= :start_at AND at <= :period_cut
), it AS (
  SELECT w.unit_id, t.deadline_kind AS dk, COALESCE(st.to_status, 'not_started') AS status, st.at AS done_at,
         COALESCE(dl.deadline_after, w.original_deadline) AS deadline, nt.work_item_id IS NOT NULL AS noted
  FROM work_item w JOIN task t ON t.id = w.task_id
  LEFT JOIN st ON st.work_item_id = w.id AND st.rn = 1
  LEFT JOIN dl ON dl.work_item_id = w.id AND dl.rn = 1
  LEFT JOIN nt ON nt.work_item_id = w.id
  WHERE t.plan_id = :plan AND w.created_at <= :cut
)""" + _BUCKETS

# 2. one index lookup per item (ix_event_item_kind_at: work_item_id, kind, at)
FLOOR_CORRELATED = """
WITH last AS (
  SELECT w.id, w.unit_id, w.original_deadline, t.deadline_kind AS dk,
    (SELECT e.id FROM event e WHERE e.work_item_id = w.id AND e.kind = 'status' AND e.at <= :cut
     ORDER BY e.at DESC, e.id DESC LIMIT 1) AS st_id,
    (SELECT e.deadline_after FROM event e WHERE e.work_item_id = w.id
       AND e.kind = 'extension_approved' AND e.at <= :cut
     ORDER BY e.at DESC, e.id DESC LIMIT 1) AS dl_after,
    EXISTS (SELECT 1 FROM event e WHERE e.work_item_id = w.id AND e.kind = 'note'
            AND e.at >= :start_at AND e.at <= :period_cut) AS noted
  FROM work_item w JOIN task t ON t.id = w.task_id
  WHERE t.plan_id = :plan AND w.created_at <= :cut
), it AS (
  SELECT last.unit_id, last.dk, COALESCE(s.to_status, 'not_started') AS status, s.at AS done_at,
         COALESCE(last.dl_after, last.original_deadline) AS deadline, last.noted
  FROM last LEFT JOIN event s ON s.id = last.st_id
)""" + _BUCKETS

FLOORS = {"window": FLOOR_WINDOW, "correlated": FLOOR_CORRELATED}


def floor(eng, as_of: date, period, variant: str) -> int:  # type: ignore[no-untyped-def]
    local_day = "date(done_at, '+7 hours')" if eng.dialect.name == "sqlite" \
        else "CAST((done_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS date)"
    stmt = text(FLOORS[variant].format(local_day=local_day)).bindparams(
        bindparam("cut", type_=UTCDateTime()), bindparam("start_at", type_=UTCDateTime()),
        bindparam("period_cut", type_=UTCDateTime()), bindparam("start", type_=Date()),
        bindparam("due_by", type_=Date()), bindparam("as_of", type_=Date()))
    params = dict(plan=1, cut=end_of_local_day(as_of, TZ), start_at=local_datetime(period.start, tz=TZ),
                  period_cut=end_of_local_day(min(period.end, as_of), TZ), start=period.start,
                  due_by=max(period.end, as_of), as_of=as_of)
    with eng.connect() as c:
        rows = c.execute(stmt, params).all()
    return sum(r.n for r in rows)


def run(backend: str, items: int, repeat: int, workdir: Path) -> dict[str, object]:
    with fresh_db(backend, workdir) as url:
        with Timer() as gen:
            counts = generate(url, items)
        eng = dbmod.make_engine(url)
        p = make_period("monthly", 2025, 11)
        pp = previous_period(p)
        ours, base = [], []
        report = None
        # the floor is the faster of the two SQL formulations on this backend (timed once, with a cap)
        trial = {}
        for variant in (FLOORS if eng.dialect.name != "sqlite" else ["correlated"]):
            # SQLite joins the windowed CTEs without an index: quadratic (35 s at 20,000 items), not a floor
            with Timer() as t:
                floor(eng, AS_OF, p, variant)
            trial[variant] = t.seconds
        best = min(trial, key=trial.get)  # type: ignore[arg-type]
        import engine.reporting as rep

        phases: dict[str, float] = {}
        real_states = rep._states

        def timed_states(*a, **k):  # type: ignore[no-untyped-def]
            with Timer() as t:
                out = real_states(*a, **k)
            phases["states"] = t.seconds
            return out

        rep._states = timed_states  # type: ignore[assignment]
        for _ in range(repeat):
            with Timer() as t_floor:
                n_now = floor(eng, AS_OF, p, best)
                floor(eng, pp.end, pp, best)
            base.append(t_floor.seconds)
            with Timer() as t_ours:
                with dbmod.transaction(eng) as s:
                    report = build_report(s, plan_code="KH-BENCH", kind="monthly", period="2025-11", as_of=AS_OF)
            ours.append(t_ours.seconds)
            phases.setdefault("best_states", phases["states"])
            phases["best_states"] = min(phases["best_states"], phases["states"])
        rep._states = real_states  # type: ignore[assignment]
        eng.dispose()
        assert report is not None
        s = report["summary"]
        assert s["total"] + s["cancelled"] == n_now, (s["total"], n_now)  # the floor counts the same items
        return {"backend": backend, **counts, "generate_s": gen.seconds, "ours_s": min(ours), "floor_s": min(base),
                "floor_sql": best, "floor_trials": {k: round(v, 2) for k, v in trial.items()},
                "states_s": phases["best_states"],
                "ratio": min(ours) / min(base), "summary": {k: s[k] for k in ("total", "due", "completed", "overdue",
                                                                             "not_yet_due", "ongoing")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"# Monthly report benchmark — {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        for b in backends(args.backend):
            r = run(b, args.items, args.repeat, Path(tmp))
            print(f"{r['backend']:9} {r['work_items']:,} items, {r['tasks']:,} tasks, {r['events']:,} events "
                  f"(generated in {r['generate_s']:.1f} s): report {r['ours_s']:.2f} s, floor {r['floor_s']:.2f} s, "
                  f"ratio {r['ratio']:.2f}x\n          of which item states at both instants (one SQL query + rows): {r['states_s']:.2f} s; "
                  f"floor = {r['floor_sql']} SQL (one run each: {r['floor_trials']}); {r['summary']}")


if __name__ == "__main__":
    main()

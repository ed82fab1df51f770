"""Benchmark: one escalation detection pass over 1,000,000 open work items, next to the floor.

Data: 100 units (4 vice-chairs overseeing 25 each), a chair, a secretariat member, one plan
of 10,000 tasks × 100 lead units = 1,000,000 open work items (bulk Core inserts; COPY on
PostgreSQL) with deadlines spread evenly over two years around ``--today`` (Monday
16/06/2025 by default, so the weekly digest fires), 2 % of them submitted.

Ours: ``engine.escalation.detect`` at 08:00 on ``--today`` — one INSERT … SELECT … ON
CONFLICT DO NOTHING per rule (5 levels, weekly, pending extensions, pending
verifications), measured: the first run ever (the whole backlog is written), the same day
again (nothing new), a full rescan (``incremental=False``), and the next day (the usual
daily run: the deadlines entering each window, plus the items changed since).
Floor: one hand-written SQL query selecting the same items (the same deadline windows,
states and join to the task), counted in the database.

    uv run python bench/escalation_scan.py [--items 1000000] [--backend sqlite --backend postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.common import Timer, backends, fresh_db, machine  # noqa: E402
from engine import db as dbmod  # noqa: E402
from engine import escalation as esc  # noqa: E402
from engine.clock import local_datetime  # noqa: E402
from engine.models import ChainHead, Committee, OutboxMessage, Person, Plan, Task, Unit, WorkItem  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
UNITS = 100
STATES = ["not_started"] * 50 + ["in_progress"] * 45 + ["blocked"] * 3 + ["submitted"] * 2


def populate(url: str, n_items: int, today: date, seed: int = 57) -> None:
    rnd = random.Random(seed)
    eng = dbmod.make_engine(url)
    n_tasks = max(1, n_items // UNITS)
    with eng.begin() as c:
        if c.execute(select(ChainHead.id)).first() is None:
            c.execute(insert(ChainHead), [{"id": 1, "last_event_id": 0, "last_hash": "0" * 64, "count": 0}])
        c.execute(insert(Committee), [{"id": 1, "name": "BCĐ thử tải", "short_name": "BCĐ", "timezone": "Asia/Ho_Chi_Minh",
                                       "standing_agency": "U000", "settings": {}, "updated_at": T0}])
        c.execute(insert(Unit), [{"id": i + 1, "code": f"U{i:03d}", "name": f"Đơn vị {i}", "kind": "department",
                                  "aliases": [], "former_names": [], "members": [], "groups": [], "is_group": False,
                                  "notify": [], "source": "directory", "active": True, "created_at": T0}
                                 for i in range(UNITS)])
        people = [{"id": "chair", "role": "chair", "oversees": []}, {"id": "secretariat", "role": "secretariat", "oversees": []}]
        people += [{"id": f"vc{k}", "role": "vice_chair", "oversees": [f"U{i:03d}" for i in range(k * 25, k * 25 + 25)]}
                   for k in range(4)]
        c.execute(insert(Person), [{**p, "name": p["id"], "title": None, "unit_id": None, "notify": [], "active": True,
                                    "created_at": T0} for p in people])
        c.execute(insert(Plan), [{"id": 1, "code": "KH-BENCH", "title": "Kế hoạch thử tải", "status": "active",
                                  "revision": 1, "settings": {}, "created_at": T0, "updated_at": T0}])
    start = today - timedelta(days=365)
    task_rows, item_rows = [], []
    for t in range(1, n_tasks + 1):
        task_rows.append({"id": t, "plan_id": 1, "code": str(t), "position": t, "title": f"Nhiệm vụ {t}",
                          "deliverable": "", "lead_text": "", "coordinating_text": "", "deadline": None,
                          "deadline_text": "", "deadline_kind": "date", "status": "active",
                          "vice_chair_id": f"vc{t % 4}" if t % 3 else None, "created_at": T0, "updated_at": T0})
    item_id = 0
    for t in range(1, n_tasks + 1):
        for u in range(1, UNITS + 1):
            item_id += 1
            st = rnd.choice(STATES)
            d = start + timedelta(days=rnd.randrange(730))
            item_rows.append((item_id, t, u, "", d, d, st, 1, T0 - timedelta(days=3) if st == "submitted" else None,
                              T0, T0))
    cols = ["id", "task_id", "unit_id", "occurrence", "deadline", "original_deadline", "status", "version",
            "submitted_at", "updated_at", "created_at"]
    if eng.dialect.name == "postgresql":
        raw = eng.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy("COPY task (id, plan_id, code, position, title, deliverable, lead_text, coordinating_text, "
                          "deadline_text, deadline_kind, status, vice_chair_id, created_at, updated_at) FROM STDIN") as cp:
                for r in task_rows:
                    cp.write_row((r["id"], 1, r["code"], r["position"], r["title"], "", "", "", "", "date", "active",
                                  r["vice_chair_id"], T0, T0))
            with cur.copy(f"COPY work_item ({', '.join(cols)}) FROM STDIN") as cp:
                for r in item_rows:
                    cp.write_row(r)
            raw.commit()
        finally:
            raw.close()
        with eng.begin() as c:
            c.execute(text("ANALYZE"))
    else:
        with eng.begin() as c:
            for i in range(0, len(task_rows), 20000):
                c.execute(insert(Task), task_rows[i:i + 20000])
            for i in range(0, len(item_rows), 50000):
                c.execute(insert(WorkItem), [dict(zip(cols, r)) for r in item_rows[i:i + 50000]])
        with eng.begin() as c:
            c.exec_driver_sql("ANALYZE")
    eng.dispose()


def floor_query(session, ctx: esc.Context) -> int:  # type: ignore[no-untyped-def]
    """Count, in one hand-written query, the (item, rule) pairs detection selects."""
    pol, cal, today = ctx.policy, ctx.calendar, ctx.today
    preds, params = [], {}
    for i, (lv, low, high) in enumerate(pol.windows()):
        if lv.kind == "before":
            rng = esc.before_range(today, low, high if high is not None else low, cal)
            if rng:
                preds.append(f"(w.deadline BETWEEN :a{i} AND :b{i})")
                params[f"a{i}"], params[f"b{i}"] = rng
        else:
            orng = esc.overdue_range(today, low, high, cal)
            if orng:
                lo, hi = orng
                preds.append(f"(w.deadline <= :b{i}" + (f" AND w.deadline >= :a{i})" if lo else ")"))
                params[f"b{i}"] = hi
                if lo:
                    params[f"a{i}"] = lo
    week_ref = today - timedelta(days=today.weekday() + 1)
    hi = esc._weekly_latest(week_ref, pol.weekly.working_days, cal)
    cutoff = esc.cutoff_instant(today, pol.verification_pending.working_days, cal, ctx.tz)
    params.update(wk=hi, cut=cutoff.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else cutoff)
    sql = (
        "SELECT (SELECT count(*) FROM work_item w JOIN task t ON t.id = w.task_id "
        "WHERE w.status IN ('not_started', 'in_progress', 'blocked') AND (" + " OR ".join(preds) + ")) "
        "+ (SELECT count(*) FROM work_item w JOIN task t ON t.id = w.task_id "
        "   WHERE w.status IN ('not_started', 'in_progress', 'blocked') AND w.deadline <= :wk) "
        "+ (SELECT count(*) FROM work_item w WHERE w.status = 'submitted' AND w.submitted_at < :cut)"
    )
    return int(session.execute(text(sql), params).scalar_one())


def run(backend: str, n_items: int, today: date, workdir: Path) -> dict[str, float]:
    with fresh_db(backend, workdir) as url:
        with Timer() as t_gen:
            populate(url, n_items, today)
        eng = dbmod.make_engine(url)
        now = local_datetime(today, time(8, 0))
        with dbmod.transaction(eng) as s:
            ctx = esc.context(s, now=now)
            with Timer() as t_floor:
                pairs = floor_query(s, ctx)
            with Timer() as t_floor2:
                floor_query(s, ctx)
        with dbmod.transaction(eng) as s:
            with Timer() as t_cold:
                cold = esc.detect(s, now=now, ctx=ctx)
        with dbmod.transaction(eng) as s:
            with Timer() as t_again:
                again = esc.detect(s, now=now, ctx=ctx)
        with dbmod.transaction(eng) as s:
            with Timer() as t_full:
                full = esc.detect(s, now=now, ctx=ctx, incremental=False)
        nxt = local_datetime(today + timedelta(days=1), time(8, 0))
        trace: list[tuple[float, str]] = []
        if os.environ.get("BENCH_TRACE"):
            import time as _t

            from sqlalchemy import event

            @event.listens_for(eng, "before_cursor_execute")
            def _b(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
                conn.info["t0"] = _t.perf_counter()

            @event.listens_for(eng, "after_cursor_execute")
            def _a(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
                trace.append((_t.perf_counter() - conn.info["t0"], " ".join(statement.split())[:160]))
        with dbmod.transaction(eng) as s:
            ctx2 = esc.context(s, now=nxt)
            with Timer() as t_floor_next:
                floor_query(s, ctx2)
            with Timer() as t_next:
                nextday = esc.detect(s, now=nxt, ctx=ctx2)
            rows = s.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
            items = s.execute(select(func.count(func.distinct(OutboxMessage.work_item_id)))).scalar_one()
        eng.dispose()
    floor = min(t_floor.seconds, t_floor2.seconds)
    for secs, stmt in sorted(trace, reverse=True)[:8]:
        print(f"    trace {secs:6.3f}s  {stmt}")
    print(f"  {backend:8s} {n_items:>9,} items (generated in {t_gen.seconds:5.1f} s): "
          f"{pairs:,} (item, rule) pairs, {items:,} items notified, {rows:,} outbox rows")
    print(f"  {'':8s} floor (one hand-written SELECT count)       {floor:7.2f} s")
    print(f"  {'':8s} detect, first run ever (writes {cold.inserted:,})   {t_cold.seconds:7.2f} s   {t_cold.seconds / floor:6.2f}×")
    print(f"  {'':8s} detect, same day again (writes {again.inserted})        {t_again.seconds:7.2f} s   {t_again.seconds / floor:6.2f}×")
    print(f"  {'':8s} detect, full rescan (writes {full.inserted})            {t_full.seconds:7.2f} s   {t_full.seconds / floor:6.2f}×")
    print(f"  {'':8s} next day: floor {t_floor_next.seconds:.2f} s; detect (writes {nextday.inserted:,}) "
          f"{t_next.seconds:7.2f} s   {t_next.seconds / t_floor_next.seconds:6.2f}×")
    return {"floor": floor, "cold": t_cold.seconds, "again": t_again.seconds, "full": t_full.seconds,
            "next_day": t_next.seconds, "floor_next_day": t_floor_next.seconds}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    ap.add_argument("--today", default="2025-06-16")
    args = ap.parse_args(argv)
    print(f"escalation detection bench — {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        for b in backends(args.backend):
            run(b, args.items, date.fromisoformat(args.today), Path(tmp))


if __name__ == "__main__":
    main()

"""Benchmark: importing the progress sheets of 34 units × 300 rows, next to a hand-written SQL floor.

Data: 34 units, each with a focal point, one plan of 300 tasks per unit (10,200 open work
items, not started), the committee and the secretariat. Each unit's sheet is exported
(``engine.progress.export_sheet``, not timed) and filled as a clerk would: a third of the
rows started with a result and a percent (start + note), a third reported done with an
official document (submit), a third with a result only (note) — 13,600 actions.

What is timed, on each side, for all 34 sheets:

* **import** — ``steer progress import``'s work: the sheets read (``read_sheets``: the
  Office limits, then calamine, or openpyxl for the unusual file; two files at a time),
  then per sheet ``plan_import`` (every row compared with the database: references,
  versions, transitions, the documents, the document reuse check) and ``apply_import``
  (each sheet's commands through ``engine.commands.perform_many``: every command checked
  by ``perform`` — permission, state, version — and its event built as alone, then the
  writes in bulk: compare-and-set by ``executemany``, the hash-chained events in one
  multi-row INSERT, the chain head moved once; the file as the events' source), then the
  commit; all sheets in one transaction, as ``steer progress import *.xlsx`` does.
* **apply** — the same without reading the files (the ``Sheet`` objects already parsed):
  planning and applying, then the commit.
* **read alone** (printed for reference, not part of the goal) — ``read_sheets`` over the
  34 files, as the import reads them.
* **floor** — the same writes by hand-written SQL in one transaction: exactly the rows the
  import leaves — each item's final state by one ``UPDATE work_item SET … WHERE id = … AND
  version = …`` (executemany per kind of row; a row that starts and notes moves the version
  by two in one statement), the same events field for field (the same sources, documents
  and import events, their hashes computed in Python with ``engine.audit.event_hash``, so the
  floor keeps the audit chain too), one multi-row INSERT, the chain head moved once, then the
  commit. No reading of files, no checks. ``same_state`` checks after every run that both
  sides left the same chain head hash (so the same events in the same order) and the same
  item rows. (Until 08/12/2026 the floor wrote less than the import: its events had no
  source and no import event, and a row that starts and notes moved the version once.)

Both sides run on a fresh copy of the same seeded database (SQLite: a file copy; PostgreSQL:
a fresh schema seeded the same way). The goal: import ≤ 3× the floor.

    uv run python bench/progress_import.py [--units 34] [--rows 300] [--backend sqlite --backend postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.common import QuietTimer, backends, fresh_db, machine  # noqa: E402
from engine import db as dbmod  # noqa: E402
from engine.audit import GENESIS, event_hash  # noqa: E402
from engine.db import transaction  # noqa: E402
from engine.models import ChainHead, Committee, Event, Person, Plan, Task, TaskUnit, Unit, WorkItem  # noqa: E402
from engine.progress import COLUMNS, HEADER_ROW, apply_import, export_sheet, plan_import, read_sheet, read_sheets  # noqa: E402

NOW = datetime(2025, 10, 20, 2, 0, tzinfo=timezone.utc)  # 20/10/2025 09:00 in Hà Nội
COL = {k: i for i, (k, *_) in enumerate(COLUMNS, start=1)}
PLAN = "KH-BENCH"


def seed(url: str, units: int, rows: int) -> None:
    eng = dbmod.make_engine(url)
    with transaction(eng) as s:
        s.add(Committee(name="Ban Chỉ đạo", short_name="BCĐ", timezone="Asia/Ho_Chi_Minh", settings={}, updated_at=NOW))
        if s.get(ChainHead, 1) is None:  # the migration creates it
            s.add(ChainHead(id=1, last_event_id=0, last_hash=GENESIS, count=0))
        s.add(Person(id="secretariat", name="Văn phòng", role="secretariat", created_at=NOW))
        plan = Plan(code=PLAN, title="Kế hoạch đo", issued_on=date(2025, 1, 15), status="active", revision=1,
                    settings={}, created_at=NOW, updated_at=NOW)
        s.add(plan)
        s.flush()
        uids = []
        for u in range(units):
            unit = Unit(code=f"U{u:02d}", name=f"Sở số {u}", created_at=NOW)
            s.add(unit)
            s.flush()
            uids.append(unit.id)
            s.add(Person(id=f"u{u:02d}_focal", name=f"Đầu mối {u}", role="focal_point", unit_id=unit.id, created_at=NOW))
        s.flush()
        task_rows = [dict(plan_id=plan.id, code=str(i + 1), position=i + 1, title=f"Nhiệm vụ {i + 1}",
                          deliverable="Báo cáo", deadline=date(2025, 12, 31), deadline_text="31/12/2025",
                          deadline_kind="date", status="active", created_at=NOW, updated_at=NOW)
                     for i in range(units * rows)]
        s.execute(insert(Task), task_rows)
        tids = list(s.execute(select(Task.id).order_by(Task.position)).scalars())
        s.execute(insert(TaskUnit), [dict(task_id=t, unit_id=uids[i // rows], role="lead", position=0)
                                     for i, t in enumerate(tids)])
        s.execute(insert(WorkItem), [dict(task_id=t, unit_id=uids[i // rows], occurrence="", deadline=date(2025, 12, 31),
                                          original_deadline=date(2025, 12, 31), status="not_started", version=1,
                                          updated_by="secretariat", updated_at=NOW, created_at=NOW)
                                     for i, t in enumerate(tids)])
    eng.dispose()


def filled_sheets(url: str, units: int) -> list[tuple[str, bytes]]:
    eng = dbmod.make_engine(url)
    out = []
    with transaction(eng) as s:
        for u in range(units):
            sh = export_sheet(s, f"U{u:02d}", now=NOW, period="2025-10")
            wb = openpyxl.load_workbook(io.BytesIO(sh.data))
            ws = wb.worksheets[1]
            for i, r in enumerate(range(HEADER_ROW + 1, HEADER_ROW + 1 + len(sh.rows))):
                kind = i % 3
                if kind == 0:
                    ws.cell(r, COL["status"]).value = "Đang thực hiện"
                    ws.cell(r, COL["result"]).value = f"Đã triển khai bước {i}"
                    ws.cell(r, COL["percent"]).value = 40
                elif kind == 1:
                    ws.cell(r, COL["status"]).value = "Đã hoàn thành (gửi xác nhận)"
                    ws.cell(r, COL["doc"]).value = f"Quyết định số {u * 1000 + i}/QĐ-U{u:02d}"
                    ws.cell(r, COL["doc_date"]).value = "15/10/2025"
                    ws.cell(r, COL["doc_issuer"]).value = f"Sở số {u}"
                else:
                    ws.cell(r, COL["result"]).value = f"Đang chuẩn bị hồ sơ {i}"
            buf = io.BytesIO()
            wb.save(buf)
            out.append((sh.filename, buf.getvalue()))
    eng.dispose()
    return out


def run_import(url: str, sheets: list[tuple[str, bytes]], *, parsed: list | None = None) -> tuple[float, int]:
    eng = dbmod.make_engine(url)
    with QuietTimer() as t:
        docs = parsed if parsed is not None else read_sheets([(data, name) for name, data in sheets])
        applied = 0
        with transaction(eng) as s:
            for sheet in docs:
                p = plan_import(s, sheet, now=NOW, importer="secretariat")
                assert not p.conflicts, p.conflicts[:3]
                applied += apply_import(s, p, now=NOW).applied
    eng.dispose()
    return t.seconds, applied


def run_floor(url: str, units: int, rows: int, sheets: list[tuple[str, bytes]]) -> tuple[float, int]:
    """The same writes by hand-written SQL (see the module doc): exactly the rows the import
    writes — the items' final state, the same events with the same fields and sources (so the
    same hash chain) and one import event per sheet; ``same_state`` checks it."""
    eng = dbmod.make_engine(url)
    with transaction(eng) as s:
        items = [tuple(r) for r in s.execute(select(WorkItem.id, WorkItem.task_id, WorkItem.unit_id)
                                             .join(Task, Task.id == WorkItem.task_id).order_by(Task.position))]
        plan_id = s.execute(select(Plan.id)).scalar_one()
        unit_ids = dict(s.execute(select(Unit.code, Unit.id)).all())
    digests = [(name, hashlib.sha256(data).hexdigest()) for name, data in sheets]
    with QuietTimer() as t:
        with eng.begin() as c:
            head = c.execute(select(ChainHead.last_event_id, ChainHead.last_hash).where(ChainHead.id == 1)).one()
            next_id, prev = head[0] + 1, head[1]
            starts, submits, notes, events = [], [], [], []
            for u in range(units):
                actor = f"u{u:02d}_focal"
                name, sha = digests[u]
                src = {"file": name, "imported_by": "secretariat", "period": "2025-10", "sha256": sha}
                actions = 0
                for i in range(rows):
                    wid, tid, _ = items[u * rows + i]
                    base = dict(at=NOW, recorded_at=NOW, actor=actor, actor_role="focal_point", plan_id=plan_id,
                                task_id=tid, work_item_id=wid, from_status=None, to_status=None, note=None,
                                evidence=None, percent=None, deadline_before=None, deadline_after=None,
                                data={"source": {**src, "row": HEADER_ROW + 1 + i}})
                    kind = i % 3
                    if kind == 0:  # started with a result and a percent: two writes of the item, two events
                        starts.append({"w": wid, "v": 1, "by": actor})
                        events.append({**base, "kind": "status", "from_status": "not_started", "to_status": "in_progress"})
                        events.append({**base, "kind": "note", "note": f"Đã triển khai bước {i}", "percent": 40.0})
                        actions += 2
                    elif kind == 1:  # done with an official document: submitted
                        submits.append({"w": wid, "v": 1, "by": actor})
                        events.append({**base, "kind": "status", "from_status": "not_started", "to_status": "submitted",
                                       "evidence": f"Quyết định số {u * 1000 + i}/QĐ-U{u:02d} ngày 15/10/2025 của Sở số {u}"})
                        actions += 1
                    else:  # a result only: a note
                        notes.append({"w": wid, "v": 1, "by": actor})
                        events.append({**base, "kind": "note", "note": f"Đang chuẩn bị hồ sơ {i}"})
                        actions += 1
                events.append(dict(at=NOW, recorded_at=NOW, actor=actor, actor_role="focal_point", kind="progress_import",
                                   plan_id=None, task_id=None, work_item_id=None, from_status=None, to_status=None,
                                   note=name, evidence=None, percent=None, deadline_before=None, deadline_after=None,
                                   data={"actions": actions, **src, "rows": rows, "skipped": [], "unit": f"U{u:02d}",
                                         "unit_id": unit_ids[f"U{u:02d}"]}))
            for e in events:
                e["id"] = next_id
                e["prev_hash"] = prev
                e["hash"] = prev = event_hash(prev, e)
                next_id += 1
            now_p = NOW.replace(tzinfo=None) if c.dialect.name == "sqlite" else NOW
            upd = ("UPDATE work_item SET {set} updated_at = :now, updated_by = :by "
                   "WHERE id = :w AND version = :v")
            c.execute(text(upd.format(set="status = 'in_progress', started_at = :now, version = version + 2,")),
                      [{**p, "now": now_p} for p in starts])
            c.execute(text(upd.format(set="status = 'submitted', started_at = :now, submitted_at = :now, "
                                          "version = version + 1,")), [{**p, "now": now_p} for p in submits])
            c.execute(text(upd.format(set="version = version + 1,")), [{**p, "now": now_p} for p in notes])
            c.execute(insert(Event), events)
            c.execute(text("UPDATE chain_head SET last_event_id = :i, last_hash = :h, count = count + :n WHERE id = 1"),
                      {"i": next_id - 1, "h": prev, "n": len(events)})
    eng.dispose()
    return t.seconds, len(events)


def same_state(url: str) -> tuple[str, list[tuple]]:
    """What both sides must leave alike: the chain head's hash (so every event, field for
    field, in the same order) and every item's row as the actions wrote it."""
    eng = dbmod.make_engine(url)
    with eng.connect() as c:
        head = c.execute(select(ChainHead.last_hash)).scalar_one()
        rows = [tuple(r) for r in c.execute(select(
            WorkItem.id, WorkItem.status, WorkItem.version, WorkItem.started_at, WorkItem.submitted_at,
            WorkItem.updated_at, WorkItem.updated_by).order_by(WorkItem.id))]
    eng.dispose()
    return head, rows


def copy_db(backend: str, src_url: str, workdir: Path, units: int, rows: int):  # type: ignore[no-untyped-def]
    """A fresh copy of the seeded database (context manager yielding its URL)."""
    from contextlib import contextmanager

    @contextmanager
    def cm():  # type: ignore[no-untyped-def]
        if backend == "sqlite":
            src = Path(src_url.removeprefix("sqlite:///"))
            dst = workdir / f"copy-{id(object())}.db"
            shutil.copy(src, dst)
            try:
                yield f"sqlite:///{dst}"
            finally:
                dst.unlink(missing_ok=True)
            return
        with fresh_db(backend, workdir) as url:
            seed(url, units, rows)
            yield url

    return cm()


def run(units: int, rows: int, which: list[str] | None = None) -> list[dict]:
    """Every backend: the best of three runs of each side (the floor is short: one slow run moved the ratio by a third); one dict per backend."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for backend in backends(which):
            with fresh_db(backend, work) as url:
                seed(url, units, rows)
                sheets = filled_sheets(url, units)
                parsed = [read_sheet(data, name) for name, data in sheets]
                results = {}
                states: dict[str, tuple] = {}
                for label, fn in (("floor", lambda u: run_floor(u, units, rows, sheets)),
                                  ("import", lambda u: run_import(u, sheets)),
                                  ("apply", lambda u: run_import(u, sheets, parsed=parsed))):
                    best = None
                    for _ in range(3):
                        with copy_db(backend, url, work, units, rows) as u:
                            secs, n = fn(u)
                            state = same_state(u)
                            if label != "floor":
                                eng = dbmod.make_engine(u)
                                with eng.connect() as c:
                                    count = c.execute(select(func.count()).select_from(Event)).scalar_one()
                                eng.dispose()
                                assert count == n + units, (count, n)  # one event per action + one per sheet
                            # the floor wrote exactly what the import writes (events, hash chain, items)
                            assert states.setdefault("floor", state) == state, f"{label} wrote other rows than the floor"
                        best = secs if best is None else min(best, secs)
                    results[label] = (best, n)
                floor = results["floor"][0]
                read_s = None  # reading alone: read_sheets over the 34 files, the best of three
                for _ in range(3):
                    with QuietTimer() as t:
                        read_sheets([(data, name) for name, data in sheets])
                    read_s = t.seconds if read_s is None else min(read_s, t.seconds)
                r = {"backend": backend, "units": units, "rows": rows, "floor_s": floor, "events": results["floor"][1],
                     "import_s": results["import"][0], "actions": results["import"][1], "apply_s": results["apply"][0],
                     "ratio": results["import"][0] / floor, "apply_ratio": results["apply"][0] / floor,
                     "read_s": read_s, "read_ratio": read_s / floor}
                print(f"{backend}: floor {floor:.2f} s ({r['events']} events) | import {r['import_s']:.2f} s "
                      f"({r['actions']} actions) = {r['ratio']:.1f}× | apply (sheets already read) "
                      f"{r['apply_s']:.2f} s = {r['apply_ratio']:.1f}×  (goal ≤ 3×) | read alone {read_s:.2f} s = "
                      f"{r['read_ratio']:.2f}×", flush=True)
                out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=34)
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--backend", action="append")
    args = ap.parse_args()
    print(f"# progress import: {args.units} units × {args.rows} rows — {machine()}")
    run(args.units, args.rows, args.backend)


if __name__ == "__main__":
    main()

"""Benchmark: load a generated 100,000-task plan, next to the floor.

Floor: SQLAlchemy Core executemany of exactly the rows the loader wrote (tasks, task
units, work items, dependencies, sections, the plan and its event) into a fresh database
with the same schema. Ours: read the CSV annex + validate ("6 rõ", unit splitting,
deadline parsing) + the transactional write. Goal: ratio ≤ 3×.

    uv run python bench/load_plan.py [--tasks 100000] [--backend sqlite --backend postgres]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import Timer, backends, fresh_db, machine  # noqa: E402
from engine import db as dbmod  # noqa: E402
from engine.models import Event, Plan, PlanRevision, Section, Task, TaskDependency, TaskUnit, Unit, WorkItem  # noqa: E402
from engine.planfile.loader import load_plan_spec  # noqa: E402
from engine.planfile.readers import read_plan_file  # noqa: E402

NOW = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
LEADS = ["Sở Khoa học và Công nghệ", "Sở Tài chính", "Sở Nội vụ", "Sở Y tế", "Sở Giáo dục và Đào tạo",
         "Sở Công Thương", "Sở Xây dựng", "Sở Nông nghiệp và Môi trường", "Công an tỉnh", "Văn phòng UBND tỉnh",
         "Sở Văn hóa, Thể thao và Du lịch", "Sở Tư pháp"]
DEADLINES = ["6/2025", "06/2025", "Tháng 9/2025", "Quý II/2025", "Quý IV/2025", "2025", "2025 - 2026",
             "15/06/2025", "Thường xuyên", "12/2026"]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


def generate_csv(path: Path, n: int, seed: int = 57) -> None:
    rnd = random.Random(seed)
    per_section = n // len(ROMAN)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["KẾ HOẠCH THỬ TẢI"])
        w.writerow(["TT", "Tên nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Kết quả", "Thời gian hoàn thành"])
        code = 0
        for s in ROMAN:
            w.writerow([s, f"Nhóm nhiệm vụ {s}", "", "", "", ""])
            for _ in range(per_section):
                code += 1
                k = rnd.choice([1, 1, 1, 2, 3])
                lead = ", ".join(rnd.sample(LEADS, k))
                coord = ", ".join(rnd.sample(LEADS, 2))
                w.writerow([code, f"Triển khai nhiệm vụ chuyển đổi số số {code} theo kế hoạch", lead, coord,
                            rnd.choice(["Kế hoạch", "Báo cáo", "Quyết định", ""]), rnd.choice(DEADLINES)])


TABLES = [Unit, Plan, Section, Task, TaskUnit, TaskDependency, WorkItem, PlanRevision, Event]


def dump_rows(url: str) -> dict[type, list[dict]]:
    eng = dbmod.make_engine(url)
    out = {}
    with eng.connect() as c:
        for m in TABLES:
            out[m] = [dict(r._mapping) for r in c.execute(select(m.__table__))]
    eng.dispose()
    return out


def floor_insert(url: str, rows: dict[type, list[dict]]) -> float:
    eng = dbmod.make_engine(url)
    with Timer() as t:
        with eng.begin() as c:
            for m in TABLES:
                if rows[m]:
                    c.execute(insert(m.__table__), rows[m])
    eng.dispose()
    return t.seconds


def run(n: int, which: list[str]) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        csv_path = tmpd / "plan-100k.csv"
        generate_csv(csv_path, n)
        for backend in which:
            with fresh_db(backend, tmpd) as url:
                eng = dbmod.make_engine(url)
                with Timer() as t_read:
                    spec = read_plan_file(csv_path)
                with Timer() as t_load:
                    r = load_plan_spec(eng, spec, now=NOW, code="BENCH")
                eng.dispose()
                rows = dump_rows(url)
            with fresh_db(backend, tmpd) as url2:
                floor = floor_insert(url2, rows)
            total = t_read.seconds + t_load.seconds
            n_rows = sum(len(v) for v in rows.values())
            results.append({"backend": backend, "tasks": r.tasks, "work_items": r.work_items, "rows": n_rows,
                            "read_s": t_read.seconds, "validate_write_s": t_load.seconds, "total_s": total,
                            "floor_s": floor, "ratio": total / floor})
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    a = ap.parse_args()
    print(f"# plan load, {a.tasks:,} tasks — {machine()}")
    for r in run(a.tasks, backends(a.backend)):
        print(f"{r['backend']:8s} tasks={r['tasks']:,} items={r['work_items']:,} rows={r['rows']:,}  "
              f"read {r['read_s']:.2f}s + validate/write {r['validate_write_s']:.2f}s = {r['total_s']:.2f}s  "
              f"floor {r['floor_s']:.2f}s  ratio {r['ratio']:.2f}x (goal ≤ 3x)")


if __name__ == "__main__":
    main()

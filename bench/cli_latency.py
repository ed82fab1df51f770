"""Benchmark: wall time of `steer task note …` next to `python -c pass` (the floor).

The assignee path must stay light: it imports neither prefect nor apprise (checked here
with -X importtime too). Goal from the lifecycle issue: median ≤ 3× the floor.

    uv run python bench/cli_latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PY = sys.executable
STEER = [PY, "-m", "cli.main"]


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    from engine.db import make_engine, transaction, upgrade
    from engine.directory_store import parse_directory_file, store_directory
    from engine.planfile.loader import load_plan_file

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        eng = make_engine(url)
        upgrade(eng)
        now = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
        with transaction(eng) as s:
            store_directory(s, parse_directory_file(ROOT / "plans" / "sample-directory.yaml"), now=now)
        load_plan_file(eng, ROOT / "plans" / "sample-plan.yaml", now=now)
        eng.dispose()
        note = [*STEER, "--db", url, "task", "note", "KH-57-LS/3", "--as", "bptth_focal", "--note", "Đang triển khai", "--now", "2025-04-02"]
        # warm caches (bytecode, page cache), then measure
        timed([PY, "-c", "pass"], 2)
        timed(note, 2)
        floor = timed([PY, "-c", "pass"], a.runs)
        ours = timed(note, a.runs)
        imp = subprocess.run([*note[:1], "-X", "importtime", *note[1:]], cwd=ROOT, capture_output=True, text=True)
        heavy = sorted({line.split("|")[-1].strip().split(".")[0] for line in imp.stderr.splitlines()
                        if line.split("|")[-1].strip().split(".")[0] in {"prefect", "apprise", "fastapi", "uvicorn"}})
        sqla = [line for line in imp.stderr.splitlines() if line.rstrip().endswith("| sqlalchemy")]
    f, o = statistics.median(floor), statistics.median(ours)
    print(f"# CLI latency ({a.runs} runs, median)")
    print(f"python -c pass      {f * 1000:8.1f} ms   (floor)")
    print(f"steer task note     {o * 1000:8.1f} ms   ratio {o / f:.1f}x (goal ≤ 3x)")
    print(f"heavy modules imported on this path: {', '.join(heavy) or 'none (no prefect, apprise, fastapi)'}")
    if sqla:
        us = int(sqla[0].split("|")[1].strip())
        print(f"of which importing SQLAlchemy alone: {us / 1000:.0f} ms")


if __name__ == "__main__":
    main()

"""Run every benchmark on SQLite and PostgreSQL and write bench/RESULTS.md.

Each benchmark runs in its own process (fresh memory, its own floor measured in that same
process); this script only collects what each one returns and prints, and states every
figure next to its floor, the ratio and the goal from the issues.

    uv run python bench/run_all.py [--quick] [--only load_plan,escalation_scan,report,web,cli_latency,load_pdf]

--quick uses small sizes (for checking the script), and the file then says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "RESULTS.md"
NOTES = ROOT / "bench" / "NOTES.md"  # the why behind the figures, included in RESULTS.md
MARK = "@@RESULT@@"

# name -> (python snippet run in a subprocess; it prints MARK + a JSON list of result rows last)
# A result row: {"backend", "measure", "ours", "floor", "unit", "ratio", "goal", "higher_is_better"}
SNIPPETS: dict[str, str] = {
    "load_plan": """
from bench import load_plan
from bench.common import backends
rows = []
for r in load_plan.run({n}, backends()):
    rows.append(dict(backend=r["backend"], measure=f"plan load, {{r['tasks']:,}} tasks / {{r['work_items']:,}} items (read + validate + write)",
                     ours=r["total_s"], floor=r["floor_s"], unit="s", ratio=r["ratio"], goal=3.0))
""",
    "escalation_scan": """
import tempfile
from datetime import date
from pathlib import Path
from bench import escalation_scan
from bench.common import backends
rows = []
with tempfile.TemporaryDirectory() as tmp:
    for b in backends():
        out = escalation_scan.run(b, {n}, date(2025, 6, 16), Path(tmp))
        for name, ratio in out.items():
            if isinstance(ratio, (int, float)):
                rows.append(dict(backend=b, measure=f"escalation detection pass, {{{n}:,}} open items: {{name}}",
                                 ours=None, floor=None, unit="s", ratio=ratio, goal=2.0 if name in ("next day", "next day (against the select+insert floor)") else None))
""",
    "report": """
import tempfile
from pathlib import Path
from bench import report
from bench.common import backends
rows = []
with tempfile.TemporaryDirectory() as tmp:
    for b in backends():
        r = report.run(b, {n}, 3, Path(tmp))
        rows.append(dict(backend=b, measure=f"monthly report, {{r.get('work_items', {n}):,}} work items, {{r.get('events', 0):,}} events",
                         ours=r["ours_s"], floor=r["floor_s"], unit="s", ratio=r["ratio"], goal=2.0))
""",
    "web": """
from bench import web
rows = []
# the default deployment (steer web's own worker count) is the one the goals are about; one
# worker per process is shown too, without a goal
res = web.run(seconds={seconds}, workers=[0, 1])
web.print_table(res)
floor = {{(r["backend"], r["server"], r["mode"]): r for r in res if r["endpoint"] == "floor"}}
for r in res:
    if r["endpoint"] == "floor":
        continue
    f = floor.get((r["backend"], r["server"], r["mode"]), {{}})
    default = "(default)" in r["server"]
    label = f"web {{r['endpoint']}} [{{r['server']}}]"
    if r["mode"] == "max":
        rows.append(dict(backend=r["backend"], measure=f"{{label}}: throughput, 50 users without pause",
                         ours=r["rps"], floor=f.get("rps"), unit="req/s", ratio=r["ratio"], goal=0.3 if default else None,
                         higher_is_better=True, met=r.get("goal_met") if default else None))
    else:
        rows.append(dict(backend=r["backend"], measure=f"{{label}}: p99 latency, 50 users at {{r['mode']}}",
                         ours=r["p99_ms"], floor=f.get("p99_ms"), unit="ms", ratio=None, goal=None,
                         goal_text="p99 < 100 ms" if default else None, met=r.get("goal_met") if default else None))
""",
    "cli_latency": """
from bench import cli_latency
rows = []
for r in cli_latency.run(None, {runs}):
    f = r["floor_ms"] / 1000
    fs = r["floor_served_ms"] / 1000
    rows.append(dict(backend=r["backend"], measure="steer task note, handed to a running steer web", ours=r["served_ms"] / 1000,
                     floor=fs, unit="s", ratio=r["served_ms"] / r["floor_served_ms"], goal=3.0))
    rows.append(dict(backend=r["backend"], measure="steer task note, in-process (no server)", ours=r["inprocess_ms"] / 1000,
                     floor=f, unit="s", ratio=r["inprocess_ms"] / r["floor_ms"], goal=None))
""",
    "load_pdf": """
from bench import load_pdf
r = load_pdf.run({rounds})
size = f"NQ03 annex PDF, {{r['pages']}} pages, {{r['tasks']}} tasks"
rows = [dict(backend="sqlite", measure=f"plan load from PDF, {{size}} (read + validate + write)",
             ours=r["load_s"], floor=r["floor_s"], unit="s", ratio=r["load_ratio"], goal=3.0),
        dict(backend="—", measure=f"PDF read alone, {{size}} (PDF -> PlanSpec)",
             ours=r["read_s"], floor=r["floor_s"], unit="s", ratio=r["read_ratio"], goal=None)]
print(r)
""",
    "progress_import": """
from bench import progress_import
rows = []
for r in progress_import.run({units}, {rows_per_unit}):
    rows.append(dict(backend=r["backend"], measure=f"progress sheets imported, {{r['units']}} units × {{r['rows']}} rows ({{r['actions']:,}} actions)",
                     ours=r["import_s"], floor=r["floor_s"], unit="s", ratio=r["ratio"], goal=3.0))
    rows.append(dict(backend=r["backend"], measure="progress sheets: planning and applying alone (sheets already read)",
                     ours=r["apply_s"], floor=r["floor_s"], unit="s", ratio=r["apply_ratio"], goal=None))
""",
    "rollup": """
from bench import rollup
r = rollup.run({provinces}, {communes}, {rounds}, {pages})
rows = [dict(backend="sqlite", measure=f"roll-up: {{r['provinces']}} signed snapshots × {{r['communes'] // r['provinces']}} communes imported, verified, rolled up (minimums of {{r['rounds']}} rounds)",
             ours=r["import_min_s"], floor=r["floor_min_s"], unit="s", ratio=r["ratio"], goal=3.0),
        dict(backend="sqlite", measure=f"roll-up: the same, medians (of the rounds' ratios: {{r['median_round_ratio']:.2f}}×)",
             ours=r["import_s"], floor=r["floor_s"], unit="s", ratio=r["median_ratio"], goal=None),
        dict(backend="sqlite", measure="roll-up: national heat map GET /rollup, p99 (ms; goal < 200)",
             ours=r["page_p99_ms"] / 1000, floor=0.2, unit="s", ratio=r["page_p99_ms"] / 200, goal=1.0)]
print(r)
""",
}
FULL = {"load_plan": {"n": 100_000}, "escalation_scan": {"n": 1_000_000}, "report": {"n": 100_000},
        "web": {"seconds": 8}, "cli_latency": {"runs": 15}, "load_pdf": {"rounds": 3},
        "progress_import": {"units": 34, "rows_per_unit": 300},
        "rollup": {"provinces": 34, "communes": 100, "rounds": 15, "pages": 200}}
QUICK = {"load_plan": {"n": 2_000}, "escalation_scan": {"n": 20_000}, "report": {"n": 5_000},
         "web": {"seconds": 2}, "cli_latency": {"runs": 3}, "load_pdf": {"rounds": 1},
         "progress_import": {"units": 4, "rows_per_unit": 30},
         "rollup": {"provinces": 4, "communes": 10, "rounds": 2, "pages": 20}}


def run_one(name: str, params: dict) -> tuple[list[dict], str, float]:
    code = "import sys, json\nsys.path.insert(0, %r)\n" % str(ROOT) + SNIPPETS[name].format(**params) + \
        f"\nprint({MARK!r} + json.dumps(rows, default=str))\n"
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    out = p.stdout
    rows: list[dict] = []
    text_lines = []
    for line in out.splitlines():
        if line.startswith(MARK):
            rows = json.loads(line[len(MARK):])
        else:
            text_lines.append(line)
    if p.returncode != 0:
        text_lines.append(f"!! exit {p.returncode}\n{p.stderr[-3000:]}")
    return rows, "\n".join(text_lines), secs


def verdict(r: dict) -> str:
    if r.get("goal_text"):
        return ("met" if r.get("met") else "MISSED") + f" ({r['goal_text']})"
    goal, ratio = r.get("goal"), r.get("ratio")
    if goal is None or ratio is None:
        return "(no goal)"
    ok = ratio >= goal if r.get("higher_is_better") else ratio <= goal
    return ("met" if ok else "MISSED") + (f" ({'≥' if r.get('higher_is_better') else '≤'} {goal:g}×)")


def fmt(v: object, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "s":
        return f"{float(v):.3f} s"  # type: ignore[arg-type]
    if unit == "ms":
        return f"{float(v):.0f} ms"  # type: ignore[arg-type]
    return f"{float(v):,.0f} {unit}"  # type: ignore[arg-type]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(SNIPPETS))
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    sizes = QUICK if a.quick else FULL
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    sections, summary = [], []
    for name in [n.strip() for n in a.only.split(",") if n.strip()]:
        print(f"== {name} {sizes[name]}", flush=True)
        rows, text, secs = run_one(name, sizes[name])
        print(text, flush=True)
        summary += [(name, r) for r in rows]
        sections.append(f"### {name} ({secs:.0f} s, parameters {sizes[name]})\n\n```\n{text.strip()}\n```\n")
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `uv run python bench/run_all.py{' --quick' if a.quick else ''}` — do not edit by hand.",
        "",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- commit: {commit}",
        f"- machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        f"- sizes: {'QUICK (script check only, not the issues’ sizes)' if a.quick else 'as the issues state'}",
        "",
        "Every ratio is measured against a floor run in the same process (see each script's docstring",
        "for what its floor is). Wall times on a shared 2-core machine vary between runs; ratios vary less.",
        "",
        "| bench | backend | measure | ours | floor | ratio | goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in summary:
        extra = f"; {r['extra']}" if r.get("extra") else ""
        ratio = "—" if r.get("ratio") is None else f"{r['ratio']:.2f}×"
        lines.append(f"| {name} | {r['backend']} | {r['measure']}{extra} | {fmt(r.get('ours'), r['unit'])} | "
                     f"{fmt(r.get('floor'), r['unit'])} | {ratio} | {verdict(r)} |")
    missed = [(name, r) for name, r in summary if verdict(r).startswith("MISSED")]
    lines += ["", "## Goals missed in this run", ""]
    if missed:
        lines += [f"- {name}, {r['backend']}: {r['measure']} — {verdict(r)}, measured "
                  f"{fmt(r.get('ours'), r['unit']) if r.get('ratio') is None else format(r['ratio'], '.2f') + '×'}"
                  for name, r in missed]
    else:
        lines.append("None: every figure with a goal met it in this run.")
    if NOTES.exists():  # why, where a goal is missed or a floor needs explaining (hand-written, versioned)
        lines += ["", NOTES.read_text(encoding="utf-8").strip()]
    lines += ["", "## Output of each benchmark", ""] + sections
    Path(a.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

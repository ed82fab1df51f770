"""Mutation testing of the engine's pure modules (issue 25). Not part of the test suite or CI.

    python3 run.py mutate engine/policy.py              # one module (or several, one after another)
    python3 run.py mutate all                           # timeliness, deadlines, workdays, policy, outbox
    python3 run.py mutate --report                      # only rewrite bench/MUTATION.md

For each module it runs mutmut (configured in pyproject.toml, ``[tool.mutmut]``) on that module alone,
with the narrowest test files that exercise it (``MODULES`` below), on SQLite only. mutmut copies the
tree to ./mutants and runs each mutant's tests in a process forked from one that already ran them, so
whatever that process computed once — patterns compiled at import, the holiday calendar, a parsed
policy file — would hide a mutant. Two things undo that: tests/conftest.py clears the process caches
before each test under mutation, and every mutant that survives is checked again in a fresh pytest
process that has the mutant switched on from its first import (``MUTANT_UNDER_TEST``); only a mutant
that survives both counts as a survivor.

mutmut selects each mutant's tests by node id in a process that has already collected them, so a
test's id must come out the same when one process collects twice. pytest 9 keeps the ids it resolved
from ``parametrize(ids=[...])`` (or ``ids=callable``) on the mark and escapes them again on the
second collection: a non-ASCII id ("Quý II/2025") is escaped twice and then
"not found". Give such ids with ``pytest.param(..., id=...)`` instead (tests/test_deadlines.py,
``_cases``); ids pytest derives from the values themselves are not affected.

Survivors are matched against ``bench/mutation_equivalents.toml``: an ``[[equivalent]]`` entry (the
mutant cannot change behaviour) leaves the score's denominator, a ``[[survivor]]`` entry only explains
why a survivor is accepted. Entries name the function and the changed lines, not mutmut's number, so
they still match when the numbering moves; an entry that no longer matches anything is reported.
The per-module results are kept in ``bench/mutation/results.json`` so that running one module
rewrites only its row of ``bench/MUTATION.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
RESULTS = ROOT / "bench" / "mutation" / "results.json"
EQUIVALENTS = ROOT / "bench" / "mutation_equivalents.toml"
REPORT = ROOT / "bench" / "MUTATION.md"
TARGET = 90.0

# module → the test files that exercise it (the narrowest set that pins its behaviour)
MODULES: dict[str, list[str]] = {
    "engine/timeliness.py": ["tests/test_timeliness.py"],
    "engine/deadlines.py": ["tests/test_deadlines.py"],
    "engine/workdays.py": ["tests/test_workdays.py"],
    # tests/test_policy.py plus the escalation tests that read the level in force (the whole of
    # test_escalation.py makes a policy run take ~20 minutes instead of ~2)
    "engine/policy.py": ["tests/test_policy.py",
                         "tests/test_escalation.py::test_ack_records_the_level_in_force_for_an_overdue_item",
                         "tests/test_escalation.py::test_ack_before_the_deadline_records_the_reminder_in_force"],
    # test_delivery.py (real SMTP/HTTP receivers, retries) makes hanging mutants time out for
    # minutes each; the claim/renew/record logic is pinned by test_outbox.py
    "engine/outbox.py": ["tests/test_outbox.py"],
}
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def _module_path(arg: str) -> str:
    path = arg.replace("\\", "/")
    if not path.endswith(".py"):
        path = path.replace(".", "/") + ".py"
    if path not in MODULES:
        raise SystemExit(f"mutate: {arg!r} is not one of {', '.join(MODULES)}")
    return path


def _dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("STEER_TEST_POSTGRES_URL", None)  # SQLite only under mutation
    env.pop("MUTANT_UNDER_TEST", None)
    env.setdefault("STEER_SHARED_DIR", str(ROOT.parent / "shared"))  # ../shared seen from ./mutants
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# --- the mutmut run (in a child process: mutmut reads its configuration once per process) ---------


def _mutmut_child(module: str, jobs: int) -> None:
    """Run mutmut on ``module`` with its test files (pyproject's [tool.mutmut], narrowed)."""
    import dataclasses

    import mutmut.configuration as configuration
    from mutmut.__main__ import cli

    os.chdir(ROOT)
    base = configuration._load_config()
    configuration._config = dataclasses.replace(
        base, only_mutate=[module], pytest_add_cli_args_test_selection=list(MODULES[module]))
    cli(["run", "--max-children", str(jobs), f"{_dotted(module)}.*"], standalone_mode=True)


def _run_mutmut(module: str, jobs: int, timeout: int) -> None:
    cmd = [sys.executable, "-m", "bench.mutate", "--child", module, "--jobs", str(jobs)]
    print(f"mutate: mutmut on {module} with {' '.join(MODULES[module])} (timeout {timeout}s)", flush=True)
    # a fresh copy per module: mutmut keeps results between runs only for an unchanged configuration
    shutil.rmtree(MUTANTS, ignore_errors=True)
    log = ROOT / "bench" / "mutation" / f"{Path(module).stem}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"mutate: mutmut failed on {module} (exit {proc.returncode}); see {log}")


def _exit_codes(module: str) -> dict[str, int | None]:
    meta = json.loads((MUTANTS / f"{module}.meta").read_text(encoding="utf-8"))
    prefix = _dotted(module) + "."
    return {k: v for k, v in meta["exit_code_by_key"].items() if k.startswith(prefix)}


def _recheck(module: str, name: str, timeout: int) -> str:
    """Run the module's tests in a fresh process with the mutant on from the first import."""
    env = _env()
    env["MUTANT_UNDER_TEST"] = name
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-x", "-q", "--no-header", *MODULES[module]]
    try:
        proc = subprocess.run(cmd, cwd=MUTANTS, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if proc.returncode == 0 else "killed"


def _changed_lines(name: str, path: str) -> tuple[str, str]:
    """(mangled function name, the changed lines of the mutant's diff)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(name, path=path)
    lines = [ln.rstrip() for ln in diff.splitlines()
             if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    function = name.rsplit("__mutmut_", 1)[0].split(".")[-1]
    return function, "\n".join(lines)


def run_module(module: str, *, jobs: int, timeout: int, recheck_timeout: int) -> dict:
    started = time.monotonic()
    _run_mutmut(module, jobs, timeout)
    codes = _exit_codes(module)
    from mutmut.stats import status_by_exit_code

    status = {k: status_by_exit_code[v] for k, v in codes.items()}
    survivors = sorted(k for k, s in status.items() if s not in KILLED)
    print(f"mutate: {len(codes)} mutants, {len(survivors)} left after mutmut; re-checking each in a fresh process",
          flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rechecked = dict(zip(survivors, pool.map(lambda n: _recheck(module, n, recheck_timeout), survivors)))
    os.chdir(ROOT)
    left = []
    for name in survivors:
        if rechecked[name] != "survived":
            continue
        function, change = _changed_lines(name, module)
        left.append({"name": name, "function": function, "change": change, "mutmut": status[name]})
    return {
        "module": module,
        "tests": MODULES[module],
        "mutants": len(codes),
        "killed": sum(1 for s in status.values() if s in KILLED),
        "killed_on_recheck": sum(1 for n in survivors if rechecked[n] != "survived"),
        "survivors": left,
        "ran_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "seconds": round(time.monotonic() - started),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


# --- the report --------------------------------------------------------------------------------


def _entries() -> tuple[list[dict], list[dict]]:
    if not EQUIVALENTS.exists():
        return [], []
    data = tomllib.loads(EQUIVALENTS.read_text(encoding="utf-8"))
    return list(data.get("equivalent", [])), list(data.get("survivor", []))


def _norm(change: str) -> str:
    return "\n".join(re.sub(r"\s+", " ", ln).strip() for ln in change.strip().splitlines())


def _match(entry: dict, module: str, survivor: dict) -> bool:
    return (entry.get("module") == module and entry.get("function") == survivor["function"]
            and _norm(entry.get("change", "")) == _norm(survivor["change"]))


def _fence(change: str) -> str:
    return "```diff\n" + change + "\n```"


def write_report(results: dict[str, dict]) -> str:
    equivalents, accepted = _entries()
    used: set[int] = set()
    rows, sections = [], []
    for module in MODULES:
        r = results.get(module)
        if r is None:
            rows.append(f"| `{module}` | not run | | | | | |")
            continue
        eq, explained, unexplained = [], [], []
        for s in r["survivors"]:
            hit = next((i for i, e in enumerate(equivalents) if _match(e, module, s)), None)
            if hit is not None:
                used.add(id(equivalents[hit]))
                eq.append((s, equivalents[hit]["reason"]))
                continue
            why = next((e for e in accepted if _match(e, module, s)), None)
            if why is not None:
                used.add(id(why))
                explained.append((s, why["reason"]))
            else:
                unexplained.append(s)
        killed = r["killed"] + r["killed_on_recheck"]
        denominator = r["mutants"] - len(eq)
        score = 100.0 * killed / denominator if denominator else 100.0
        mark = "" if score >= TARGET else " ✗"
        rows.append(f"| `{module}` | {r['mutants']} | {killed} ({r['killed_on_recheck']} on re-check) | {len(eq)} | "
                    f"{len(explained) + len(unexplained)} | **{score:.1f} %**{mark} | {r['commit']}, {r['ran_at']}, "
                    f"{r['seconds']} s |")
        part = [f"### `{module}`", "", f"Tests: {', '.join('`' + t + '`' for t in r['tests'])}.", ""]
        if eq:
            part += ["Equivalent mutants (left out of the score):", ""]
            for s, reason in eq:
                part += [f"- `{s['name']}` — {reason}", "", _fence(s["change"]), ""]
        if explained or unexplained:
            part += ["Surviving mutants:", ""]
            for s, reason in explained:
                part += [f"- `{s['name']}` — {reason}", "", _fence(s["change"]), ""]
            for s in unexplained:
                part += [f"- `{s['name']}` — **not explained yet** (add it to "
                         f"`bench/mutation_equivalents.toml` or kill it)", "", _fence(s["change"]), ""]
        if not (eq or explained or unexplained):
            part += ["Every mutant is killed.", ""]
        sections.append("\n".join(part))
    stale = [e for e in equivalents + accepted
             if id(e) not in used and e.get("module") in results]
    text = [
        "# Mutation testing of the engine's pure modules",
        "",
        "Written by `python3 run.py mutate MODULE…` (bench/mutate.py); do not edit by hand. mutmut "
        "(configured in pyproject.toml) mutates one module and runs the test files listed for it, on "
        "SQLite; every survivor is checked again in a fresh pytest process with the mutant on from "
        "the first import, so patterns compiled at import and process caches cannot hide it. "
        "Score = killed / (mutants − equivalent mutants); the target is ≥ 90 %. Equivalent mutants "
        "and explained survivors are listed, with the reason, in `bench/mutation_equivalents.toml`.",
        "",
        "| module | mutants | killed | equivalent | survived | score | run |",
        "|---|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        *sections,
    ]
    if stale:
        text += ["### Entries that match no survivor", "",
                 *[f"- `{e.get('module')}` `{e.get('function')}`: {e.get('reason')}" for e in stale], ""]
    return "\n".join(text).rstrip() + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="run.py mutate", description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help="engine/policy.py, engine.policy, or 'all'")
    ap.add_argument("--report", action="store_true", help="only rewrite bench/MUTATION.md from the stored results")
    ap.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds for mutmut on one module")
    ap.add_argument("--recheck-timeout", type=int, default=300, help="seconds for one fresh-process re-check")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _mutmut_child(args.child, args.jobs)
        return 0
    modules = list(MODULES) if args.modules == ["all"] else [_module_path(m) for m in args.modules]
    if not modules and not args.report:
        ap.error("name a module (or 'all'), or pass --report")
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    for module in modules:
        results[module] = run_module(module, jobs=args.jobs, timeout=args.timeout,
                                     recheck_timeout=args.recheck_timeout)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        r = results[module]
        print(f"mutate: {module}: {r['mutants']} mutants, {r['killed'] + r['killed_on_recheck']} killed, "
              f"{len(r['survivors'])} survived ({r['seconds']} s)", flush=True)
    os.chdir(ROOT)
    REPORT.write_text(write_report(results), encoding="utf-8")
    print(f"mutate: wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

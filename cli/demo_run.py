"""The demo story, step by step, on a fresh SQLite database (embedded default)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter, defaultdict
from datetime import date, time
from pathlib import Path
from typing import Any

from rich.table import Table

from cli.common import console, level_word, msg, state
from engine.safetext import csv_cell

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"
PLAN_CODE = "KH-57-LS"
LOAD_AT = date(2025, 3, 16)  # the day after the sample plan was issued
AS_OF = date(2025, 8, 1)  # the day after the scripted history ends


def run_demo(out: Path) -> None:
    from engine import clock
    from engine.audit import verify_chain
    from engine.db import ensure_schema, make_engine, transaction
    from engine.directory_store import parse_directory_file, store_directory
    from engine.history import replay_history
    from engine.planfile.loader import load_plan_file

    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db_path = out / "steer.db"
    url = f"sqlite:///{db_path}"
    eng = make_engine(url)
    ensure_schema(eng)
    state().use_db(url, eng)
    step = 0

    def say(key: str, **fmt: Any) -> None:
        nonlocal step
        step += 1
        console.print(f"[bold cyan]{step}.[/] " + msg(key, **fmt))

    say("cli.created_fresh_sqlite_database", db_path=db_path)

    load_now = clock.local_datetime(LOAD_AT, time(8, 0))
    parsed = parse_directory_file(PLANS / "sample-directory.yaml", lang=state().lang)
    with transaction(eng) as s:
        counts = store_directory(s, parsed, now=load_now, lang=state().lang)
    say("cli.loaded_sample_lam_son_directory", units=counts['units'], people=counts['people'])
    _pin_clock(eng)

    r = load_plan_file(eng, PLANS / "sample-plan.yaml", now=load_now, lang=state().lang)
    by_warning = Counter(w.code for w in r.warnings)
    warnings = ", ".join(f"{n} {_warning_word(code)}" for code, n in sorted(by_warning.items()))
    say("cli.demo_loaded_plan", plan_code=r.plan_code, tasks=r.tasks, sections=r.sections, work_items=r.work_items,
        warnings=warnings or msg("cli.demo_no_warnings"))

    rep = replay_history(eng, PLANS / "sample-history.yaml")
    say("cli.replayed_scripted_progress_history_steps", steps=rep.steps,
        actions=", ".join(f"{_action_word(k)} {v}" for k, v in sorted(rep.by_action.items(), key=lambda kv: -kv[1])))

    outputs = _show_result(eng, out)
    _escalate(eng, say, f"{_steer_command()} --db {url} escalation dispatch")
    outputs += _reports(eng, out, say)

    with transaction(eng) as s:
        chain = verify_chain(s)
    say("cli.demo_audit_check", count=chain.count,
        chain=msg("cli.demo_chain_intact") if chain.ok else msg("cli.demo_chain_broken", problems="; ".join(chain.problems)))

    console.print()
    console.print(msg("cli.bold_outputs"))
    console.print(f"  {msg('cli.database_word')}: {db_path}")
    for label, path in outputs:
        console.print(f"  {label}: {path}")
    steer = _steer_command()
    console.print(msg("cli.demo_next_steps"))
    for line in (f"{steer} --db {url} task list --plan {PLAN_CODE} --status in_progress",
                 f"{steer} --db {url} report monthly --period 2025-07 --as-of 2025-08-01 --no-store",
                 f"{steer} --db {url} web"):
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(msg("cli.demo_web_clock"))


def _warning_word(code: str) -> str:
    key = f"cli.demo_warning.{code}"
    from engine.i18n import has

    return msg(key) if has(key) else code


def _action_word(action: str) -> str:
    from engine.i18n import has

    for key in (f"cli.history_action.{action}", f"lc.action.{action}"):
        if has(key):
            return msg(key)
    return action


def _steer_command() -> str:
    """How to run steer from the person's shell: through run.py when they started the demo with
    `python3 run.py demo` (run.py says so in STEER_RUN_PY: under `uv run` steer is on PATH, in
    their shell it is not), else `steer` when it is on PATH, else `python3 <repo>/run.py steer`."""
    import os
    import shlex

    launched = os.environ.get("STEER_RUN_PY")
    if launched:
        return f"python3 {shlex.quote(launched)} steer"
    if shutil.which("steer"):
        return "steer"
    return f"python3 {shlex.quote(str(REPO / 'run.py'))} steer"


def _pin_clock(eng) -> None:  # type: ignore[no-untyped-def]
    """The demo database keeps its story's date: `steer web` on it runs at AS_OF 09:00 (committee
    time) unless STEER_NOW is set (cli/web.py reads Committee.settings["demo_now"])."""
    from engine import clock
    from engine.db import transaction
    from engine.txcache import committee_row

    with transaction(eng) as s:
        c = committee_row(s)
        if c is not None:
            c.settings = {**(c.settings or {}), "demo_now": clock.local_datetime(AS_OF, time(9, 0)).isoformat()}


def _show_result(eng, out: Path) -> list[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from engine.db import transaction
    from engine.models import Task, Unit, WorkItem
    from engine.queries import list_tasks
    from engine.timeliness import classify

    with transaction(eng) as s:
        tasks = list_tasks(s, plan=PLAN_CODE)
        rows = s.execute(
            select(WorkItem, Task.deadline_kind, Unit.code).join(Task, Task.id == WorkItem.task_id)
            .join(Unit, Unit.id == WorkItem.unit_id)
        ).all()
        per_unit: dict[str, Counter[str]] = defaultdict(Counter)
        overall: Counter[str] = Counter()
        for item, kind, unit_name in rows:
            if item.deadline and item.deadline > AS_OF and kind == "recurring":
                continue  # future occurrences are not part of "now"
            t = classify(item.status, item.deadline, item.completed_at, AS_OF, deadline_kind=kind)
            per_unit[unit_name][t] += 1
            overall[t] += 1
    tab = Table(title=msg("cli.progress_as", as_of=AS_OF))
    cols = ["completed_on_time", "completed_late", "on_track", "due_soon", "overdue", "ongoing"]
    heads = {"completed_on_time": msg("cli.done_on_time"), "completed_late": msg("cli.done_late"),
             "on_track": msg("cli.timeliness_on_track"), "due_soon": msg("cli.timeliness_due_soon"),
             "overdue": msg("counts_overdue"), "ongoing": msg("cli.timeliness_ongoing"),
             "no_deadline": msg("cli.timeliness_no_deadline")}
    tab.add_column(msg("unit"), no_wrap=True)
    for c in cols:
        tab.add_column(heads[c], justify="right", max_width=11)
    for unit_name in sorted(per_unit, key=lambda u: (-per_unit[u]["overdue"], u)):
        c = per_unit[unit_name]
        tab.add_row(unit_name, *[str(c[k] or "") for k in cols])
    tab.add_row(msg("cli.bold_total"), *[f"[bold]{overall[k]}[/]" for k in cols])
    console.print(tab)
    from engine.states import UNASSIGNED, status_label

    status = Counter(t["status"] for t in tasks)
    console.print(msg("cli.task_status") + ", ".join(
        f"{(msg('cli.task_unassigned') if k == UNASSIGNED else status_label(k, state().lang)).lower()} {v}"
        for k, v in sorted(status.items(), key=lambda kv: -kv[1])))
    jpath, cpath = out / "tasks.json", out / "tasks.csv"
    jpath.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    with cpath.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["code", "title", "lead_units", "deadline", "deadline_text", "status"])
        for t in tasks:
            w.writerow([csv_cell(v) for v in (t["code"], t["title"], "; ".join(t["lead_units"]), t["deadline"] or "",
                                              t["deadline_text"], t["status"])])
    return [(msg("cli.task_list_json"), jpath), (msg("cli.task_list_csv"), cpath)]


def _escalate(eng, say, dispatch_command: str) -> None:  # type: ignore[no-untyped-def]
    """The daily escalation run as of AS_OF (tracking flips, then the policy into the outbox).

    Delivery is left to `steer escalation dispatch`: the sample notify addresses are
    loopback placeholders with no mail server behind them."""
    from sqlalchemy import func, select

    from engine import clock
    from engine.db import transaction
    from engine.escalation import detect
    from engine.models import OutboxMessage
    from engine.tracking import track

    now = clock.local_datetime(AS_OF, time(8, 0))
    with transaction(eng) as s:
        tr = track(s, now=now)
    with transaction(eng) as s:
        dr = detect(s, now=now)
    with transaction(eng) as s:
        recipients = s.scalar(select(func.count(func.distinct(OutboxMessage.recipient)))) or 0
    levels = msg("cli.demo_levels", levels=", ".join(f"{level_word(k)} {v}" for k, v in sorted(dr.by_level.items()) if v)) \
        if any(dr.by_level.values()) else msg("cli.none")
    say("cli.escalation_run_on_recorded_timeliness", as_of=AS_OF, flips=tr.flips, inserted=dr.inserted, recipients=recipients, levels=levels,
        command=dispatch_command)


def _reports(eng, out: Path, say) -> list[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """Monthly report for July 2025 and quarterly report for Q2, stored as snapshots."""
    from engine import clock
    from engine.db import transaction
    from engine.render import render
    from engine.snapshots import generate_report

    now = clock.local_datetime(AS_OF, time(8, 0))
    outputs: list[tuple[str, Path]] = []
    for kind, period, label in (("monthly", "2025-07", msg("cli.july_2025_report")),
                                ("quarterly", "2025-Q2", msg("cli.q2_2025_report"))):
        with transaction(eng) as s:
            data, snap = generate_report(s, now=now, plan_code=PLAN_CODE, kind=kind, period=period,
                                         as_of=AS_OF, lang=state().lang, created_by="secretariat")
        for fmt in ("html", "docx", "xlsx", "md", "json"):
            path = out / f"bao-cao-{kind}-{period}.{fmt}"
            path.write_bytes(render(data, fmt))
        sm = data["summary"]
        say("cli.built_snapshot_items_due_completed", label=label, snap=snap, due=sm['due'], completed=sm['completed'], completed_on_time=sm['completed_on_time'], overdue=sm['overdue'])
        outputs.append((label + " (html/docx/xlsx/md/json)", out / f"bao-cao-{kind}-{period}.html"))
    return outputs

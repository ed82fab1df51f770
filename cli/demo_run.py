"""The demo story, step by step, on a fresh SQLite database (embedded default)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter, defaultdict
from datetime import date, time
from pathlib import Path

from rich.table import Table

from cli.common import STATE, console, vi
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
    STATE.db, STATE._engine = url, eng
    step = 0

    def say(vi_text: str, en_text: str) -> None:
        nonlocal step
        step += 1
        console.print(f"[bold cyan]{step}.[/] " + vi(vi_text, en_text))

    say(f"Tạo cơ sở dữ liệu SQLite mới: {db_path}", f"Created a fresh SQLite database: {db_path}")

    load_now = clock.local_datetime(LOAD_AT, time(8, 0))
    parsed = parse_directory_file(PLANS / "sample-directory.yaml")
    with transaction(eng) as s:
        counts = store_directory(s, parsed, now=load_now)
    say(f"Nạp danh mục tỉnh Lâm Sơn (mẫu): {counts['units']} đơn vị, {counts['people']} người "
        "(trên nền danh mục chuẩn các bộ, sở, ngành).",
        f"Loaded the sample Lâm Sơn directory: {counts['units']} units, {counts['people']} people "
        "(on top of the built-in standard directory).")

    r = load_plan_file(eng, PLANS / "sample-plan.yaml", now=load_now, lang=STATE.lang)
    by_warning = Counter(w.code for w in r.warnings)
    say(f"Nạp kế hoạch {r.plan_code}: {r.tasks} nhiệm vụ, {r.sections} phần, {r.work_items} phần việc theo dõi; "
        f"cảnh báo «6 rõ»: {dict(by_warning) or 'không'}.",
        f"Loaded plan {r.plan_code}: {r.tasks} tasks, {r.sections} sections, {r.work_items} work items; "
        f"'6 rõ' warnings: {dict(by_warning) or 'none'}.")

    rep = replay_history(eng, PLANS / "sample-history.yaml")
    say(f"Phát lại lịch sử tiến độ mẫu: {rep.steps} bước ({', '.join(f'{k} {v}' for k, v in sorted(rep.by_action.items()))}).",
        f"Replayed the scripted progress history: {rep.steps} steps ({', '.join(f'{k} {v}' for k, v in sorted(rep.by_action.items()))}).")

    outputs = _show_result(eng, out)
    _escalate(eng, say)
    outputs += _reports(eng, out, say)

    with transaction(eng) as s:
        chain = verify_chain(s)
    say(f"Kiểm tra nhật ký kiểm toán: {chain.count} sự kiện, chuỗi băm {'nguyên vẹn' if chain.ok else 'BỊ SỬA: ' + '; '.join(chain.problems)}.",
        f"Audit log check: {chain.count} events, hash chain {'intact' if chain.ok else 'BROKEN: ' + '; '.join(chain.problems)}.")

    console.print()
    console.print(vi("[bold]Kết quả ở:[/]", "[bold]Outputs:[/]"))
    console.print(f"  {vi('cơ sở dữ liệu', 'database')}: {db_path}")
    for label, path in outputs:
        console.print(f"  {label}: {path}")
    console.print(vi(f"  thử tiếp: steer --db {url} task list --plan {PLAN_CODE} --status in_progress",
                     f"  try next: steer --db {url} task list --plan {PLAN_CODE} --status in_progress"))


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
    tab = Table(title=vi(f"Tình hình thực hiện đến {AS_OF:%d/%m/%Y}", f"Progress as of {AS_OF:%d/%m/%Y}"))
    cols = ["completed_on_time", "completed_late", "on_track", "due_soon", "overdue", "ongoing"]
    heads = {"completed_on_time": vi("HT đúng hạn", "done on time"), "completed_late": vi("HT trễ", "done late"),
             "on_track": vi("trong hạn", "on track"), "due_soon": vi("sắp đến hạn", "due soon"),
             "overdue": vi("quá hạn", "overdue"), "ongoing": vi("thường xuyên", "ongoing"),
             "no_deadline": vi("không hạn", "no deadline")}
    tab.add_column(vi("Đơn vị", "Unit"), no_wrap=True)
    for c in cols:
        tab.add_column(heads[c], justify="right", max_width=11)
    for unit_name in sorted(per_unit, key=lambda u: (-per_unit[u]["overdue"], u)):
        c = per_unit[unit_name]
        tab.add_row(unit_name, *[str(c[k] or "") for k in cols])
    tab.add_row(vi("[bold]Tổng[/]", "[bold]Total[/]"), *[f"[bold]{overall[k]}[/]" for k in cols])
    console.print(tab)
    status = Counter(t["status"] for t in tasks)
    console.print(vi("Trạng thái nhiệm vụ: ", "Task status: ") + ", ".join(f"{k} {v}" for k, v in sorted(status.items())))
    jpath, cpath = out / "tasks.json", out / "tasks.csv"
    jpath.write_text(json.dumps(tasks, ensure_ascii=False, indent=2), encoding="utf-8")
    with cpath.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["code", "title", "lead_units", "deadline", "deadline_text", "status"])
        for t in tasks:
            w.writerow([csv_cell(v) for v in (t["code"], t["title"], "; ".join(t["lead_units"]), t["deadline"] or "",
                                              t["deadline_text"], t["status"])])
    return [(vi("danh sách nhiệm vụ (JSON)", "task list (JSON)"), jpath), (vi("danh sách nhiệm vụ (CSV)", "task list (CSV)"), cpath)]


def _escalate(eng, say) -> None:  # type: ignore[no-untyped-def]
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
    levels = ", ".join(f"{k} {v}" for k, v in sorted(dr.by_level.items()) if v) or vi("không có", "none")
    say(f"Chạy đôn đốc ngày {AS_OF:%d/%m/%Y}: ghi {tr.flips} lần đổi trạng thái tiến độ; xếp {dr.inserted} thông báo "
        f"cho {recipients} người/đơn vị vào hàng đợi ({levels}). Gửi bằng: steer escalation dispatch.",
        f"Escalation run on {AS_OF:%d/%m/%Y}: recorded {tr.flips} timeliness changes; queued {dr.inserted} notifications "
        f"for {recipients} recipients ({levels}). Deliver with: steer escalation dispatch.")


def _reports(eng, out: Path, say) -> list[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """Monthly report for July 2025 and quarterly report for Q2, stored as snapshots."""
    from engine import clock
    from engine.db import transaction
    from engine.render import render
    from engine.snapshots import generate_report

    now = clock.local_datetime(AS_OF, time(8, 0))
    outputs: list[tuple[str, Path]] = []
    for kind, period, label in (("monthly", "2025-07", vi("báo cáo tháng 7/2025", "July 2025 report")),
                                ("quarterly", "2025-Q2", vi("báo cáo quý II/2025", "Q2 2025 report"))):
        with transaction(eng) as s:
            data, snap = generate_report(s, now=now, plan_code=PLAN_CODE, kind=kind, period=period,
                                         as_of=AS_OF, lang=STATE.lang, created_by="secretariat")
        for fmt in ("html", "docx", "xlsx", "md", "json"):
            path = out / f"bao-cao-{kind}-{period}.{fmt}"
            path.write_bytes(render(data, fmt))
        sm = data["summary"]
        say(f"Lập {label} (bản lưu #{snap}): {sm['due']} phần việc đến hạn, {sm['completed']} hoàn thành "
            f"({sm['completed_on_time']} đúng hạn), {sm['overdue']} quá hạn.",
            f"Built the {label} (snapshot #{snap}): {sm['due']} items due, {sm['completed']} completed "
            f"({sm['completed_on_time']} on time), {sm['overdue']} overdue.")
        outputs.append((label + " (html/docx/xlsx/md/json)", out / f"bao-cao-{kind}-{period}.html"))
    return outputs

"""steer progress export|import|missing: progress sheets out to units and back in (engine.progress)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import console, handled, msg, now_arg, print_json, state

app = typer.Typer(help="Progress sheets: a pre-filled Excel sheet out to a unit, the filled sheet back in.  "
                       "Example: steer progress export --unit SYT --period 2025-10",
                  no_args_is_help=True)


def _period(value: str | None, now) -> str:  # type: ignore[no-untyped-def]
    from engine.clock import local_date
    from engine.reporting import parse_period

    if value:
        return parse_period(value, lang=state().lang).key
    return local_date(now).strftime("%Y-%m")


@app.command("export")
def export(
    unit: Annotated[Optional[str], typer.Option("--unit", help="Unit code, e.g. SYT. Omit with --all.")] = None,
    plan: Annotated[Optional[str], typer.Option("--plan", help="Only this plan's items.")] = None,
    period: Annotated[Optional[str], typer.Option("--period", help="Reporting period, e.g. 2025-10 (default: this month).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output file (.xlsx; with --all a folder or a .zip).")] = None,
    all_units: Annotated[bool, typer.Option("--all", help="One sheet per unit with open items.")] = False,
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
) -> None:
    """Write a unit's progress sheet (.xlsx): its open items, locked reference and version
    columns, columns to fill (status list, result, evidence document, percent, difficulties,
    extension), instructions on the first sheet.
    Example: steer progress export --unit SYT --period 2025-10 --out tien-do-SYT.xlsx
    Example: steer progress export --all --period 2025-10 --out tien-do-2025-10.zip
    """
    with handled():
        from engine.db import transaction
        from engine.progress import export_all, export_sheet

        moment = now_arg(now)
        key = _period(period, moment)
        if not all_units and not unit:
            raise typer.BadParameter("--unit / --all")
        with transaction(state().engine()) as s:
            if all_units:
                sheets = export_all(s, now=moment, period=key, plan_code=plan, lang=state().lang)
            else:
                sheets = [export_sheet(s, unit or "", now=moment, period=key, plan_code=plan, lang=state().lang)]
        if not all_units:
            sh = sheets[0]
            path = out or Path(sh.filename)
            path.write_bytes(sh.data)
            console.print(msg("prog.exported", n=len(sh.rows), unit=sh.unit_code, path=path), markup=False)
            return
        target = out or Path(f"tien-do-{key}.zip")
        if target.suffix.lower() == ".zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for sh in sheets:
                    zf.writestr(sh.filename, sh.data)
            target.write_bytes(buf.getvalue())
        else:
            target.mkdir(parents=True, exist_ok=True)
            for sh in sheets:
                (target / sh.filename).write_bytes(sh.data)
        console.print(msg("prog.exported_all", units=len(sheets), n=sum(len(sh.rows) for sh in sheets), path=target),
                      markup=False)


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Filled progress sheets (.xlsx).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change and every conflict; write nothing.")] = False,
    skip_conflicts: Annotated[bool, typer.Option("--skip-conflicts", help="Apply the rows without conflicts, name the skipped ones.")] = False,
    actor: Annotated[str, typer.Option("--as", help="Who imports: the secretariat, or the unit's focal point.")] = "secretariat",
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Read filled progress sheets, list per row what changes and every conflict (with row
    numbers), then apply them — all files and rows or nothing (or, with --skip-conflicts, the
    rows without conflicts) — each action as the unit's focal point, the file named as the
    source in the audit log.
    Example: steer progress import tien-do-SYT.xlsx --dry-run
    """
    with handled():
        from engine.db import transaction
        from engine.progress import apply_import, plan_import, read_sheets

        lang = state().lang
        moment = now_arg(now)
        sheets = read_sheets([(f.read_bytes(), f.name) for f in files], lang=lang)
        report = []
        with transaction(state().engine()) as s:
            plans: list = []
            for sh in sheets:  # a document given in an earlier file of this import is in use too
                plans.append(plan_import(s, sh, now=moment, importer=actor, lang=lang, earlier=plans))
            for p in plans:
                report.append(p.as_dict())
                if fmt != "json":
                    _print_plan(p)
            total_conflicts = sum(len(p.conflicts) for p in plans)
            if dry_run:
                if fmt == "json":
                    print_json({"dry_run": True, "files": report})
                else:
                    console.print(msg("prog.dry_run"), markup=False)
                s.rollback()
                return
            if total_conflicts and not skip_conflicts:
                if fmt == "json":
                    print_json({"dry_run": False, "applied": False, "files": report})
                from engine.errors import UserError

                raise UserError(msg("prog.conflicts_refused", n=total_conflicts))
            results = [apply_import(s, p, now=moment, skip_conflicts=skip_conflicts, lang=lang) for p in plans]
        if fmt == "json":
            print_json({"dry_run": False, "applied": True, "files": report,
                        "results": [{"file": r.plan.sheet.source, "actions": r.applied, "rows": r.rows,
                                     "skipped": r.skipped} for r in results]})
            return
        for r in results:
            console.print(msg("prog.applied", n=r.applied, rows=r.rows, file=r.plan.sheet.source,
                              actor=f"{r.plan.actor.name} ({r.plan.actor.id})"), markup=False)
            if r.skipped:
                console.print(msg("prog.skipped", n=len(r.skipped), rows=", ".join(map(str, r.skipped))), markup=False)


def _print_plan(p) -> None:  # type: ignore[no-untyped-def]
    from engine.safetext import terminal_text

    from engine.reporting import period_key_label

    console.print(msg("prog.summary", file=p.sheet.source, unit=p.unit_code, period=period_key_label(p.sheet.period, state().lang),
                      rows=len(p.rows), changes=len(p.changes), conflicts=len(p.conflicts)), markup=False)
    for head, lines in (("prog.head_changes", p.changes), ("prog.head_conflicts", p.conflicts),
                        ("prog.head_warnings", p.warnings)):
        if not lines:
            continue
        console.print(f"  {msg(head)}:", markup=False)
        for row, text in lines:
            console.print(f"    {msg('prog.row', row=row)}: {terminal_text(text)}", markup=False, emoji=False)


@app.command("missing")
def missing(
    period: Annotated[Optional[str], typer.Option("--period", help="Reporting period, e.g. 2025-10 (default: this month).")] = None,
    plan: Annotated[Optional[str], typer.Option("--plan", help="Only this plan's items.")] = None,
    remind: Annotated[bool, typer.Option("--remind", help="Queue one reminder per unit and period in the escalation outbox.")] = False,
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Units that have not sent their progress sheet back for a period, or have open items
    without any update in it; with --remind, a ``report_missing`` reminder through the
    escalation outbox (exactly once per unit and period; policy key report_missing).
    Example: steer progress missing --period 2025-10 --remind
    """
    with handled():
        from engine.db import transaction
        from engine.escalation import context
        from engine.progress import missing_reports, queue_reminders

        moment = now_arg(now)
        key = _period(period, moment)
        queued = None
        with transaction(state().engine()) as s:
            units = missing_reports(s, key, plan_code=plan, lang=state().lang)
            if remind:
                pol = context(s, now=moment, lang=state().lang).policy
                rule = pol.report_missing
                queued = queue_reminders(s, key, units, now=moment, recipients=rule.to) if rule.enabled else -1
        if fmt == "json":
            print_json({"period": key, "units": [u.__dict__ for u in units], "queued": queued})
            return
        if not units:
            console.print(msg("prog.missing_none", period=key), markup=False)
        else:
            console.print(msg("prog.missing_head", period=key, n=len(units)), markup=False)
            for u in units:
                state_text = msg("prog.missing_sent" if u.sent else "prog.missing_not_sent")
                console.print("  " + msg("prog.missing_row", unit=u.code, name=u.name, state=state_text,
                                         stale=u.stale_items, open=u.open_items), markup=False)
        if queued is not None:
            console.print(msg("prog.reminders_off") if queued < 0 else msg("prog.reminders", n=queued), markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="progress")

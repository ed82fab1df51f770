"""steer plan validate|load|list|show|export"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.common import console, handled, msg, now_arg, print_json, state

app = typer.Typer(help="Action plans: validate, load, read back.  Example: steer plan load plans/sample-plan.xlsx --code KH-57-LS",
                  no_args_is_help=True)


def _choices(code: str | None, maps: list[str] | None, status_date: str | None):  # type: ignore[no-untyped-def]
    from engine.days import parse_day
    from engine.planfile.identity import Choices, parse_map

    lang = state().lang
    return Choices(code=code, column_map=parse_map(maps, lang),
                   status_date=parse_day(status_date, lang=lang) if status_date else None)


MAP_HELP = ("Place a column the reader could not: 'Header=field' (field: title, lead, coordinating, deliverable, "
            "deadline, note, status, completed_on, progress). Repeatable.")
STATUS_DATE_HELP = "The date the file's progress column is true on (dd/mm/yyyy): imported statuses are dated that day."


def _print_issues(issues, limit: int = 200) -> None:  # type: ignore[no-untyped-def]
    for i in issues[:limit]:
        style = "red" if i.level == "error" else "yellow"
        label = msg("cli.level_error") if i.level == "error" else msg("cli.level_warning")
        task = escape(f" [{msg('cli.task_word')} {i.task}]") if i.task else ""
        console.print(f"[{style}]{label}[/]{task} {escape(f'{i.ref}: {i.message}')}", highlight=False, emoji=False)
    if len(issues) > limit:
        console.print(msg("cli.and_more_use_format_json", more=len(issues) - limit))


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Plan file: .yaml, .xlsx, .docx, .pdf (text PDF of the signed plan), .csv or .md")],
    code: Annotated[Optional[str], typer.Option("--code", help="Plan code (when the file has none).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    maps: Annotated[Optional[list[str]], typer.Option("--map", help=MAP_HELP)] = None,
) -> None:
    """Check a plan file without loading it: errors (exit code 1) and "6 rõ" warnings.

    Each message names the file, row and column; a column the reader could not place is named.
    Example: steer plan validate annex.docx --map 'Quy mô, mục tiêu=deliverable' --format json
    """
    with handled():
        from engine.planfile.loader import validate_file

        vp = validate_file(state().engine(), file, code=code, choices=_choices(code, maps, None), lang=state().lang)
        if fmt == "json":
            print_json({"file": str(file), "plan": vp.code, "tasks": len(vp.tasks), "sections": len(vp.spec.sections),
                        "ok": vp.ok, "errors": [e.as_dict() for e in vp.errors],
                        "warnings": [w.as_dict() for w in vp.warnings]})
        else:
            _print_issues(vp.errors + vp.warnings)
            console.print(msg("cli.tasks_sections_errors_warnings", file=file, n_tasks=len(vp.tasks), n_sections=len(vp.spec.sections), n_errors=len(vp.errors), n_warnings=len(vp.warnings)), markup=False, emoji=False)
        if not vp.ok:
            raise typer.Exit(1)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="Plan file: .yaml, .xlsx, .docx, .pdf (text PDF of the signed plan), .csv or .md")],
    code: Annotated[Optional[str], typer.Option("--code", help="Plan code; reloading the same code revises the plan.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and show what would change; write nothing.")] = False,
    actor: Annotated[str, typer.Option("--as", help="Person id recorded in the audit log.")] = "secretariat",
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    show_warnings: Annotated[bool, typer.Option("--warnings/--no-warnings", help="List every warning.")] = False,
    maps: Annotated[Optional[list[str]], typer.Option("--map", help=MAP_HELP)] = None,
    status_date: Annotated[Optional[str], typer.Option("--status-date", help=STATUS_DATE_HELP)] = None,
    ocr: Annotated[bool, typer.Option("--ocr", help="A scanned PDF: recognise its table (tesseract-ocr, "
                                      "tesseract-ocr-vie) into the --ocr-out workbook to correct; loads nothing.")] = False,
    ocr_out: Annotated[Optional[Path], typer.Option("--ocr-out", help="With --ocr: the .xlsx to write the "
                                                    "recognised table to (low-confidence cells yellow).")] = None,
) -> None:
    """Load a plan (all or nothing). Reloading a revised file with the same code (or naming the
    same issuing document) updates tasks by code, keeps history, and cancels removed tasks.
    --dry-run --format json prints what would be created (key "preview"), as the web preview shows it.

    A scanned PDF (no text layer) is never loaded directly: --ocr --ocr-out TABLE.xlsx writes
    the recognised table to a workbook; correct it, then load the workbook.

    Example: steer plan load plans/sample-plan.yaml
    Example: steer plan load tracker.xlsx --status-date 24/05/2025 --map 'Quy mô=deliverable' --dry-run --format json
    Example: steer plan load scan.pdf --ocr --ocr-out table.xlsx && steer plan load table.xlsx
    """
    if ocr or ocr_out is not None:
        _ocr_to_workbook(file, ocr_out)
        return
    with handled():
        from engine.planfile.loader import load_plan_file
        from engine.planfile.spec import PlanFileError

        try:
            r = load_plan_file(state().engine(), file, now=now_arg(now), code=code, actor=actor, dry_run=dry_run,
                               lang=state().lang, choices=_choices(code, maps, status_date))
        except PlanFileError as exc:
            raise PlanFileError(f"{exc} {msg('ocr.needs_ocr_flag')}") if _is_scan(file) else exc from None
        if fmt == "json":
            print_json(r.as_dict())
            return
        if show_warnings:
            _print_issues(r.warnings)
        prefix = msg("cli.dry_run_nothing_written") if dry_run else ""
        if r.unchanged:
            console.print(prefix + msg("cli.plan_is_unchanged_since_last", plan_code=r.plan_code, revision=r.revision),
                          markup=False, emoji=False)
            return
        if r.created:
            console.print(prefix + msg("cli.loaded_plan_tasks_sections_units", plan_code=r.plan_code, tasks=r.tasks, sections=r.sections, units=r.units, work_items=r.work_items, n_warnings=len(r.warnings), n_new_units=len(r.new_units)), markup=False, emoji=False)
        else:
            console.print(prefix + msg("cli.revised_plan_revision_added_changed", plan_code=r.plan_code, revision=r.revision, n_added=len(r.added), n_changed=len(r.changed), n_cancelled=len(r.cancelled), n_reactivated=len(r.reactivated), n_warnings=len(r.warnings)), markup=False, emoji=False)
            for label, codes in ((msg("cli.added"), r.added), (msg("cli.changed"), r.changed),
                                 (msg("cli.cancelled"), r.cancelled)):
                if codes:
                    console.print(f"  {label}: {', '.join(codes[:30])}{' …' if len(codes) > 30 else ''}", markup=False, emoji=False)
        if r.warnings and not show_warnings:
            console.print(msg("cli.see_warnings_steer_plan_validate"))


def _is_scan(file: Path) -> bool:
    """A PDF without a text layer (its load error then points at --ocr)."""
    if file.suffix.lower() != ".pdf":
        return False
    from engine.planfile.ocr import has_text_layer

    try:
        return not has_text_layer(file.read_bytes())
    except OSError:
        return False


def _ocr_to_workbook(file: Path, out: Path | None) -> None:
    """``plan load --ocr``: the scan's table recognised into a workbook to correct; nothing loaded."""
    with handled():
        from engine.planfile.ocr import has_text_layer, ocr_pdf_table, ocr_xlsx_bytes
        from engine.planfile.spec import PlanFileError

        lang = state().lang
        if out is None:
            raise PlanFileError(msg("ocr.no_direct_load", source=file))
        if out.suffix.lower() != ".xlsx":
            raise PlanFileError(msg("ocr.out_suffix", path=out))
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise PlanFileError(msg("plan.read.os_error", source=file, reason=exc.strerror or exc)) from None
        if has_text_layer(data):
            raise PlanFileError(msg("ocr.not_a_scan", source=file))
        table = ocr_pdf_table(data, str(file), lang=lang)
        out.write_bytes(ocr_xlsx_bytes([list(r.cells) for r in table.rows], table.flagged))
        console.print(msg("ocr.written", pages=table.pages, source=file, seconds=table.seconds, rows=len(table.rows),
                          flagged=sum(map(sum, table.flagged)), out=out), markup=False, emoji=False)


@app.command("list")
def list_(fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """List loaded plans.

    Example: steer plan list
    """
    with handled():
        from engine.db import transaction
        from engine.queries import list_plans

        with transaction(state().engine()) as s:
            rows = list_plans(s)
        if fmt == "json":
            print_json(rows)
            return
        t = Table()
        for col in (msg("cli.code"), msg("cli.title"), msg("cli.rev"), msg("items_title"),
                    msg("cli.items"), msg("cli.done")):
            t.add_column(col)
        for r in rows:
            t.add_row(Text(r["code"]), Text(r["title"][:80]), str(r["revision"]), str(r["tasks"]), str(r["work_items"]),
                      str(r["completed_items"]))
        console.print(t)


@app.command("show")
def show(
    code: Annotated[str, typer.Argument(help="Plan code.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show one plan: sections, status counts, revisions.

    Example: steer plan show KH-57-LS
    """
    with handled():
        from engine.db import transaction
        from engine.queries import plan_detail

        with transaction(state().engine()) as s:
            d = plan_detail(s, code, lang=state().lang)
        if fmt == "json":
            print_json(d)
            return
        console.print(f"[bold]{escape(d['code'])}[/] — {escape(d['title'])}", emoji=False)
        if d["document"]:
            console.print(f"{d['document']}" + (f" ({d['issued_on']})" if d["issued_on"] else ""), markup=False, emoji=False)
        console.print(msg("cli.tasks_status", tasks=d['tasks'])
                      + ", ".join(f"{k} {v}" for k, v in sorted(d["status"].items())))
        t = Table(title=msg("cli.sections"))
        t.add_column("")
        t.add_column(msg("cli.title"))
        t.add_column(msg("items_title"))
        for s_ in d["sections"]:
            t.add_row(Text(s_["code"]), Text(s_["title"][:100]), str(s_["tasks"]))
        console.print(t)
        t = Table(title=msg("cli.revisions"))
        for col in ("#", msg("cli.at"), msg("cli.file"), "+", "~", "-"):
            t.add_column(col)
        for r in d["revisions"]:
            t.add_row(str(r["number"]), r["loaded_at"][:19], Text(r["source_file"] or ""), str(r["added"]), str(r["changed"]),
                      str(r["cancelled"]))
        console.print(t)

"""steer report monthly|quarterly|semiannual|annual|list|show.

``register(app)`` adds the ``report`` sub-app. Engine modules are imported inside the
commands so ``steer --help`` stays quick.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.common import console, err_console, handled, msg, now_arg, print_json, state

app = typer.Typer(help="Periodic progress reports (báo cáo định kỳ): generate, list, re-render.  "
                       "Example: steer report monthly --period 2025-05 --format docx --out bao-cao.docx",
                  no_args_is_help=True)

FORMATS = ("json", "md", "html", "xlsx", "docx")
BINARY = ("xlsx", "docx")


def _check_format(fmt: str) -> str:
    f = fmt.lower().lstrip(".")
    if f == "markdown":
        f = "md"
    if f not in FORMATS:
        raise typer.BadParameter(msg("cli.unknown_format_choose", fmt=fmt, allowed=', '.join(FORMATS)))
    return f


def _default_name(data: dict[str, Any], fmt: str) -> Path:
    if not data.get("plan"):  # a stored roll-up of the child units (engine.rollup)
        return Path(f"tong-hop-{data['period']['key']}.{fmt}")
    plan = re.sub(r"[^\w.-]+", "-", data["plan"]["code"]).strip("-")
    return Path(f"bao-cao-{plan}-{data['period']['key']}.{fmt}")


def _cannot_write(out: Path, reason: str) -> Exception:
    from engine.errors import UserError

    return UserError(msg("cli.cannot_write", out=out, reason=reason))


def _check_out(out: Path | None) -> None:
    """Refuse an --out that cannot be a file before anything is generated or stored: an empty
    value or a folder, or a path under an existing file."""
    if out is None:
        return
    if out.is_dir():  # also --out '' (the current folder)
        raise _cannot_write(out, msg("cli.it_is_folder_give_file"))
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _cannot_write(out, msg("cli.is_file_not_folder", parent=parent))
            break


def _target(data: dict[str, Any], fmt: str, out: Path | None) -> Path | None:
    """Where the rendered report goes (None: standard output)."""
    if out is None and fmt in BINARY:
        return _default_name(data, fmt)
    return out


class _Staged:
    """A rendered report written to a temporary file beside its target; ``publish`` renames it
    into place, ``discard`` removes it (and the folders made for it). Writing before the
    snapshot is committed means a file that cannot be written stores nothing."""

    def __init__(self, body: bytes, out: Path) -> None:
        import os

        from engine.backup import make_folders

        _check_out(out)
        self.out, self.size = out, len(body)
        self.tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        try:
            self.folders = make_folders(out.parent)
        except OSError as exc:
            raise _cannot_write(out, exc.strerror or str(exc)) from None
        try:
            self.tmp.write_bytes(body)
        except OSError as exc:
            self.discard()
            raise _cannot_write(out, exc.strerror or str(exc)) from None

    def publish(self) -> None:
        try:
            self.tmp.replace(self.out)
        except OSError as exc:
            self.discard()
            raise _cannot_write(self.out, exc.strerror or str(exc)) from None
        err_console.print(msg("cli.wrote_bytes", out=self.out, size=_grouped(self.size)),
                          markup=False)

    def discard(self) -> None:
        from engine.backup import remove_folders

        self.tmp.unlink(missing_ok=True)
        remove_folders(self.folders)


class _Output:
    """What a command rendered, to be written once its transaction has committed (see
    ``output_after_commit``)."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.staged: _Staged | None = None

    def stage(self, body: bytes, target: Path | None) -> None:
        """``body`` for ``target`` (None: standard output); a file is written to its temporary
        place now, so a file that cannot be written fails the transaction and stores nothing."""
        self.body = body
        if target is not None:
            self.staged = _Staged(body, target)


@contextmanager
def output_after_commit() -> Iterator[_Output]:
    """Around a transaction that stores a report and renders it (``_Output.stage``): when the
    block fails — the rendering, the temporary file, the commit — the file is removed; when it
    succeeds the file is moved into place, or the text written to standard output."""
    output = _Output()
    try:
        yield output
    except BaseException:
        if output.staged is not None:
            output.staged.discard()
        raise
    if output.staged is not None:
        output.staged.publish()
    elif output.body is not None:
        write_stdout(output.body)


def write_stdout(body: bytes) -> None:
    """A rendered report on standard output: text as text, a binary format (xlsx, docx) as bytes."""
    try:
        sys.stdout.write(body.decode("utf-8"))
    except UnicodeDecodeError:  # xlsx/docx to a pipe
        sys.stdout.flush()
        sys.stdout.buffer.write(body)


def write_output(body: bytes, out: Path | None) -> None:
    """``body`` to the file ``out`` (through a temporary file beside it), or standard output."""
    if out is None:
        write_stdout(body)
        return
    _Staged(body, out).publish()


def _emit(data: dict[str, Any], fmt: str, out: Path | None) -> None:
    from engine.render import render

    body = render(data, fmt)
    target = _target(data, fmt, out)
    write_output(body, target)


def _generate(kind: str, plan: str | None, period: str | None, as_of: str | None, cutoff_day: int | None,
              rules: Path | None, fmt: str, out: Path | None, store: bool, actor: str, now: str | None,
              rule: str | None = None) -> None:
    with handled():
        fmt = _check_format(fmt)
        _check_out(out)
        from engine.db import transaction
        from engine.days import parse_day
        from engine.render import render
        from engine.reporting import committee_rules, load_rules_file, with_rule
        from engine.snapshots import generate_report

        moment = now_arg(now)
        status_rules = load_rules_file(rules, lang=state().lang) if rules else None
        if rule:
            if status_rules is None:
                with transaction(state().engine()) as s:
                    status_rules = committee_rules(s, lang=state().lang)
            status_rules = with_rule(status_rules, rule, lang=state().lang)
        day = parse_day(as_of, lang=state().lang) if as_of else None
        with output_after_commit() as output, transaction(state().engine()) as s:
            data, snap = generate_report(s, now=moment, store=store, created_by=actor, plan_code=plan, kind=kind,
                                         period=period, as_of=day, cutoff_day=cutoff_day, rules=status_rules,
                                         lang=state().lang)
            output.stage(render(data, fmt), _target(data, fmt, out))
        if data.get("notice"):  # asked for a date before the plan had any data: say so, never a silent all-zero report
            err_console.print(data["notice"], markup=False, emoji=False, highlight=False)
        if snap is not None:
            err_console.print(msg("cli.stored_as_report_re_render", snap=snap))


PlanOpt = Annotated[Optional[str], typer.Option("--plan", help="Plan code (default: the only loaded plan).")]
PeriodOpt = Annotated[Optional[str], typer.Option(
    "--period", help="Period: 2025-05 (month), 2025-Q2 (quarter), 2025-H1 (half year), 2025 (year); "
                     "default: the period of the as-of date.")]
AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", help="Figures as of the end of this day (YYYY-MM-DD or dd/mm/yyyy; default today, committee time).")]
CutoffOpt = Annotated[Optional[int], typer.Option(
    "--cutoff-day", help="Statistical cut-off day 1-28: 14 = a month runs from the 15th of the previous month to the 14th.")]
RulesOpt = Annotated[Optional[Path], typer.Option(
    "--rules", help="YAML file with the green/yellow/red unit rules (default: the committee's settings).")]
RuleOpt = Annotated[Optional[str], typer.Option(
    "--rule", help="Colour rule for the units: share_due (default: share of the items due that are done, "
                   "green >= 90 %, yellow >= 70 %) or any_overdue (red when any item is overdue).")]
FormatOpt = Annotated[str, typer.Option("--format", help="json, md (default), html, xlsx or docx.")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", help="Write to this file (xlsx/docx default: bao-cao-PLAN-PERIOD.EXT in the current folder).")]
NoStoreOpt = Annotated[bool, typer.Option("--no-store", help="Do not keep a snapshot of this report.")]
ActorOpt = Annotated[str, typer.Option("--as", help="Person id recorded as the author of the snapshot.")]
NowOpt = Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")]


def _make_command(kind: str, example: str, help_text: str) -> None:
    def command(plan: PlanOpt = None, period: PeriodOpt = None, as_of: AsOfOpt = None, cutoff_day: CutoffOpt = None,
                rules: RulesOpt = None, fmt: FormatOpt = "md", out: OutOpt = None, no_store: NoStoreOpt = False,
                actor: ActorOpt = "secretariat", now: NowOpt = None, rule: RuleOpt = None) -> None:
        _generate(kind, plan, period, as_of, cutoff_day, rules, fmt, out, not no_store, actor, now, rule)

    command.__doc__ = (f"{help_text}\n\n"
                       "Counts work items (one per lead unit and occurrence) and tasks as of the as-of date, "
                       "from the event log; the report is stored as a snapshot unless --no-store.\n\n"
                       f"Example: steer report {kind} --period {example} --as-of {_as_of_example(example)} "
                       "--format docx --out bao-cao.docx")
    command.__name__ = f"report_{kind}"
    app.command(kind)(command)


def _as_of_example(period: str) -> str:
    return {"2025-05": "2025-05-24", "2025-Q2": "2025-06-20", "2025-H1": "2025-06-20", "2025": "2025-12-20"}[period]


_make_command("monthly", "2025-05", "Monthly report (báo cáo tháng).")
_make_command("quarterly", "2025-Q2", "Quarterly report (báo cáo quý).")
_make_command("semiannual", "2025-H1", "Six-month report (báo cáo 6 tháng).")
_make_command("annual", "2025", "Annual report (báo cáo năm).")


@app.command("list")
def list_reports(
    plan: Annotated[Optional[str], typer.Option("--plan", help="Only this plan's reports.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many (newest first).")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List stored reports, newest first.

    Example: steer report list --plan KH-57-LS
    """
    with handled():
        if fmt not in ("text", "json"):
            raise typer.BadParameter(msg("cli.unknown_format_choose_text_json", fmt=fmt))
        from engine.db import transaction
        from engine.snapshots import list_snapshots

        with transaction(state().engine()) as s:
            rows = list_snapshots(s, plan_code=plan, limit=limit)
        if fmt == "json":
            print_json(rows)
            return
        if not rows:
            console.print(msg("cli.no_report_has_been_stored"))
            return
        from datetime import date

        from engine.days import fmt_date
        from engine.reporting import period_key_label

        for r in rows:
            plan = msg("rollup.nav") if r["type"] == "rollup" else (r["plan"] or "—")
            as_of = fmt_date(date.fromisoformat(r["as_of"])) if r.get("as_of") else "—"
            console.print(
                f"[bold]#{r['id']}[/]  {plan}  {period_key_label(r['period'], state().lang)}  "
                + msg("cli.as_due_completed_overdue_made", as_of=as_of, due=r['due'], completed=r['completed'], overdue=r['overdue'], created_at_local=r['created_at_local'], created_by=r['created_by']), highlight=False)


def _grouped(n: int) -> str:
    """12,378 in English, 12.378 in Vietnamese (the renderers' number format)."""
    from engine.render.labels import fmt_num

    return fmt_num(n, state().lang)


@app.command("show")
def show(
    snapshot_id: Annotated[int, typer.Argument(help="Report number (see steer report list).")],
    fmt: Annotated[str, typer.Option("--format", help="json, md (default), html, xlsx or docx.")] = "md",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Re-render a stored report exactly as it was generated.

    Example: steer report show 3 --format html --out bao-cao-thang-5.html
    """
    with handled():
        fmt = _check_format(fmt)
        from engine.db import transaction
        from engine.snapshots import snapshot_data

        with transaction(state().engine()) as s:
            data = snapshot_data(s, snapshot_id, lang=state().lang)
        _emit(data, fmt, out)


@app.command("export")
def export(
    snapshot_id: Annotated[int, typer.Argument(help="Report number (see steer report list).")],
    signed: Annotated[bool, typer.Option("--signed", help="A signed snapshot (JSON) for the level above.")] = False,
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="central: the Government Office's four statuses per unit (with --format xlsx or json).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="--profile central: json (default) or xlsx.")] = "json",
    key: Annotated[Optional[Path], typer.Option(
        "--key", help="Private key file (default: $STEER_SIGNING_KEY, else ~/.config/steer/signing-key.pem).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file (default: standard output).")] = None,
    now: NowOpt = None,
) -> None:
    """Export a stored report for another system: --signed writes the signed snapshot the level
    above imports with steer rollup import (docs/rollup-snapshot.md); --profile central maps the
    units' figures onto the Government Office's four statuses.

    Example: steer report export 3 --signed --out lam-son-2025-05.json
    """
    with handled():
        from engine.db import transaction
        from engine.errors import UserError
        from engine.rollup import central_profile, default_key_path, export_signed
        from engine.snapshots import snapshot_data

        if signed == bool(profile):
            raise UserError(msg("rollup.need_signed"))
        if profile and profile != "central":
            raise UserError(msg("rollup.unknown_profile", profile=profile))
        if profile and fmt not in ("json", "xlsx"):
            raise UserError(msg("rollup.unknown_format", fmt=fmt, allowed="json, xlsx"))
        _check_out(out)
        with transaction(state().engine()) as s:
            if signed:
                body = export_signed(s, snapshot_id, key_path=key or default_key_path(), now=now_arg(now),
                                     lang=state().lang)
            else:
                from engine.render import render

                body = render(central_profile(snapshot_data(s, snapshot_id, lang=state().lang)), fmt)
        write_output(body, out)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")

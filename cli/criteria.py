"""steer criteria load|record|show: readiness criteria sets (engine.criteria).

A unit is green on a set's view only when every criterion is met. Engine modules are
imported inside the commands so ``steer --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import console, handled, msg, now_arg, print_json, state

app = typer.Typer(help="Readiness criteria sets: a unit is green only when it meets every criterion.  "
                       "Example: steer criteria show SS-2025", no_args_is_help=True)
NowOpt = Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")]
ActorOpt = Annotated[str, typer.Option("--as", help="Person id recorded as the one who did it.")]


@app.command("load")
def load(file: Annotated[Path, typer.Argument(help="YAML (set, title, criteria: [{code, title, description, required}]) "
                                                   "or XLSX (columns Mã/Code, Tên tiêu chí/Title, Mô tả/Description, "
                                                   "Bắt buộc/Required).")],
         set_code: Annotated[Optional[str], typer.Option("--set", help="The set's code (XLSX: instead of a "
                                                                        "«Mã bộ tiêu chí:» line above the header).")] = None,
         title: Annotated[Optional[str], typer.Option("--title", help="The set's title.")] = None,
         actor: ActorOpt = "secretariat", now: NowOpt = None) -> None:
    """Load (or update) a readiness criteria set from YAML or XLSX; a bad row is refused with its
    file, row and field, and nothing is loaded.

    Example: steer criteria load plans/sample-criteria.xlsx
    """
    with handled():
        from engine.criteria import load_set
        from engine.db import transaction

        with transaction(state().engine()) as s:
            r = load_set(s, file, now=now_arg(now), actor=actor, set_code=set_code, title=title, lang=state().lang)
        console.print(msg("crit.loaded", **{k: r[k] for k in ("set", "criteria", "added")}), markup=False)


@app.command("record")
def record_cmd(
    set_code: Annotated[str, typer.Argument(help="The criteria set's code.")],
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    criterion: Annotated[str, typer.Argument(help="Criterion code.")],
    met: Annotated[bool, typer.Option("--met/--not-met", help="Met (needs --evidence or --file) or not met.")] = True,
    evidence: Annotated[Optional[str], typer.Option(
        "--evidence", help="The evidence document (\"Biên bản số 12/BB-UBND ngày 15/7/2025\"), a link …")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="An evidence file (scan, photo, PDF), kept "
                                                                 "like work items' evidence files.")] = None,
    upload_dir: Annotated[Optional[Path], typer.Option(
        "--upload-dir", help="Where evidence files are kept (default $STEER_UPLOAD_DIR, else .steer-web; as steer web).")] = None,
    actor: ActorOpt = "secretariat", now: NowOpt = None,
) -> None:
    """Record a unit's criterion as met (with evidence) or not met; the latest record counts.

    Example: steer criteria record SS-2025 X01 C1 --met --evidence "Biên bản số 12/BB-UBND ngày 15/7/2025" --file bien-ban.pdf
    """
    with handled():
        from engine.criteria import record
        from engine.db import transaction
        from engine.errors import InputFileError
        from engine.evidence import Upload

        stream = None
        if file is not None:
            try:
                stream = file.open("rb")
            except OSError as exc:
                raise InputFileError(msg("rollup.file_unreadable", path=file, reason=exc.strerror or str(exc))) from None
        try:
            with transaction(state().engine()) as s:
                r = record(s, set_code, unit, criterion, met=met, evidence=evidence, now=now_arg(now), actor=actor,
                           upload=Upload(stream, file.name) if stream is not None and file is not None else None,
                           upload_dir=upload_dir, lang=state().lang)
        finally:
            if stream is not None:
                stream.close()
        console.print(msg("crit.recorded", unit=r["unit"], criterion=r["criterion"],
                          state=msg("crit.met" if r["met"] else "crit.not_met")), markup=False)
        if r["evidence"] or r["file"]:
            console.print("  " + msg("crit.evidence_line", evidence=r["evidence"] or "—",
                                     file=r["file"]["name"] if r["file"] else "—"), markup=False, highlight=False)


@app.command("show")
def show(set_code: Annotated[str, typer.Argument(help="The criteria set's code.")],
         fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text") -> None:
    """The set's view: each unit green only when every criterion is met, else red with the missing ones.

    Example: steer criteria show SS-2025 --format json
    """
    with handled():
        from engine.criteria import view
        from engine.db import transaction

        with transaction(state().engine()) as s:
            data = view(s, set_code, lang=state().lang)
        if fmt == "json":
            print_json(data)
            return
        console.print(msg("crit.head", set=data["set"], green=data["green"], total=data["total"]), markup=False)
        for u in data["units"]:
            console.print(f"  {u['unit']}  {msg('rollup.' + u['status'])}: {u['reason']}", markup=False,
                          highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="criteria")

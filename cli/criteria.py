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
def load(file: Annotated[Path, typer.Argument(help="YAML: set, title, criteria: [{code, title}].")],
         actor: ActorOpt = "secretariat", now: NowOpt = None) -> None:
    """Load (or update) a readiness criteria set from YAML.

    Example: steer criteria load tieu-chi-san-sang.yaml
    """
    with handled():
        from engine.criteria import load_set
        from engine.db import transaction

        with transaction(state().engine()) as s:
            r = load_set(s, file, now=now_arg(now), actor=actor, lang=state().lang)
        console.print(msg("crit.loaded", **r), markup=False)


@app.command("record")
def record_cmd(
    set_code: Annotated[str, typer.Argument(help="The criteria set's code.")],
    unit: Annotated[str, typer.Argument(help="Unit code.")],
    criterion: Annotated[str, typer.Argument(help="Criterion code.")],
    met: Annotated[bool, typer.Option("--met/--not-met", help="Met (needs --evidence) or not met.")] = True,
    evidence: Annotated[Optional[str], typer.Option("--evidence", help="The evidence (document number, link …).")] = None,
    actor: ActorOpt = "secretariat", now: NowOpt = None,
) -> None:
    """Record a unit's criterion as met (with evidence) or not met; the latest record counts.

    Example: steer criteria record SS-2025 X01 C1 --met --evidence "Biên bản số 12/BB-UBND"
    """
    with handled():
        from engine.criteria import record
        from engine.db import transaction

        with transaction(state().engine()) as s:
            r = record(s, set_code, unit, criterion, met=met, evidence=evidence, now=now_arg(now), actor=actor,
                       lang=state().lang)
        console.print(msg("crit.recorded", unit=r["unit"], criterion=r["criterion"],
                          state=msg("crit.met" if r["met"] else "crit.not_met")), markup=False)


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

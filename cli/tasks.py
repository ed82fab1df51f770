"""steer task list (lifecycle commands are added by cli/lifecycle.py)"""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Optional

import typer
from rich.table import Table

from cli.common import console, handled, msg, print_json, state
from engine.safetext import csv_cell

app = typer.Typer(help="Tasks and work items.  Example: steer task list --plan KH-57-LS --format json", no_args_is_help=True)

# The task statuses (engine.states: UNASSIGNED and the Status values, in the order the help lists them).
# Spelled out, not imported: the option's help is built at import, and loading engine.states there
# would load the message catalog on every CLI start (tests/test_states.py checks they agree).
STATUSES = ("unassigned", "not_started", "in_progress", "submitted", "blocked", "completed", "cancelled")


@app.command("list")
def list_(
    plan: Annotated[Optional[str], typer.Option("--plan", help="Plan code.")] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", help="Lead unit (code, name or alias).")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="Task status: " + "|".join(STATUSES))] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
    as_: Annotated[Optional[str], typer.Option("--as", help="List the work items this person may see.", metavar="PERSON_ID")] = None,
    due_within: Annotated[Optional[str], typer.Option("--due-within", help="Open items whose deadline in force is within N days (e.g. 7d).", metavar="Nd")] = None,
    now: Annotated[Optional[str], typer.Option("--now", help="Today for --due-within (ISO with offset, or a date); default: the clock.", metavar="ISO")] = None,
) -> None:
    """List tasks (derived status), or work items with --as PERSON / --due-within 7d
    (then --status is an item status).

    Example: steer task list --plan KH-57-LS --as skhcn_focal --due-within 7d
    """
    if as_ is not None or due_within is not None:
        from cli.lifecycle import list_items

        list_items(plan, unit, status, fmt, as_, due_within, now)
        return
    with handled():
        if status and status not in STATUSES:
            raise typer.BadParameter(msg("cli.unknown_status_choose", status=status, allowed=', '.join(STATUSES)))
        from engine.db import transaction
        from engine.queries import list_tasks

        with transaction(state().engine()) as s:
            rows = list_tasks(s, plan=plan, unit=unit, status=status, lang=state().lang)
        if fmt == "json":
            print_json(rows)
        elif fmt == "csv":
            w = csv.writer(sys.stdout)
            cols = ["plan", "code", "title", "section", "lead_units", "coordinating_units", "deliverable", "deadline",
                    "deadline_text", "deadline_kind", "recurrence", "status"]
            w.writerow(cols)
            for r in rows:
                w.writerow([csv_cell("; ".join(r[c]) if isinstance(r[c], list) else ("" if r[c] is None else r[c]))
                            for c in cols])
        else:
            t = Table()
            for col in (msg("cli.col_plan"), "TT", msg("col_task"), msg("cli.lead"), msg("col_deadline"),
                        msg("col_status")):
                t.add_column(col)
            for r in rows:
                t.add_row(r["plan"], r["code"], r["title"][:70], ", ".join(r["lead_units"])[:50],
                          r["deadline"] or r["deadline_text"] or "—", r["status"])
            console.print(t)
            console.print(msg("cli.n_tasks", n_rows=len(rows)))

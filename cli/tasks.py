"""steer task list (lifecycle commands are added by cli/lifecycle.py)"""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

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
            console.print(_task_table(rows))
            console.print(msg("cli.n_tasks", n_rows=len(rows)))


def _deadline_cell(r: dict) -> str:
    """dd/mm/yyyy; an extended deadline in force with the plan's original beside it; else the plan's text."""
    from datetime import date

    from engine.days import fmt_date

    if r.get("deadline_in_force"):
        return msg("cli.deadline_extended", day=fmt_date(date.fromisoformat(r["deadline_in_force"])),
                   original=fmt_date(date.fromisoformat(r["deadline"])) if r["deadline"] else r["deadline_text"] or "—")
    if r["deadline"]:
        return fmt_date(date.fromisoformat(r["deadline"]))
    return r["deadline_text"] or "—"


def _task_table(rows: list[dict]) -> Table:
    """Status labels in the chosen language, dates dd/mm/yyyy, long titles and unit lists wrapped
    on word boundaries (rich; a title over 30 words ends with an ellipsis, a list of units after
    three names says how many more)."""
    from engine.states import UNASSIGNED, status_label

    t = Table(show_lines=False)
    t.add_column(msg("cli.col_plan"), no_wrap=True)
    t.add_column("TT", no_wrap=True, justify="right")
    t.add_column(msg("col_task"), ratio=5, min_width=20)
    t.add_column(msg("cli.lead"), ratio=3, min_width=14)
    t.add_column(msg("col_deadline"), min_width=10)
    t.add_column(msg("col_status"), min_width=14)
    for r in rows:
        label = msg("cli.task_unassigned") if r["status"] == UNASSIGNED else status_label(r["status"], state().lang)
        t.add_row(Text(r["plan"]), Text(r["code"]), _clip(r["title"], 30), _units_cell(r["lead_units"]),
                  Text(_deadline_cell(r)), Text(label))
    return t


def _units_cell(names: list[str], shown: int = 3) -> Text:
    """Whole unit names: the first ``shown``, then "và N đơn vị khác"."""
    if len(names) <= shown + 1:
        return Text(", ".join(names))
    return Text(", ".join(names[:shown]) + " " + msg("cli.and_n_more_units", n=len(names) - shown))


def _clip(text: str, words: int = 40) -> Text:
    """At most ``words`` words (a whole word is never cut), with "…" when shortened."""
    parts = text.split()
    return Text(" ".join(parts[:words]) + (" …" if len(parts) > words else ""), overflow="fold")

"""steer audit verify | log — the hash-chained event log."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cli.common import console, err_console, handled, msg, print_json, state
from engine.safetext import terminal_text

app = typer.Typer(help="The audit log (hash-chained events).  Example: steer audit verify", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Re-hash the whole event log; report every edited, deleted or missing event (exit 1).

    Example: steer --db sqlite:///steer.db audit verify
    """
    with handled():
        from engine.audit import verify_chain
        from engine.db import transaction

        with transaction(state().engine()) as s:
            report = verify_chain(s)
        if report.ok:
            console.print(msg("cli.events_chain_intact", count=report.count))
            return
        err_console.print(msg("cli.audit_log_was_tampered_with", n_problems=len(report.problems), count=report.count),
                          markup=False)
        for p in report.problems:
            err_console.print(f"  - {p}", markup=False)
        raise typer.Exit(1)


@app.command("log")
def log(
    item: Annotated[Optional[str], typer.Option("--item", help="Only this item (PLAN/TASK[@UNIT][#OCC] or #ID).", metavar="REF")] = None,
    limit: Annotated[int, typer.Option("--limit", help="The newest N events (0 = all).", metavar="N")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Print the newest events of the log (oldest first), for everything or one item.

    Example: steer audit log --item KH-57-LS/36 --limit 20
    """
    with handled():
        from engine.db import transaction
        from engine.refs import resolve_item
        from engine.states import status_label
        from engine.queries import event_log

        with transaction(state().engine()) as s:
            item_id = resolve_item(s, item, lang=state().lang).id if item else None
            rows = event_log(s, item_id=item_id, limit=limit or None)
        if fmt == "json":
            print_json(rows)
            return
        for e in rows:
            what = e["kind"]
            if e["kind"] == "status":
                what = f"{status_label(e['from_status'], state().lang)} → {status_label(e['to_status'], state().lang)}"
            line = f"#{e['id']}  {e['at_local']}  {e['actor']}  {e['item'] or '-'}  {what}"
            if e["note"]:
                line += f"  «{e['note']}»"
            if e["evidence"]:
                line += f"  [{e['evidence']}]"
            if e["deadline_after"] and e["kind"] != "status":
                line += f"  {e['deadline_before'] or '—'} → {e['deadline_after']}"
            console.print(terminal_text(line), markup=False)
        console.print(msg("cli.n_events", n_rows=len(rows)), markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")

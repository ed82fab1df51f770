"""steer audit verify | log | checkpoint | keygen — the hash-chained event log and its signed checkpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import console, err_console, handled, msg, print_json, state
from engine.errors import UserError
from engine.safetext import terminal_text

app = typer.Typer(help="The audit log (hash-chained events).  Example: steer audit verify", no_args_is_help=True)


KeyOpt = Annotated[Optional[Path], typer.Option("--key", help="Ed25519 key file kept outside the database (env STEER_AUDIT_KEY); verify also takes its .pub.", metavar="KEY")]
CheckpointsOpt = Annotated[Optional[Path], typer.Option("--checkpoints", help="Checkpoint file kept outside the database (env STEER_AUDIT_CHECKPOINTS).", metavar="FILE")]


def _env_path(given: Optional[Path], env: str) -> Optional[Path]:
    return given or (Path(os.environ[env]) if os.environ.get(env) else None)


@app.command("verify")
def verify(key: KeyOpt = None, checkpoints: CheckpointsOpt = None) -> None:
    """Re-hash the whole event log; check each work item's status against its events and,
    with --checkpoints, the log against every signed checkpoint; report every edited,
    deleted or missing event (exit 1).

    Example: steer --db sqlite:///steer.db audit verify --checkpoints /secure/steer-checkpoints.jsonl --key /secure/steer-audit.key.pub
    """
    with handled():
        from engine import checkpoints as cp
        from engine.audit import verify_chain
        from engine.db import transaction

        cp_path, key_path = _env_path(checkpoints, cp.CHECKPOINTS_ENV), _env_path(key, cp.KEY_ENV)
        records, public = None, None
        if cp_path is not None:
            if key_path is None:
                raise UserError(msg("sec.key_needed"))
            records, public = cp.read_checkpoints(cp_path, lang=state().lang), cp.load_public_key(key_path, lang=state().lang)
        with transaction(state().engine()) as s:
            report = verify_chain(s)
            report.problems.extend(cp.replay_problems(s, lang=state().lang))
            checked = 0
            if records is not None and public is not None:
                checked, found = cp.check_checkpoints(s, records, public, lang=state().lang)
                report.problems.extend(found)
        if report.ok:
            console.print(msg("cli.events_chain_intact", count=report.count))
            if checked and records:
                console.print(msg("sec.checkpoints_ok", n=checked, event_id=records[-1]["event_id"]), markup=False)
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


@app.command("keygen")
def keygen(key: Annotated[Path, typer.Argument(help="Where to write the new private key (its public key goes to KEY.pub).", metavar="KEY")]) -> None:
    """Make the Ed25519 key that signs audit checkpoints. Keep it outside the database
    server (the operator's machine, a secrets store); never overwrites a key.

    Example: steer audit keygen /secure/steer-audit.key
    """
    with handled():
        from engine.checkpoints import make_key

        pub = make_key(key, lang=state().lang)
        console.print(msg("sec.keygen_done", path=str(key), pub=str(pub)), markup=False)


@app.command("checkpoint")
def checkpoint(key: KeyOpt = None, checkpoints: CheckpointsOpt = None) -> None:
    """Sign the audit chain's head with the key file and append the checkpoint to a file
    outside the database; `steer audit verify --checkpoints` then finds any rewrite of the
    log up to it. Run it regularly (e.g. daily) and copy the file off the database server.

    Example: steer audit checkpoint --key /secure/steer-audit.key --checkpoints /secure/steer-checkpoints.jsonl
    """
    with handled():
        from engine import checkpoints as cp
        from engine.clock import now
        from engine.db import transaction

        key_path, cp_path = _env_path(key, cp.KEY_ENV), _env_path(checkpoints, cp.CHECKPOINTS_ENV)
        if key_path is None:
            raise UserError(msg("sec.key_needed"))
        if cp_path is None:
            raise UserError(msg("sec.checkpoints_needed"))
        with transaction(state().engine()) as s:
            rec = cp.checkpoint(s, key_path=key_path, out_path=cp_path, now=now(), lang=state().lang)
        console.print(msg("sec.checkpoint_done", event_id=rec["event_id"], count=rec["count"], path=str(cp_path)),
                      markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")

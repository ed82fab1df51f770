"""Production operations: ``steer deploy``, ``steer doctor``, ``steer db backup|restore``.

``deploy`` imports prefect (~2 s) only when it runs; ``doctor`` talks to the Prefect API
over plain HTTP. Notify URLs and database passwords are never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.common import console, err_console, handled, msg, print_json, state

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (same as the global --db).", metavar="URL")]


def _set_db(db: str | None) -> None:
    if db:
        state().use_db(db)


# --- deploy ------------------------------------------------------------------------------------------


def deploy(
    pool: Annotated[str, typer.Option("--pool", help="Process work pool the worker polls (created if missing).")] = "steer",
    policy: Annotated[Optional[Path], typer.Option("--policy", help="Escalation policy file passed to the escalation flows.", metavar="FILE")] = None,
    report_dir: Annotated[Optional[Path], typer.Option("--report-dir", help="Where report flows write files (STEER_REPORT_DIR of the runs).", metavar="DIR")] = None,
    db_from_worker_env: Annotated[bool, typer.Option("--db-from-worker-env", help="Do not store the database URL in the deployments; the worker's environment sets STEER_DATABASE_URL (needed when the URL has a password).")] = False,
    git: Annotated[Optional[str], typer.Option("--git", help="Workers clone this git repository for each run (default: Steer installed in the worker's Python environment).", metavar="URL")] = None,
    git_ref: Annotated[Optional[str], typer.Option("--git-ref", help="Branch or tag to clone with --git.", metavar="REF")] = None,
    alert_url: Annotated[Optional[str], typer.Option("--alert-url", help="Webhook (json://, http(s)://) the Prefect server notifies when a Steer run fails or crashes (default: the secretariat's first webhook).", metavar="URL")] = None,
    stuck_minutes: Annotated[int, typer.Option("--stuck-minutes", help="A run still Running after this many minutes is marked Crashed.", min=5)] = 180,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOpt = None,
) -> None:
    """Register the escalation (daily 08:00 on working days, delivery retries every 10 min)
    and report (monthly, quarterly) deployments on the Prefect server at PREFECT_API_URL,
    with their cron schedules in the committee's timezone, for a process work pool.
    Run a worker with: prefect worker start --pool steer.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api steer --db postgresql://steer@127.0.0.1/steer deploy --pool steer
    """
    _set_db(db)
    with handled():
        from engine.db import database_url, redact
        from engine.errors import UserError
        from flows.deploy import DeployError, api_url
        from flows.deploy import deploy as run

        url = database_url(state().db)
        try:
            done = run(db_url=url, pool=pool, policy=str(policy) if policy else None,
                       report_dir=str(report_dir) if report_dir else None, db_from_worker_env=db_from_worker_env,
                       lang=state().lang, git_url=git, git_ref=git_ref, alert_url=alert_url,
                       stuck_minutes=stuck_minutes)
        except DeployError as exc:
            raise UserError(str(exc)) from None
        if fmt == "json":
            print_json({"api": api_url(), "pool": pool, "deployments": [d.__dict__ for d in done]})
            return
        from rich.table import Table

        table = Table()
        for col in ("Deployment", msg("cli.schedule"), "Entrypoint"):
            table.add_column(col, overflow="fold")
        for d in done:
            table.add_row(d.name, d.schedule, d.entrypoint)
        console.print(table, emoji=False, markup=False)
        where = msg("cli.worker_environment") if db_from_worker_env else redact(url)
        console.print(msg("cli.registered_deployment_on_work_pool", n_done=len(done), api_url=api_url(), pool=pool, where=where), markup=False, emoji=False)


# --- doctor ------------------------------------------------------------------------------------------


MAX_TIMEOUT = 600.0


def _check_timeout(timeout: float) -> float:
    """--timeout: seconds, above 0 (0 would make the sockets non-blocking) and finite."""
    import math

    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        from engine.errors import UserError

        limit = f"{MAX_TIMEOUT:g}"
        raise UserError(msg("cli.timeout_is_invalid_give_seconds", timeout=timeout, limit=limit))
    return timeout


def _doctor_engine(url: str, timeout: float) -> Any:
    """The engine for the database check: PostgreSQL gives up connecting after ``timeout``
    (libpq connect_timeout, whole seconds) instead of the driver's default of minutes."""
    import math

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from engine import db as dbmod

    u = make_url(dbmod.normalize_url(url))
    if u.get_backend_name() == "postgresql" and u.get_driver_name() == "psycopg" and "connect_timeout" not in u.query:
        return create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": max(1, math.ceil(timeout))})
    return dbmod.make_engine(url)


def _db_checks(timeout: float = 5.0) -> tuple[list[Any], Any]:
    """Database reachable, schema at head. Returns (checks, engine when the schema is current)."""
    from sqlalchemy import text

    from engine import db as dbmod
    from notifications.doctor import FAIL, OK, Check

    url = dbmod.database_url(state().db)
    label = msg("cli.database_label")
    from engine.backup import sqlite_path

    try:
        file = sqlite_path(url)
    except Exception:  # noqa: BLE001 - e.g. :memory:
        file = None
    if file is not None and not file.is_file():  # never create an empty database while checking
        return [Check(label, FAIL, msg("cli.no_database_file", url=dbmod.redact(url), file=file))], None
    try:
        eng = _doctor_engine(url, timeout)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error is a FAIL row
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return [Check(label, FAIL, f"{dbmod.redact(url)}: {reason[0] if reason else type(exc).__name__}")], None
    checks = [Check(label, OK, dbmod.redact(url))]
    schema = msg("cli.schema_migrations")
    found = dbmod.schema_state(eng)
    current = dbmod.current_revision(eng) if found not in ("empty", "foreign") else None
    head = dbmod.head_revision()
    if found == "current":
        checks.append(Check(schema, OK, msg("cli.revision_at_head", head=head)))
    elif found == "behind":
        checks.append(Check(schema, FAIL, msg("cli.at_head_is_run_steer", current=current, head=head)))
    elif found == "empty":
        checks.append(Check(schema, FAIL, msg("cli.empty_database_run_steer_db")))
    elif found == "ahead":
        checks.append(Check(schema, FAIL, msg("cli.revision_is_newer_than_this", current=current, head=head)))
    else:
        checks.append(Check(schema, FAIL, msg("cli.has_tables_that_are_not")))
    if found == "current":
        return checks, eng
    eng.dispose()
    return checks, None


def doctor(
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each network check.")] = 5.0,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOpt = None,
) -> None:
    """Check the installation: database reachable, schema at the latest migration, Prefect API
    healthy with the deployments registered and a worker online, and every notify target of
    units and people reachable (SMTP EHLO or TCP connect; nothing is sent). Exit 1 on any FAIL.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api steer doctor --lang en
    """
    _set_db(db)
    with handled():
        from engine.db import transaction
        from flows.deploy import prefect_checks
        from notifications.doctor import FAIL, OK, SKIP, Check, check_targets, collect

        timeout = _check_timeout(timeout)
        checks, eng = _db_checks(timeout)
        if eng is not None:
            try:
                with transaction(eng) as s:
                    owners = collect(s)
            except Exception as exc:  # noqa: BLE001 - e.g. a schema that is behind: reported above
                owners = []
                checks.append(Check(msg("cli.notify_targets"), FAIL,
                                    msg("cli.cannot_read_directory", name=type(exc).__name__)))
            finally:
                eng.dispose()
        else:
            owners = []
        checks += prefect_checks(timeout=timeout, lang=state().lang)
        target_rows = check_targets(owners, timeout=timeout, lang=state().lang)
        if eng is not None and not owners:
            target_rows = [Check(msg("cli.notify_targets"), FAIL,
                                 msg("cli.no_notify_url_at_all"))]
        checks += target_rows
        failed = [c for c in checks if c.status == FAIL]
        if fmt == "json":
            print_json({"ok": not failed, "checks": [c.__dict__ for c in checks]})
        else:
            from rich.table import Table
            from rich.text import Text

            styles = {OK: "green", FAIL: "bold red", SKIP: "yellow"}
            shown = {OK: "OK", FAIL: "FAIL", SKIP: msg("cli.skip")}
            table = Table()
            for col in (msg("upload_check"), msg("cli.result"), msg("cli.detail")):
                table.add_column(col, overflow="fold")
            for c in checks:
                table.add_row(Text(c.name), Text(shown[c.status], style=styles[c.status]), Text(c.detail))
            console.print(table, emoji=False)
            n_ok = sum(c.status == OK for c in checks)
            n_skip = sum(c.status == SKIP for c in checks)
            console.print(msg("cli.ok_failed_not_checkable", n_ok=n_ok, n_failed=len(failed), n_skip=n_skip), markup=False, emoji=False)
        if failed:
            raise typer.Exit(1)


# --- db backup / restore -----------------------------------------------------------------------------


def _print_snapshot(snap: Any) -> None:
    c = snap.counts
    console.print(msg("cli.schema_events_plans_tasks_work", revision=snap.revision, events=snap.events, plans=c.get('plan', 0), tasks=c.get('task', 0), work_items=c.get('work_item', 0), units=c.get('unit', 0), people=c.get('person', 0), outbox=c.get('outbox', 0)), markup=False, emoji=False)


def db_backup(
    path: Annotated[Path, typer.Argument(help="Backup file to write.", metavar="PATH")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite PATH if it exists.")] = False,
) -> None:
    """Back up the SQLite database to PATH while Steer keeps running (SQLite online backup),
    then check the copy (integrity, schema, audit chain). PostgreSQL: prints the pg_dump command.

    Example: steer --db sqlite:///steer.db db backup backups/steer-2025-08-01.db
    """
    with handled():
        from engine.backup import backup

        snap = backup(_url(), path, force=force, lang=state().lang)
        console.print(msg("cli.backed_up_to", target=snap.path), markup=False, emoji=False)
        _print_snapshot(snap)
        if not snap.chain_ok:
            err_console.print(msg("cli.warning_live_database_audit_chain")
                              + "; ".join(snap.chain_problems[:5]), markup=False)
            raise typer.Exit(1)
        console.print(msg("cli.audit_chain_intact"), markup=False)


def db_restore(
    path: Annotated[Path, typer.Argument(help="Backup file made by «steer db backup».", metavar="PATH")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data.")] = False,
) -> None:
    """Restore the SQLite database from a backup: checks the backup first (integrity, schema
    version, audit chain; an older schema is upgraded), then swaps it in atomically. Refuses a
    database that holds data unless --force. PostgreSQL: prints the pg_restore command.

    Example: steer --db sqlite:///steer.db db restore backups/steer-2025-08-01.db --force
    """
    with handled():
        from engine.backup import restore

        snap = restore(path, _url(), force=force, lang=state().lang)
        console.print(msg("cli.restored_from", target=snap.path, source=path), markup=False, emoji=False)
        _print_snapshot(snap)
        if snap.upgraded_from:
            console.print(msg("cli.backup_was_at_schema_upgraded", upgraded_from=snap.upgraded_from, revision=snap.revision), markup=False)
        console.print(msg("cli.audit_chain_intact"), markup=False)


def _url() -> str:
    from engine.db import database_url

    return database_url(state().db)


def register(root: typer.Typer) -> None:
    root.command("deploy")(deploy)
    root.command("doctor")(doctor)
    for group in root.registered_groups:
        if group.name == "db" and group.typer_instance is not None:
            group.typer_instance.command("backup")(db_backup)
            group.typer_instance.command("restore")(db_restore)
            break

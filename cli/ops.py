"""Production operations: ``steer deploy``, ``steer doctor``, ``steer db backup|restore``.

``deploy`` imports prefect (~2 s) only when it runs; ``doctor`` talks to the Prefect API
over plain HTTP. Notify URLs and database passwords are never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.common import console, err_console, handled, print_json, state, vi

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
                       lang=state().lang)
        except DeployError as exc:
            raise UserError(str(exc)) from None
        if fmt == "json":
            print_json({"api": api_url(), "pool": pool, "deployments": [d.__dict__ for d in done]})
            return
        from rich.table import Table

        table = Table()
        for col in ("Deployment", vi("Lịch", "Schedule"), "Entrypoint"):
            table.add_column(col, overflow="fold")
        for d in done:
            table.add_row(d.name, d.schedule, d.entrypoint)
        console.print(table, emoji=False, markup=False)
        where = vi("môi trường của worker", "the worker's environment") if db_from_worker_env else redact(url)
        console.print(vi(f"Đã đăng ký {len(done)} deployment trên {api_url()} (work pool «{pool}», cơ sở dữ liệu: {where}). "
                         f"Chạy worker: prefect worker start --pool {pool}",
                         f"Registered {len(done)} deployment(s) on {api_url()} (work pool «{pool}», database: {where}). "
                         f"Run a worker: prefect worker start --pool {pool}"), markup=False, emoji=False)


# --- doctor ------------------------------------------------------------------------------------------


MAX_TIMEOUT = 600.0


def _check_timeout(timeout: float) -> float:
    """--timeout: seconds, above 0 (0 would make the sockets non-blocking) and finite."""
    import math

    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        from engine.errors import UserError

        limit = f"{MAX_TIMEOUT:g}"
        raise UserError(vi(f"--timeout «{timeout:g}» không hợp lệ: ghi số giây lớn hơn 0 và không quá {limit} (ví dụ 5).",
                           f"--timeout «{timeout:g}» is invalid: give the seconds, above 0 and at most {limit} (e.g. 5)."))
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
    label = vi("Cơ sở dữ liệu", "Database")
    from engine.backup import sqlite_path

    try:
        file = sqlite_path(url)
    except Exception:  # noqa: BLE001 - e.g. :memory:
        file = None
    if file is not None and not file.is_file():  # never create an empty database while checking
        return [Check(label, FAIL, vi(f"{dbmod.redact(url)}: không có tệp {file}", f"{dbmod.redact(url)}: no file {file}"))], None
    try:
        eng = _doctor_engine(url, timeout)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error is a FAIL row
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return [Check(label, FAIL, f"{dbmod.redact(url)}: {reason[0] if reason else type(exc).__name__}")], None
    checks = [Check(label, OK, dbmod.redact(url))]
    schema = vi("Lược đồ (migrations)", "Schema (migrations)")
    state = dbmod.schema_state(eng)
    current = dbmod.current_revision(eng) if state not in ("empty", "foreign") else None
    head = dbmod.head_revision()
    if state == "current":
        checks.append(Check(schema, OK, vi(f"ở phiên bản mới nhất {head}", f"at head {head}")))
    elif state == "behind":
        checks.append(Check(schema, FAIL, vi(f"đang ở {current}, cần {head}: chạy «steer db upgrade»",
                                             f"at {current}, head is {head}: run «steer db upgrade»")))
    elif state == "empty":
        checks.append(Check(schema, FAIL, vi("cơ sở dữ liệu trống: chạy «steer db upgrade»", "empty database: run «steer db upgrade»")))
    elif state == "ahead":
        checks.append(Check(schema, FAIL, vi(f"phiên bản {current} mới hơn phần mềm ({head})", f"revision {current} is newer than this software ({head})")))
    else:
        checks.append(Check(schema, FAIL, vi("có bảng nhưng không phải của Steer", "has tables that are not Steer's")))
    if state == "current":
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
                checks.append(Check(vi("Nơi nhận", "Notify targets"), FAIL,
                                    vi(f"không đọc được danh bạ: {type(exc).__name__}", f"cannot read the directory: {type(exc).__name__}")))
            finally:
                eng.dispose()
        else:
            owners = []
        checks += prefect_checks(timeout=timeout, lang=state().lang)
        target_rows = check_targets(owners, timeout=timeout, lang=state().lang)
        if eng is not None and not owners:
            target_rows = [Check(vi("Nơi nhận", "Notify targets"), FAIL,
                                 vi("chưa có địa chỉ nhận nào (nạp danh bạ: steer directory load FILE)",
                                    "no notify URL at all (load a directory: steer directory load FILE)"))]
        checks += target_rows
        failed = [c for c in checks if c.status == FAIL]
        if fmt == "json":
            print_json({"ok": not failed, "checks": [c.__dict__ for c in checks]})
        else:
            from rich.table import Table
            from rich.text import Text

            styles = {OK: "green", FAIL: "bold red", SKIP: "yellow"}
            shown = {OK: "OK", FAIL: "FAIL", SKIP: vi("BỎ QUA", "SKIP")}
            table = Table()
            for col in (vi("Kiểm tra", "Check"), vi("Kết quả", "Result"), vi("Chi tiết", "Detail")):
                table.add_column(col, overflow="fold")
            for c in checks:
                table.add_row(Text(c.name), Text(shown[c.status], style=styles[c.status]), Text(c.detail))
            console.print(table, emoji=False)
            n_ok = sum(c.status == OK for c in checks)
            n_skip = sum(c.status == SKIP for c in checks)
            console.print(vi(f"{n_ok} đạt, {len(failed)} lỗi, {n_skip} không kiểm tra được.",
                             f"{n_ok} OK, {len(failed)} failed, {n_skip} not checkable."), markup=False, emoji=False)
        if failed:
            raise typer.Exit(1)


# --- db backup / restore -----------------------------------------------------------------------------


def _print_snapshot(snap: Any) -> None:
    c = snap.counts
    console.print(vi(f"  lược đồ {snap.revision}; {snap.events} sự kiện; {c.get('plan', 0)} kế hoạch, {c.get('task', 0)} nhiệm vụ, "
                     f"{c.get('work_item', 0)} phần việc, {c.get('unit', 0)} đơn vị, {c.get('person', 0)} người, "
                     f"{c.get('outbox', 0)} thông báo trong outbox",
                     f"  schema {snap.revision}; {snap.events} events; {c.get('plan', 0)} plans, {c.get('task', 0)} tasks, "
                     f"{c.get('work_item', 0)} work items, {c.get('unit', 0)} units, {c.get('person', 0)} people, "
                     f"{c.get('outbox', 0)} outbox rows"), markup=False, emoji=False)


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
        console.print(vi(f"Đã sao lưu vào {snap.path}:", f"Backed up to {snap.path}:"), markup=False, emoji=False)
        _print_snapshot(snap)
        if not snap.chain_ok:
            err_console.print(vi("CẢNH BÁO: chuỗi nhật ký kiểm toán của cơ sở dữ liệu đang dùng đã bị sửa (bản sao lưu vẫn được ghi): ",
                                 "WARNING: the live database's audit chain is already broken (the backup was written anyway): ")
                              + "; ".join(snap.chain_problems[:5]), markup=False)
            raise typer.Exit(1)
        console.print(vi("  chuỗi nhật ký kiểm toán nguyên vẹn.", "  audit chain intact."), markup=False)


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
        console.print(vi(f"Đã khôi phục {snap.path} từ {path}:", f"Restored {snap.path} from {path}:"), markup=False, emoji=False)
        _print_snapshot(snap)
        if snap.upgraded_from:
            console.print(vi(f"  bản sao lưu ở lược đồ {snap.upgraded_from}, đã nâng lên {snap.revision}.",
                             f"  the backup was at schema {snap.upgraded_from}; upgraded to {snap.revision}."), markup=False)
        console.print(vi("  chuỗi nhật ký kiểm toán nguyên vẹn.", "  audit chain intact."), markup=False)


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

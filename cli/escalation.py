"""steer escalate | serve | escalation ack | escalation outbox | escalation dispatch.

Thin shell over engine.tracking/escalation/outbox, notifications.delivery and the Prefect
flows (flows/, imported only by the commands that run a flow: prefect costs ~2 s to
import). Target URLs are never printed; only their redacted form.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from cli.common import console, handled, level_word, msg, now_arg, print_json, state

app = typer.Typer(help="Escalation: acknowledge, inspect the outbox, deliver now.  "
                       "Example: steer escalation outbox --status pending", no_args_is_help=True)

AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Run as on this date (YYYY-MM-DD) at 08:00 committee time; default: now.", metavar="DATE")]
PolicyOpt = Annotated[Optional[Path], typer.Option("--policy", help="Escalation policy file (default plans/escalation-policy.yaml).", metavar="FILE")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (same as the global --db).", metavar="URL")]


def _set_db(db: str | None) -> None:
    if db:
        state().use_db(db)


def _when(as_of: str | None) -> datetime:
    from engine import clock

    if not as_of:
        return clock.now()
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter(msg("cli.invalid_date_yyyy_mm_dd", as_of=as_of)) from None
    if not 2000 <= day.year <= 2100:
        raise typer.BadParameter(msg("cli.date_is_outside_20002100", as_of=as_of))
    from engine.db import transaction
    from engine.escalation import committee

    with transaction(state().engine()) as s:
        tz = committee(s)[0]
    return clock.local_datetime(day, time(8, 0), tz)


def _policy(path: Path | None) -> Any:
    if path is None:
        return None
    from engine.policy import load_policy

    return load_policy(path, lang=state().lang)


def escalate(
    as_of: AsOfOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get what; write nothing, send nothing.")] = False,
    policy: PolicyOpt = None,
    direct: Annotated[bool, typer.Option("--direct", help="Run the steps in this process without Prefect (faster; no flow run is recorded).")] = False,
    no_dispatch: Annotated[bool, typer.Option("--no-dispatch", help="Track and enqueue only; deliver later (steer escalation dispatch).")] = False,
    full_rescan: Annotated[bool, typer.Option("--full-rescan", help="Re-examine every overdue item, not only what changed since the last run (e.g. after adding a vice-chair).")] = False,
    db: DbOpt = None,
) -> None:
    """Run the daily escalation once: record timeliness changes, enqueue reminders and
    escalations by the policy, deliver them (through the Prefect flow unless --direct).

    Example: steer escalate --as-of 2025-06-16 --dry-run
    """
    _set_db(db)
    with handled():
        now = _when(as_of)
        pol = _policy(policy)
        if dry_run:
            _dry_run(now, pol)
            return
        if direct:
            summary = _run_direct(now, pol, dispatch=not no_dispatch, simulated=as_of is not None, full=full_rescan)
            _print_summary(summary)
            _conclude(summary.get("dispatch"))
            return
        summary, failure = _run_flow(as_of=as_of, policy=str(policy) if policy else None, dispatch=not no_dispatch,
                                     full_rescan=full_rescan)
        if summary is not None:
            _print_summary(summary)
        if failure:
            from engine.errors import UserError

            raise UserError(failure)
        _conclude(summary.get("dispatch") if summary else None)


def _run_flow(**params: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Run the escalation flow in this process. The database URL goes to the run through
    STEER_DATABASE_URL in this process's environment, never as a parameter (Prefect stores
    parameters, and its UI shows them). Without PREFECT_API_URL Prefect starts a temporary
    server (15–50 s on a fresh PREFECT_HOME): say so first. Returns (summary, failure message)."""
    import os

    from engine.db import database_url
    from flows.runtime import DB_ENV

    os.environ[DB_ENV] = database_url(state().db)
    if not os.environ.get("PREFECT_API_URL"):
        from cli.common import err_console

        err_console.print(msg("cli.starting_temporary_prefect_server"), markup=False, emoji=False)
    from flows.escalate import escalate as flow
    from flows.settings import no_heartbeat

    try:
        with no_heartbeat():
            run_state = flow.with_options(retries=0)(db_url=None, return_state=True, **params)
    except RuntimeError as exc:
        if "ephemeral Prefect API server" not in str(exc):
            raise
        return None, msg("cli.temporary_prefect_server_timeout")
    result = run_state.result(raise_on_failure=False)
    summary = result if isinstance(result, dict) else None
    if run_state.is_completed():
        return summary, None
    return summary, run_state.message or run_state.name


def _conclude(dispatch: dict[str, Any] | None) -> None:
    """Deliveries that failed: a warning, or exit 1 when none succeeded (never silent)."""
    from flows.runtime import verdict

    kind, message = verdict(dispatch)
    if kind == "fail":
        from engine.errors import UserError

        raise UserError(message or "")
    if kind == "warn":
        from cli.common import err_console

        err_console.print(message, markup=False, emoji=False)


def _run_direct(now: datetime, pol: Any, *, dispatch: bool, simulated: bool, full: bool = False) -> dict[str, Any]:
    from engine import escalation, tracking
    from engine.db import transaction

    eng = state().engine()
    with transaction(eng) as s:
        tr = tracking.track(s, now=now)
    _emit_direct(eng, tr)
    with transaction(eng) as s:
        dr = escalation.detect(s, now=now, policy=pol, lang=state().lang, incremental=not full)
    out: dict[str, Any] = {"now": now.isoformat(),
                           "track": {"today": tr.today.isoformat(), "flips": tr.flips, "by_transition": tr.by_transition},
                           "detect": {"inserted": dr.inserted, "by_level": dr.by_level}, "dispatch": None}
    if dispatch:
        from notifications.delivery import dispatch as deliver

        r = deliver(eng, now=now if simulated else None, policy=pol, lang=state().lang)
        out["dispatch"] = _dispatch_summary(r)
    return out


def _emit_direct(eng: Any, tr: Any) -> None:
    """--direct runs without Prefect; when a Prefect server is configured (PREFECT_API_URL),
    its flips still become Prefect events like the flow's (importing prefect costs ~2 s, so
    only then)."""
    import os

    if not tr.changes or not os.environ.get("PREFECT_API_URL"):
        return
    from engine.db import transaction
    from flows import settings as _quiet  # noqa: F401  (before prefect loads)
    from flows.runtime import MAX_EVENTS, emit_flips, item_names

    with transaction(eng) as s:
        names = item_names(s, [f.work_item_id for f in tr.changes[:MAX_EVENTS]])
    emit_flips(tr.changes, names, tr.today.isoformat())


def _print_summary(summary: dict[str, Any]) -> None:
    tr, dt, dp = summary["track"], summary["detect"], summary.get("dispatch")
    from engine.days import fmt_date

    console.print(msg("cli.timeliness_changes", today=fmt_date(date.fromisoformat(tr['today'])), flips=tr['flips'])
                  + (f" ({', '.join(f'{_transition(k)} {v}' for k, v in sorted(tr['by_transition'].items()))})"
                     if tr["by_transition"] else "")
                  + ".", markup=False, emoji=False)
    levels = ", ".join(f"{level_word(k)} {v}" for k, v in dt["by_level"].items() if v)
    console.print(msg("cli.queued_new_notification", inserted=dt['inserted'])
                  + (f" ({levels})" if levels else "") + ".", markup=False, emoji=False)
    if dp is None:
        console.print(msg("cli.not_delivered_yet_use_steer"))
        return
    _print_dispatch(dp)


def _transition(key: str) -> str:
    """"on_track->due_soon" in words (the timeliness labels of `task list`)."""
    from cli.lifecycle import TIMELINESS_LABELS, _label

    for sep in ("->", "→"):
        if sep in key:
            a, b = key.split(sep, 1)
            return f"{_label(TIMELINESS_LABELS, a or None)} → {_label(TIMELINESS_LABELS, b or None)}"
    return _label(TIMELINESS_LABELS, key)


def _dispatch_summary(r: Any) -> dict[str, Any]:
    return {"batches": r.batches, "by_status": r.by_status, "quiet_until": r.quiet_until.isoformat() if r.quiet_until else None,
            "messages": [{"recipient": m.recipient, "recipient_name": m.recipient_name, "subject": m.subject,
                          "items": m.items, "status": m.status} for m in r.messages]}


def _print_dispatch(dp: dict[str, Any]) -> None:
    if dp.get("quiet_until"):
        console.print(msg("cli.quiet_hours_delivery_resumes_at", quiet_until=dp['quiet_until']), markup=False, emoji=False)
    for m in dp["messages"]:
        console.print(f"  → {m['recipient']}: {m['subject']} [{_status_label(m['status'])}]", markup=False, emoji=False)
    st = dp["by_status"]
    console.print(msg("cli.delivery_sent_to_retry_failed", sent=st.get('sent', 0), pending=st.get('pending', 0), failed=st.get('failed', 0)))


def _status_label(status: str) -> str:
    key = _STATUS_KEYS.get(status)
    return msg(key) if key else status


_STATUS_KEYS = {"sent": "cli.outbox_sent", "pending": "cli.outbox_pending", "failed": "cli.outbox_failed",
                "obsolete": "cli.outbox_obsolete", "lost": "cli.outbox_lost", "sending": "cli.outbox_sending"}


def _dry_run(now: datetime, pol: Any) -> None:
    from collections import defaultdict

    from engine import escalation, tracking
    from engine.db import transaction
    from engine.models import OutboxMessage
    from notifications.delivery import redact
    from notifications.messages import render

    with transaction(state().engine()) as s:
        tr = tracking.track(s, now=now, dry_run=True)
        ctx = escalation.context(s, now=now, policy=pol, lang=state().lang)
        planned = escalation.preview(s, now=now, ctx=ctx)
        by_rcpt: dict[str, list[Any]] = defaultdict(list)
        for p in planned:
            by_rcpt[p.recipient].append(OutboxMessage(level=p.level, level_rank=p.level_rank, occurrence=p.occurrence,
                                                      work_item_id=p.work_item_id, deadline=p.deadline,
                                                      recipient=p.recipient, dedupe_key=p.dedupe_key))
        # the OutboxMessage objects above are transient (never added): nothing is written
        digests = [(r, escalation.build_digest(s, rows, now=now, ctx=ctx, key="(dry-run)"),
                    escalation.recipient_targets(s, r)) for r, rows in sorted(by_rcpt.items())]
    console.print(msg("cli.dry_run_for", today=tr.today))
    if tr.flips:
        console.print(msg("cli.would_record_timeliness_change", flips=tr.flips)
                      + ", ".join(f"{k} {v}" for k, v in sorted(tr.by_transition.items())), markup=False, emoji=False)
    if not digests:
        console.print(msg("cli.no_new_notification"))
        return
    console.print(msg("cli.would_send_message_entries", n_digests=len(digests), n_planned=len(planned)))
    for rcpt, digest, targets in digests:
        if not digest.items:
            continue
        rendered = render(digest)
        shown = ", ".join(redact(t) for t in targets) or msg("cli.no_notify_address")
        console.print(f"\n[bold]{escape(digest.recipient_name)}[/] ({escape(rcpt)}) ← {escape(shown)}", emoji=False)
        console.print(f"  {msg('cli.subject')}: {rendered.subject}", markup=False, emoji=False)
        for i in digest.items:
            late = (msg("cli.day_overdue", days_overdue=i.days_overdue) if i.days_overdue else "")
            console.print(f"  - {i.ref} [{', '.join(i.levels)}]{late}", markup=False, emoji=False)


def serve(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Where the local Prefect server keeps its data.")] = Path(".steer"),
    port: Annotated[int, typer.Option("--port", help="Port of the local Prefect server.")] = 4200,
    policy: PolicyOpt = None,
    db: DbOpt = None,
) -> None:
    """Run the schedules on this machine (daily escalation at 08:00 on working days,
    delivery retries, reports): starts a local Prefect server unless PREFECT_API_URL is set.
    Ctrl-C stops everything.

    Example: steer serve --data-dir .steer
    """
    _set_db(db)
    with handled():
        from flows.serve import ServeError, serve as run

        try:
            run(db_url=state().db, data_dir=data_dir, port=port, policy=str(policy) if policy else None,
                say=lambda m: console.print(m, markup=False, emoji=False), lang=state().lang)
        except ServeError as exc:
            from engine.errors import UserError

            raise UserError(msg("cli.cannot_start_prefect_server", exc=exc)) from None


def ack(
    item: Annotated[str, typer.Argument(help="Item: PLAN/TASK, PLAN/TASK@UNIT, PLAN/TASK#2025-06 or #ID.", metavar="ITEM")],
    as_: Annotated[str, typer.Option("--as", help="Id of the person acknowledging.", metavar="PERSON_ID")],
    note: Annotated[Optional[str], typer.Option("--note", help="A note kept with the acknowledgement.")] = None,
    now: Annotated[Optional[str], typer.Option("--now", help="Acknowledge at this time (ISO or a date); default: the clock.", metavar="ISO")] = None,
    policy: PolicyOpt = None,
) -> None:
    """Acknowledge an item's reminders/escalations: repeats stop for you until the next level.

    Example: steer escalation ack KH-57-LS/42 --as pct_nc
    """
    with handled():
        from engine.commands import act_on_reference
        from engine.db import transaction

        moment = now_arg(now)
        with transaction(state().engine()) as s:
            out = act_on_reference(s, as_, item, "acknowledge", {"note": note, "policy": _policy(policy)},
                                   now=moment, lang=state().lang)
        text = out.message(state().lang) if out.ack.already else \
            msg("cli.acknowledged_item_level_gets_no", ref=out.ref, level=out.ack.level, name=out.actor.name)
        console.print(text, markup=False, emoji=False)


def outbox(
    status: Annotated[Optional[str], typer.Option("--status", help="Only rows in this state: pending, sending, sent, failed, obsolete.")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    limit: Annotated[int, typer.Option("--limit", help="Newest N rows.")] = 100,
) -> None:
    """List notifications in the outbox: recipient, level, item, state, attempts (no addresses or secrets).

    Example: steer escalation outbox --status failed --format json
    """
    with handled():
        from engine import outbox as ob
        from engine.db import transaction
        from engine.errors import UserError

        if status and status not in ob.STATUSES:
            raise UserError(msg("cli.unknown_status_use", status=status, allowed=', '.join(ob.STATUSES)))
        with transaction(state().engine()) as s:
            rows = ob.list_rows(s, status=status, limit=limit)
            totals = ob.counts(s)
        if format == "json":
            print_json({"counts": totals, "rows": rows})
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(show_lines=False)
        for col in (msg("cli.id"), msg("cli.recipient"), msg("cli.level"), msg("cli.item"),
                    msg("cli.state"), msg("cli.attempts"), msg("cli.last_error")):
            table.add_column(col)
        for r in rows:
            table.add_row(*(Text(str(v)) for v in (
                r["id"], f"{r['recipient_name']} ({r['recipient']})", r["level"], r["item"] or "—",
                _status_label(r["status"]), r["attempts"], (r["last_error"] or "")[:80])))
        console.print(table, emoji=False)
        console.print(msg("cli.totals") + ", ".join(f"{_status_label(k)} {v}" for k, v in sorted(totals.items())),
                      markup=False, emoji=False)


def dispatch(
    now: Annotated[Optional[str], typer.Option("--now", help="Deliver as at this time (ISO or a date = 08:00); default: the clock.", metavar="ISO")] = None,
    policy: PolicyOpt = None,
    ignore_quiet_hours: Annotated[bool, typer.Option("--ignore-quiet-hours", help="Send even inside the policy's quiet hours.")] = False,
) -> None:
    """Deliver the pending notifications now (retries included), one message per recipient.

    Example: steer escalation dispatch
    """
    with handled():
        from notifications.delivery import dispatch as deliver

        r = deliver(state().engine(), now=now_arg(now) if now else None, policy=_policy(policy),
                    respect_quiet_hours=not ignore_quiet_hours, lang=state().lang)
        _print_dispatch(_dispatch_summary(r))


def register(root: typer.Typer) -> None:
    root.command("escalate")(escalate)
    root.command("serve")(serve)
    app.command("ack")(ack)
    app.command("outbox")(outbox)
    app.command("dispatch")(dispatch)
    root.add_typer(app, name="escalation")

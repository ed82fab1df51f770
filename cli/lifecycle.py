"""steer task start|submit|verify|reject|block|unblock|note|extend|approve-extension|
reject-extension|cancel|reopen|show, and ``task list --as/--due-within``.

Thin shell over engine.lifecycle: each command resolves the item reference, loads the
acting person (``--as``), calls one service function in one transaction and prints one
line. Keep imports light (no prefect/apprise on this path): engine modules are imported
inside the commands.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.common import console, handled, msg, now_arg, print_json, state
from engine.safetext import csv_cell, terminal_text

ItemArg = Annotated[str, typer.Argument(help="Item: PLAN/TASK, PLAN/TASK@UNIT, PLAN/TASK#2025-06 or #ID.", metavar="ITEM")]
AsOpt = Annotated[str, typer.Option("--as", help="Id of the person acting (see: steer directory show).", metavar="PERSON_ID")]
NowOpt = Annotated[Optional[str], typer.Option("--now", help="Act at this time (ISO with offset, or a date); default: the clock.", metavar="ISO")]
VersionOpt = Annotated[Optional[int], typer.Option("--version", help="Refuse if the item changed since you read this version.", metavar="N")]
NoteOpt = Annotated[Optional[str], typer.Option("--note", help="A note recorded with the action.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="The reason (required).")]
OverrideOpt = Annotated[Optional[str], typer.Option("--override", help="Secretariat only: act although a prerequisite task is unfinished; the note says why.", metavar="NOTE")]


def _lang() -> str:
    return state().lang


def _run(ref: str, person: str, when: str | None, action: str, raw: dict[str, Any]) -> None:
    """Resolve, perform the command in one transaction, print what happened
    (``engine.commands.act_on_reference``, the path a running server takes for the launcher too)."""
    with handled():
        from engine.commands import act_on_reference
        from engine.db import transaction

        lang = _lang()
        moment = now_arg(when)
        with transaction(state().engine()) as s:
            done = act_on_reference(s, person, ref, action, raw, now=moment, lang=lang).message(lang)
        console.print(done, markup=False)


def _file(path: Path | None) -> Any:
    """``--evidence-file``: the file opened for ``perform`` (``engine.evidence.Upload``)."""
    if path is None:
        return None
    from engine.evidence import Upload

    try:
        return Upload(path.open("rb"), path.name)
    except OSError as exc:
        raise typer.BadParameter(msg("ev.cannot_read", path=path, reason=exc.strerror or exc)) from None


def start(item: ItemArg, as_: AsOpt, note: NoteOpt = None, override: OverrideOpt = None, version: VersionOpt = None,
          now: NowOpt = None) -> None:
    """Start work on an item (not_started → in_progress).

    Example: steer task start KH-57-LS/12 --as skhcn_focal
    """
    _run(item, as_, now, "start", {"note": note, "override": override, "version": version})


def submit(item: ItemArg, as_: AsOpt,
           evidence: Annotated[str, typer.Option("--evidence", help="Proof: a document number, a link or a file path.")] = "",
           evidence_file: Annotated[Optional[Path], typer.Option("--evidence-file", help="Attach this file as evidence (kept in the web's upload folder, env STEER_UPLOAD_DIR; listed on the item page).", metavar="PATH", dir_okay=False)] = None,
           note: NoteOpt = None, override: OverrideOpt = None, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Report an item done, with evidence (→ submitted; → completed when auto_verify is on).

    Example: steer task submit KH-57-LS/12 --as skhcn_focal --evidence "Quyết định số 1234/QĐ-UBND" --evidence-file qd-1234.pdf
    """
    upload = _file(evidence_file)
    try:
        _run(item, as_, now, "submit", {"evidence": evidence, "note": note, "override": override, "version": version,
                                        "evidence_file": upload})
    finally:
        if upload is not None:
            upload.stream.close()


def verify(item: ItemArg, as_: AsOpt, note: NoteOpt = None, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Secretariat: accept a submission (submitted → completed, on time or late).

    Example: steer task verify KH-57-LS/12 --as secretariat
    """
    _run(item, as_, now, "verify", {"note": note, "version": version})


def reject(item: ItemArg, as_: AsOpt, reason: ReasonOpt, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Secretariat: send a submission back with a reason (submitted → in_progress).

    Example: steer task reject KH-57-LS/4 --as secretariat --reason "Mới là dự thảo, cần Quyết định đã ban hành"
    """
    _run(item, as_, now, "reject", {"reason": reason, "version": version})


def block(item: ItemArg, as_: AsOpt, reason: ReasonOpt, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Report a blocker (not_started/in_progress → blocked).

    Example: steer task block KH-57-LS/52 --as skhcn_focal --reason "Chưa lựa chọn được nhà thầu"
    """
    _run(item, as_, now, "block", {"reason": reason, "version": version})


def unblock(item: ItemArg, as_: AsOpt, note: NoteOpt = None, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Clear a blocker (blocked → the state before).

    Example: steer task unblock KH-57-LS/52 --as skhcn_focal --note "Đã có nhà thầu"
    """
    _run(item, as_, now, "unblock", {"note": note, "version": version})


def cancel(item: ItemArg, as_: AsOpt, reason: ReasonOpt, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Secretariat: cancel an open item, with a reason.

    Example: steer task cancel KH-57-LS/9@SNV --as secretariat --reason "Nhiệm vụ được điều chỉnh"
    """
    _run(item, as_, now, "cancel", {"reason": reason, "version": version})


def reopen(item: ItemArg, as_: AsOpt, reason: ReasonOpt, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Secretariat: reopen a submitted, completed or cancelled item, with a reason.

    Example: steer task reopen KH-57-LS/2 --as secretariat --reason "Kết quả chưa đạt yêu cầu"
    """
    _run(item, as_, now, "reopen", {"reason": reason, "version": version})


def note(item: ItemArg, as_: AsOpt,
         text: Annotated[str, typer.Option("--note", help="What was done (required).")],
         percent: Annotated[Optional[float], typer.Option("--percent", help="Percent complete, 0-100.")] = None,
         evidence: Annotated[Optional[str], typer.Option("--evidence", help="Document number, link or file path.")] = None,
         version: VersionOpt = None, now: NowOpt = None) -> None:
    """Record a progress note (no status change).

    Example: steer task note KH-57-LS/3 --as bptth_focal --note "Đã phát sóng 8 số" --percent 50
    """
    _run(item, as_, now, "note", {"text": text, "percent": percent, "evidence": evidence, "version": version})


def extend(item: ItemArg, as_: AsOpt,
           until: Annotated[str, typer.Option("--until", help="New deadline: YYYY-MM-DD or dd/mm/yyyy.")],
           reason: ReasonOpt, version: VersionOpt = None, now: NowOpt = None) -> None:
    """Request a deadline extension (one pending request per item).

    Example: steer task extend KH-57-LS/36 --as sxd_focal --until 30/09/2025 --reason "Chờ dữ liệu của các xã, phường"
    """
    _run(item, as_, now, "request_extension", {"until": until, "reason": reason, "version": version})


def approve_extension(item: ItemArg, as_: AsOpt, note: NoteOpt = None, version: VersionOpt = None,
                      now: NowOpt = None) -> None:
    """Approve the pending extension request (chair, vice-chair in charge, or secretariat).

    Example: steer task approve-extension KH-57-LS/36 --as pct_kt
    """
    _run(item, as_, now, "approve_extension", {"note": note, "version": version})


def reject_extension(item: ItemArg, as_: AsOpt, reason: ReasonOpt, version: VersionOpt = None,
                     now: NowOpt = None) -> None:
    """Refuse the pending extension request, with a reason (the deadline stays).

    Example: steer task reject-extension KH-57-LS/47@XNS --as pct_tt --reason "Hoàn thành trong tháng 7"
    """
    _run(item, as_, now, "reject_extension", {"reason": reason, "version": version})


# --- show -----------------------------------------------------------------------------------------------

# Event kinds and timeliness values → catalog keys (a value without a key is shown as it is).
KIND_LABELS: dict[str, str] = {
    "timeliness": "cli.show_kind_timeliness",
    "escalation_ack": "cli.show_kind_escalation_ack",
    "note": "ev_note",
    "extension_requested": "ev_extension_requested",
    "extension_approved": "ev_extension_approved",
    "extension_rejected": "ev_extension_rejected",
    "deadline_changed": "ev_deadline_changed",
}
TIMELINESS_LABELS: dict[str, str] = {
    "on_track": "cli.timeliness_on_track", "due_soon": "cli.timeliness_due_soon", "overdue": "counts_overdue",
    "completed_on_time": "cli.show_completed_on_time", "completed_late": "cli.show_completed_late",
    "completed": "counts_completed", "ongoing": "cli.timeliness_ongoing", "no_deadline": "cli.show_no_deadline",
    "cancelled": "cli.show_cancelled",
}
EXTENSION_LABELS: dict[str, str] = {
    "pending": "cli.show_ext_pending", "approved": "cli.show_ext_approved", "rejected": "cli.show_ext_rejected",
}


def _label(table: dict[str, str], key: str | None) -> str:
    if key is None:
        return "—"
    return msg(table[key]) if key in table else key


def _day(iso: str | None) -> str:
    if not iso:
        return "—"
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def show(item: ItemArg,
         as_: Annotated[Optional[str], typer.Option("--as", help="View as this person (focal points see only their unit's items).", metavar="PERSON_ID")] = None,
         fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
         now: NowOpt = None) -> None:
    """Show one item with its full history (every event, in committee local time) and extension requests.

    Example: steer task show KH-57-LS/36 --format json
    """
    with handled():
        from engine.actors import load_actor
        from engine.clock import local_date
        from engine.db import transaction
        from engine.errors import PermissionDenied
        from engine.permissions import allowed_actions, can_see
        from engine.queries import item_detail
        from engine.refs import resolve_item
        from engine.txcache import committee_settings

        moment = now_arg(now)
        with transaction(state().engine()) as s:
            actor = load_actor(s, as_, lang=_lang()) if as_ else None
            w = resolve_item(s, item, actor=actor, lang=_lang())
            if actor is not None and not can_see(actor, w):
                raise PermissionDenied(msg("lc.denied_other_items", name=actor.name, pid=actor.id,
                                           unit=actor.unit_code or msg("lc.no_unit")))
            tz, _ = committee_settings(s)
            d = item_detail(s, w, today=local_date(moment, tz), lang=_lang())
            if actor is not None:
                d["allowed_actions"] = allowed_actions(w, actor)
        if fmt == "json":
            print_json(d)
            return
        _print_detail(d)


def _print_detail(d: dict[str, Any]) -> None:
    from engine.states import ACTION_COMMANDS
    from engine.states import status_label

    lang = _lang()
    out = [f"{d['ref']} — {d['title']}"]
    out.append(f"{msg('lead_unit')}: {d['unit_name']} ({d['unit']})"
               + (f"   {msg('cli.show_occurrence')}: {d['occurrence']}" if d["occurrence"] else "")
               + f"   {msg('cli.show_item_id')}: #{d['id']}")
    out.append(f"{msg('col_status')}: {status_label(d['status'], lang)}   {msg('version')}: {d['version']}"
               + (f"   {msg('cli.show_completion')}: {msg('render.completion.on_time') if d['completion'] == 'on_time' else msg('render.completion.late') if d['completion'] == 'late' else msg('render.completion.unknown') if d['completion'] == 'unknown' else d['completion']}"
                  if d["completion"] else ""))
    deadline = _day(d["deadline"]) if d["deadline"] else (d["deadline_text"] or "—")
    if d["original_deadline"] and d["original_deadline"] != d["deadline"]:
        deadline += msg('cli.show_originally', day=_day(d['original_deadline']))
    out.append(f"{msg('col_deadline')}: {deadline}   {msg('cli.show_timeliness')}: {_label(TIMELINESS_LABELS, d['timeliness'])}")
    if d["deliverable"]:
        out.append(f"{msg('deliverable')}: {d['deliverable']}")
    if d["blocked_reason"]:
        out.append(f"{msg('cli.show_blocked_by')}: {d['blocked_reason']}")
    if d["depends_on"]:
        waiting = ", ".join(d["waiting_for"]) or msg('cli.show_none')
        out.append(f"{msg('cli.show_depends_on')}: {', '.join(d['depends_on'])} ({msg('cli.show_waiting_for')}: {waiting})")
    if d["vice_chair"]:
        out.append(f"{msg('vice_chair')}: {d['vice_chair_name'] or d['vice_chair']}")
    acts = ", ".join(ACTION_COMMANDS[a] for a in d["allowed_actions"]) or "—"
    out.append(f"{msg('cli.show_allowed_actions')}: {acts}")
    out.append("")
    out.append(msg('cli.show_history', events=len(d['events']), timezone=d['timezone']))
    for e in d["events"]:
        who = f"{e['actor_name']} ({e['actor']})" if e["actor_name"] != e["actor"] else e["actor"]
        if e["kind"] == "status":
            what = f"{status_label(e['from_status'], lang)} → {status_label(e['to_status'], lang)}"
        elif e["kind"] == "timeliness":
            what = (f"{_label(KIND_LABELS, e['kind'])}: {_label(TIMELINESS_LABELS, e['from_status']) if e['from_status'] else '—'}"
                    f" → {_label(TIMELINESS_LABELS, e['to_status'])}")
        else:
            what = _label(KIND_LABELS, e["kind"])
        line = f"  #{e['id']}  {e['at_local']}  {who}  {what}"
        if e["percent"] is not None:
            line += f"  {e['percent']:g}%"
        out.append(line)
        if e["note"]:
            out.append(f"      {msg('cli.show_note')}: {e['note']}")
        if e["evidence"]:
            out.append(f"      {msg('cli.show_evidence')}: {e['evidence']}")
        if e["kind"].startswith("extension") or e["kind"] == "deadline_changed":
            out.append(f"      {msg('cli.show_deadline')}: {_day(e['deadline_before'])} → {_day(e['deadline_after'])}")
        if e["data"].get("override"):
            out.append(f"      {msg('cli.show_override')}: {e['data']['override']}")
    if d["extension_requests"]:
        out.append("")
        out.append(msg('cli.show_extension_requests'))
        for r in d["extension_requests"]:
            line = (f"  {r['requested_at_local']}  {r['requested_by_name']}: {_day(r['previous_deadline'])} → {_day(r['until'])}"
                    f"  [{_label(EXTENSION_LABELS, r['status'])}]")
            if r["decided_by"]:
                line += f" {r['decided_by_name']} {r['decided_at_local']}"
            out.append(line)
            out.append(f"      {msg('cli.show_reason')}: {r['reason']}")
            if r["decision_note"]:
                out.append(f"      {msg('cli.show_decision')}: {r['decision_note']}")
    console.print(terminal_text("\n".join(out)), markup=False)


# --- list (task-level, or item-level with --as / --due-within) ---------------------------------------------

def _item_statuses() -> tuple[str, ...]:
    """The work-item statuses ``--status`` accepts, in the order the error lists them."""
    from engine.states import Status  # local: keeps the CLI start-up from loading the catalog

    return (Status.NOT_STARTED, Status.IN_PROGRESS, Status.SUBMITTED, Status.BLOCKED, Status.COMPLETED, Status.CANCELLED)


def _parse_days(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*(d|ngày|days?)?\s*", text or "", flags=re.IGNORECASE)
    if not m:
        raise typer.BadParameter(msg('cli.list_bad_days', text=text))
    return int(m.group(1))


def list_items(plan: str | None, unit: str | None, status: str | None, fmt: str, as_: str | None,
               due_within: str | None, now: str | None) -> None:
    """Work items visible to ``as_`` and/or due within N days (``steer task list --as/--due-within``)."""
    with handled():
        if status and status not in _item_statuses():
            raise typer.BadParameter(msg('cli.list_bad_status', status=status, choices=", ".join(_item_statuses())))
        days = _parse_days(due_within) if due_within is not None else None
        from engine.actors import load_actor
        from engine.clock import local_date
        from engine.db import transaction
        from engine.queries import list_items
        from engine.txcache import committee_settings

        moment = now_arg(now)
        with transaction(state().engine()) as s:
            actor = load_actor(s, as_, lang=_lang()) if as_ else None
            tz, _ = committee_settings(s)
            today = local_date(moment, tz)
            rows = list_items(s, plan=plan, unit=unit, status=status, actor=actor, due_within=days, today=today,
                              lang=_lang())
        _print_items(rows, fmt)


def _print_items(rows: list[dict[str, Any]], fmt: str) -> None:
    from engine.states import status_label

    cols = ["ref", "plan", "task", "title", "unit", "occurrence", "deadline", "original_deadline", "status",
            "timeliness", "version"]
    if fmt == "json":
        print_json(rows)
        return
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for r in rows:
            w.writerow([csv_cell("" if r[c] is None else r[c]) for c in cols])
        return
    # plain aligned lines: references and dates are never truncated, long titles wrap
    def deadline(r: dict[str, Any]) -> str:  # the deadline in force, the plan's original beside it when extended
        if r.get("original_deadline") and r["original_deadline"] != r["deadline"]:
            return msg("cli.deadline_extended", day=_day(r["deadline"]), original=_day(r["original_deadline"]))
        return _day(r["deadline"])

    table = [(r["ref"] if "@" in r["ref"] else f"{r['ref']}@{r['unit']}", deadline(r),
              status_label(r["status"], _lang()), _label(TIMELINESS_LABELS, r["timeliness"]), r["title"]) for r in rows]
    head = (msg('cli.item'), msg('col_deadline'), msg('col_status'), msg('cli.show_timeliness'), msg('col_task'))
    widths = [max(len(x[i]) for x in [head, *table]) for i in range(4)]
    for line in [head, *table]:
        console.print(terminal_text("  ".join(v.ljust(widths[i]) for i, v in enumerate(line[:4])) + "  " + line[4]),
                      markup=False)
    console.print(msg('cli.list_count', n=len(rows)))


def register(app: typer.Typer) -> None:
    from cli import tasks

    tapp = tasks.app
    tapp.command("show")(show)
    for name, fn in (("start", start), ("submit", submit), ("verify", verify), ("reject", reject), ("block", block),
                     ("unblock", unblock), ("note", note), ("extend", extend), ("approve-extension", approve_extension),
                     ("reject-extension", reject_extension), ("cancel", cancel), ("reopen", reopen)):
        tapp.command(name)(fn)

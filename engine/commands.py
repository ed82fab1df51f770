"""Actions on work items as data: one frozen command class per action, one table of them
(``COMMANDS``), one reading of raw input (``command_from``) and one place that performs a
command (``perform``). The web pages, the JSON API, the CLI and the history replay all go
through here; what differs between them (who the user is, which item they may see, how
the answer is shown) stays with them.

``perform`` checks the permission and the state, writes the item with a compare-and-set,
appends the one audit event (``engine.lifecycle``; ``engine.escalation.acknowledge`` for
an acknowledgement) and stores an evidence file (``engine.evidence``). Its ``Outcome``
says what happened and gives the one-line confirmation every interface prints.

``perform_many`` performs a batch (a progress sheet's rows): every step through
``perform`` — the same checks and the same event — with the writes held back and done in
bulk (``engine.lifecycle.DeferredWrites``), with the same result as one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from engine import evidence as ev
from engine import lifecycle as lc
from engine.actors import Actor, load_actor
from engine.days import fmt_date, fmt_local, parse_day
from engine.errors import Conflict, PermissionDenied, UserError
from engine.escalation import AckResult, acknowledge
from engine.i18n import tr
from engine.models import WorkItem
from engine.permissions import allowed_actions, pending_extension
from engine.refs import item_ref, resolve_item
from engine.states import Action, Status, status_label
from engine.txcache import known_without_prerequisites, load_item, lock_items, steady


class StateConflict(Conflict):
    """The action was refused because of the item's current state, not the input (the web
    answers HTTP 409)."""


# --- the commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Command:
    """One action with its input. ``version``: refuse unless the item is still at it."""

    name: ClassVar[str]  # the canonical action name
    permission: ClassVar[str]  # the action checked by engine.permissions (allowed_actions)
    web_done: ClassVar[str | None] = None  # the web's short confirmation (catalog key)
    version: int | None = None

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        """Run the action (the engine's service function); ``stored``: the evidence file kept."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class _NoteCommand(Command):
    """An action whose only input is an optional note: ``engine.lifecycle.<name>(…, note=…)``."""

    note: str | None = None

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        getattr(lc, self.name)(s, w, a, now=now, note=self.note, expected_version=self.version, lang=lang)
        return None


@dataclass(frozen=True, kw_only=True)
class _ReasonCommand(Command):
    """An action that needs a reason: ``engine.lifecycle.<name>(…, reason=…)``."""

    reason: str = ""

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        getattr(lc, self.name)(s, w, a, now=now, reason=self.reason, expected_version=self.version, lang=lang)
        return None


@dataclass(frozen=True, kw_only=True)
class Start(Command):
    name = Action.START
    permission = Action.START
    web_done = "done_start"
    note: str | None = None
    override: str | None = None

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        lc.start(s, w, a, now=now, note=self.note, override_note=self.override, expected_version=self.version, lang=lang)
        return None


@dataclass(frozen=True, kw_only=True)
class Submit(Command):
    """``evidence_file``: a file attached as evidence (stored by ``perform``, named in the
    event's evidence text, listed on the item page)."""

    name = Action.SUBMIT
    permission = Action.SUBMIT
    web_done = "done_submit"
    evidence: str = ""
    note: str | None = None
    override: str | None = None
    evidence_file: ev.Upload | None = None

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        evidence = self.evidence
        if stored is not None:
            text, note = self.evidence.strip(), ev.file_note(stored, lang)
            evidence = f"{text} — {note}" if text else note
        lc.submit(s, w, a, now=now, evidence=evidence, note=self.note, override_note=self.override,
                  expected_version=self.version, lang=lang)
        return None


@dataclass(frozen=True, kw_only=True)
class Verify(_NoteCommand):
    name = Action.VERIFY
    permission = Action.VERIFY
    web_done = "done_verify"


@dataclass(frozen=True, kw_only=True)
class Reject(_ReasonCommand):
    name = Action.REJECT
    permission = Action.REJECT
    web_done = "done_reject"


@dataclass(frozen=True, kw_only=True)
class Block(_ReasonCommand):
    name = Action.BLOCK
    permission = Action.BLOCK
    web_done = "done_block"


@dataclass(frozen=True, kw_only=True)
class Unblock(_NoteCommand):
    name = Action.UNBLOCK
    permission = Action.UNBLOCK
    web_done = "done_unblock"


@dataclass(frozen=True, kw_only=True)
class Cancel(_ReasonCommand):
    name = Action.CANCEL
    permission = Action.CANCEL


@dataclass(frozen=True, kw_only=True)
class Reopen(_ReasonCommand):
    name = Action.REOPEN
    permission = Action.REOPEN


@dataclass(frozen=True, kw_only=True)
class Note(Command):
    name = Action.NOTE
    permission = Action.NOTE
    web_done = "done_note"
    text: str = ""
    percent: float | None = None
    evidence: str | None = None

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        lc.add_note(s, w, a, now=now, text=self.text, percent=self.percent, evidence=self.evidence,
                    expected_version=self.version, lang=lang)
        return None


@dataclass(frozen=True, kw_only=True)
class RequestExtension(Command):
    name = Action.REQUEST_EXTENSION
    permission = Action.REQUEST_EXTENSION
    web_done = "done_extension"
    until: date
    reason: str = ""

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        lc.request_extension(s, w, a, now=now, until=self.until, reason=self.reason, expected_version=self.version,
                             lang=lang)
        return None


@dataclass(frozen=True, kw_only=True)
class ApproveExtension(_NoteCommand):
    name = "approve_extension"
    permission = Action.DECIDE_EXTENSION
    web_done = "done_approve_ext"


@dataclass(frozen=True, kw_only=True)
class RejectExtension(_ReasonCommand):
    name = "reject_extension"
    permission = Action.DECIDE_EXTENSION
    web_done = "done_reject_ext"


@dataclass(frozen=True, kw_only=True)
class Acknowledge(Command):
    """Acknowledge the item's reminders/escalations (``engine.escalation.acknowledge``);
    ``policy``: the escalation policy to judge the level by (default: the committee's)."""

    name = "ack"
    permission = "ack"
    web_done = "done_ack"
    note: str | None = None
    policy: Any = None

    def apply(self, s: Session, a: Actor, w: WorkItem, *, now: datetime, lang: str,
              stored: ev.Stored | None = None) -> AckResult | None:
        return acknowledge(s, w, a, now=now, policy=self.policy, note=self.note, lang=lang)


# The one table of actions: name (and the aliases the history file accepts) -> command.
COMMANDS: dict[str, type[Command]] = {
    "start": Start, "submit": Submit, "verify": Verify, "reject": Reject, "block": Block, "unblock": Unblock,
    "cancel": Cancel, "reopen": Reopen, "note": Note, "request_extension": RequestExtension,
    "approve_extension": ApproveExtension, "reject_extension": RejectExtension, "ack": Acknowledge,
    # aliases
    "extend": RequestExtension, "request-extension": RequestExtension, "approve-extension": ApproveExtension,
    "reject-extension": RejectExtension, "add_note": Note, "complete": Verify, "acknowledge": Acknowledge,
}  # fmt: skip


def canonical(action: str) -> str | None:
    """The canonical name of ``action`` (or an alias), None when unknown."""
    cls = COMMANDS.get(str(action or "").strip())
    return cls.name if cls is not None else None


# --- reading raw input --------------------------------------------------------------------------------


def _text(v: Any) -> str | None:
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def _required_text(v: Any) -> str:
    return "" if v is None else str(v)


def _opt_int(v: Any, what: str, lang: str) -> int | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    try:
        return int(str(v).strip())
    except ValueError:
        raise UserError(tr(lang, "act.bad_int", what=what, value=v)) from None


def _opt_percent(v: Any, lang: str) -> float | None:
    """A percent: a number, or text such as "60", "60%", "60,5%" (comma decimals)."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).strip().rstrip("%").replace(",", "."))
    except ValueError:
        raise UserError(tr(lang, "act.bad_percent", value=v)) from None


def _until(v: Any, lang: str) -> date:
    if isinstance(v, date) and not isinstance(v, datetime):
        return v
    raw = str(v or "").strip()
    if not raw:
        raise UserError(tr(lang, "act.until_missing"))
    return parse_day(raw, lang=lang)


def command_from(action: str, raw: Mapping[str, Any], *, lang: str = "vi") -> Command:
    """The command for ``action`` (a name or an alias in ``COMMANDS``) from raw input: form
    fields, a JSON body, CLI options or a history step. Text is stripped; ``version`` is a
    whole number; ``percent`` a number or text like "60,5%"; ``until`` a date or text in
    YYYY-MM-DD or dd/mm/yyyy; ``evidence_file`` an ``engine.evidence.Upload``. Missing
    required text is left empty for the action to refuse with its own message."""
    cls = COMMANDS.get(str(action or "").strip())
    if cls is None:
        known = ", ".join(dict.fromkeys(c.name for c in COMMANDS.values()))
        raise UserError(tr(lang, "act.unknown", action=action, known=known))
    version = _opt_int(raw.get("version"), "version", lang)
    if cls is Start:
        return Start(version=version, note=_text(raw.get("note")), override=_text(raw.get("override")))
    if cls is Submit:
        return Submit(version=version, evidence=_required_text(raw.get("evidence")), note=_text(raw.get("note")),
                      override=_text(raw.get("override")), evidence_file=raw.get("evidence_file"))
    if cls is Note:
        return Note(version=version, text=_required_text(raw.get("text")),
                    percent=_opt_percent(raw.get("percent"), lang), evidence=_text(raw.get("evidence")))
    if cls is RequestExtension:
        return RequestExtension(version=version, until=_until(raw.get("until"), lang),
                                reason=_required_text(raw.get("reason")))
    if cls is Acknowledge:
        return Acknowledge(version=version, note=_text(raw.get("note")), policy=raw.get("policy"))
    if issubclass(cls, _ReasonCommand):
        return cls(version=version, reason=_required_text(raw.get("reason")))
    if issubclass(cls, _NoteCommand):
        return cls(version=version, note=_text(raw.get("note")))
    raise AssertionError(f"command_from does not read {cls.__name__}")  # pragma: no cover  (a new command class)


# --- performing one ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What an action did: the item (as written), its status and deadline before, and for an
    acknowledgement the engine's answer. ``message(lang)`` is the one-line confirmation."""

    command: Command
    item: WorkItem
    ref: str
    actor: Actor
    status_before: str
    deadline_before: date | None
    ack: AckResult | None = None
    evidence_file: ev.Stored | None = field(default=None)

    def message(self, lang: str = "vi") -> str:
        """The confirmation the CLI prints (``steer task …``)."""
        w, ref, cmd = self.item, self.ref, self.command
        if isinstance(cmd, Acknowledge):
            assert self.ack is not None
            if self.ack.already:
                return tr(lang, "act.already_ack", ref=ref, level=self.ack.level,
                          at=fmt_local(self.ack.acked_at, self.ack.tz))
            return tr(lang, "act.done_ack", ref=ref, level=self.ack.level, name=self.actor.name)
        ver = tr(lang, "common.version", version=w.version)
        if isinstance(cmd, Note):
            return tr(lang, "act.done_note", ref=ref, ver=ver)
        if isinstance(cmd, RequestExtension):
            return tr(lang, "act.done_request_extension", ref=ref, until=fmt_date(cmd.until), ver=ver)
        if isinstance(cmd, ApproveExtension):
            return tr(lang, "act.done_approve_extension", ref=ref, before=fmt_date(self.deadline_before),
                      after=fmt_date(w.deadline), ver=ver)
        if isinstance(cmd, RejectExtension):
            return tr(lang, "act.done_reject_extension", ref=ref, deadline=fmt_date(w.deadline), ver=ver)
        extra = ""
        if w.status == Status.COMPLETED and w.completion:
            extra = tr(lang, "act.on_time" if w.completion == "on_time" else "act.late")
        return tr(lang, "act.done_status", ref=ref, before=status_label(self.status_before, lang),
                  after=status_label(w.status, lang), extra=extra, ver=ver)

    def web_message(self, lang: str = "vi") -> str:
        """The web's short confirmation (a flash message)."""
        key = self.command.web_done
        if self.ack is not None and self.ack.already:
            return self.message(lang)  # "đã xác nhận lúc …": nothing new was recorded
        return tr(lang, key, ref=self.ref) if key else self.message(lang)


def legal_now(session: Session, item: WorkItem, command: type[Command] | Command) -> bool:
    """Whether the command (a class or an instance) is legal from the item's current state
    (not yet who may do it)."""
    cls = command if isinstance(command, type) else type(command)
    if cls is Acknowledge:
        return False  # acknowledge refuses only when there is nothing (left) to acknowledge
    legal = allowed_actions(item)
    if cls is RequestExtension:
        return Action.REQUEST_EXTENSION in legal and pending_extension(session, item) is None
    return cls.permission in legal


def refused(session: Session, item: WorkItem, command: type[Command] | Command, exc: UserError) -> UserError:
    """``exc`` as ``StateConflict`` when the command is not legal from the item's current state
    (the refusal is due to the state, whatever the input), else ``exc`` itself. Call it before
    anything is written: the item must still be in its state before the command."""
    if isinstance(exc, (PermissionDenied, Conflict)) or legal_now(session, item, command):
        return exc
    return StateConflict(str(exc))


def perform(session: Session, actor: Actor, item: WorkItem | int, command: Command, *, now: datetime,
            lang: str = "vi", upload_dir: Path | None = None, max_upload_bytes: int | None = None) -> Outcome:
    """Perform ``command`` on ``item`` as ``actor``, in the caller's transaction.

    Raises ``PermissionDenied``, ``Conflict`` (a lost race or a stale ``version``),
    ``StateConflict`` (refused because of the item's current state) or ``UserError`` (the
    input). An evidence file goes to ``upload_dir`` (default ``engine.evidence.default_upload_dir()``)
    and is removed again when the action is refused; ``max_upload_bytes`` defaults to
    ``engine.evidence.default_max_bytes()``."""
    w = lc.get_item(session, item, lang)
    before_status, before_deadline = w.status, w.deadline
    stored: ev.Stored | None = None
    try:
        if isinstance(command, Submit) and command.evidence_file is not None:
            up = command.evidence_file
            stored = ev.save_evidence(up.stream, up.name, ev.evidence_dir(upload_dir or ev.default_upload_dir()),
                                      max_bytes=max_upload_bytes or ev.default_max_bytes(), lang=lang)
        ack = command.apply(session, actor, w, now=now, lang=lang, stored=stored)
        if stored is not None:
            ev.record(session, w.id, stored, content_type=command.evidence_file.content_type,  # type: ignore[union-attr]
                      uploaded_by=actor.id, uploaded_at=now)
    except UserError as exc:
        if stored is not None:
            stored.discard()
        # the engine refuses before writing anything, so the item is still in its state before the call
        err = refused(session, w, command, exc)
        if err is exc:
            raise
        raise err from None
    except BaseException:
        if stored is not None:
            stored.discard()
        raise
    return Outcome(command=command, item=w, ref=item_ref(w, session), actor=actor, status_before=before_status,
                   deadline_before=before_deadline, ack=ack, evidence_file=stored)


@dataclass(frozen=True)
class Step:
    """One action of a batch (``perform_many``): the command on the item; ``source``: what the
    step's event records as its source (``engine.lifecycle.EVENT_SOURCE``, e.g. an import's
    file and row; None: the one the session has when the batch starts, if any)."""

    item: WorkItem | int
    command: Command
    source: Mapping[str, Any] | None = None


# Commands whose decision reads only their own item (as loaded, and as the batch has updated
# it so far) and facts no action changes: perform_many may hold back their writes. Start and
# Submit also read the task's prerequisites' items, so only when the task has none. The rest
# (unblock and reopen read the event log, the extension actions and the acknowledgement read
# and write other rows, an evidence file is stored) are performed with their writes at once,
# after what the batch holds back is written.
_DEFERRABLE: frozenset[type[Command]] = frozenset({Start, Submit, Verify, Reject, Block, Cancel, Note})


def _deferrable(session: Session, item: WorkItem, command: Command) -> bool:
    cls = type(command)
    if cls not in _DEFERRABLE or (isinstance(command, Submit) and command.evidence_file is not None):
        return False
    return cls not in (Start, Submit) or known_without_prerequisites(session, item.task_id)


def perform_many(session: Session, actor: Actor, steps: Sequence[Step | tuple[WorkItem | int, Command]], *,
                 now: datetime, lang: str = "vi") -> list[Outcome]:
    """Perform the commands in order as ``actor``, in the caller's transaction, as if by one
    ``perform`` each — every step goes through ``perform`` (the same permission and state
    checks, the same event), only the writes are held back and done in bulk at the end
    (``engine.lifecycle.DeferredWrites``: one compare-and-set ``executemany`` per set of
    columns, one multi-row INSERT of the events with their hash chain, one move of the chain
    head). The same database state and the same events (ids and hashes) result as from the
    steps performed one by one.

    All or nothing: on any refusal (raised as ``perform`` raises it, named by ``perform``
    itself: a step refused with writes held back is performed again after they are written)
    or a row changed behind the batch (``Conflict`` naming the item), nothing of the batch
    is written (a savepoint) and the error is raised."""
    todo = [s if isinstance(s, Step) else Step(*s) for s in steps]
    if not todo:
        return []
    # PostgreSQL: every item's row locked and re-read at once, not one statement per action
    items = [lc.get_item(session, s.item, lang) for s in todo]
    lock_items(session, list({w.id: w for w in items}.values()))
    outcomes: list[Outcome] = []
    source_before = session.info.get(lc.EVENT_SOURCE)
    savepoint = session.begin_nested()
    try:
        with lc.deferred_writes(session) as held, steady(session):
            for step, w in zip(todo, items, strict=True):
                source = step.source if step.source is not None else source_before
                if source is None:
                    session.info.pop(lc.EVENT_SOURCE, None)
                else:
                    session.info[lc.EVENT_SOURCE] = source
                out: Outcome | None = None
                if _deferrable(session, w, step.command):
                    mark = len(held.cas), len(held.events)
                    try:
                        out = perform(session, actor, w, step.command, now=now, lang=lang)
                    except UserError:
                        # (refused before writing: nothing of the step is held) performed again
                        # below, after what is held back is written, so the refusal is named
                        # exactly as alone (e.g. who changed the item last)
                        del held.cas[mark[0]:], held.events[mark[1]:]
                        out = None
                if out is None:
                    held.write(session, lang=lang)
                    with lc.writing_at_once(session):
                        out = perform(session, actor, w, step.command, now=now, lang=lang)
                outcomes.append(out)
            held.write(session, lang=lang)
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        for w in items:  # the objects were updated as if written
            if w in session:
                session.expire(w)
        raise
    finally:
        if source_before is None:
            session.info.pop(lc.EVENT_SOURCE, None)
        else:
            session.info[lc.EVENT_SOURCE] = source_before
    return outcomes


# --- by a person's id and an item reference (``steer task …``, in-process or handed over) -----------


def act_on_reference(session: Session, person_id: str, ref: str, action: str, raw: Mapping[str, Any], *,
                     now: datetime, lang: str = "vi", upload_dir: Path | None = None) -> Outcome:
    """``steer task ACTION REF --as PERSON …``: read the command, load the acting person,
    resolve the reference, perform — the one path of the CLI run in-process and of the
    launcher's hand-over to a running server (``web/localapi.py``), so both check, write and
    answer alike."""
    command = command_from(action, raw, lang=lang)
    actor = load_actor(session, person_id, lang=lang)
    item = resolve_item(session, ref, actor=actor, lang=lang)
    # what the action reads (task, unit, plan, committee) in one statement, kept for the
    # transaction; a note also locks the row at once (add_note would otherwise lock it with a
    # second read)
    item = load_item(session, item.id, for_update=command.name == Action.NOTE, for_action=True) or item
    return perform(session, actor, item, command, now=now, lang=lang, upload_dir=upload_dir)


# ``steer task`` command -> (action, {CLI option name without dashes: raw field of command_from}).
# The launcher (cli/launch.py) sends these options; tests/test_cli_bridge.py keeps this table, the
# launcher's COMMAND_OPTIONS and the Typer commands in step.
_NOTE_VERSION = {"note": "note", "version": "version"}
_REASON_VERSION = {"reason": "reason", "version": "version"}
CLI_TASK_COMMANDS: dict[str, tuple[str, dict[str, str]]] = {
    "start": (Action.START, {"note": "note", "override": "override", "version": "version"}),
    "submit": (Action.SUBMIT, {"evidence": "evidence", "note": "note", "override": "override", "version": "version"}),
    "verify": (Action.VERIFY, _NOTE_VERSION),
    "reject": (Action.REJECT, _REASON_VERSION),
    "block": (Action.BLOCK, _REASON_VERSION),
    "unblock": (Action.UNBLOCK, _NOTE_VERSION),
    "cancel": (Action.CANCEL, _REASON_VERSION),
    "reopen": (Action.REOPEN, _REASON_VERSION),
    "note": (Action.NOTE, {"note": "text", "percent": "percent", "evidence": "evidence", "version": "version"}),
    "extend": (Action.REQUEST_EXTENSION, {"until": "until", "reason": "reason", "version": "version"}),
    "approve-extension": ("approve_extension", _NOTE_VERSION),
    "reject-extension": ("reject_extension", _REASON_VERSION),
}


def cli_command_raw(command: str, options: Mapping[str, str]) -> tuple[str, dict[str, Any]] | None:
    """(action, raw input) for ``steer task COMMAND`` with ``options`` (names without dashes;
    ``as`` is the acting person, not a field), or None for a command or option not served."""
    spec = CLI_TASK_COMMANDS.get(command)
    if spec is None:
        return None
    action, fields = spec
    raw: dict[str, Any] = {}
    for name, value in options.items():
        if name == "as":
            continue
        if name not in fields:
            return None
        raw[fields[name]] = value
    return str(action), raw

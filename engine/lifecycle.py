"""The actions on a work item: one service function per action, and the machinery they share.

States and transitions are in ``engine.states``, who may do what in ``engine.permissions``;
``engine.commands`` turns raw input into a command and performs it through these functions.

``submit`` goes straight to ``completed`` when the committee (or the plan) has
``auto_verify: true`` in its settings. ``completion`` (on_time/late) is judged on the local
date of ``completed_at``, i.e. the verification (``engine.timeliness.completion_of``).

Every action is one function (``start``, ``submit``, ``verify``, ``reject``, ``block``,
``unblock``, ``cancel``, ``reopen``, ``add_note``, ``request_extension``,
``decide_extension``). Each runs in the caller's transaction and

1. checks its arguments, the actor's permission, ``expected_version`` and that the
   action is legal from the current state (``UserError`` / ``PermissionDenied`` /
   ``Conflict`` with a message for a person, Vietnamese by default, ``lang="en"``);
2. writes the item with a compare-and-set on ``version``
   (``UPDATE … SET version = version + 1 WHERE id = :id AND version = :v``); a lost race
   raises ``Conflict`` naming who changed the item and when;
3. appends exactly one event to the hash-chained log (``append_item_event``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.actors import Actor, person_name
from engine.audit import append_event_at_commit, append_events, update_locking_head
from engine.clock import local_date, require_aware
from engine.days import fmt_date, fmt_local
from engine.db import id_fits
from engine.errors import Conflict, PermissionDenied, UserError
from engine.i18n import tr
from engine.models import Event, ExtensionRequest, Task, TaskDependency, WorkItem
from engine.permissions import allowed_actions, check_permission, pending_extension
from engine.refs import item_ref
from engine.states import (
    NON_STATUS_ACTIONS, OPEN_STATES, TRANSITIONS, Action, ExtensionStatus, PlanStatus, Status, action_label,
    action_with_command, derive_task_status, note_allowed, status_label,
)
from engine.timeliness import completion_of
from engine.txcache import committee_settings, known_without_prerequisites, load_item, locked_here

# --- the machinery shared by every action ----------------------------------------------------------


def get_item(session: Session, item: WorkItem | int, lang: str = "vi") -> WorkItem:
    """The item itself, or the item with this id loaded for an action (``UserError`` when none)."""
    if isinstance(item, WorkItem):
        return item
    obj = load_item(session, item)
    if obj is None:
        raise UserError(tr(lang, "lc.no_item_id", id=item))
    return obj


def _last_event(session: Session, item_id: int, *, kind: str | None = None) -> Event | None:
    stmt = select(Event).where(Event.work_item_id == item_id)
    if kind:
        stmt = stmt.where(Event.kind == kind)
    return session.execute(stmt.order_by(Event.id.desc()).limit(1)).scalar_one_or_none()


def _changed_by(session: Session, item: WorkItem, tz: str, *, kind: str | None = None) -> tuple[str, str] | None:
    ev = _last_event(session, item.id, kind=kind)
    if ev is None:
        return None
    return person_name(session, ev.actor), fmt_local(ev.at, tz)


def _conflict(session: Session, item: WorkItem, tz: str, lang: str) -> Conflict:
    ref = item_ref(item, session)
    who = _changed_by(session, item, tz)
    if who is None:
        return Conflict(tr(lang, "lc.changed_just_now", ref=ref))
    name, when = who
    return Conflict(tr(lang, "lc.changed_by", ref=ref, name=name, when=when))


def _check_version(session: Session, item: WorkItem, expected: int | None, tz: str, lang: str) -> None:
    if expected is not None and expected != item.version:
        raise _conflict(session, item, tz, lang)


def _illegal(session: Session, item: WorkItem, action: str, tz: str, lang: str, actor: Actor | None = None) -> UserError:
    ref = item_ref(item, session)
    st = status_label(item.status, lang)
    moved = ""
    who = _changed_by(session, item, tz, kind="status")
    if who is not None:
        moved = tr(lang, "lc.moved_by", name=who[0], when=who[1])
    allowed = allowed_actions(item)
    if allowed:
        options = ", ".join(action_with_command(a, lang) for a in allowed)
        tail = tr(lang, "lc.allowed_from_here", options=options)
    else:
        tail = tr(lang, "lc.nothing_allowed")
    return UserError(tr(lang, "lc.illegal", label=action_label(action, lang), ref=ref, status=st, moved=moved, tail=tail))


def _require_text(value: str | None, what: str, action: str, lang: str) -> str:
    """``value`` stripped; ``UserError`` naming ``what`` (a catalog key) when empty."""
    text = (value or "").strip()
    if not text:
        raise UserError(tr(lang, "lc.text_required", what=tr(lang, what), label=action_label(action, lang)))
    return text


@cache
def _cas_stmt(keys: tuple[str, ...], bulk: bool = False) -> Any:
    """``UPDATE work_item SET <keys>, version = version + 1 … WHERE id = :id AND version = :v``,
    built once per set of columns (a Core statement: no ORM bulk-update machinery per write);
    ``bulk``: the version moved by ``:w_inc``, the writes a batch made to the item
    (``DeferredWrites.write``)."""
    t = WorkItem.__table__
    values = {t.c[k]: bindparam(f"v_{k}", type_=t.c[k].type) for k in keys}
    step = bindparam("w_inc") if bulk else 1
    return (update(t).where(t.c.id == bindparam("w_id"), t.c.version == bindparam("w_version"))
            .values({**values, t.c.version: t.c.version + step,
                     t.c.updated_at: bindparam("v_updated_at", type_=t.c.updated_at.type),
                     t.c.updated_by: bindparam("v_updated_by", type_=t.c.updated_by.type)}))


def _cas(session: Session, item: WorkItem, values: dict[str, Any], *, actor: Actor, now: datetime,
         tz: str, lang: str) -> None:
    """Compare-and-set write: succeeds only if nobody changed the row since it was read.
    Inside ``deferred_writes`` the write is held back and done in bulk (``DeferredWrites.write``)."""
    params = {f"v_{k}": v for k, v in values.items()}
    params.update(w_id=item.id, w_version=item.version, v_updated_at=now, v_updated_by=actor.id)
    batch: DeferredWrites | None = session.info.get(_DEFERRED)
    if batch is not None:
        batch.cas.append((item, tuple(sorted(values)), params))
    else:
        session.flush()  # pending ORM changes first (nothing, usually), as session.execute would
        # on SQLite the same statement reads the chain head for the event that follows (audit.update_locking_head)
        if not update_locking_head(session, _cas_stmt(tuple(sorted(values))), params):
            session.expire(item)
            raise _conflict(session, item, tz, lang)
    # mirror the row we just wrote into the (already loaded) object: no reload needed
    for key, value in {**values, "version": item.version + 1, "updated_at": now, "updated_by": actor.id}.items():
        set_committed_value(item, key, value)


def append_item_event(session: Session, item: WorkItem, actor: Actor, *, now: datetime, kind: str,
                      **fields: Any) -> None:
    """The one way an action on an item appends its event (the acknowledgement of an escalation too)."""
    # chained at commit on PostgreSQL: concurrent actions hold the audit head only while committing
    task = item.task
    source = session.info.get(EVENT_SOURCE)
    if source:  # an import (engine.progress) names its file and row in every event it causes
        fields["data"] = {**(fields.get("data") or {}), "source": source}
    row = dict(at=now, actor=actor.id, actor_role=actor.role, kind=kind, plan_id=task.plan_id, task_id=task.id,
               work_item_id=item.id, **fields)
    batch: DeferredWrites | None = session.info.get(_DEFERRED)
    if batch is not None:
        batch.events.append((now, row))
        return
    append_event_at_commit(session, now=now, **row)


# --- writes held back and done in bulk (engine.commands.perform_many) --------------------------------

# session.info key: the DeferredWrites of the batch being performed, if any
_DEFERRED = "steer.lifecycle.deferred"


@dataclass
class DeferredWrites:
    """The compare-and-set writes and the events of a batch of actions, held back while the
    actions decide (each exactly as alone: the same functions, checks and event fields; the
    item object is updated as if written) and then written in bulk by ``write``.

    What it buys (bench/progress_import.py): an action alone costs about three statements —
    its compare-and-set, its event, the chain head (on PostgreSQL each a round trip to the
    server). In bulk a batch costs one ``executemany`` compare-and-set per set of columns
    written (an item written several times is written once, its version moved by as many),
    one multi-row INSERT of all the events with their hash chain computed in
    order in Python (``engine.audit.append_events``) and one move of the chain head.

    An action may only be decided with writes held back when what it reads is its own item
    (as loaded and as updated by the batch so far) and facts the batch does not change;
    ``engine.commands.perform_many`` writes what is held (``write``) before any other."""

    cas: list[tuple[WorkItem, tuple[str, ...], dict[str, Any]]] = field(default_factory=list)
    events: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    def write(self, session: Session, *, lang: str = "vi") -> None:
        """Write what is held back, in bulk; ``Conflict`` naming the item when a row was
        changed behind the batch (its compare-and-set matched fewer rows than expected)."""
        cas, events = self.cas, self.events
        self.cas, self.events = [], []
        if cas:
            session.flush()
            conn = session.connection()
            # an item written more than once by the batch is written once: compare-and-set on
            # the version the batch found, the version moved by the number of writes, each
            # column as the last write left it — the same row as the writes one by one, with
            # one UPDATE per item (bench/progress_import.py: a row that starts and notes was
            # two UPDATEs; 13,600 became 10,200)
            merged: dict[int, tuple[WorkItem, set[str], dict[str, Any]]] = {}
            for item, keys, params in cas:
                hit = merged.get(item.id)
                if hit is None:
                    merged[item.id] = (item, set(keys), {**params, "w_inc": 1})
                    continue
                _, seen_keys, acc = hit
                seen_keys.update(keys)
                acc.update({k: v for k, v in params.items() if k != "w_version"})
                acc["w_inc"] += 1
            groups: dict[tuple[str, ...], list[tuple[WorkItem, dict[str, Any]]]] = {}
            for item, keys_set, params in merged.values():
                groups.setdefault(tuple(sorted(keys_set)), []).append((item, params))
            for keys, entries in groups.items():
                matched = conn.execute(_cas_stmt(keys, True), [p for _, p in entries]).rowcount
                if matched != len(entries):
                    raise _bulk_conflict(session, entries, lang)
        # events: in order, all with one INSERT and one move of the head (runs of one ``now``)
        start = 0
        for i in range(1, len(events) + 1):
            if i == len(events) or events[i][0] != events[start][0]:
                append_events(session, [row for _, row in events[start:i]], now=events[start][0])
                start = i


def _bulk_conflict(session: Session, entries: list[tuple[WorkItem, dict[str, Any]]], lang: str) -> Conflict:
    """The ``Conflict`` for the first item of ``entries`` whose compare-and-set did not match
    (its row's version is not the one the batch wrote)."""
    ids = [w.id for w, _ in entries]
    now_at: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        now_at.update(session.execute(select(WorkItem.id, WorkItem.version).where(WorkItem.id.in_(ids[i:i + 500]))).all())
    for w, params in entries:
        if now_at.get(w.id) != params["w_version"] + params.get("w_inc", 1):
            session.expire(w)
            tz, _ = committee_settings(session, w.task.plan_id)
            return _conflict(session, w, tz, lang)
    return Conflict(tr(lang, "lc.changed_just_now", ref=item_ref(entries[0][0], session)))  # pragma: no cover


@contextmanager
def deferred_writes(session: Session) -> Iterator[DeferredWrites]:
    """Hold back the actions' writes in this block (see ``DeferredWrites``); the caller writes
    them (``write``). Nesting is not allowed."""
    if _DEFERRED in session.info:
        raise RuntimeError("deferred_writes is already active in this session")
    batch = DeferredWrites()
    session.info[_DEFERRED] = batch
    try:
        yield batch
    finally:
        session.info.pop(_DEFERRED, None)


@contextmanager
def writing_at_once(session: Session) -> Iterator[None]:
    """Inside ``deferred_writes``: actions in this block write at once (after what is held
    back was written by the caller)."""
    batch = session.info.pop(_DEFERRED, None)
    try:
        yield
    finally:
        if batch is not None:
            session.info[_DEFERRED] = batch


# session.info key: a mapping every item event of the transaction records as data["source"]
EVENT_SOURCE = "event_source"


@dataclass
class _Ctx:
    item: WorkItem
    tz: str
    settings: dict[str, Any]


def _prepare(session: Session, item: WorkItem | int, actor: Actor, action: str, *, now: datetime,
             expected_version: int | None, lang: str, legal: bool | None = None) -> _Ctx:
    require_aware(now)
    w = get_item(session, item, lang)
    tz, settings = committee_settings(session, w.task.plan_id)
    check_permission(session, actor, w, action, lang=lang)
    _check_version(session, w, expected_version, tz, lang)
    ok = (w.status in TRANSITIONS[action]) if legal is None else legal
    if not ok:
        raise _illegal(session, w, action, tz, lang, actor)
    return _Ctx(w, tz, settings)


def _status_change(session: Session, ctx: _Ctx, actor: Actor, *, now: datetime, to_status: str, lang: str,
                   values: dict[str, Any] | None = None, note: str | None = None, evidence: str | None = None,
                   percent: float | None = None, data: dict[str, Any] | None = None) -> WorkItem:
    w = ctx.item
    from_status = w.status
    _cas(session, w, {"status": to_status, **(values or {})}, actor=actor, now=now, tz=ctx.tz, lang=lang)
    append_item_event(session, w, actor, now=now, kind="status", from_status=from_status, to_status=to_status,
           note=note, evidence=evidence, percent=percent, data=data or {})
    return w


# --- dependencies ---------------------------------------------------------------------------------


def blocking_dependencies(session: Session, task_id: int) -> list[str]:
    """Codes of the tasks ``task_id`` depends on that are not completed yet.

    A prerequisite counts as done when its derived status is completed, or cancelled
    (a cancelled task can never complete, so it must not block forever)."""
    if known_without_prerequisites(session, task_id):  # load_item saw none in this transaction
        return []
    deps = session.execute(
        select(Task).join(TaskDependency, TaskDependency.depends_on_id == Task.id)
        .where(TaskDependency.task_id == task_id).order_by(Task.position, Task.code)
    ).scalars().all()
    blocking: list[str] = []
    for d in deps:
        if d.status == PlanStatus.CANCELLED:
            continue
        states = [(s, dl) for s, dl in session.execute(
            select(WorkItem.status, WorkItem.deadline).where(WorkItem.task_id == d.id)).all()]
        st = derive_task_status(states, recurring=d.deadline_kind == "recurring")
        if d.deadline_kind == "recurring" and st != Status.CANCELLED:
            # a recurring prerequisite is satisfied once its first occurrence is done
            st = Status.COMPLETED if any(s == Status.COMPLETED for s, _ in states) else st
        if st not in (Status.COMPLETED, Status.CANCELLED):
            blocking.append(d.code)
    return blocking


def _check_dependencies(session: Session, ctx: _Ctx, actor: Actor, action: str, override_note: str | None,
                        lang: str) -> dict[str, Any]:
    w = ctx.item
    blocking = blocking_dependencies(session, w.task_id)
    note = (override_note or "").strip()
    if not blocking:
        return {}
    ref = item_ref(w, session)
    codes = ", ".join(blocking)
    if not note:
        raise UserError(tr(lang, "lc.waiting_for_prerequisite", label=action_label(action, lang), ref=ref, codes=codes))
    if not actor.is_staff:
        raise PermissionDenied(tr(lang, "lc.override_secretariat_only", codes=codes, name=actor.name, pid=actor.id))
    return {"override": note, "blocking": blocking}


# --- the actions -------------------------------------------------------------------------------------


def start(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, expected_version: int | None = None,
          note: str | None = None, override_note: str | None = None, lang: str = "vi") -> WorkItem:
    """not_started → in_progress (refused while a prerequisite task is unfinished, unless overridden)."""
    ctx = _prepare(session, item, actor, Action.START, now=now, expected_version=expected_version, lang=lang)
    data = _check_dependencies(session, ctx, actor, Action.START, override_note, lang)
    values = {"started_at": ctx.item.started_at or now}
    return _status_change(session, ctx, actor, now=now, to_status=Status.IN_PROGRESS, lang=lang, values=values,
                          note=(note or "").strip() or None, data=data)


def submit(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, evidence: str,
           expected_version: int | None = None, note: str | None = None, override_note: str | None = None,
           lang: str = "vi") -> WorkItem:
    """not_started/in_progress → submitted, with evidence (document number, link or file path).

    With ``auto_verify: true`` in the committee's (or plan's) settings it goes straight to
    completed, and ``completion`` is set."""
    ev = _require_text(evidence, "lc.what_evidence", Action.SUBMIT, lang)
    ctx = _prepare(session, item, actor, Action.SUBMIT, now=now, expected_version=expected_version, lang=lang)
    data = _check_dependencies(session, ctx, actor, Action.SUBMIT, override_note, lang)
    w = ctx.item
    values: dict[str, Any] = {"started_at": w.started_at or now, "submitted_at": now}
    to_status = Status.SUBMITTED
    if bool(ctx.settings.get("auto_verify")):
        to_status = Status.COMPLETED
        values.update(completed_at=now, completion=completion_of(now, w.deadline, ctx.tz))
        data["auto_verify"] = True
    return _status_change(session, ctx, actor, now=now, to_status=to_status, lang=lang, values=values,
                          note=(note or "").strip() or None, evidence=ev, data=data)


def verify(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, expected_version: int | None = None,
           note: str | None = None, lang: str = "vi") -> WorkItem:
    """submitted → completed (secretariat). Sets completed_at and completion on_time/late."""
    ctx = _prepare(session, item, actor, Action.VERIFY, now=now, expected_version=expected_version, lang=lang)
    completion = completion_of(now, ctx.item.deadline, ctx.tz)
    return _status_change(session, ctx, actor, now=now, to_status=Status.COMPLETED, lang=lang,
                          values={"completed_at": now, "completion": completion},
                          note=(note or "").strip() or None, data={"completion": completion})


def reject(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
           expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """submitted → in_progress: the secretariat sends a submission back, with a reason."""
    why = _require_text(reason, "lc.what_reject_reason", Action.REJECT, lang)
    ctx = _prepare(session, item, actor, Action.REJECT, now=now, expected_version=expected_version, lang=lang)
    return _status_change(session, ctx, actor, now=now, to_status=Status.IN_PROGRESS, lang=lang,
                          values={"submitted_at": None}, note=why)


def block(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
          expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """not_started/in_progress → blocked, with the reason (vướng mắc)."""
    why = _require_text(reason, "lc.what_block_reason", Action.BLOCK, lang)
    ctx = _prepare(session, item, actor, Action.BLOCK, now=now, expected_version=expected_version, lang=lang)
    return _status_change(session, ctx, actor, now=now, to_status=Status.BLOCKED, lang=lang,
                          values={"blocked_reason": why}, note=why)


def _previous_state(session: Session, item: WorkItem, into: str) -> str:
    """The state an item was in before it last entered ``into`` (not_started or in_progress)."""
    ev = session.execute(
        select(Event.from_status).where(Event.work_item_id == item.id, Event.kind == "status", Event.to_status == into)
        .order_by(Event.id.desc()).limit(1)
    ).scalar_one_or_none()
    if ev in (Status.NOT_STARTED, Status.IN_PROGRESS):
        return ev
    return Status.IN_PROGRESS if item.started_at is not None else Status.NOT_STARTED


def unblock(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, note: str | None = None,
            expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """blocked → the state before it was blocked."""
    ctx = _prepare(session, item, actor, Action.UNBLOCK, now=now, expected_version=expected_version, lang=lang)
    back = _previous_state(session, ctx.item, Status.BLOCKED)
    return _status_change(session, ctx, actor, now=now, to_status=back, lang=lang,
                          values={"blocked_reason": None}, note=(note or "").strip() or None)


def cancel(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
           expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """Any open state → cancelled (secretariat), with a reason."""
    why = _require_text(reason, "lc.what_cancel_reason", Action.CANCEL, lang)
    ctx = _prepare(session, item, actor, Action.CANCEL, now=now, expected_version=expected_version, lang=lang)
    return _status_change(session, ctx, actor, now=now, to_status=Status.CANCELLED, lang=lang, note=why)


def reopen(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
           expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """submitted/completed → in_progress; cancelled → the state before (secretariat, with a reason).
    Clears submitted_at, completed_at and completion (the log keeps them)."""
    why = _require_text(reason, "lc.what_reopen_reason", Action.REOPEN, lang)
    ctx = _prepare(session, item, actor, Action.REOPEN, now=now, expected_version=expected_version, lang=lang)
    w = ctx.item
    to = _previous_state(session, w, Status.CANCELLED) if w.status == Status.CANCELLED else Status.IN_PROGRESS
    return _status_change(session, ctx, actor, now=now, to_status=to, lang=lang, note=why,
                          values={"submitted_at": None, "completed_at": None, "completion": None})


def add_note(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, text: str,
             percent: float | None = None, evidence: str | None = None, expected_version: int | None = None,
             lang: str = "vi") -> WorkItem:
    """A progress note (optional percent 0..100 and evidence): event kind "note", no status change.

    Allowed on every open item, and on completed items of ongoing (thường xuyên) tasks."""
    body = _require_text(text, "lc.what_note", Action.NOTE, lang)
    if percent is not None and not (0 <= percent <= 100):
        raise UserError(tr(lang, "lc.bad_percent", percent=percent))
    percent = float(percent) if percent is not None else None  # the column is a float; the hash sees 70.0, not 70
    require_aware(now)
    w = get_item(session, item, lang)
    if (expected_version is None and session.get_bind().dialect.name != "sqlite"
            and not locked_here(session, w.id)):
        # A note changes no state: two people noting the same item at once must both succeed,
        # so without an explicit version wait for the row instead of failing the CAS below.
        # (SQLite writers are already serialised by BEGIN IMMEDIATE.)
        session.refresh(w, with_for_update=True)
    ctx = _prepare(session, w, actor, Action.NOTE, now=now, expected_version=expected_version, lang=lang,
                   legal=note_allowed(w))
    _cas(session, w, {}, actor=actor, now=now, tz=ctx.tz, lang=lang)
    append_item_event(session, w, actor, now=now, kind="note", note=body, percent=percent,
           evidence=(evidence or "").strip() or None)
    return w


def request_extension(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, until: date,
                      reason: str, expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """Ask for a new deadline (after today and after the deadline in force), with a reason.

    One pending request per item. Creates an ``ExtensionRequest`` and an
    "extension_requested" event (deadline_before = deadline in force, deadline_after = until)."""
    why = _require_text(reason, "lc.what_extension_reason", Action.REQUEST_EXTENSION, lang)
    require_aware(now)
    w = get_item(session, item, lang)
    ctx = _prepare(session, w, actor, Action.REQUEST_EXTENSION, now=now, expected_version=expected_version, lang=lang,
                   legal=w.status in NON_STATUS_ACTIONS[Action.REQUEST_EXTENSION])
    today = local_date(now, ctx.tz)
    ref = item_ref(w, session)
    if until <= today:
        raise UserError(tr(lang, "lc.until_not_after_today", until=fmt_date(until), today=fmt_date(today)))
    if w.deadline is not None and until <= w.deadline:
        # an extension moves the deadline later: an earlier or equal date is not one (issue 17)
        raise UserError(tr(lang, "lc.until_not_after_deadline", until=fmt_date(until), ref=ref,
                           deadline=fmt_date(w.deadline)))
    pending = pending_extension(session, w)
    if pending is not None:
        raise UserError(tr(lang, "lc.extension_pending", ref=ref, until=fmt_date(pending.until),
                           name=person_name(session, pending.requested_by), at=fmt_local(pending.requested_at, ctx.tz)))
    before = w.deadline
    _cas(session, w, {}, actor=actor, now=now, tz=ctx.tz, lang=lang)
    req = ExtensionRequest(work_item_id=w.id, requested_by=actor.id, requested_at=now, until=until,
                           previous_deadline=before, reason=why, status=ExtensionStatus.PENDING)
    session.add(req)
    session.flush()
    append_item_event(session, w, actor, now=now, kind="extension_requested", note=why, deadline_before=before,
           deadline_after=until, data={"request_id": req.id})
    return w


def decide_extension(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, approve: bool,
                     note: str | None = None, request_id: int | None = None, expected_version: int | None = None,
                     lang: str = "vi") -> WorkItem:
    """Approve or reject the pending extension request (chair, the vice-chair in charge, or the secretariat).

    Approve: the deadline in force becomes ``until`` (``original_deadline`` is kept),
    event "extension_approved" with deadline_before/after. Reject (a reason is required):
    event "extension_rejected"; the deadline stays."""
    require_aware(now)
    w = get_item(session, item, lang)
    why = (note or "").strip() or None
    if not approve and not why:
        _require_text(note, "lc.what_decline_reason", Action.DECIDE_EXTENSION, lang)
    ctx = _prepare(session, w, actor, Action.DECIDE_EXTENSION, now=now, expected_version=expected_version, lang=lang,
                   legal=True)
    ref = item_ref(w, session)
    if request_id is not None:
        req = session.get(ExtensionRequest, request_id) if id_fits(session, request_id) else None
        if req is None or req.work_item_id != w.id or req.status != ExtensionStatus.PENDING:
            req = None
    else:
        req = pending_extension(session, w)
    if req is None:
        raise UserError(tr(lang, "lc.no_pending_extension", ref=ref))
    if approve and w.status not in OPEN_STATES:
        raise UserError(tr(lang, "lc.cannot_extend", ref=ref, status=status_label(w.status, lang)))
    before = w.deadline
    values: dict[str, Any] = {"deadline": req.until} if approve else {}
    _cas(session, w, values, actor=actor, now=now, tz=ctx.tz, lang=lang)
    req.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    req.decided_by, req.decided_at, req.decision_note = actor.id, now, why
    session.flush()
    append_item_event(session, w, actor, now=now, kind="extension_approved" if approve else "extension_rejected",
           note=why, deadline_before=before, deadline_after=req.until if approve else before,
           data={"request_id": req.id, "requested_until": req.until.isoformat(), "requested_by": req.requested_by})
    return w


def approve_extension(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, note: str | None = None,
                      expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    return decide_extension(session, item, actor, now=now, approve=True, note=note,
                            expected_version=expected_version, lang=lang)


def reject_extension(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
                     expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    return decide_extension(session, item, actor, now=now, approve=False, note=reason,
                            expected_version=expected_version, lang=lang)


# Action name -> function, for the CLI, the replay and the web.

"""The life of a work item: states, who may move it, and one service function per action.

States and the actions that move between them (``TRANSITIONS``)::

    action    from                                       to
    start     not_started                                in_progress
    submit    not_started, in_progress                   submitted (completed with auto_verify)
    verify    submitted                                  completed
    reject    submitted                                  in_progress
    block     not_started, in_progress                   blocked
    unblock   blocked                                    the state before the block
    cancel    not_started, in_progress, submitted,       cancelled
              blocked
    reopen    submitted, completed                       in_progress
              cancelled                                  not_started / in_progress (as before)

``note`` and ``request_extension`` are allowed on every open item (notes also on completed
items of ongoing tasks); deciding an extension needs a pending request.

``submit`` goes straight to ``completed`` when the committee (or the plan) has
``auto_verify: true`` in its settings. ``completion`` (on_time/late) is judged on the local
date of ``completed_at``, i.e. the verification (``engine.timeliness.completion_of``).

Who may do what (``check_permission``)::

    role          items                                      actions
    secretariat   all                                        all (incl. --override of dependencies)
    chair         all                                        all
    vice_chair    task.vice_chair_id is them, or the unit    note, approve/reject extensions
                  (or one of its groups) is in `oversees`
    focal_point   its unit's, and its groups' (Unit.members) start, submit, block, unblock, note,
                                                             request an extension
    viewer        —                                          nothing

Focal points see only their own items (``visible_filter``); everyone else sees all.

Every action is one function (``start``, ``submit``, ``verify``, ``reject``, ``block``,
``unblock``, ``cancel``, ``reopen``, ``add_note``, ``request_extension``,
``decide_extension``) used by the CLI, the history replay and the web. Each runs in the
caller's transaction and

1. checks its arguments, the actor's permission, ``expected_version`` and that the
   action is legal from the current state (``UserError`` / ``PermissionDenied`` /
   ``Conflict`` with a message for a person, Vietnamese by default, ``lang="en"``);
2. writes the item with a compare-and-set on ``version``
   (``UPDATE … SET version = version + 1 WHERE id = :id AND version = :v``); a lost race
   raises ``Conflict`` naming who changed the item and when;
3. appends exactly one event to the hash-chained log (``engine.audit``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, bindparam, distinct, event, exists, false, func, select, true, update
from sqlalchemy.orm import Session, aliased, load_only, object_session
from sqlalchemy.orm.attributes import set_committed_value

from engine.audit import append_event_at_commit, update_locking_head
from engine.clock import DEFAULT_TZ, local_date, require_aware
from engine.db import id_fits
from engine.errors import Conflict, PermissionDenied, UserError
from engine.models import Committee, Event, ExtensionRequest, Person, Plan, Task, TaskDependency, Unit, WorkItem
from engine.timeliness import completion_of

# --- states and transitions ---------------------------------------------------------------

STATUSES: tuple[str, ...] = ("not_started", "in_progress", "submitted", "completed", "blocked", "cancelled")
OPEN_STATES: tuple[str, ...] = ("not_started", "in_progress", "submitted", "blocked")

# action -> {from_status: to_status}. "*previous" = the state before (see _previous_state).
TRANSITIONS: dict[str, dict[str, str]] = {
    "start": {"not_started": "in_progress"},
    "submit": {"not_started": "submitted", "in_progress": "submitted"},  # → completed with auto_verify
    "verify": {"submitted": "completed"},
    "reject": {"submitted": "in_progress"},
    "block": {"not_started": "blocked", "in_progress": "blocked"},
    "unblock": {"blocked": "*previous"},  # back to not_started or in_progress
    "cancel": {s: "cancelled" for s in OPEN_STATES},
    "reopen": {"submitted": "in_progress", "completed": "in_progress", "cancelled": "*previous"},
}
# Actions that change no status, and the states they are allowed in.
NON_STATUS_ACTIONS: dict[str, tuple[str, ...]] = {
    "note": OPEN_STATES,  # plus completed items of ongoing tasks
    "request_extension": OPEN_STATES,
    "decide_extension": STATUSES,  # approving needs an open item; rejecting is always possible
}


def _allowed_pairs() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for table in TRANSITIONS.values():
        for src, dst in table.items():
            if dst == "*previous":
                pairs |= {(src, "not_started"), (src, "in_progress")}
            else:
                pairs.add((src, dst))
    pairs |= {("not_started", "completed"), ("in_progress", "completed")}  # submit with auto_verify
    return frozenset(pairs)


ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = _allowed_pairs()

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "not_started": ("Chưa bắt đầu", "Not started"),
    "in_progress": ("Đang thực hiện", "In progress"),
    "submitted": ("Đã báo cáo hoàn thành, chờ xác nhận", "Submitted, awaiting verification"),
    "completed": ("Đã hoàn thành", "Completed"),
    "blocked": ("Đang vướng mắc", "Blocked"),
    "cancelled": ("Đã hủy", "Cancelled"),
}
# action -> (Vietnamese label, English label, CLI command)
ACTION_LABELS: dict[str, tuple[str, str, str]] = {
    "start": ("bắt đầu thực hiện", "start", "start"),
    "submit": ("báo cáo hoàn thành", "submit", "submit"),
    "verify": ("xác nhận hoàn thành", "verify", "verify"),
    "reject": ("trả lại kết quả", "reject the submission", "reject"),
    "block": ("báo vướng mắc", "report a blocker", "block"),
    "unblock": ("gỡ vướng mắc", "unblock", "unblock"),
    "cancel": ("hủy", "cancel", "cancel"),
    "reopen": ("mở lại", "reopen", "reopen"),
    "note": ("ghi nhận tiến độ", "add a progress note", "note"),
    "request_extension": ("đề nghị gia hạn", "request an extension", "extend"),
    "decide_extension": ("quyết định gia hạn", "decide on an extension", "approve-extension|reject-extension"),
    "override": ("cho phép làm trước khi nhiệm vụ tiên quyết hoàn thành", "override a dependency", "--override"),
}

# --- actors and permissions ------------------------------------------------------------------

ROLES: tuple[str, ...] = ("chair", "vice_chair", "secretariat", "focal_point", "viewer")
ASSIGNEE_ACTIONS = frozenset({"start", "submit", "block", "unblock", "note", "request_extension"})
SECRETARIAT_ACTIONS = frozenset({"verify", "reject", "cancel", "reopen", "override"})
EXTENSION_DECISION = frozenset({"decide_extension"})
VICE_CHAIR_ACTIONS = frozenset({"note", "decide_extension"})
ALL_ACTIONS = ASSIGNEE_ACTIONS | SECRETARIAT_ACTIONS | EXTENSION_DECISION

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "chair": ("Trưởng ban", "chair"),
    "vice_chair": ("Phó Trưởng ban", "vice-chair"),
    "secretariat": ("Thường trực/Văn phòng Ban Chỉ đạo", "secretariat"),
    "focal_point": ("đầu mối của đơn vị", "unit focal point"),
    "viewer": ("người xem", "viewer"),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting. ``groups``: codes of group units the actor's unit belongs to."""

    id: str
    name: str
    role: str
    unit_code: str | None = None
    oversees: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def is_staff(self) -> bool:
        """Secretariat and chair act on every item."""
        return self.role in ("secretariat", "chair")


def _t(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


_GROUP = aliased(Unit, name="grp")


def actor_select(*extra: Any) -> Select[Any]:
    """Everything an ``Actor`` is made of, in one statement: the person, their unit and every
    group unit (one row per group; ``actor_from_rows``). Add a ``where`` (and joins for
    ``extra`` columns, e.g. the account or an API token)."""
    return (select(Person.id, Person.name, Person.role, Person.oversees, Person.active, Unit.code, Unit.groups,
                   _GROUP.code, _GROUP.members, *extra)
            .select_from(Person)
            .outerjoin(Unit, Unit.id == Person.unit_id)
            .outerjoin(_GROUP, and_(_GROUP.is_group.is_(True), Person.unit_id.is_not(None)))
            .order_by(_GROUP.id))


@cache
def _actor_by_id() -> Select[Any]:
    return actor_select().where(Person.id == bindparam("person_id"))


def actor_from_rows(rows: Any) -> Actor:
    """The ``Actor`` from the rows of ``actor_select`` for one person (groups: the unit's own
    ``groups`` plus every group unit listing the unit among its members)."""
    first = rows[0]
    pid, name, role, oversees, _active, unit_code, unit_groups = first[:7]
    groups: list[str] = list(unit_groups or []) if unit_code is not None else []
    if unit_code is not None:
        for r in rows:
            if r[7] is not None and unit_code in (r[8] or []) and r[7] not in groups:
                groups.append(r[7])
    return Actor(id=pid, name=name, role=role, unit_code=unit_code, oversees=tuple(oversees or ()),
                 groups=tuple(groups))


def load_actor(session: Session, person_id: str, *, lang: str = "vi") -> Actor:
    """The acting person (``UserError`` when unknown or inactive)."""
    rows = session.execute(_actor_by_id(), {"person_id": person_id}).all() if person_id else []
    if not rows or not rows[0][4]:
        known = session.execute(select(Person.id).where(Person.active.is_(True)).order_by(Person.id).limit(12)).scalars().all()
        hint = _t(lang, f" Ví dụ: {', '.join(known)}." if known else " Chưa có ai trong danh bạ.",
                  f" For example: {', '.join(known)}." if known else " The directory has no people yet.")
        what = _t(lang, "không có" if not rows else "đã ngừng hoạt động", "is unknown" if not rows else "is inactive")
        raise UserError(_t(lang, f"Người dùng «{person_id}» {what} trong danh bạ. Xem danh sách bằng lệnh "
                                 f"«steer directory show».{hint}",
                           f"Person «{person_id}» {what} in the directory. See who is there with "
                           f"«steer directory show».{hint}"))
    return actor_from_rows(rows)


def unit_scope(actor: Actor) -> set[str]:
    """Unit codes whose items a focal point sees and acts on: its unit and the groups it is in."""
    return {c for c in (actor.unit_code, *actor.groups) if c}


def in_scope(actor: Actor, item: WorkItem) -> bool:
    """Whether the item falls under the actor's responsibility (not yet whether the action is allowed)."""
    if actor.is_staff:
        return True
    unit = item.unit
    if actor.role == "focal_point":
        return unit.code in unit_scope(actor)
    if actor.role == "vice_chair":
        task = item.task
        if task.vice_chair_id == actor.id:
            return True
        over = set(actor.oversees)
        return unit.code in over or bool(over & set(unit.groups or ())) or bool(over & set(unit.members or ()))
    return False


def can_see(actor: Actor, item: WorkItem) -> bool:
    """Focal points see only their own unit's (and their groups') items; everyone else sees all."""
    if actor.role == "focal_point":
        return item.unit.code in unit_scope(actor)
    return True


def visible_filter(actor: Actor | None) -> ColumnElement[bool]:
    """A WHERE clause on ``WorkItem`` selecting the items ``actor`` may see."""
    if actor is None or actor.role != "focal_point":
        return true()
    scope = unit_scope(actor)
    if not scope:
        return false()
    return WorkItem.unit_id.in_(select(Unit.id).where(Unit.code.in_(scope)))


def visible_items(session: Session, actor: Actor | None) -> Select[tuple[WorkItem]]:
    """``select(WorkItem)`` restricted to what ``actor`` may see (add your own filters)."""
    return select(WorkItem).where(visible_filter(actor))


def check_permission(session: Session, actor: Actor, item: WorkItem, action: str, *, lang: str = "vi") -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may do ``action`` on ``item``."""
    if actor.is_staff or _permitted(actor, item, action):
        return
    ref = item_ref(item, session)
    label = _action_label(action, lang)
    role = _t(lang, ROLE_LABELS.get(actor.role, (actor.role, actor.role))[0], ROLE_LABELS.get(actor.role, (actor.role, actor.role))[1])
    who = f"{actor.name} ({actor.id})"
    if actor.role == "viewer" or actor.role not in ROLES:
        raise PermissionDenied(_t(lang, f"{who} là {role}, chỉ được xem, không được {label} phần việc {ref}.",
                                  f"{who} is a {role} and may only view; cannot {label} item {ref}."))
    if actor.role == "focal_point":
        if not can_see(actor, item):
            raise PermissionDenied(_t(
                lang, f"{who} là đầu mối của {actor.unit_code or 'không đơn vị nào'}, không được xem hay thay đổi "
                      f"phần việc {ref} của đơn vị khác.",
                f"{who} is the focal point of {actor.unit_code or 'no unit'} and cannot see or change item {ref}, "
                "which belongs to another unit."))
        if action in ASSIGNEE_ACTIONS:
            return
        if action in EXTENSION_DECISION:
            raise PermissionDenied(_t(
                lang, f"Chỉ Trưởng ban, Phó Trưởng ban phụ trách hoặc Thường trực Ban Chỉ đạo được quyết định gia hạn; "
                      f"{who} là {role}.",
                f"Only the chair, the vice-chair in charge or the secretariat may decide an extension; {who} is a {role}."))
        raise PermissionDenied(_t(
            lang, f"Chỉ Thường trực/Văn phòng Ban Chỉ đạo (hoặc người có thẩm quyền) được {label}; {who} là {role}.",
            f"Only the secretariat (or a person with authority) may {label}; {who} is a {role}."))
    if actor.role == "vice_chair":
        if not in_scope(actor, item):
            raise PermissionDenied(_t(
                lang, f"{who} không phụ trách phần việc {ref} (không phải Phó Trưởng ban được giao, đơn vị "
                      f"{item.unit.code} không thuộc lĩnh vực phụ trách), nên không được {label}.",
                f"{who} is not in charge of item {ref} (not the assigned vice-chair, and unit {item.unit.code} "
                f"is not among the units they oversee), so cannot {label}."))
        if action in VICE_CHAIR_ACTIONS:
            return
        raise PermissionDenied(_t(
            lang, f"Phó Trưởng ban chỉ được ghi ý kiến và quyết định gia hạn; việc {label} do đơn vị chủ trì "
                  "hoặc Thường trực Ban Chỉ đạo thực hiện.",
            f"A vice-chair may only add notes and decide extensions; to {label} is for the lead unit or the secretariat."))
    raise PermissionDenied(_t(lang, f"{who} không được {label}.", f"{who} may not {label}."))  # pragma: no cover


def allowed_actions(item: WorkItem, actor: Actor | None = None) -> list[str]:
    """Actions legal from the item's current state (and, given an actor, permitted to them)."""
    st = item.status
    out = [a for a, table in TRANSITIONS.items() if st in table]
    if _note_allowed(item):
        out.append("note")
    if st in NON_STATUS_ACTIONS["request_extension"]:
        out.append("request_extension")
    session = object_session(item)
    if session is not None and pending_extension(session, item) is not None:
        out.append("decide_extension")
    if actor is not None:
        out = [a for a in out if _permitted(actor, item, a)]
    return out


def _permitted(actor: Actor, item: WorkItem, action: str) -> bool:
    if actor.is_staff:
        return True
    if actor.role == "focal_point":
        return can_see(actor, item) and action in ASSIGNEE_ACTIONS
    if actor.role == "vice_chair":
        return in_scope(actor, item) and action in VICE_CHAIR_ACTIONS
    return False


# --- committee settings, formatting -------------------------------------------------------------


# Facts read once per transaction (session.info[_TX]; dropped when the transaction ends):
# the committee row's id, units per task, whether a task has prerequisites, item rows locked.
_TX = "steer.lifecycle.tx"


def _tx(session: Session) -> dict[Any, Any]:
    return session.info.setdefault(_TX, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_tx_facts(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_TX, None)


@event.listens_for(Session, "after_flush")
def _forget_task_facts(session: Session, _ctx: Any) -> None:
    facts = session.info.get(_TX)
    if facts and any(isinstance(o, (WorkItem, TaskDependency)) for o in (*session.new, *session.deleted)):
        for key in [k for k in facts if isinstance(k, tuple)]:
            del facts[key]


def _committee(session: Session) -> Committee | None:
    facts = _tx(session)
    cid = facts.get("committee")
    if cid is not None:
        c = session.get(Committee, cid)  # identity map: no statement
        if c is not None:
            return c
    c = session.execute(select(Committee).order_by(Committee.id).limit(1)).scalar_one_or_none()
    if c is not None:
        facts["committee"] = c.id
    return c


def committee_settings(session: Session, plan_id: int | None = None) -> tuple[str, dict[str, Any]]:
    """(timezone, settings): the committee row's (default Asia/Ho_Chi_Minh), plan overrides on top."""
    c = _committee(session)
    tz = (c.timezone if c is not None else None) or DEFAULT_TZ
    settings: dict[str, Any] = dict(c.settings or {}) if c is not None else {}
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is not None and plan.settings:
            settings.update(plan.settings)
    return tz, settings


# What an action (and the web's answer to it) reads of the rows load_item joins to the item:
# with ``for_action`` the rest (long texts, the directory's aliases and notification
# addresses, the plan's metadata) is left unloaded: fewer columns for the driver to
# describe and convert, fewer JSON documents to parse on every write. An unloaded column
# is read on first use (one statement), so code that needs more still gets it.
_ACTION_COLUMNS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (Task, ("id", "plan_id", "code", "title", "deadline", "deadline_kind", "vice_chair_id", "status")),
    (Unit, ("id", "code", "name", "members", "groups", "is_group")),
    (Plan, ("id", "code", "settings")),
    (Committee, ("id", "timezone", "settings")),
)


@cache
def _item_stmt(for_update: bool, dialect: str, for_action: bool = False) -> Select[Any]:
    """Built once (building it — the alias, the subqueries — costs more than running it)."""
    other = aliased(WorkItem)
    n_units = select(func.count(distinct(other.unit_id))).where(other.task_id == WorkItem.task_id).scalar_subquery()
    has_deps = exists().where(TaskDependency.task_id == WorkItem.task_id)
    first_committee = select(func.min(Committee.id)).scalar_subquery()
    stmt = (select(WorkItem, Task, Unit, Plan, Committee, n_units, has_deps)
            .join(Task, Task.id == WorkItem.task_id).join(Unit, Unit.id == WorkItem.unit_id)
            .join(Plan, Plan.id == Task.plan_id).outerjoin(Committee, Committee.id == first_committee)
            .where(WorkItem.id == bindparam("item_id")))
    if for_action:
        stmt = stmt.options(*(load_only(*(getattr(entity, c) for c in cols)) for entity, cols in _ACTION_COLUMNS))
    if for_update:
        stmt = stmt.execution_options(populate_existing=True)
        if dialect != "sqlite":
            stmt = stmt.with_for_update(of=WorkItem)
    return stmt


def load_item(session: Session, item_id: int, *, for_update: bool = False, for_action: bool = False) -> WorkItem | None:
    """The work item with everything an action reads (its task, unit, plan, the committee row,
    how many units share the task, whether the task has prerequisites) in one statement.

    ``for_update``: lock the item's row until the transaction ends (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers) and read its latest committed version.
    ``for_action``: load only the columns the actions read (``_ACTION_COLUMNS``), for a
    transaction that acts on the item rather than shows it."""
    if not id_fits(session, item_id):
        return None
    stmt = _item_stmt(for_update, session.get_bind().dialect.name, for_action)
    row = session.execute(stmt, {"item_id": item_id}).one_or_none()
    if row is None:
        return None
    w, task, unit, plan, committee, units, deps = row
    # the identity map holds objects weakly: tie them to the item (and the plan and committee
    # to this transaction), or they are gone, and read again, by the time they are used
    set_committed_value(w, "task", task)
    set_committed_value(w, "unit", unit)
    facts = _tx(session)
    facts.setdefault("keep", []).append((plan, committee))
    if committee is not None:
        facts["committee"] = committee.id
    facts[("units", task.id)] = int(units)
    facts[("deps", task.id)] = bool(deps)
    if for_update:
        facts.setdefault("locked", set()).add(w.id)
    return w


def fmt_local(moment: datetime | None, tz: str = DEFAULT_TZ) -> str:
    """dd/mm/yyyy HH:MM in the committee's timezone."""
    if moment is None:
        return "—"
    return require_aware(moment).astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")


def fmt_date(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "—"


def status_label(status: str | None, lang: str = "vi") -> str:
    if status is None:
        return "—"
    vi, en = STATUS_LABELS.get(status, (status, status))
    return _t(lang, vi, en)


def _action_label(action: str, lang: str) -> str:
    vi, en, _ = ACTION_LABELS.get(action, (action, action, action))
    return _t(lang, vi, en)


def _action_with_command(action: str, lang: str) -> str:
    vi, en, cmd = ACTION_LABELS[action]
    return f"{_t(lang, vi, en)} ({cmd})"


def person_name(session: Session, person_id: str | None) -> str:
    if not person_id:
        return "?"
    p = session.get(Person, person_id)
    return p.name if p is not None else person_id


# --- item references -----------------------------------------------------------------------------


def item_ref(item: WorkItem, session: Session | None = None) -> str:
    """Canonical reference: ``PLAN/TASK``, ``@UNIT`` when the task has several lead units,
    ``#OCCURRENCE`` for a recurring occurrence. E.g. ``KH-57-LS/12@SNV#2025-06``."""
    session = session or object_session(item)
    task = item.task
    plan_code = "?"
    if session is not None:
        plan = session.get(Plan, task.plan_id)  # usually in the identity map already
        plan_code = plan.code if plan is not None else "?"
    ref = f"{plan_code}/{task.code}"
    if session is not None:
        facts = _tx(session)
        n = facts.get(("units", task.id))
        if n is None:
            n = len(session.execute(select(WorkItem.unit_id).where(WorkItem.task_id == task.id).distinct()).scalars().all())
            facts[("units", task.id)] = n
        if n > 1:
            ref += f"@{item.unit.code}"
    if item.occurrence:
        ref += f"#{item.occurrence}"
    return ref


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _unit_matches(unit: Unit, wanted: str) -> bool:
    w = _norm(wanted)
    names = [unit.code, unit.name, *(unit.aliases or []), *(unit.former_names or [])]
    return any(_norm(n) == w for n in names if n)


def resolve_item(session: Session, ref: str, *, actor: Actor | None = None, lang: str = "vi") -> WorkItem:
    """A work item from a human reference.

    ``#123`` (item id); ``PLAN/TASK``; ``PLAN/TASK@UNIT`` (unit code, name or alias) when
    the task has several lead units; ``PLAN/TASK#2025-06`` or ``PLAN/TASK@UNIT#2025-06``
    for an occurrence of a recurring task (default: the earliest open occurrence).
    With a focal-point ``actor``, only that actor's items are candidates, so ``KH/12``
    finds their own unit's share without ``@UNIT``.
    """
    raw = (ref or "").strip()
    if not raw:
        raise UserError(_t(lang, "Thiếu mã phần việc (ví dụ KH-57-LS/12 hoặc #123).",
                           "Missing item reference (e.g. KH-57-LS/12 or #123)."))
    m = re.fullmatch(r"#\s*(\d+)", raw)
    if m:
        number = int(m.group(1))
        item = session.get(WorkItem, number) if id_fits(session, number) else None
        if item is None:
            raise UserError(_t(lang, f"Không có phần việc số {raw}.", f"There is no work item {raw}."))
        return item
    base, occ = raw, None
    if "#" in raw:
        base, occ = raw.rsplit("#", 1)
        occ = occ.strip()
    unit_ref = None
    if "@" in base:
        base, unit_ref = base.rsplit("@", 1)
        unit_ref = unit_ref.strip()
    plan, task_code = _split_plan_task(session, base.strip(), raw, lang)
    task = session.execute(select(Task).where(Task.plan_id == plan.id, Task.code == task_code)).scalar_one_or_none()
    if task is None:
        raise UserError(_t(lang, f"Kế hoạch {plan.code} không có nhiệm vụ số «{task_code}» (tham chiếu «{raw}»).",
                           f"Plan {plan.code} has no task «{task_code}» (reference «{raw}»)."))
    items = session.execute(select(WorkItem).where(WorkItem.task_id == task.id)
                            .order_by(WorkItem.deadline, WorkItem.occurrence, WorkItem.id)).scalars().all()
    if not items:
        raise UserError(_t(lang, f"Nhiệm vụ {plan.code}/{task.code} chưa có đơn vị chủ trì nên chưa có phần việc.",
                           f"Task {plan.code}/{task.code} has no lead unit, hence no work item."))
    units = {i.unit_id: i.unit for i in items}
    if unit_ref:
        chosen = [u for u in units.values() if _unit_matches(u, unit_ref)]
        if not chosen:
            raise UserError(_t(lang, f"Đơn vị «{unit_ref}» không chủ trì nhiệm vụ {plan.code}/{task.code}; "
                                     f"các đơn vị chủ trì: {_unit_list(units.values())}.",
                               f"Unit «{unit_ref}» is not a lead unit of task {plan.code}/{task.code}; "
                               f"lead units: {_unit_list(units.values())}."))
        items = [i for i in items if i.unit_id == chosen[0].id]
    elif len(units) > 1:
        if actor is not None and actor.role == "focal_point":
            mine = [i for i in items if can_see(actor, i)]
            if len({i.unit_id for i in mine}) == 1:
                items = mine
        if len({i.unit_id for i in items}) > 1:
            raise UserError(_t(
                lang, f"Nhiệm vụ {plan.code}/{task.code} có {len(units)} đơn vị chủ trì: {_unit_list(units.values())}; "
                      f"hãy ghi rõ đơn vị, ví dụ {plan.code}/{task.code}@{next(iter(units.values())).code}.",
                f"Task {plan.code}/{task.code} has {len(units)} lead units: {_unit_list(units.values())}; "
                f"name one, e.g. {plan.code}/{task.code}@{next(iter(units.values())).code}."))
    if occ:
        hit = [i for i in items if i.occurrence == occ]
        if not hit:
            known = ", ".join(f"#{i.occurrence}" for i in items if i.occurrence) or "—"
            raise UserError(_t(lang, f"Nhiệm vụ {plan.code}/{task.code} không có kỳ «{occ}»; các kỳ: {known}.",
                               f"Task {plan.code}/{task.code} has no occurrence «{occ}»; occurrences: {known}."))
        return hit[0]
    if len(items) == 1:
        return items[0]
    open_ = [i for i in items if i.status in OPEN_STATES]
    return open_[0] if open_ else items[-1]


def _unit_list(units: Iterable[Unit]) -> str:
    return ", ".join(f"@{u.code}" for u in units)


def _split_plan_task(session: Session, base: str, raw: str, lang: str) -> tuple[Plan, str]:
    if "/" not in base:
        raise UserError(_t(lang, f"Tham chiếu «{raw}» không hợp lệ: dùng KẾ_HOẠCH/NHIỆM_VỤ (ví dụ KH-57-LS/12), "
                                 "thêm @ĐƠN_VỊ hoặc #KỲ khi cần, hoặc #SỐ_PHẦN_VIỆC.",
                           f"Invalid reference «{raw}»: use PLAN/TASK (e.g. KH-57-LS/12), adding @UNIT or "
                           "#OCCURRENCE when needed, or #ITEM_ID."))
    # plan codes may themselves contain "/" (document numbers): try every split, longest plan first
    parts = base.split("/")
    for k in range(len(parts) - 1, 0, -1):
        code, task_code = "/".join(parts[:k]).strip(), "/".join(parts[k:]).strip()
        plan = session.execute(select(Plan).where(Plan.code == code)).scalar_one_or_none()
        if plan is not None:
            return plan, task_code
    known = session.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
    hint = _t(lang, f" Các kế hoạch hiện có: {', '.join(known)}." if known else " Chưa có kế hoạch nào.",
              f" Known plans: {', '.join(known)}." if known else " No plan is loaded.")
    raise UserError(_t(lang, f"Không tìm thấy kế hoạch trong tham chiếu «{raw}».{hint}",
                       f"No plan matches the reference «{raw}».{hint}"))


# --- the machinery shared by every action ----------------------------------------------------------


def _get_item(session: Session, item: WorkItem | int, lang: str) -> WorkItem:
    if isinstance(item, WorkItem):
        return item
    obj = load_item(session, item)
    if obj is None:
        raise UserError(_t(lang, f"Không có phần việc số #{item}.", f"There is no work item #{item}."))
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
        return Conflict(_t(lang, f"Phần việc {ref} vừa được người khác thay đổi; hãy tải lại rồi thử lại.",
                           f"Item {ref} was just changed by someone else; reload and try again."))
    name, when = who
    return Conflict(_t(lang, f"Phần việc {ref} đã được {name} thay đổi lúc {when}; hãy tải lại rồi thử lại.",
                       f"Item {ref} was changed by {name} at {when}; reload and try again."))


def _check_version(session: Session, item: WorkItem, expected: int | None, tz: str, lang: str) -> None:
    if expected is not None and expected != item.version:
        raise _conflict(session, item, tz, lang)


def _illegal(session: Session, item: WorkItem, action: str, tz: str, lang: str, actor: Actor | None = None) -> UserError:
    ref = item_ref(item, session)
    st = status_label(item.status, lang)
    moved = ""
    who = _changed_by(session, item, tz, kind="status")
    if who is not None:
        moved = _t(lang, f" (do {who[0]} chuyển lúc {who[1]})", f" (moved there by {who[0]} at {who[1]})")
    allowed = allowed_actions(item)
    if allowed:
        options = ", ".join(_action_with_command(a, lang) for a in allowed)
        tail = _t(lang, f" Các thao tác được phép từ trạng thái này: {options}.",
                  f" Allowed from this state: {options}.")
    else:
        tail = _t(lang, " Không còn thao tác nào được phép.", " No action is allowed any more.")
    return UserError(_t(lang, f"Không thể {_action_label(action, lang)} phần việc {ref}: phần việc đang ở trạng thái "
                              f"«{st}»{moved}.{tail}",
                        f"Cannot {_action_label(action, lang)} item {ref}: it is «{st}»{moved}.{tail}"))


def _require_text(value: str | None, what_vi: str, what_en: str, action: str, lang: str) -> str:
    text = (value or "").strip()
    if not text:
        raise UserError(_t(lang, f"Cần nhập {what_vi} để {_action_label(action, lang)}.",
                           f"{what_en[0].upper() + what_en[1:]} is required to {_action_label(action, lang)}."))
    return text


@cache
def _cas_stmt(keys: tuple[str, ...]) -> Any:
    """``UPDATE work_item SET <keys>, version = version + 1 … WHERE id = :id AND version = :v``,
    built once per set of columns (a Core statement: no ORM bulk-update machinery per write)."""
    t = WorkItem.__table__
    values = {t.c[k]: bindparam(f"v_{k}", type_=t.c[k].type) for k in keys}
    return (update(t).where(t.c.id == bindparam("w_id"), t.c.version == bindparam("w_version"))
            .values({**values, t.c.version: t.c.version + 1,
                     t.c.updated_at: bindparam("v_updated_at", type_=t.c.updated_at.type),
                     t.c.updated_by: bindparam("v_updated_by", type_=t.c.updated_by.type)}))


def _cas(session: Session, item: WorkItem, values: dict[str, Any], *, actor: Actor, now: datetime,
         tz: str, lang: str) -> None:
    """Compare-and-set write: succeeds only if nobody changed the row since it was read."""
    session.flush()  # pending ORM changes first (nothing, usually), as session.execute would
    params = {f"v_{k}": v for k, v in values.items()}
    params.update(w_id=item.id, w_version=item.version, v_updated_at=now, v_updated_by=actor.id)
    # on SQLite the same statement reads the chain head for the event that follows (audit.update_locking_head)
    if not update_locking_head(session, _cas_stmt(tuple(sorted(values))), params):
        session.expire(item)
        raise _conflict(session, item, tz, lang)
    # mirror the row we just wrote into the (already loaded) object: no reload needed
    for key, value in {**values, "version": item.version + 1, "updated_at": now, "updated_by": actor.id}.items():
        set_committed_value(item, key, value)


def _event(session: Session, item: WorkItem, actor: Actor, *, now: datetime, kind: str, **fields: Any) -> None:
    # chained at commit on PostgreSQL: concurrent actions hold the audit head only while committing
    task = item.task
    append_event_at_commit(session, now=now, at=now, actor=actor.id, actor_role=actor.role, kind=kind,
                        plan_id=task.plan_id, task_id=task.id, work_item_id=item.id, **fields)


@dataclass
class _Ctx:
    item: WorkItem
    tz: str
    settings: dict[str, Any]


def _prepare(session: Session, item: WorkItem | int, actor: Actor, action: str, *, now: datetime,
             expected_version: int | None, lang: str, legal: bool | None = None) -> _Ctx:
    require_aware(now)
    w = _get_item(session, item, lang)
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
    _event(session, w, actor, now=now, kind="status", from_status=from_status, to_status=to_status,
           note=note, evidence=evidence, percent=percent, data=data or {})
    return w


# --- dependencies ---------------------------------------------------------------------------------


def blocking_dependencies(session: Session, task_id: int) -> list[str]:
    """Codes of the tasks ``task_id`` depends on that are not completed yet.

    A prerequisite counts as done when its derived status is completed, or cancelled
    (a cancelled task can never complete, so it must not block forever)."""
    from engine.queries import derive_task_status

    if _tx(session).get(("deps", task_id)) is False:  # load_item saw none in this transaction
        return []
    deps = session.execute(
        select(Task).join(TaskDependency, TaskDependency.depends_on_id == Task.id)
        .where(TaskDependency.task_id == task_id).order_by(Task.position, Task.code)
    ).scalars().all()
    blocking: list[str] = []
    for d in deps:
        if d.status == "cancelled":
            continue
        states = [(s, dl) for s, dl in session.execute(
            select(WorkItem.status, WorkItem.deadline).where(WorkItem.task_id == d.id)).all()]
        st = derive_task_status(states, recurring=d.deadline_kind == "recurring")
        if d.deadline_kind == "recurring" and st != "cancelled":
            # a recurring prerequisite is satisfied once its first occurrence is done
            st = "completed" if any(s == "completed" for s, _ in states) else st
        if st not in ("completed", "cancelled"):
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
        raise UserError(_t(
            lang, f"Chưa thể {_action_label(action, lang)} phần việc {ref}: phải chờ nhiệm vụ {codes} hoàn thành "
                  "trước (nhiệm vụ tiên quyết). Thường trực Ban Chỉ đạo có thể cho phép làm trước bằng "
                  "--override \"lý do\".",
            f"Cannot {_action_label(action, lang)} item {ref} yet: it depends on task(s) {codes}, not completed. "
            "The secretariat may allow it with --override \"reason\"."))
    if not actor.is_staff:
        raise PermissionDenied(_t(
            lang, f"Chỉ Thường trực/Văn phòng Ban Chỉ đạo được cho phép làm trước khi nhiệm vụ tiên quyết ({codes}) "
                  f"hoàn thành; {actor.name} ({actor.id}) không có quyền này.",
            f"Only the secretariat may override the unfinished prerequisite(s) {codes}; "
            f"{actor.name} ({actor.id}) may not."))
    return {"override": note, "blocking": blocking}


# --- the actions -------------------------------------------------------------------------------------


def start(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, expected_version: int | None = None,
          note: str | None = None, override_note: str | None = None, lang: str = "vi") -> WorkItem:
    """not_started → in_progress (refused while a prerequisite task is unfinished, unless overridden)."""
    ctx = _prepare(session, item, actor, "start", now=now, expected_version=expected_version, lang=lang)
    data = _check_dependencies(session, ctx, actor, "start", override_note, lang)
    values = {"started_at": ctx.item.started_at or now}
    return _status_change(session, ctx, actor, now=now, to_status="in_progress", lang=lang, values=values,
                          note=(note or "").strip() or None, data=data)


def submit(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, evidence: str,
           expected_version: int | None = None, note: str | None = None, override_note: str | None = None,
           lang: str = "vi") -> WorkItem:
    """not_started/in_progress → submitted, with evidence (document number, link or file path).

    With ``auto_verify: true`` in the committee's (or plan's) settings it goes straight to
    completed, and ``completion`` is set."""
    ev = _require_text(evidence, "bằng chứng hoàn thành (số văn bản, đường dẫn hoặc tệp)",
                       "evidence (a document number, a link or a file path)", "submit", lang)
    ctx = _prepare(session, item, actor, "submit", now=now, expected_version=expected_version, lang=lang)
    data = _check_dependencies(session, ctx, actor, "submit", override_note, lang)
    w = ctx.item
    values: dict[str, Any] = {"started_at": w.started_at or now, "submitted_at": now}
    to_status = "submitted"
    if bool(ctx.settings.get("auto_verify")):
        to_status = "completed"
        values.update(completed_at=now, completion=completion_of(now, w.deadline, ctx.tz))
        data["auto_verify"] = True
    return _status_change(session, ctx, actor, now=now, to_status=to_status, lang=lang, values=values,
                          note=(note or "").strip() or None, evidence=ev, data=data)


def verify(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, expected_version: int | None = None,
           note: str | None = None, lang: str = "vi") -> WorkItem:
    """submitted → completed (secretariat). Sets completed_at and completion on_time/late."""
    ctx = _prepare(session, item, actor, "verify", now=now, expected_version=expected_version, lang=lang)
    completion = completion_of(now, ctx.item.deadline, ctx.tz)
    return _status_change(session, ctx, actor, now=now, to_status="completed", lang=lang,
                          values={"completed_at": now, "completion": completion},
                          note=(note or "").strip() or None, data={"completion": completion})


def reject(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
           expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """submitted → in_progress: the secretariat sends a submission back, with a reason."""
    why = _require_text(reason, "lý do trả lại", "a reason", "reject", lang)
    ctx = _prepare(session, item, actor, "reject", now=now, expected_version=expected_version, lang=lang)
    return _status_change(session, ctx, actor, now=now, to_status="in_progress", lang=lang,
                          values={"submitted_at": None}, note=why)


def block(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
          expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """not_started/in_progress → blocked, with the reason (vướng mắc)."""
    why = _require_text(reason, "nội dung vướng mắc", "a reason", "block", lang)
    ctx = _prepare(session, item, actor, "block", now=now, expected_version=expected_version, lang=lang)
    return _status_change(session, ctx, actor, now=now, to_status="blocked", lang=lang,
                          values={"blocked_reason": why}, note=why)


def _previous_state(session: Session, item: WorkItem, into: str) -> str:
    """The state an item was in before it last entered ``into`` (not_started or in_progress)."""
    ev = session.execute(
        select(Event.from_status).where(Event.work_item_id == item.id, Event.kind == "status", Event.to_status == into)
        .order_by(Event.id.desc()).limit(1)
    ).scalar_one_or_none()
    if ev in ("not_started", "in_progress"):
        return ev
    return "in_progress" if item.started_at is not None else "not_started"


def unblock(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, note: str | None = None,
            expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """blocked → the state before it was blocked."""
    ctx = _prepare(session, item, actor, "unblock", now=now, expected_version=expected_version, lang=lang)
    back = _previous_state(session, ctx.item, "blocked")
    return _status_change(session, ctx, actor, now=now, to_status=back, lang=lang,
                          values={"blocked_reason": None}, note=(note or "").strip() or None)


def cancel(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
           expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """Any open state → cancelled (secretariat), with a reason."""
    why = _require_text(reason, "lý do hủy", "a reason", "cancel", lang)
    ctx = _prepare(session, item, actor, "cancel", now=now, expected_version=expected_version, lang=lang)
    return _status_change(session, ctx, actor, now=now, to_status="cancelled", lang=lang, note=why)


def reopen(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, reason: str,
           expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """submitted/completed → in_progress; cancelled → the state before (secretariat, with a reason).
    Clears submitted_at, completed_at and completion (the log keeps them)."""
    why = _require_text(reason, "lý do mở lại", "a reason", "reopen", lang)
    ctx = _prepare(session, item, actor, "reopen", now=now, expected_version=expected_version, lang=lang)
    w = ctx.item
    to = _previous_state(session, w, "cancelled") if w.status == "cancelled" else "in_progress"
    return _status_change(session, ctx, actor, now=now, to_status=to, lang=lang, note=why,
                          values={"submitted_at": None, "completed_at": None, "completion": None})


def _note_allowed(item: WorkItem) -> bool:
    if item.status in NON_STATUS_ACTIONS["note"]:
        return True
    return item.status == "completed" and item.task.deadline_kind == "ongoing"


def add_note(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, text: str,
             percent: float | None = None, evidence: str | None = None, expected_version: int | None = None,
             lang: str = "vi") -> WorkItem:
    """A progress note (optional percent 0..100 and evidence): event kind "note", no status change.

    Allowed on every open item, and on completed items of ongoing (thường xuyên) tasks."""
    body = _require_text(text, "nội dung ghi nhận", "the note text", "note", lang)
    if percent is not None and not (0 <= percent <= 100):
        raise UserError(_t(lang, f"Tỷ lệ hoàn thành phải từ 0 đến 100 (nhận được {percent:g}).",
                           f"Percent must be between 0 and 100 (got {percent:g})."))
    percent = float(percent) if percent is not None else None  # the column is a float; the hash sees 70.0, not 70
    require_aware(now)
    w = _get_item(session, item, lang)
    if (expected_version is None and session.get_bind().dialect.name != "sqlite"
            and w.id not in _tx(session).get("locked", ())):
        # A note changes no state: two people noting the same item at once must both succeed,
        # so without an explicit version wait for the row instead of failing the CAS below.
        # (SQLite writers are already serialised by BEGIN IMMEDIATE.)
        session.refresh(w, with_for_update=True)
    ctx = _prepare(session, w, actor, "note", now=now, expected_version=expected_version, lang=lang,
                   legal=_note_allowed(w))
    _cas(session, w, {}, actor=actor, now=now, tz=ctx.tz, lang=lang)
    _event(session, w, actor, now=now, kind="note", note=body, percent=percent,
           evidence=(evidence or "").strip() or None)
    return w


def pending_extension(session: Session, item: WorkItem | int) -> ExtensionRequest | None:
    item_id = item.id if isinstance(item, WorkItem) else item
    return session.execute(
        select(ExtensionRequest).where(ExtensionRequest.work_item_id == item_id, ExtensionRequest.status == "pending")
        .order_by(ExtensionRequest.id.desc()).limit(1)
    ).scalar_one_or_none()


def request_extension(session: Session, item: WorkItem | int, actor: Actor, *, now: datetime, until: date,
                      reason: str, expected_version: int | None = None, lang: str = "vi") -> WorkItem:
    """Ask for a new deadline (after today, different from the current one), with a reason.

    One pending request per item. Creates an ``ExtensionRequest`` and an
    "extension_requested" event (deadline_before = deadline in force, deadline_after = until)."""
    why = _require_text(reason, "lý do đề nghị gia hạn", "a reason", "request_extension", lang)
    require_aware(now)
    w = _get_item(session, item, lang)
    ctx = _prepare(session, w, actor, "request_extension", now=now, expected_version=expected_version, lang=lang,
                   legal=w.status in NON_STATUS_ACTIONS["request_extension"])
    today = local_date(now, ctx.tz)
    ref = item_ref(w, session)
    if until <= today:
        raise UserError(_t(lang, f"Thời hạn đề nghị {fmt_date(until)} phải sau hôm nay ({fmt_date(today)}).",
                           f"The requested deadline {fmt_date(until)} must be after today ({fmt_date(today)})."))
    if w.deadline is not None and until == w.deadline:
        raise UserError(_t(lang, f"Thời hạn đề nghị {fmt_date(until)} trùng thời hạn hiện tại của phần việc {ref}.",
                           f"The requested deadline {fmt_date(until)} is the current deadline of item {ref}."))
    pending = pending_extension(session, w)
    if pending is not None:
        raise UserError(_t(
            lang, f"Phần việc {ref} đã có đề nghị gia hạn đến {fmt_date(pending.until)} đang chờ quyết định "
                  f"(do {person_name(session, pending.requested_by)} gửi lúc {fmt_local(pending.requested_at, ctx.tz)}).",
            f"Item {ref} already has a pending extension request until {fmt_date(pending.until)} "
            f"(sent by {person_name(session, pending.requested_by)} at {fmt_local(pending.requested_at, ctx.tz)})."))
    before = w.deadline
    _cas(session, w, {}, actor=actor, now=now, tz=ctx.tz, lang=lang)
    req = ExtensionRequest(work_item_id=w.id, requested_by=actor.id, requested_at=now, until=until,
                           previous_deadline=before, reason=why, status="pending")
    session.add(req)
    session.flush()
    _event(session, w, actor, now=now, kind="extension_requested", note=why, deadline_before=before,
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
    w = _get_item(session, item, lang)
    why = (note or "").strip() or None
    if not approve and not why:
        _require_text(note, "lý do không chấp thuận gia hạn", "a reason", "decide_extension", lang)
    ctx = _prepare(session, w, actor, "decide_extension", now=now, expected_version=expected_version, lang=lang,
                   legal=True)
    ref = item_ref(w, session)
    if request_id is not None:
        req = session.get(ExtensionRequest, request_id) if id_fits(session, request_id) else None
        if req is None or req.work_item_id != w.id or req.status != "pending":
            req = None
    else:
        req = pending_extension(session, w)
    if req is None:
        raise UserError(_t(lang, f"Phần việc {ref} không có đề nghị gia hạn nào đang chờ quyết định.",
                           f"Item {ref} has no pending extension request."))
    if approve and w.status not in OPEN_STATES:
        raise UserError(_t(lang, f"Không thể gia hạn phần việc {ref}: phần việc đang ở trạng thái "
                                 f"«{status_label(w.status, lang)}». Có thể không chấp thuận đề nghị (reject-extension).",
                           f"Cannot extend item {ref}: it is «{status_label(w.status, lang)}». "
                           "The request can still be rejected (reject-extension)."))
    before = w.deadline
    values: dict[str, Any] = {"deadline": req.until} if approve else {}
    _cas(session, w, values, actor=actor, now=now, tz=ctx.tz, lang=lang)
    req.status = "approved" if approve else "rejected"
    req.decided_by, req.decided_at, req.decision_note = actor.id, now, why
    session.flush()
    _event(session, w, actor, now=now, kind="extension_approved" if approve else "extension_rejected",
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
ACTIONS = {
    "start": start, "submit": submit, "verify": verify, "reject": reject, "block": block, "unblock": unblock,
    "cancel": cancel, "reopen": reopen, "note": add_note, "request_extension": request_extension,
    "approve_extension": approve_extension, "reject_extension": reject_extension,
}  # fmt: skip


def parse_day(text: str, *, lang: str = "vi") -> date:
    """A calendar date written YYYY-MM-DD or dd/mm/yyyy (UserError otherwise)."""
    raw = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", raw):
            y, m, d = (int(x) for x in raw.split("-"))
            return date(y, m, d)
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", raw):
            d, m, y = (int(x) for x in raw.split("/"))
            return date(y, m, d)
    except ValueError:
        pass
    raise UserError(_t(lang, f"Ngày «{raw}» không hợp lệ; viết YYYY-MM-DD hoặc dd/mm/yyyy (ví dụ 30/09/2025).",
                       f"Invalid date «{raw}»; write YYYY-MM-DD or dd/mm/yyyy (e.g. 2025-09-30)."))

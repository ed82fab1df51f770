"""Facts read once per transaction, and the one-statement load of a work item for an action.

``tx_facts(session)`` is a dict kept in ``session.info`` and dropped when the transaction
ends (the committee row's id, units per task, whether a task has prerequisites, item rows
locked); it is forgotten for tasks whose items or dependencies change in a flush.
``load_item`` reads an item with everything an action reads in one statement (locking its
row on PostgreSQL). ``committee_settings`` reads the committee row once per transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, distinct, event, exists, func, select, text
from sqlalchemy.orm import Session, aliased, load_only
from sqlalchemy.orm.attributes import set_committed_value

from engine.clock import DEFAULT_TZ
from engine.db import id_fits
from engine.models import Committee, Plan, Task, TaskDependency, Unit, WorkItem

_TX = "steer.txcache"


def tx_facts(session: Session) -> dict[Any, Any]:
    """This transaction's cached facts (see the module docstring)."""
    return session.info.setdefault(_TX, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_tx_facts(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_TX, None)


# facts read from rows this transaction may write and a savepoint may take back (e.g. the
# log's evidence texts, engine.progress): forgotten when any (nested) transaction rolls back
FORGET_ON_ROLLBACK: set[str] = set()


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    facts = session.info.get(_TX)
    if facts:
        for key in FORGET_ON_ROLLBACK:
            facts.pop(key, None)


@event.listens_for(Session, "after_flush")
def _forget_task_facts(session: Session, _ctx: Any) -> None:
    facts = session.info.get(_TX)
    if facts and any(isinstance(o, (WorkItem, TaskDependency)) for o in (*session.new, *session.deleted)):
        for key in [k for k in facts if isinstance(k, tuple)]:
            del facts[key]


def committee_row(session: Session) -> Committee | None:
    """The committee row (the first; an instance serves one committee), read once per transaction."""
    facts = tx_facts(session)
    cid = facts.get("committee")
    if cid is not None:
        c = session.get(Committee, cid)  # identity map: no statement
        if c is not None:
            return c
    c = session.execute(select(Committee).order_by(Committee.id).limit(1)).scalar_one_or_none()
    if c is not None:
        facts["committee"] = c.id
    return c


# session.info key: facts a batch of actions reads on every action and changes on none (the
# committee's and plans' settings, plan codes), kept while ``steady`` is active
_STEADY = "steer.txcache.steady"


@contextmanager
def steady(session: Session) -> Iterator[None]:
    """Inside this block the committee's settings and the plans' settings and codes are read
    once, not once per action (``committee_settings``, ``plan_code``): for a batch of actions
    (``engine.commands.perform_many``), which changes none of them. What it buys
    (bench/progress_import.py, 13,600 actions): two identity-map lookups and a settings merge
    per action, about 0.15 s of the import."""
    if _STEADY in session.info:
        yield
        return
    session.info[_STEADY] = {}
    try:
        yield
    finally:
        session.info.pop(_STEADY, None)


def plan_code(session: Session, plan_id: int) -> str | None:
    """The plan's code (identity map first; kept while ``steady`` is active)."""
    memo = session.info.get(_STEADY)
    if memo is not None and ("code", plan_id) in memo:
        return memo[("code", plan_id)]
    plan = session.get(Plan, plan_id)
    code = plan.code if plan is not None else None
    if memo is not None:
        memo[("code", plan_id)] = code
    return code


def committee_settings(session: Session, plan_id: int | None = None) -> tuple[str, dict[str, Any]]:
    """(timezone, settings): the committee row's (default Asia/Ho_Chi_Minh), plan overrides on top."""
    memo = session.info.get(_STEADY)
    if memo is not None:
        hit = memo.get(("settings", plan_id))
        if hit is None:
            hit = memo[("settings", plan_id)] = _committee_settings(session, plan_id)
        return hit[0], dict(hit[1])  # a copy: callers may change what they get
    return _committee_settings(session, plan_id)


def _committee_settings(session: Session, plan_id: int | None) -> tuple[str, dict[str, Any]]:
    c = committee_row(session)
    tz = (c.timezone if c is not None else None) or DEFAULT_TZ
    settings: dict[str, Any] = dict(c.settings or {}) if c is not None else {}
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is not None and plan.settings:
            settings.update(plan.settings)
    return tz, settings


def units_of_task(session: Session, task_id: int) -> int:
    """How many units share the task's items (cached for the transaction)."""
    facts = tx_facts(session)
    n = facts.get(("units", task_id))
    if n is None:
        n = len(session.execute(select(WorkItem.unit_id).where(WorkItem.task_id == task_id).distinct()).scalars().all())
        facts[("units", task_id)] = n
    return n


def known_without_prerequisites(session: Session, task_id: int) -> bool:
    """Whether ``load_item`` saw, in this transaction, that the task has no prerequisites."""
    return tx_facts(session).get(("deps", task_id)) is False


def locked_here(session: Session, item_id: int) -> bool:
    """Whether this transaction already locked the item's row (``load_item(for_update=True)``)."""
    return item_id in tx_facts(session).get("locked", ())


# What an action (and the web's answer to it) reads of the rows load_item joins to the item:
# with ``for_action`` the rest (long texts, the directory's aliases and notification
# addresses, the plan's metadata) is left unloaded: fewer columns for the driver to
# describe and convert, fewer JSON documents to parse on every write. An unloaded column
# is read on first use (one statement), so code that needs more still gets it.
_ACTION_COLUMNS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (Task, ("id", "plan_id", "code", "title", "deadline", "deadline_kind", "vice_chair_id", "status")),
    (Unit, ("id", "code", "name", "members", "groups", "is_group")),
    (Plan, ("id", "code", "settings")),
    (Committee, ("id", "timezone", "settings", "name", "short_name")),  # the names: an acknowledgement's answer
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
    facts = tx_facts(session)
    facts.setdefault("keep", []).append((plan, committee))
    if committee is not None:
        facts["committee"] = committee.id
    facts[("units", task.id)] = int(units)
    facts[("deps", task.id)] = bool(deps)
    if for_update:
        facts.setdefault("locked", set()).add(w.id)
    return w


@cache
def _by_codes_stmt() -> Select[Any]:
    """Built once: the items of a plan's tasks named by code, with their task (the columns an
    action reads), how many units share the task and whether it has prerequisites."""
    other = aliased(WorkItem)
    n_units = select(func.count(distinct(other.unit_id))).where(other.task_id == WorkItem.task_id).scalar_subquery()
    has_deps = exists().where(TaskDependency.task_id == WorkItem.task_id)
    task_cols = dict(_ACTION_COLUMNS)[Task]
    return (select(WorkItem, Task, n_units, has_deps)
            .join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
            .where(Plan.code == bindparam("plan_code"), Task.code.in_(bindparam("codes", expanding=True)))
            .options(load_only(*(getattr(Task, c) for c in task_cols))))


def items_by_task_codes(session: Session, plan_code: str, task_codes: list[str]) -> list[WorkItem]:
    """The items of the plan's tasks with these codes (chunks of 500), primed for a batch of
    actions as ``prime_items`` does: task, units per task and prerequisites come with the
    items in the same statement (what it buys, bench/progress_import.py: three statements
    fewer per sheet and no second read of the tasks), then ``prime_items`` adds the units,
    plans and committee."""
    found: list[WorkItem] = []
    facts = tx_facts(session)
    for i in range(0, len(task_codes), 500):
        for w, task, units, deps in session.execute(_by_codes_stmt(), {"plan_code": plan_code,
                                                                      "codes": task_codes[i:i + 500]}):
            set_committed_value(w, "task", task)
            facts[("units", task.id)] = int(units)
            facts[("deps", task.id)] = bool(deps)
            found.append(w)
    prime_items(session, found)
    return found


def prime_items(session: Session, items: list[WorkItem]) -> None:
    """Record for many items at once what ``load_item`` records for one — their task and
    unit, the plans, the committee, units per task, whether a task has prerequisites — in a
    few statements (chunks of 500 ids), so a batch of actions on them (a progress sheet's
    rows, engine.progress) reads nothing more per action. Measured, bench/progress_import.py:
    a per-item ``load_item`` was one statement and ~2 ms per row; unprimed, the actions read
    the facts one statement each (~4 per action)."""
    if not items:
        return
    facts = tx_facts(session)
    committee = committee_row(session)
    task_ids = sorted({w.task_id for w in items})
    unit_ids = sorted({w.unit_id for w in items})
    tasks: dict[int, Task] = {}
    units: dict[int, Unit] = {}
    counts: dict[int, int] = {}
    with_deps: set[int] = set()
    queried: set[int] = set()
    for w in items:  # loaded with their item already (e.g. contains_eager): not read again
        task = w.__dict__.get("task")
        if task is not None:
            tasks[task.id] = task
    for i in range(0, len(task_ids), 500):
        chunk = task_ids[i:i + 500]
        unread = [t for t in chunk if t not in tasks]
        if unread:
            tasks.update((t.id, t) for t in session.execute(select(Task).where(Task.id.in_(unread))).scalars())
        chunk = [t for t in chunk if ("units", t) not in facts or ("deps", t) not in facts]  # else known already
        if not chunk:
            continue
        queried.update(chunk)
        counts.update(session.execute(select(WorkItem.task_id, func.count(distinct(WorkItem.unit_id)))
                                      .where(WorkItem.task_id.in_(chunk)).group_by(WorkItem.task_id)).all())
        with_deps.update(session.execute(select(TaskDependency.task_id).where(TaskDependency.task_id.in_(chunk))
                                         .distinct()).scalars())
    for i in range(0, len(unit_ids), 500):
        units.update((u.id, u) for u in session.execute(select(Unit).where(Unit.id.in_(unit_ids[i:i + 500]))).scalars())
    plans = list(session.execute(select(Plan).where(Plan.id.in_({t.plan_id for t in tasks.values()}))).scalars())
    for w in items:
        if w.__dict__.get("task") is not tasks[w.task_id]:
            set_committed_value(w, "task", tasks[w.task_id])
        if w.__dict__.get("unit") is not units[w.unit_id]:
            set_committed_value(w, "unit", units[w.unit_id])
    facts.setdefault("keep", []).append((plans, committee, list(units.values())))
    for tid in queried:
        facts[("units", tid)] = int(counts.get(tid, 0))
        facts[("deps", tid)] = tid in with_deps


def lock_items(session: Session, items: list[WorkItem]) -> None:
    """PostgreSQL: lock the rows of ``items`` until the transaction ends and read their latest
    committed values into the objects (chunks of 500 ids), as ``load_item(for_update=True)``
    does for one — so a batch of actions on them (``engine.commands.perform_many``) decides on
    current rows, holds them against concurrent writers until it commits, and needs no
    per-item lock (a note without a version locks its row with a statement of its own).
    SQLite: nothing (``BEGIN IMMEDIATE`` already serialises writers)."""
    if not items or session.get_bind().dialect.name == "sqlite":
        return
    by_id = {w.id: w for w in items}
    ids = sorted(by_id)
    # lock, and read back only the versions: an item whose version is the one loaded is
    # unchanged (every write moves it), so only the others are read again in full — what it
    # buys (bench/progress_import.py, PostgreSQL): the rows the sheet's planning loaded a
    # moment ago are not converted into objects a second time
    stale: list[int] = []
    for i in range(0, len(ids), 500):
        for wid, version in session.execute(select(WorkItem.id, WorkItem.version)
                                            .where(WorkItem.id.in_(ids[i:i + 500])).with_for_update()):
            if by_id[wid].__dict__.get("version") != version:
                stale.append(wid)
    # the relations load_item / prime_items attached: a reload with populate_existing resets them
    related = [(by_id[wid], by_id[wid].__dict__.get("task"), by_id[wid].__dict__.get("unit")) for wid in stale]
    for i in range(0, len(stale), 500):
        session.execute(select(WorkItem).where(WorkItem.id.in_(stale[i:i + 500]))
                        .execution_options(populate_existing=True)).scalars().all()
    for w, task, unit in related:
        if task is not None:
            set_committed_value(w, "task", task)
        if unit is not None:
            set_committed_value(w, "unit", unit)
    tx_facts(session).setdefault("locked", set()).update(ids)


def custom_plans(session: Session) -> None:
    """PostgreSQL: plan the rest of this transaction's statements for their actual parameters
    (``SET LOCAL plan_cache_mode = force_custom_plan``, once per transaction).

    What it buys: psycopg prepares a statement on the server after its fifth run, and
    PostgreSQL then moves to a generic plan, which for the import's lookups by a few hundred
    references (``Task.code IN (…)``, ``WorkItem.id IN (…)``, run once per sheet) was about
    10× slower than the custom one — measured 130 ms against 10 ms a lookup, 34 sheets of
    300 rows (bench/progress_import.py). SQLite: nothing."""
    facts = tx_facts(session)
    if facts.get("custom_plans") or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    facts["custom_plans"] = True

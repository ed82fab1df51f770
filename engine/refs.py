"""Item references: ``PLAN/TASK``, ``@UNIT`` when the task has several lead units,
``#OCCURRENCE`` for a recurring occurrence (e.g. ``KH-57-LS/12@SNV#2025-06``), or ``#ID``.
One format (``format_ref``), for one item (``item_ref``) or many (``item_refs``), and the
way back (``resolve_item``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from engine.actors import Actor, unit_scope
from engine.db import id_fits
from engine.errors import UserError
from engine.i18n import tr
from engine.models import Plan, Task, Unit, WorkItem
from engine.states import OPEN_STATES, Role
from engine.txcache import plan_code as plan_code_of
from engine.txcache import tx_facts, units_of_task


def format_ref(plan_code: str, task_code: str, unit_code: str | None = None, occurrence: str | None = None) -> str:
    """The canonical reference; ``unit_code`` only when the task has several lead units."""
    ref = f"{plan_code}/{task_code}"
    if unit_code is not None:
        ref += f"@{unit_code}"
    if occurrence:
        ref += f"#{occurrence}"
    return ref


def item_ref(item: WorkItem, session: Session | None = None) -> str:
    """The canonical reference of one item (``format_ref``)."""
    session = session or object_session(item)
    task = item.task
    plan_code = "?"
    unit_code = None
    if session is not None:
        plan_code = plan_code_of(session, task.plan_id) or "?"  # usually in the identity map already
        if units_of_task(session, task.id) > 1:
            unit_code = item.unit.code
    return format_ref(plan_code, task.code, unit_code, item.occurrence)


def item_refs(session: Session, items: list[WorkItem]) -> dict[int, str]:
    """Canonical references of many items (id -> ref) in three queries."""
    if not items:
        return {}
    primed = _refs_from_primed(session, items)
    if primed is not None:
        return primed
    task_ids = {i.task_id for i in items}
    multi = {tid for tid, n in session.execute(
        select(WorkItem.task_id, func.count(func.distinct(WorkItem.unit_id)))
        .where(WorkItem.task_id.in_(task_ids)).group_by(WorkItem.task_id)).all() if n > 1}
    tasks = {tid: (code, pcode) for tid, code, pcode in session.execute(
        select(Task.id, Task.code, Plan.code).join(Plan, Plan.id == Task.plan_id).where(Task.id.in_(task_ids))).all()}
    units = dict(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_({i.unit_id for i in items
                                                                              if i.task_id in multi}))).all()) \
        if multi else {}
    out = {}
    for i in items:
        code, pcode = tasks[i.task_id]
        out[i.id] = format_ref(pcode, code, units[i.unit_id] if i.task_id in multi else None, i.occurrence)
    return out


def _refs_from_primed(session: Session, items: list[WorkItem]) -> dict[int, str] | None:
    """``item_refs`` from what ``engine.txcache.prime_items`` recorded for these items in this
    transaction (their task and unit attached, units per task known; the plans' codes from
    the identity map), or None when it did not."""
    facts = tx_facts(session)
    plan_codes: dict[int, str] = {}
    out: dict[int, str] = {}
    for w in items:
        task, unit = w.__dict__.get("task"), w.__dict__.get("unit")
        n = facts.get(("units", w.task_id))
        if task is None or unit is None or n is None:
            return None
        code = plan_codes.get(task.plan_id)
        if code is None:
            code = plan_codes[task.plan_id] = plan_code_of(session, task.plan_id) or "?"
        out[w.id] = format_ref(code, task.code, unit.code if n > 1 else None, w.occurrence)
    return out


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
        raise UserError(tr(lang, "lc.ref_missing"))
    m = re.fullmatch(r"#\s*(\d+)", raw)
    if m:
        number = int(m.group(1))
        item = session.get(WorkItem, number) if id_fits(session, number) else None
        if item is None:
            raise UserError(tr(lang, "lc.no_item_number", raw=raw))
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
        raise UserError(tr(lang, "lc.no_task", plan=plan.code, task=task_code, raw=raw))
    items = session.execute(select(WorkItem).where(WorkItem.task_id == task.id)
                            .order_by(WorkItem.deadline, WorkItem.occurrence, WorkItem.id)).scalars().all()
    if not items:
        raise UserError(tr(lang, "lc.no_lead_unit", plan=plan.code, task=task.code))
    units = {i.unit_id: i.unit for i in items}
    if unit_ref:
        chosen = [u for u in units.values() if _unit_matches(u, unit_ref)]
        if not chosen:
            raise UserError(tr(lang, "lc.not_lead_unit", unit=unit_ref, plan=plan.code, task=task.code,
                               units=_unit_list(units.values())))
        items = [i for i in items if i.unit_id == chosen[0].id]
    elif len(units) > 1:
        if actor is not None and actor.role == Role.FOCAL_POINT:
            scope = unit_scope(actor)
            mine = [i for i in items if i.unit.code in scope]
            if len({i.unit_id for i in mine}) == 1:
                items = mine
        if len({i.unit_id for i in items}) > 1:
            raise UserError(tr(lang, "lc.several_units", plan=plan.code, task=task.code, n=len(units),
                               units=_unit_list(units.values()), example=next(iter(units.values())).code))
    if occ:
        hit = [i for i in items if i.occurrence == occ]
        if not hit:
            known = ", ".join(f"#{i.occurrence}" for i in items if i.occurrence) or "—"
            raise UserError(tr(lang, "lc.no_occurrence", plan=plan.code, task=task.code, occ=occ, known=known))
        return hit[0]
    if len(items) == 1:
        return items[0]
    open_ = [i for i in items if i.status in OPEN_STATES]
    return open_[0] if open_ else items[-1]


def _unit_list(units: Iterable[Unit]) -> str:
    return ", ".join(f"@{u.code}" for u in units)


def _split_plan_task(session: Session, base: str, raw: str, lang: str) -> tuple[Plan, str]:
    if "/" not in base:
        raise UserError(tr(lang, "lc.bad_ref", raw=raw))
    # plan codes may themselves contain "/" (document numbers): try every split, longest plan first
    parts = base.split("/")
    for k in range(len(parts) - 1, 0, -1):
        code, task_code = "/".join(parts[:k]).strip(), "/".join(parts[k:]).strip()
        plan = session.execute(select(Plan).where(Plan.code == code)).scalar_one_or_none()
        if plan is not None:
            return plan, task_code
    known = session.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
    hint = tr(lang, "lc.plans_known", known=", ".join(known)) if known else tr(lang, "lc.plans_none")
    raise UserError(tr(lang, "lc.no_plan_in_ref", raw=raw, hint=hint))

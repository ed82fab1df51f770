"""Transactional plan load: first load, identical reload (no-op), revised reload.

All-or-nothing: the plan is read and validated completely before the one transaction
that writes it; any error rolls everything back. A revised plan (same code) updates tasks
by task code, keeps every status and event, cancels (never deletes) removed tasks and
records a ``PlanRevision`` with a diff summary.

Rows are written with Core bulk inserts (the 100,000-task benchmark compares this with a
bare executemany of the same rows).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.audit import append_events
from engine.clock import local_date, local_datetime
from engine.db import transaction
from engine.directory_store import current_directory, ensure_units, people_index
from engine.errors import Conflict
from engine.i18n import tr
from engine.models import Plan, PlanRevision, Section, Task, TaskDependency, TaskUnit, WorkItem
from engine.planfile.fingerprints import _existing_fingerprints, _task_fingerprint, task_note
from engine.planfile.identity import Choices, apply_choices, document_key
from engine.planfile.readers import read_plan_file
from engine.planfile.spec import PlanSpec
from engine.planfile.validate import Issue, PlanValidationError, ResolvedTask, ValidatedPlan, validate_plan
from engine.recurrence import horizon_setting, item_deadlines
from engine.states import OPEN_STATES, PlanStatus, Role, Status


@dataclass
class LoadResult:
    plan_code: str
    title: str
    created: bool
    unchanged: bool
    dry_run: bool
    revision: int | None
    tasks: int
    sections: int
    units: int
    work_items: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    preview: dict[str, Any] | None = None  # what a dry run would create (engine.planfile.preview)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("warnings", "preview")}
        d["warnings"] = [w.as_dict() for w in self.warnings]
        if self.preview is not None:
            d["preview"] = self.preview
        return d


def known_documents(session: Session) -> dict[str, str]:
    """Document key ("45/kh-ubnd") -> code of the loaded plan issued by that document."""
    out: dict[str, str] = {}
    for code, document in session.execute(select(Plan.code, Plan.document).order_by(Plan.id)).all():
        key = document_key(document)
        if key is not None:
            out.setdefault(key, code)
    return out


def plan_checksum(vp: ValidatedPlan) -> str:
    spec = vp.spec
    doc = {
        "code": vp.code,
        "title": vp.title,
        "document": spec.document,
        "issued_on": spec.issued_on.isoformat() if spec.issued_on else None,
        "issued_by": spec.issued_by,
        "parent": spec.parent_plan,
        "sections": [[s.code, s.title] for s in spec.sections],
        "tasks": {t.code: _task_fingerprint(t) for t in vp.tasks},
        "status": {t.code: [t.status, t.completed_on.isoformat() if t.completed_on else None] for t in vp.tasks},
    }
    blob = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def validate_in(session: Session, spec: PlanSpec, *, code: str | None = None, choices: Choices | None = None,
                lang: str = "vi") -> ValidatedPlan:
    """Validate a read plan against the committee's directory and loaded plans (read only),
    after the secretariat's ``choices`` (column mapping, identity, assigned leads)."""
    apply_choices(spec, choices, lang)
    code = (choices.code if choices and choices.code else None) or code
    vp = validate_plan(spec, current_directory(session), code=code, people=people_index(session), lang=lang,
                       documents=known_documents(session))
    if spec.format != "yaml" and not (choices and choices.title):
        # An annex's heading ("DANH MỤC NHIỆM VỤ …") is not the title of the plan it revises:
        # a revision keeps the loaded plan's title unless the secretariat sets one.
        title = session.execute(select(Plan.title).where(Plan.code == vp.code)).scalar_one_or_none()
        if title:
            vp.title = title
    return vp


def validate_file(engine: Engine, path: str | Path, *, code: str | None = None, choices: Choices | None = None,
                  lang: str = "vi") -> ValidatedPlan:
    spec = read_plan_file(path, lang=lang)
    with transaction(engine) as session:
        return validate_in(session, spec, code=code, choices=choices, lang=lang)


def load_plan_file(engine: Engine, path: str | Path, *, now: datetime, code: str | None = None,
                   actor: str = "secretariat", dry_run: bool = False, lang: str = "vi",
                   choices: Choices | None = None) -> LoadResult:
    return load_plan_spec(engine, read_plan_file(path, lang=lang), now=now, code=code, actor=actor, dry_run=dry_run,
                          lang=lang, choices=choices)


class _DryRun(Exception):
    def __init__(self, result: LoadResult):
        self.result = result


def load_plan_spec(engine: Engine, spec: PlanSpec, *, now: datetime, code: str | None = None,
                   actor: str = "secretariat", dry_run: bool = False, lang: str = "vi",
                   choices: Choices | None = None) -> LoadResult:
    plan_code = code
    try:
        with transaction(engine) as session:
            vp = validate_in(session, spec, code=code, choices=choices, lang=lang)
            if not vp.ok:
                raise PlanValidationError(vp, lang=lang)
            plan_code = vp.code
            preview = None
            if dry_run:
                from engine.planfile.preview import build_preview

                preview = build_preview(session, vp, lang=lang)  # before _apply changes the rows
            result = _apply(session, vp, now=now, actor=actor, lang=lang)
            result.dry_run = dry_run
            if dry_run:
                result.preview = preview
                raise _DryRun(result)  # roll the whole transaction back
            return result
    except _DryRun as dr:
        return dr.result
    except IntegrityError as exc:
        # Two loads of the same new plan (or new unit) at once on PostgreSQL: both saw no row,
        # the second insert meets the first's committed row (uq_plan_code, uq_unit_code …).
        # The whole load rolled back; a retry compares against what the other load saved.
        if not _unique_violation(exc):
            raise
        raise Conflict(tr(lang, "sec.plan_load_conflict", code=plan_code or spec.code or "?")) from None


def _unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return "UNIQUE constraint failed" in str(orig)  # SQLite


# --- applying a validated plan ----------------------------------------------------------------


def _apply(session: Session, vp: ValidatedPlan, *, now: datetime, actor: str, lang: str = "vi") -> LoadResult:
    spec = vp.spec
    tz, horizon = horizon_setting(session, lang)
    today = local_date(now, tz)
    checksum = plan_checksum(vp)
    directory = current_directory(session)

    plan = session.execute(select(Plan).where(Plan.code == vp.code)).scalar_one_or_none()
    created = plan is None
    if plan is not None:
        last = session.execute(
            select(PlanRevision).where(PlanRevision.plan_id == plan.id).order_by(PlanRevision.number.desc()).limit(1)
        ).scalar_one_or_none()
        if last is not None and last.checksum == checksum:
            n_items = _count_items(session, plan.id)
            return LoadResult(plan_code=plan.code, title=plan.title, created=False, unchanged=True, dry_run=False,
                              revision=last.number, tasks=len(vp.tasks), sections=len(spec.sections),
                              units=0, work_items=n_items, warnings=vp.warnings)

    # units: every referenced code gets a row
    codes = {u.code for t in vp.tasks for u in (*t.lead, *t.coordinating)}
    issued_by = None
    if spec.issued_by:
        e = directory.get(spec.issued_by) or directory.resolve(spec.issued_by)
        if e is not None:
            issued_by = e.code
            codes.add(e.code)
    unit_ids = ensure_units(session, directory, codes, now, vp.new_units)

    parent_id = None
    if spec.parent_plan:
        parent_id = session.execute(select(Plan.id).where(Plan.code == spec.parent_plan)).scalar_one_or_none()

    plan_values = dict(title=vp.title, document=spec.document, issued_on=spec.issued_on,
                       issued_by_unit_id=unit_ids.get(issued_by) if issued_by else None,
                       parent_plan_id=parent_id, source_file=Path(spec.source_file).name, updated_at=now)
    if created:
        plan = Plan(code=vp.code, revision=1, status=PlanStatus.ACTIVE, created_at=now, **plan_values)
        session.add(plan)
        session.flush()
        revision = 1
    else:
        for k, v in plan_values.items():
            setattr(plan, k, v)
        revision = plan.revision + 1
        plan.revision = revision

    # sections
    sec_rows = {s.code: s for s in session.execute(select(Section).where(Section.plan_id == plan.id)).scalars()}
    for pos, s in enumerate(spec.sections, start=1):
        row = sec_rows.get(s.code)
        if row is None:
            row = Section(plan_id=plan.id, code=s.code, title=s.title, position=pos)
            session.add(row)
            sec_rows[s.code] = row
        else:
            row.title, row.position = s.title, pos
    session.flush()
    sec_ids = {c: r.id for c, r in sec_rows.items()}

    existing = {t.code: t for t in session.execute(select(Task).where(Task.plan_id == plan.id)).scalars()}
    old_prints = _existing_fingerprints(session, plan.id, existing) if existing else {}

    start = spec.issued_on or today
    until = today + timedelta(days=horizon)
    # A tracker whose statuses are as of a date (--status-date, "Tiến độ (đến 24/5/2025)")
    # describes tasks that existed then: new rows are dated that day, so a report "as of"
    # it sees them with their imported statuses.
    born = min(local_datetime(spec.status_date, tz=tz), now) if spec.status_date else now
    events: list[dict[str, Any]] = []
    result = LoadResult(plan_code=vp.code, title=vp.title, created=created, unchanged=False, dry_run=False,
                        revision=revision, tasks=len(vp.tasks), sections=len(spec.sections), units=len(codes),
                        work_items=0, new_units=sorted(vp.new_units), warnings=vp.warnings)

    def task_values(t: ResolvedTask) -> dict[str, Any]:
        return dict(
            plan_id=plan.id, section_id=sec_ids.get(t.section) if t.section else None, code=t.code,
            position=t.position, title=t.title, deliverable=t.deliverable,
            lead_text="; ".join(t.spec.lead), coordinating_text="; ".join(t.spec.coordinating),
            deadline=t.deadline.due, deadline_text=t.deadline.text, deadline_kind=t.deadline.kind,
            recurrence=t.deadline.recurrence, recurrence_starts=t.deadline.starts, vice_chair_id=t.vice_chair,
            note=task_note(t.spec, lang), status=PlanStatus.ACTIVE, source_row=t.spec.source.row, updated_at=now,
        )

    # --- new tasks: bulk insert
    new_tasks = [t for t in vp.tasks if t.code not in existing]
    if new_tasks:
        # plain executemany, then one SELECT for the ids (RETURNING over many batches is
        # quadratic in SQLAlchemy's ORM bulk path)
        conn = session.connection()
        conn.execute(insert(Task.__table__), [dict(task_values(t), created_at=born) for t in new_tasks])
    task_ids = dict(session.execute(select(Task.code, Task.id).where(Task.plan_id == plan.id)).all())
    result.added = [t.code for t in new_tasks] if not created else []

    item_rows: list[dict[str, Any]] = []
    tu_rows: list[dict[str, Any]] = []
    for t in new_tasks:
        tid = task_ids[t.code]
        tu_rows += _task_unit_rows(tid, t, unit_ids)
        for u in t.lead:
            for occ, dl in item_deadlines(t.deadline, start=start, until=until):
                item_rows.append(dict(task_id=tid, unit_id=unit_ids[u.code], occurrence=occ, deadline=dl,
                                      original_deadline=dl, status=Status.NOT_STARTED, version=1,
                                      updated_at=now, created_at=born, updated_by=actor))

    # --- existing tasks: changed / cancelled / reactivated
    in_file = {t.code for t in vp.tasks}
    for t in vp.tasks:
        if t.code not in existing:
            continue
        row = existing[t.code]
        new_print = _task_fingerprint(t)
        old = old_prints[t.code]
        was_cancelled = row.status == PlanStatus.CANCELLED
        if new_print == old and not was_cancelled:
            continue
        changes = {k: [old.get(k), v] for k, v in new_print.items() if old.get(k) != v}
        old_deadline = row.deadline
        for k, v in task_values(t).items():
            setattr(row, k, v)
        if was_cancelled:
            result.reactivated.append(t.code)
        if changes:
            result.changed.append(t.code)
        events.append(dict(at=now, actor=actor, actor_role=Role.SECRETARIAT, kind="task_changed" if not was_cancelled else "task_reactivated",
                           plan_id=plan.id, task_id=row.id, deadline_before=old_deadline, deadline_after=t.deadline.due,
                           data={"revision": revision, "changes": changes}))
        if "lead" in changes or "coordinating" in changes:
            session.execute(delete(TaskUnit).where(TaskUnit.task_id == row.id))
            tu_rows += _task_unit_rows(row.id, t, unit_ids)
        # work items of this task
        items = session.execute(select(WorkItem).where(WorkItem.task_id == row.id)).scalars().all()
        lead_ids = {unit_ids[u.code] for u in t.lead}
        have = {(i.unit_id, i.occurrence) for i in items}
        for u in t.lead:
            for occ, dl in item_deadlines(t.deadline, start=start, until=until):
                if (unit_ids[u.code], occ) not in have:
                    item_rows.append(dict(task_id=row.id, unit_id=unit_ids[u.code], occurrence=occ, deadline=dl,
                                          original_deadline=dl, status=Status.NOT_STARTED, version=1,
                                          updated_at=now, created_at=now, updated_by=actor))
        wanted_occ = {occ for occ, _ in item_deadlines(t.deadline, start=start, until=until)}
        for i in items:
            if i.unit_id not in lead_ids or i.occurrence not in wanted_occ:
                if i.status in OPEN_STATES:
                    events.append(_cancel_item(i, now, actor, plan.id, "Đơn vị không còn chủ trì nhiệm vụ trong bản sửa đổi"
                                               if i.unit_id not in lead_ids else "Kỳ không còn trong bản sửa đổi", revision))
            elif was_cancelled and i.status == Status.CANCELLED:
                events.append(_set_item(i, Status.NOT_STARTED, now, actor, plan.id, "Nhiệm vụ được khôi phục trong bản sửa đổi", revision))
            elif "deadline" in changes and t.deadline.kind != "recurring" and i.deadline == i.original_deadline:
                events.append(dict(at=now, actor=actor, actor_role=Role.SECRETARIAT, kind="deadline_changed", plan_id=plan.id,
                                   task_id=row.id, work_item_id=i.id, deadline_before=i.deadline, deadline_after=t.deadline.due,
                                   note="Thời hạn thay đổi theo bản sửa đổi kế hoạch", data={"revision": revision}))
                i.deadline = i.original_deadline = t.deadline.due
                i.version += 1
                i.updated_at = now
    for c, row in existing.items():
        if c in in_file or row.status == PlanStatus.CANCELLED:
            continue
        row.status = PlanStatus.CANCELLED
        row.updated_at = now
        result.cancelled.append(c)
        events.append(dict(at=now, actor=actor, actor_role=Role.SECRETARIAT, kind="task_cancelled", plan_id=plan.id,
                           task_id=row.id, note="Nhiệm vụ không còn trong bản sửa đổi kế hoạch", data={"revision": revision}))
        for i in session.execute(select(WorkItem).where(WorkItem.task_id == row.id)).scalars():
            if i.status in OPEN_STATES:
                events.append(_cancel_item(i, now, actor, plan.id, "Nhiệm vụ bị hủy trong bản sửa đổi kế hoạch", revision))

    if tu_rows:
        session.connection().execute(insert(TaskUnit.__table__), tu_rows)
    # dependencies: rewritten for the whole plan (cheap, and exact)
    session.execute(delete(TaskDependency).where(TaskDependency.task_id.in_(select(Task.id).where(Task.plan_id == plan.id))))
    dep_rows = [dict(task_id=task_ids[t.code], depends_on_id=task_ids[d]) for t in vp.tasks for d in sorted(set(t.depends_on))]
    if dep_rows:
        session.connection().execute(insert(TaskDependency.__table__), dep_rows)

    if item_rows:
        session.connection().execute(insert(WorkItem.__table__), item_rows)
        if any(t.status or t.progress_note for t in vp.tasks):  # imported progress needs the new ids
            new_ids = {(tid, uid, occ): iid for iid, tid, uid, occ in session.execute(
                select(WorkItem.id, WorkItem.task_id, WorkItem.unit_id, WorkItem.occurrence)
                .join(Task, Task.id == WorkItem.task_id).where(Task.plan_id == plan.id))}
            for r in item_rows:
                r["id"] = new_ids[(r["task_id"], r["unit_id"], r["occurrence"])]
    events += _imported_status_events(session, vp, item_rows, task_ids, plan.id, now, tz, actor, created)

    session.flush()
    result.work_items = _count_items(session, plan.id)
    diff = {"added": result.added, "changed": result.changed, "cancelled": result.cancelled,
            "reactivated": result.reactivated}
    session.add(PlanRevision(plan_id=plan.id, number=revision, loaded_at=now, loaded_by=actor,
                             source_file=Path(spec.source_file).name, checksum=checksum,
                             added=len(result.added) if not created else len(vp.tasks), changed=len(result.changed),
                             cancelled=len(result.cancelled), diff=diff))
    head = dict(at=now, actor=actor, actor_role=Role.SECRETARIAT, kind="plan_loaded" if created else "plan_revised",
                plan_id=plan.id, data={"revision": revision, "source": Path(spec.source_file).name, "checksum": checksum,
                                       "tasks": len(vp.tasks), "added": len(result.added), "changed": len(result.changed),
                                       "cancelled": len(result.cancelled), "warnings": len(vp.warnings)})
    session.flush()
    append_events(session, [head, *events], now=now)
    return result


def _count_items(session: Session, plan_id: int) -> int:
    return session.scalar(select(func.count()).select_from(WorkItem).join(Task).where(Task.plan_id == plan_id)) or 0


def _task_unit_rows(task_id: int, t: ResolvedTask, unit_ids: dict[str, int]) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for role, units in (("lead", t.lead), ("coordinating", t.coordinating)):
        for pos, u in enumerate(units):
            key = (unit_ids[u.code], role)
            if key in seen:
                continue
            seen.add(key)
            rows.append(dict(task_id=task_id, unit_id=unit_ids[u.code], role=role, position=pos))
    return rows


def _cancel_item(i: WorkItem, now: datetime, actor: str, plan_id: int, note: str, revision: int) -> dict[str, Any]:
    return _set_item(i, Status.CANCELLED, now, actor, plan_id, note, revision)


def _set_item(i: WorkItem, status: str, now: datetime, actor: str, plan_id: int, note: str, revision: int) -> dict[str, Any]:
    ev = dict(at=now, actor=actor, actor_role=Role.SECRETARIAT, kind="status", plan_id=plan_id, task_id=i.task_id,
              work_item_id=i.id, from_status=i.status, to_status=status, note=note, data={"revision": revision})
    i.status = status
    i.version += 1
    i.updated_at = now
    i.updated_by = actor
    return ev


def _imported_status_events(session: Session, vp: ValidatedPlan, item_rows: list[dict[str, Any]], task_ids: dict[str, int],
                            plan_id: int, now: datetime, tz: str, actor: str, created: bool) -> list[dict[str, Any]]:
    """Apply the optional progress column to newly created items, as status events."""
    by_task = {task_ids[t.code]: t for t in vp.tasks if t.status or t.progress_note}
    if not by_task:
        return []
    events: list[dict[str, Any]] = []
    src = Path(vp.spec.source_file).name
    # The statuses are true as of the status date (--status-date, "Tiến độ (đến 24/5/2025)"),
    # not as of the load: a report "as of" that day sees them.
    at = local_datetime(vp.spec.status_date, tz=tz) if vp.spec.status_date else now
    at = min(at, now)
    for r in item_rows:
        t = by_task.get(r["task_id"])
        if t is None:
            continue
        values: dict[str, Any] = {}
        if t.status and t.status != Status.NOT_STARTED:
            values["status"] = t.status
            if t.status in (Status.IN_PROGRESS, Status.SUBMITTED, Status.COMPLETED, Status.BLOCKED):
                values["started_at"] = at
            if t.status == Status.COMPLETED:
                if t.completed_on:
                    values["completed_at"] = local_datetime(t.completed_on, tz=tz)
                    values["completion"] = "on_time" if (r["deadline"] is None or t.completed_on <= r["deadline"]) else "late"
                else:
                    values["completed_at"] = at
                    values["completion"] = "unknown"
            if t.status == Status.BLOCKED:
                values["blocked_reason"] = t.spec.note or "Nhập từ tệp kế hoạch"
            values["version"] = 2
            session.execute(update(WorkItem).where(WorkItem.id == r["id"]).values(**values))
            events.append(dict(at=values.get("completed_at", at), actor="import", actor_role=Role.SECRETARIAT, kind="status",
                               plan_id=plan_id, task_id=r["task_id"], work_item_id=r["id"], from_status=Status.NOT_STARTED,
                               to_status=t.status, note=f"Nhập trạng thái «{t.spec.status_text}» từ tệp {src}",
                               percent=t.percent, data={"imported": True, "completion": values.get("completion")}))
        if t.progress_note:
            events.append(dict(at=at, actor="import", actor_role=Role.SECRETARIAT, kind="note", plan_id=plan_id,
                               task_id=r["task_id"], work_item_id=r["id"], note=t.progress_note, percent=t.percent,
                               data={"imported": True}))
    return events

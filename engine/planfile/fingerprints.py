"""Task fingerprints: what a revision compares (the load and its preview alike), and the note a
task is stored with (its "Ghi chú" plus every column the reader could not place)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.i18n import tr
from engine.models import Section, Task, TaskDependency, TaskUnit, Unit
from engine.planfile.spec import TaskSpec
from engine.planfile.validate import ResolvedTask


def task_note(spec: TaskSpec, lang: str = "vi") -> str | None:
    """The task's note: its "Ghi chú" and, below it, the text of every column the reader could
    not place ("Header: text"), so nothing in the file is dropped."""
    parts = [spec.note] if spec.note else []
    parts += [tr(lang, "plan.extra_note", header=h, text=v) for h, v in spec.extra.items()]
    return "\n".join(parts) or None


def _task_fingerprint(t: ResolvedTask) -> dict[str, Any]:
    return {
        "section": t.section,
        "position": t.position,
        "title": t.title,
        "deliverable": t.deliverable,
        "deadline_text": t.deadline.text,
        "deadline": t.deadline.due.isoformat() if t.deadline.due else None,
        "deadline_kind": t.deadline.kind,
        "recurrence": t.deadline.recurrence,
        "lead": [u.code for u in t.lead],
        "coordinating": [u.code for u in t.coordinating],
        "depends_on": sorted(t.depends_on),
        "vice_chair": t.vice_chair,
        "note": task_note(t.spec),
    }


FINGERPRINT_KEYS = ("section", "position", "title", "deliverable", "deadline_text", "deadline", "deadline_kind",
                    "recurrence", "lead", "coordinating", "depends_on", "vice_chair", "note")


def _existing_fingerprints(session: Session, plan_id: int, existing: dict[str, Task]) -> dict[str, dict[str, Any]]:
    ids = {t.id: c for c, t in existing.items()}
    units = dict(session.execute(select(Unit.id, Unit.code)).all())
    sec = dict(session.execute(select(Section.id, Section.code).where(Section.plan_id == plan_id)).all())
    lead: dict[str, list[str]] = {c: [] for c in existing}
    coord: dict[str, list[str]] = {c: [] for c in existing}
    for tu in session.execute(select(TaskUnit).where(TaskUnit.task_id.in_(ids)).order_by(TaskUnit.position)).scalars():
        (lead if tu.role == "lead" else coord)[ids[tu.task_id]].append(units[tu.unit_id])
    deps: dict[str, list[str]] = {c: [] for c in existing}
    for td in session.execute(select(TaskDependency).where(TaskDependency.task_id.in_(ids))).scalars():
        deps[ids[td.task_id]].append(ids.get(td.depends_on_id, "?"))
    out = {}
    for c, t in existing.items():
        out[c] = {
            "section": sec.get(t.section_id) if t.section_id else None,
            "position": t.position,
            "title": t.title,
            "deliverable": t.deliverable,
            "deadline_text": t.deadline_text,
            "deadline": t.deadline.isoformat() if t.deadline else None,
            "deadline_kind": t.deadline_kind,
            "recurrence": t.recurrence,
            "lead": lead[c],
            "coordinating": coord[c],
            "depends_on": sorted(deps[c]),
            "vice_chair": t.vice_chair_id,
            "note": t.note,
        }
    return out

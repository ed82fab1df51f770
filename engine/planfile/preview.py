"""What loading a validated plan would create, for a person to check before committing.

``build_preview(session, vp)`` is read only. The web preview page renders it and
``steer plan load --dry-run --format json`` prints it (key ``preview``): the plan's
identity (code, title, issuing document, date, and the loaded plan it revises), the
revision diff (added / changed / cancelled task codes), the task table (code, section,
title, leads and coordinating units with the name as written and the successor it maps
to, deliverable, deadline as parsed with the original text, imported status), the units
that will be created, and every warning next to its task.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Plan, Task
from engine.planfile.fingerprints import _existing_fingerprints, _task_fingerprint
from engine.planfile.identity import MAPPABLE
from engine.planfile.validate import ResolvedUnit, ValidatedPlan
from engine.states import PlanStatus


def _unit(u: ResolvedUnit) -> dict[str, Any]:
    return {"code": u.code, "name": u.name, "text": " ".join(u.text.split()), "former": u.former, "new": u.new}


def revision_diff(session: Session, vp: ValidatedPlan) -> dict[str, Any] | None:
    """Added / changed / cancelled task codes against the loaded plan of the same code, or
    None when the plan is new. The same comparison the load makes (task fingerprints)."""
    plan = session.execute(select(Plan).where(Plan.code == vp.code)).scalar_one_or_none()
    if plan is None:
        return None
    existing = {t.code: t for t in session.execute(select(Task).where(Task.plan_id == plan.id)).scalars()}
    old = _existing_fingerprints(session, plan.id, existing) if existing else {}
    added, changed, reactivated = [], [], []
    changes: dict[str, list[str]] = {}
    for t in vp.tasks:
        row = existing.get(t.code)
        if row is None:
            added.append(t.code)
            continue
        new = _task_fingerprint(t)
        diff = sorted(k for k, v in new.items() if old[t.code].get(k) != v)
        if diff:
            changed.append(t.code)
            changes[t.code] = diff
        if row.status == PlanStatus.CANCELLED:
            reactivated.append(t.code)
    in_file = {t.code for t in vp.tasks}
    cancelled = [c for c, row in existing.items() if c not in in_file and row.status != PlanStatus.CANCELLED]
    return {"plan": plan.code, "title": plan.title, "revision": plan.revision, "next_revision": plan.revision + 1,
            "added": added, "changed": changed, "cancelled": cancelled, "reactivated": reactivated,
            "changes": changes}


def build_preview(session: Session, vp: ValidatedPlan, *, lang: str = "vi") -> dict[str, Any]:
    spec = vp.spec
    by_task: dict[str, list[dict[str, Any]]] = {}
    plan_issues = []
    for i in vp.issues:
        d = {"level": i.level, "code": i.code, "message": i.message, "row": i.ref.row, "column": i.ref.column}
        if i.task is not None:
            by_task.setdefault(i.task, []).append(d)
        else:
            plan_issues.append(d)
    tasks = []
    for t in vp.tasks:
        dl = t.deadline
        tasks.append({
            "code": t.code, "section": t.section, "row": t.spec.source.row, "title": t.title,
            "lead": [_unit(u) for u in t.lead], "coordinating": [_unit(u) for u in t.coordinating],
            "lead_text": "; ".join(t.spec.lead), "deliverable": t.deliverable,
            "deadline": {"text": dl.text, "due": dl.due.isoformat() if dl.due else None, "kind": dl.kind,
                         "recurrence": dl.recurrence},
            "status": t.status, "completed_on": t.completed_on.isoformat() if t.completed_on else None,
            "extra": dict(t.spec.extra),
            "issues": by_task.get(t.code, []),
            "nobody": any(i["code"] in ("lead_nobody", "no_lead") for i in by_task.get(t.code, [])),
        })
    identity = vp.identity
    return {
        "code": vp.code,
        "code_source": identity.source if identity else None,
        "title": vp.title,
        "document": spec.document,
        "issued_on": spec.issued_on.isoformat() if spec.issued_on else None,
        "issued_by": spec.issued_by,
        "annex": spec.annex,
        "status_date": spec.status_date.isoformat() if spec.status_date else None,
        "sections": [{"code": s.code, "title": s.title} for s in spec.sections],
        "revision_of": revision_diff(session, vp),
        "tasks": tasks,
        "new_units": [_unit(u) for u in vp.new_units.values()],
        "unmapped_columns": list(spec.extra_columns),
        "mappable": list(MAPPABLE),
        "plan_issues": plan_issues,
        "errors": len(vp.errors),
        "warnings": len(vp.warnings),
    }

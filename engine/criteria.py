"""Readiness criteria sets: a unit is green on a set's view only when every criterion is met.

Like the national monitoring system, which colours a commune green only when it meets every
readiness criterion. A set is loaded from YAML (``steer criteria load FILE``)::

    set: SS-2025                      # the set's code
    title: Tiêu chí sẵn sàng vận hành chính quyền 2 cấp
    criteria:
      - {code: C1, title: Trụ sở làm việc bố trí xong}
      - {code: C2, title: Hệ thống một cửa điện tử kết nối}

Loading again updates titles and adds criteria (a criterion is never deleted: its records
stay). ``record`` notes a unit's criterion as met (evidence required) or not met; the latest
record counts. ``view`` lists the units (every active, non-group unit of the directory) with
``met``/``total``, the missing criteria and ``status``: green when all are met, red otherwise.
Nothing here reads the clock.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InputFileError, NotFound, UserError
from engine.i18n import tr
from engine.models import ReadinessCriterion, ReadinessRecord, Unit


def load_set(session: Session, path: Path, *, now: datetime, actor: str = "secretariat",
             lang: str = "vi") -> dict[str, Any]:
    from engine.audit import append_event
    from engine.yamltext import load_yaml

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(tr(lang, "rollup.file_unreadable", path=path, reason=exc.strerror or str(exc))) from None
    doc = load_yaml(data, str(path), InputFileError, lang=lang)
    src = path.name
    if not isinstance(doc, dict) or not isinstance(doc.get("set"), (str, int)) or not str(doc["set"]).strip():
        raise InputFileError(tr(lang, "crit.field", file=src, field="set"))
    items = doc.get("criteria")
    if not isinstance(items, list) or not items:
        raise InputFileError(tr(lang, "crit.field", file=src, field="criteria"))
    code = str(doc["set"]).strip()[:64]
    title = str(doc["title"])[:500] if doc.get("title") else None
    seen: set[str] = set()
    parsed = []
    for i, c in enumerate(items):
        if not isinstance(c, dict) or not str(c.get("code") or "").strip() or not str(c.get("title") or "").strip():
            raise InputFileError(tr(lang, "crit.field", file=src, field=f"criteria[{i}].code/title"))
        cc = str(c["code"]).strip()[:64]
        if cc in seen:
            raise InputFileError(tr(lang, "crit.duplicate", file=src, code=cc))
        seen.add(cc)
        parsed.append((cc, str(c["title"]).strip()))
    existing = {r.code: r for r in session.execute(select(ReadinessCriterion)
                                                   .where(ReadinessCriterion.set_code == code)).scalars()}
    added = 0
    for pos, (cc, ct) in enumerate(parsed, start=1):
        row = existing.get(cc)
        if row is None:
            session.add(ReadinessCriterion(set_code=code, set_title=title, code=cc, title=ct, position=pos,
                                           created_at=now))
            added += 1
        else:
            row.title, row.position, row.set_title = ct, pos, title
    session.flush()
    append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="criteria_loaded",
                 note=f"{code}: {len(parsed)}", data={"set": code, "criteria": [c for c, _ in parsed]})
    return {"set": code, "criteria": len(parsed), "added": added}


def _criteria(session: Session, set_code: str, lang: str) -> list[ReadinessCriterion]:
    rows = list(session.execute(select(ReadinessCriterion).where(ReadinessCriterion.set_code == set_code)
                                .order_by(ReadinessCriterion.position, ReadinessCriterion.code)).scalars())
    if not rows:
        raise NotFound(tr(lang, "crit.unknown_set", set=set_code))
    return rows


def record(session: Session, set_code: str, unit_code: str, criterion: str, *, met: bool, evidence: str | None,
           now: datetime, actor: str = "secretariat", lang: str = "vi") -> dict[str, Any]:
    from engine.audit import append_event

    crits = {c.code: c for c in _criteria(session, set_code, lang)}
    c = crits.get(criterion)
    if c is None:
        raise NotFound(tr(lang, "crit.unknown_criterion", set=set_code, code=criterion, codes=", ".join(crits)))
    unit = session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(tr(lang, "rollup.unknown_unit", unit=unit_code))
    ev = (evidence or "").strip() or None
    if met and not ev:
        raise UserError(tr(lang, "crit.evidence_required", code=criterion, unit=unit_code))
    session.add(ReadinessRecord(criterion_id=c.id, unit_id=unit.id, met=met, evidence=ev, recorded_by=actor,
                                recorded_at=now))
    session.flush()
    append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="criterion_recorded",
                 note=f"{set_code}/{criterion} {unit_code}: {'met' if met else 'not met'}",
                 data={"set": set_code, "criterion": criterion, "unit": unit_code, "met": met, "evidence": ev})
    return {"set": set_code, "criterion": criterion, "unit": unit_code, "met": met}


def view(session: Session, set_code: str, *, lang: str = "vi") -> dict[str, Any]:
    """Per unit: ``met``/``total``, ``missing`` criteria codes, ``status`` green (all met) or red."""
    crits = _criteria(session, set_code, lang)
    ids = {c.id: c.code for c in crits}
    latest: dict[tuple[int, int], ReadinessRecord] = {}
    for r in session.execute(select(ReadinessRecord).where(ReadinessRecord.criterion_id.in_(ids))
                             .order_by(ReadinessRecord.recorded_at, ReadinessRecord.id)).scalars():
        latest[(r.unit_id, r.criterion_id)] = r
    units = session.execute(select(Unit).where(Unit.active.is_(True), Unit.is_group.is_(False))
                            .order_by(Unit.code)).scalars()
    out = []
    for u in units:
        met = [ids[cid] for cid in ids if (rec := latest.get((u.id, cid))) is not None and rec.met]
        missing = [ids[cid] for cid in ids if ids[cid] not in met]
        out.append({"unit": u.code, "name": u.name, "met": len(met), "total": len(crits), "missing": missing,
                    "status": "green" if not missing else "red",
                    "reason": tr(lang, "crit.all_met", total=len(crits)) if not missing else
                    tr(lang, "crit.missing", met=len(met), total=len(crits), codes=", ".join(missing))})
    green = sum(1 for u in out if u["status"] == "green")
    return {"set": set_code, "title": crits[0].set_title, "criteria": [{"code": c.code, "title": c.title} for c in crits],
            "units": out, "green": green, "total": len(out)}

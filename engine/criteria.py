"""Readiness criteria sets: a unit is green on a set's view only when every required criterion is met.

Like the national monitoring system, which colours a commune green only when it meets every
readiness criterion. A set is loaded from YAML or XLSX (``steer criteria load FILE``)::

    set: SS-2025                      # the set's code
    title: Tiêu chí sẵn sàng vận hành chính quyền 2 cấp
    criteria:
      - {code: C1, title: Trụ sở làm việc bố trí xong, description: …, required: true}
      - {code: C2, title: Hệ thống một cửa điện tử kết nối}

An XLSX has one row per criterion under a header row found by its words, in Vietnamese or
English: "Mã" / "Code", "Tên tiêu chí" / "Title" (or "Nội dung", "Name"), "Mô tả" / "Description",
"Bắt buộc" / "Required" ("x", "có", "yes", "1"; "không", "no", "0"; empty = required); other
columns ("STT") are left alone. The set's code and title are given above the header
("Mã bộ tiêu chí: SS-2025", "Tên bộ tiêu chí: …", or "Set:" / "Title:") or by ``--set`` /
``--title``. A file is read whole before anything is written: a bad row is an
``InputFileError`` naming the file, the row and the field.

Loading again updates titles, descriptions and "required", and adds criteria (a criterion is
never deleted: its records stay). ``record`` notes a unit's criterion as met (evidence
required: a document's text, read like progress evidence by ``engine.documents``, and/or a
file, kept as work items' evidence files are by ``engine.evidence``) or not met; the latest
record counts. ``view`` lists the units (every active, non-group unit of the directory) with
``met``/``total`` of the required criteria, the missing ones, each criterion's latest record,
and ``status``: green when every required criterion is met, red otherwise. Nothing here reads
the clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InputFileError, NotFound, UserError
from engine.i18n import tr
from engine.models import ReadinessCriterion, ReadinessRecord, Unit


YES = ("x", "co", "yes", "y", "true", "1", "bat buoc", "required", "v", "✓", "✔")
NO = ("khong", "no", "n", "false", "0", "-", "khong bat buoc", "optional")
# header words (folded: lower case, no diacritics) -> field
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("ma", "ma tieu chi", "ma so", "ky hieu", "code", "criterion code", "id"),
    "title": ("ten", "ten tieu chi", "tieu chi", "noi dung", "noi dung tieu chi", "title", "name", "criterion"),
    "description": ("mo ta", "dien giai", "giai thich", "huong dan", "huong dan danh gia", "description", "details"),
    "required": ("bat buoc", "required", "mandatory", "bat buoc?", "required?"),
}
SET_LABELS = {"set": ("ma bo tieu chi", "bo tieu chi", "ma bo", "set", "set code", "criteria set"),
              "title": ("ten bo tieu chi", "ten bo", "title", "set title")}
MAX_CRITERIA = 1000


def _fold(text: str) -> str:
    from engine.textsearch import fold

    return fold(text).strip(" :*.")


def _required(value: Any, src: str, where: str, lang: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return True
    t = _fold(str(value))
    if t == "" or t in YES:  # empty: required (the national rule counts every criterion)
        return True
    if t in NO:
        return False
    raise InputFileError(tr(lang, "crit.bad_required", file=src, where=where, value=str(value)[:40]))


def load_set(session: Session, path: Path, *, now: datetime, actor: str = "secretariat", set_code: str | None = None,
             title: str | None = None, lang: str = "vi") -> dict[str, Any]:
    """Load a criteria set from YAML or XLSX (by the file's extension); see the module doc."""
    from engine.audit import append_event

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(tr(lang, "rollup.file_unreadable", path=path, reason=exc.strerror or str(exc))) from None
    src = path.name
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        code, set_title, parsed = _read_xlsx(data, src, lang)
    else:
        code, set_title, parsed = _read_yaml(data, src, lang)
    code = (set_code or code or "").strip()[:64]
    if not code:
        raise InputFileError(tr(lang, "crit.no_set_code", file=src))
    set_title = (title or set_title or None)
    set_title = set_title[:500] if set_title else None
    existing = {r.code: r for r in session.execute(select(ReadinessCriterion)
                                                   .where(ReadinessCriterion.set_code == code)).scalars()}
    added = 0
    for pos, c in enumerate(parsed, start=1):
        row = existing.get(c["code"])
        if row is None:
            session.add(ReadinessCriterion(set_code=code, set_title=set_title, code=c["code"], title=c["title"],
                                           description=c["description"], required=c["required"], position=pos,
                                           created_at=now))
            added += 1
        else:
            row.title, row.description, row.required = c["title"], c["description"], c["required"]
            row.position, row.set_title = pos, set_title
    session.flush()
    append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="criteria_loaded",
                 note=f"{code}: {len(parsed)}", data={"set": code, "criteria": [c["code"] for c in parsed],
                                                      "optional": [c["code"] for c in parsed if not c["required"]],
                                                      "file": src})
    return {"set": code, "criteria": len(parsed), "added": added,
            "required": sum(1 for c in parsed if c["required"])}


def _criterion(code: Any, title: Any, description: Any, required: Any, *, src: str, where: str, seen: set[str],
               lang: str) -> dict[str, Any]:
    cc = str(code).strip() if code is not None else ""
    if isinstance(code, float) and code.is_integer():
        cc = str(int(code))
    ct = str(title).strip() if title is not None else ""
    if not cc:
        raise InputFileError(tr(lang, "crit.row_field", file=src, where=where, field="code"))
    if not ct:
        raise InputFileError(tr(lang, "crit.row_field", file=src, where=where, field="title"))
    if len(cc) > 64:
        raise InputFileError(tr(lang, "crit.row_field", file=src, where=where, field="code"))
    if cc in seen:
        raise InputFileError(tr(lang, "crit.duplicate_at", file=src, code=cc, where=where))
    seen.add(cc)
    desc = str(description).strip() if description is not None else ""
    return {"code": cc, "title": ct, "description": desc or None, "required": _required(required, src, where, lang)}


def _read_yaml(data: bytes, src: str, lang: str) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    from engine.yamltext import load_yaml

    doc = load_yaml(data, src, InputFileError, lang=lang)
    if not isinstance(doc, dict) or not isinstance(doc.get("set"), (str, int)) or not str(doc["set"]).strip():
        raise InputFileError(tr(lang, "crit.field", file=src, field="set"))
    items = doc.get("criteria")
    if not isinstance(items, list) or not items:
        raise InputFileError(tr(lang, "crit.field", file=src, field="criteria"))
    if len(items) > MAX_CRITERIA:
        raise InputFileError(tr(lang, "crit.too_many", file=src, n=MAX_CRITERIA))
    seen: set[str] = set()
    parsed = []
    for i, c in enumerate(items):
        where = f"criteria[{i}]"
        if not isinstance(c, dict):
            raise InputFileError(tr(lang, "crit.field", file=src, field=f"{where}.code/title"))
        parsed.append(_criterion(c.get("code"), c.get("title") or c.get("name"), c.get("description"),
                                 c.get("required"), src=src, where=where, seen=seen, lang=lang))
    return str(doc["set"]).strip(), str(doc["title"]).strip() if doc.get("title") else None, parsed


def _read_xlsx(data: bytes, src: str, lang: str) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    import io
    import warnings

    from engine.planfile.office import check_office_size
    from engine.planfile.read_xlsx import sheet_rows
    from engine.planfile.spec import PlanFileError

    try:
        check_office_size(data, src, lang=lang)
    except PlanFileError as exc:
        raise InputFileError(str(exc)) from None
    try:
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise InputFileError(tr(lang, "crit.not_xlsx", file=src, detail=type(exc).__name__)) from None
    names = {_fold(h): field for field, hs in HEADERS.items() for h in hs}
    for ws in wb.worksheets:
        if not hasattr(ws, "merged_cells"):
            continue
        rows = sheet_rows(ws)
        for n, raw in enumerate(rows[:30]):
            cols: dict[str, int] = {}
            for i, t in enumerate(raw.cells):
                # "Mô tả / minh chứng", "Mã (Code)": any part of the header may name the field
                parts = [_fold(t)] + [_fold(x) for x in re.split(r"[/()\n]", t) if x.strip()]
                f = next((names[x] for x in parts if x in names), None)
                if f and f not in cols:
                    cols[f] = i
            if "code" in cols and "title" in cols:
                return (*_set_lines(rows[:n]), _xlsx_rows(rows[n + 1:], cols, src, ws.title, lang))
    raise InputFileError(tr(lang, "crit.no_header", file=src))


def _set_lines(rows: list[Any]) -> tuple[str | None, str | None]:
    """The set's code and title from the lines above the header: "Mã bộ tiêu chí: SS-2025" in one
    cell, or the label in one cell and the value in the next."""
    found: dict[str, str] = {}
    labels = {_fold(h): k for k, hs in SET_LABELS.items() for h in hs}
    for raw in rows:
        cells = [c.strip() for c in raw.cells]
        for i, c in enumerate(cells):
            head, sep, rest = c.partition(":")
            key = labels.get(_fold(head))
            if key is None or key in found:
                continue
            value = rest.strip() if sep and rest.strip() else next((x for x in cells[i + 1:] if x), "")
            if value:
                found[key] = value
    return found.get("set"), found.get("title")


def _xlsx_rows(rows: list[Any], cols: dict[str, int], src: str, sheet: str, lang: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    parsed = []
    for raw in rows:
        values = {f: raw.cell(i).strip() for f, i in cols.items()}
        if not any(values.values()):
            continue
        if len(parsed) >= MAX_CRITERIA:
            raise InputFileError(tr(lang, "crit.too_many", file=src, n=MAX_CRITERIA))
        where = tr(lang, "crit.where_row", sheet=sheet, row=raw.number)
        parsed.append(_criterion(values.get("code"), values.get("title"), values.get("description"),
                                 values.get("required"), src=src, where=where, seen=seen, lang=lang))
    if not parsed:
        raise InputFileError(tr(lang, "crit.field", file=src, field="criteria"))
    return parsed


def _criteria(session: Session, set_code: str, lang: str) -> list[ReadinessCriterion]:
    rows = list(session.execute(select(ReadinessCriterion).where(ReadinessCriterion.set_code == set_code)
                                .order_by(ReadinessCriterion.position, ReadinessCriterion.code)).scalars())
    if not rows:
        raise NotFound(tr(lang, "crit.unknown_set", set=set_code))
    return rows


def record(session: Session, set_code: str, unit_code: str, criterion: str, *, met: bool, evidence: str | None,
           now: datetime, actor: str = "secretariat", upload: Any = None, upload_dir: Path | None = None,
           max_bytes: int | None = None, lang: str = "vi") -> dict[str, Any]:
    """Record a unit's criterion met or not met. ``evidence``: the text of the document that shows
    it ("Biên bản số 12/BB-UBND ngày 15/7/2025"), read by ``engine.documents.parse_document`` and
    kept in its canonical form when it is one (a document dated after today is refused);
    ``upload``: an ``engine.evidence.Upload`` kept under ``upload_dir``/evidence like work items'
    evidence files. Met needs one of the two. Everything is checked before the file is kept."""
    from engine import documents
    from engine.audit import append_event
    from engine.evidence import default_max_bytes, default_upload_dir, evidence_dir, save_evidence
    from engine.reporting import committee_today

    crits = {c.code: c for c in _criteria(session, set_code, lang)}
    c = crits.get(criterion)
    if c is None:
        raise NotFound(tr(lang, "crit.unknown_criterion", set=set_code, code=criterion, codes=", ".join(crits)))
    unit = session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(tr(lang, "rollup.unknown_unit", unit=unit_code))
    ev = " ".join((evidence or "").split())[:2000] or None
    doc = documents.parse_document(ev) if ev else None
    if doc is not None:
        if doc.date is not None and doc.date > committee_today(session, now):
            raise UserError(tr(lang, "crit.doc_future", doc=doc.reference, unit=unit_code, code=criterion))
        ev = doc.reference
    if met and not ev and upload is None:
        raise UserError(tr(lang, "crit.evidence_required", code=criterion, unit=unit_code))
    stored = None
    if upload is not None:
        stored = save_evidence(upload.stream, upload.name, evidence_dir(upload_dir or default_upload_dir()),
                               max_bytes=max_bytes or default_max_bytes(), lang=lang)
    try:
        row = ReadinessRecord(criterion_id=c.id, unit_id=unit.id, met=met, evidence=ev, recorded_by=actor,
                              recorded_at=now)
        if stored is not None:
            row.file_stored_name, row.file_name, row.file_size = stored.stored_name, stored.original_name, stored.size
            row.file_sha256, row.file_content_type = stored.sha256, (upload.content_type or None)
        session.add(row)
        session.flush()
        file = ({"name": stored.original_name, "size": stored.size, "sha256": stored.sha256} if stored else None)
        append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="criterion_recorded",
                     note=f"{set_code}/{criterion} {unit_code}: {'met' if met else 'not met'}",
                     data={"set": set_code, "criterion": criterion, "unit": unit_code, "met": met, "evidence": ev,
                           "document": doc.as_dict() if doc else None, "file": file, "record_id": row.id})
    except BaseException:
        if stored is not None:
            stored.discard()
        raise
    return {"set": set_code, "criterion": criterion, "unit": unit_code, "met": met, "evidence": ev,
            "document": doc.as_dict() if doc else None, "file": file, "id": row.id}


def record_file(session: Session, set_code: str, record_id: int, *, lang: str = "vi") -> ReadinessRecord:
    """The record ``record_id`` of the set, with an evidence file (``NotFound`` otherwise)."""
    row = session.get(ReadinessRecord, record_id)
    crit = session.get(ReadinessCriterion, row.criterion_id) if row is not None else None
    if row is None or crit is None or crit.set_code != set_code or not row.file_stored_name:
        raise NotFound(tr(lang, "crit.no_file", id=record_id))
    return row


def view(session: Session, set_code: str, *, lang: str = "vi") -> dict[str, Any]:
    """Per unit: ``met``/``total`` of the required criteria, ``missing`` (required, not met),
    ``optional_missing``, ``records`` (each criterion's latest record: met, evidence, file,
    when and by whom) and ``status`` green (every required criterion met) or red."""
    from zoneinfo import ZoneInfo

    from engine.txcache import committee_settings

    crits = _criteria(session, set_code, lang)
    tz = ZoneInfo(committee_settings(session)[0])
    ids = {c.id: c.code for c in crits}
    required = [c.code for c in crits if c.required]
    latest: dict[tuple[int, int], ReadinessRecord] = {}
    for r in session.execute(select(ReadinessRecord).where(ReadinessRecord.criterion_id.in_(ids))
                             .order_by(ReadinessRecord.recorded_at, ReadinessRecord.id)).scalars():
        latest[(r.unit_id, r.criterion_id)] = r
    units = session.execute(select(Unit).where(Unit.active.is_(True), Unit.is_group.is_(False))
                            .order_by(Unit.code)).scalars()
    out = []
    for u in units:
        records: dict[str, Any] = {}
        for cid, code in ids.items():
            rec = latest.get((u.id, cid))
            if rec is None:
                continue
            local = rec.recorded_at.astimezone(tz)
            records[code] = {"id": rec.id, "met": rec.met, "evidence": rec.evidence,
                             "file": {"name": rec.file_name, "size": rec.file_size, "sha256": rec.file_sha256}
                             if rec.file_stored_name else None,
                             "recorded_at": rec.recorded_at.isoformat(), "recorded_on": local.strftime("%d/%m/%Y"),
                             "recorded_by": rec.recorded_by}
        met = [code for code in required if records.get(code, {}).get("met")]
        missing = [code for code in required if code not in met]
        optional_missing = [c.code for c in crits if not c.required and not records.get(c.code, {}).get("met")]
        out.append({"unit": u.code, "name": u.name, "met": len(met), "total": len(required), "missing": missing,
                    "optional_missing": optional_missing, "records": records,
                    "status": "green" if not missing else "red",
                    "reason": tr(lang, "crit.all_met", total=len(required)) if not missing else
                    tr(lang, "crit.missing", met=len(met), total=len(required), codes=", ".join(missing))})
    green = sum(1 for u in out if u["status"] == "green")
    return {"set": set_code, "title": crits[0].set_title,
            "criteria": [{"code": c.code, "title": c.title, "description": c.description, "required": c.required}
                         for c in crits],
            "units": out, "green": green, "total": len(out)}


def list_sets(session: Session) -> list[dict[str, Any]]:
    """The loaded sets: code, title, number of criteria, newest first by load."""
    from sqlalchemy import func

    rows = session.execute(select(ReadinessCriterion.set_code, func.max(ReadinessCriterion.set_title),
                                  func.count(), func.max(ReadinessCriterion.created_at))
                           .group_by(ReadinessCriterion.set_code)
                           .order_by(func.max(ReadinessCriterion.created_at).desc(), ReadinessCriterion.set_code)).all()
    return [{"set": code, "title": title, "criteria": n} for code, title, n, _ in rows]

"""The level above's views of its child units (engine.rollup): the roll-up heat map
(``/rollup``), its downloads, and the secretariat's upload of signed snapshots
(``/rollup/import``; the JSON API has ``POST /api/v1/rollup/import``). Every import goes
through ``engine.rollup.import_snapshots`` (all files or none), as ``steer rollup import``."""

from __future__ import annotations

import threading
from urllib.parse import quote
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine.db import transaction
from engine.errors import UserError
from engine.i18n import tr
from engine.states import Role
from web.core import WebError, cfg, check_csrf, db, flash, lang_of, now, redirect, render, require_login

router = APIRouter(include_in_schema=False)
CSRF = [Depends(check_csrf)]
OVERSIGHT = (Role.SECRETARIAT, Role.CHAIR, Role.VICE_CHAIR, Role.VIEWER)
MAX_FILES = 200


# The roll-up per (database, period, rules, day, language, head of the event log): every import,
# key registration or directory change appends an event, so a new head means a new roll-up; a
# page view between two changes costs two small queries instead of recolouring 3,400 communes.
_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_MAX = 16


def rollup_view(s: Any, request: Request, period: str, rule: str) -> dict[str, Any]:
    from sqlalchemy import select

    from engine.models import ChainHead
    from engine.reporting import committee_today
    from engine.rollup import build_rollup, load_rollup_rules

    lang = lang_of(request)
    try:
        rules = load_rollup_rules(s, None, rule or None, lang)
        today = committee_today(s, now(request))
        head = s.execute(select(ChainHead.last_event_id, ChainHead.count).where(ChainHead.id == 1)).first()
        key = (cfg(request).database_url, period.strip(), rules, today, lang, tuple(head) if head else None)
        with _LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
        data = build_rollup(s, today=today, period=period.strip() or None, rules=rules, lang=lang)
    except UserError as exc:
        raise WebError(400, str(exc)) from None
    with _LOCK:
        _CACHE[key] = data
        while len(_CACHE) > _MAX:
            _CACHE.popitem(last=False)
    return data


@router.get("/rollup", response_class=HTMLResponse)
def rollup_page(request: Request, period: str = "", rule: str = "") -> Response:
    from engine import heatrules

    lang = lang_of(request)
    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        data = rollup_view(s, request, period, rule)
    rules = [(name, tr(lang, heatrules.RULE_LABEL_KEYS[name])) for name in heatrules.RULE_NAMES]
    return render(request, "rollup.html", {"r": data, "rules": rules, "rule": data["rules"]["rule"]})


@router.get("/rollup/download/{fmt}")
def rollup_download(request: Request, fmt: str, period: str = "", rule: str = "") -> Response:
    from engine.render import EXTENSIONS, FORMATS, MIME, render as render_doc
    from engine.rollup import central_profile

    central = fmt == "central.xlsx"
    if fmt not in FORMATS and not central:
        raise WebError(404, "")
    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        data = rollup_view(s, request, period, rule)
    body = render_doc(central_profile(data), "xlsx") if central else render_doc(data, fmt)
    name = f"{'mau-vpcp' if central else 'tong-hop'}-{data['period']['key']}{'.xlsx' if central else EXTENSIONS[fmt]}"
    return Response(body, media_type=MIME["xlsx" if central else fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"", "Cache-Control": "no-store"})


@router.post("/rollup/store", dependencies=CSRF)
def rollup_store(request: Request, period: str = Form(""), rule: str = Form("")) -> Response:
    """Keep the roll-up as a stored report (``engine.rollup.generate_rollup``, what ``steer rollup
    report`` calls): listed on /reports, viewed and downloaded there like any report."""
    from engine.reporting import committee_today, report_title
    from engine.rollup import generate_rollup, load_rollup_rules

    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, (Role.SECRETARIAT,))
    try:
        with db(request).tx() as s:
            rules = load_rollup_rules(s, None, rule.strip() or None, lang)
            data, report_id = generate_rollup(s, now=now(request), store=True, created_by=user.person_id,
                                              today=committee_today(s, now(request)), period=period.strip() or None,
                                              rules=rules, lang=lang)
    except UserError as exc:
        flash(request, "error", str(exc))
        return redirect("/rollup")
    flash(request, "ok", tr(lang, "pg.report_created", id=report_id, title=report_title(data)))
    return redirect(f"/reports/{report_id}")


@router.get("/rollup/import", response_class=HTMLResponse)
def rollup_import_form(request: Request) -> Response:
    with db(request).ro() as s:
        require_login(request, s, (Role.SECRETARIAT,))
    return render(request, "rollup_import.html", {"max_mb": cfg(request).max_upload_bytes // (1024 * 1024)})


def read_uploads(request: Request, files: list[UploadFile] | None) -> list[tuple[str, bytes]]:
    """The uploaded files' (name, bytes), each within the upload limit (``WebError`` 400/413)."""
    lang = lang_of(request)
    limit = cfg(request).max_upload_bytes
    out = []
    for f in (files or [])[:MAX_FILES + 1]:
        if not f.filename:
            continue
        body = f.file.read(limit + 1)
        if len(body) > limit:
            raise WebError(413, tr(lang, "too_large", mb=limit // (1024 * 1024)))
        out.append((f.filename.replace("\\", "/").rsplit("/", 1)[-1][:200], body))
    if not out or len(out) > MAX_FILES:
        raise WebError(400, tr(lang, "rollup.no_files"))
    return out


def import_files(request: Request, user: Any, bodies: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    from engine.rollup import import_snapshots

    with transaction(db(request).write) as s:
        return import_snapshots(s, bodies, now=now(request), actor=user.person_id, lang=lang_of(request))


@router.post("/rollup/import", response_class=HTMLResponse, dependencies=CSRF)
def rollup_import(request: Request, files: list[UploadFile] | None = File(None)) -> Response:
    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, (Role.SECRETARIAT,))
    max_mb = cfg(request).max_upload_bytes // (1024 * 1024)
    try:
        bodies = read_uploads(request, files)
        results = import_files(request, user, bodies)
    except WebError as exc:
        return render(request, "rollup_import.html", {"error": exc.message, "max_mb": max_mb}, status=exc.status)
    except UserError as exc:
        return render(request, "rollup_import.html", {"error": str(exc), "max_mb": max_mb}, status=400)
    flash(request, "ok", tr(lang, "rollup.accepted_n", n=len(results)))
    return redirect(f"/rollup?period={results[0]['period']}")


# --- readiness criteria (engine.criteria): the level above's view of its units ---------------------


@router.get("/criteria", response_class=HTMLResponse)
def criteria_sets(request: Request) -> Response:
    from engine.criteria import list_sets

    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        sets = list_sets(s)
    if len(sets) == 1:
        return redirect(f"/criteria/{quote(sets[0]['set'], safe='')}", status=302)
    return render(request, "criteria.html", {"sets": sets, "v": None})


@router.get("/criteria/{set_code}", response_class=HTMLResponse)
def criteria_view(request: Request, set_code: str) -> Response:
    """Units x criteria: each unit green only when every required criterion is met (engine.criteria.view)."""
    from engine.criteria import list_sets, view

    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        try:
            v = view(s, set_code, lang=lang_of(request))
        except UserError as exc:
            raise WebError(404, str(exc)) from None
        sets = list_sets(s)
    return render(request, "criteria.html", {"sets": sets, "v": v})


@router.post("/criteria/{set_code}/record", response_class=HTMLResponse, dependencies=CSRF)
def criteria_record(request: Request, set_code: str, unit: str = Form(""), criterion: str = Form(""),
                    met: str = Form(""), evidence: str = Form(""), file: UploadFile | None = File(None)) -> Response:
    """The secretariat records a unit's criterion met or not met, with an evidence document and/or
    file: ``engine.criteria.record``, as ``steer criteria record`` does."""
    from engine.criteria import record
    from engine.evidence import Upload

    lang = lang_of(request)
    back = f"/criteria/{quote(set_code, safe='')}"
    with db(request).ro() as s:
        user = require_login(request, s, (Role.SECRETARIAT,))
    upload = Upload(file.file, file.filename, file.content_type or None) if file is not None and file.filename else None
    try:
        with transaction(db(request).write) as s:
            r = record(s, set_code, unit.strip(), criterion.strip(), met=met == "yes", evidence=evidence,
                       now=now(request), actor=user.person_id, upload=upload, upload_dir=cfg(request).upload_dir,
                       max_bytes=cfg(request).max_upload_bytes, lang=lang)
    except UserError as exc:
        flash(request, "error", str(exc))
        return redirect(back)
    flash(request, "ok", tr(lang, "crit.web_recorded", unit=r["unit"], criterion=r["criterion"],
                            state=tr(lang, "crit.met" if r["met"] else "crit.not_met")))
    return redirect(back)


@router.get("/criteria/{set_code}/files/{record_id}")
def criteria_file(request: Request, set_code: str, record_id: int) -> Response:
    """A record's evidence file (attachment), kept as work items' evidence files are."""
    from fastapi.responses import FileResponse

    from engine.criteria import record_file

    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        try:
            row = record_file(s, set_code, record_id, lang=lang_of(request))
        except UserError as exc:
            raise WebError(404, str(exc)) from None
        path = cfg(request).evidence_dir / (row.file_stored_name or "")
        name = row.file_name or "file"
    if not path.is_file():
        raise WebError(404, tr(lang_of(request), "not_found"))
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

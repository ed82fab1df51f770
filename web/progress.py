"""Progress sheets on the web (engine.progress): a unit downloads its pre-filled sheet and
uploads it filled; the secretariat does the same for any unit. An upload is read in a child
process (``engine.progress.read_sheet_isolated``, the plan uploads' time and memory budget),
compared with the database without writing, and shown as a per-row diff; only the
confirmation writes, through ``engine.progress.apply_import`` (all rows or none, or the rows
without conflicts when asked)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from engine.clock import local_date
from engine.db import transaction
from engine.errors import PermissionDenied, UserError
from engine.i18n import tr
from engine.models import Task, Unit, WorkItem
from engine.states import OPEN_STATES, PlanStatus, Role
from engine.txcache import committee_settings
from web import storage
from web.core import WebError, cfg, check_csrf, db, flash, lang_of, now, redirect, render, require_login, t

router = APIRouter(include_in_schema=False)
CSRF = [Depends(check_csrf)]
WHO = (Role.SECRETARIAT, Role.CHAIR, Role.FOCAL_POINT)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(request: Request, s: Any, value: str) -> str:
    from engine.reporting import parse_period

    if value.strip():
        try:
            return parse_period(value, lang=lang_of(request)).key
        except UserError as exc:
            raise WebError(400, str(exc)) from None
    tz, _ = committee_settings(s)
    return local_date(now(request), tz).strftime("%Y-%m")


def _unit_for(user: Any, unit: str) -> str:
    """The unit a request may act for: a focal point only its own."""
    if user.role == Role.FOCAL_POINT:
        if unit and unit.strip().upper() != (user.unit_code or "").upper():
            raise WebError(403, "")
        return user.unit_code or ""
    return unit.strip()


@router.get("/progress", response_class=HTMLResponse)
def progress_page(request: Request, period: str = "") -> Response:
    with db(request).ro() as s:
        user = require_login(request, s, WHO)
        key = _period(request, s, period)
        units = []
        if user.role != Role.FOCAL_POINT:
            units = list(s.execute(
                select(Unit.code, Unit.name).join(WorkItem, WorkItem.unit_id == Unit.id)
                .join(Task, Task.id == WorkItem.task_id)
                .where(WorkItem.status.in_(OPEN_STATES), Unit.is_group.is_(False), Task.status == PlanStatus.ACTIVE)
                .distinct().order_by(Unit.code)).all())
        unit_name = s.execute(select(Unit.name).where(Unit.code == user.unit_code)).scalar_one_or_none() \
            if user.unit_code else None
    return render(request, "progress.html", {"period": key, "units": units, "unit_name": unit_name,
                                             "max_mb": cfg(request).max_upload_bytes // (1024 * 1024)})


@router.get("/progress/sheet")
def progress_sheet(request: Request, unit: str = "", period: str = "", plan: str = "") -> Response:
    from engine.progress import export_sheet

    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, WHO)
        code = _unit_for(user, unit)
        key = _period(request, s, period)
        try:
            sh = export_sheet(s, code, now=now(request), period=key, plan_code=plan or None, lang=lang)
        except UserError as exc:
            raise WebError(404, str(exc)) from None
    return Response(sh.data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{sh.filename}\"; filename*=UTF-8''{quote(sh.filename)}",
        "Cache-Control": "no-store"})


@router.get("/progress/all")
def progress_all(request: Request, period: str = "", plan: str = "") -> Response:
    """Every unit's sheet in one .zip (the secretariat's batch)."""
    import io
    import zipfile

    from engine.progress import export_all

    lang = lang_of(request)
    with db(request).ro() as s:
        require_login(request, s, (Role.SECRETARIAT, Role.CHAIR))
        key = _period(request, s, period)
        try:
            sheets = export_all(s, now=now(request), period=key, plan_code=plan or None, lang=lang)
        except UserError as exc:
            raise WebError(404, str(exc)) from None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for sh in sheets:
            zf.writestr(sh.filename, sh.data)
    name = f"tien-do-{key}.zip"
    return Response(buf.getvalue(), media_type="application/zip", headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"", "Cache-Control": "no-store"})


def _plan(request: Request, data: bytes, name: str, user: Any) -> Any:
    """Read the sheet off the worker and compare it with the database (nothing written)."""
    from engine.progress import plan_import, read_sheet_isolated

    lang = lang_of(request)
    sheet = read_sheet_isolated(data, name, lang=lang)
    with db(request).ro() as s:
        if user.role == Role.FOCAL_POINT and sheet.unit.upper() != (user.unit_code or "").upper():
            raise PermissionDenied(tr(lang, "prog.not_allowed", name=f"{user.name} ({user.person_id})", unit=sheet.unit))
        return plan_import(s, sheet, now=now(request), importer=user.person_id, lang=lang)


@router.post("/progress/upload", response_class=HTMLResponse, dependencies=CSRF)
def progress_upload(request: Request, file: UploadFile | None = File(None)) -> Response:
    c = cfg(request)
    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, WHO)
    if file is None or not file.filename:
        flash(request, "error", tr(lang, "prog.web_no_file"))
        return redirect("/progress")
    original = storage.clean_name(file.filename)
    try:
        token, path, _size = storage.save_pending_plan(file.file, original, c.pending_dir,
                                                       max_bytes=c.max_upload_bytes, now_ts=now(request).timestamp())
    except storage.TooLarge:
        flash(request, "error", t(request, "too_large", mb=c.max_upload_bytes // (1024 * 1024)))
        return redirect("/progress")
    try:
        plan = _plan(request, path.read_bytes(), original, user)
    except UserError as exc:
        path.unlink(missing_ok=True)
        return render(request, "progress_preview.html", {"file": original, "read_error": str(exc), "plan": None},
                      status=403 if isinstance(exc, PermissionDenied) else 400)
    storage.remember_pending(request.session, "progress_uploads", token, {"name": original, "suffix": path.suffix})
    return render(request, "progress_preview.html", {
        "file": original, "plan": plan, "token": token, "n_changes": plan.command_count(),
        "n_skip": plan.command_count(skip_conflicts=True), "conflicts": plan.conflicts})


@router.post("/progress/upload/commit", dependencies=CSRF)
def progress_commit(request: Request, token: str = Form(""), skip: str = Form("")) -> Response:
    from engine.progress import apply_import, plan_import, read_sheet_isolated

    c = cfg(request)
    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, WHO)
    found = storage.find_pending(request.session, "progress_uploads", c.pending_dir, token)
    if found is None:
        raise WebError(400, tr(lang, "prog.web_expired"), reason="upload")
    meta, path = found
    try:
        sheet = read_sheet_isolated(path.read_bytes(), meta["name"], lang=lang)
        if user.role == Role.FOCAL_POINT and sheet.unit.upper() != (user.unit_code or "").upper():
            raise PermissionDenied(tr(lang, "prog.not_allowed", name=f"{user.name} ({user.person_id})", unit=sheet.unit))
        with transaction(db(request).write) as s:
            plan = plan_import(s, sheet, now=now(request), importer=user.person_id, lang=lang)
            result = apply_import(s, plan, now=now(request), skip_conflicts=bool(skip), lang=lang)
    except UserError as exc:
        flash(request, "error", str(exc))
        return redirect("/progress")
    storage.forget_pending(request.session, "progress_uploads", c.pending_dir, token)
    flash(request, "ok", tr(lang, "prog.web_done", n=result.applied))
    if result.skipped:
        flash(request, "ok", tr(lang, "prog.skipped", n=len(result.skipped), rows=", ".join(map(str, result.skipped))))
    return redirect("/items")

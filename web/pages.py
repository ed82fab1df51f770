"""Server-rendered pages (Jinja2). Every POST form is CSRF-checked (``check_csrf``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.accounts import link_actor_id
from engine.actors import person_name
from engine.days import fmt_local
from engine.permissions import OFFERED, may_acknowledge, offered_actions, pending_extension
from engine.refs import item_ref, item_refs
from engine.states import OPEN_STATES, STATUSES, Action, ExtensionStatus, Role, Status
from engine.timeliness import Timeliness
from engine.txcache import committee_settings
from engine.errors import Conflict, NotFound, PermissionDenied, UserError
from engine.evidence import Stored, Upload
from engine.models import EvidenceFile, ExtensionRequest, Person, Task, Unit, WorkItem
from web import storage
from web.actions import NotVisible, act, get_item
from web.listing import PAGE, item_rows
from web.core import (
    LINK_ACTIONS, User, WebError, cfg, check_csrf, client_ip, csrf_token, db, flash, lang_of,
    load_user, now, redirect, render, require_login, safe_next, t,
)
from engine.i18n import LANGS, tr

router = APIRouter(include_in_schema=False)

ALL = (Role.SECRETARIAT, Role.CHAIR, Role.VICE_CHAIR, Role.FOCAL_POINT, Role.VIEWER)
OVERSIGHT = (Role.SECRETARIAT, Role.CHAIR, Role.VICE_CHAIR, Role.VIEWER)
STAFF = (Role.SECRETARIAT, Role.CHAIR)
SECRETARIAT = (Role.SECRETARIAT,)
CSRF = [Depends(check_csrf)]


def _today(s: Session, request: Request):
    from engine.reporting import committee_today

    return committee_today(s, now(request))


def _tz_settings(s: Session) -> tuple[str, dict[str, Any]]:
    return committee_settings(s)


# --- health, language, login ---------------------------------------------------------------------


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    with db(request).ro() as s:
        if load_user(request, s) is not None and not request.state.user.via_link:
            return redirect(safe_next(next))
    csrf_token(request)
    return render(request, "login.html", {"next": safe_next(next)})


@router.post("/login", dependencies=CSRF)
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/")) -> Response:
    from engine.accounts import check_login

    c = cfg(request)
    with db(request).tx() as s:
        res = check_login(s, username, password, now=now(request), client=client_ip(request),
                          limit=c.login_limit, window=c.login_window)
        pw_stamp = sv = None
        if res.ok:
            from engine.models import Account

            acc = s.get(Account, res.person_id)
            pw_stamp, sv = acc.password_changed_at.timestamp(), acc.session_version
    if res.status == "limited":
        minutes = max(1, (res.retry_after + 59) // 60)
        return render(request, "login.html", {"next": safe_next(next), "error": t(request, "login_limited", minutes=minutes),
                                              "username": username[:64]},
                      status=429, headers={"Retry-After": str(res.retry_after)})
    if not res.ok:
        return render(request, "login.html", {"next": safe_next(next), "error": t(request, "login_bad"),
                                              "username": username[:64]}, status=401)
    lang = request.session.get("lang")
    request.session.clear()  # new session: no fixation, fresh CSRF token
    request.session.update({"uid": res.person_id, "pw": pw_stamp, "sv": sv})
    if lang:
        request.session["lang"] = lang
    return redirect(safe_next(next))


@router.post("/logout", dependencies=CSRF)
def logout(request: Request) -> Response:
    from engine.accounts import end_sessions

    if request.session.get("uid"):
        # server-side end: a copy of this cookie saved before now stops working too (as do the
        # person's other sessions begun before); only a session still valid may do that
        with db(request).tx() as s:
            user = load_user(request, s)
            if user is not None and not user.via_link:
                end_sessions(s, user.person_id)
    request.session.clear()
    resp = redirect("/login")
    return resp


@router.get("/")
def home(request: Request) -> Response:
    with db(request).ro() as s:
        user = require_login(request, s)
    target = {Role.FOCAL_POINT: "/items", Role.SECRETARIAT: "/review", Role.CHAIR: "/heatmap", Role.VICE_CHAIR: "/heatmap"}
    return redirect(target.get(user.role, "/items"))


# --- items ----------------------------------------------------------------------------------------


@router.get("/items", response_class=HTMLResponse)
def items(request: Request, status: str = "", unit: str = "", plan: str = "", q: str = "", page: int = 0) -> Response:
    with db(request).ro() as s:
        user = require_login(request, s)
        today = _today(s, request)
        rows, total = item_rows(s, user, today=today, status=status or None, unit=unit or None, plan=plan or None,
                                 q=q or None, page=page)
        unit_name = None
        if user.role == Role.FOCAL_POINT and user.unit_code:
            unit_name = s.execute(select(Unit.name).where(Unit.code == user.unit_code)).scalar_one_or_none()
    return render(request, "items.html", {
        "rows": rows, "total": total, "page": page, "pages": (total + PAGE - 1) // PAGE, "today": today,
        "f": {"status": status, "unit": unit, "plan": plan, "q": q}, "statuses": STATUSES, "unit_name": unit_name,
    })


# actors of history events that are no directory person: shown in the user's language
NON_PERSON_ACTORS = {"system": "pg.actor_system", "import": "pg.actor_import"}


def _size_text(n: int, lang: str) -> str:
    if n < 1024:
        return tr(lang, "pg.bytes", n=n)
    if n < 1024 * 1024:
        return tr(lang, "pg.kb", n=f"{n / 1024:.0f}")
    return tr(lang, "pg.mb", n=f"{n / (1024 * 1024):.1f}".replace(".", ","))


def file_view(f: EvidenceFile, item_id: int, lang: str, tz: str) -> dict[str, Any]:
    """An evidence file as pages show it: its name linking to the download; size, checksum and
    upload time only in a details view."""
    return {"id": f.id, "name": f.original_name, "url": f"/items/{item_id}/evidence/{f.id}",
            "size": _size_text(f.size, lang), "sha256": f.sha256, "uploaded": fmt_local(f.uploaded_at, tz),
            "notes": {tr(lg, "ev.file_note", name=f.original_name, size=f.size, sha256=f.sha256, stored=f.stored_name)
                      for lg in LANGS}}


def split_evidence(text: str | None, files: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """An event's evidence text without the file notes the engine wrote into it ("tệp «x.pdf»
    (… byte, sha256 …, lưu ….bin)", engine.evidence.file_note, kept as written in the audit
    record), and the files it names, for a link instead."""
    if not text:
        return text, []
    named = []
    for f in files:
        for note in f["notes"]:
            if note in text:
                text = text.replace(f" — {note}", "").replace(note, "")
                named.append(f)
                break
    return (text.strip() or None), named


def _detail_ctx(s: Session, request: Request, user: User, item: WorkItem) -> dict[str, Any]:
    from engine.queries import item_detail

    today = _today(s, request)
    lang = lang_of(request)
    d = item_detail(s, item, today=today, lang=lang)
    # the role's own actions only (engine.permissions.offered_actions: the chair is offered no
    # "start"/"submit"), on a one-click link also only what a link may do
    allowed = set(offered_actions(item, user.actor))
    if user.via_link:
        allowed &= LINK_ACTIONS
    can_ack = (item.status in OPEN_STATES and may_acknowledge(user.actor, item)
               and d.get("timeliness") in (Timeliness.OVERDUE, Timeliness.DUE_SOON))
    pending = pending_extension(s, item)
    tz, _ = _tz_settings(s)
    files = [file_view(f, item.id, lang, tz) for f in s.execute(
        select(EvidenceFile).where(EvidenceFile.work_item_id == item.id).order_by(EvidenceFile.id)).scalars()]
    for e in d["events"]:
        if e["actor"] in NON_PERSON_ACTORS and e["actor_name"] == e["actor"]:
            e["actor_name"] = tr(lang, NON_PERSON_ACTORS[e["actor"]])
        e["evidence"], e["files"] = split_evidence(e.get("evidence"), files)
    coordinating = item.task.coordinating_text
    from engine.documents import find_documents
    from engine.escalation import acknowledgements

    # the official documents given as evidence (engine.documents), newest first, each once
    documents: dict[str, Any] = {}
    for e in reversed(d.get("events") or []):
        for doc in find_documents(e.get("evidence")):
            documents.setdefault(doc.key, doc)
    # who does not do the work comments on it (no "percent done"): the chair, vice-chairs, the secretariat
    comment_only = Action.SUBMIT not in OFFERED.get(user.role, ())
    days_overdue = (today - item.deadline).days if d.get("timeliness") == Timeliness.OVERDUE and item.deadline else None
    return {"d": d, "item": item, "allowed": allowed, "can_ack": can_ack, "comment_only": comment_only,
            "days_overdue": days_overdue, "pending": pending, "acks": acknowledgements(s, item),
            "documents": list(documents.values()),
            "pending_by": person_name(s, pending.requested_by) if pending else None,
            "files": files, "coordinating": coordinating, "today": today,
            "max_mb": cfg(request).max_upload_bytes // (1024 * 1024)}


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: str) -> Response:
    with db(request).ro() as s:
        user = require_login(request, s, allow_link=True)
        try:
            item = get_item(s, user, item_id, lang=lang_of(request))
        except NotVisible:
            raise WebError(404, t(request, "not_found")) from None
        ctx = _detail_ctx(s, request, user, item)
    return render(request, "item.html", ctx)


async def _act(request: Request, item_id: str, action: str, params: dict[str, Any], *,
               upload: UploadFile | None = None, back: str | None = None) -> Response:
    """Run one action on one item and come back to the item page (or ``back``); the blocking
    part runs off the event loop (``Db.run_write``)."""
    return await db(request).run_write(lambda: _act_now(request, item_id, action, params, upload=upload, back=back))


def _act_now(request: Request, item_id: str, action: str, params: dict[str, Any], *,
             upload: UploadFile | None = None, back: str | None = None) -> Response:
    lang = lang_of(request)
    c = cfg(request)
    stored: Stored | None = None
    try:
        with db(request).tx() as s:
            user = require_login(request, s, allow_link=True)
            try:
                item = get_item(s, user, item_id, lang=lang, for_update=action == "note", for_action=True)
            except NotVisible:
                raise WebError(404, t(request, "not_found")) from None
            raw: dict[str, Any] = dict(params)
            if upload is not None and upload.filename:
                raw["evidence_file"] = Upload(upload.file, upload.filename, upload.content_type or None)
            outcome = act(s, user, item, action, raw, now=now(request), lang=lang, upload_dir=c.upload_dir,
                          max_upload_bytes=c.max_upload_bytes)
            stored = outcome.evidence_file
            done = outcome.web_message(lang)
        flash(request, "ok", done)
    except PermissionDenied as exc:
        _drop(stored)
        raise WebError(403, str(exc), reason="permission") from None
    except (Conflict, UserError) as exc:
        _drop(stored)
        flash(request, "error", str(exc))
    except BaseException:
        _drop(stored)
        raise
    return redirect(back or f"/items/{item_id}")


def _drop(stored: Stored | None) -> None:
    """Remove a stored evidence file when its transaction did not commit."""
    if stored is not None:
        stored.discard()


def _back(request: Request, value: str | None) -> str | None:
    return safe_next(value) if value else None


async def _read_form(request: Request) -> FormData:
    """The request's form, parsed once (``check_csrf`` reads the same cached copy)."""
    try:
        return await request.form()
    except StarletteHTTPException:
        raise  # 413 from the body limit
    except Exception as exc:
        raise StarletteHTTPException(400, "There was an error parsing the body") from exc


def _fields(form: FormData, names: tuple[str, ...], file: str | None = None) -> tuple[dict[str, str], UploadFile | None]:
    """The action forms' fields as ``name: str = Form("")`` and ``file: UploadFile | None =
    File(None)`` parameters gave them, without FastAPI solving one parameter per field on
    every request: a field missing, empty, or an empty file input is ""; a file where text is
    expected, or text where the file is expected, is a validation error (400)."""
    values: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for name in names:
        v = form.get(name)
        if v is None or v == "" or _empty_file(v):
            values[name] = ""
        elif isinstance(v, str):
            values[name] = v
        else:
            errors.append({"type": "string_type", "loc": ("body", name), "msg": "Input should be a valid string",
                           "input": v})
    upload: UploadFile | None = None
    if file is not None:
        v = form.get(file)
        if isinstance(v, StarletteUploadFile) and not _empty_file(v):
            upload = v  # type: ignore[assignment]
        elif v is not None and v != "" and not _empty_file(v):
            errors.append({"type": "value_error", "loc": ("body", file),
                           "msg": f"Value error, Expected UploadFile, received: {type(v)}", "input": v})
    if errors:
        raise RequestValidationError(errors)
    return values, upload


def _empty_file(value: Any) -> bool:
    # browsers send an empty file part (no name, no content) when no file is chosen
    return isinstance(value, StarletteUploadFile) and value.filename == "" and value.size == 0


async def _form_act(request: Request, item_id: str, action: str, names: tuple[str, ...], *,
                    file: str | None = None) -> Response:
    """An action form, checked in the order FastAPI's form parameters and the ``CSRF``
    dependency did: an unreadable body (400, or 413), the CSRF token (403), the fields (400);
    then ``_act`` (the field "back": where to return)."""
    form = await _read_form(request)
    try:
        await check_csrf(request)
        f, upload = _fields(form, (*names, "back"), file)
        back = _back(request, f.pop("back"))
        return await _act(request, item_id, action, f, upload=upload, back=back)
    finally:
        await form.close()  # uploaded files' temporary copies


@router.post("/items/{item_id}/start")
async def act_start(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "start", ("note", "version"))


@router.post("/items/{item_id}/submit")
async def act_submit(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "submit", ("evidence", "note", "version"), file="file")


@router.post("/items/{item_id}/note")
async def act_note(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "note", ("text", "percent", "evidence", "version"))


@router.post("/items/{item_id}/extension")
async def act_extension(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "request_extension", ("until", "reason", "version"))


@router.post("/items/{item_id}/block")
async def act_block(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "block", ("reason", "version"))


@router.post("/items/{item_id}/unblock")
async def act_unblock(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "unblock", ("note", "version"))


@router.post("/items/{item_id}/verify")
async def act_verify(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "verify", ("note", "version"))


@router.post("/items/{item_id}/reject")
async def act_reject(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "reject", ("reason", "version"))


@router.post("/items/{item_id}/extension/approve")
async def act_approve_ext(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "approve_extension", ("note", "version"))


@router.post("/items/{item_id}/extension/reject")
async def act_reject_ext(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "reject_extension", ("reason", "version"))


@router.post("/items/{item_id}/ack")
async def act_ack(request: Request, item_id: str) -> Response:
    return await _form_act(request, item_id, "ack", ("note",))


@router.get("/items/{item_id}/evidence/{file_id}")
def evidence_download(request: Request, item_id: str, file_id: int) -> Response:
    from fastapi.responses import FileResponse

    with db(request).ro() as s:
        user = require_login(request, s, allow_link=True)
        try:
            item = get_item(s, user, item_id, lang=lang_of(request))
        except NotVisible:
            raise WebError(404, t(request, "not_found")) from None
        f = s.get(EvidenceFile, file_id)
        if f is None or f.work_item_id != item.id:
            raise WebError(404, t(request, "not_found"))
        path = cfg(request).evidence_dir / f.stored_name
        name = f.original_name
    if not path.is_file():
        raise WebError(404, t(request, "not_found"))
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


# --- secretariat: review queue, plans, upload -------------------------------------------------------


@router.get("/review", response_class=HTMLResponse)
def review(request: Request) -> Response:

    with db(request).ro() as s:
        require_login(request, s, STAFF)
        subs = s.execute(select(WorkItem, Task, Unit).join(Task, Task.id == WorkItem.task_id)
                         .join(Unit, Unit.id == WorkItem.unit_id).where(WorkItem.status == Status.SUBMITTED)
                         .order_by(WorkItem.submitted_at, WorkItem.id).limit(500)).all()
        exts = s.execute(select(ExtensionRequest, WorkItem, Task, Unit)
                         .join(WorkItem, WorkItem.id == ExtensionRequest.work_item_id)
                         .join(Task, Task.id == WorkItem.task_id).join(Unit, Unit.id == WorkItem.unit_id)
                         .where(ExtensionRequest.status == ExtensionStatus.PENDING)
                         .order_by(ExtensionRequest.requested_at, ExtensionRequest.id).limit(500)).all()
        refs = item_refs(s, [w for w, *_ in subs] + [w for _, w, *_ in exts])
        from engine.models import Event

        evid: dict[int, str | None] = {}
        for w, *_ in subs:
            evid[w.id] = s.execute(select(Event.evidence).where(Event.work_item_id == w.id, Event.to_status == Status.SUBMITTED)
                                   .order_by(Event.id.desc()).limit(1)).scalar_one_or_none()
        names = dict(s.execute(select(Person.id, Person.name)).all())
        tz, _ = _tz_settings(s)
        lang = lang_of(request)
        files: dict[int, list[dict[str, Any]]] = {}
        if subs:
            for f in s.execute(select(EvidenceFile).where(EvidenceFile.work_item_id.in_([w.id for w, *_ in subs]))
                               .order_by(EvidenceFile.id)).scalars():
                files.setdefault(f.work_item_id, []).append(file_view(f, f.work_item_id, lang, tz))
        sub_rows = []
        for w, task, u in subs:
            text, named = split_evidence(evid.get(w.id), files.get(w.id, []))
            sub_rows.append({"id": w.id, "ref": refs[w.id], "title": task.title, "unit": u.code, "unit_name": u.name,
                             "deadline": w.deadline, "submitted": fmt_local(w.submitted_at, tz), "evidence": text,
                             "files": named or files.get(w.id, []), "version": w.version})
        ext_rows = [{"id": w.id, "ref": refs[w.id], "title": task.title, "unit": u.code, "deadline": w.deadline,
                     "until": r.until, "reason": r.reason, "by": names.get(r.requested_by, r.requested_by),
                     "version": w.version} for r, w, task, u in exts]
    return render(request, "review.html", {"subs": sub_rows, "exts": ext_rows})


@router.get("/plans", response_class=HTMLResponse)
def plans(request: Request) -> Response:
    from engine.queries import list_plans

    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        rows = list_plans(s)
    return render(request, "plans.html", {"plans": rows})


@router.get("/plans/upload", response_class=HTMLResponse)
def upload_form(request: Request) -> Response:
    with db(request).ro() as s:
        require_login(request, s, SECRETARIAT)
    return render(request, "upload.html", {"max_mb": cfg(request).max_upload_bytes // (1024 * 1024)})


def _day_shown(iso: str | None) -> str:
    from datetime import date as _date

    from engine.days import fmt_date

    return fmt_date(_date.fromisoformat(iso)) if iso else ""


def _render_preview(request: Request, token: str, meta: dict[str, Any], *, status: int = 200) -> Response:
    """Read the pending upload again, apply the stored choices, validate (read only) and show
    what loading it would create (engine.planfile.preview: the same as --dry-run --format json)."""
    from engine.planfile.identity import Choices
    from engine.planfile.isolated import read_plan_bytes_isolated
    from engine.planfile.loader import validate_in
    from engine.planfile.preview import build_preview
    from engine.planfile.spec import PlanFileError

    c = cfg(request)
    lang = lang_of(request)
    path = storage.pending_path(c.pending_dir, token, meta["suffix"])
    if path is None:
        raise WebError(400, t(request, "upload_expired"), reason="upload")
    choices = Choices.from_dict(meta.get("choices"))
    try:
        spec = read_plan_bytes_isolated(path.read_bytes(), meta["name"], lang=lang)  # time/memory budget, off the worker
        with db(request).ro() as s:
            vp = validate_in(s, spec, choices=choices, lang=lang)
            preview = build_preview(s, vp, lang=lang)
            units = sorted(((u.code, u.name) for u in current_directory_of(s).units.values()), key=lambda cu: cu[1])
    except (PlanFileError, UserError) as exc:
        return render(request, "preview.html", {"file": meta["name"], "read_error": str(exc), "vp": None,
                                                "token": token}, status=400)
    from engine.planfile.identity import MAPPABLE
    from engine.planfile.fingerprints import FINGERPRINT_KEYS

    logical = (*MAPPABLE, "vice_chair", "code", "depends_on", "issued_on", "document", "plan_code")
    labels = {"field": {f: tr(lang, f"field_{f}") for f in MAPPABLE},
              "column": {f: tr(lang, f"field_{f}") if f != "document" else tr(lang, "preview_document")
                         for f in logical},
              "diff": {k: tr(lang, f"diff_{k}") for k in FINGERPRINT_KEYS},
              "code_source": tr(lang, f"preview_code_source_{preview['code_source']}", code=vp.code)}
    return render(request, "preview.html", {"file": meta["name"], "vp": vp, "token": token, "p": preview,
                                            "labels": labels,
                                            "choices": choices, "errors": vp.errors, "warnings": vp.warnings,
                                            "new_units": list(vp.new_units.values()), "units": units,
                                            "day": _day_shown}, status=status)


def current_directory_of(s: Any) -> Any:
    from engine.directory_store import current_directory

    return current_directory(s)


def _pending(request: Request, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    uploads = dict(request.session.get("uploads") or {})
    meta = uploads.get(token)
    if meta is None:
        raise WebError(400, t(request, "upload_expired"), reason="upload")
    return uploads, meta


@router.post("/plans/upload", response_class=HTMLResponse, dependencies=CSRF)
def upload_preview(request: Request, file: UploadFile | None = File(None), code: str = Form("")) -> Response:
    c = cfg(request)
    lang = lang_of(request)
    with db(request).ro() as s:
        require_login(request, s, SECRETARIAT)
    if file is None or not file.filename:
        flash(request, "error", tr(lang, "upload_help"))
        return redirect("/plans/upload")
    original = storage.clean_name(file.filename)
    try:
        token, path, _size = storage.save_pending_plan(file.file, original, c.pending_dir,
                                                       max_bytes=c.max_upload_bytes, now_ts=now(request).timestamp())
    except storage.TooLarge:
        flash(request, "error", t(request, "too_large", mb=c.max_upload_bytes // (1024 * 1024)))
        return redirect("/plans/upload")
    return preview_pending(request, token, path, original, code, scan_ok=True)


def preview_pending(request: Request, token: str, path: Any, original: str, code: str, *,
                    scan_ok: bool = False) -> Response:
    """The preview of a saved pending plan file (an upload, or the grid corrected after OCR,
    web/ocr_review.py); ``scan_ok``: a scan goes to the OCR correction grid when OCR is installed."""
    meta = {"name": original, "suffix": path.suffix, "choices": {"code": code.strip() or None}}
    response = _render_preview(request, token, meta)
    if response.status_code != 200:
        if scan_ok:
            from web.ocr_review import review_scan

            grid = review_scan(request, path, original, code)
            if grid is not None:
                return grid
        path.unlink(missing_ok=True)
        return response
    storage.remember_pending(request.session, "uploads", token, meta)
    return response


@router.post("/plans/upload/revise", response_class=HTMLResponse, dependencies=CSRF)
async def upload_revise(request: Request) -> Response:
    """The preview's choices: plan code, title, issuing document and date, the status date, a
    field for each column the reader could not place, a lead for a task whose lead names nobody.
    The form is read here; the rest (database, the file read in its child process) runs in the
    thread pool, off the event loop."""
    from starlette.concurrency import run_in_threadpool

    form = await _read_form(request)
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return await run_in_threadpool(_revise_now, request, fields)


def _revise_now(request: Request, fields: list[tuple[str, str]]) -> Response:
    from engine.days import parse_day
    from engine.planfile.identity import MAPPABLE, Choices

    lang = lang_of(request)
    with db(request).ro() as s:
        require_login(request, s, SECRETARIAT)
    form = dict(fields)
    token = form.get("token", "")
    uploads, meta = _pending(request, token)
    old = Choices.from_dict(meta.get("choices"))

    def text(name: str) -> str | None:
        return (form.get(name) or "").strip()[:500] or None

    try:
        issued = text("issued_on")
        status_day = text("status_date")
        choices = Choices(code=(text("code") or "")[:64] or None, title=text("title"), document=text("document"),
                          issued_on=parse_day(issued, lang=lang) if issued else None,
                          status_date=parse_day(status_day, lang=lang) if status_day else None,
                          column_map=dict(old.column_map), leads=dict(old.leads))
    except UserError as exc:
        flash(request, "error", str(exc))
        return _render_preview(request, token, meta, status=400)
    for key, value in fields:
        if key.startswith("map:") and value in MAPPABLE:
            choices.column_map[key[4:]] = value
        elif key.startswith("lead:") and value.strip():
            choices.leads[key[5:][:64]] = value.strip()[:64]
    meta = dict(meta, choices=choices.as_dict())
    uploads[token] = meta
    request.session["uploads"] = uploads
    return _render_preview(request, token, meta)


@router.post("/plans/upload/cancel", dependencies=CSRF)
def upload_cancel(request: Request, token: str = Form("")) -> Response:
    c = cfg(request)
    with db(request).ro() as s:
        require_login(request, s, SECRETARIAT)
    storage.forget_pending(request.session, "uploads", c.pending_dir, token)
    flash(request, "ok", t(request, "upload_cancelled"))
    return redirect("/plans/upload")


@router.post("/plans/upload/commit", dependencies=CSRF)
def upload_commit(request: Request, token: str = Form("")) -> Response:
    from engine.planfile.identity import Choices
    from engine.planfile.isolated import read_plan_bytes_isolated
    from engine.planfile.loader import load_plan_spec
    from engine.planfile.spec import PlanFileError
    from engine.planfile.validate import PlanValidationError

    c = cfg(request)
    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, SECRETARIAT)
    found = storage.find_pending(request.session, "uploads", c.pending_dir, token)
    if found is None:
        raise WebError(400, t(request, "upload_expired"), reason="upload")
    meta, path = found
    try:
        spec = read_plan_bytes_isolated(path.read_bytes(), meta["name"], lang=lang)
        r = load_plan_spec(db(request).write, spec, now=now(request), actor=user.person_id, lang=lang,
                           choices=Choices.from_dict(meta.get("choices")))
    except (PlanFileError, PlanValidationError, UserError) as exc:
        flash(request, "error", str(exc))
        return redirect("/plans/upload")
    storage.forget_pending(request.session, "uploads", c.pending_dir, token)
    added = r.tasks if r.created else len(r.added)
    flash(request, "ok", t(request, "plan_loaded", code=r.plan_code, rev=r.revision or 1, added=added,
                           changed=len(r.changed), cancelled=len(r.cancelled)))
    return redirect("/plans")


# --- chair: heat map, overdue, reports --------------------------------------------------------------


@router.get("/heatmap", response_class=HTMLResponse)
def heatmap_page(request: Request, plan: str = "", rule: str = "", section: str = "", milestone: str = "") -> Response:
    from web.heatmap import heatmap

    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        try:
            hm = heatmap(s, now=now(request), plan_code=plan or None, lang=lang_of(request),
                         db_key=cfg(request).database_url, rule=rule or None, section=section or None,
                         milestone=milestone or None)
        except UserError as exc:  # no such plan: 404; an unknown rule or section, a bad milestone: 400
            raise WebError(404 if isinstance(exc, NotFound) else 400, str(exc)) from None
    return render(request, "heatmap.html", {"hm": hm})


OVERDUE_PAGE = 20  # rows per page of the overdue list (long task titles: 20 rows is a few screens)


def _overdue_levels(s: Session, request: Request) -> tuple[list[dict[str, Any]], Any]:
    """The committee-wide policy's overdue levels as filter choices: [{name, label, range}] with
    ``range`` the deadlines (earliest or None, latest) in the level's window today; and a
    function naming the level of a deadline. Plans with their own policy override are shown
    by the committee's windows (the list is a view, the escalation run applies the overrides)."""
    from engine.escalation import context, overdue_range

    lang = lang_of(request)
    ctx = context(s, now=now(request), lang=lang)
    out = []
    for lv, low, high in ctx.policy.windows():
        if lv.kind != "overdue":
            continue
        if high is None:
            window = tr(lang, "pg.level_from", low=max(low, 1))
        elif low <= 0:
            window = tr(lang, "pg.level_below", days=high + 1)
        else:
            window = tr(lang, "pg.level_between", low=low, high=high)
        to = ", ".join(tr(lang, f"pg.to_{r}") for r in lv.to)
        out.append({"name": lv.name, "label": tr(lang, "pg.level_to", window=window, to=to) if to else window,
                    "short": tr(lang, "pg.level_short", to=to) if to else window,
                    "range": overdue_range(ctx.today, low, high, ctx.calendar)})

    def level_of(deadline: Any) -> str | None:
        lv = ctx.policy.current_level(deadline, ctx.today, ctx.calendar)
        return lv.name if lv is not None and lv.kind == "overdue" else None

    return out, level_of


@router.get("/overdue", response_class=HTMLResponse)
def overdue(request: Request, plan: str = "", unit: str = "", level: str = "", ack: str = "", page: int = 0) -> Response:
    from engine.models import EscalationAck, Plan

    with db(request).ro() as s:
        user = require_login(request, s, OVERSIGHT)
        today = _today(s, request)
        levels, level_of = _overdue_levels(s, request)
        chosen = next((lv for lv in levels if lv["name"] == level), None)
        if chosen is not None and chosen["range"] is None:
            rows, total = [], 0  # no deadline falls in that window today
        else:
            rows, total = item_rows(s, user, today=today, status="open", unit=unit or None, plan=plan or None, q=None,
                                     page=max(page, 0), overdue_only=True, page_size=OVERDUE_PAGE,
                                     level=chosen["range"] if chosen else None,
                                     acknowledged={"yes": True, "no": False}.get(ack))
        ids = [r["id"] for r in rows]
        acked: set[int] = set()
        if ids:
            acked = set(s.execute(select(WorkItem.id).join(EscalationAck, EscalationAck.work_item_id == WorkItem.id)
                                  .where(WorkItem.id.in_(ids), EscalationAck.deadline == WorkItem.deadline)).scalars())
        labels = {lv["name"]: lv["short"] for lv in levels}
        for r in rows:
            r["level"] = labels.get(level_of(r["deadline"]) or "", None)
            r["acked"] = r["id"] in acked
        plans = s.execute(select(Plan.code).order_by(Plan.code)).scalars().all()
    pages = (total + OVERDUE_PAGE - 1) // OVERDUE_PAGE
    f = {"plan": plan, "unit": unit, "level": level if chosen else "", "ack": ack if ack in ("yes", "no") else ""}
    return render(request, "overdue.html", {
        "rows": rows, "total": total, "page": max(page, 0), "pages": pages, "f": f, "levels": levels, "plans": plans,
        "first": max(page, 0) * OVERDUE_PAGE + 1, "last": max(page, 0) * OVERDUE_PAGE + len(rows),
        "base_q": urlencode({k: v for k, v in f.items() if v}), "filtered": any(f.values()),
    })


REPORT_KINDS = ("monthly", "quarterly", "semiannual", "annual")
REPORT_FORMATS = ("docx", "xlsx", "html", "md", "json")
PERIOD_CHOICES = {"monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 2}  # latest periods offered


def _report_name(kind: str, period: str, lang: str, *, rollup: bool = False) -> str:
    """"Báo cáo tháng 7/2025", "Báo cáo quý II/2025" for a stored report's kind and period key; a
    stored roll-up: "Báo cáo tổng hợp các đơn vị cấp dưới tháng 7/2025"."""
    from engine.reporting import parse_period, period_label

    try:
        label = period_label(parse_period(period, kind=kind, lang=lang), lang)
    except UserError:
        label = period
    return tr(lang, "rollup.report_title" if rollup else "pg.report_name", **({"label": label} if rollup else
                                                                               {"period": label}))


def _period_choices(today: Any, lang: str) -> list[dict[str, Any]]:
    """[{kind, label, periods: [(key, label)]}]: the latest periods of each kind that have begun."""
    from engine.reporting import kind_label, period_for, period_label, previous_period

    out = []
    for kind in REPORT_KINDS:
        p = period_for(kind, today)
        periods = []
        for _ in range(PERIOD_CHOICES[kind]):
            periods.append((p.key, period_label(p, lang)))
            p = previous_period(p)
        out.append({"kind": kind, "label": kind_label(kind, lang), "periods": periods})
    return out


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request) -> Response:
    from engine.models import Plan
    from engine.reporting import kind_label
    from engine.snapshots import list_snapshots

    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, OVERSIGHT)
        rows = list_snapshots(s, limit=100)
        plans = s.execute(select(Plan.code, Plan.title).order_by(Plan.code)).all() if user.role in SECRETARIAT else []
        today = _today(s, request)
    for r in rows:
        r["name"] = _report_name(r["kind"], r["period"], lang, rollup=r["type"] == "rollup")
    form = None
    if plans:
        form = {"plans": plans, "kinds": [(k, kind_label(k, lang)) for k in REPORT_KINDS],
                "periods": _period_choices(today, lang), "formats": REPORT_FORMATS}
    return render(request, "reports.html", {"reports": rows, "form": form})


@router.post("/reports", dependencies=CSRF)
def report_create(request: Request, plan: str = Form(""), kind: str = Form("monthly"), period: str = Form(""),
                  format: str = Form("docx")) -> Response:
    """Create a report from the web: ``engine.snapshots.generate_report``, the function behind
    ``steer report monthly|quarterly|…`` (stored, as the CLI stores it), then its view."""
    from engine.reporting import report_title
    from engine.snapshots import generate_report

    lang = lang_of(request)
    with db(request).ro() as s:
        user = require_login(request, s, SECRETARIAT)
    fmt = format if format in REPORT_FORMATS else "docx"
    try:
        if period.strip():  # a period names its kind ("2025-Q2"): it wins, as in the JSON API
            from engine.reporting import parse_period

            kind = parse_period(period.strip(), lang=lang).kind
        with db(request).tx() as s:
            data, report_id = generate_report(s, now=now(request), store=True, created_by=user.person_id,
                                              plan_code=plan.strip() or None, kind=kind.strip() or "monthly",
                                              period=period.strip() or None, lang=lang)
    except UserError as exc:
        flash(request, "error", str(exc))
        return redirect("/reports")
    flash(request, "ok", t(request, "pg.report_created", id=report_id, title=report_title(data)))
    return redirect(f"/reports/{report_id}?fmt={fmt}")


def _snapshot(request: Request, report_id: int) -> dict[str, Any]:
    from engine.models import ReportSnapshot
    from engine.snapshots import snapshot_data

    with db(request).ro() as s:
        require_login(request, s, OVERSIGHT)
        if s.get(ReportSnapshot, report_id) is None:
            raise WebError(404, t(request, "not_found"))
        try:
            return snapshot_data(s, report_id, lang=lang_of(request))
        except UserError as exc:
            raise WebError(409, str(exc)) from None


@router.get("/reports/{report_id}/download/{fmt}")
def report_download(request: Request, report_id: int, fmt: str) -> Response:
    from engine.reporting import report_title
    from engine.render import EXTENSIONS, FORMATS, MIME
    from engine.render import render as render_report

    if fmt not in FORMATS:
        raise WebError(404, t(request, "not_found"))
    data = _snapshot(request, report_id)
    body = render_report(data, fmt)
    name = f"{report_title(data)}{EXTENSIONS[fmt]}"
    ascii_name = f"report-{report_id}{EXTENSIONS[fmt]}"
    return Response(body, media_type=MIME[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})


# --- account: API token, calendar link -------------------------------------------------------------


@router.get("/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    with db(request).ro() as s:
        user = require_login(request, s)
        units = []
        if user.role == Role.SECRETARIAT:
            units = s.execute(select(Unit.code, Unit.name).where(Unit.is_group.is_(False), Unit.active.is_(True))
                              .order_by(Unit.code)).all()
    shown = request.session.pop("shown", None)
    return render(request, "account.html", {"units": units, "shown": shown})


@router.post("/account/token", dependencies=CSRF)
def account_token(request: Request) -> Response:
    from engine.accounts import issue_api_token

    with db(request).tx() as s:
        user = require_login(request, s)
        tok = issue_api_token(s, user.person_id, now=now(request), label="web", lang=lang_of(request))
    request.session["shown"] = {"kind": "token", "value": tok}
    return redirect("/account")


@router.post("/account/ical", dependencies=CSRF)
def account_ical(request: Request, unit: str = Form("")) -> Response:
    from engine.accounts import issue_ical_secret

    with db(request).tx() as s:
        user = require_login(request, s)
        if user.role == Role.FOCAL_POINT:
            code = user.unit_code
        elif user.role == Role.SECRETARIAT:
            code = unit.strip()
        else:
            raise WebError(403, t(request, "forbidden"), reason="role")
        if not code:
            raise WebError(400, t(request, "not_found"))
        try:
            secret = issue_ical_secret(s, code, now=now(request), by=user.person_id, lang=lang_of(request))
        except UserError as exc:
            raise WebError(400, str(exc)) from None
    base = (cfg(request).base_url or str(request.base_url)).rstrip("/")
    request.session["shown"] = {"kind": "ical", "value": f"{base}/ical/{quote(code)}/{secret}.ics"}
    return redirect("/account")


# --- one-click links --------------------------------------------------------------------------------


def _read_link(request: Request, token: str):  # -> LinkClaims
    from engine.links import LinkExpired, LinkInvalid, read_token

    try:
        return read_token(cfg(request).secret_key, token, now=now(request))
    except LinkExpired:
        raise WebError(410, t(request, "link_expired"), reason="expired") from None
    except LinkInvalid:
        raise WebError(400, t(request, "link_invalid"), reason="invalid") from None


def _link_actor(s: Session, claims) -> str | None:  # type: ignore[no-untyped-def]
    """The person a link acts as: its named recipient, else the unit's focal point (active,
    with no disabled login: engine.accounts.link_actor_id)."""
    return link_actor_id(s, claims.unit_code, claims.recipient)


def _link_item(s: Session, request: Request, claims) -> tuple[WorkItem, str]:  # type: ignore[no-untyped-def]
    item = s.get(WorkItem, claims.item_id)
    actor_id = _link_actor(s, claims)
    if item is None or item.unit.code != claims.unit_code or actor_id is None:
        raise WebError(400, t(request, "link_invalid"), reason="invalid")
    return item, actor_id


@router.get("/l/{token}", response_class=HTMLResponse)
def link_open(request: Request, token: str) -> Response:
    claims = _read_link(request, token)
    with db(request).ro() as s:
        item, actor_id = _link_item(s, request, claims)
        if claims.purpose == "open":
            request.session["link"] = {"i": item.id, "u": claims.unit_code, "a": actor_id, "e": claims.expires}
            return redirect(f"/items/{item.id}")
        ref = item_ref(item, s)
        title = item.task.title
    return render(request, "link_ack.html", {"token": token, "ref": ref, "title": title})


@router.post("/l/{token}", dependencies=CSRF)
def link_ack(request: Request, token: str, note: str = Form("")) -> Response:
    from engine.actors import load_actor
    from engine.commands import Acknowledge, perform

    claims = _read_link(request, token)
    if claims.purpose != "ack":
        raise WebError(400, t(request, "link_invalid"), reason="invalid")
    lang = lang_of(request)
    try:
        with db(request).tx() as s:
            item, actor_id = _link_item(s, request, claims)
            actor = load_actor(s, actor_id, lang=lang)
            outcome = perform(s, actor, item, Acknowledge(note=note or None), now=now(request), lang=lang)
            item_id = item.id
        msg, kind = outcome.web_message(lang), "ok"
    except PermissionDenied as exc:
        raise WebError(403, str(exc), reason="permission") from None
    except UserError as exc:
        msg, kind, item_id = str(exc), "error", claims.item_id
    return render(request, "link_done.html", {"message": msg, "kind": kind, "item_id": item_id})


# --- iCalendar feed ---------------------------------------------------------------------------------


@router.get("/ical/{unit_code}/{secret}.ics")
def ical_feed(request: Request, unit_code: str, secret: str) -> Response:
    from engine.accounts import unit_for_ical
    from web.ical import unit_calendar

    with db(request).ro() as s:
        unit = unit_for_ical(s, unit_code, secret)
        if unit is None:
            return PlainTextResponse("Not found", status_code=404)
        body = unit_calendar(s, unit, now=now(request), base_url=cfg(request).base_url or str(request.base_url),
                             lang=lang_of(request))
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f"inline; filename=\"steer-{unit.code}.ics\""})


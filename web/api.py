"""JSON API for provincial systems: ``/api/v1`` with bearer tokens (no cookies, no CSRF).

Every action is the same engine call as the CLI and the pages (``engine.commands.perform``).
Errors: ``{"error": message}`` with 400 (bad input), 401 (no or bad token), 403 (not
allowed), 404 (unknown, or not visible to the caller), 409 (version conflict).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from engine.heatrules import RULE_NAMES
from engine.permissions import allowed_actions
from engine.refs import item_ref
from engine.states import Role
from engine.txcache import committee_settings
from engine.errors import Conflict, NotFound, PermissionDenied, UserError
from engine.evidence import Stored, Upload
from engine.i18n import tr
from engine.models import WorkItem
from web.actions import NotVisible, StateConflict, act, get_item
from web.core import User, WebError, cfg, db, lang_of, now
from web.listing import item_rows

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="API token from `steer user token USER`.")


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input (message says what)"},
    401: {"model": ErrorOut, "description": "Missing or invalid bearer token"},
    403: {"model": ErrorOut, "description": "Not allowed for this user"},
    404: {"model": ErrorOut, "description": "Unknown item, or not visible to this user"},
    409: {"model": ErrorOut, "description": "The item changed since the given version, or its current state "
                                            "does not allow the action (e.g. verifying an item not submitted)"},
}

router = APIRouter(prefix="/api/v1", tags=["api"], responses={k: ERRORS[k] for k in (400, 401)})


# --- models ----------------------------------------------------------------------------------------


class Me(BaseModel):
    id: str
    name: str
    role: str
    unit: str | None


class Item(BaseModel):
    id: int
    ref: str
    plan: str
    task: str
    title: str
    unit: str
    unit_name: str
    occurrence: str | None = None
    deadline: date | None = None
    status: str
    version: int
    completion: str | None = None
    timeliness: str | None = None


class Event(BaseModel):
    id: int
    at: str
    actor: str
    kind: str
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    evidence: str | None = None
    percent: float | None = None
    deadline_before: str | None = None
    deadline_after: str | None = None


class ItemDetail(Item):
    deliverable: str = ""
    original_deadline: date | None = None
    allowed_actions: list[str] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)


class ItemList(BaseModel):
    items: list[Item]
    total: int


TEXT = r"\S"  # at least one non-space character


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20000, pattern=TEXT)
    percent: float | None = Field(default=None, ge=0, le=100)
    evidence: str | None = Field(default=None, max_length=5000)
    version: int | None = None


class StartIn(BaseModel):
    note: str | None = Field(default=None, max_length=20000)
    version: int | None = None


class SubmitIn(BaseModel):
    evidence: str = Field(min_length=1, max_length=5000, pattern=TEXT)
    note: str | None = Field(default=None, max_length=20000)
    version: int | None = None


class ExtensionIn(BaseModel):
    until: str = Field(description="New deadline, YYYY-MM-DD or dd/mm/yyyy (after today)", max_length=10,
                       pattern=r"^(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})$")
    reason: str = Field(min_length=1, max_length=20000, pattern=TEXT)
    version: int | None = None


class NoteVersionIn(BaseModel):
    note: str | None = Field(default=None, max_length=20000)
    version: int | None = None


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=20000, pattern=TEXT)
    version: int | None = None


class AckIn(BaseModel):
    note: str | None = Field(default=None, max_length=20000)


class AckOut(BaseModel):
    work_item_id: int
    level: str
    recipients: list[str]
    already: bool = False  # acknowledged before: nothing recorded (``acked_at`` says when)
    acked_at: str | None = None
    acked_by: str | None = None
    message: str = ""


class HeatUnit(BaseModel):
    code: str
    name: str
    status: str
    counts: dict[str, Any]
    reason: str | None = None  # why, in words ("3/4 việc đến hạn đã xong; 1 quá hạn: NV 42 (62 ngày)")
    due_tally: dict[str, Any] | None = None  # the items due by the milestone (engine.heatrules)


class Heatmap(BaseModel):
    plan: str | None
    period: str | None
    as_of: str | None
    rule: str | None = None  # share_due (default) or any_overdue
    legend: str | None = None  # the rule in words
    units: list[HeatUnit]


# --- plumbing --------------------------------------------------------------------------------------


def _user(request: Request, s: Session, creds: HTTPAuthorizationCredentials | None, *, touch: bool) -> User:
    from engine.accounts import actor_for_token

    token = creds.credentials if creds is not None and creds.scheme.lower() == "bearer" else None
    actor = actor_for_token(s, token or "", now=now(request), touch=touch) if token else None
    user = User.of(actor) if actor is not None else None
    if user is None:
        raise WebError(401, tr(lang_of(request), "api_bad_token"), headers={"WWW-Authenticate": "Bearer"})
    return user


def _call(request: Request, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except NotVisible:
        raise WebError(404, tr(lang_of(request), "api_not_found")) from None
    except (Conflict, StateConflict) as exc:
        raise WebError(409, str(exc)) from None
    except PermissionDenied as exc:
        raise WebError(403, str(exc)) from None
    except UserError as exc:
        raise WebError(400, str(exc)) from None


def _item_out(s: Session, w: WorkItem, today: date) -> dict[str, Any]:
    from engine.models import Plan
    from engine.timeliness import classify

    tz, settings = committee_settings(s)
    task = w.task
    return {
        "id": w.id, "ref": item_ref(w, s), "plan": s.get(Plan, task.plan_id).code, "task": task.code,
        "title": task.title, "unit": w.unit.code, "unit_name": w.unit.name, "occurrence": w.occurrence or None,
        "deadline": w.deadline, "status": w.status, "version": w.version, "completion": w.completion,
        "timeliness": classify(w.status, w.deadline, w.completed_at, today, deadline_kind=task.deadline_kind,
                               due_soon_days=int(settings.get("due_soon_days", 7)), tz=tz),
    }


def _today(s: Session, request: Request) -> date:
    from engine.reporting import committee_today

    return committee_today(s, now(request))


async def _action(request: Request, creds: HTTPAuthorizationCredentials | None, ref: str, action: str,
                  params: dict[str, Any]) -> dict[str, Any]:
    """One action, its blocking part off the event loop (``Db.run_write``; the response is then
    serialised on the loop, not in a second trip to a worker thread)."""
    lang = lang_of(request)
    c = cfg(request)

    def run() -> dict[str, Any]:
        stored: Stored | None = None
        try:
            with db(request).tx() as s:
                user = _user(request, s, creds, touch=True)
                item = get_item(s, user, ref, lang=lang, for_update=action == "note", for_action=True)
                outcome = act(s, user, item, action, params, now=now(request), lang=lang, upload_dir=c.upload_dir,
                              max_upload_bytes=c.max_upload_bytes)
                stored = outcome.evidence_file
                return _item_out(s, item, _today(s, request))
        except BaseException:
            if stored is not None:
                stored.discard()  # the transaction did not commit
            raise

    return await db(request).run_write(lambda: _call(request, run))


Creds = Depends(bearer)
ACT_RESPONSES = {k: ERRORS[k] for k in (403, 404, 409)}


# --- routes ----------------------------------------------------------------------------------------


@router.get("/me", response_model=Me)
def me(request: Request, creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    with db(request).ro() as s:
        u = _user(request, s, creds, touch=False)
        return {"id": u.person_id, "name": u.name, "role": u.role, "unit": u.unit_code}


@router.get("/items", response_model=ItemList)
def list_items(request: Request, creds: HTTPAuthorizationCredentials | None = Creds,
               status: str | None = Query(None, description="an item status, or 'open'", max_length=32),
               unit: str | None = Query(None, max_length=64), plan: str | None = Query(None, max_length=64),
               due_within: int | None = Query(None, ge=0, le=3650, description="open items due within N days"),
               limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)) -> dict[str, Any]:
    with db(request).ro() as s:
        user = _user(request, s, creds, touch=False)
        today = _today(s, request)
        rows, total = item_rows(s, user, today=today, status=status, unit=unit, plan=plan, q=None, page=0,
                                page_size=limit, offset=offset, due_within=due_within)
    for r in rows:
        r.pop("days_overdue", None)
    return {"items": rows, "total": total}


@router.get("/items/{ref:path}", response_model=ItemDetail, responses={404: ERRORS[404]})
def get_one(request: Request, ref: str, creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    from engine.queries import event_log

    lang = lang_of(request)

    def run() -> dict[str, Any]:
        with db(request).ro() as s:
            user = _user(request, s, creds, touch=False)
            w = get_item(s, user, ref, lang=lang)
            out = _item_out(s, w, _today(s, request))
            out["deliverable"] = w.task.deliverable or ""
            out["original_deadline"] = w.original_deadline
            out["allowed_actions"] = allowed_actions(w, user.actor)
            out["events"] = [{k: e[k] for k in Event.model_fields} for e in event_log(s, item_id=w.id, limit=None)]
            return out

    return _call(request, run)


@router.post("/items/{ref:path}/start", response_model=Item, responses=ACT_RESPONSES)
async def start(request: Request, ref: str, body: StartIn | None = None,
                creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    b = body or StartIn()
    return await _action(request, creds, ref, "start", {"note": b.note, "version": b.version})


@router.post("/items/{ref:path}/submit", response_model=Item, responses=ACT_RESPONSES)
async def submit(request: Request, ref: str, body: SubmitIn, creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    return await _action(request, creds, ref, "submit", {"evidence": body.evidence, "note": body.note, "version": body.version})


@router.post("/items/{ref:path}/submit/file", response_model=Item, responses=ACT_RESPONSES)
async def submit_file(request: Request, ref: str,
                      file: UploadFile = File(description="The evidence file (kept under a random name; its name, "
                                                          "size and sha256 are recorded)"),
                      evidence: str = Form("", max_length=5000, description="Evidence text besides the file"),
                      note: str | None = Form(None, max_length=20000),
                      version: int | None = Form(None),
                      creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    """Submit with an evidence file (multipart/form-data), as the web's submit form does: the
    file is listed on the item page and named in the event's evidence."""
    upload = Upload(file.file, file.filename, file.content_type or None)
    return await _action(request, creds, ref, "submit", {"evidence": evidence, "note": note, "version": version,
                                                         "evidence_file": upload})


@router.post("/items/{ref:path}/notes", response_model=Item, status_code=201, responses=ACT_RESPONSES)
async def notes(request: Request, ref: str, body: NoteIn, creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    return await _action(request, creds, ref, "note", {"text": body.text, "percent": body.percent,
                                                       "evidence": body.evidence, "version": body.version})


@router.post("/items/{ref:path}/extension/approve", response_model=Item, responses=ACT_RESPONSES)
async def approve_extension(request: Request, ref: str, body: NoteVersionIn | None = None,
                            creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    b = body or NoteVersionIn()
    return await _action(request, creds, ref, "approve_extension", {"note": b.note, "version": b.version})


@router.post("/items/{ref:path}/extension/reject", response_model=Item, responses=ACT_RESPONSES)
async def reject_extension(request: Request, ref: str, body: ReasonIn,
                           creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    return await _action(request, creds, ref, "reject_extension", {"reason": body.reason, "version": body.version})


@router.post("/items/{ref:path}/extension", response_model=Item, responses=ACT_RESPONSES)
async def extension(request: Request, ref: str, body: ExtensionIn,
                    creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    return await _action(request, creds, ref, "request_extension",
                         {"until": body.until, "reason": body.reason, "version": body.version})


@router.post("/items/{ref:path}/verify", response_model=Item, responses=ACT_RESPONSES)
async def verify(request: Request, ref: str, body: NoteVersionIn | None = None,
                 creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    b = body or NoteVersionIn()
    return await _action(request, creds, ref, "verify", {"note": b.note, "version": b.version})


@router.post("/items/{ref:path}/reject", response_model=Item, responses=ACT_RESPONSES)
async def reject(request: Request, ref: str, body: ReasonIn, creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    return await _action(request, creds, ref, "reject", {"reason": body.reason, "version": body.version})


@router.post("/items/{ref:path}/ack", response_model=AckOut, responses=ACT_RESPONSES)
def ack(request: Request, ref: str, body: AckIn | None = None,
        creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    lang = lang_of(request)
    b = body or AckIn()

    def run() -> dict[str, Any]:
        with db(request).tx() as s:
            user = _user(request, s, creds, touch=True)
            item = get_item(s, user, ref, lang=lang, for_action=True)
            out = act(s, user, item, "ack", {"note": b.note}, now=now(request), lang=lang)
            r = out.ack
            assert r is not None
            return {"work_item_id": r.work_item_id, "level": r.level, "recipients": r.recipients, "already": r.already,
                    "acked_at": r.acked_at.isoformat() if r.acked_at else None, "acked_by": r.acked_by,
                    "message": out.message(lang)}

    return _call(request, run)


# the colour rules a heat map may be asked for (engine.heatrules): in the schema, so a client
# sees them and a wrong one is refused as any invalid query is
HeatRule = Enum("HeatRule", {name: name for name in RULE_NAMES}, type=str)  # type: ignore[misc]


def _oversight(request: Request, user: User) -> None:
    if user.role == Role.FOCAL_POINT:
        raise WebError(403, tr(lang_of(request), "api_focal_own_unit"))


@router.get("/heatmap", response_model=Heatmap, responses={400: ERRORS[400], 403: ERRORS[403], 404: ERRORS[404]})
def heatmap(request: Request, plan: str | None = Query(None, max_length=64),
            rule: HeatRule | None = Query(None, description="share_due (default) or any_overdue"),
            creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    from web.heatmap import heatmap as build

    def run() -> dict[str, Any]:
        with db(request).ro() as s:
            user = _user(request, s, creds, touch=False)
            _oversight(request, user)
            try:
                hm = build(s, now=now(request), plan_code=plan, lang=lang_of(request),
                           db_key=request.app.state.cfg.database_url, rule=rule.value if rule else None)
            except UserError as exc:  # no such plan: 404; an unknown rule: 400
                raise WebError(404 if isinstance(exc, NotFound) else 400, str(exc)) from None
        if hm is None:
            return {"plan": None, "period": None, "as_of": None, "units": []}
        return {"plan": hm["plan"], "period": hm["period"], "as_of": hm["as_of"], "rule": hm["rule"],
                "legend": hm["legend"], "units": hm["units"]}

    return _call(request, run)


PERIOD = r"^20\d{2}(-(0[1-9]|1[0-2])|-Q[1-4]|-H[12])?$"


def _kind_of(period: str) -> str:
    if "-Q" in period:
        return "quarterly"
    if "-H" in period:
        return "semiannual"
    return "monthly" if "-" in period else "annual"


@router.get("/reports/summary", responses={403: ERRORS[403], 404: ERRORS[404]})
def report_summary(request: Request, plan: str | None = Query(None, max_length=64),
                   kind: Literal["monthly", "quarterly", "semiannual", "annual"] = Query("monthly"),
                   period: str | None = Query(None, pattern=PERIOD,
                                              description="2025-05, 2025-Q2, 2025-H1 or 2025 (its kind wins over `kind`)"),
                   creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    """The report summary for a period (default: the current one of ``kind``), computed now, not stored."""
    from engine.reporting import build_report, parse_period
    from web.heatmap import top_plans

    lang = lang_of(request)

    def run() -> dict[str, Any]:
        with db(request).ro() as s:
            user = _user(request, s, creds, touch=False)
            _oversight(request, user)
            codes = [p.code for p in top_plans(s)]
            code = plan or (codes[0] if codes else None)
            if code is None or (plan and not _plan_exists(s, plan)):
                raise NotVisible()
            today = _today(s, request)
            k = _kind_of(period) if period else kind
            if period and parse_period(period, kind=k, lang=lang).start > today:
                raise WebError(404, tr(lang, "api_period_not_started"))
            data = build_report(s, plan_code=code, kind=k, period=period, as_of=today, lang=lang)
        return {"plan": data["plan"], "period": data["period"], "as_of": data.get("as_of"),
                "summary": data.get("summary"),
                "units": [{"code": u["unit"], "name": u["name"], "status": u["status"], "counts": u["counts"]}
                          for u in data.get("units", [])]}

    return _call(request, run)


def _plan_exists(s: Session, code: str) -> bool:
    from sqlalchemy import select

    from engine.models import Plan

    return s.execute(select(Plan.id).where(Plan.code == code)).first() is not None


# --- roll-up across levels (engine.rollup; the pages are web/rollup.py) ----------------------------


@router.get("/rollup", responses={400: ERRORS[400], 403: ERRORS[403]})
def rollup(request: Request, period: str | None = Query(None, pattern=PERIOD,
                                                        description="2025-05, 2025-Q2, 2025-H1 or 2025"),
           rule: Literal["share_due", "any_overdue"] | None = Query(None, description="share_due (default) or any_overdue"),
           creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    """The roll-up of the child units for a period (``steer.rollup/1``, docs/rollup-snapshot.md):
    per unit colour with this level's rules, reason, share done, overdue, last snapshot; grey = not reported."""
    from engine.reporting import committee_today
    from engine.rollup import build_rollup, load_rollup_rules

    def run() -> dict[str, Any]:
        with db(request).ro() as s:
            user = _user(request, s, creds, touch=False)
            _oversight(request, user)
            k = _kind_of(period) if period else "monthly"

            rules = load_rollup_rules(s, None, rule, lang_of(request))
            return build_rollup(s, today=committee_today(s, now(request)), kind=k, period=period, rules=rules,
                                lang=lang_of(request))

    return _call(request, run)


@router.post("/rollup/import", status_code=201, responses={400: ERRORS[400], 403: ERRORS[403]})
def rollup_import(request: Request,
                  files: list[UploadFile] = File(description="Signed snapshot files (steer report export … --signed)"),
                  creds: HTTPAuthorizationCredentials | None = Creds) -> dict[str, Any]:
    """Verify and store child units' signed snapshots (secretariat): all files or none. A changed
    byte, a wrong schema or a replayed (not newer) snapshot: 400; an unknown signer: 403."""
    from web.rollup import import_files, read_uploads

    def run() -> dict[str, Any]:
        with db(request).ro() as s:
            user = _user(request, s, creds, touch=True)
        if user.role != Role.SECRETARIAT:
            raise WebError(403, tr(lang_of(request), "rollup.secretariat_only"))
        return {"accepted": import_files(request, user, read_uploads(request, files))}

    return _call(request, run)

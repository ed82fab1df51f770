"""Test data built straight with the ORM (no plan/directory file readers involved).

Reusable by lifecycle, escalation and reporting tests::

    with transaction(engine) as s:
        make_directory(s)                        # committee, units, the named personas
        make_plan(s, tasks=[{"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30)},
                            {"code": "2", "lead": ["SNV", "STC"], "depends_on": ["1"]}])
    with transaction(engine) as s:
        item = item_of(s, "KH-TEST", "1")
        lifecycle.start(s, item, actor(s, "skhcn_focal"), now=at("2025-04-02 09:00"))

Personas (ids): ``secretariat`` and ``secretariat2`` (secretariat), ``chair``, ``pct_kt``
(vice-chair overseeing SKHCN), ``pct_vx`` (vice-chair overseeing nothing in the default
units), ``skhcn_focal``, ``snv_focal``, ``stc_focal`` (focal points), ``observer`` (viewer).
Units: SKHCN, SNV, STC and the group CSBN ("Các sở, ban, ngành") containing all three.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.audit import GENESIS, append_event
from engine.actors import Actor, load_actor
from engine.models import ChainHead, Committee, Person, Plan, Section, Task, TaskDependency, TaskUnit, Unit, WorkItem

TZ = "Asia/Ho_Chi_Minh"
T0 = datetime(2025, 4, 1, 2, 0, tzinfo=timezone.utc)  # 01/04/2025 09:00 in Hà Nội
PLAN_CODE = "KH-TEST"

DEFAULT_UNITS: dict[str, str] = {
    "SKHCN": "Sở Khoa học và Công nghệ",
    "SNV": "Sở Nội vụ",
    "STC": "Sở Tài chính",
}
DEFAULT_ALIASES: dict[str, list[str]] = {"SKHCN": ["Sở KH&CN"], "SNV": [], "STC": []}
GROUP_CODE = "CSBN"


@dataclass(frozen=True)
class PersonaSpec:
    id: str
    name: str
    role: str
    unit: str | None = None
    oversees: tuple[str, ...] = ()


PERSONAS: tuple[PersonaSpec, ...] = (
    PersonaSpec("secretariat", "Đỗ Thị Lan", "secretariat"),
    PersonaSpec("secretariat2", "Trần Văn Bảo", "secretariat"),
    PersonaSpec("chair", "Nguyễn Văn An", "chair"),
    PersonaSpec("pct_kt", "Lê Thị Cúc", "vice_chair", oversees=("SKHCN",)),
    PersonaSpec("pct_vx", "Phạm Minh Đức", "vice_chair", oversees=("SGDDT",)),
    PersonaSpec("skhcn_focal", "Phan Đức Minh", "focal_point", unit="SKHCN"),
    PersonaSpec("snv_focal", "Ngô Thị Hoa", "focal_point", unit="SNV"),
    PersonaSpec("stc_focal", "Lý Thị Hương", "focal_point", unit="STC"),
    PersonaSpec("observer", "Vũ Thị Hạnh", "viewer"),
)
PERSONA_IDS: tuple[str, ...] = tuple(p.id for p in PERSONAS)


def at(local: str, tz: str = TZ) -> datetime:
    """Aware UTC instant from a committee-local "YYYY-MM-DD HH:MM" (or "YYYY-MM-DD" = 09:00)."""
    text = local if len(local) > 10 else f"{local} 09:00"
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def ensure_chain_head(session: Session) -> None:
    """The migration seeds chain_head; a TRUNCATE between PostgreSQL tests removes it."""
    if session.get(ChainHead, 1) is None:
        session.add(ChainHead(id=1, last_event_id=0, last_hash=GENESIS, count=0))
        session.flush()


def make_committee(session: Session, *, now: datetime = T0, name: str = "Ban Chỉ đạo thử nghiệm",
                   tz: str = TZ, settings: Mapping[str, Any] | None = None,
                   standing_agency: str | None = "SKHCN") -> Committee:
    ensure_chain_head(session)
    c = session.get(Committee, 1)
    if c is None:
        c = Committee(id=1, name=name, short_name="BCĐ thử nghiệm", timezone=tz, standing_agency=standing_agency,
                      settings=dict(settings or {}), updated_at=now)
        session.add(c)
    else:
        c.timezone, c.settings, c.updated_at = tz, dict(settings or {}), now
    session.flush()
    return c


def make_unit(session: Session, code: str, name: str | None = None, *, now: datetime = T0,
              aliases: Sequence[str] = (), kind: str = "department", is_group: bool = False,
              members: Sequence[str] = (), groups: Sequence[str] = (), parent: str | None = None) -> Unit:
    u = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if u is not None:
        return u
    u = Unit(code=code, name=name or DEFAULT_UNITS.get(code, code), kind="group" if is_group else kind,
             parent_code=parent, aliases=list(aliases), former_names=[], members=list(members), groups=list(groups),
             is_group=is_group, notify=[], source="directory", active=True, created_at=now)
    session.add(u)
    session.flush()
    return u


def make_person(session: Session, id: str, *, name: str | None = None, role: str = "focal_point",
                unit: str | None = None, oversees: Sequence[str] = (), now: datetime = T0) -> Person:
    p = session.get(Person, id)
    if p is not None:
        return p
    unit_id = make_unit(session, unit, now=now).id if unit else None
    p = Person(id=id, name=name or id, title=None, role=role, unit_id=unit_id, oversees=list(oversees),
               notify=[], active=True, created_at=now)
    session.add(p)
    session.flush()
    return p


@dataclass
class Directory:
    committee: Committee
    units: dict[str, Unit] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)


def make_directory(session: Session, *, now: datetime = T0, settings: Mapping[str, Any] | None = None,
                   tz: str = TZ, units: Mapping[str, str] = DEFAULT_UNITS,
                   personas: Iterable[PersonaSpec] = PERSONAS, group: bool = True) -> Directory:
    """Committee + units (+ the CSBN group of all of them) + the named personas."""
    d = Directory(committee=make_committee(session, now=now, settings=settings, tz=tz))
    for code, name in units.items():
        d.units[code] = make_unit(session, code, name, now=now, aliases=DEFAULT_ALIASES.get(code, []),
                                  groups=[GROUP_CODE] if group else [])
    if group:
        d.units[GROUP_CODE] = make_unit(session, GROUP_CODE, "Các sở, ban, ngành", now=now, is_group=True,
                                        members=list(units), kind="group")
    for p in personas:
        d.people[p.id] = make_person(session, p.id, name=p.name, role=p.role, unit=p.unit, oversees=p.oversees, now=now)
    return d


DEFAULT_TASKS: tuple[dict[str, Any], ...] = (
    {"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30)},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 9, 30)},
    {"code": "3", "lead": ["SKHCN", "SNV", "STC"], "deadline": date(2025, 12, 31)},
)


def make_plan(session: Session, code: str = PLAN_CODE, *, tasks: Sequence[Mapping[str, Any]] = DEFAULT_TASKS,
              now: datetime = T0, title: str | None = None, settings: Mapping[str, Any] | None = None,
              sections: Sequence[tuple[str, str]] = (), log: bool = True, actor: str = "secretariat") -> Plan:
    """A plan with tasks, task units, dependencies and work items.

    Task keys: ``code`` (required), ``title``, ``section``, ``lead`` (unit codes; default
    ["SKHCN"]; unknown codes are created), ``coordinating``, ``deadline`` (date or None),
    ``deadline_kind`` (default "date" with a deadline, else None; "ongoing"; "recurring"),
    ``deadline_text``, ``occurrences`` (recurring: list of (key, deadline) per lead unit),
    ``depends_on`` (task codes of this plan), ``vice_chair`` (person id), ``status`` (initial
    item status, written directly), ``task_status`` ("active"/"cancelled").
    With ``log`` a "plan_loaded" event is appended, as the real loader does.
    """
    ensure_chain_head(session)
    plan = Plan(code=code, title=title or f"Kế hoạch thử nghiệm {code}", document=None, issued_on=None,
                status="active", source_file=None, revision=1, settings=dict(settings or {}),
                created_at=now, updated_at=now)
    session.add(plan)
    session.flush()
    sec_ids: dict[str, int] = {}
    for pos, (scode, stitle) in enumerate(sections, start=1):
        sec = Section(plan_id=plan.id, code=scode, title=stitle, position=pos)
        session.add(sec)
        session.flush()
        sec_ids[scode] = sec.id
    task_ids: dict[str, int] = {}
    for pos, spec in enumerate(tasks, start=1):
        deadline = spec.get("deadline")
        kind = spec.get("deadline_kind", "date" if deadline else None)
        t = Task(plan_id=plan.id, section_id=sec_ids.get(spec.get("section", "")), code=str(spec["code"]),
                 position=pos, title=spec.get("title", f"Nhiệm vụ {spec['code']}"),
                 deliverable=spec.get("deliverable", ""), lead_text="; ".join(spec.get("lead", ["SKHCN"])),
                 coordinating_text="; ".join(spec.get("coordinating", [])), deadline=deadline,
                 deadline_text=spec.get("deadline_text", deadline.strftime("%d/%m/%Y") if deadline else ""),
                 deadline_kind=kind, recurrence=spec.get("recurrence"), vice_chair_id=spec.get("vice_chair"),
                 status=spec.get("task_status", "active"), created_at=now, updated_at=now)
        session.add(t)
        session.flush()
        task_ids[t.code] = t.id
        for role in ("lead", "coordinating"):
            for upos, ucode in enumerate(spec.get(role, ["SKHCN"] if role == "lead" else [])):
                u = make_unit(session, ucode, now=now)
                session.add(TaskUnit(task_id=t.id, unit_id=u.id, role=role, position=upos))
        occs: list[tuple[str, date | None]] = list(spec.get("occurrences", [])) or [("", deadline)]
        status = spec.get("status", "not_started")
        rows = []
        for ucode in spec.get("lead", ["SKHCN"]):
            uid = make_unit(session, ucode, now=now).id
            for occ, dl in occs:
                rows.append(dict(task_id=t.id, unit_id=uid, occurrence=occ, deadline=dl, original_deadline=dl,
                                 status=status, version=1, started_at=now if status != "not_started" else None,
                                 completed_at=now if status == "completed" else None,
                                 completion="on_time" if status == "completed" else None,
                                 updated_by=actor, updated_at=now, created_at=now))
        if rows:
            session.execute(insert(WorkItem), rows)
    for spec in tasks:
        for dep in spec.get("depends_on", []):
            session.add(TaskDependency(task_id=task_ids[str(spec["code"])], depends_on_id=task_ids[str(dep)]))
    session.flush()
    if log:
        append_event(session, now=now, at=now, actor=actor, actor_role="secretariat", kind="plan_loaded",
                     plan_id=plan.id, data={"revision": 1, "tasks": len(tasks)})
    return plan


def item_of(session: Session, plan_code: str, task_code: str, unit: str | None = None,
            occurrence: str | None = None) -> WorkItem:
    """The work item of a task (for ``unit``; the first occurrence unless ``occurrence``)."""
    stmt = (select(WorkItem).join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
            .where(Plan.code == plan_code, Task.code == task_code))
    if unit:
        stmt = stmt.join(Unit, Unit.id == WorkItem.unit_id).where(Unit.code == unit)
    if occurrence is not None:
        stmt = stmt.where(WorkItem.occurrence == occurrence)
    items = session.execute(stmt.order_by(WorkItem.deadline, WorkItem.occurrence, WorkItem.id)).scalars().all()
    assert items, f"no work item {plan_code}/{task_code}@{unit}#{occurrence}"
    if unit is None:
        assert len({i.unit_id for i in items}) == 1, f"{plan_code}/{task_code} has several lead units; pass unit="
    return items[0]


def actor(session: Session, person_id: str) -> Actor:
    return load_actor(session, person_id)


def seed(engine: Any, *, now: datetime = T0, tasks: Sequence[Mapping[str, Any]] = DEFAULT_TASKS,
         plan_code: str = PLAN_CODE, settings: Mapping[str, Any] | None = None) -> None:
    """Directory + one plan, committed in one transaction."""
    from engine.db import transaction

    with transaction(engine) as s:
        make_directory(s, now=now, settings=settings)
        make_plan(s, plan_code, tasks=tasks, now=now)


def seed_url(db_url: str, *, cache_dir: Path, now: datetime = T0, tasks: Sequence[Mapping[str, Any]] = DEFAULT_TASKS,
             plan_code: str = PLAN_CODE, settings: Mapping[str, Any] | None = None) -> None:
    """``seed`` a freshly migrated database at ``db_url``, fast.

    SQLite: the seeded file is built once per distinct seed (in ``cache_dir``, e.g.
    ``tmp_path_factory.getbasetemp()``) and copied over the empty database file; nothing
    may be connected to ``db_url`` yet. PostgreSQL: seeds directly."""
    from engine.db import make_engine

    if not db_url.startswith("sqlite:///"):
        eng = make_engine(db_url)
        try:
            seed(eng, now=now, tasks=tasks, plan_code=plan_code, settings=settings)
        finally:
            eng.dispose()
        return
    target = Path(db_url[len("sqlite:///"):])
    key = hashlib.sha256(repr((now, list(map(sorted, (t.items() for t in tasks))), plan_code,
                               sorted((settings or {}).items()))).encode()).hexdigest()[:16]
    cached = Path(cache_dir) / f"seeded-{key}.db"
    if not cached.exists():
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        shutil.copy(target, tmp)
        eng = make_engine(f"sqlite:///{tmp}")
        seed(eng, now=now, tasks=tasks, plan_code=plan_code, settings=settings)
        eng.dispose()  # checkpoints and removes the WAL
        os.replace(tmp, cached)
    shutil.copy(cached, target)

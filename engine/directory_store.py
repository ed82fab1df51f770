"""The directory in the database: committee, units, people.

``load_directory_file`` validates a directory YAML completely, then writes it in the
caller's transaction. ``current_directory`` is the matcher used for plan loads: the
built-in standard directory with the committee's units (and units registered by plans)
on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.directory import Directory, DirectoryError, UnitEntry
from engine.models import Committee, Person, Unit
from engine.planfile.validate import People
from engine.yamltext import load_yaml

ROLES = ("chair", "vice_chair", "secretariat", "focal_point", "viewer")
PERSON_KEYS = {"id", "name", "title", "role", "unit", "oversees", "notify", "email"}
COMMITTEE_KEYS = {"name", "short_name", "timezone", "standing_agency", "settings"}


@dataclass
class DirectoryFile:
    source: str
    directory: Directory
    committee: dict[str, Any] | None
    people: list[dict[str, Any]] = field(default_factory=list)
    unit_rows: list[UnitEntry] = field(default_factory=list)  # the file's own units/groups


def _err(source: str, where: str, msg: str) -> DirectoryError:
    return DirectoryError(f"{source}: {where}: {msg}")


def parse_directory_file(path: str | Path, *, base: Directory | None = None) -> DirectoryFile:
    """Read and fully validate a directory file (nothing is written)."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DirectoryError(f"Không đọc được tệp danh mục «{source}»: {exc.strerror or exc}.") from None
    data = load_yaml(raw, source, DirectoryError, what="Tệp danh mục")
    return parse_directory_mapping(data, source=source, base=base)


def parse_directory_mapping(data: Any, *, source: str, base: Directory | None = None) -> DirectoryFile:
    if not isinstance(data, dict):
        raise DirectoryError(f"Tệp danh mục «{source}» phải là một bảng YAML có các khóa committee, units, people, groups.")
    unknown = set(data) - {"committee", "units", "people", "groups", "settings"}
    if unknown:
        raise _err(source, "cấp cao nhất", f"khóa không hợp lệ: {', '.join(sorted(map(str, unknown)))} "
                   "(chỉ dùng committee, units, people, groups)")
    base = base if base is not None else Directory.standard()
    own = Directory.from_mapping(data, source=source, base=base)
    merged = base.overlay(own)
    committee = data.get("committee")
    if committee is not None:
        if not isinstance(committee, dict):
            raise _err(source, "committee", "phải là một bảng (name, timezone, ...)")
        bad = set(committee) - COMMITTEE_KEYS
        if bad:
            raise _err(source, "committee", f"khóa không hợp lệ: {', '.join(sorted(bad))}")
        if not str(committee.get("name") or "").strip():
            raise _err(source, "committee", "thiếu «name»")
        tz = str(committee.get("timezone") or "Asia/Ho_Chi_Minh")
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:
            raise _err(source, "committee.timezone", f"múi giờ «{tz}» không tồn tại") from None
        sa = committee.get("standing_agency")
        if sa and merged.get(str(sa)) is None:
            raise _err(source, "committee.standing_agency", f"không có cơ quan mã «{sa}»")
    people_raw = data.get("people") or []
    if not isinstance(people_raw, list):
        raise _err(source, "people", "phải là một danh sách")
    people: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, p in enumerate(people_raw, start=1):
        where = f"people[{i}]"
        if not isinstance(p, dict):
            raise _err(source, where, "mỗi người phải là một bảng (id, name, role, ...)")
        bad = set(p) - PERSON_KEYS
        if bad:
            raise _err(source, where, f"khóa không hợp lệ: {', '.join(sorted(map(str, bad)))}")
        pid = str(p.get("id") or "").strip()
        if not pid:
            raise _err(source, where, "thiếu «id»")
        where = f"people[{i}] (id {pid})"
        if pid in seen:
            raise _err(source, where, "id bị trùng")
        seen.add(pid)
        if not str(p.get("name") or "").strip():
            raise _err(source, where, "thiếu «name»")
        role = str(p.get("role") or "")
        if role not in ROLES:
            raise _err(source, where, f"vai trò «{role}» không hợp lệ (chọn một trong: {', '.join(ROLES)})")
        unit = p.get("unit")
        if unit is not None and merged.get(str(unit)) is None and merged.resolve(str(unit)) is None:
            raise _err(source, where, f"không có cơ quan «{unit}» trong danh mục")
        if role == "focal_point" and unit is None:
            raise _err(source, where, "đầu mối (focal_point) phải có «unit»")
        oversees = p.get("oversees") or []
        if not isinstance(oversees, list):
            raise _err(source, where, "«oversees» phải là danh sách mã cơ quan")
        for code in oversees:
            if merged.get(str(code)) is None and merged.resolve(str(code)) is None:
                raise _err(source, where, f"«oversees» có cơ quan «{code}» không có trong danh mục")
        notify = p.get("notify") or []
        if isinstance(notify, str):
            notify = [notify]
        people.append({
            "id": pid, "name": str(p["name"]).strip(), "title": p.get("title"), "role": role,
            "unit": _code_of(merged, unit) if unit is not None else None,
            "oversees": [_code_of(merged, c) for c in oversees],
            "notify": [str(n) for n in notify],
        })
    return DirectoryFile(source=source, directory=merged, committee=committee, people=people,
                         unit_rows=list(own.units.values()))


def _code_of(d: Directory, ref: Any) -> str:
    ref = str(ref)
    e = d.get(ref) or d.resolve(ref)
    assert e is not None
    return e.code


def _unit_values(e: UnitEntry, source: str, now: datetime) -> dict[str, Any]:
    return dict(
        code=e.code, name=e.name, kind=e.kind, parent_code=e.parent, aliases=list(e.aliases),
        former_names=list(e.former_names), members=list(e.members), is_group=e.is_group,
        notify=list(e.notify), source=source, active=True, created_at=now,
    )


def ensure_units(session: Session, directory: Directory, codes: set[str], now: datetime,
                 new_units: dict[str, Any] | None = None) -> dict[str, int]:
    """Unit rows for ``codes`` (materialising standard entries / new names); code -> id."""
    have = dict(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all()) if codes else {}
    missing = [c for c in codes if c not in have]
    for code in sorted(missing):
        if new_units and code in new_units:
            nu = new_units[code]
            row = Unit(code=code, name=nu.name, kind="unit", source="plan", created_at=now)
        else:
            e = directory.get(code)
            if e is None:
                raise KeyError(code)
            row = Unit(**_unit_values(e, "standard", now))
        session.add(row)
        session.flush()
        have[code] = row.id
    return have


def store_directory(session: Session, parsed: DirectoryFile, *, now: datetime, actor: str = "secretariat") -> dict[str, int]:
    """Write a parsed directory file (committee, units, people) in the caller's transaction."""
    counts = {"units": 0, "people": 0}
    if parsed.committee is not None:
        c = parsed.committee
        row = session.get(Committee, 1) or Committee(id=1, updated_at=now)
        row.name = str(c["name"]).strip()
        row.short_name = c.get("short_name")
        row.timezone = str(c.get("timezone") or "Asia/Ho_Chi_Minh")
        row.standing_agency = c.get("standing_agency")
        row.settings = dict(c.get("settings") or {})
        row.updated_at = now
        session.add(row)
    existing = {u.code: u for u in session.execute(select(Unit)).scalars()}
    for e in parsed.unit_rows:
        values = _unit_values(e, "directory", now)
        row = existing.get(e.code)
        if row is None:
            session.add(Unit(**values))
        else:
            values.pop("created_at")
            for k, v in values.items():
                setattr(row, k, v)
        counts["units"] += 1
    session.flush()
    # people may reference standard units not yet materialised
    needed = {p["unit"] for p in parsed.people if p["unit"]}
    ids = ensure_units(session, parsed.directory, needed, now)
    for p in parsed.people:
        row = session.get(Person, p["id"])
        values = dict(name=p["name"], title=p["title"], role=p["role"], unit_id=ids.get(p["unit"]) if p["unit"] else None,
                      oversees=p["oversees"], notify=p["notify"], active=True)
        if row is None:
            session.add(Person(id=p["id"], created_at=now, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        counts["people"] += 1
    append_event(session, now=now, actor=actor, kind="directory_loaded",
                 data={"source": Path(parsed.source).name, **counts})
    return counts


def current_directory(session: Session) -> Directory:
    """Standard directory with the committee's units (and plan-registered units) on top."""
    rows = session.execute(select(Unit).where(Unit.source != "standard", Unit.active.is_(True))).scalars().all()
    base = Directory.standard()
    if not rows:
        return base
    units, groups = [], []
    for u in rows:
        item: dict[str, Any] = {"code": u.code, "name": u.name, "aliases": list(u.aliases or []),
                                "former_names": list(u.former_names or [])}
        if u.is_group:
            item["members"] = [m for m in (u.members or [])]
            groups.append(item)
        else:
            item["kind"] = u.kind
            units.append(item)
    own = Directory.from_mapping({"units": units, "groups": groups}, source="<database>", base=base)
    return base.overlay(own)


def people_index(session: Session) -> People:
    out = People()
    for p in session.execute(select(Person).where(Person.active.is_(True))).scalars():
        out.ids.add(p.id)
        if p.role == "vice_chair":
            for code in p.oversees or []:
                out.vice_chair_of_unit.setdefault(code, p.id)
    return out

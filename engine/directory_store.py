"""The directory in the database: committee, units, people.

``load_directory_file`` validates a directory YAML completely, then writes it in the
caller's transaction. ``current_directory`` is the matcher used for plan loads: the
built-in standard directory with the committee's units (and units registered by plans)
on top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import append_event
from engine.directory import Directory, DirectoryError, People, UnitEntry
from engine.i18n import DEFAULT_LANG, tr
from engine.models import Committee, Person, Unit
from engine.states import ROLES, Role
from engine.yamltext import load_yaml

PERSON_KEYS = {"id", "name", "title", "role", "unit", "oversees", "notify", "email"}
COMMITTEE_KEYS = {"name", "short_name", "timezone", "standing_agency", "settings"}


@dataclass
class DirectoryFile:
    source: str
    directory: Directory
    committee: dict[str, Any] | None
    people: list[dict[str, Any]] = field(default_factory=list)
    unit_rows: list[UnitEntry] = field(default_factory=list)  # the file's own units/groups


def _err(lang: str, source: str, where: str, message: str, **fmt: Any) -> DirectoryError:
    """The error at ``where`` of the file; ``message`` is a catalog key filled with ``fmt``."""
    return DirectoryError(f"{source}: {where}: {tr(lang, message, **fmt)}")


def parse_directory_file(path: str | Path, *, base: Directory | None = None, lang: str = DEFAULT_LANG) -> DirectoryFile:
    """Read and fully validate a directory file (nothing is written); errors in ``lang``."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DirectoryError(tr(lang, "dir.file_unreadable", source=source, reason=exc.strerror or exc)) from None
    data = load_yaml(raw, source, DirectoryError, what=tr(lang, "dir.what_file"), lang=lang)
    return parse_directory_mapping(data, source=source, base=base, lang=lang)


def parse_directory_mapping(data: Any, *, source: str, base: Directory | None = None,
                            lang: str = DEFAULT_LANG) -> DirectoryFile:
    if not isinstance(data, dict):
        raise DirectoryError(tr(lang, "dir.file_not_mapping", source=source))
    unknown = set(data) - {"committee", "units", "people", "groups", "settings"}
    if unknown:
        raise _err(lang, source, tr(lang, "dir.section.top"), "dir.bad_top_keys",
                   bad=", ".join(sorted(map(str, unknown))))
    base = base if base is not None else Directory.standard()
    own = Directory.from_mapping(data, source=source, base=base, lang=lang)
    merged = base.overlay(own)
    committee = data.get("committee")
    if committee is not None:
        if not isinstance(committee, dict):
            raise _err(lang, source, "committee", "dir.committee_not_mapping")
        bad = set(committee) - COMMITTEE_KEYS
        if bad:
            raise _err(lang, source, "committee", "dir.bad_keys", bad=", ".join(sorted(map(str, bad))))
        name = _text(lang, source, "committee", committee, "name", 500, required=True)
        short_name = _text(lang, source, "committee", committee, "short_name", 200)
        tz = _text(lang, source, "committee", committee, "timezone", 64) or "Asia/Ho_Chi_Minh"
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:
            raise _err(lang, source, "committee.timezone", "dir.bad_timezone", tz=tz) from None
        sa = _text(lang, source, "committee", committee, "standing_agency", 64)
        if sa and merged.get(sa) is None:
            raise _err(lang, source, "committee.standing_agency", "dir.no_unit_code", code=sa)
        settings = committee.get("settings")
        if settings is not None and not isinstance(settings, dict):
            raise _err(lang, source, "committee.settings", "dir.settings_not_mapping", kind=_kind(settings, lang))
        try:  # stored as JSON: keys become text, dates ISO text; NaN/Infinity are not JSON
            settings = json.loads(json.dumps(settings or {}, ensure_ascii=False, default=str, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise _err(lang, source, "committee.settings", "dir.settings_unstorable", exc=exc) from None
        committee = dict(committee, name=name, short_name=short_name, timezone=tz, standing_agency=sa,
                         settings=settings)
    people_raw = data.get("people") or []
    if not isinstance(people_raw, list):
        raise _err(lang, source, "people", "dir.people_not_list")
    people: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, p in enumerate(people_raw, start=1):
        where = f"people[{i}]"
        if not isinstance(p, dict):
            raise _err(lang, source, where, "dir.person_not_mapping")
        bad = set(p) - PERSON_KEYS
        if bad:
            raise _err(lang, source, where, "dir.bad_keys", bad=", ".join(sorted(map(str, bad))))
        pid = _text(lang, source, where, p, "id", 64, required=True)
        where = f"people[{i}] (id {pid})"
        if pid in seen:
            raise _err(lang, source, where, "dir.dup_id")
        seen.add(pid)
        name = _text(lang, source, where, p, "name", 200, required=True)
        title = _text(lang, source, where, p, "title", 300)
        role = _text(lang, source, where, p, "role", 32) or ""
        if role not in ROLES:
            raise _err(lang, source, where, "dir.bad_role", role=role, roles=", ".join(ROLES))
        unit = _text(lang, source, where, p, "unit", 500)
        if unit is not None and merged.get(unit) is None and merged.resolve(unit) is None:
            raise _err(lang, source, where, "dir.unknown_unit", unit=unit)
        if role == Role.FOCAL_POINT and unit is None:
            raise _err(lang, source, where, "dir.focal_needs_unit")
        oversees = _text_list(lang, source, where, p, "oversees")
        for code in oversees:
            if merged.get(code) is None and merged.resolve(code) is None:
                raise _err(lang, source, where, "dir.unknown_oversees", code=code)
        notify = _text_list(lang, source, where, p, "notify", secret=True)
        people.append({
            "id": pid, "name": name, "title": title, "role": role,
            "unit": _code_of(merged, unit) if unit is not None else None,
            "oversees": [_code_of(merged, c) for c in oversees],
            "notify": notify,
        })
    return DirectoryFile(source=source, directory=merged, committee=committee, people=people,
                         unit_rows=list(own.units.values()))


def _kind(value: Any, lang: str = DEFAULT_LANG) -> str:
    if isinstance(value, bool):
        return tr(lang, "dir.kind.bool")
    if isinstance(value, (int, float)):
        return tr(lang, "dir.kind.number")
    if isinstance(value, list):
        return tr(lang, "dir.kind.list")
    if isinstance(value, dict):
        return tr(lang, "dir.kind.mapping")
    return type(value).__name__


def _text(lang: str, source: str, where: str, item: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str | None:
    """A text field: a string (a number is taken as its text), trimmed, at most ``limit`` characters.

    Lists and mappings are refused before they are ever turned into text (an alias bomb
    would take forever to print).
    """
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _err(lang, source, where, "dir.missing", field=key)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _err(lang, source, where, "dir.not_text", field=key, kind=_kind(value, lang))
    text = " ".join(str(value).split())
    if len(text) > limit:
        raise _err(lang, source, where, "dir.text_too_long", field=key, n=len(text), limit=limit)
    return text


def _text_list(lang: str, source: str, where: str, item: dict[str, Any], key: str, *, secret: bool = False) -> list[str]:
    value = item.get(key)
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise _err(lang, source, where, "dir.not_list", field=key, kind=_kind(value, lang))
    out: list[str] = []
    for n, v in enumerate(value, start=1):
        if isinstance(v, bool) or not isinstance(v, (str, int, float)) or not str(v).strip():
            shown = "" if secret or not isinstance(v, (str, int, float)) else f" «{v}»"
            raise _err(lang, source, where, "dir.list_item_not_text", field=key, n=n, shown=shown)
        out.append(str(v).strip())
    return out


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


def store_directory(session: Session, parsed: DirectoryFile, *, now: datetime, actor: str = "secretariat",
                    lang: str = DEFAULT_LANG) -> dict[str, int]:
    """Write a parsed directory file (committee, units, people) in the caller's transaction.

    Only what differs is written: loading the same file again writes nothing (no row
    update, no audit event).
    """
    counts = {"units": 0, "people": 0}
    changed = False

    def assign(row: Any, values: dict[str, Any]) -> bool:
        diff = {k: v for k, v in values.items() if getattr(row, k) != v}
        for k, v in diff.items():
            setattr(row, k, v)
        return bool(diff)

    if parsed.committee is not None:
        c = parsed.committee
        row = session.get(Committee, 1)
        values = dict(name=str(c["name"]).strip(), short_name=c.get("short_name"),
                      timezone=str(c.get("timezone") or "Asia/Ho_Chi_Minh"), standing_agency=c.get("standing_agency"),
                      settings=dict(c.get("settings") or {}))
        if row is None:
            session.add(Committee(id=1, updated_at=now, **values))
            changed = True
        elif assign(row, values):
            row.updated_at = now
            changed = True
    existing = {u.code: u for u in session.execute(select(Unit)).scalars()}
    for e in parsed.unit_rows:
        values = _unit_values(e, "directory", now)
        row = existing.get(e.code)
        if row is None:
            session.add(Unit(**values))
            changed = True
        else:
            values.pop("created_at")
            changed |= assign(row, values)
        counts["units"] += 1
    session.flush()
    # the child units' public keys the file publishes (the level above trusts what they sign)
    signing = [(e.code, e.signing_key) for e in parsed.unit_rows if e.signing_key]
    if signing:
        from engine.pubkeys import directory_keys

        counts["keys"] = directory_keys(session, signing, source=Path(parsed.source).name, now=now, actor=actor,
                                        lang=lang)
    # people may reference standard units not yet materialised
    needed = {p["unit"] for p in parsed.people if p["unit"]}
    have = set(session.execute(select(Unit.code).where(Unit.code.in_(needed))).scalars()) if needed else set()
    changed |= bool(needed - have)
    ids = ensure_units(session, parsed.directory, needed, now)
    for p in parsed.people:
        row = session.get(Person, p["id"])
        values = dict(name=p["name"], title=p["title"], role=p["role"], unit_id=ids.get(p["unit"]) if p["unit"] else None,
                      oversees=p["oversees"], notify=p["notify"], active=True)
        if row is None:
            session.add(Person(id=p["id"], created_at=now, **values))
            changed = True
        else:
            changed |= assign(row, values)
        counts["people"] += 1
    if changed:
        session.flush()
        try:  # the file's units must also fit with units already in the database
            current_directory(session, lang=lang)
        except DirectoryError as exc:
            raise DirectoryError(tr(lang, "dir.db_mismatch", source=parsed.source, exc=exc)) from None
        append_event(session, now=now, actor=actor, kind="directory_loaded",
                     data={"source": Path(parsed.source).name, **counts})
    return counts


def current_directory(session: Session, *, lang: str = DEFAULT_LANG) -> Directory:
    """Standard directory with the committee's units (and plan-registered units) on top
    (``lang``: the language of the error when they do not fit together)."""
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
    own = Directory.from_mapping({"units": units, "groups": groups}, source="<database>", base=base, lang=lang)
    return base.overlay(own)


def people_index(session: Session) -> People:
    out = People()
    unit_code = dict(session.execute(select(Unit.id, Unit.code)).all())
    for p in session.execute(select(Person).where(Person.active.is_(True))).scalars():
        out.ids.add(p.id)
        if p.unit_id is not None and p.unit_id in unit_code:
            out.reachable.add(unit_code[p.unit_id])
        if p.role == Role.VICE_CHAIR:
            for code in p.oversees or []:
                out.vice_chair_of_unit.setdefault(code, p.id)
    for code, notify in session.execute(select(Unit.code, Unit.notify).where(Unit.active.is_(True))).all():
        if notify:
            out.reachable.add(code)
    return out

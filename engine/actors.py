"""Who is acting: ``Actor`` (a person with their role, unit and groups), loaded in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session, aliased

from engine.errors import UserError
from engine.i18n import tr
from engine.models import Person, Unit
from engine.states import Role


@dataclass(frozen=True)
class Actor:
    """Who is acting. ``groups``: codes of group units the actor's unit belongs to."""

    id: str
    name: str
    role: str
    unit_code: str | None = None
    oversees: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def is_staff(self) -> bool:
        """Secretariat and chair act on every item."""
        return self.role in (Role.SECRETARIAT, Role.CHAIR)


_GROUP = aliased(Unit, name="grp")


def actor_select(*extra: Any) -> Select[Any]:
    """Everything an ``Actor`` is made of, in one statement: the person, their unit and every
    group unit (one row per group; ``actor_from_rows``). Add a ``where`` (and joins for
    ``extra`` columns, e.g. the account or an API token)."""
    return (select(Person.id, Person.name, Person.role, Person.oversees, Person.active, Unit.code, Unit.groups,
                   _GROUP.code, _GROUP.members, *extra)
            .select_from(Person)
            .outerjoin(Unit, Unit.id == Person.unit_id)
            .outerjoin(_GROUP, and_(_GROUP.is_group.is_(True), Person.unit_id.is_not(None)))
            .order_by(_GROUP.id))


@cache
def _actor_by_id() -> Select[Any]:
    return actor_select().where(Person.id == bindparam("person_id"))


def actor_from_rows(rows: Any) -> Actor:
    """The ``Actor`` from the rows of ``actor_select`` for one person (groups: the unit's own
    ``groups`` plus every group unit listing the unit among its members)."""
    first = rows[0]
    pid, name, role, oversees, _active, unit_code, unit_groups = first[:7]
    groups: list[str] = list(unit_groups or []) if unit_code is not None else []
    if unit_code is not None:
        for r in rows:
            if r[7] is not None and unit_code in (r[8] or []) and r[7] not in groups:
                groups.append(r[7])
    return Actor(id=pid, name=name, role=role, unit_code=unit_code, oversees=tuple(oversees or ()),
                 groups=tuple(groups))


def load_actor(session: Session, person_id: str, *, lang: str = "vi") -> Actor:
    """The acting person (``UserError`` when unknown or inactive)."""
    rows = session.execute(_actor_by_id(), {"person_id": person_id}).all() if person_id else []
    if not rows or not rows[0][4]:
        known = session.execute(select(Person.id).where(Person.active.is_(True)).order_by(Person.id).limit(12)).scalars().all()
        hint = tr(lang, "lc.people_hint", known=", ".join(known)) if known else tr(lang, "lc.people_none")
        what = tr(lang, "lc.person_unknown" if not rows else "lc.person_inactive")
        raise UserError(tr(lang, "lc.unknown_person", pid=person_id, what=what, hint=hint))
    return actor_from_rows(rows)


def unit_scope(actor: Actor) -> set[str]:
    """Unit codes whose items a focal point sees and acts on: its unit and the groups it is in."""
    return {c for c in (actor.unit_code, *actor.groups) if c}


def person_name(session: Session, person_id: str | None) -> str:
    if not person_id:
        return "?"
    p = session.get(Person, person_id)
    return p.name if p is not None else person_id

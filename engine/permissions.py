"""Who may see and do what.

    role          items                                      actions
    secretariat   all                                        all (incl. --override of dependencies)
    chair         all                                        all
    vice_chair    task.vice_chair_id is them, or the unit    note, approve/reject extensions
                  (or one of its groups) is in `oversees`
    focal_point   its unit's, and its groups' (Unit.members) start, submit, block, unblock, note,
                                                             request an extension
    viewer        —                                          nothing

Focal points see only their own items (``visible_filter``); everyone else sees all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select, true
from sqlalchemy.orm import Session, object_session

from engine.actors import Actor, unit_scope
from engine.errors import PermissionDenied
from engine.i18n import tr
from engine.models import ExtensionRequest, Unit, WorkItem
from engine.refs import item_ref
from engine.states import NON_STATUS_ACTIONS, ROLES, TRANSITIONS, Action, ExtensionStatus, Role, action_label, note_allowed, role_label

ASSIGNEE_ACTIONS = frozenset({Action.START, Action.SUBMIT, Action.BLOCK, Action.UNBLOCK, Action.NOTE,
                              Action.REQUEST_EXTENSION})
SECRETARIAT_ACTIONS = frozenset({Action.VERIFY, Action.REJECT, Action.CANCEL, Action.REOPEN, Action.OVERRIDE})
EXTENSION_DECISION = frozenset({Action.DECIDE_EXTENSION})
VICE_CHAIR_ACTIONS = frozenset({Action.NOTE, Action.DECIDE_EXTENSION})
ALL_ACTIONS = ASSIGNEE_ACTIONS | SECRETARIAT_ACTIONS | EXTENSION_DECISION

# What a role's pages offer (the web item page, the one-click link page): the role's own part of
# the work, a subset of what it is permitted. The chair and the secretariat are permitted every
# action (to put a mistake right, from the CLI or the API), but an item page offering the chair
# "start", "submit" or "request an extension" invites the chair to do a unit's work: the chair
# and vice-chairs comment, decide extensions and acknowledge; the secretariat verifies and
# rejects; the assignees do the assignee actions. Acknowledging an escalation is offered
# separately (``may_acknowledge``): it is no lifecycle action.
OFFERED: dict[str, frozenset[str]] = {
    Role.FOCAL_POINT: ASSIGNEE_ACTIONS,
    Role.SECRETARIAT: frozenset({Action.VERIFY, Action.REJECT, Action.DECIDE_EXTENSION, Action.NOTE}),
    Role.CHAIR: frozenset({Action.VERIFY, Action.REJECT, Action.DECIDE_EXTENSION, Action.NOTE}),
    Role.VICE_CHAIR: VICE_CHAIR_ACTIONS,
    Role.VIEWER: frozenset(),
}


def in_scope(actor: Actor, item: WorkItem) -> bool:
    """Whether the item falls under the actor's responsibility (not yet whether the action is allowed)."""
    if actor.is_staff:
        return True
    unit = item.unit
    if actor.role == Role.FOCAL_POINT:
        return unit.code in unit_scope(actor)
    if actor.role == Role.VICE_CHAIR:
        task = item.task
        if task.vice_chair_id == actor.id:
            return True
        over = set(actor.oversees)
        return unit.code in over or bool(over & set(unit.groups or ())) or bool(over & set(unit.members or ()))
    return False


def can_see(actor: Actor, item: WorkItem) -> bool:
    """Focal points see only their own unit's (and their groups') items; everyone else sees all."""
    if actor.role == Role.FOCAL_POINT:
        return item.unit.code in unit_scope(actor)
    return True


def visible_filter(actor: Actor | None) -> ColumnElement[bool]:
    """A WHERE clause on ``WorkItem`` selecting the items ``actor`` may see."""
    if actor is None or actor.role != Role.FOCAL_POINT:
        return true()
    scope = unit_scope(actor)
    if not scope:
        return false()
    return WorkItem.unit_id.in_(select(Unit.id).where(Unit.code.in_(scope)))


def visible_items(session: Session, actor: Actor | None) -> Select[tuple[WorkItem]]:
    """``select(WorkItem)`` restricted to what ``actor`` may see (add your own filters)."""
    return select(WorkItem).where(visible_filter(actor))


def check_permission(session: Session, actor: Actor, item: WorkItem, action: str, *, lang: str = "vi") -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may do ``action`` on ``item``."""
    if actor.is_staff or _permitted(actor, item, action):
        return
    ref = item_ref(item, session)
    label = action_label(action, lang)
    role = role_label(actor.role, lang)
    who = f"{actor.name} ({actor.id})"
    if actor.role == Role.VIEWER or actor.role not in ROLES:
        raise PermissionDenied(tr(lang, "lc.denied_viewer", who=who, role=role, label=label, ref=ref))
    if actor.role == Role.FOCAL_POINT:
        if not can_see(actor, item):
            raise PermissionDenied(tr(lang, "lc.denied_other_unit", who=who,
                                      unit=actor.unit_code or tr(lang, "lc.no_unit"), ref=ref))
        if action in ASSIGNEE_ACTIONS:
            return
        if action in EXTENSION_DECISION:
            raise PermissionDenied(tr(lang, "lc.denied_extension_decision", who=who, role=role))
        raise PermissionDenied(tr(lang, "lc.denied_secretariat_only", label=label, who=who, role=role))
    if actor.role == Role.VICE_CHAIR:
        if not in_scope(actor, item):
            raise PermissionDenied(tr(lang, "lc.denied_not_in_charge", who=who, ref=ref, unit=item.unit.code,
                                      label=label))
        if action in VICE_CHAIR_ACTIONS:
            return
        raise PermissionDenied(tr(lang, "lc.denied_vice_chair", label=label))
    raise PermissionDenied(tr(lang, "lc.denied", who=who, label=label))  # pragma: no cover


def pending_extension(session: Session, item: WorkItem | int) -> ExtensionRequest | None:
    """The item's extension request awaiting a decision, if any."""
    item_id = item.id if isinstance(item, WorkItem) else item
    return session.execute(
        select(ExtensionRequest).where(ExtensionRequest.work_item_id == item_id, ExtensionRequest.status == ExtensionStatus.PENDING)
        .order_by(ExtensionRequest.id.desc()).limit(1)
    ).scalar_one_or_none()


def allowed_actions(item: WorkItem, actor: Actor | None = None) -> list[str]:
    """Actions legal from the item's current state (and, given an actor, permitted to them)."""
    st = item.status
    out: list[str] = [str(a) for a, table in TRANSITIONS.items() if st in table]
    if note_allowed(item):
        out.append(str(Action.NOTE))
    if st in NON_STATUS_ACTIONS[Action.REQUEST_EXTENSION]:
        out.append(str(Action.REQUEST_EXTENSION))
    session = object_session(item)
    if session is not None and pending_extension(session, item) is not None:
        out.append(str(Action.DECIDE_EXTENSION))
    if actor is not None:
        out = [a for a in out if _permitted(actor, item, a)]
    return out


def offered_actions(item: WorkItem, actor: Actor) -> list[str]:
    """The actions a page shows ``actor`` for ``item``: legal now, permitted, and the role's own
    part of the work (``OFFERED``)."""
    mine = OFFERED.get(actor.role, frozenset())
    return [a for a in allowed_actions(item, actor) if a in mine]


def may_acknowledge(actor: Actor, item: WorkItem) -> bool:
    """Whether ``actor`` may acknowledge ``item``'s escalation (as ``engine.escalation.acknowledge``
    checks: anyone who sees the item except a viewer)."""
    return actor.role != Role.VIEWER and can_see(actor, item)


def _permitted(actor: Actor, item: WorkItem, action: str) -> bool:
    if actor.is_staff:
        return True
    if actor.role == Role.FOCAL_POINT:
        return can_see(actor, item) and action in ASSIGNEE_ACTIONS
    if actor.role == Role.VICE_CHAIR:
        return in_scope(actor, item) and action in VICE_CHAIR_ACTIONS
    return False

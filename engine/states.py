"""The states of a work item and the actions that move it between them.

Names are ``enum.StrEnum`` members whose values are the strings stored in the database and
sent in JSON (``Status.IN_PROGRESS == "in_progress"``). Their labels are catalog entries
(``lc.status.*``, ``lc.role.*``, ``lc.action.*``; ``status_label`` & co. look them up).

States and the actions that move between them (``TRANSITIONS``)::

    action    from                                       to
    start     not_started                                in_progress
    submit    not_started, in_progress                   submitted (completed with auto_verify)
    verify    submitted                                  completed
    reject    submitted                                  in_progress
    block     not_started, in_progress                   blocked
    unblock   blocked                                    the state before the block
    cancel    not_started, in_progress, submitted,       cancelled
              blocked
    reopen    submitted, completed                       in_progress
              cancelled                                  not_started / in_progress (as before)

``note`` and ``request_extension`` are allowed on every open item (notes also on completed
items of ongoing tasks); deciding an extension needs a pending request.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from engine.i18n import has, tr


class Status(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


class Role(StrEnum):
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    SECRETARIAT = "secretariat"
    FOCAL_POINT = "focal_point"
    VIEWER = "viewer"


class ExtensionStatus(StrEnum):
    """An extension request's state (``ExtensionRequest.status``)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PlanStatus(StrEnum):
    """A plan's or a task's own state (``Plan.status``, ``Task.status``) — not a work item's
    lifecycle: a task removed from its plan file is ``cancelled``, otherwise ``active``."""

    ACTIVE = "active"
    CANCELLED = "cancelled"


# A task's derived status (``derive_task_status``) is a Status, or this when it has no items.
UNASSIGNED = "unassigned"


class Action(StrEnum):
    """Actions as permissions know them (approving and rejecting an extension are both
    ``decide_extension``; ``override`` lets the secretariat skip an unfinished prerequisite)."""

    START = "start"
    SUBMIT = "submit"
    VERIFY = "verify"
    REJECT = "reject"
    BLOCK = "block"
    UNBLOCK = "unblock"
    CANCEL = "cancel"
    REOPEN = "reopen"
    NOTE = "note"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    OVERRIDE = "override"


STATUSES: tuple[str, ...] = tuple(Status)
OPEN_STATES: tuple[str, ...] = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.SUBMITTED, Status.BLOCKED)
ROLES: tuple[str, ...] = tuple(Role)

# action -> {from_status: to_status}. "*previous" = the state before (see lifecycle._previous_state).
TRANSITIONS: dict[str, dict[str, str]] = {
    Action.START: {Status.NOT_STARTED: Status.IN_PROGRESS},
    Action.SUBMIT: {Status.NOT_STARTED: Status.SUBMITTED, Status.IN_PROGRESS: Status.SUBMITTED},  # → completed with auto_verify
    Action.VERIFY: {Status.SUBMITTED: Status.COMPLETED},
    Action.REJECT: {Status.SUBMITTED: Status.IN_PROGRESS},
    Action.BLOCK: {Status.NOT_STARTED: Status.BLOCKED, Status.IN_PROGRESS: Status.BLOCKED},
    Action.UNBLOCK: {Status.BLOCKED: "*previous"},  # back to not_started or in_progress
    Action.CANCEL: {s: Status.CANCELLED for s in OPEN_STATES},
    Action.REOPEN: {Status.SUBMITTED: Status.IN_PROGRESS, Status.COMPLETED: Status.IN_PROGRESS,
                    Status.CANCELLED: "*previous"},
}
# Actions that change no status, and the states they are allowed in.
NON_STATUS_ACTIONS: dict[str, tuple[str, ...]] = {
    Action.NOTE: OPEN_STATES,  # plus completed items of ongoing tasks
    Action.REQUEST_EXTENSION: OPEN_STATES,
    Action.DECIDE_EXTENSION: STATUSES,  # approving needs an open item; rejecting is always possible
}


def _allowed_pairs() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for table in TRANSITIONS.values():
        for src, dst in table.items():
            if dst == "*previous":
                pairs |= {(src, Status.NOT_STARTED), (src, Status.IN_PROGRESS)}
            else:
                pairs.add((src, dst))
    pairs |= {(Status.NOT_STARTED, Status.COMPLETED), (Status.IN_PROGRESS, Status.COMPLETED)}  # submit with auto_verify
    return frozenset(pairs)


ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = _allowed_pairs()

# action -> the CLI command doing it
ACTION_COMMANDS: dict[str, str] = {
    Action.START: "start", Action.SUBMIT: "submit", Action.VERIFY: "verify", Action.REJECT: "reject",
    Action.BLOCK: "block", Action.UNBLOCK: "unblock", Action.CANCEL: "cancel", Action.REOPEN: "reopen",
    Action.NOTE: "note", Action.REQUEST_EXTENSION: "extend",
    Action.DECIDE_EXTENSION: "approve-extension|reject-extension", Action.OVERRIDE: "--override",
}  # fmt: skip


def note_allowed(item: Any) -> bool:
    """Notes: on every open item, and on completed items of ongoing (thường xuyên) tasks."""
    if item.status in NON_STATUS_ACTIONS[Action.NOTE]:
        return True
    return item.status == Status.COMPLETED and item.task.deadline_kind == "ongoing"


def status_label(status: str | None, lang: str = "vi") -> str:
    if status is None:
        return "—"
    key = f"lc.status.{status}"
    return tr(lang, key) if has(key) else status


def role_label(role: str, lang: str = "vi") -> str:
    key = f"lc.role.{role}"
    return tr(lang, key) if has(key) else role


def action_label(action: str, lang: str = "vi") -> str:
    key = f"lc.action.{action}"
    return tr(lang, key) if has(key) else action


def action_with_command(action: str, lang: str = "vi") -> str:
    return f"{action_label(action, lang)} ({ACTION_COMMANDS[action]})"


def derive_task_status(item_states: list[tuple[str, date | None]], *, recurring: bool = False) -> str:
    """A task's status from its items' (status, deadline).

    No items → unassigned; all cancelled → cancelled; all completed → completed; all
    submitted/completed → submitted; any blocked → blocked; any started → in_progress.
    A recurring task is judged on its earliest open occurrence.
    """
    live = [(s, d) for s, d in item_states if s != Status.CANCELLED]
    if not item_states:
        return UNASSIGNED
    if not live:
        return Status.CANCELLED
    if recurring:
        open_ = [(s, d) for s, d in live if s != Status.COMPLETED]
        if not open_:
            return Status.COMPLETED
        first = min(d for _, d in open_ if d is not None) if any(d for _, d in open_) else None
        live = [(s, d) for s, d in open_ if d == first]
    states = {s for s, _ in live}
    if states == {Status.COMPLETED}:
        return Status.COMPLETED
    if states <= {Status.SUBMITTED, Status.COMPLETED}:
        return Status.SUBMITTED
    if Status.BLOCKED in states:
        return Status.BLOCKED
    if states & {Status.IN_PROGRESS, Status.SUBMITTED, Status.COMPLETED}:
        return Status.IN_PROGRESS
    return Status.NOT_STARTED

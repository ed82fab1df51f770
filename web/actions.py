"""Item lookup and actions shared by the HTML pages and the JSON API.

Each action is one engine call (``engine.lifecycle`` or ``engine.escalation.acknowledge``)
with the actor from ``engine.lifecycle.load_actor``: the engine checks the permission,
the state and the version, and writes the one audit event. Here we only make sure an item
the user may not see is indistinguishable from one that does not exist (404), and that a
one-click link acts on its own item only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine import lifecycle as lc
from engine.errors import Conflict, PermissionDenied, UserError
from engine.models import WorkItem
from web.core import LINK_ACTIONS, User

# web action name -> (engine action used for permission display, i18n "done" key)
ACTIONS: dict[str, tuple[str, str]] = {
    "start": ("start", "done_start"),
    "submit": ("submit", "done_submit"),
    "note": ("note", "done_note"),
    "request_extension": ("request_extension", "done_extension"),
    "block": ("block", "done_block"),
    "unblock": ("unblock", "done_unblock"),
    "verify": ("verify", "done_verify"),
    "reject": ("reject", "done_reject"),
    "approve_extension": ("decide_extension", "done_approve_ext"),
    "reject_extension": ("decide_extension", "done_reject_ext"),
    "ack": ("ack", "done_ack"),
}


class NotVisible(Exception):
    """No such item, or the user may not see it (the same answer for both)."""


class StateConflict(UserError):
    """The engine refused because of the item's current state (not the input): HTTP 409."""


def _legal_now(s: Session, item: WorkItem, action: str) -> bool:
    """Whether ``action`` is legal from the item's current state (engine.lifecycle.allowed_actions)."""
    if action == "ack":
        return False  # acknowledge refuses only when there is nothing (left) to acknowledge
    legal = lc.allowed_actions(item)
    if action == "request_extension":
        return "request_extension" in legal and lc.pending_extension(s, item) is None
    return ACTIONS[action][0] in legal


def get_item(s: Session, user: User, ref: str | int, *, lang: str = "vi", for_update: bool = False,
             for_action: bool = False) -> WorkItem:
    """The work item ``ref`` (an id, ``#id`` or a CLI reference) if ``user`` may see it.

    An id loads the item with its task, unit, plan and the committee row in one statement
    (``engine.lifecycle.load_item``); ``for_update`` also locks its row (PostgreSQL) — for a
    note, which would otherwise lock it with a second read; ``for_action``: only the columns
    an action reads (a write request, not a page showing the item)."""
    item: WorkItem | None
    raw = str(ref).strip()
    if re.fullmatch(r"\d{1,18}", raw):
        item = lc.load_item(s, int(raw), for_update=for_update, for_action=for_action)
    else:
        try:
            item = lc.resolve_item(s, raw, actor=user.actor, lang=lang)
        except UserError:
            raise NotVisible() from None
    if item is None or not lc.can_see(user.actor, item):
        raise NotVisible()
    if user.via_link and (item.id != user.link_item or item.unit.code != user.link_unit):
        raise NotVisible()
    return item


def _opt_text(v: Any) -> str | None:
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def _opt_int(v: Any, what: str, lang: str) -> int | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        return int(str(v).strip())
    except ValueError:
        raise UserError(f"«{what}» must be a whole number (got «{v}»)." if lang == "en"
                        else f"«{what}» phải là số nguyên (nhận «{v}»).") from None


def _opt_percent(v: Any, lang: str) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    try:
        return float(str(v).strip().rstrip("%").replace(",", "."))
    except ValueError:
        raise UserError(f"Percent must be a number between 0 and 100 (got «{v}»)." if lang == "en"
                        else f"Tỷ lệ hoàn thành phải là số từ 0 đến 100 (nhận «{v}»).") from None


def perform(s: Session, user: User, item: WorkItem, action: str, params: dict[str, Any], *, now: datetime,
            lang: str = "vi") -> Any:
    """Run one action through the engine. Raises the engine's UserError / PermissionDenied / Conflict,
    or ``StateConflict`` (a UserError) when the refusal is due to the item's current state."""
    try:
        return _perform(s, user, item, action, params, now=now, lang=lang)
    except (PermissionDenied, Conflict):
        raise
    except UserError as exc:
        # the engine refuses before writing anything, so the item is still in its state before the call
        if not _legal_now(s, item, action):
            raise StateConflict(str(exc)) from None
        raise


def _perform(s: Session, user: User, item: WorkItem, action: str, params: dict[str, Any], *, now: datetime,
             lang: str = "vi") -> Any:
    if action not in ACTIONS:
        raise UserError(f"unknown action {action}")
    if user.via_link and action not in LINK_ACTIONS:
        raise PermissionDenied("This link cannot be used for that; please log in." if lang == "en"
                               else "Đường dẫn này không dùng được cho thao tác đó; vui lòng đăng nhập.")
    a = user.actor
    version = _opt_int(params.get("version"), "version", lang)
    note = _opt_text(params.get("note"))
    if action == "start":
        return lc.start(s, item, a, now=now, note=note, expected_version=version, lang=lang)
    if action == "submit":
        return lc.submit(s, item, a, now=now, evidence=str(params.get("evidence") or ""), note=note,
                         expected_version=version, lang=lang)
    if action == "note":
        return lc.add_note(s, item, a, now=now, text=str(params.get("text") or ""),
                           percent=_opt_percent(params.get("percent"), lang),
                           evidence=_opt_text(params.get("evidence")), expected_version=version, lang=lang)
    if action == "request_extension":
        raw = str(params.get("until") or "").strip()
        if not raw:
            raise UserError("Give the new deadline (until)." if lang == "en" else "Hãy nhập thời hạn đề nghị gia hạn.")
        until = lc.parse_day(raw, lang=lang)
        return lc.request_extension(s, item, a, now=now, until=until, reason=str(params.get("reason") or ""),
                                    expected_version=version, lang=lang)
    if action == "block":
        return lc.block(s, item, a, now=now, reason=str(params.get("reason") or ""), expected_version=version, lang=lang)
    if action == "unblock":
        return lc.unblock(s, item, a, now=now, note=note, expected_version=version, lang=lang)
    if action == "verify":
        return lc.verify(s, item, a, now=now, note=note, expected_version=version, lang=lang)
    if action == "reject":
        return lc.reject(s, item, a, now=now, reason=str(params.get("reason") or ""), expected_version=version, lang=lang)
    if action == "approve_extension":
        return lc.approve_extension(s, item, a, now=now, note=note, expected_version=version, lang=lang)
    if action == "reject_extension":
        return lc.reject_extension(s, item, a, now=now, reason=str(params.get("reason") or ""),
                                   expected_version=version, lang=lang)
    if action == "ack":
        from engine.escalation import acknowledge

        return acknowledge(s, item, a, now=now, note=note, lang=lang)
    raise UserError(action)  # pragma: no cover

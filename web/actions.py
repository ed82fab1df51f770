"""The web's rules around an action, shared by the HTML pages and the JSON API.

The action itself is ``engine.commands.perform`` (permission, state, version, the one audit
event, an evidence file), with the actor from ``engine.actors.load_actor``. Here we only
make sure an item the user may not see is indistinguishable from one that does not exist
(404), and that a one-click link acts with the actions of ``LINK_ACTIONS`` on its own item only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.commands import COMMANDS, Outcome, StateConflict, command_from, perform, refused
from engine.errors import PermissionDenied, UserError
from engine.i18n import tr
from engine.models import WorkItem
from engine.permissions import OFFERED, can_see
from engine.refs import resolve_item
from engine.txcache import load_item
from web.core import LINK_ACTIONS, User

__all__ = ["NotVisible", "StateConflict", "act", "get_item"]


class NotVisible(Exception):
    """No such item, or the user may not see it (the same answer for both)."""


def get_item(s: Session, user: User, ref: str | int, *, lang: str = "vi", for_update: bool = False,
             for_action: bool = False) -> WorkItem:
    """The work item ``ref`` (an id, ``#id`` or a CLI reference) if ``user`` may see it.

    An id loads the item with its task, unit, plan and the committee row in one statement
    (``engine.txcache.load_item``); ``for_update`` also locks its row (PostgreSQL) — for a
    note, which would otherwise lock it with a second read; ``for_action``: only the columns
    an action reads (a write request, not a page showing the item)."""
    item: WorkItem | None
    raw = str(ref).strip()
    if re.fullmatch(r"\d{1,18}", raw):
        item = load_item(s, int(raw), for_update=for_update, for_action=for_action)
    else:
        try:
            item = resolve_item(s, raw, actor=user.actor, lang=lang)
        except UserError:
            raise NotVisible() from None
    if item is None or not can_see(user.actor, item):
        raise NotVisible()
    if user.via_link and (item.id != user.link_item or item.unit.code != user.link_unit):
        raise NotVisible()
    return item


def act(s: Session, user: User, item: WorkItem, action: str, raw: Mapping[str, Any], *, now: datetime,
        lang: str = "vi", upload_dir: Path | None = None, max_upload_bytes: int | None = None) -> Outcome:
    """Read ``raw`` as the command ``action`` (``engine.commands.command_from``) and ``perform``
    it as ``user`` (a one-click link may do only ``LINK_ACTIONS``). Raises the engine's
    UserError / PermissionDenied / Conflict, or ``StateConflict`` (a Conflict) when the refusal
    is due to the item's current state."""
    cls = COMMANDS[action]
    # a one-click link does only LINK_ACTIONS, and only its person's own part of the work
    # (engine.permissions.OFFERED: a link sent to the chair never starts or submits the item)
    if user.via_link and (cls.name not in LINK_ACTIONS
                          or (cls.permission != "ack" and cls.permission not in OFFERED.get(user.role, ()))):
        raise PermissionDenied(tr(lang, "act.link_refused"))
    try:
        command = command_from(action, raw, lang=lang)
    except UserError as exc:
        err = refused(s, item, cls, exc)
        if err is exc:
            raise
        raise err from None
    return perform(s, user.actor, item, command, now=now, lang=lang, upload_dir=upload_dir,
                   max_upload_bytes=max_upload_bytes)

"""Replay a scripted progress history (YAML): each step is a command (``engine.commands``).

Format (plans/README.md, "History file")::

    plan: KH-57-LS
    steps:
      - {at: "2025-04-02 09:00", as: skhcn_focal, action: start, item: "3"}
      - {at: "2025-05-28 15:30", as: skhcn_focal, action: note, item: "3", note: "...", percent: 70}
      - {at: "...", as: skhcn_focal, action: submit, item: "3", evidence: "Quyết định số 1234/QĐ-UBND"}
      - {at: "...", as: secretariat, action: verify, item: "3"}

``at`` is committee-local time ("YYYY-MM-DD HH:MM", a bare date means 08:00, or ISO with
an offset); ``item`` is a task code of ``plan`` with an optional ``@UNIT`` and
``#OCCURRENCE`` (or a full reference "PLAN/TASK…" or "#123"). Actions (or their aliases in ``engine.commands.COMMANDS``) and their keys:

=====================  ==========================================
start                  note?, override?
submit                 evidence, note?, override?
verify                 note?
reject                 reason
block                  reason
unblock                note?
cancel                 reason
reopen                 reason
note                   note, percent?, evidence?
request_extension      until (date), reason
approve_extension      note?
reject_extension       reason
=====================  ==========================================

Each step runs in its own transaction with ``now`` = the step's time. A failing step is
a ``UserError`` naming the step number, its line and its YAML text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Engine, select

from engine.actors import load_actor
from engine.clock import DEFAULT_TZ, now as clock_now, require_aware
from engine.commands import canonical, command_from, perform
from engine.db import transaction
from engine.errors import UserError
from engine.i18n import tr
from engine.refs import resolve_item
from engine.txcache import committee_settings
from engine.models import Plan

ACTION_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # action: (required keys, optional keys) besides at/as/action/item/version
    "start": (set(), {"note", "override"}),
    "submit": ({"evidence"}, {"note", "override"}),
    "verify": (set(), {"note"}),
    "reject": ({"reason"}, set()),
    "block": ({"reason"}, set()),
    "unblock": (set(), {"note"}),
    "cancel": ({"reason"}, set()),
    "reopen": ({"reason"}, set()),
    "note": ({"note"}, {"percent", "evidence"}),
    "request_extension": ({"until", "reason"}, set()),
    "approve_extension": (set(), {"note"}),
    "reject_extension": ({"reason"}, set()),
}
COMMON_KEYS = {"at", "as", "action", "item", "version"}
# A step's keys that the command calls otherwise (engine.commands.command_from).
STEP_TO_COMMAND: dict[str, dict[str, str]] = {"note": {"note": "text"}}


@dataclass
class ReplayResult:
    steps: int = 0
    by_action: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _step_lines(text: str) -> list[int]:
    """1-based line of each step (best effort; [] if the layout is unusual)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for k, v in root.value:
        if getattr(k, "value", None) == "steps" and isinstance(v, yaml.SequenceNode):
            return [n.start_mark.line + 1 for n in v.value]
    return []


def parse_local_time(value: Any, tz: str, *, lang: str = "vi") -> datetime:
    """A step's ``at``: local "YYYY-MM-DD HH:MM[:SS]", a date (08:00), or ISO with an offset."""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo("UTC")) if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))
    raw = str(value).strip()
    try:
        if len(raw) == 10 and "/" not in raw:
            d = datetime.fromisoformat(raw).date()
            return datetime.combine(d, time(8, 0), tzinfo=ZoneInfo(tz))
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise UserError(tr(lang, "hist.bad_time", raw=raw)) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return require_aware(dt)


def _load(path: Path, lang: str) -> tuple[str, list[Any], list[int]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(tr(lang, "hist.cannot_read", path=path, reason=exc.strerror or exc)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = tr(lang, "hist.where", line=mark.line + 1, column=mark.column + 1) if mark else ""
        raise UserError(tr(lang, "hist.bad_yaml", path=path, where=where, problem=getattr(exc, "problem", exc))) from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not str(data.get("plan") or "").strip():
        raise UserError(tr(lang, "hist.bad_shape", path=path))
    return str(data["plan"]).strip(), data["steps"], _step_lines(text)


def _run_step(engine: Engine, plan: str, step: dict[str, Any], tz: str, now_fn: Callable[[], datetime],
              lang: str) -> str:
    """Validate and perform one step; returns the canonical action name."""
    if not isinstance(step, dict):
        raise UserError(tr(lang, "hist.step_not_mapping"))
    action = canonical(str(step.get("action") or "").strip())
    if action not in ACTION_KEYS:
        raise UserError(tr(lang, "act.unknown", action=step.get("action"), known=", ".join(ACTION_KEYS)))
    required, optional = ACTION_KEYS[action]
    missing = [k for k in ("as", "item", *sorted(required)) if step.get(k) in (None, "")]
    if missing:
        raise UserError(tr(lang, "hist.missing", keys=", ".join(missing)))
    unknown = set(step) - COMMON_KEYS - required - optional
    if unknown:
        raise UserError(tr(lang, "hist.unused_keys", action=action, keys=", ".join(sorted(map(str, unknown)))))
    now = parse_local_time(step["at"], tz, lang=lang) if step.get("at") not in (None, "") else now_fn()
    raw_item = str(step["item"]).strip()
    ref = raw_item if raw_item.startswith("#") or "/" in raw_item else f"{plan}/{raw_item}"
    renamed = STEP_TO_COMMAND.get(action, {})
    command = command_from(action, {renamed.get(k, k): v for k, v in step.items() if k not in ("at", "as", "action", "item")},
                           lang=lang)
    with transaction(engine) as s:
        actor = load_actor(s, str(step["as"]).strip(), lang=lang)
        item = resolve_item(s, ref, actor=actor, lang=lang)
        perform(s, actor, item, command, now=now, lang=lang)
    return action


def replay_history(engine: Engine, path: str | Path, *, now_fn: Callable[[], datetime] | None = None,
                   strict: bool = True, lang: str = "vi") -> ReplayResult:
    """Replay every step; ``now_fn`` gives the time of a step without ``at`` (default: the clock).

    ``strict`` (default): stop at the first failing step with a ``UserError``; otherwise
    collect the messages in ``errors`` and go on."""
    path = Path(path)
    plan, steps, lines = _load(path, lang)
    with transaction(engine) as s:
        if s.execute(select(Plan.id).where(Plan.code == plan)).scalar_one_or_none() is None:
            raise UserError(tr(lang, "hist.plan_not_loaded", path=path, plan=plan))
        tz, _ = committee_settings(s)
    tz = tz or DEFAULT_TZ
    result = ReplayResult()
    for n, step in enumerate(steps, start=1):
        try:
            action = _run_step(engine, plan, step, tz, now_fn or clock_now, lang)
        except UserError as exc:
            line = lines[n - 1] if n - 1 < len(lines) else None
            text = yaml.safe_dump(step, allow_unicode=True, default_flow_style=True, sort_keys=False, width=10_000).strip()
            where = tr(lang, "hist.line", line=line) if line else ""
            msg = tr(lang, "hist.step_failed", file=path.name, n=n, where=where, text=text, error=exc)
            if strict:
                raise UserError(msg) from None
            result.errors.append(msg)
            continue
        result.steps += 1
        result.by_action[action] = result.by_action.get(action, 0) + 1
    return result

"""Unit colour rules for the heat map and the reports' per-unit table (pure: no database).

Two named rules:

``share_due`` (default, like the national monitoring system)
    Of a unit's work items due by the milestone (default: the as-of date: an item due that
    day and not completed by its end counts as not done), the share completed decides the colour:
    green at ``green_at`` (default 90 %) or more, yellow at ``yellow_at`` (default 70 %) or
    more, red below. Items not yet due by the milestone, ongoing tasks and items without a
    deadline are not counted, so "3/4" never mixes in work that is not due. A unit with
    nothing due is green ("nothing due yet"). Optional scope: one plan section
    (``section``) and a fixed milestone date (``milestone``).
``any_overdue`` (the former default)
    Red as soon as ``red.overdue_at_least`` items are overdue; yellow for the due-soon /
    on-time-rate conditions; green otherwise (``engine.reporting.unit_status``).

The reason for each unit is a small dict (``rule``, ``level`` and the figures) so every
renderer can phrase it in its language with :func:`reason_text`; :func:`legend_text` states
the rule itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.days import fmt_date
from engine.i18n import tr

SHARE_DUE = "share_due"
ANY_OVERDUE = "any_overdue"
RULE_NAMES: tuple[str, ...] = (SHARE_DUE, ANY_OVERDUE)
RULE_LABEL_KEYS = {SHARE_DUE: "heat.rule_share_due", ANY_OVERDUE: "heat.rule_any_overdue"}  # catalog keys
DEFAULT_RULE = SHARE_DUE
DEFAULT_GREEN_AT = 0.9
DEFAULT_YELLOW_AT = 0.7
MAX_LISTED = 3  # overdue items named in a reason; the rest are counted ("+2")


@dataclass
class DueTally:
    """One unit's items due by the milestone: how many, how many completed, and the open ones
    whose deadline has passed (``{"task", "ref", "title", "days_overdue"}``, most overdue first)."""

    due: int = 0
    done: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *, completed: bool, overdue_item: Mapping[str, Any] | None = None) -> None:
        self.due += 1
        if completed:
            self.done += 1
        elif overdue_item is not None:
            self.overdue.append(dict(overdue_item))

    def as_dict(self, milestone: date) -> dict[str, Any]:
        items = sorted(self.overdue, key=lambda o: (-int(o.get("days_overdue") or 0), str(o.get("ref"))))
        return {"milestone": milestone.isoformat(), "due": self.due, "done": self.done,
                "share": share_pct(self.done, self.due), "overdue": len(items), "overdue_items": items}


def share_pct(done: int, due: int) -> float | None:
    return round(done * 100.0 / due, 1) if due else None


def share_colour(done: int, due: int, *, green_at: float = DEFAULT_GREEN_AT,
                 yellow_at: float = DEFAULT_YELLOW_AT) -> str:
    """green / yellow / red from the completed share of the items due (nothing due: green).
    Compared in whole items (``done >= green_at * due``) so 9/10 at 90 % is green."""
    if due <= 0:
        return "green"
    if done >= green_at * due - 1e-9:
        return "green"
    if done >= yellow_at * due - 1e-9:
        return "yellow"
    return "red"


def share_status(tally: Mapping[str, Any], *, green_at: float = DEFAULT_GREEN_AT,
                 yellow_at: float = DEFAULT_YELLOW_AT) -> tuple[str, list[dict[str, Any]]]:
    """(colour, [reason]) of the ``share_due`` rule for one unit's :meth:`DueTally.as_dict`."""
    colour = share_colour(tally["done"], tally["due"], green_at=green_at, yellow_at=yellow_at)
    reason = {"rule": SHARE_DUE, "level": colour, "done": tally["done"], "due": tally["due"],
              "share": tally["share"], "overdue": tally["overdue"],
              "overdue_items": [{"task": o.get("task"), "days_overdue": o.get("days_overdue")}
                                for o in tally["overdue_items"][:MAX_LISTED]],
              "milestone": tally["milestone"]}
    return colour, [reason]


def _pct(x: float) -> str:
    return f"{x * 100:g} %"


def _day(iso: str | None) -> str:
    return fmt_date(date.fromisoformat(iso)) if iso else ""


def reason_text(r: Mapping[str, Any], lang: str) -> str:
    """The ``share_due`` reason in words: "3/4 việc đến hạn đã xong; 1 quá hạn: NV 42 (15 ngày)"."""
    if r["due"] == 0:
        return tr(lang, "heat.nothing_due", date=_day(r.get("milestone")))
    text = tr(lang, "heat.done_of_due", done=r["done"], due=r["due"])
    if r["overdue"]:
        items = ", ".join(tr(lang, "heat.overdue_item", task=o["task"], days=o["days_overdue"])
                          for o in r["overdue_items"])
        more = r["overdue"] - len(r["overdue_items"])
        if more > 0:
            items += tr(lang, "heat.and_more", n=more)
        text += "; " + tr(lang, "heat.overdue_list", n=r["overdue"], items=items)
    return text


def legend_text(rules: Mapping[str, Any], lang: str, *, milestone: str | None = None) -> str | None:
    """The ``share_due`` rule in words (None for another rule: the caller states that one)."""
    if rules.get("rule", DEFAULT_RULE) != SHARE_DUE:
        return None
    g, y = rules.get("green_at", DEFAULT_GREEN_AT), rules.get("yellow_at", DEFAULT_YELLOW_AT)
    text = tr(lang, "heat.legend_share", green=_pct(g), yellow=_pct(y),
              date=_day(milestone or rules.get("milestone")))
    if rules.get("section"):
        text += " " + tr(lang, "heat.legend_section", section=rules["section"])
    return text


def parse_share(raw: Mapping[str, Any], *, source: str, lang: str) -> dict[str, Any]:
    """The top-level keys of a rules mapping: ``rule``, ``green_at``, ``yellow_at``,
    ``milestone`` (a date), ``section`` (a plan section code). Raises ``UserError``."""
    from engine.errors import UserError

    out: dict[str, Any] = {}
    if "rule" in raw:
        name = raw["rule"]
        if name not in RULE_NAMES:
            raise UserError(tr(lang, "heat.unknown_rule", where=f"{source}.rule", v=name, names=", ".join(RULE_NAMES)))
        out["rule"] = name
    for k in ("green_at", "yellow_at"):
        if k in raw:
            v = raw[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UserError(tr(lang, "rep.must_be_number_got", where=f"{source}.{k}", v=v))
            rate = float(v) / 100 if v > 1 else float(v)
            if not 0 <= rate <= 1:
                raise UserError(tr(lang, "rep.must_be_within_0_1", where=f"{source}.{k}", v=v))
            out[k] = rate
    if out.get("yellow_at", DEFAULT_YELLOW_AT) > out.get("green_at", DEFAULT_GREEN_AT):
        raise UserError(tr(lang, "heat.yellow_above_green", where=source))
    if raw.get("milestone") is not None:
        v = raw["milestone"]
        try:
            out["milestone"] = v if isinstance(v, date) else date.fromisoformat(str(v))
        except ValueError:
            raise UserError(tr(lang, "heat.bad_milestone", where=f"{source}.milestone", v=v)) from None
    if raw.get("section") is not None:
        out["section"] = str(raw["section"])
    return out


def order_key(u: Mapping[str, Any]) -> tuple[Any, ...]:
    """Worst first within a colour is the caller's business; this ranks best first: colour, then
    the higher share of due items done, fewer overdue."""
    t = u.get("due_tally") or {}
    share = t.get("share")
    return ({"green": 0, "yellow": 1, "red": 2}[u["status"]], -(share if share is not None else 100.0),
            int(t.get("overdue") or 0))


__all__: Sequence[str] = ("ANY_OVERDUE", "DEFAULT_RULE", "DueTally", "RULE_LABEL_KEYS", "RULE_NAMES", "SHARE_DUE", "legend_text",
                          "order_key", "parse_share", "reason_text", "share_colour", "share_pct", "share_status")

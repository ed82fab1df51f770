"""The chair's heat map: each unit green / yellow / red for the current month.

The colours are exactly the report's (``engine.reporting.build_report`` → ``units``,
rules from the committee settings; ``rule`` picks a named rule of ``engine.heatrules``:
``share_due`` (default) or ``any_overdue``), computed as of the committee-local today. Each
card carries its reason in words and the figures of the items due (never mixing items not
yet due). The result is cached per (plan, rule, day, head of the event log): any recorded
change invalidates it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import ChainHead, Plan
from engine.states import PlanStatus

_LOCK = threading.Lock()
_CACHE: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_MAX = 16


def top_plans(session: Session) -> list[Plan]:
    return list(session.execute(select(Plan).where(Plan.status != PlanStatus.CANCELLED, Plan.parent_plan_id.is_(None))
                                .order_by(Plan.code)).scalars())


def _day(text: str | None) -> str | None:
    """dd/mm/yyyy or YYYY-MM-DD → ISO (parse_share checks it); empty → None."""
    if not text:
        return None
    parts = text.strip().split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[2]):04d}-{int(parts[1]):02d}-{int(parts[0]):02d}"
    return text.strip()


def heatmap(session: Session, *, now: datetime, plan_code: str | None = None, lang: str = "vi",
            db_key: str = "", rule: str | None = None, section: str | None = None,
            milestone: str | None = None) -> dict[str, Any] | None:
    """``{"plan", "plans", "period", "as_of", "rule", "rules", "legend", "units": [{code, name, status,
    counts, reasons, reason, due_tally, rank}]}`` (units worst first: red, yellow, green; then the
    lower share of due items done, more overdue first), or None when no plan is loaded.
    ``section`` (a plan section code) and ``milestone`` (a date) narrow the ``share_due`` rule.
    ``UserError`` for an unknown plan code, rule name or a bad milestone."""
    from engine import heatrules
    from engine.i18n import tr
    from engine.render.view import reason_text, rules_text
    from engine.reporting import build_report, committee_rules, committee_today, with_rule

    plans = top_plans(session)
    if not plans:
        return None
    code = plan_code or plans[0].code
    today = committee_today(session, now)
    head = session.execute(select(ChainHead.last_event_id, ChainHead.count).where(ChainHead.id == 1)).first()
    rules = with_rule(committee_rules(session, lang=lang), rule, lang=lang)
    scope = heatrules.parse_share({"section": section or None, "milestone": _day(milestone)},
                                  source="heatmap", lang=lang)
    if scope:
        from dataclasses import replace

        rules = replace(rules, **scope)
    key = (db_key, code, rules, today, tuple(head) if head else None, lang)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    data = build_report(session, plan_code=code, kind="monthly", as_of=today, rules=rules, lang=lang)
    sections = [x["code"] for x in data.get("sections", []) if x.get("code")]
    if rules.section is not None and rules.section not in sections:
        from engine.errors import UserError

        raise UserError(tr(lang, "heat.unknown_section", section=rules.section, plan=code,
                           sections=", ".join(sections)))
    worst_first = {"red": 0, "yellow": 1, "green": 2}

    def share(u: dict[str, Any]) -> float:
        s = u["due_tally"]["share"]
        return 100.0 if s is None else float(s)

    units = sorted(data.get("units", []), key=lambda u: (worst_first.get(u["status"], 3), share(u),
                                                         -int(u["counts"].get("overdue") or 0), u["unit"]))
    out = {
        "plan": data["plan"]["code"], "plan_title": data["plan"].get("title"),
        "plans": [p.code for p in plans],
        "period": data["period"].get("label"), "period_key": data["period"].get("key"),
        "as_of": data.get("as_of") or today.isoformat(),
        "rule": rules.rule, "section": rules.section, "sections": sections,
        "milestone": rules.milestone.isoformat() if rules.milestone else "",
        "rules": [(name, tr(lang, heatrules.RULE_LABEL_KEYS[name])) for name in heatrules.RULE_NAMES], "legend": rules_text(data, lang),
        "units": [{"code": u["unit"], "name": u["name"], "status": u["status"], "counts": u["counts"],
                   "reasons": u.get("reasons", []), "due_tally": u["due_tally"],
                   "reason": "; ".join(reason_text(r, lang) for r in u.get("reasons", []))
                   or heatrules.reason_text(heatrules.share_status(u["due_tally"])[1][0], lang),
                   "rank": u.get("rank")} for u in units],
    }
    out["children"] = _children(session, data["plan"]["code"], today, rules, lang)
    with _LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _MAX:
            _CACHE.popitem(last=False)
    return out


def _children(session: Session, code: str, today: Any, rules: Any, lang: str) -> dict[str, Any] | None:
    """The plan's child plans in this instance (engine.rollup.child_plans), or None without any."""
    from engine.rollup import child_plans

    parent_id = session.execute(select(Plan.id).where(Plan.code == code)).scalar_one_or_none()
    has = session.execute(select(Plan.id).where(Plan.parent_plan_id == parent_id,
                                                Plan.status != PlanStatus.CANCELLED).limit(1)).first()
    return child_plans(session, code, as_of=today, rules=rules, lang=lang) if has else None

"""Escalation: the policy applied to the work items → rows in the outbox (set-based).

``detect(session, now=…, policy=…)`` writes one outbox row per (work item, level,
occurrence, recipient) that the policy (``engine.policy``) calls for at ``now``, with one
``INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING`` whose SELECT is the union of
every rule's branches (``rules``: per level, weekly, pending extension requests, pending
verifications; one scan of the items per rule and group of recipients) — never a Python
loop over the items.
The dedupe key is ``"{level}:{occurrence}:{item}:{recipient}"``; the occurrence is the
deadline in force for the levels (so an approved extension starts them again), the ISO
week for the weekly digest, the request for pending extensions and the submission time
for pending verifications. Running detection twice, or on two workers at once, never
creates a second row. The level and the occurrence lead the key so that a day's new rows
(and the lookups of the rows that exist) fall on a few neighbouring pages of its unique
index: the rows of one window share a level and a narrow range of deadlines, whereas item
ids are scattered (measured, 1M items: with the item first each new row dirtied pages of
its own all over the index).

Levels are decided from state (``engine.policy``): a level fires once per deadline at the
first run after its threshold is crossed, and when several were crossed since the last run
the highest one reached fires. The level an item has reached on ``today`` is the one whose
window of working days (``Policy.windows``) holds it, so "the highest level reached and not
fired yet" is exactly the window's rule minus the rows that exist: a run after days of
downtime finds every item in the window of the highest level it reached. The lower levels it
skipped are not sent (a "7 days before" reminder for an overdue item would be stale, and one
found but sent after the deadline is dropped when the digest is built), except that the lead
unit is always told once that its item is overdue (``_lead_unit_catch_up``). For a given
``today`` every window is an interval of deadlines, computed here with the working-day
calendar, so each rule is a range condition on ``work_item.deadline`` served by the
(status, deadline) index.
The levels and the weekly digest concern items the lead unit still has to act on (not
started, in progress, blocked); a submitted item waits for the secretariat instead
(``verification_pending``). The open-ended windows (the last level, the weekly digest) are
incremental: after a first run they only look at the deadlines that entered them and the
items changed (``WorkItem.updated_at``) since the previous run — a full rescan
(``incremental=False``) finds nothing more, which the 60-day walk test checks. So are the
submissions waiting for verification (only those that crossed the cut-off since the previous
run, and the items changed since, are looked at). The bounded
windows are examined whole every run; the rows they already have are dropped before the
INSERT (SQLite: ``NOT EXISTS`` on the dedupe key, an index probe per item; PostgreSQL: a
hashed anti-join against the keys of the level's rows for the window's deadlines, one range of
the unique index, ``keys_between``) rather than left to ON CONFLICT, which only settles races.
When detection last ran (what "incremental" starts from) is one ``DetectionRun`` row per pass.

Acknowledgements (``acknowledge``): a recipient who acknowledges an item stops the levels
up to the current one (and the weekly repeats) for themselves, until the next level or a
new deadline.

Also here: the recipients' targets (``recipient_targets``) and the data of one digest
message (``build_digest``); rendering and sending live in ``notifications/``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BigInteger as sa_BigInteger
from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from engine.clock import DEFAULT_TZ, local_date, local_datetime, require_aware
from engine.errors import PermissionDenied, UserError
from engine.i18n import norm_lang, tr
from engine.lifecycle import append_item_event
from engine.models import (
    DetectionRun,
    EscalationAck,
    Event,
    ExtensionRequest,
    OutboxMessage,
    Person,
    Plan,
    Task,
    Unit,
    UTCDateTime,
    WorkItem,
)
from engine.policy import (
    EXTENSION_RANK,
    VERIFICATION_RANK,
    WEEKLY_RANK,
    Policy,
    calendar_from_settings,
    load_policy,
    with_override,
)
from engine.permissions import may_acknowledge
from engine.refs import item_ref, item_refs
from engine.states import OPEN_STATES, ExtensionStatus, Role, Status
from engine.txcache import committee_row
from engine.workdays import WorkCalendar

# Items the lead unit still has to act on: the levels and the weekly digest apply to these.
# A submitted item waits for the secretariat instead (rule verification_pending).
LEVEL_STATES: tuple[str, ...] = (Status.NOT_STARTED, Status.IN_PROGRESS, Status.BLOCKED)
EXTENSION_LEVEL = "extension_pending"
VERIFICATION_LEVEL = "verification_pending"
FAILURE_LEVEL = "delivery_failed"
WEEKLY_LEVEL = "weekly"
SCAN_LIMIT_DAYS = 3660  # how far the working-day scans may look (10 years)
# Items changed this long before the previous run are looked at again (clock skew, a run
# whose snapshot predates a concurrent change).
RECHECK_MARGIN = timedelta(hours=1)
# Filter rows that already exist with NOT EXISTS before inserting? Measured (bench/
# escalation_scan.py): a clear win on SQLite, where a conflicting INSERT costs far more than
# an index probe; on PostgreSQL the planner turns it into a hash anti-join over the whole
# outbox, slower than letting ON CONFLICT skip the few existing rows — there the bounded
# windows get an anti-join restricted to their level and deadlines instead (Rule.known).
ANTI_JOIN = {"sqlite": True, "postgresql": False}


# --- context ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyScope:
    """A policy and the plans it governs (``plan_ids`` None = every plan not listed elsewhere)."""

    policy: Policy
    plan_ids: tuple[int, ...] | None
    excluded: tuple[int, ...] = ()


@dataclass(frozen=True)
class Context:
    now: datetime
    today: date
    tz: str
    calendar: WorkCalendar
    policy: Policy  # the committee-wide one (delivery, language, quiet hours)
    scopes: tuple[PolicyScope, ...]
    language: str
    committee_name: str


def committee(session: Session) -> tuple[str, dict[str, Any], str]:
    """(timezone, settings, display name) of the committee (defaults without a row)."""
    c = committee_row(session)
    if c is None:
        return DEFAULT_TZ, {}, "Ban Chỉ đạo"
    return c.timezone or DEFAULT_TZ, dict(c.settings or {}), c.short_name or c.name


def context(session: Session, *, now: datetime, policy: Policy | None = None, lang: str = "vi") -> Context:
    """Everything a run needs: local date, calendar, the policy and each plan's override.

    ``policy``: the committee-wide policy (default: ``plans/escalation-policy.yaml`` with
    the committee's ``settings["escalation"]`` on top). Plans with ``settings["escalation"]``
    get their own scope."""
    require_aware(now)
    tz, settings, name = committee(session)
    base = policy or with_override(load_policy(lang=lang), settings.get("escalation"),
                                   source="committee.settings.escalation", lang=lang)
    scopes: list[PolicyScope] = []
    overridden: list[int] = []
    for pid, code, psettings in session.execute(select(Plan.id, Plan.code, Plan.settings).order_by(Plan.id)).all():
        override = (psettings or {}).get("escalation")
        if override:
            scopes.append(PolicyScope(with_override(base, override, source=f"plan {code}: settings.escalation", lang=lang),
                                      (pid,)))
            overridden.append(pid)
    scopes.append(PolicyScope(base, None, tuple(overridden)))
    language = base.language or str(settings.get("language") or "vi")
    return Context(now=now, today=local_date(now, tz), tz=tz, calendar=calendar_from_settings(settings, lang=lang),
                   policy=base, scopes=tuple(scopes), language=norm_lang(language),
                   committee_name=name)


# --- working-day windows → deadline intervals -------------------------------------------------------


def overdue_range(today: date, low: int, high: int | None, calendar: WorkCalendar) -> tuple[date | None, date] | None:
    """Deadlines ``d < today`` with ``low <= working_days_between(d, today) <= high`` as
    (earliest or None = unbounded, latest); None when no deadline qualifies."""
    latest: date | None = None
    d = today - timedelta(days=1)
    late = 1 if calendar.is_working_day(today) else 0  # working days in (d, today]
    for _ in range(SCAN_LIMIT_DAYS):
        if latest is None and late >= low:
            latest = d
            if high is None:
                return None, latest
        if high is not None and late > high:
            return (d + timedelta(days=1), latest) if latest is not None else None
        late += 1 if calendar.is_working_day(d) else 0
        d -= timedelta(days=1)
    return (None, latest) if latest is not None else None


def before_range(today: date, low: int, high: int, calendar: WorkCalendar) -> tuple[date, date] | None:
    """Deadlines ``d >= today`` with ``low <= working_days_between(today, d) <= high``."""
    earliest: date | None = None
    d, left = today, 0  # working days in (today, d]
    for _ in range(SCAN_LIMIT_DAYS):
        nxt = left + (1 if calendar.is_working_day(d + timedelta(days=1)) else 0)
        if earliest is None and left >= low:
            earliest = d
        if earliest is not None and nxt > high:
            return earliest, d
        d, left = d + timedelta(days=1), nxt
    return None  # pragma: no cover


def cutoff_instant(today: date, working_days: int, calendar: WorkCalendar, tz: str) -> datetime:
    """Instants strictly before this are at least ``working_days`` working days before ``today``
    (counting by local date: ``working_days_between(local_date(t), today) >= working_days``)."""
    d, n = today, 0
    while n < working_days:
        n += 1 if calendar.is_working_day(d) else 0
        d -= timedelta(days=1)
    # d is the latest local date with working_days_between(d, today) >= working_days
    return local_datetime(d + timedelta(days=1), time(0, 0), tz)


def iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


# --- recipients ------------------------------------------------------------------------------------


def overseer_map(session: Session) -> dict[int, str]:
    """unit id → id of the active vice-chair whose ``oversees`` lists the unit (or one of its
    groups); the first vice-chair by id wins when several do."""
    units = session.execute(select(Unit.id, Unit.code, Unit.groups, Unit.members)).all()
    out: dict[int, str] = {}
    vcs = session.execute(select(Person.id, Person.oversees)
                          .where(Person.role == Role.VICE_CHAIR, Person.active.is_(True)).order_by(Person.id)).all()
    groups_of: dict[str, set[str]] = defaultdict(set)
    for _, code, _, members in units:
        for m in members or []:
            groups_of[m].add(code)
    for pid, oversees in vcs:
        over = set(oversees or [])
        if not over:
            continue
        for uid, code, groups, members in units:
            if uid in out:
                continue
            if code in over or over & (set(groups or []) | groups_of.get(code, set())) or over & set(members or []):
                out[uid] = pid
    return out


def _overseer_expr(mapping: dict[int, str]) -> Any:
    """The unit → overseeing vice-chair mapping as SQL: one ``WHEN unit_id IN (…) THEN :vc``
    per vice-chair, the unit ids written inline (integers, so safe) — a national directory
    has thousands of units, which as bound parameters would be thousands per use."""
    if not mapping:
        return type_coerce(null(), String)
    units_of: dict[str, list[int]] = defaultdict(list)
    for uid, pid in mapping.items():
        units_of[pid].append(int(uid))
    whens = [(WorkItem.unit_id.in_([literal_column(str(u)) for u in sorted(units)]), literal(pid, String))
             for pid, units in sorted(units_of.items())]
    return type_coerce(case(*whens, else_=null()), String)


def recipient_label(session: Session, recipient: str) -> str:
    kind, _, ident = recipient.partition(":")
    if kind == "unit":
        name = session.execute(select(Unit.name).where(Unit.code == ident)).scalar_one_or_none()
        return name or ident
    name = session.execute(select(Person.name).where(Person.id == ident)).scalar_one_or_none()
    return name or ident


def recipient_targets(session: Session, recipient: str) -> list[str]:
    """The notify URLs of a recipient (secret: never print them).

    ``unit:CODE`` → the unit's own ``notify`` URLs and those of its active focal points;
    ``person:ID`` → the person's (nothing when inactive)."""
    kind, _, ident = recipient.partition(":")
    urls: list[str] = []
    if kind == "unit":
        unit = session.execute(select(Unit).where(Unit.code == ident)).scalar_one_or_none()
        if unit is None:
            return []
        urls.extend(unit.notify or [])
        for notify in session.execute(select(Person.notify).where(
                Person.unit_id == unit.id, Person.role == Role.FOCAL_POINT, Person.active.is_(True))
                .order_by(Person.id)).scalars():
            urls.extend(notify or [])
    elif kind == "person":
        p = session.get(Person, ident)
        if p is not None and p.active:
            urls.extend(p.notify or [])
    seen: set[str] = set()
    return [u for u in (str(x).strip() for x in urls) if u and not (u in seen or seen.add(u))]


# --- detection --------------------------------------------------------------------------------------


@dataclass
class DetectResult:
    today: date
    not_before: datetime
    inserted: int = 0
    by_level: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


@dataclass(frozen=True)
class Planned:
    """A row detection would write (dry run)."""

    level: str
    level_rank: int
    occurrence: str
    work_item_id: int
    deadline: date | None
    recipient: str
    dedupe_key: str


_COLUMNS = ("dedupe_key", "level", "level_rank", "occurrence", "work_item_id", "deadline", "recipient", "status",
            "not_before", "next_attempt_at", "attempts", "created_at")


@dataclass(frozen=True)
class Rule:
    """One rule of one policy scope at ``ctx.now``: the work items it examines (``where``,
    on ``WorkItem`` joined to ``Task``, or on ``extra_from``) and whom it tells."""

    name: str  # the level name, "weekly", "extension_pending" or "verification_pending"
    scope: PolicyScope
    rank: int
    occurrence: Any
    where: tuple[Any, ...]
    roles: tuple[str, ...]
    ack_rank: int | None
    extra_from: Any = None
    # PostgreSQL: where this rule's existing rows are looked up for the anti-join (None: not
    # at all, ON CONFLICT skips them): the rows of the level with a deadline in this range
    # (a bound None = open)
    known: tuple[date | None, date | None] | None = None
    backlog: bool = False  # an open-ended window examined whole (the first run, a new week, a rescan)


class _Builder:
    """The SELECT branches of one rule: one scan of the items per group of recipient roles."""

    def __init__(self, ctx: Context, scope: PolicyScope, not_before: datetime, mapping: dict[int, str],
                 has_acks: bool = True, dialect: str = "sqlite", overseer: Any = None):
        self.ctx, self.scope, self.mapping = ctx, scope, mapping
        # the unit → vice-chair CASE (one branch per unit): built once, shared by every branch
        self.overseer = overseer if overseer is not None else _overseer_expr(mapping)
        self.not_before = not_before
        self.has_acks = has_acks
        self.anti_join = ANTI_JOIN.get(dialect, True)

    def branches(self, roles: Sequence[str], **kw: Any) -> list[Any]:
        """The branches for ``roles``. The person roles (chair, secretariat, vice-chair) share
        one branch — one scan of the items joined to the people — so a person holding two of
        them gets one row. The lead unit joins that scan too when no vice-chair is asked
        for (e.g. ``overdue: [lead_unit, secretariat]``: one scan, three rows per item)."""
        person_roles = tuple(r for r in roles if r in ("secretariat", "chair", "vice_chair"))
        rest = [r for r in roles if r not in person_roles]
        if "lead_unit" in rest and person_roles and "vice_chair" not in person_roles:
            rest.remove("lead_unit")
            out = [self.branch(r, **kw) for r in rest]
            out.append(self.branch("unit_and_staff", person_roles=person_roles, **kw))
            return out
        out = [self.branch(r, **kw) for r in rest]
        if person_roles:
            out.append(self.branch("people", person_roles=person_roles, **kw))
        return out

    def _plan_filter(self) -> Any:
        return _plan_filter(self.scope)

    def branch(self, role: str, *, level: str, rank: int, occurrence: Any, where: Sequence[Any],
               ack_rank: int | None, extra_from: Any = None, person_roles: tuple[str, ...] = (),
               known: tuple[date | None, date | None] | None = None) -> Any:
        w, t, u = WorkItem, Task, Unit
        conds = list(where)
        pf = self._plan_filter()
        if pf is not None:
            conds.append(pf)
        stmt_from: Any = extra_from if extra_from is not None else w
        joins: list[tuple[Any, Any]] = [(t, t.id == w.task_id)]
        if role == "lead_unit":
            joins.append((u, u.id == w.unit_id))
            rcpt = literal("unit:", String) + u.code
        elif role == "unit_and_staff":
            # the unit's row (pid NULL) and one row per active staff member, from one scan
            p = aliased(Person)
            staff = list(person_roles)
            people = select(type_coerce(p.id, String).label("pid")).where(
                p.active.is_(True), p.role.in_(staff) if len(staff) > 1 else p.role == staff[0])
            rcpts = union_all(select(type_coerce(null(), String).label("pid")), people).subquery("rcpt")
            joins.append((u, u.id == w.unit_id))
            joins.append((rcpts, literal(True)))
            rcpt = case((rcpts.c.pid.is_(None), literal("unit:", String) + u.code),
                        else_=literal("person:", String) + rcpts.c.pid)
        elif role == "people":
            p = aliased(Person)
            staff = [r for r in person_roles if r != "vice_chair"]
            who = []
            if staff:
                who.append(p.role.in_(staff) if len(staff) > 1 else p.role == staff[0])
            if "vice_chair" in person_roles:
                who.append(p.id == func.coalesce(t.vice_chair_id, self.overseer))
            joins.append((p, and_(p.active.is_(True), or_(*who) if len(who) > 1 else who[0])))
            rcpt = literal("person:", String) + p.id
        elif role == "secretariat_if_no_vice_chair":
            vc = func.coalesce(t.vice_chair_id, self.overseer)
            conds.append(vc.is_(None))
            p = aliased(Person)
            joins.append((p, and_(p.role == Role.SECRETARIAT, p.active.is_(True))))
            rcpt = literal("person:", String) + p.id
        else:  # pragma: no cover - validated by the policy parser
            raise ValueError(role)
        if ack_rank is not None and self.has_acks:
            conds.append(~exists().where(EscalationAck.work_item_id == w.id, EscalationAck.recipient == rcpt,
                                         EscalationAck.deadline == w.deadline, EscalationAck.level_rank >= ack_rank))
        key = literal(f"{level}:", String) + occurrence + literal(":", String) + cast(w.id, String) \
            + literal(":", String) + rcpt
        o = OutboxMessage
        if self.anti_join:
            # SQLite: rows that already exist are dropped before the (slow) INSERT machinery;
            # ON CONFLICT still settles a race between two workers
            conds.append(~exists().where(o.dedupe_key == key))
        core = select(
            key.label("dedupe_key"), literal(level, String).label("level"), literal(rank, Integer).label("level_rank"),
            occurrence.label("occurrence"), w.id.label("work_item_id"), w.deadline.label("deadline"),
            rcpt.label("recipient"),
        ).select_from(stmt_from)
        for target, onclause in joins:
            core = core.join(target, onclause)
        core = core.where(and_(*conds))
        if known is not None and not self.anti_join:
            # PostgreSQL, windows whose items mostly got their row on an earlier day: the keys
            # of this level's rows for these deadlines — one range of the unique index
            # (keys_between; written together, so on few pages) — hashed once, instead of one
            # unique-index probe per item inside ON CONFLICT (which still settles the rest: a
            # race between two workers). Restricted to the window: unrestricted, it would
            # hash the whole outbox. Written NOT IN (keys are never NULL), which PostgreSQL
            # runs as a hashed subplan whatever it estimates: its estimate of a short range of
            # a unique text key is one row, and as an anti-join it then chose a nested loop
            # comparing every item with every key (measured, 1M items: 14 s instead of 0.1 s).
            lo, hi = keys_between(level, known[0], known[1])
            core = core.where(key.not_in(select(o.dedupe_key).where(o.dedupe_key >= lo, o.dedupe_key < hi)))
        nb = literal(self.not_before, UTCDateTime())
        # "pending" = engine.outbox.OutboxStatus.PENDING (not imported: engine.outbox imports this module)
        return core.add_columns(literal("pending", String).label("status"), nb.label("not_before"),
                                literal(self.not_before, UTCDateTime()).label("next_attempt_at"),
                                literal(0, Integer).label("attempts"),
                                literal(self.ctx.now, UTCDateTime()).label("created_at"))


def keys_between(level: str, first: date | None, last: date | None) -> tuple[str, str]:
    """The dedupe keys of ``level``'s rows whose occurrence (a level's is its deadline, ISO
    text) lies in [first, last], as the half-open range [lo, hi) of the unique index; a
    bound None is open. Exact because the keys are compared bytewise (outbox.dedupe_key)
    and the level names hold no ``:`` (engine.policy)."""
    lo = f"{level}:{first.isoformat()}:" if first is not None else f"{level}:"
    hi = f"{level}:{last.isoformat()};" if last is not None else f"{level};"  # ";" follows ":"
    return lo, hi


def _plan_filter(scope: PolicyScope) -> Any:
    if scope.plan_ids is not None:
        return Task.plan_id.in_(scope.plan_ids)
    if scope.excluded:
        return Task.plan_id.not_in(scope.excluded)
    return None


def _not_ongoing() -> Any:
    return or_(Task.deadline_kind.is_(None), Task.deadline_kind != "ongoing")


def _epoch_text(col: Any, dialect: str) -> Any:
    """Seconds since 1970 of a timestamp column, as text (stable whatever the session timezone)."""
    if dialect == "postgresql":
        return cast(cast(func.extract("epoch", col), sa_BigInteger), String)
    return cast(func.strftime("%s", col), String)


def _changed_since(since: datetime, dialect: str) -> Any:
    """Items changed since ``since`` (``WorkItem.updated_at``), as a condition the planner
    serves from ``ix_work_item_updated_at``. PostgreSQL does with the plain range (a bitmap
    OR next to the deadline range); SQLite's statistics see one ``updated_at`` for a whole
    plan load and would rather walk the (status, deadline) index over the whole backlog, so
    the changed ids are given as a list it looks up by rowid."""
    if dialect == "postgresql":
        return WorkItem.updated_at >= since
    changed = aliased(WorkItem)
    return WorkItem.id.in_(select(changed.id).where(changed.updated_at >= since))


def rules(ctx: Context, *, dialect: str = "sqlite", previous: datetime | None = None) -> list[Rule]:
    """Every rule of every policy scope at ``ctx.now``, with the items each one examines.

    ``previous``: when the last detection ran (``last_run``). The open-ended windows (the
    last overdue level, the weekly digest) then only look at what can lack a row: the
    deadlines that entered the window since then, and the items changed since then
    (``WorkItem.updated_at``: status, deadline, new items); everything else was handled by
    that run. Without it every window is scanned whole. The bounded windows are always
    examined whole (a new recipient, task or policy shows there the next day)."""
    out: list[Rule] = []
    cal, today = ctx.calendar, ctx.today
    since = previous - RECHECK_MARGIN if previous is not None and previous <= ctx.now else None
    prev_day = local_date(since, ctx.tz) if since is not None else None
    w = WorkItem
    for scope in ctx.scopes:
        pol = scope.policy
        # ISO text: SQLite stores dates so; PostgreSQL prints them so under DateStyle ISO, the
        # only one psycopg reads timestamps in (so the only one Steer runs under)
        occ_deadline = cast(w.deadline, String)
        for lv, low, high in pol.windows():
            if lv.kind == "before":
                rng = before_range(today, low, high if high is not None else low, cal)
                if rng is None:
                    continue
                where = [w.status.in_(LEVEL_STATES), w.deadline >= rng[0], w.deadline <= rng[1], _not_ongoing()]
                window: tuple[date, date] | None = rng
                backlog = False
            else:
                orng = overdue_range(today, low, high, cal)
                if orng is None:
                    continue
                lo, hi = orng
                where = [w.status.in_(LEVEL_STATES), w.deadline <= hi, _not_ongoing()]
                window = (lo, hi) if lo is not None else None
                backlog = lo is None
                if lo is not None:
                    where.append(w.deadline >= lo)
                elif prev_day is not None:  # open-ended: incremental since the previous run
                    before = overdue_range(prev_day, low, None, cal)
                    if before is not None:
                        where.append(or_(w.deadline > before[1], _changed_since(since, dialect)))  # type: ignore[arg-type]
                        backlog = False
            out.append(Rule(lv.name, scope, lv.rank, occ_deadline, tuple(where), tuple(lv.to), lv.rank,
                            known=window, backlog=backlog))
        out.extend(_lead_unit_catch_up(scope, ctx, occ_deadline, prev_day, since, dialect))
        if pol.weekly.enabled:
            week_start = today - timedelta(days=today.weekday())
            ref = week_start - timedelta(days=1)  # the Sunday before: the state when the week began
            hi = _weekly_latest(ref, pol.weekly.working_days, cal)
            if hi is not None:
                where = [w.status.in_(LEVEL_STATES), w.deadline <= hi, _not_ongoing()]
                same_week = prev_day is not None and iso_week(prev_day) == iso_week(today)
                if same_week:
                    where.append(_changed_since(since, dialect))  # type: ignore[arg-type]  # the week's set was written by that run
                out.append(Rule(WEEKLY_LEVEL, scope, WEEKLY_RANK, literal(iso_week(today), String), tuple(where),
                                tuple(pol.weekly.to), 0, backlog=not same_week))
        if pol.extension_pending.enabled:
            cutoff = cutoff_instant(today, pol.extension_pending.working_days, cal, ctx.tz)
            r = ExtensionRequest
            roles: list[str] = []
            for role in pol.extension_pending.to:
                if role == "approver":
                    roles += ["vice_chair", "secretariat_if_no_vice_chair"]
                else:
                    roles.append(role)
            out.append(Rule(EXTENSION_LEVEL, scope, EXTENSION_RANK, literal("r", String) + cast(r.id, String),
                            (r.status == ExtensionStatus.PENDING, r.requested_at < cutoff), tuple(dict.fromkeys(roles)), None,
                            r.__table__.join(w.__table__, w.id == r.work_item_id)))
        if pol.verification_pending.enabled:
            days = pol.verification_pending.working_days
            cutoff = cutoff_instant(today, days, cal, ctx.tz)
            where = [w.status == Status.SUBMITTED, w.submitted_at.is_not(None), w.submitted_at < cutoff]
            if prev_day is not None:
                # incremental like the open-ended windows: the submissions that crossed the
                # cut-off since the previous run (a resubmission gets a new time, so it is one
                # of them), and the items changed since (e.g. a status imported with an old
                # submission time); the others got their row from an earlier run
                where.append(or_(w.submitted_at >= cutoff_instant(prev_day, days, cal, ctx.tz),
                                 _changed_since(since, dialect)))  # type: ignore[arg-type]
            out.append(Rule(VERIFICATION_LEVEL, scope, VERIFICATION_RANK,
                            literal("s", String) + _epoch_text(w.submitted_at, dialect),
                            tuple(where), tuple(pol.verification_pending.to), None))
    return out


def _lead_unit_catch_up(scope: PolicyScope, ctx: Context, occurrence: Any, prev_day: date | None,
                        since: datetime | None, dialect: str) -> list[Rule]:
    """The lead unit is told once that its item is overdue even when no run happened while
    the item was in the window of the lead unit's level (``Policy.lead_unit_level``): a plan
    loaded with old deadlines, a server down for longer than the window. One open-ended rule
    over the deadlines beyond that window, for the lead unit alone, under the lead unit's
    level and key (so the unit is told at most once per deadline, whichever rule tells it).
    Incremental like the other open-ended windows: after a first run it looks only at the
    deadlines that left the window since the previous run (those the runs missed) and the
    items changed since (a plan loaded late, a reopened item); the others were told in the
    window or by an earlier run."""
    pol = scope.policy
    lv = pol.lead_unit_level
    if lv is None:
        return []
    high = next((h for level, _, h in pol.windows() if level.name == lv.name), None)
    if high is None:  # the lead unit's level is open-ended: its own rule covers everything
        return []
    cal, today, w = ctx.calendar, ctx.today, WorkItem
    orng = overdue_range(today, high + 1, None, cal)
    if orng is None:
        return []
    where = [w.status.in_(LEVEL_STATES), w.deadline <= orng[1], _not_ongoing()]
    backlog = True
    if prev_day is not None and since is not None:
        before = overdue_range(prev_day, high + 1, None, cal)
        if before is not None:
            where.append(or_(w.deadline > before[1], _changed_since(since, dialect)))  # type: ignore[arg-type]
            backlog = False
    return [Rule(lv.name, scope, lv.rank, occurrence, tuple(where), ("lead_unit",), lv.rank, backlog=backlog)]


def rule_selects(ctx: Context, *, mapping: dict[int, str], dialect: str = "sqlite",
                 has_acks: bool = True, previous: datetime | None = None,
                 rule_list: Sequence[Rule] | None = None) -> list[tuple[str, list[Any]]]:
    """(rule name, the SELECT branches of its rows) for every rule (``rules``, or the given
    ``rule_list``) at ``ctx.now``."""
    out: list[tuple[str, list[Any]]] = []
    builders: dict[int, _Builder] = {}
    overseer = _overseer_expr(mapping)
    for rule in rule_list if rule_list is not None else rules(ctx, dialect=dialect, previous=previous):
        b = builders.get(id(rule.scope))
        if b is None:
            nb = rule.scope.policy.quiet_hours.next_allowed(ctx.now, ctx.tz, ctx.calendar)
            b = builders[id(rule.scope)] = _Builder(ctx, rule.scope, nb, mapping, has_acks, dialect, overseer)
        out.append((rule.name, b.branches(rule.roles, level=rule.name, rank=rule.rank, occurrence=rule.occurrence,
                                          where=rule.where, ack_rank=rule.ack_rank, extra_from=rule.extra_from,
                                          known=rule.known)))
    return out


def examined(ctx: Context, *, dialect: str = "sqlite", previous: datetime | None = None) -> Any:
    """The (work item, rule) pairs a detection run examines, one row each (no recipients,
    nothing about the outbox): what ``bench/escalation_scan.py`` checks its floor against."""
    parts = []
    for rule in rules(ctx, dialect=dialect, previous=previous):
        frm = rule.extra_from if rule.extra_from is not None else WorkItem.__table__
        conds = list(rule.where)
        pf = _plan_filter(rule.scope)
        if pf is not None:
            conds.append(pf)
        parts.append(select(WorkItem.id.label("work_item_id"), literal(rule.name, String).label("rule"))
                     .select_from(frm).join(Task, Task.id == WorkItem.task_id).where(and_(*conds)))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def _weekly_latest(ref: date, working_days: int, cal: WorkCalendar) -> date | None:
    """Latest deadline ``d <= ref`` with ``working_days_between(d, ref) >= working_days``."""
    d, n = ref, 0
    for _ in range(SCAN_LIMIT_DAYS):
        if n >= working_days:
            return d
        n += 1 if cal.is_working_day(d) else 0
        d -= timedelta(days=1)
    return None  # pragma: no cover


def last_run(session: Session, now: datetime) -> datetime | None:
    """When detection last ran (a committed pass, ``DetectionRun``), at or before ``now``
    (None: never)."""
    return session.execute(select(func.max(DetectionRun.at)).where(DetectionRun.at <= now)).scalar()


def _has_acks(session: Session) -> bool:
    """Whether any acknowledgement exists (if not, the per-row check is left out)."""
    return session.execute(select(EscalationAck.id).limit(1)).first() is not None


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def detect(session: Session, *, now: datetime, policy: Policy | None = None, ctx: Context | None = None,
           lang: str = "vi", incremental: bool = True) -> DetectResult:
    """Write the outbox rows the policy calls for at ``now``: one ``INSERT … SELECT …
    ON CONFLICT (dedupe_key) DO NOTHING`` whose SELECT is the union of every rule's
    branches (``rule_selects``); the inserted rows are counted per rule from ``RETURNING``.

    ``incremental`` (default): the open-ended windows look only at what changed since the
    previous run (see ``rules``); ``False`` rescans them whole (e.g. after adding a
    chair or a vice-chair to the directory, to give them the backlog)."""
    ctx = ctx or context(session, now=now, policy=policy, lang=lang)
    mapping = overseer_map(session)
    result = DetectResult(today=ctx.today, not_before=ctx.policy.quiet_hours.next_allowed(now, ctx.tz, ctx.calendar))
    dialect = session.get_bind().dialect.name
    rule_list = rules(ctx, dialect=dialect, previous=last_run(session, ctx.now) if incremental else None)
    selects = rule_selects(ctx, mapping=mapping, dialect=dialect, has_acks=_has_acks(session), rule_list=rule_list)
    for name, _ in selects:
        result.by_level.setdefault(name, 0)
    branches = [b for _, bs in selects for b in bs]
    counts = _insert_rows(session, branches, rule_list, dialect) if branches else []
    for level, n in counts:
        result.by_level[level] = result.by_level.get(level, 0) + n
        result.inserted += n
    _record_run(session, ctx, result, incremental)
    if dialect == "postgresql" and result.inserted >= ANALYZE_AFTER_ROWS:
        _analyze_if_grown(session, result.inserted)
    return result


def _insert_rows(session: Session, branches: list[Any], rule_list: Sequence[Rule], dialect: str) -> list[tuple[str, int]]:
    """Run the one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` of ``branches``: (rule name,
    rows inserted) per rule that inserted any."""
    table = OutboxMessage.__table__
    body = union_all(*branches) if len(branches) > 1 else branches[0]
    ins = _insert(session)(table).from_select(list(_COLUMNS), body).on_conflict_do_nothing(index_elements=["dedupe_key"])
    ins = ins.returning(table.c.level)
    if dialect == "postgresql":  # counted in the database: the first run may write millions of rows
        done = ins.cte("inserted")
        # A pass that examines no whole backlog (the usual daily run) is index-driven and
        # small, but the summed estimates of its branches easily pass jit_above_cost, and
        # compiling the expressions (~200 functions, 0.1–0.5 s) costs more than it saves: JIT
        # is switched off for this statement only, then put back as it was. The first run, a
        # full rescan or a new week's digest evaluate them over the backlog, where JIT pays
        # (measured: 1M items, first run 39 s without, 27 s with).
        # (If the statement fails the transaction is rolled back, and the setting with it.)
        jit = None
        if not any(r.backlog for r in rule_list):
            jit = session.execute(select(func.current_setting("jit", True))).scalar()
        if jit is not None:
            session.execute(select(func.set_config("jit", "off", True)))
        counts = session.execute(select(done.c.level, func.count()).group_by(done.c.level)).all()
        if jit is not None:
            session.execute(select(func.set_config("jit", jit, True)))
        return [(level, int(n)) for level, n in counts]
    return list(Counter(session.execute(ins).scalars().all()).items())  # one fetchall


def _record_run(session: Session, ctx: Context, result: DetectResult, incremental: bool) -> None:
    """The pass, for the next one to be incremental from (``last_run``); committed with its rows."""
    session.execute(insert(DetectionRun).values(at=ctx.now, today=ctx.today, incremental=incremental,
                                                inserted=result.inserted, by_level=dict(result.by_level)))


# PostgreSQL: refresh the outbox's statistics when one pass grew it by this many rows and by
# more than a fifth (e.g. the first run writes the whole backlog). Until autovacuum gets to it
# the planner believes the old size — a few rows — and runs the next pass's anti-joins as
# nested loops (measured, 1M items: 8.5 s instead of 0.25 s for the next run).
ANALYZE_AFTER_ROWS = 10_000


def _analyze_if_grown(session: Session, inserted: int) -> None:
    known = session.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'outbox'::regclass")).scalar()
    if known is None or known < 0 or inserted > 0.2 * float(known):
        session.execute(text("ANALYZE outbox"))


def preview(session: Session, *, now: datetime, policy: Policy | None = None, ctx: Context | None = None,
            lang: str = "vi") -> list[Planned]:
    """The rows ``detect`` would write at ``now`` and that do not exist yet (writes nothing)."""
    ctx = ctx or context(session, now=now, policy=policy, lang=lang)
    mapping = overseer_map(session)
    out: dict[str, Planned] = {}
    for _, branches in rule_selects(ctx, mapping=mapping, dialect=session.get_bind().dialect.name,
                                    has_acks=_has_acks(session), previous=last_run(session, ctx.now)):
        sub = (union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
        q = select(sub).where(~exists().where(OutboxMessage.dedupe_key == sub.c.dedupe_key))
        for r in session.execute(q).mappings():
            out.setdefault(r["dedupe_key"], Planned(r["level"], int(r["level_rank"]), r["occurrence"], r["work_item_id"],
                                                    _as_date(r["deadline"]), r["recipient"], r["dedupe_key"]))
    return sorted(out.values(), key=lambda p: (p.recipient, -p.level_rank, p.work_item_id))


def _as_date(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


# --- acknowledgement -----------------------------------------------------------------------------------


@dataclass
class AckResult:
    work_item_id: int
    recipients: list[str]
    level: str
    level_rank: int
    deadline: date | None
    # already acknowledged (at this level or higher, for this deadline): nothing was recorded;
    # ``acked_at``/``acked_by``: that earlier acknowledgement (else this one)
    already: bool = False
    acked_at: datetime | None = None
    acked_by: str | None = None
    tz: str = DEFAULT_TZ


def acknowledge(session: Session, item: WorkItem, actor: Any, *, now: datetime, policy: Policy | None = None,
                note: str | None = None, lang: str = "vi") -> AckResult:
    """``actor`` (engine.lifecycle.Actor) acknowledges the escalation of ``item``.

    Repeats stop for the actor (and, for a focal point, for the unit's channel) up to the
    level reached now — the higher of the policy's current level and the highest level
    already queued for this deadline; a higher level, or a new deadline, notifies again.
    One event (kind ``escalation_ack``)."""
    require_aware(now)
    ref = item_ref(item, session)
    if not may_acknowledge(actor, item):
        raise PermissionDenied(tr(lang, "esc.ack_not_recipient", name=actor.name, pid=actor.id, ref=ref))
    ctx = context(session, now=now, policy=policy, lang=lang)
    pol = _policy_for(ctx, item.task.plan_id)
    current = pol.current_level(item.deadline, ctx.today, ctx.calendar)
    recipients = [f"person:{actor.id}"]
    if actor.role == Role.FOCAL_POINT and actor.unit_code == item.unit.code:
        recipients.append(f"unit:{item.unit.code}")
    queued = _highest_queued(session, ctx, item)
    best: tuple[str, int] | None = (current.name, current.rank) if current else None
    if queued is not None and (best is None or queued[1] > best[1]):
        best = (queued[0], int(queued[1]))
    if best is None or item.status not in OPEN_STATES:
        raise UserError(tr(lang, "esc.ack_nothing", ref=ref))
    existing = {a.recipient: a for a in session.execute(select(EscalationAck).where(
        EscalationAck.work_item_id == item.id, EscalationAck.recipient.in_(recipients),
        EscalationAck.deadline == item.deadline if item.deadline is not None else EscalationAck.deadline.is_(None)))
        .scalars()}
    if all(r in existing and existing[r].level_rank >= best[1] for r in recipients):
        # idempotent: acknowledged already (this level or higher, this deadline) — nothing is
        # recorded, no second event; the answer says when
        first = existing[recipients[0]]
        return AckResult(item.id, recipients, first.level, first.level_rank, item.deadline, already=True,
                         acked_at=first.acked_at, acked_by=first.acked_by, tz=ctx.tz)
    for rcpt in recipients:
        row = existing.get(rcpt)
        if row is None:
            session.add(EscalationAck(work_item_id=item.id, recipient=rcpt, deadline=item.deadline, level=best[0],
                                      level_rank=best[1], acked_by=actor.id, acked_at=now, note=(note or "").strip() or None))
        elif row.level_rank < best[1]:
            row.level, row.level_rank, row.acked_by, row.acked_at = best[0], best[1], actor.id, now
    session.flush()
    append_item_event(session, item, actor, now=now, kind="escalation_ack", note=(note or "").strip() or None,
                      data={"level": best[0], "level_rank": best[1], "recipients": recipients,
                            "deadline": item.deadline.isoformat() if item.deadline else None})
    return AckResult(item.id, recipients, best[0], best[1], item.deadline, acked_at=now, acked_by=actor.id, tz=ctx.tz)


def acknowledgements(session: Session, item: WorkItem) -> list[dict[str, Any]]:
    """Who acknowledged ``item``'s escalations, at which level and when, newest first (the
    item page shows them): one entry per recipient (a person, or a unit through its focal
    point) and deadline."""
    rows = session.execute(select(EscalationAck, Person.name).outerjoin(Person, Person.id == EscalationAck.acked_by)
                           .where(EscalationAck.work_item_id == item.id)
                           .order_by(EscalationAck.acked_at.desc(), EscalationAck.id.desc())).all()
    from engine.days import fmt_local

    tz = committee(session)[0]
    return [{"recipient": a.recipient, "recipient_name": recipient_label(session, a.recipient), "level": a.level,
             "deadline": a.deadline, "acked_by": a.acked_by, "acked_by_name": name or a.acked_by, "acked_at": a.acked_at,
             "acked_at_local": fmt_local(a.acked_at, tz), "note": a.note, "current": a.deadline == item.deadline}
            for a, name in rows]


def _highest_queued(session: Session, ctx: Context, item: WorkItem) -> tuple[str, int] | None:
    """(level, rank) of the highest level queued for ``item``'s deadline in force: its rows of
    the levels of the policies in force, one short range of the unique dedupe key per level
    (``"{level}:{deadline}:{item}:"``)."""
    if item.deadline is None:
        return None
    o = OutboxMessage
    names = sorted({lv.name for scope in ctx.scopes for lv in scope.policy.levels})  # (the committee's is a scope)
    prefix = f"{item.deadline.isoformat()}:{item.id}"
    ranges = [and_(o.dedupe_key >= f"{n}:{prefix}:", o.dedupe_key < f"{n}:{prefix};") for n in names]
    row = session.execute(select(o.level, o.level_rank)
                          .where(or_(*ranges), o.work_item_id == item.id, o.level_rank > 0, o.level_rank < WEEKLY_RANK)
                          .order_by(o.level_rank.desc()).limit(1)).first()
    return (row[0], int(row[1])) if row is not None else None


def _policy_for(ctx: Context, plan_id: int) -> Policy:
    for scope in ctx.scopes:
        if scope.plan_ids is not None and plan_id in scope.plan_ids:
            return scope.policy
    return ctx.policy


# --- digests (the data of one message) --------------------------------------------------------------------

# a unit's progress sheet not sent for a period (engine.progress.REPORT_MISSING; no work item)
REPORT_MISSING_LEVEL = "report_missing"
STATE_ORDER = ("overdue", FAILURE_LEVEL, EXTENSION_LEVEL, VERIFICATION_LEVEL, "due_soon", REPORT_MISSING_LEVEL)


@dataclass
class DigestItem:
    state: str  # overdue | due_soon | extension_pending | verification_pending | delivery_failed
    levels: list[str]
    work_item_id: int | None
    ref: str
    title: str
    plan_code: str
    plan_title: str
    unit_code: str
    unit_name: str
    deadline: date | None
    status: str
    days_overdue: int | None = None  # calendar days past the deadline
    working_days_overdue: int | None = None
    working_days_left: int | None = None
    last_note: str | None = None
    last_note_at: datetime | None = None
    link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> tuple[int, int]:
        return (len(STATE_ORDER) - STATE_ORDER.index(self.state) if self.state in STATE_ORDER else 0,
                self.days_overdue or 0)


@dataclass
class DigestGroup:
    plan_code: str
    plan_title: str
    unit_code: str
    unit_name: str
    items: list[DigestItem]


@dataclass
class Digest:
    recipient: str
    recipient_name: str
    recipient_kind: str  # unit | person
    committee: str
    today: date
    tz: str
    lang: str
    key: str
    items: list[DigestItem]  # worst first
    groups: list[DigestGroup]
    counts: dict[str, int]
    obsolete: list[int]  # outbox ids whose reason has gone (item done, deadline moved, acknowledged)
    base_url: str | None = None
    sender: str = ""  # the display name messages come from (policy digest.sender, else the committee)
    max_items: int = 20  # items shown in full; the rest are counted per lead unit

    @property
    def worst(self) -> str | None:
        return self.items[0].state if self.items else None

    @property
    def shown(self) -> list[DigestItem]:
        return self.items[:self.max_items]

    @property
    def rest_by_unit(self) -> list[tuple[str, dict[str, int]]]:
        """(lead unit name, {state: count}) of the items beyond ``max_items``, most first."""
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for i in self.items[self.max_items:]:
            per[i.unit_name or i.ref][i.state] += 1
        order = sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        return [(name, {st: c[st] for st in STATE_ORDER if c.get(st)}) for name, c in order]

    @property
    def list_link(self) -> str | None:
        """One link to the recipient's list in the web app: a unit's own items, else the
        overdue list (which shows each person what they may see)."""
        if not self.base_url:
            return None
        kind, _, ident = self.recipient.partition(":")
        if kind == "unit":
            return f"{self.base_url}/items?unit={ident}"
        return f"{self.base_url}/overdue"


def _state_of(level: str, pol: Policy) -> str:
    if level in (EXTENSION_LEVEL, VERIFICATION_LEVEL, FAILURE_LEVEL):
        return level
    lv = pol.level(level)
    if lv is not None and lv.kind == "before":
        return "due_soon"
    return "overdue"


def build_digest(session: Session, rows: Sequence[OutboxMessage], *, now: datetime, ctx: Context | None = None,
                 key: str = "", lang: str | None = None) -> Digest:
    """The content of one message for the rows of one recipient (worst item first,
    grouped by plan and unit). Rows whose reason has gone are listed in ``obsolete``."""
    ctx = ctx or context(session, now=now)
    lang = lang or ctx.language
    recipient = rows[0].recipient if rows else ""
    kind = recipient.partition(":")[0]
    today = ctx.today
    item_ids = {r.work_item_id for r in rows if r.work_item_id is not None}
    items: dict[int, tuple[WorkItem, Task, Plan, Unit]] = {}
    if item_ids:
        for w, t, p, u in session.execute(select(WorkItem, Task, Plan, Unit).join(Task, Task.id == WorkItem.task_id)
                                          .join(Plan, Plan.id == Task.plan_id).join(Unit, Unit.id == WorkItem.unit_id)
                                          .where(WorkItem.id.in_(item_ids))).all():
            items[w.id] = (w, t, p, u)

    refs = item_refs(session, [v[0] for v in items.values()])
    notes: dict[int, tuple[str, datetime]] = {}
    if item_ids:
        for wid, note, at in session.execute(select(Event.work_item_id, Event.note, Event.at)
                                             .where(Event.work_item_id.in_(item_ids), Event.kind == "note")
                                             .order_by(Event.id.desc())).all():
            notes.setdefault(wid, (note, at))
    acks = {(a.work_item_id, a.recipient, a.deadline): a.level_rank for a in session.execute(
        select(EscalationAck).where(EscalationAck.work_item_id.in_(item_ids or {-1}),
                                    EscalationAck.recipient == recipient)).scalars()}
    ext_ids = [int(r.occurrence[1:]) for r in rows if r.level == EXTENSION_LEVEL and r.occurrence[1:].isdigit()]
    exts = {e.id: e for e in session.execute(select(ExtensionRequest).where(ExtensionRequest.id.in_(ext_ids or [-1]))).scalars()}
    requesters = {e.requested_by for e in exts.values() if e.requested_by}
    names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(requesters))).all()) \
        if requesters else {}
    merged: dict[tuple[Any, str], DigestItem] = {}
    obsolete: list[int] = []
    for r in rows:
        if r.level == FAILURE_LEVEL:
            d = dict(r.data or {})
            di = DigestItem(state=FAILURE_LEVEL, levels=[r.level], work_item_id=None, ref=str(d.get("recipient_name") or d.get("recipient") or "?"),
                            title=str(d.get("error") or ""), plan_code="", plan_title="", unit_code="", unit_name="",
                            deadline=None, status="", extra=d)
            merged[(r.id, FAILURE_LEVEL)] = di
            continue
        if r.level == REPORT_MISSING_LEVEL:
            d = dict(r.data or {})
            merged[(r.id, REPORT_MISSING_LEVEL)] = DigestItem(
                state=REPORT_MISSING_LEVEL, levels=[r.level], work_item_id=None, ref=str(d.get("unit") or ""),
                title="", plan_code="", plan_title="", unit_code=str(d.get("unit") or ""),
                unit_name=str(d.get("unit_name") or ""), deadline=None, status="", extra=d)
            continue
        got = items.get(r.work_item_id or -1)
        if got is None:
            obsolete.append(r.id)
            continue
        w, t, p, u = got
        pol = _policy_for(ctx, p.id)
        state = _state_of(r.level, pol)
        if _is_obsolete(r, w, state, acks, exts) or (state == "due_soon" and w.deadline is not None and today > w.deadline):
            # (a reminder no longer true when it would go out, e.g. found on the deadline day in
            # quiet hours and sent after the deadline: the overdue level tells the unit instead)
            obsolete.append(r.id)
            continue
        if state in ("due_soon", "overdue"):  # one entry per item, in its state today
            state = "overdue" if w.deadline is not None and today > w.deadline else "due_soon"
            k: tuple[Any, str] = (w.id, "level")
        else:
            k = (w.id, state if state != EXTENSION_LEVEL else f"{state}:{r.occurrence}")
        di = merged.get(k)
        if di is None:
            di = DigestItem(state=state, levels=[], work_item_id=w.id, ref=refs.get(w.id, str(w.id)), title=t.title,
                            plan_code=p.code, plan_title=p.title, unit_code=u.code, unit_name=u.name, deadline=w.deadline,
                            status=w.status)
            if w.deadline is not None:
                if today > w.deadline:
                    di.days_overdue = (today - w.deadline).days
                    di.working_days_overdue = ctx.calendar.working_days_between(w.deadline, today)
                else:
                    di.working_days_left = ctx.calendar.working_days_between(today, w.deadline)
            if w.id in notes:
                di.last_note, di.last_note_at = notes[w.id]
            if pol.base_url:
                di.link = f"{pol.base_url}/items/{w.id}"
            if state == EXTENSION_LEVEL:
                e = exts.get(int(r.occurrence[1:]))
                if e is not None:
                    di.extra = {"until": e.until, "reason": e.reason, "requested_by": names.get(e.requested_by, e.requested_by),
                                "requested_at": e.requested_at}
            if state == VERIFICATION_LEVEL and w.submitted_at is not None:
                di.extra = {"submitted_at": w.submitted_at}
            merged[k] = di
        if r.level not in di.levels:
            di.levels.append(r.level)
    ordered = sorted(merged.values(), key=lambda i: (-i.severity[0], -i.severity[1], i.deadline or date.max, i.ref))
    groups: dict[tuple[str, str], DigestGroup] = {}
    for i in ordered:
        g = groups.get((i.plan_code, i.unit_code))
        if g is None:
            g = groups[(i.plan_code, i.unit_code)] = DigestGroup(i.plan_code, i.plan_title, i.unit_code, i.unit_name, [])
        g.items.append(i)
    counts: dict[str, int] = defaultdict(int)
    for i in ordered:
        counts[i.state] += 1
    return Digest(recipient=recipient, recipient_name=recipient_label(session, recipient) if recipient else "",
                  recipient_kind=kind, committee=ctx.committee_name, today=today, tz=ctx.tz, lang=lang, key=key,
                  items=ordered, groups=list(groups.values()), counts=dict(counts), obsolete=obsolete,
                  base_url=ctx.policy.base_url, sender=ctx.policy.sender or ctx.committee_name,
                  max_items=ctx.policy.digest_max_items)


def _is_obsolete(r: OutboxMessage, w: WorkItem, state: str, acks: dict[tuple[int, str, date | None], int],
                 exts: dict[int, ExtensionRequest]) -> bool:
    if state == EXTENSION_LEVEL:
        e = exts.get(int(r.occurrence[1:])) if r.occurrence[1:].isdigit() else None
        return e is None or e.status != ExtensionStatus.PENDING
    if state == VERIFICATION_LEVEL:
        return w.status != Status.SUBMITTED
    if w.status not in LEVEL_STATES or w.deadline != r.deadline:
        return True
    acked = acks.get((w.id, r.recipient, w.deadline))
    return acked is not None and (r.level_rank <= acked or r.level == WEEKLY_LEVEL)


def outbox_rows(session: Session, ids: Iterable[int]) -> list[OutboxMessage]:
    ids = list(ids)
    if not ids:
        return []
    return list(session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).scalars())

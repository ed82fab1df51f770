"""The escalation policy: who is told what, when (parsed and validated, pure).

A policy is a YAML mapping (``plans/escalation-policy.yaml`` is the committee-wide default;
a plan may override parts of it in ``Plan.settings["escalation"]``; ``steer escalate
--policy FILE`` replaces the default)::

    language: vi                  # vi | en (default: the committee's settings.language)
    base_url: ""                  # links in messages: {base_url}/items/{id}
    levels:                       # in order of severity; each fires once per deadline
      - {name: remind_7, before_working_days: 7, to: [lead_unit]}
      - {name: remind_1, before_working_days: 1, to: [lead_unit]}
      - {name: overdue, overdue_working_days: 0, to: [lead_unit, secretariat]}
      - {name: vice_chair, overdue_working_days: 5, to: [vice_chair]}
      - {name: chair, overdue_working_days: 10, to: [chair]}
    weekly: {overdue_working_days: 10, to: [lead_unit, vice_chair, secretariat]}
    extension_pending: {after_working_days: 2, to: [approver]}
    verification_pending: {after_working_days: 2, to: [secretariat]}
    report_missing: {to: [lead_unit]}   # a unit's progress sheet not back (steer progress missing --remind)
    quiet_hours: {start: "21:00", end: "07:00", weekends: true, holidays: true}
    digest: {max_items: 20, sender: "Văn phòng BCĐ tỉnh …"}
    delivery: {max_attempts: 5, backoff_seconds: 60, backoff_max_seconds: 3600,
               lease_seconds: 300, batch_size: 500, timeout_seconds: 15}

Meaning (``wd`` = working days of ``engine.workdays``, VN holidays):

* A *reminder* level ``before_working_days: N`` fires while the number of working days
  after today up to the deadline (``WorkCalendar.working_days_between(today, deadline)``)
  is at most N and more than the next reminder's N (the last reminder: down to the
  deadline day itself). So ``remind_7`` fires on the working day 7 wd before the
  deadline and ``remind_1`` on the working day before it (or on the deadline day).
* An *overdue* level ``overdue_working_days: N`` fires once the deadline has passed
  (today > deadline, committee-local) and ``working_days_between(deadline, today)`` is at
  least N. ``0`` = the first overdue day.
* Levels are cumulative and caught up, decided from state: each level fires once per
  deadline in force, at the first run after its threshold was crossed, whenever that run
  happens. When several thresholds were crossed since the last run (a plan loaded with
  old deadlines, a server down for days), the highest level reached fires, not the ones
  below it — except that the **lead unit** (its channel and its focal points) is always
  told once that its item is overdue: the first overdue level listing ``lead_unit`` (the
  "lead unit's level") then fires for the lead unit alone. A reminder that is no longer
  true when it would be sent (the deadline has passed) is dropped.
* ``weekly``: in every ISO week that *began* with the item already ``overdue_working_days``
  wd overdue, one digest entry per recipient (the first run of the week sends it).
* ``extension_pending``: a pending extension request older than N wd reminds the
  approver (``approver`` = the vice-chair in charge, or the secretariat when the task has
  none). ``verification_pending``: an item submitted N wd ago and not yet verified.
* Recipients: ``lead_unit`` (the unit's notify URLs and its focal points'),
  ``secretariat`` / ``chair`` (every active person with that role), ``vice_chair`` (the
  task's vice-chair, else the one whose ``oversees`` lists the unit or one of its groups),
  ``approver`` (extension requests only).
* ``digest``: one message per recipient and run lists at most ``max_items`` items in full
  (worst first), then counts per lead unit with one link to the list in the web app;
  ``sender`` is the name its e-mails come from (default: the committee's name).
* Quiet hours (committee timezone): a row detected inside them gets ``not_before`` = the
  next allowed time; ``weekends``/``holidays`` make the whole non-working day quiet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from engine.errors import UserError
from engine.i18n import tr
from engine.workdays import WorkCalendar, default_calendar

DEFAULT_POLICY_FILE = Path(__file__).resolve().parent.parent / "plans" / "escalation-policy.yaml"

RECIPIENT_ROLES = ("lead_unit", "secretariat", "vice_chair", "chair")
APPROVER_ROLES = ("approver", "vice_chair", "secretariat", "chair")
TOP_KEYS = {"language", "base_url", "levels", "weekly", "extension_pending", "verification_pending",
            "quiet_hours", "delivery", "digest", "report_missing"}
DIGEST_KEYS = {"max_items", "sender"}
LEVEL_KEYS = {"name", "before_working_days", "overdue_working_days", "to"}
DELIVERY_DEFAULTS: dict[str, int] = {"max_attempts": 5, "backoff_seconds": 60, "backoff_max_seconds": 3600,
                                     "lease_seconds": 300, "batch_size": 500, "timeout_seconds": 15}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# The weekly "đôn đốc" goes to the units that must act, as provincial offices send it; the
# chair is told by the chair level and gets the weekly digest only when a policy lists it.
WEEKLY_DEFAULT_TO = ("lead_unit", "vice_chair", "secretariat")
# Rank of the special rules (above every level; levels are ranked 1..n in order).
WEEKLY_RANK = 100
EXTENSION_RANK = 0
VERIFICATION_RANK = 0
FAILURE_RANK = 0


class PolicyError(UserError):
    """A policy file or override that cannot be used (message names the file and key)."""


@dataclass(frozen=True)
class Level:
    name: str
    rank: int
    kind: str  # "before" | "overdue"
    working_days: int
    to: tuple[str, ...]


@dataclass(frozen=True)
class Repeat:
    """weekly / extension_pending / verification_pending."""

    working_days: int
    to: tuple[str, ...]
    enabled: bool = True


@dataclass(frozen=True)
class QuietHours:
    start: time | None = None
    end: time | None = None
    weekends: bool = False
    holidays: bool = False

    def quiet(self, local: datetime, calendar: WorkCalendar) -> bool:
        """Whether sending is not allowed at the committee-local moment ``local``.

        ``weekends``: Saturday and Sunday are quiet all day, except a weekend day worked in
        exchange (the calendar says it is a working day); ``holidays``: public holidays on
        weekdays are quiet all day."""
        d = local.date()
        if not calendar.is_working_day(d):
            if (self.weekends and d.weekday() >= 5) or (self.holidays and d.weekday() < 5):
                return True
        if self.start is None or self.end is None or self.start == self.end:
            return False
        t = local.timetz().replace(tzinfo=None)
        if self.start < self.end:  # e.g. 12:00-13:30
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # spans midnight: 21:00-07:00

    def next_allowed(self, moment: datetime, tz: str, calendar: WorkCalendar) -> datetime:
        """``moment`` itself when sending is allowed, else the next allowed instant (UTC)."""
        zone = ZoneInfo(tz)
        local = moment.astimezone(zone)
        for _ in range(400):  # boundaries are the end of the quiet hours and midnight
            if not self.quiet(local, calendar):
                return local.astimezone(timezone.utc)
            d = local.date()
            candidates = [datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=zone)]
            if self.end is not None:
                end_today = datetime.combine(d, self.end, tzinfo=zone)
                if end_today > local:
                    candidates.append(end_today)
            local = min(candidates)
        return local.astimezone(timezone.utc)  # pragma: no cover - a policy quiet for months


@dataclass(frozen=True)
class Delivery:
    max_attempts: int = 5
    backoff_seconds: int = 60
    backoff_max_seconds: int = 3600
    lease_seconds: int = 300
    batch_size: int = 500
    timeout_seconds: int = 15

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failed attempt (1, 2, ...): doubling, capped."""
        seconds = self.backoff_seconds * (2 ** max(0, attempts - 1))
        return timedelta(seconds=min(seconds, self.backoff_max_seconds))


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...]
    weekly: Repeat
    extension_pending: Repeat
    verification_pending: Repeat
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    # a unit that has not sent its progress sheet for a period (engine.progress): one reminder
    # per unit and period, sent when ``steer progress missing --remind`` runs
    report_missing: Repeat = field(default_factory=lambda: Repeat(working_days=0, to=("lead_unit",)))
    delivery: Delivery = field(default_factory=Delivery)
    language: str | None = None
    base_url: str | None = None
    digest_max_items: int = 20  # items shown in full in one message (worst first); the rest are counted per unit
    sender: str | None = None  # the sender's display name (default: the committee's name); never "Apprise"
    source: str = "<policy>"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def reminders(self) -> tuple[Level, ...]:
        return tuple(lv for lv in self.levels if lv.kind == "before")

    @property
    def overdue_levels(self) -> tuple[Level, ...]:
        return tuple(lv for lv in self.levels if lv.kind == "overdue")

    @property
    def lead_unit_level(self) -> Level | None:
        """The overdue level that tells the lead unit its item is overdue: the first overdue
        level listing ``lead_unit``, else the first overdue level (the unit is always told)."""
        over = self.overdue_levels
        return next((lv for lv in over if "lead_unit" in lv.to), over[0] if over else None)

    def level(self, name: str) -> Level | None:
        return next((lv for lv in self.levels if lv.name == name), None)

    def rank_of(self, name: str) -> int:
        if name == "weekly":
            return WEEKLY_RANK
        lv = self.level(name)
        return lv.rank if lv else 0

    def windows(self) -> list[tuple[Level, int, int | None]]:
        """(level, lowest, highest-or-None) of the working-day measure each level fires in.

        Reminders measure working days left (inclusive both ends); overdue levels measure
        working days overdue (``highest`` None = no upper bound)."""
        out: list[tuple[Level, int, int | None]] = []
        rem = sorted(self.reminders, key=lambda lv: -lv.working_days)
        for i, lv in enumerate(rem):
            low = rem[i + 1].working_days + 1 if i + 1 < len(rem) else 0
            out.append((lv, low, lv.working_days))
        ovd = sorted(self.overdue_levels, key=lambda lv: lv.working_days)
        for i, lv in enumerate(ovd):
            high = ovd[i + 1].working_days - 1 if i + 1 < len(ovd) else None
            out.append((lv, lv.working_days, high))
        return out

    def current_level(self, deadline: date | None, today: date, calendar: WorkCalendar) -> Level | None:
        """The level whose window ``today`` falls in for ``deadline`` (None: no level)."""
        if deadline is None:
            return None
        for lv, low, high in self.windows():
            if lv.kind == "before":
                if today > deadline:
                    continue
                left = calendar.working_days_between(today, deadline)
                if low <= left <= (high if high is not None else left):
                    return lv
            else:
                if today <= deadline:
                    continue
                late = calendar.working_days_between(deadline, today)
                if late >= low and (high is None or late <= high):
                    return lv
        return None


# --- parsing ---------------------------------------------------------------------------------


def _err(source: str, key: str, detail: str, lang: str) -> PolicyError:
    return PolicyError(tr(lang, "pol.error", source=source, field=key, detail=detail))


def _int(value: Any, source: str, key: str, lang: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _err(source, key, tr(lang, "pol.must_be_integer_got", minimum=minimum, value=value), lang)
    return value


def _bool(value: Any, source: str, key: str, lang: str) -> bool:
    if not isinstance(value, bool):
        raise _err(source, key, tr(lang, "pol.must_be_true_or_false", value=value), lang)
    return value


def _time(value: Any, source: str, key: str, lang: str) -> time | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 21:00 as 1260 (sexagesimal)
        value = f"{value // 60:02d}:{value % 60:02d}"
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise _err(source, key, tr(lang, "pol.invalid_time_write_hh_mm", value=value), lang)
    return time(int(m.group(1)), int(m.group(2)))


def _to(value: Any, allowed: tuple[str, ...], source: str, key: str, lang: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _err(source, key, tr(lang, "pol.must_be_list_recipients_from", allowed=', '.join(allowed)), lang)
    out: list[str] = []
    for v in value:
        if str(v) not in allowed:
            raise _err(source, key, tr(lang, "pol.unknown_recipient_use", v=v, allowed=', '.join(allowed)), lang)
        if str(v) not in out:
            out.append(str(v))
    return tuple(out)


def _mapping(value: Any, source: str, key: str, lang: str, keys: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(source, key, tr(lang, "pol.must_be_mapping"), lang)
    bad = set(map(str, value)) - keys
    if bad:
        raise _err(source, key, tr(lang, "pol.unknown_key_s_use", bad=', '.join(sorted(bad)), keys=', '.join(sorted(keys))), lang)
    return dict(value)


def _repeat(raw: Any, source: str, key: str, lang: str, default: Repeat, allowed: tuple[str, ...],
            days_key: str) -> Repeat:
    if raw is False:
        return replace(default, enabled=False)
    m = _mapping(raw, source, key, lang, {days_key, "to", "enabled"})
    days = _int(m.get(days_key, default.working_days), source, f"{key}.{days_key}", lang)
    to = _to(m.get("to", list(default.to)), allowed, source, f"{key}.to", lang)
    enabled = _bool(m.get("enabled", default.enabled), source, f"{key}.enabled", lang)
    return Repeat(working_days=days, to=to, enabled=enabled)


def parse_policy(data: Any, *, source: str = "<policy>", lang: str = "vi") -> Policy:
    """Validate a policy mapping completely (every error names ``source`` and the key)."""
    if not isinstance(data, dict):
        raise PolicyError(tr(lang, "pol.escalation_policy_must_be_yaml", source=source))
    bad = set(map(str, data)) - TOP_KEYS
    if bad:
        raise _err(source, tr(lang, "pol.top_level"),
                   tr(lang, "pol.unknown_key_s_use", bad=", ".join(sorted(bad)), keys=", ".join(sorted(TOP_KEYS))), lang)
    language = data.get("language")
    if language not in (None, "", "vi", "en"):
        raise _err(source, "language", tr(lang, "pol.not_vi_or_en", language=language), lang)
    base_url = data.get("base_url") or None
    if base_url is not None and not re.match(r"^https?://\S+$", str(base_url)):
        raise _err(source, "base_url", tr(lang, "pol.must_be_http_s_address", base_url=base_url), lang)
    raw_levels = data.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        raise _err(source, "levels", tr(lang, "pol.must_be_non_empty_list"), lang)
    parsed: list[tuple[str, str, int, tuple[str, ...]]] = []
    names: set[str] = set()
    for i, lv in enumerate(raw_levels, start=1):
        key = f"levels[{i}]"
        m = _mapping(lv, source, key, lang, LEVEL_KEYS)
        name = str(m.get("name") or "").strip()
        if not NAME_RE.match(name) or name == "weekly":
            raise _err(source, f"{key}.name", tr(lang, "pol.invalid_level_name_lower_case", name=name), lang)
        if name in names:
            raise _err(source, f"{key}.name", tr(lang, "pol.duplicate_level_name", name=name), lang)
        names.add(name)
        key = f"levels[{i}] ({name})"
        has_before, has_over = "before_working_days" in m, "overdue_working_days" in m
        if has_before == has_over:
            raise _err(source, key, tr(lang, "pol.needs_exactly_one_before_working"), lang)
        kind = "before" if has_before else "overdue"
        days = _int(m["before_working_days" if has_before else "overdue_working_days"], source,
                    f"{key}.{'before' if has_before else 'overdue'}_working_days", lang)
        to = _to(m.get("to"), RECIPIENT_ROLES, source, f"{key}.to", lang)
        parsed.append((name, kind, days, to))
    # order: reminders far→near, then overdue levels near→far; must already be written so
    order = [p for p in parsed if p[1] == "before"] + [p for p in parsed if p[1] == "overdue"]
    if order != parsed or any(a[2] <= b[2] for a, b in zip(order, order[1:]) if a[1] == b[1] == "before") \
            or any(a[2] >= b[2] for a, b in zip(order, order[1:]) if a[1] == b[1] == "overdue"):
        raise _err(source, "levels", tr(lang, "pol.levels_must_go_from_mild"), lang)
    levels = tuple(Level(name=n, rank=r, kind=k, working_days=d, to=t)
                   for r, (n, k, d, t) in enumerate(parsed, start=1))
    last_over = max((lv.working_days for lv in levels if lv.kind == "overdue"), default=0)
    weekly = _repeat(data.get("weekly"), source, "weekly", lang,
                     Repeat(working_days=last_over, to=WEEKLY_DEFAULT_TO),
                     RECIPIENT_ROLES, "overdue_working_days")
    ext = _repeat(data.get("extension_pending"), source, "extension_pending", lang,
                  Repeat(working_days=2, to=("approver",)), APPROVER_ROLES, "after_working_days")
    ver = _repeat(data.get("verification_pending"), source, "verification_pending", lang,
                  Repeat(working_days=2, to=("secretariat",)), RECIPIENT_ROLES, "after_working_days")
    missing = _repeat(data.get("report_missing"), source, "report_missing", lang,
                      Repeat(working_days=0, to=("lead_unit",)), RECIPIENT_ROLES, "after_working_days")
    qh = _mapping(data.get("quiet_hours"), source, "quiet_hours", lang, {"start", "end", "weekends", "holidays"})
    quiet = QuietHours(start=_time(qh.get("start"), source, "quiet_hours.start", lang),
                       end=_time(qh.get("end"), source, "quiet_hours.end", lang),
                       weekends=_bool(qh.get("weekends", False), source, "quiet_hours.weekends", lang),
                       holidays=_bool(qh.get("holidays", False), source, "quiet_hours.holidays", lang))
    if (quiet.start is None) != (quiet.end is None):
        raise _err(source, "quiet_hours", tr(lang, "pol.needs_both_start_end_e"), lang)
    gm = _mapping(data.get("digest"), source, "digest", lang, DIGEST_KEYS)
    max_items = _int(gm.get("max_items", 20), source, "digest.max_items", lang, minimum=1)
    sender = gm.get("sender")
    if sender is not None and not isinstance(sender, str):
        raise _err(source, "digest.sender", tr(lang, "pol.must_be_text", value=sender), lang)
    sender = " ".join(str(sender or "").split())[:100] or None
    if sender is not None and re.search(r"[<>@\"]", sender):
        raise _err(source, "digest.sender", tr(lang, "pol.sender_plain_name", value=sender), lang)
    dm = _mapping(data.get("delivery"), source, "delivery", lang, set(DELIVERY_DEFAULTS))
    dvals = {k: _int(dm.get(k, v), source, f"delivery.{k}", lang, minimum=1) for k, v in DELIVERY_DEFAULTS.items()}
    return Policy(levels=levels, weekly=weekly, extension_pending=ext, verification_pending=ver, report_missing=missing, quiet_hours=quiet,
                  delivery=Delivery(**dvals), digest_max_items=max_items, sender=sender, language=language or None, base_url=str(base_url).rstrip("/") if base_url else None,
                  source=source, raw=dict(data))


def read_policy_file(path: str | Path, *, lang: str = "vi") -> dict[str, Any]:
    """The raw mapping of a policy file (errors name the file, line and column)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PolicyError(tr(lang, "pol.cannot_read_escalation_policy", source=source, value=exc.strerror or exc)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = tr(lang, "pol.line_column", mark_line=mark.line + 1, mark_column=mark.column + 1) if mark else ""
        raise PolicyError(tr(lang, "pol.escalation_policy_not_valid_yaml", source=source, where=where,
                             problem=getattr(exc, 'problem', exc))) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(tr(lang, "pol.escalation_policy_must_be_yaml_2", source=source))
    return data


_PARSED: dict[tuple[str, str], tuple[tuple[int, int], Policy]] = {}


def load_policy(path: str | Path | None = None, *, lang: str = "vi") -> Policy:
    """Parse a policy file (default: ``plans/escalation-policy.yaml``).

    A long-running process (``steer serve``, a worker, ``steer web``) parses a file again only
    when it changed (size and modification time); a Policy is frozen, so sharing it is safe."""
    p = Path(path) if path is not None else DEFAULT_POLICY_FILE
    key = (str(p), lang)
    try:
        st = p.stat()
        stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None  # read_policy_file reports it
    hit = _PARSED.get(key)
    if stamp is not None and hit is not None and hit[0] == stamp:
        return hit[1]
    policy = parse_policy(read_policy_file(p, lang=lang), source=str(p), lang=lang)
    if stamp is not None:
        _PARSED[key] = (stamp, policy)
    return policy


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: ``levels`` is replaced whole, sections merged by key."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def with_override(base: Policy, override: Any, *, source: str, lang: str = "vi") -> Policy:
    """``base`` with a (partial) override mapping applied, validated as a whole."""
    if override in (None, {}):
        return base
    if not isinstance(override, dict):
        raise PolicyError(tr(lang, "pol.escalation_policy_override_must_be", source=source))
    return parse_policy(merge(base.raw, override), source=source, lang=lang)


def calendar_from_settings(settings: Mapping[str, Any], *, lang: str = "vi") -> WorkCalendar:
    """The committee's working-day calendar (``extra_holidays``/``extra_workdays`` settings,
    lists of YYYY-MM-DD dates)."""
    days: dict[str, list[date]] = {}
    for key in ("extra_holidays", "extra_workdays"):
        days[key] = []
        for d in settings.get(key) or []:
            try:
                days[key].append(date.fromisoformat(str(d)))
            except ValueError:
                raise PolicyError(tr(lang, "pol.committee_settings_key_settings_invalid", field=key, d=d)) from None
    if not days["extra_holidays"] and not days["extra_workdays"]:
        return default_calendar()
    try:
        return WorkCalendar(extra_holidays=days["extra_holidays"], extra_workdays=days["extra_workdays"])
    except ValueError as exc:
        raise PolicyError(str(exc)) from None

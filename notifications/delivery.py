"""Delivery through Apprise, and the dispatch loop (claim → render → send → record).

* ``AppriseNotifier.send(targets, message)`` sends one message to each target URL with a
  **fresh** ``Apprise`` object per target (Apprise throttles consecutive sends on one
  object by ~5 s) and classifies each outcome: ``delivered``; ``permanent`` (a URL Apprise
  cannot load or does not support, an HTTP 4xx other than 408/425/429); ``temporary``
  (connection refused, timeout, HTTP 5xx, SMTP errors, anything else). The message's
  idempotency key goes with it: as an ``Idempotency-Key`` HTTP header for ``json://``,
  ``form://`` and ``xml://`` targets (Apprise's ``+Header=value`` URL parameter) and as an
  ``X-Steer-Idempotency-Key`` e-mail header for ``mailto://``; it is also in every body.
* ``redact(url)`` is what may be printed or stored of a target: Apprise's privacy form
  (passwords and tokens masked) without the query string (headers, API keys). Errors
  are redacted too. Secrets never reach logs, the database or the CLI.
* ``dispatch(engine, ...)`` delivers every due outbox row: claim a round of batches (one
  per recipient), render each batch's digest, send, record the outcome, repeat until
  nothing is due. Retries follow the policy's backoff; after ``max_attempts`` a batch is
  failed and the secretariat is told through its own channel.

Delivery guarantee: at least once per target, with an idempotency key. See ``dispatch``.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import Engine

from engine import clock
from engine import escalation as esc
from engine import outbox
from engine.db import transaction
from engine.i18n import tr
from engine.outbox import TargetOutcome, fingerprint
from engine.policy import Policy
from notifications.messages import Message, render

REPORT_LEVEL = "report"  # outbox rows queued by notifications.report_delivery.enqueue_report

HEADER_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}
MAIL_SCHEMES = {"mailto", "mailtos"}
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
_HTTP_CODE = re.compile(r"error=(\d{3})")
TEMPORARY_HTTP = {408, 425, 429}

# Apprise's own log lines are captured per result (and redacted) by AppriseNotifier; they must
# not also reach the application's handlers (Prefect configures the root logger).
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.addHandler(logging.NullHandler())
_APPRISE_LOG.propagate = False


def _apprise():  # type: ignore[no-untyped-def]
    """The apprise module, imported on first use.

    Apprise's e-mail plugin sets the process-wide encoding of UTF-8 *bodies* to
    quoted-printable, which writes each byte of a Vietnamese letter as ``=XX`` (2.5–3× the
    text: a 20-item digest measured 40 KB on the wire). E-mail bodies go out base64-encoded
    instead (1.33×; what common mail clients send), headers stay quoted-printable as Apprise
    wants them (spam filters)."""
    import apprise
    import apprise.plugins.email  # noqa: F401  (its import sets the encoding this overrides)
    from email import charset

    charset.add_charset("utf-8", charset.QP, charset.BASE64, "utf-8")
    return apprise


class Notifier(Protocol):
    def send(self, targets: Sequence[str], message: Message) -> list[TargetOutcome]: ...


# --- redaction ---------------------------------------------------------------------------------


def redact(url: str) -> str:
    """A form of ``url`` safe to print: no password, token or query string."""
    text = str(url).strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    shown: str | None = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            plugin = _apprise().Apprise.instantiate(text, suppress_exceptions=True)
        if plugin is not None:
            shown = plugin.url(privacy=True)
    except Exception:  # pragma: no cover - a plugin that cannot print itself
        shown = None
    if shown is None:
        try:
            parts = urlsplit(text)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            shown = f"{scheme}://{host}{port}" + ("/…" if (parts.path or "").strip("/") else "") if scheme else "<invalid URL>"
        except ValueError:
            shown = f"{scheme}://…" if scheme else "<invalid URL>"
    return shown.split("?", 1)[0]


def redact_text(text: str) -> str:
    """Every URL inside ``text`` redacted."""
    return _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text)


# --- apprise ------------------------------------------------------------------------------------


def with_sender(url: str, sender: str) -> str:
    """An e-mail ``url`` whose ``from=`` address carries ``sender`` as its display name
    ("Văn phòng BCĐ tỉnh … <bcd@…>"); without ``from=`` the name comes from the Apprise
    asset (``AppriseNotifier``). Other URLs unchanged."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not sender or scheme not in MAIL_SCHEMES or "?" not in url:
        return url
    base, query = url.split("?", 1)
    parts = query.split("&")
    for n, p in enumerate(parts):
        name, _, value = p.partition("=")
        if name.lower() == "from":
            addr = unquote(value)
            if "<" not in addr and "@" in addr:
                parts[n] = "from=" + quote(f"{sender} <{addr.strip()}>", safe="@")
    return base + "?" + "&".join(parts)


def with_key(url: str, key: str, timeout: int | None = None) -> str:
    """``url`` carrying the idempotency key (HTTP or e-mail header) and timeouts."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    params: list[str] = []
    if key and scheme in HEADER_SCHEMES:
        params.append(f"+Idempotency-Key={key}")
    elif key and scheme in MAIL_SCHEMES:
        params.append(f"+X-Steer-Idempotency-Key={key}")
    if timeout:
        query = url.split("?", 1)[1] if "?" in url else ""
        names = {p.split("=", 1)[0] for p in query.split("&") if p}
        params += [f"{n}={timeout}" for n in ("cto", "rto") if n not in names]
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(params)


@dataclass
class AppriseNotifier:
    """Sends with Apprise; one fresh Apprise object per (target, message)."""

    timeout: int = 15

    def send(self, targets: Sequence[str], message: Message) -> list[TargetOutcome]:
        return [self._send_one(t, message) for t in targets]

    def _send_one(self, target: str, message: Message) -> TargetOutcome:
        apprise = _apprise()
        fp, shown = fingerprint(target), redact(target)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                # the sender's name (the committee's office, policy digest.sender) replaces
                # Apprise's own in e-mail From headers and X-Application; other plugins put
                # app_id in HTTP headers (User-Agent), which must be ASCII
                scheme = target.split("://", 1)[0].lower() if "://" in target else ""
                name = message.sender if scheme in MAIL_SCHEMES or message.sender.isascii() else ""
                asset = apprise.AppriseAsset(app_id=name or "Steer", app_desc=name or "Steer")
                ap = apprise.Apprise(asset=asset)
                if not ap.add(with_key(with_sender(target, message.sender), message.key, self.timeout)):
                    return TargetOutcome(fp, shown, "permanent", "Apprise cannot use this URL (unknown scheme or invalid)")
                attach = None
                if message.attachments:
                    attach = apprise.AppriseAttachment()
                    for f in message.attachments:
                        attach.add(f)
                if scheme in MAIL_SCHEMES and message.html:
                    # an HTML e-mail: Apprise sends multipart/alternative, text part made from it
                    result = ap.notify(body=message.html, title=message.subject, body_format=apprise.NotifyFormat.HTML,
                                       attach=attach)
                else:
                    result = ap.notify(body=message.body, title=message.subject, body_format=apprise.NotifyFormat.TEXT,
                                       attach=attach)
        except Exception as exc:  # a plugin crashed: try again later
            return TargetOutcome(fp, shown, "temporary", redact_text(f"{type(exc).__name__}: {exc}"))
        status = result.status
        if status == apprise.AppriseResultStatus.SUCCESS:
            return TargetOutcome(fp, shown, "delivered", None)
        logs = [e.message for e in result.logs()]
        error = redact_text("; ".join(dict.fromkeys(m.strip() for m in logs if m.strip())) or status.name)
        if status == apprise.AppriseResultStatus.NOMATCH:
            return TargetOutcome(fp, shown, "permanent", error)
        if status == apprise.AppriseResultStatus.TIMEOUT:
            return TargetOutcome(fp, shown, "temporary", error)
        codes = [int(c) for c in _HTTP_CODE.findall(error)]
        if codes and all(400 <= c < 500 and c not in TEMPORARY_HTTP for c in codes):
            return TargetOutcome(fp, shown, "permanent", error)
        return TargetOutcome(fp, shown, "temporary", error)


# --- dispatch -----------------------------------------------------------------------------------


@dataclass
class Sent:
    recipient: str
    recipient_name: str
    subject: str
    items: int
    status: str  # sent | pending (retry) | failed | obsolete | lost
    key: str


@dataclass
class DispatchResult:
    batches: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    messages: list[Sent] = field(default_factory=list)
    quiet_until: datetime | None = None

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)


def dispatch(engine: Engine, *, now: datetime | None = None, notifier: Notifier | None = None,
             policy: Policy | None = None, worker: str | None = None, max_rounds: int = 100,
             respect_quiet_hours: bool = True, lang: str = "vi",
             now_fn: Callable[[], datetime] | None = None, levels: Sequence[str] | None = None) -> DispatchResult:
    """Deliver every due outbox row; returns what happened to each batch.

    Guarantee: **at least once** per (batch, target). A batch is claimed with a lease,
    the lease is renewed just before the batch is sent (a batch another worker took over
    while this one was busy with the round's earlier batches is skipped: ``lost``), the
    batch is sent, then marked in a separate transaction. If the process dies (or the database is
    unreachable) after a receiver accepted the message but before the batch is marked
    sent, the lease expires and the batch is sent again — under the same idempotency key,
    to the targets not yet recorded as delivered — so a receiver that remembers keys can
    drop the duplicate. Nothing is lost: a row leaves ``pending``/``sending`` only when
    it is recorded ``sent``, ``failed`` (the secretariat is then told) or ``obsolete``.

    ``levels``: deliver only rows of these levels (the report flow: its reports, which also
    ignore quiet hours there); reports queued by ``notifications.report_delivery`` are
    sent with their files, re-rendered from the stored snapshot.
    """
    clock_fn = (lambda: now) if now is not None else (now_fn or clock.now)
    notifier = notifier or AppriseNotifier(timeout=(policy.delivery.timeout_seconds if policy else 15))
    worker = worker or outbox.worker_id()
    result = DispatchResult()
    with transaction(engine) as s:
        ctx = esc.context(s, now=clock_fn(), policy=policy, lang=lang)
    pol = ctx.policy
    if isinstance(notifier, AppriseNotifier):
        notifier.timeout = pol.delivery.timeout_seconds
    if respect_quiet_hours:
        t = clock_fn()
        allowed = pol.quiet_hours.next_allowed(t, ctx.tz, ctx.calendar)
        if allowed > t:
            result.quiet_until = allowed
            return result
    lease = timedelta(seconds=pol.delivery.lease_seconds)
    busy_waits = 0
    for _ in range(max_rounds):
        with transaction(engine) as s:
            batches = outbox.claim(s, now=clock_fn(), worker=worker, lease=lease, limit=pol.delivery.batch_size,
                                   levels=levels)
        if not batches:
            if batches.busy and busy_waits < 100:  # rows partly locked by another worker's claim: soon free
                busy_waits += 1
                time.sleep(0.05)
                continue
            break
        for batch in batches:
            status, sent = _deliver(engine, batch, notifier=notifier, ctx=ctx, worker=worker, clock_fn=clock_fn,
                                    lease=lease)
            result.batches += 1
            result.by_status[status] = result.by_status.get(status, 0) + 1
            if sent is not None:
                result.messages.append(sent)
    return result


def _deliver(engine: Engine, batch: outbox.Batch, *, notifier: Notifier, ctx: esc.Context, worker: str,
             clock_fn: Callable[[], datetime], lease: timedelta) -> tuple[str, Sent | None]:
    now = clock_fn()
    with transaction(engine) as s:
        # a full lease from now for this send; skip a batch another worker took over while
        # this one was busy with the earlier batches of the round
        if not outbox.renew(s, batch, now=now, worker=worker, lease=lease):
            return "lost", None
        rows = esc.outbox_rows(s, batch.row_ids)
        targets = [t for t in esc.recipient_targets(s, batch.recipient) if fingerprint(t) not in set(batch.delivered)]
        report = rows[0] if rows and all(r.level == REPORT_LEVEL for r in rows) else None
        if report is not None:
            report_data, name = dict(report.data or {}), esc.recipient_label(s, batch.recipient)
        else:
            digest = esc.build_digest(s, rows, now=now, ctx=ctx, key=batch.key)
    if report is not None:  # after the transaction above: rendering reads the database
        return _deliver_report(engine, batch, report_data, targets, notifier=notifier, ctx=ctx, worker=worker,
                               clock_fn=clock_fn, name=name)
    pol = ctx.policy
    message = render(digest) if digest.items else None
    outcomes: list[TargetOutcome] = []
    if message is not None:
        outcomes = notifier.send(targets, message)
    with transaction(engine) as s:
        status = outbox.record_outcome(
            s, batch, outcomes, now=clock_fn(), worker=worker, delivery=pol.delivery, quiet=pol.quiet_hours, tz=ctx.tz,
            calendar=ctx.calendar, obsolete=digest.obsolete if message is not None else list(batch.row_ids),
            no_targets_error=tr(ctx.language, "notify.no_targets"))
    if message is None:
        return status, None
    return status, Sent(batch.recipient, digest.recipient_name, message.subject, message.items, status, batch.key)


def _deliver_report(engine: Engine, batch: outbox.Batch, data: dict, targets: list[str], *, notifier: Notifier,
                    ctx: esc.Context, worker: str, clock_fn: Callable[[], datetime], name: str) -> tuple[str, Sent]:
    """One queued report to one person: its files re-rendered from the stored snapshot (any
    worker can send it), under the batch's idempotency key, recorded like a digest."""
    import shutil
    import tempfile

    from notifications.report_delivery import write_report_files

    folder = tempfile.mkdtemp(prefix="steer-report-")
    try:
        files = write_report_files(engine, int(data["snapshot_id"]), folder, tuple(data.get("formats") or ()))
        message = Message(recipient=batch.recipient, subject=str(data.get("title", "")), body=str(data.get("body", "")),
                          key=batch.key, lang=ctx.language, items=1, attachments=tuple(files))
        outcomes = notifier.send(targets, message)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pol = ctx.policy
    with transaction(engine) as s:  # retried after the policy's backoff; quiet hours do not hold reports
        status = outbox.record_outcome(
            s, batch, outcomes, now=clock_fn(), worker=worker, delivery=pol.delivery, quiet=None, tz=ctx.tz,
            calendar=ctx.calendar, no_targets_error=tr(ctx.language, "notify.no_targets"))
    return status, Sent(batch.recipient, name, message.subject, 1, status, batch.key)

"""``steer doctor``: can each notify target be reached? Checked without sending anything.

Every URL is parsed by Apprise (an unparseable one is a FAIL). Then, by kind:

* ``mailto://`` / ``mailtos://`` — connect to the SMTP server the URL names, ``EHLO``
  (``STARTTLS`` + ``EHLO`` again in starttls mode, implicit TLS in ssl mode), ``QUIT``. No
  login, no ``MAIL FROM``: nothing is sent and no account can be locked out.
* ``json://``, ``form://``, ``xml://`` (and their ``s`` forms) — a TCP connection to the
  webhook's host and port (TLS handshake for the secure forms), closed at once: no request.
* any other service — "not checkable" (SKIP): Apprise offers no way to test it without sending.

Distinct endpoints are checked once each, in parallel. Notify URLs are secrets: rows show
only :func:`notifications.delivery.redact` forms, and the SMTP/web host and port.
"""

from __future__ import annotations

import math
import smtplib
import socket
import ssl
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.i18n import tr
from notifications.delivery import MAIL_SCHEMES, _apprise, redact, redact_text

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
WEBHOOK_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table. ``name`` and ``detail`` are safe to print."""

    name: str
    status: str  # OK, FAIL or SKIP
    detail: str = ""


@dataclass(frozen=True)
class Owner:
    """Whose notify URLs these are: ``unit:SNV`` / ``person:chair`` and a display name."""

    ref: str
    name: str
    urls: tuple[str, ...]


def collect(session: Session) -> list[Owner]:
    """Units with notify URLs and active people with notify URLs, in a stable order."""
    from engine.models import Person, Unit

    out: list[Owner] = []
    for u in session.execute(select(Unit).order_by(Unit.code)).scalars():
        urls = tuple(str(x).strip() for x in (u.notify or []) if str(x).strip())
        if urls:
            out.append(Owner(f"unit:{u.code}", u.name, urls))
    for p in session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars():
        urls = tuple(str(x).strip() for x in (p.notify or []) if str(x).strip())
        if urls:
            out.append(Owner(f"person:{p.id}", p.name, urls))
    return out


# --- one endpoint -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    kind: str  # smtp | tcp | tls
    host: str
    port: int
    mode: str = ""  # smtp: insecure | starttls | ssl
    verify: bool = True  # check the TLS certificate (apprise's ``verify=no`` turns it off)

    def label(self) -> str:
        what = {"smtp": "SMTP", "tcp": "TCP", "tls": "TLS"}[self.kind]
        return f"{what} {self.host}:{self.port}" + (f" ({self.mode})" if self.mode and self.mode != "insecure" else "")


def endpoint(url: str) -> tuple[Endpoint | None, str]:
    """(endpoint to probe, reason when there is none). Reason "invalid" = Apprise rejects the URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        plugin = _apprise().Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return None, "invalid"
    if scheme in MAIL_SCHEMES:
        host = getattr(plugin, "smtp_host", None) or getattr(plugin, "host", None)
        port = getattr(plugin, "port", None) or 25
        mode = str(getattr(plugin, "secure_mode", "") or "insecure")
        if not host:
            return None, "invalid"
        return Endpoint("smtp", str(host), int(port), mode, _verify(plugin)), ""
    if scheme in WEBHOOK_SCHEMES:
        host = getattr(plugin, "host", None)
        if not host:
            return None, "invalid"
        secure = bool(getattr(plugin, "secure", False))
        port = getattr(plugin, "port", None) or (443 if secure else 80)
        return Endpoint("tls" if secure else "tcp", str(host), int(port), verify=_verify(plugin) if secure else True), ""
    return None, "uncheckable"


def _verify(plugin: object) -> bool:
    return bool(getattr(plugin, "verify_certificate", True))


def _tls(ep: Endpoint) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not ep.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def probe(ep: Endpoint, timeout: float = 5.0) -> tuple[bool, str]:
    """Reach ``ep`` without sending anything. (ok, detail)."""
    try:
        if ep.kind == "smtp":
            return _probe_smtp(ep, timeout)
        with socket.create_connection((ep.host, ep.port), timeout=timeout) as sock:
            if ep.kind == "tls":
                with _tls(ep).wrap_socket(sock, server_hostname=ep.host):
                    pass
        return True, ""
    except (OSError, smtplib.SMTPException) as exc:
        return False, redact_text(_reason(exc))


def _probe_smtp(ep: Endpoint, timeout: float) -> tuple[bool, str]:
    if ep.mode == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(ep.host, ep.port, timeout=timeout, context=_tls(ep))
    else:
        smtp = smtplib.SMTP(ep.host, ep.port, timeout=timeout)
    try:
        code, _ = smtp.ehlo()
        if code != 250:
            return False, f"EHLO → {code}"
        if ep.mode == "starttls":
            if not smtp.has_extn("starttls"):
                return False, "STARTTLS not offered"
            smtp.starttls(context=_tls(ep))
            code, _ = smtp.ehlo()
            if code != 250:
                return False, f"EHLO after STARTTLS → {code}"
        return True, ""
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror or exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- all targets ----------------------------------------------------------------------------------


def check_targets(owners: Sequence[Owner], *, timeout: float = 5.0, lang: str = "vi",
                  prober: Callable[[Endpoint, float], tuple[bool, str]] = probe, workers: int = 8) -> list[Check]:
    """One Check per (owner, URL); each distinct endpoint probed once. ``timeout``: seconds,
    above 0 (a timeout of 0 makes sockets non-blocking, which smtplib and TLS refuse)."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")

    parsed: list[tuple[Owner, str, Endpoint | None, str]] = []
    for o in owners:
        for url in o.urls:
            ep, why = endpoint(url)
            parsed.append((o, url, ep, why))
    distinct = sorted({ep for _, _, ep, _ in parsed if ep is not None}, key=lambda e: (e.kind, e.host, e.port, e.mode))
    results: dict[Endpoint, tuple[bool, str]] = {}
    if distinct:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(distinct)))) as pool:
            for ep, res in zip(distinct, pool.map(lambda e: prober(e, timeout), distinct)):
                results[ep] = res
    out: list[Check] = []
    for o, url, ep, why in parsed:
        name = tr(lang, "notify.target", ref=o.ref, url=redact(url))
        if ep is None:
            if why == "invalid":
                out.append(Check(name, FAIL, tr(lang, "notify.apprise_cannot_parse_this_url")))
            else:
                out.append(Check(name, SKIP, tr(lang, "notify.not_checkable_without_sending")))
            continue
        ok, detail = results[ep]
        if ok:
            out.append(Check(name, OK, tr(lang, "notify.reachable", label=ep.label())))
        else:
            out.append(Check(name, FAIL, f"{ep.label()}: {detail}"))
    return out


__all__ = ["FAIL", "OK", "SKIP", "Check", "Endpoint", "Owner", "check_targets", "collect", "endpoint", "probe"]

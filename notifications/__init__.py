"""Notifications: messages rendered from Jinja templates and delivered through Apprise.

This is the only package that imports apprise (always lazily). It depends on engine/
(outbox protocol, digest data); engine/ never imports it.

* ``messages``  — ``render(digest) -> Message``: subject + text body (Vietnamese by default).
* ``delivery``  — ``AppriseNotifier`` (one fresh Apprise object per target and message),
  ``redact`` (a URL safe to print), ``dispatch`` (claim → render → send → record).
"""

"""Housekeeping the daily run does after its real work: rows that only ever grow are pruned.

- ``login_attempt``: failed-login rows older than the rate-limit window count for nothing
  (``engine.accounts.purge_login_attempts``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.accounts import purge_login_attempts
from engine.clock import require_aware


def housekeeping(session: Session, *, now: datetime) -> dict[str, int]:
    """Prune what has expired as of ``now``; returns how many rows each step removed."""
    require_aware(now)
    return {"login_attempts_pruned": purge_login_attempts(session, now=now)}

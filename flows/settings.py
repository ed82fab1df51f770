"""Prefect environment for Steer: quiet, offline-friendly, fast. Import (and call
``configure()``) before the first ``import prefect``.

* ``PREFECT_SERVER_ANALYTICS_ENABLED=false`` and ``DO_NOT_TRACK=1``: no telemetry (and no
  telemetry errors on an offline machine);
* ``PREFECT_SERVER_LOGGING_LEVEL=CRITICAL``: no ``task_run_recorder … CancelledError``
  tracebacks when a temporary server shuts down;
* ``PREFECT_LOGGING_LEVEL=WARNING``: no banner or per-task INFO lines.

Values already in the environment win (an operator can turn logging back up).
``no_heartbeat()`` disables the flow heartbeat thread (it costs ~1 s per sync flow run);
only programmatic settings accept ``None`` for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

QUIET_ENV: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def configure(env: dict[str, str] | None = None) -> dict[str, str]:
    """Set the quiet defaults in ``env`` (default ``os.environ``) unless already set."""
    target = os.environ if env is None else env
    for key, value in QUIET_ENV.items():
        target.setdefault(key, value)
    return dict(target) if env is not None else {k: target[k] for k in QUIET_ENV}


@contextmanager
def no_heartbeat() -> Iterator[None]:
    """Run flows inside this block without the flow heartbeat (imports prefect)."""
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


configure()

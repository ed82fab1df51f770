"""Prefect environment for Steer: quiet, offline-friendly, fast. Import (and call
``configure()``) before the first ``import prefect``.

* ``PREFECT_SERVER_ANALYTICS_ENABLED=false`` and ``DO_NOT_TRACK=1``: no telemetry (and no
  telemetry errors on an offline machine);
* ``PREFECT_SERVER_LOGGING_LEVEL=CRITICAL``: no ``task_run_recorder … CancelledError``
  tracebacks when a temporary server shuts down;
* ``PREFECT_LOGGING_LEVEL=WARNING``: no banner or per-task INFO lines — for one-off runs
  in the CLI only: ``steer serve`` and workers keep INFO (``configure(logs=True)``), so
  each run's steps are in its log in the Prefect UI;
* ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180``: the temporary server of a
  one-off ``steer escalate`` takes 15–50 s to start on a fresh ``PREFECT_HOME`` on a busy
  machine; Prefect's default of 20 s made the first run on a machine fail.

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
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
LOG_KEYS = ("PREFECT_LOGGING_LEVEL",)


def configure(env: dict[str, str] | None = None, *, logs: bool = False) -> dict[str, str]:
    """Set the quiet defaults in ``env`` (default ``os.environ``) unless already set;
    ``logs=True`` (serve, workers) leaves Prefect's INFO logging on."""
    target = os.environ if env is None else env
    for key, value in QUIET_ENV.items():
        if logs and key in LOG_KEYS:
            if env is None and key in _SET_HERE:  # set by the import-time call below: take it back
                target.pop(key, None)
                _SET_HERE.discard(key)
            continue
        if key not in target:
            target[key] = value
            if env is None:
                _SET_HERE.add(key)
    return dict(target) if env is not None else {k: target[k] for k in QUIET_ENV if k in target}


_SET_HERE: set[str] = set()  # keys of os.environ this module set (not the operator)


@contextmanager
def no_heartbeat() -> Iterator[None]:
    """Run flows inside this block without the flow heartbeat (imports prefect)."""
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


configure()

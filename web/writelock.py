"""One SQLite writer at a time across the web app's worker processes.

SQLite lets one connection write at a time. Within a process the web app queues its writers
on a lock (``web.core.Db.tx``); between processes (``steer web --workers N``) they would meet
at ``BEGIN IMMEDIATE``, where SQLite's busy handler polls with growing sleeps (up to 100 ms
each) and leaves the database idle while the next writer sleeps. ``WriterLock`` adds an
advisory ``flock`` on a file beside the database: a waiting worker blocks in the kernel and
wakes as soon as the holder lets go. Other programs (the CLI, flows) do not take it and
still meet the web's writers at ``BEGIN IMMEDIATE``, as before.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the in-process lock alone
    fcntl = None  # type: ignore[assignment]


def lock_path(database: str | Path) -> Path:
    p = Path(database).expanduser().resolve()
    return p.with_name(p.name + ".steer-writer.lock")


class WriterLock:
    """A re-entrant lock for this process's threads, holding an exclusive ``flock`` on
    ``path`` while held (taken by the outermost acquire, released by the last release)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def _file(self) -> int:
        if self._fd is None:
            # opened lazily, in the worker process (not inherited from a parent)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def acquire(self) -> None:
        self._local.acquire()
        try:
            if self._depth == 0 and fcntl is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX)  # blocks without the GIL
            self._depth += 1
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and fcntl is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._local.release()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

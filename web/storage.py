"""Plans uploaded through the web, awaiting commit (temporary files under a random token).

Evidence files are stored by the engine (``engine.evidence``, used by every interface);
this module keeps the pending-plan helpers the upload pages need.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import IO, Any, MutableMapping

from engine.evidence import TooLarge, clean_name, save_stream

__all__ = ["PENDING_MAX_AGE", "PLAN_SUFFIXES", "TooLarge", "clean_name", "pending_path", "prune_pending", "save_pending_plan"]

PLAN_SUFFIXES = (".xlsx", ".docx", ".pdf", ".csv", ".yaml", ".yml", ".md")
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
PENDING_MAX_AGE = 24 * 3600


def save_pending_plan(src: IO[bytes], original: str | None, dest_dir: Path, *, max_bytes: int,
                      now_ts: float) -> tuple[str, Path, int]:
    """Store an uploaded plan under a random token; returns (token, path, size).
    Pending files older than a day (``now_ts``: the caller's clock) are removed first."""
    prune_pending(dest_dir, now_ts=now_ts)
    suffix = PurePath(clean_name(original)).suffix.lower()
    if suffix not in PLAN_SUFFIXES:
        suffix = ".bin"
    path, size, _ = save_stream(src, dest_dir, max_bytes=max_bytes, suffix=suffix)
    return path.name[:32], path, size


def pending_path(dest_dir: Path, token: str, suffix: str) -> Path | None:
    if not TOKEN_RE.match(token or "") or suffix not in PLAN_SUFFIXES + (".bin",):
        return None
    p = dest_dir / f"{token}{suffix}"
    return p if p.is_file() else None


def prune_pending(dest_dir: Path, *, now_ts: float, max_age: int = PENDING_MAX_AGE) -> None:
    if not dest_dir.is_dir():
        return
    cutoff = now_ts - max_age
    for p in dest_dir.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


# A pending upload is remembered in the signed session cookie under a key per kind ("uploads" for
# plan files, "progress_uploads" for progress sheets): token -> {"name", "suffix", ...}; only the
# last few are kept so the cookie stays small.
KEEP_PENDING = 3


def remember_pending(session: MutableMapping[str, Any], key: str, token: str, meta: dict[str, Any]) -> None:
    uploads = dict(session.get(key) or {})
    uploads[token] = meta
    session[key] = dict(list(uploads.items())[-KEEP_PENDING:])


def find_pending(session: MutableMapping[str, Any], key: str, dest_dir: Path,
                 token: str) -> tuple[dict[str, Any], Path] | None:
    """The remembered upload ``token`` and its file, or None when it is unknown or gone."""
    meta = (session.get(key) or {}).get(token)
    path = pending_path(dest_dir, token, meta["suffix"]) if meta else None
    return (meta, path) if meta is not None and path is not None else None


def forget_pending(session: MutableMapping[str, Any], key: str, dest_dir: Path, token: str) -> None:
    """Drop the remembered upload ``token`` and delete its file (committed or cancelled)."""
    uploads = dict(session.get(key) or {})
    meta = uploads.pop(token, None)
    path = pending_path(dest_dir, token, meta["suffix"]) if meta else None
    if path is not None:
        path.unlink(missing_ok=True)
    session[key] = uploads

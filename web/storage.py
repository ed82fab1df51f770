"""Files uploaded through the web: evidence (kept) and plans awaiting commit (temporary).

Names on disk are random (never the client's name or path); the original file name,
size, content type and sha256 are recorded in ``evidence_file``. Size is enforced while
reading, so an oversized upload is never fully kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO

CHUNK = 1024 * 1024
PLAN_SUFFIXES = (".xlsx", ".docx", ".csv", ".yaml", ".yml", ".md")
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
PENDING_MAX_AGE = 24 * 3600


class TooLarge(Exception):
    pass


@dataclass
class Stored:
    path: Path
    stored_name: str
    original_name: str
    size: int
    sha256: str


def clean_name(name: str | None) -> str:
    """The client's file name without any directory part, control characters or excess length."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip()
    return (base or "file")[:200]


def save_stream(src: IO[bytes], dest_dir: Path, *, max_bytes: int, suffix: str = ".bin") -> tuple[Path, int, str]:
    """Copy ``src`` to a new random file in ``dest_dir``; ``TooLarge`` (and nothing kept) above ``max_bytes``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + suffix
    path = dest_dir / name
    h = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge()
                h.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, h.hexdigest()


def save_evidence(src: IO[bytes], original: str | None, dest_dir: Path, *, max_bytes: int) -> Stored:
    path, size, digest = save_stream(src, dest_dir, max_bytes=max_bytes)
    return Stored(path=path, stored_name=path.name, original_name=clean_name(original), size=size, sha256=digest)


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

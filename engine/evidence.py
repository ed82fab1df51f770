"""Evidence files: where they are kept, and storing one (size-limited, random name, sha256,
its ``evidence_file`` row). Used by ``engine.commands.perform`` for every interface (the web
form, the JSON API, the CLI), so a file attached anywhere shows on the item page.

Names on disk are random (never the client's name or path); the original file name, size,
content type and sha256 are recorded in ``evidence_file``. Size is enforced while reading,
so an oversized file is never fully kept.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import IO

from sqlalchemy.orm import Session

from engine.errors import UserError
from engine.i18n import tr
from engine.models import EvidenceFile

CHUNK = 1024 * 1024
DEFAULT_UPLOAD_DIR = ".steer-web"
DEFAULT_MAX_UPLOAD_MB = 10


class TooLarge(Exception):
    pass


def default_upload_dir() -> Path:
    """Where evidence files and pending plan uploads are kept: ``STEER_UPLOAD_DIR``, else
    ``.steer-web`` (the default of ``steer web --upload-dir``; the CLI stores files there too)."""
    return Path(os.environ.get("STEER_UPLOAD_DIR") or DEFAULT_UPLOAD_DIR)


def default_max_bytes() -> int:
    """The largest accepted file: ``STEER_MAX_UPLOAD_MB`` (default 10) megabytes."""
    return int(os.environ.get("STEER_MAX_UPLOAD_MB") or DEFAULT_MAX_UPLOAD_MB) * 1024 * 1024


def evidence_dir(upload_dir: Path) -> Path:
    return upload_dir / "evidence"


@dataclass(frozen=True)
class Upload:
    """A file to attach as evidence: its bytes (a binary stream), the client's file name and
    content type."""

    stream: IO[bytes]
    name: str | None
    content_type: str | None = None


@dataclass
class Stored:
    path: Path
    stored_name: str
    original_name: str
    size: int
    sha256: str

    def discard(self) -> None:
        """Remove the file (the action that was to record it failed)."""
        self.path.unlink(missing_ok=True)


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


def save_evidence(src: IO[bytes], original: str | None, dest_dir: Path, *, max_bytes: int, lang: str = "vi") -> Stored:
    """Store one evidence file (``UserError`` naming the limit when it is too large)."""
    try:
        path, size, digest = save_stream(src, dest_dir, max_bytes=max_bytes)
    except TooLarge:
        raise UserError(tr(lang, "too_large", mb=max_bytes // (1024 * 1024))) from None
    return Stored(path=path, stored_name=path.name, original_name=clean_name(original), size=size, sha256=digest)


def file_note(stored: Stored, lang: str) -> str:
    """How the file is named in the event's evidence text."""
    return tr(lang, "ev.file_note", name=stored.original_name, size=stored.size, sha256=stored.sha256,
              stored=stored.stored_name)


def record(session: Session, item_id: int, stored: Stored, *, content_type: str | None, uploaded_by: str,
           uploaded_at: datetime) -> EvidenceFile:
    """The ``evidence_file`` row of a stored file."""
    row = EvidenceFile(work_item_id=item_id, stored_name=stored.stored_name, original_name=stored.original_name,
                       content_type=content_type or None, size=stored.size, sha256=stored.sha256,
                       uploaded_by=uploaded_by, uploaded_at=uploaded_at)
    session.add(row)
    session.flush()
    return row

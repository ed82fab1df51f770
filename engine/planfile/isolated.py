"""Read an uploaded plan file in a child process, with a time and memory budget.

The readers' work is bounded (``engine.planfile.office``), but a web worker must never
be tied up by one upload: the parse runs in a separate process that is killed when it
takes longer than ``READ_SECONDS`` or allocates more than ``READ_MEMORY_MB``. The
worker thread waits at most that long and then answers with a message naming the limit.

The child is started from a fork server (``multiprocessing`` "forkserver", preloaded with
the readers), so each read costs a fork, not a fresh interpreter, and nothing of the web
app's threads or database connections is inherited.
"""

from __future__ import annotations

import multiprocessing
import resource
from multiprocessing.connection import Connection
from typing import Any

from engine.errors import InputFileError, UserError
from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.readers import read_plan_bytes
from engine.planfile.spec import PlanFileError, PlanSpec

READ_SECONDS = 30.0
READ_MEMORY_MB = 1024

_ctx: Any = None


def _context() -> Any:
    global _ctx
    if _ctx is None:
        ctx = multiprocessing.get_context("forkserver")
        # Heavy libraries are imported once, in the server (openpyxl pulls in numpy, whose
        # OpenBLAS start-up must not run under a child's memory limit).
        ctx.set_forkserver_preload(["engine.planfile.readers", "engine.planfile.read_docx",
                                    "engine.planfile.read_xlsx", "engine.planfile.read_pdf", "openpyxl", "docx",
                                    "pdfplumber"])
        _ctx = ctx
    return _ctx


def _limit_memory(memory_mb: int) -> None:
    try:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a platform without the limit: the time budget still holds
        pass


def _run_child(conn: Connection, func: Any, data: bytes, source: str, memory_mb: int, lang: str,
               kwargs: dict[str, Any]) -> None:
    """The child's side: ``func(data, source, lang=lang, **kwargs)`` under the memory limit,
    its answer (or the user error's message) sent back through ``conn``."""
    _limit_memory(memory_mb)
    try:
        conn.send(("ok", func(data, source, lang=lang, **kwargs)))
    except UserError as exc:
        conn.send(("error", str(exc)))
    except MemoryError:
        conn.send(("memory", ""))
    finally:
        conn.close()


def run_isolated(func: Any, data: bytes, source: str, *, lang: str = DEFAULT_LANG, seconds: float = READ_SECONDS,
                 memory_mb: int = READ_MEMORY_MB, error: type[UserError] = InputFileError,
                 **kwargs: Any) -> Any:
    """``func(data, source, lang=lang, **kwargs)`` (a module-level reader of an uploaded file,
    e.g. ``engine.progress.read_sheet``) in a child process with the same budget as plan files;
    ``error`` (worded in ``lang``) when it refuses the file, runs out of time (the child is
    killed) or out of memory."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_run_child, args=(send, func, data, source, memory_mb, lang, kwargs), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise error(tr(lang, "inputs.read_timeout", source=source, seconds=seconds))
        try:
            kind, value = receive.recv()
        except (EOFError, OSError):  # the child died without answering (killed, crashed)
            raise error(tr(lang, "inputs.read_crashed", source=source)) from None
    finally:
        receive.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if kind == "ok":
        return value
    if kind == "memory":
        raise error(tr(lang, "inputs.read_memory", source=source))
    raise error(value)


def read_plan_bytes_isolated(data: bytes, filename: str, *, sheet: str | None = None,
                             seconds: float = READ_SECONDS, memory_mb: int = READ_MEMORY_MB,
                             lang: str = DEFAULT_LANG) -> PlanSpec:
    """``read_plan_bytes`` in a child process; PlanFileError (worded in ``lang``) when it
    fails, runs out of time (the child is killed) or out of memory."""
    return run_isolated(read_plan_bytes, data, filename, lang=lang, seconds=seconds,  # type: ignore[no-any-return]
                        memory_mb=memory_mb, error=PlanFileError, sheet=sheet)


# Text recognition of a scan (engine.planfile.ocr) runs tesseract, a program of its own, from
# the child; its budget is the OCR time limit plus the start-up, and the memory limit covers
# the child and tesseract (which inherits it).
OCR_SECONDS = 260.0


def _ocr(data: bytes, filename: str, *, lang: str = DEFAULT_LANG) -> Any:
    from engine.planfile.ocr import ocr_pdf_table

    return ocr_pdf_table(data, filename, lang=lang)


def ocr_pdf_isolated(data: bytes, filename: str, *, seconds: float = OCR_SECONDS, memory_mb: int = READ_MEMORY_MB,
                     lang: str = DEFAULT_LANG) -> Any:
    """``engine.planfile.ocr.ocr_pdf_table`` in a child process (an ``OcrTable``), as
    ``read_plan_bytes_isolated`` reads a plan file."""
    return run_isolated(_ocr, data, filename, lang=lang, seconds=seconds, memory_mb=memory_mb, error=PlanFileError)

"""The correction grid of a scanned PDF plan (issue 23): an OCR result is never loaded directly.

The upload of a scan (a PDF without a text layer, ``web.pages.preview_pending``) comes here
when tesseract with its Vietnamese data is installed: the task table is recognised
(``engine.planfile.ocr``, in a child process with a time and memory budget) and shown as a
form with one text box per cell, the cells recognised with low confidence outlined. "Tiếp
tục" posts the corrected grid, which is written as an .xlsx pending upload and goes through
the normal reader and preview (``preview_pending``), then the normal commit: one code path,
the same as ``steer plan load scan.pdf --ocr --ocr-out table.xlsx`` then ``steer plan load
table.xlsx``. Nothing is written before the commit.
"""

from __future__ import annotations

import io
from pathlib import Path, PurePath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from engine.i18n import tr
from web import storage
from web.core import WebError, cfg, check_csrf, db, lang_of, now, render, require_login, t

router = APIRouter(include_in_schema=False)

MAX_CELLS = 20_000  # form fields of one grid (a 12-page scan holds far fewer)


def review_scan(request: Request, path: Path, original: str, code: str) -> Response | None:
    """The correction grid for a scan saved at ``path`` (removed here); None when the file is
    not a scanned PDF (the caller shows its read error)."""
    from engine.planfile.isolated import ocr_pdf_isolated
    from engine.planfile.ocr import has_text_layer, not_installed_message, ocr_missing
    from engine.planfile.spec import PlanFileError

    if path.suffix.lower() != ".pdf":
        return None
    data = path.read_bytes()
    if has_text_layer(data):
        return None
    path.unlink(missing_ok=True)
    lang = lang_of(request)
    missing = ocr_missing()
    if missing is not None:
        scan = tr(lang, "pdf.no_text_layer", source=original, pages=_pages(data))
        return render(request, "preview.html", {"file": original, "vp": None,
                                                "read_error": f"{scan} {not_installed_message(missing, lang)}"},
                      status=400)
    try:
        table = ocr_pdf_isolated(data, original, lang=lang)
    except PlanFileError as exc:
        return render(request, "preview.html", {"file": original, "read_error": str(exc), "vp": None}, status=400)
    rows = [list(r.cells) for r in table.rows]
    return render(request, "ocr_review.html", {
        "file": original, "code": code.strip(), "pages": table.pages,
        "rows": rows, "flagged": table.flagged, "width": table.width, "heights": [_lines(r) for r in rows],
        "labels": _labels(table.rows), "n_flagged": sum(map(sum, table.flagged)),
    })


def _lines(row: list[str]) -> int:
    """Text lines for the boxes of a row (all the same height, as the printed row's cells):
    its longest cell at about 22 characters a line, at most 12 (a box also grows with its text
    where the browser supports it, and can be resized)."""
    need = max((sum(len(part) // 22 + 1 for part in text.split("\n")) for text in row), default=1)
    return max(1, min(need, 12))


def _labels(rows: list[Any]) -> list[str]:
    """The recognised header row's texts, shown over the columns ("TT", "Tên nhiệm vụ", …)."""
    from engine.planfile.read_table import find_header, one_line

    header = find_header(rows)
    if header is None:
        return []
    return [one_line(c) for c in rows[header.top_index].cells]


def _pages(data: bytes) -> int:
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception:
        return 0
    try:
        return len(pdf)
    finally:
        pdf.close()


@router.post("/plans/upload/ocr")
async def ocr_continue(request: Request) -> Response:
    """The corrected grid → a pending .xlsx → the normal preview."""
    try:
        form = await request.form(max_fields=MAX_CELLS + 10, max_files=0)  # check_csrf reads this cached copy
    except Exception:
        raise WebError(400, t(request, "ocr.expired"), reason="upload") from None
    await check_csrf(request)
    return await run_in_threadpool(_continue, request, form)  # the read runs in a child process: off the event loop


def _continue(request: Request, form: Any) -> Response:
    from engine.planfile.ocr import ocr_xlsx_bytes
    from web.pages import SECRETARIAT, preview_pending

    with db(request).ro() as s:
        require_login(request, s, SECRETARIAT)
    try:
        n_rows = int(str(form.get("rows", "0")))
        n_cols = int(str(form.get("cols", "0")))
    except ValueError:
        n_rows = n_cols = 0
    if not (0 < n_rows and 0 < n_cols and n_rows * n_cols <= MAX_CELLS):
        raise WebError(400, t(request, "ocr.expired"), reason="upload")
    rows = [[str(form.get(f"c-{r}-{c}", "")).replace("\r\n", "\n").strip() for c in range(n_cols)]
            for r in range(n_rows)]
    original = storage.clean_name(str(form.get("file", "")) or "scan.pdf")
    name = tr(lang_of(request), "ocr.corrected_name", stem=PurePath(original).stem)
    c = cfg(request)
    try:
        token, path, _size = storage.save_pending_plan(io.BytesIO(ocr_xlsx_bytes(rows)), name, c.pending_dir,
                                                       max_bytes=c.max_upload_bytes, now_ts=now(request).timestamp())
    except storage.TooLarge:
        raise WebError(413, t(request, "too_large", mb=c.max_upload_bytes // (1024 * 1024))) from None
    return preview_pending(request, token, path, name, str(form.get("code", "")))

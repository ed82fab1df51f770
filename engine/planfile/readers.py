"""Plan-file readers: one entry point for every format, with content sniffing.

``read_plan_file(path)`` / ``read_plan_bytes(data, filename)`` pick the format by
extension (.yaml/.yml, .xlsx/.xlsm, .docx, .csv, .md, .pdf), confirm it from the bytes
(zip structure for Office files; "%PDF" for PDF; text encoding for text files) and hand
back a PlanSpec. Anything that cannot be read raises PlanFileError with one paragraph naming
the file, in the caller's language; library exceptions never escape.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePath

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.office import check_office_size, check_text_size
from engine.planfile.spec import PlanFileError, PlanSpec
from engine.planfile.tables import decode_text, expected_name

FORMATS: dict[str, str] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".docx": "docx",
    ".csv": "csv",
    ".md": "md",
    ".markdown": "md",
    ".pdf": "pdf",
}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


def read_plan_file(path: str | Path, *, sheet: str | None = None, lang: str = DEFAULT_LANG) -> PlanSpec:
    """Read a plan file from disk. ``sheet`` picks the worksheet of an Excel file; errors are
    worded in ``lang``."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanFileError(tr(lang, "plan.read.not_found", source=source)) from None
    except IsADirectoryError:
        raise PlanFileError(tr(lang, "plan.read.is_dir", source=source)) from None
    except OSError as exc:
        raise PlanFileError(tr(lang, "plan.read.os_error", source=source, reason=exc.strerror or exc)) from None
    return read_plan_bytes(data, source, sheet=sheet, lang=lang)


def read_plan_bytes(data: bytes, filename: str, *, sheet: str | None = None, lang: str = DEFAULT_LANG) -> PlanSpec:
    """Read an uploaded plan file; the format comes from the name, checked against the bytes."""
    source = filename
    suffix = PurePath(filename).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise _unknown_extension(source, suffix, data, lang)
    if not data:
        raise PlanFileError(tr(lang, "plan.read.empty_bytes", source=source))
    kind = _sniff(data)

    if fmt == "pdf":
        if kind != "pdf":
            raise _wrong_content(source, fmt, kind, lang)
        from engine.planfile.read_pdf import read_pdf_bytes

        return read_pdf_bytes(data, source, lang=lang)

    if fmt in ("xlsx", "docx"):
        if kind != fmt:
            raise _wrong_content(source, fmt, kind, lang)
        check_office_size(data, source, lang=lang)
        if fmt == "xlsx":
            from engine.planfile.read_xlsx import read_xlsx_bytes

            return read_xlsx_bytes(data, source, sheet, lang=lang)
        from engine.planfile.read_docx import read_docx_bytes

        return read_docx_bytes(data, source, lang=lang)

    if kind != "text":
        raise _wrong_content(source, fmt, kind, lang)
    text = decode_text(data, source, fmt, lang=lang)
    check_text_size(text, source, rows=fmt == "md", lang=lang)  # a CSV record may span lines: characters only
    if fmt == "csv":
        from engine.planfile.read_csv import read_csv_text

        return read_csv_text(text, source, lang=lang)
    if fmt == "md":
        from engine.planfile.read_md import read_md_text

        return read_md_text(text, source, lang=lang)
    from engine.planfile.read_yaml import read_yaml_text

    return read_yaml_text(text, source, lang=lang)


# Uncompressed size an Office plan may have. Real annexes are a few MB; a "zip bomb" (a
# member of gigabytes of blanks compressed to kilobytes) would otherwise be unpacked in memory.


# --------------------------------------------------------------------------
# Sniffing
# --------------------------------------------------------------------------


def _sniff(data: bytes) -> str:
    """'xlsx' | 'docx' | 'zip' | 'ole' | 'pdf' | 'text' | 'binary'."""
    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except Exception:  # BadZipFile, truncated archives, odd headers
            return "binary"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "word/document.xml" in names:
            return "docx"
        return "zip"
    if data.startswith(_OLE_MAGIC):
        return "ole"
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"  # UTF-16 with BOM (Excel "Unicode text")
    if b"\x00" in data:
        return "binary"
    return "text"


def _wrong_content(source: str, fmt: str, kind: str, lang: str = DEFAULT_LANG) -> PlanFileError:
    expected = expected_name(fmt, lang)
    if fmt == "pdf":
        fix = tr(lang, "pdf.fix")
        detail = tr(lang, "pdf.detail")
    elif fmt in ("xlsx", "docx"):
        fix = tr(lang, f"plan.read.fix_{fmt}")
        detail = tr(lang, f"plan.read.detail_{fmt}")
    else:
        fix = tr(lang, "plan.read.fix_text")
        detail = tr(lang, "plan.read.detail_binary")
    if kind == "zip":
        actual = tr(lang, "plan.read.actual_zip", expected=expected)
    elif kind == "pdf":
        actual = tr(lang, "pdf.actual_pdf")
    elif kind in ("xlsx", "docx", "ole"):
        actual = tr(lang, f"plan.read.actual_{kind}")
    else:
        actual = detail
    name = {"xlsx": "Excel", "docx": "Word", "pdf": "PDF"}.get(fmt)
    what = tr(lang, "plan.read.valid_named", name=name) if name else tr(lang, "plan.read.valid", expected=expected)
    return PlanFileError(tr(lang, "plan.read.wrong_content", source=source, what=what, actual=actual, fix=fix))


def _unknown_extension(source: str, suffix: str, data: bytes, lang: str = DEFAULT_LANG) -> PlanFileError:
    accepted = ", ".join(sorted(FORMATS))
    if suffix in (".xls", ".doc"):
        hint = tr(lang, f"plan.read.hint_{suffix[1:]}")
    else:
        kind = _sniff(data) if data else ""
        hint = tr(lang, f"plan.read.hint_looks_{kind}") if kind in ("xlsx", "docx") else ""
    shown = suffix or tr(lang, "plan.read.no_extension")
    return PlanFileError(tr(lang, "plan.read.unknown_extension", source=source, shown=shown, accepted=accepted,
                            hint=hint))

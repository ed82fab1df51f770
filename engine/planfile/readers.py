"""Plan-file readers: one entry point for every format, with content sniffing.

``read_plan_file(path)`` / ``read_plan_bytes(data, filename)`` pick the format by
extension (.yaml/.yml, .xlsx/.xlsm, .docx, .csv, .md), confirm it from the bytes
(zip structure for Office files; text encoding for text files) and hand back a
PlanSpec. Anything that cannot be read raises PlanFileError with one Vietnamese
paragraph naming the file; library exceptions never escape.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePath

from engine.planfile.office import check_office_size, check_text_size
from engine.planfile.spec import PlanFileError, PlanSpec
from engine.planfile.tables import EXPECTED, decode_text

FORMATS: dict[str, str] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".docx": "docx",
    ".csv": "csv",
    ".md": "md",
    ".markdown": "md",
}

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_EXPECTED = EXPECTED


def read_plan_file(path: str | Path, *, sheet: str | None = None) -> PlanSpec:
    """Read a plan file from disk. ``sheet`` picks the worksheet of an Excel file."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"Không tìm thấy tệp «{source}».") from None
    except IsADirectoryError:
        raise PlanFileError(f"«{source}» là một thư mục, không phải tệp kế hoạch.") from None
    except OSError as exc:
        raise PlanFileError(
            f"Không mở được tệp «{source}» ({exc.strerror or exc}). Hãy kiểm tra quyền đọc tệp."
        ) from None
    return read_plan_bytes(data, source, sheet=sheet)


def read_plan_bytes(data: bytes, filename: str, *, sheet: str | None = None) -> PlanSpec:
    """Read an uploaded plan file; the format comes from the name, checked against the bytes."""
    source = filename
    suffix = PurePath(filename).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise _unknown_extension(source, suffix, data)
    if not data:
        raise PlanFileError(f"Tệp «{source}» trống (0 byte): không có kế hoạch nào để nhập.")
    kind = _sniff(data)

    if fmt in ("xlsx", "docx"):
        if kind != fmt:
            raise _wrong_content(source, fmt, kind)
        check_office_size(data, source)
        if fmt == "xlsx":
            from engine.planfile.read_xlsx import read_xlsx_bytes

            return read_xlsx_bytes(data, source, sheet)
        from engine.planfile.read_docx import read_docx_bytes

        return read_docx_bytes(data, source)

    if kind != "text":
        raise _wrong_content(source, fmt, kind)
    text = decode_text(data, source, fmt)
    check_text_size(text, source, rows=fmt == "md")  # a CSV record may span lines: characters only
    if fmt == "csv":
        from engine.planfile.read_csv import read_csv_text

        return read_csv_text(text, source)
    if fmt == "md":
        from engine.planfile.read_md import read_md_text

        return read_md_text(text, source)
    from engine.planfile.read_yaml import read_yaml_text

    return read_yaml_text(text, source)


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


def _wrong_content(source: str, fmt: str, kind: str) -> PlanFileError:
    expected = _EXPECTED[fmt]
    if fmt == "xlsx":
        fix = "Hãy mở tệp bằng Excel và lưu lại dưới dạng .xlsx."
        detail = "không đọc được cấu trúc .xlsx"
    elif fmt == "docx":
        fix = "Hãy mở tệp bằng Word và lưu lại dưới dạng .docx."
        detail = "không đọc được cấu trúc .docx"
    else:
        fix = "Hãy lưu lại tệp dưới dạng văn bản UTF-8 với đúng đuôi tệp."
        detail = "nội dung là dữ liệu nhị phân, không phải văn bản"
    actual = {
        "xlsx": "nội dung thực ra là một tệp Excel (.xlsx) — hãy đổi đuôi tệp thành .xlsx",
        "docx": "nội dung thực ra là một tệp Word (.docx) — hãy đổi đuôi tệp thành .docx",
        "zip": "nội dung là một tệp nén .zip, không phải " + expected,
        "ole": "nội dung là tệp Office đời cũ (.xls/.doc 97-2003) hoặc tệp có đặt mật khẩu",
        "pdf": "nội dung là tệp PDF — hãy dùng bản Word/Excel gốc của kế hoạch",
        "binary": detail,
    }.get(kind, detail)
    name = {"xlsx": "Excel", "docx": "Word"}.get(fmt)
    what = f"tệp {name} hợp lệ" if name else f"{expected} hợp lệ"
    return PlanFileError(f"Tệp «{source}» không phải là {what} ({actual}). {fix}")


def _unknown_extension(source: str, suffix: str, data: bytes) -> PlanFileError:
    accepted = ", ".join(sorted(FORMATS))
    if suffix == ".xls":
        hint = (
            " Tệp Excel 97-2003 (.xls) chưa được hỗ trợ: hãy mở bằng Excel và lưu lại dưới "
            "dạng .xlsx."
        )
    elif suffix == ".doc":
        hint = (
            " Tệp Word 97-2003 (.doc) chưa được hỗ trợ: hãy mở bằng Word và lưu lại dưới "
            "dạng .docx."
        )
    elif suffix == ".pdf":
        hint = " Tệp PDF không đọc được bảng nhiệm vụ: hãy dùng bản Word/Excel gốc."
    else:
        kind = _sniff(data) if data else ""
        hint = {
            "xlsx": " Nội dung có vẻ là tệp Excel: hãy đổi đuôi tệp thành .xlsx.",
            "docx": " Nội dung có vẻ là tệp Word: hãy đổi đuôi tệp thành .docx.",
        }.get(kind, "")
    shown = suffix or "(không có đuôi)"
    return PlanFileError(
        f"Tệp «{source}» có đuôi {shown} không được hỗ trợ; cần một trong các định dạng: "
        f"{accepted}.{hint}"
    )



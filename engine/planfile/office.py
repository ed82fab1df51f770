"""Guard shared by every Office reader (plans, indicators): refuse a zip bomb before parsing."""

from __future__ import annotations

import io
import zipfile

from engine.planfile.spec import PlanFileError

MAX_OFFICE_UNCOMPRESSED = 200 * 1024 * 1024


def check_office_size(data: bytes, source: str) -> None:
    """Refuse an .xlsx/.docx whose members unpack to more than MAX_OFFICE_UNCOMPRESSED bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(max(0, i.file_size) for i in zf.infolist())
    except Exception:  # damaged: the Office reader reports it
        return
    if total > MAX_OFFICE_UNCOMPRESSED:
        raise PlanFileError(
            f"Tệp «{source}» giải nén ra {total // (1024 * 1024)} MB (tối đa "
            f"{MAX_OFFICE_UNCOMPRESSED // (1024 * 1024)} MB): không phải một phụ lục kế hoạch bình thường. "
            f"Hãy mở tệp bằng Excel/Word, xóa phần thừa và lưu lại."
        )

"""Reading a YAML document from bytes with one clear, located error message."""

from __future__ import annotations

from typing import Any

import yaml


def load_yaml(data: bytes, source: str, error: type[Exception], what: str = "Tệp") -> Any:
    """Parse ``data`` (UTF-8, BOM allowed); on failure raise ``error`` naming the file, line and column."""
    try:
        return yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise error(f"{what} «{source}» không phải văn bản UTF-8 (có phải tệp YAML không?).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (dòng {mark.line + 1}, cột {mark.column + 1})" if mark else ""
        raise error(f"{what} «{source}» có lỗi cú pháp YAML{at}: {getattr(exc, 'problem', exc)}.") from None

"""Reading a YAML document from bytes with one clear, located error message."""

from __future__ import annotations

from typing import Any

import yaml


def load_yaml(data: bytes, source: str, error: type[Exception], what: str = "Tệp") -> Any:
    """Parse ``data`` (UTF-8, BOM allowed); on failure raise ``error`` naming the file, line and column."""
    try:
        doc = yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise error(f"{what} «{source}» không phải văn bản UTF-8 (có phải tệp YAML không?).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (dòng {mark.line + 1}, cột {mark.column + 1})" if mark else ""
        raise error(f"{what} «{source}» có lỗi cú pháp YAML{at}: {getattr(exc, 'problem', exc)}.") from None
    except RecursionError:
        raise error(f"{what} «{source}» lồng nhau quá sâu (danh sách/bảng trong nhau hàng nghìn cấp); "
                    f"không đọc được.") from None
    except (ValueError, TypeError, OverflowError) as exc:
        # the safe constructor itself: "2025-13-45" looks like a timestamp but is no date
        raise error(f"{what} «{source}» có giá trị không đọc được ({' '.join(str(exc).split())[:200]}); "
                    f"hãy đặt giá trị đó trong dấu nháy.") from None
    if _has_nul(doc):
        raise error(f"{what} «{source}» có ký tự NUL (\\0 hoặc \\x00 trong chuỗi đặt trong dấu nháy kép): "
                    f"cơ sở dữ liệu không lưu được ký tự này; hãy xóa nó.")
    return doc


def _has_nul(doc: Any) -> bool:
    """A NUL character in any text of the document ("\\0" in a double-quoted YAML string).

    PostgreSQL refuses NUL in text. Each list/mapping is visited once, so an alias bomb
    (the same list referenced a billion times) is cheap.
    """
    seen: set[int] = set()
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, (list, dict)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.keys() if isinstance(item, dict) else ())
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False

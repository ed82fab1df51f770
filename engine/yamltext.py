"""Reading a YAML document from bytes with one clear, located error message."""

from __future__ import annotations

from typing import Any

import yaml

from engine.i18n import DEFAULT_LANG, tr


def load_yaml(data: bytes, source: str, error: type[Exception], what: str | None = None,
              lang: str = DEFAULT_LANG) -> Any:
    """Parse ``data`` (UTF-8, BOM allowed); on failure raise ``error`` naming the file, line and column.

    ``what`` names the kind of file ("Tệp danh mục"; "Tệp" by default), in ``lang`` like the message."""
    what = what if what is not None else tr(lang, "inputs.yaml_what_file")
    try:
        doc = yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise error(tr(lang, "inputs.yaml_not_utf8", what=what, source=source)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = tr(lang, "inputs.yaml_at", line=mark.line + 1, column=mark.column + 1) if mark else ""
        raise error(tr(lang, "inputs.yaml_syntax", what=what, source=source, at=at,
                       problem=getattr(exc, "problem", exc))) from None
    except RecursionError:
        raise error(tr(lang, "inputs.yaml_too_deep", what=what, source=source)) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # the safe constructor itself: "2025-13-45" looks like a timestamp but is no date
        raise error(tr(lang, "inputs.yaml_bad_value", what=what, source=source,
                       reason=" ".join(str(exc).split())[:200])) from None
    if _has_nul(doc):
        raise error(tr(lang, "inputs.yaml_nul", what=what, source=source))
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

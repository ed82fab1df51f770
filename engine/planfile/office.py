"""Guards shared by every Office reader (plans, indicators): bounded work before parsing.

An .xlsx/.docx is a zip of XML. A few hundred kilobytes can unpack to tens of megabytes
of paragraphs or cells, and python-docx/openpyxl build an object per element: a 165 KB
.docx with 40 MB of paragraphs kept a web worker busy for half an hour. So before a
library sees the file, ``check_office_size`` refuses

* a zip bomb: members unpacking to more than ``MAX_OFFICE_UNCOMPRESSED`` bytes;
* a document part (word/document.xml, the worksheets and shared strings) larger than
  ``MAX_XML_BYTES``;
* more paragraphs, table/sheet rows, cells or characters of text than ``LIMITS`` allow,
  counted by one streaming pass over that XML (lxml ``iterparse``, entities not
  resolved, each element freed once counted) that stops at the first limit exceeded.

That exact count costs about a microsecond per element (half a second for 34 progress
sheets of 300 rows), so it runs only when a cheaper bound cannot prove the limits hold:
each part, read whole (at most ``MAX_XML_BYTES``), is counted with ``bytes.count`` — an
element starts with ``<``, an element named ``row`` with ``<row`` or, prefixed, holds a
colon, so those counts are never below the true number; the characters of text are never
more than the part's bytes.
Only a part in an encoding whose markup is not plain ASCII bytes (UTF-16, say) skips
the bound. A bound over a limit proves nothing: the exact count then decides, so what is
refused, and with which message, is what the exact count alone would give.

Real plan annexes are far below every limit (a large one: 2,000 tasks, 30,000 cells).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from lxml import etree

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.spec import PlanFileError

MAX_OFFICE_UNCOMPRESSED = 200 * 1024 * 1024
MAX_XML_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    paragraphs: int = 50_000  # every w:p, those of table cells included
    rows: int = 10_000
    cells: int = 100_000
    text: int = 2_000_000  # characters


LIMITS = Limits()

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SHEET_RE = re.compile(r"xl/worksheets/[^/]+\.xml")


def _too_big(source: str, what: str, limit: int, name: str, lang: str = DEFAULT_LANG) -> PlanFileError:
    return PlanFileError(tr(lang, "inputs.too_big", source=source, limit=limit, name=name,
                            what=tr(lang, f"inputs.what_{what}")))


def check_office_size(data: bytes, source: str, limits: Limits = LIMITS, *, lang: str = DEFAULT_LANG,
                      look_for: Mapping[str, re.Pattern[bytes]] | None = None) -> frozenset[str] | None:
    """Refuse an .xlsx/.docx that would take unbounded work to read (see the module doc).

    ``look_for``: byte patterns searched for in the same parts (the worksheets and shared
    strings, or the document) while they are in memory anyway. Returns the names of those
    found, or None when the parts could not all be read and bounded (damaged, or an
    encoding other than UTF-8/ASCII): then the caller knows nothing of them."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # damaged: the Office reader reports it
        return None
    with zf:
        total = sum(max(0, i.file_size) for i in infos)
        if total > MAX_OFFICE_UNCOMPRESSED:
            raise PlanFileError(tr(lang, "plan.read.unzips_to", source=source, mb=total // (1024 * 1024),
                                   max_mb=MAX_OFFICE_UNCOMPRESSED // (1024 * 1024)))
        names = {i.filename: i for i in infos}
        if "word/document.xml" in names:
            parts = [names["word/document.xml"]]
        else:
            parts = [i for n, i in names.items() if _SHEET_RE.fullmatch(n) or n == "xl/sharedStrings.xml"]
        xml_bytes = sum(max(0, i.file_size) for i in parts)
        if xml_bytes > MAX_XML_BYTES:
            raise PlanFileError(tr(lang, "inputs.too_big", source=source, limit=MAX_XML_BYTES // (1024 * 1024),
                                   name="MAX_XML_BYTES", what=tr(lang, "inputs.what_xml_mb")))
        caps = {"paragraphs": limits.paragraphs, "rows": limits.rows, "cells": limits.cells, "text": limits.text}
        found = _quick_scan(zf, parts, caps, look_for or {})
        if found is not None and found is not _OVER:
            return found
        counts = {"paragraphs": 0, "rows": 0, "cells": 0, "text": 0}
        try:
            for part in parts:
                with zf.open(part) as fh:
                    for what, n in _count(fh):
                        counts[what] += n
                        if counts[what] > caps[what]:
                            raise _too_big(source, what, caps[what], f"{what}={caps[what]}", lang)
        except PlanFileError:
            raise
        except Exception:  # damaged XML: the Office reader reports it in its own words
            return None
        return None if found is None else _quick_scan(zf, parts, None, look_for or {})


_OVER: frozenset[str] = frozenset({"<over a limit>"})
_BOUNDS = {  # kind -> unprefixed element starts; a prefixed element (w:tr) has a colon, counted apart
    "rows": (b"<row", b"<tr"),
    "cells": (b"<c", b"<tc"),
    "paragraphs": (b"<p",),
}
_DECLARED = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")


def _quick_scan(zf: zipfile.ZipFile, parts: list[zipfile.ZipInfo], caps: dict[str, int] | None,
                look_for: Mapping[str, re.Pattern[bytes]]) -> frozenset[str] | None:
    """The cheap bound of the module doc: ``_OVER`` when it exceeds one of ``caps`` (None:
    no bound wanted), else the names of the ``look_for`` patterns found; None when a part
    cannot be read or is not in UTF-8/ASCII."""
    bound = dict.fromkeys(_BOUNDS, 0)
    found: set[str] = set()
    text = 0
    for part in parts:
        try:
            xml = zf.read(part)  # at most its declared size (zipfile stops there), CRC checked
        except Exception:
            return None
        head = xml[:256].removeprefix(b"\xef\xbb\xbf")
        declared = _DECLARED.match(head)
        if not head.lstrip().startswith(b"<") or b"\0" in head or (
                declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii")):
            return None
        if caps is not None:
            text += len(xml)
            tags = xml.count(b"<")  # every element starts with one: the first, cheapest bound
            colons: int | None = None
            for kind, needles in _BOUNDS.items():
                if bound[kind] + tags <= caps[kind]:
                    bound[kind] += tags
                else:
                    colons = xml.count(b":") if colons is None else colons
                    bound[kind] += colons + sum(map(xml.count, needles))
        found.update(name for name, pattern in look_for.items() if pattern.search(xml))
    if caps is not None and (text > caps["text"] or any(bound[k] > caps[k] for k in _BOUNDS)):
        return _OVER
    return frozenset(found)


_KIND = {
    f"{_W}p": "paragraphs", f"{_W}tr": "rows", f"{_W}tc": "cells",
    f"{_S}row": "rows", f"{_S}c": "cells",
}
_TEXT = {f"{_W}t", f"{_S}t", f"{_S}v"}


def _count(fh: IO[bytes]) -> Iterator[tuple[str, int]]:
    """(what, 1) per paragraph/row/cell and ("text", length) per text node, streamed."""
    for _event, elem in etree.iterparse(fh, events=("end",), resolve_entities=False, no_network=True,
                                        load_dtd=False, huge_tree=False):
        tag = elem.tag
        kind = _KIND.get(tag) if isinstance(tag, str) else None
        if kind is not None:
            yield kind, 1
        elif tag in _TEXT and elem.text:
            yield "text", len(elem.text)
        if kind is not None or tag in _TEXT:
            # counted: free it and the siblings before it (all ended already), so memory stays flat
            elem.clear(keep_tail=True)
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]


def check_text_size(text: str, source: str, *, rows: bool, limits: Limits = LIMITS,
                    lang: str = DEFAULT_LANG) -> None:
    """The same limits for a text plan file: characters, and lines for the tables (.csv, .md)."""
    if len(text) > limits.text:
        raise _too_big(source, "text", limits.text, f"text={limits.text}", lang)
    if rows:
        lines = text.count("\n") + 1
        if lines > limits.rows:
            raise _too_big(source, "rows", limits.rows, f"rows={limits.rows}", lang)

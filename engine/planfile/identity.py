"""Which plan a file is, and user choices applied to a read plan before validation.

Identity: a plan file is matched to the plan it revises by its issuing document
("Kế hoạch số 45/KH-UBND"), read from the title block; a new plan gets a code made from
that document ("Kế hoạch số 99/KH-BCĐ" -> "99-KH-BCD", with the annex: "03-NQ-CP-PL-II").
The file name is the last resort, slugged readably ("Phụ lục KH 99.xlsx" -> "phu-luc-kh-99").

Choices (``Choices``): what the secretariat decided in the preview or on the command line
(``--map 'Header=field'``, an edited code/title/document/date, a lead assigned to a task
whose lead names nobody). ``apply_choices`` applies them to a ``PlanSpec`` the same way for
the CLI and the web, so the preview and the commit read the file alike.

Pure: no database; callers pass the documents of the plans already loaded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath

from engine.errors import UserError
from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.spec import PlanSpec

# Fields an unplaced column can be mapped to (``--map 'Header=field'``).
MAPPABLE = ("title", "lead", "coordinating", "deliverable", "deadline", "note", "status", "completed_on", "progress")
_ATTR = {"title": "title", "deliverable": "deliverable", "deadline": "deadline_text", "note": "note",
         "status": "status_text", "completed_on": "completed_on_text", "progress": "progress_text"}


def fold(text: str) -> str:
    """Vietnamese letters folded to ASCII: "Phụ lục Đ" -> "Phu luc D"."""
    t = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in t if not unicodedata.combining(c))


def document_key(document: str | None) -> str | None:
    """Matching key of an issuing document: its number/symbol when it has one
    ("Kế hoạch số 45/KH-UBND" -> "45/kh-ubnd"), else the folded text; None when empty or
    when the number is blank (a draft: "Kế hoạch số /KH-STTTT")."""
    if not document or not document.strip():
        return None
    m = re.search(r"\bsố\s*:?\s*(?P<sym>\S+)", document, re.IGNORECASE)
    if m:
        sym = fold(m.group("sym")).lower().strip(".,;")
        if not re.match(r"\d", sym):
            return None  # "số /KH-STTTT": the number is left blank in a draft
        return re.sub(r"\s+", "", sym)
    return " ".join(fold(document).lower().split()) or None


def code_from_document(document: str | None, annex: str | None = None) -> str | None:
    """"Kế hoạch số 99/KH-BCĐ" -> "99-KH-BCD"; with annex "Phụ lục II" -> "99-KH-BCD-PL-II"."""
    key = document_key(document)
    if key is None or not re.match(r"\d", key):
        return None
    code = re.sub(r"[^A-Za-z0-9]+", "-", key.upper()).strip("-")
    if annex:
        num = annex.split()[-1]
        code = f"{code}-PL-{fold(num).upper()}"
    return code[:64] or None


def code_from_filename(source: str) -> str:
    """"Phụ lục KH 99.xlsx" -> "phu-luc-kh-99" (readable, letters folded)."""
    stem = PurePath(source).stem
    slug = re.sub(r"[^a-z0-9]+", "-", fold(stem).lower()).strip("-")
    return slug[:64] or "plan"


@dataclass
class Identity:
    code: str
    source: str  # "given" (--code / form), "file", "existing", "document", "filename"
    existing: str | None = None  # code of the plan this file revises (matched by its document)


def identify(spec: PlanSpec, *, code: str | None = None,
             documents: Mapping[str, str] | None = None) -> Identity:
    """The plan code of a read file. ``documents``: document key -> code of loaded plans."""
    if code and code.strip():
        return Identity(code.strip(), "given")
    if spec.code and spec.code.strip():
        return Identity(spec.code.strip(), "file")
    key = document_key(spec.document)
    if key and documents and key in documents:
        return Identity(documents[key], "existing", documents[key])
    derived = code_from_document(spec.document, spec.annex)
    if derived:
        return Identity(derived, "document")
    return Identity(code_from_filename(spec.source_file), "filename")


# --- choices ------------------------------------------------------------------------------


@dataclass
class Choices:
    """Decisions made before committing a plan (preview form or command-line options)."""

    code: str | None = None
    title: str | None = None
    document: str | None = None
    issued_on: date | None = None
    status_date: date | None = None
    column_map: dict[str, str] = field(default_factory=dict)  # header text -> field
    leads: dict[str, str] = field(default_factory=dict)  # task code -> unit code/name

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "title": self.title, "document": self.document,
                "issued_on": self.issued_on.isoformat() if self.issued_on else None,
                "status_date": self.status_date.isoformat() if self.status_date else None,
                "column_map": dict(self.column_map), "leads": dict(self.leads)}

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | None) -> "Choices":
        d = d or {}

        def day(v: object) -> date | None:
            return date.fromisoformat(str(v)) if v else None

        return cls(code=d.get("code") or None, title=d.get("title") or None,  # type: ignore[arg-type]
                   document=d.get("document") or None, issued_on=day(d.get("issued_on")),  # type: ignore[arg-type]
                   status_date=day(d.get("status_date")),
                   column_map=dict(d.get("column_map") or {}), leads=dict(d.get("leads") or {}))  # type: ignore[call-overload]


def parse_map(values: list[str] | None, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """``--map 'Quy mô, mục tiêu=deliverable'`` options -> {header: field}."""
    out: dict[str, str] = {}
    for v in values or []:
        head, sep, fld = v.rpartition("=")
        fld = fld.strip().lower()
        if not sep or not head.strip() or fld not in MAPPABLE:
            raise UserError(tr(lang, "plan.map.bad", value=v, fields=", ".join(MAPPABLE)))
        out[head.strip()] = fld
    return out


def _header_match(a: str, b: str) -> bool:
    def k(s: str) -> str:
        return " ".join(re.sub(r"[^a-z0-9]+", " ", fold(s).lower()).split())
    return k(a) == k(b) or k(b).startswith(k(a)) and len(k(a)) >= 4


def apply_choices(spec: PlanSpec, choices: Choices | None, lang: str = DEFAULT_LANG) -> PlanSpec:
    """Apply the secretariat's choices to a read plan, in place (returns it)."""
    if choices is None:
        return spec
    for head, fld in choices.column_map.items():
        found = [h for h in spec.extra_columns if _header_match(head, h)]
        if not found:
            raise UserError(tr(lang, "plan.map.no_column", header=head,
                               columns=", ".join(f"«{h}»" for h in spec.extra_columns) or "—"))
        real = found[0]
        spec.extra_columns = [h for h in spec.extra_columns if h != real]
        for t in spec.tasks:
            value = t.extra.pop(real, "")
            t.columns[fld] = real
            if not value:
                continue
            if fld == "lead":
                t.lead = [*t.lead, value]
            elif fld == "coordinating":
                t.coordinating = [*t.coordinating, value]
            else:
                attr = _ATTR[fld]
                old = getattr(t, attr) or ""
                setattr(t, attr, f"{old}\n{value}" if old and fld in ("deliverable", "note") else (old or value))
    if choices.title:
        spec.title = choices.title.strip()
    if choices.document:
        spec.document = choices.document.strip()
    if choices.issued_on:
        spec.issued_on = choices.issued_on
    if choices.status_date:
        spec.status_date = choices.status_date
    for t in spec.tasks:
        unit = choices.leads.get(t.code)
        if unit and unit.strip():
            t.lead = [unit.strip()]
    return spec

"""PlanSpec: the one in-memory shape every plan-file reader produces.

Readers (yaml, xlsx, docx, csv, markdown) do *syntax only*: they find the header,
the section rows and the task rows, and hand back the cell texts as written, each
with the row/column it came from. Meaning (which units a cell names, what a
deadline text means, "6 rõ" gaps) is decided later by ``engine.planfile.validate``
against the unit directory and ``engine.deadlines``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from engine.errors import InputFileError


class PlanFileError(InputFileError):
    """A plan file that cannot be read at all (wrong format, no header, junk).

    The message is one paragraph for a person and names the file (and row/column
    when known). Raised by readers; the CLI prints it and exits with code 1.
    """


@dataclass(frozen=True)
class SourceRef:
    """Where a value came from, for messages: file, 1-based row, column header."""

    file: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def label(self, lang: str = "vi") -> str:
        """``str(self)`` in the user's language: "ke-hoach.xlsx, dòng 8, cột «Thời hạn»"."""
        from engine.i18n import tr

        parts = [self.file]
        if self.row is not None:
            parts.append(tr(lang, "pg.src_row", row=self.row))
        if self.column:
            parts.append(tr(lang, "pg.src_column", column=self.column))
        return ", ".join(parts)

    def at(self, column: str | None) -> "SourceRef":
        return SourceRef(self.file, self.row, column)


@dataclass
class SectionSpec:
    code: str  # "I", "II", ... or "1" for YAML sections without a numeral
    title: str
    source: SourceRef


@dataclass
class TaskSpec:
    code: str  # "1", "45", "I.3" (qualified when numbering restarts per section)
    title: str
    source: SourceRef  # the row; .at(column) for a cell
    section: str | None = None  # SectionSpec.code
    # Unit cells as written. Tabular readers give one string per cell (to be split
    # against the directory); YAML may give a list of names/codes (each is split too).
    lead: list[str] = field(default_factory=list)
    coordinating: list[str] = field(default_factory=list)
    deliverable: str = ""
    deadline_text: str = ""
    depends_on: list[str] = field(default_factory=list)  # task codes
    vice_chair: str | None = None  # person id
    parent_task: str | None = None  # code of the task in the parent plan
    status_text: str | None = None  # optional progress column ("Hoàn thành", ...)
    completed_on_text: str | None = None  # optional "Ngày hoàn thành"
    note: str | None = None  # "Ghi chú"
    progress_text: str | None = None  # optional "Kết quả hiện nay" column
    # Columns the reader could not place, by header text as written -> cell text. Never
    # dropped: the loader keeps them in the task's note; ``--map 'Header=field'`` moves one
    # into a field (``engine.planfile.mapping``).
    extra: dict[str, str] = field(default_factory=dict)
    # Column headers as found, for SourceRef.at(): logical name -> header text.
    columns: dict[str, str] = field(default_factory=dict)

    def ref(self, logical: str) -> SourceRef:
        """SourceRef of one cell by logical name ('deadline', 'lead', ...)."""
        return self.source.at(self.columns.get(logical, logical))


@dataclass
class PlanIdentity:
    """Who issued the plan and as which document, read from the document itself (the first
    page of a signed PDF: "Số: 45/KH-UBND", "Lâm Sơn, ngày 15 tháng 3 năm 2025", the issuing
    body, "KẾ HOẠCH" and its subject). What a preview prefills for the person to confirm or
    correct; nothing here is trusted without that."""

    code: str | None = None  # suggested plan code: the number and symbol as printed ("45/KH-UBND")
    number: str | None = None  # "45/KH-UBND" (digits may be blank in an unsigned copy: "/KH-STTTT")
    document: str | None = None  # "Kế hoạch số 45/KH-UBND"
    title: str | None = None  # "Kế hoạch Nâng cao chất lượng …"
    issued_on: date | None = None
    issued_by: str | None = None  # as printed: "ỦY BAN NHÂN DÂN HUYỆN LÂM SƠN"
    place: str | None = None  # "Lâm Sơn"
    date_text: str | None = None  # the line as printed


@dataclass
class PlanSpec:
    source_file: str
    code: str | None = None
    title: str | None = None
    document: str | None = None  # issuing document number, e.g. "Kế hoạch số 45/KH-UBND"
    issued_on: date | None = None
    issued_by: str | None = None  # unit name/code that issued the plan
    identity: PlanIdentity | None = None  # as the document states it (PDF first page; format "pdf"), for the preview
    parent_plan: str | None = None  # code of the plan this one implements
    sections: list[SectionSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)
    format: str = ""  # "yaml" | "xlsx" | "docx" | "csv" | "md"
    annex: str | None = None  # "Phụ lục II" when the title block names the annex
    extra_columns: list[str] = field(default_factory=list)  # headers of unplaced columns
    # The date imported statuses are true on ("Tiến độ (đến 24/5/2025)", --status-date).
    status_date: date | None = None
    code_source: str | None = None  # where ``code`` came from: "file", "document", "existing", "filename"

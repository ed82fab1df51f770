"""Write a PlanSpec back out: as an Excel annex laid out like a real one, or as YAML.

``write_plan_xlsx`` produces the table a provincial office would attach to a plan
("PHỤ LỤC ... (Kèm theo Kế hoạch số ... ngày ... của ...)"): a merged title block, a bold
header row (frozen), Roman-numeral section rows merged across the table, one row per task.
The readers in ``engine.planfile.readers`` read this layout back.

Command line (used to regenerate ``plans/sample-plan.xlsx``)::

    python -m engine.planfile.export plans/sample-plan.yaml plans/sample-plan.xlsx \
        --directory plans/sample-directory.yaml

The output format follows the destination suffix (.xlsx, .yaml/.yml).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from engine.i18n import DEFAULT_LANG, LANGS, tr
from engine.planfile.readers import read_plan_file
from engine.planfile.spec import PlanFileError, PlanSpec, SectionSpec, TaskSpec
from engine.safetext import xlsx_cell

__all__ = ["write_plan_xlsx", "write_plan_yaml", "ANNEX_HEADERS", "main"]


@dataclass(frozen=True)
class _Column:
    key: str  # logical name, as in TaskSpec.columns
    width: float


_COLUMNS: tuple[_Column, ...] = (
    _Column("code", 6),
    _Column("title", 60),
    _Column("lead", 28),
    _Column("coordinating", 30),
    _Column("deliverable", 28),
    _Column("deadline", 16),
    _Column("depends_on", 11),
    _Column("vice_chair", 14),
    _Column("note", 26),
)

# Optional progress columns, written only when at least one task carries a value.
_OPTIONAL_COLUMNS: tuple[_Column, ...] = (
    _Column("status", 16),
    _Column("completed_on", 14),
    _Column("progress", 30),
)

ANNEX_FIELDS: tuple[str, ...] = ("code", "title", "lead", "coordinating", "deliverable", "deadline", "depends_on", "vice_chair", "note", "status", "completed_on", "progress")
# the annex's column headers per language (catalog entries plan.annex_header.<field>)
ANNEX_HEADERS: dict[str, dict[str, str]] = {
    lang: {field: tr(lang, f"plan.annex_header.{field}") for field in ANNEX_FIELDS} for lang in LANGS
}

_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_WRAP_CENTER = Alignment(wrap_text=True, horizontal="center", vertical="center")
_FONT = "Times New Roman"


def _headers(lang: str) -> dict[str, str]:
    if lang not in ANNEX_HEADERS:
        raise ValueError(f"Unsupported language {lang!r}; use one of: {', '.join(ANNEX_HEADERS)}")
    return ANNEX_HEADERS[lang]


def _join(values: Sequence[str]) -> str | None:
    text = ", ".join(v.strip() for v in values if v and v.strip())
    return text or None


def _task_values(task: TaskSpec) -> dict[str, Any]:
    code: Any = task.code
    if task.code.strip().isdigit():
        code = int(task.code.strip())
    return {
        "code": code,
        "title": task.title or None,
        "lead": _join(task.lead),
        "coordinating": _join(task.coordinating),
        "deliverable": task.deliverable or None,
        "deadline": task.deadline_text or None,
        "depends_on": _join(task.depends_on),
        "vice_chair": task.vice_chair or None,
        "note": task.note or None,
        "status": task.status_text or None,
        "completed_on": task.completed_on_text or None,
        "progress": task.progress_text or None,
    }


def _ordered_rows(spec: PlanSpec) -> list[SectionSpec | TaskSpec]:
    """Section rows followed by their tasks; tasks without a known section come first."""
    known = {s.code for s in spec.sections}
    rows: list[SectionSpec | TaskSpec] = [t for t in spec.tasks if t.section not in known]
    for section in spec.sections:
        rows.append(section)
        rows.extend(t for t in spec.tasks if t.section == section.code)
    return rows


def _attachment_line(spec: PlanSpec, lang: str, issuer: str | None) -> str | None:
    if not spec.document:
        return None
    line = tr(lang, "plan.annex.attached", document=spec.document)
    if spec.issued_on is not None:
        line += tr(lang, "plan.annex.dated", date=spec.issued_on.strftime("%d/%m/%Y"))
    if issuer:
        line += tr(lang, "plan.annex.by", issuer=issuer)
    return f"({line})"


def _title_row(ws: Worksheet, row: int, text: str, ncols: int, *, bold: bool, italic: bool,
               height: float | None = None) -> None:
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    cell = xlsx_cell(ws, row, 1, text)
    cell.font = Font(name=_FONT, bold=bold, italic=italic, size=13 if bold else 12)
    cell.alignment = _WRAP_CENTER
    if height:
        ws.row_dimensions[row].height = height


def write_plan_xlsx(spec: PlanSpec, dest: Path, *, lang: str = "vi",
                    issuer_name: str | None = None) -> Path:
    """Write ``spec`` as an Excel annex at ``dest`` and return the path.

    ``issuer_name`` is the issuing body as printed in "(Kèm theo ... của <issuer>)";
    it defaults to ``spec.issued_by`` (which may be a unit code).
    """
    headers = _headers(lang)
    dest = Path(dest)
    columns = list(_COLUMNS)
    values = [_task_values(t) for t in spec.tasks]
    columns += [c for c in _OPTIONAL_COLUMNS if any(v[c.key] for v in values)]
    ncols = len(columns)

    wb = Workbook()
    ws = wb.active
    ws.title = tr(lang, "plan.annex.sheet")

    # Title block.
    row = 1
    _title_row(ws, row, tr(lang, "plan.annex.annex"), ncols, bold=True, italic=False)
    row += 1
    heading = tr(lang, "plan.annex.list_of", title=spec.title.upper()) if spec.title else tr(lang, "plan.annex.list")
    _title_row(ws, row, heading, ncols, bold=True, italic=False,
               height=18 * max(1, len(heading) // 150 + 1))
    row += 1
    attached = _attachment_line(spec, lang, issuer_name or spec.issued_by)
    if attached:
        _title_row(ws, row, attached, ncols, bold=False, italic=True)
        row += 1
    row += 1  # one blank row before the table, as printed annexes have

    # Header.
    header_row = row
    for col, column in enumerate(columns, start=1):
        cell = xlsx_cell(ws, header_row, col, headers[column.key])
        cell.font = Font(name=_FONT, bold=True)
        cell.alignment = _WRAP_CENTER
        cell.border = _BORDER
        ws.column_dimensions[get_column_letter(col)].width = column.width
    ws.row_dimensions[header_row].height = 32
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)

    # Body.
    by_task = {id(t): v for t, v in zip(spec.tasks, values)}
    row = header_row + 1
    for item in _ordered_rows(spec):
        if isinstance(item, SectionSpec):
            code_cell = xlsx_cell(ws, row, 1, item.code)
            code_cell.font = Font(name=_FONT, bold=True)
            code_cell.alignment = _WRAP_CENTER
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=ncols)
            title_cell = xlsx_cell(ws, row, 2, item.title)
            title_cell.font = Font(name=_FONT, bold=True)
            title_cell.alignment = _WRAP_TOP
            for col in range(1, ncols + 1):
                ws.cell(row=row, column=col).border = _BORDER
        else:
            task_values = by_task[id(item)]
            for col, column in enumerate(columns, start=1):
                cell = xlsx_cell(ws, row, col, task_values[column.key])
                cell.font = Font(name=_FONT)
                cell.alignment = _WRAP_CENTER if column.key in ("code", "deadline") else _WRAP_TOP
                cell.border = _BORDER
        row += 1

    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dest)
    return dest


def _units_value(values: list[str]) -> str | list[str] | None:
    cleaned = [v for v in values if v and v.strip()]
    if not cleaned:
        return None
    return cleaned[0] if len(cleaned) == 1 else cleaned


def _task_to_yaml(task: TaskSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"code": task.code, "title": task.title}
    optional: list[tuple[str, Any]] = [
        ("lead", _units_value(task.lead)),
        ("coordinating", _units_value(task.coordinating)),
        ("deliverable", task.deliverable or None),
        ("deadline", task.deadline_text or None),
        ("depends_on", list(task.depends_on) or None),
        ("vice_chair", task.vice_chair),
        ("parent_task", task.parent_task),
        ("note", task.note),
        ("status", task.status_text),
        ("completed_on", task.completed_on_text),
        ("progress", task.progress_text),
    ]
    out.update((k, v) for k, v in optional if v is not None)
    return out


def write_plan_yaml(spec: PlanSpec, dest: Path) -> Path:
    """Write ``spec`` in the YAML plan format of plans/README.md and return the path.

    Tasks whose section is not among ``spec.sections`` go to a top-level ``tasks`` list.
    """
    dest = Path(dest)
    plan: dict[str, Any] = {}
    for key, value in (("code", spec.code), ("title", spec.title), ("document", spec.document),
                       ("issued_on", spec.issued_on), ("issued_by", spec.issued_by),
                       ("parent", spec.parent_plan)):
        if value is not None:
            plan[key] = value
    doc: dict[str, Any] = {"plan": plan}
    known = {s.code for s in spec.sections}
    loose = [_task_to_yaml(t) for t in spec.tasks if t.section not in known]
    if loose:
        doc["tasks"] = loose
    doc["sections"] = [
        {"code": s.code, "title": s.title,
         "tasks": [_task_to_yaml(t) for t in spec.tasks if t.section == s.code]}
        for s in spec.sections
    ]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(
        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False),
        encoding="utf-8",
    )
    return dest


# --- command line ----------------------------------------------------------------------


def _unit_names(directory: Path, lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Unit code -> name from a directory file (only what the title block needs)."""
    try:
        doc = yaml.safe_load(directory.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PlanFileError(tr(lang, "plan.export.units_unreadable", directory=directory, exc=exc)) from None
    if not isinstance(doc, dict):
        raise PlanFileError(tr(lang, "plan.export.units_shape", directory=directory))
    return {
        str(u["code"]): str(u["name"])
        for u in doc.get("units") or []
        if isinstance(u, dict) and u.get("code") and u.get("name")
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.planfile.export",
        description="Convert a plan file to an Excel annex (.xlsx) or YAML (.yaml).",
    )
    parser.add_argument("source", type=Path, help="plan file to read (yaml/xlsx/docx/csv/md)")
    parser.add_argument("dest", type=Path, help="file to write (.xlsx, .yaml or .yml)")
    parser.add_argument("--lang", default="vi", choices=sorted(ANNEX_HEADERS), help="annex language")
    parser.add_argument("--directory", type=Path, default=None,
                        help="directory file, to print the issuer's name instead of its code")
    args = parser.parse_args(argv)

    lang = args.lang  # the annex's language is the messages' language too
    suffix = args.dest.suffix.lower()
    if suffix not in (".xlsx", ".yaml", ".yml"):
        print(tr(lang, "plan.export.bad_dest", suffix=args.dest.suffix), file=sys.stderr)
        return 1
    try:
        if not args.source.is_file():
            raise PlanFileError(tr(lang, "plan.export.not_found", source=args.source))
        spec = read_plan_file(args.source, lang=lang)
        if suffix == ".xlsx":
            issuer = None
            if args.directory is not None and spec.issued_by:
                issuer = _unit_names(args.directory, lang).get(spec.issued_by)
            out = write_plan_xlsx(spec, args.dest, lang=args.lang, issuer_name=issuer)
        else:
            out = write_plan_yaml(spec, args.dest)
    except (PlanFileError, OSError) as exc:
        print(tr(lang, "plan.export.error", exc=exc), file=sys.stderr)
        return 1
    print(tr(lang, "plan.export.done", out=out, tasks=len(spec.tasks), sections=len(spec.sections)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CSV plan files: delimiter sniffed among ',', ';' and tab; quoted multi-line cells."""

from __future__ import annotations

import csv

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.read_table import RawRow, find_header, no_header_error, rows_to_plan
from engine.planfile.spec import PlanFileError, PlanSpec
from engine.planfile.tables import CSV_DELIMITERS, csv_rows

DELIMITERS = CSV_DELIMITERS


def read_csv_text(text: str, source: str, *, lang: str = DEFAULT_LANG) -> PlanSpec:
    parsed: dict[str, list[RawRow]] = {}
    errors: list[str] = []
    for delimiter in DELIMITERS:
        try:
            parsed[delimiter] = csv_rows(text, delimiter)
        except csv.Error as exc:
            errors.append(str(exc))
    if not parsed:
        raise PlanFileError(tr(lang, "plan.read.bad_csv", source=source,
                               reason=errors[0] if errors else tr(lang, "plan.read.csv_error")))
    best_delimiter: str | None = None
    best_score = -1
    for delimiter, rows in parsed.items():
        header = find_header(rows)
        if header is not None and len(header.columns) > best_score:
            best_delimiter, best_score = delimiter, len(header.columns)
    if best_delimiter is None:
        first = text.lstrip("\ufeff").split("\n", 1)[0]
        guess = max(parsed, key=lambda d: first.count(d))
        raise no_header_error(source, parsed[guess], lang=lang)
    return rows_to_plan(parsed[best_delimiter], source=source, fmt="csv", lang=lang)

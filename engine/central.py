"""The Government Office's central monitoring template: Steer's report buckets mapped onto its
four statuses (hoàn thành đúng hạn / hoàn thành quá hạn / đang thực hiện trong hạn / quá hạn chưa
hoàn thành), per unit of a report or per child unit of a roll-up (docs/rollup-snapshot.md).

Apart from engine.rollup so the renderers (engine.render) can use it without importing the
roll-up's signing and import machinery (which imports the renderers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ROLLUP_SCHEMA = "steer.rollup/1"  # engine.rollup.build_rollup's data (a stored roll-up too)

# The Government Office's four statuses (central monitoring template) and the report buckets
# that make each one; ``completed_unknown`` (completed, timeliness not recorded: imported
# history) has no place among the four and is given apart, so the five columns sum to total.
CENTRAL_STATUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("completed_on_time", ("completed_on_time",)),
    ("completed_late", ("completed_late",)),
    ("in_progress_on_time", ("in_progress_within_deadline", "not_yet_due", "ongoing", "no_deadline")),
    ("overdue_not_completed", ("overdue",)),
)
CENTRAL_EXTRA = ("completed_unknown",)


def central_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    out = {name: sum(int(counts.get(b) or 0) for b in buckets) for name, buckets in CENTRAL_STATUSES}
    for extra in CENTRAL_EXTRA:
        out[extra] = int(counts.get(extra) or 0)
    out["total"] = int(counts.get("total") or 0)
    return out


def central_profile(data: Mapping[str, Any]) -> dict[str, Any]:
    """Rows of the central template from a roll-up (``steer.rollup/1``: one row per child unit
    that reported) or a report (``steer.report/1``: one row per unit), plus the total."""
    rows = []
    if data.get("schema") == ROLLUP_SCHEMA:
        for u in sorted(data["units"], key=lambda x: x["unit"]):
            if u.get("counts") is not None:
                rows.append({"unit": u["unit"], "name": u["name"], **central_counts(u["counts"])})
    else:
        for u in sorted(data.get("units", []), key=lambda x: x["unit"]):
            rows.append({"unit": u["unit"], "name": u.get("name"), **central_counts(u.get("counts") or {})})
    total = {k: sum(r[k] for r in rows) for k in [n for n, _ in CENTRAL_STATUSES] + list(CENTRAL_EXTRA) + ["total"]}
    return {"schema": "steer.central/1", "lang": data.get("lang", "vi"), "period": data.get("period"),
            "as_of": data.get("as_of"),
            "mapping": {name: list(b) for name, b in CENTRAL_STATUSES}, "apart": list(CENTRAL_EXTRA),
            "rows": rows, "total": total}

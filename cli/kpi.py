"""steer kpi load|record|list, steer plan adopt|adoption, steer task generate.

``register(app)`` adds the ``kpi`` sub-app and puts the adoption commands on the
existing ``plan`` sub-app and the occurrence generator on the ``task`` sub-app.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.common import console, handled, msg, now_arg, print_json, state

app = typer.Typer(help="Indicators (KPIs, chỉ tiêu): load definitions, record values, list status.  "
                       "Example: steer kpi load plans/sample-indicators.yaml",
                  no_args_is_help=True)


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    text = format(value, ",.4f").rstrip("0").rstrip(".") if value != int(value) else format(int(value), ",")
    # the language's digit grouping and decimal mark: 1.234,5 / 1,234.5
    return text.translate({ord(","): msg("cli.thousands_separator"), ord("."): msg("cli.decimal_mark")})


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise typer.BadParameter(msg("cli.unknown_format_choose", fmt=fmt, allowed=', '.join(allowed)))


# --- steer kpi ----------------------------------------------------------------------------


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="Indicator file: .yaml, or an annex table .md/.xlsx/.docx/.csv")],
    plan: Annotated[Optional[str], typer.Option("--plan", help="Code of the loaded plan these indicators belong to.")] = None,
    prefix: Annotated[Optional[str], typer.Option("--prefix", help="Code prefix for annex rows (default CT: TT 11.1 -> CT-11.1).")] = None,
    actor: Annotated[str, typer.Option("--as", help="Person id recorded in the audit log.")] = "secretariat",
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Load indicator definitions (all or nothing; loading the same file again changes nothing).

    An annex table needs the columns TT | Chỉ tiêu | Đơn vị | Kết quả | Cơ quan chủ trì
    theo dõi, đánh giá; Roman-numeral rows ("I. Đến năm 2030") are groups.
    Example: steer kpi load ../shared/real-plans/nq03-annex1-indicators.md --prefix CT
    """
    with handled():
        _check_format(fmt, ("text", "json"))
        from engine.indicators import load_indicators

        r = load_indicators(state().engine(), file, now=now_arg(now), plan_code=plan, prefix=prefix, actor=actor, lang=state().lang)
        if fmt == "json":
            print_json(r.as_dict())
            return
        for w in r.warnings:
            console.print(f"[yellow]{msg('cli.level_warning')}[/] {escape(w)}", highlight=False, emoji=False)
        if not r.created and not r.updated:
            console.print(msg("cli.indicators_nothing_changed_since_last", file=file, total=r.total), markup=False, emoji=False)
            return
        console.print(msg("cli.loaded_indicators_new_updated_unchanged", file=file, total=r.total, created=r.created, updated=r.updated, unchanged=r.unchanged, n_groups=len(r.groups), n_warnings=len(r.warnings)),
                      markup=False, emoji=False)


@app.command("record")
def record(
    code: Annotated[str, typer.Argument(help="Indicator code, e.g. CT-8.")],
    period: Annotated[str, typer.Option("--period", help="2025-10 (month), 2025-Q3, 2025-H1 or 2025.")],
    value: Annotated[str, typer.Option("--value", help="The value: 72.63 or 72,63 (a text for qualitative targets).")],
    source: Annotated[Optional[str], typer.Option("--source", help="Where the figure comes from.")] = None,
    actor: Annotated[str, typer.Option("--as", help="Person id recorded in the audit log.")] = "secretariat",
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Record an indicator's value for a period; recording the same period again corrects it.

    Example: steer kpi record CT-8 --period 2025-10 --value 72.63 --source "Báo cáo Cục Thống kê"
    """
    with handled():
        _check_format(fmt, ("text", "json"))
        from engine.db import transaction
        from engine.indicators import record_measurement

        with transaction(state().engine()) as s:
            r = record_measurement(s, code, period, value, actor=actor, now=now_arg(now), source=source, lang=state().lang)
        if fmt == "json":
            print_json(r)
            return
        shown = _num(r["value"]) if r["value"] is not None else f"«{r['value_text']}»"
        track = {True: msg("cli.kpi_on_track"), False: msg("cli.kpi_off_track"),
                 None: ""}[r["on_track"]]
        from engine.reporting import period_key_label

        period = period_key_label(r["period"], state().lang)  # "2025-10" -> "tháng 10/2025"
        if not r["changed"]:
            console.print(msg("cli.same_as_recorded_nothing_changed", code=r['code'], period=period, shown=shown), markup=False, emoji=False)
        elif r["created"]:
            console.print(msg("cli.recorded", code=r['code'], period=period, shown=shown, track=track), markup=False, emoji=False)
        else:
            console.print(msg("cli.updated", code=r['code'], period=period, shown=shown, track=track), markup=False, emoji=False)


_DIRECTION = {"up": "↑", "down": "↓", "flat": "→", None: ""}


@app.command("list")
def list_(
    period: Annotated[Optional[str], typer.Option("--period", help="Status as of this period (2025-10, 2025-Q3, 2025).")] = None,
    plan: Annotated[Optional[str], typer.Option("--plan", help="Only the indicators of this plan.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List indicators with target, latest value, trend and whether they are on track.

    Example: steer kpi list --period 2025-Q3 --format json
    """
    with handled():
        _check_format(fmt, ("table", "json"))
        from engine.db import transaction
        from engine.indicators import indicator_status

        with transaction(state().engine()) as s:
            rows = indicator_status(s, None, as_of_period=period, plan_code=plan, lang=state().lang)
        if fmt == "json":
            print_json(rows)
            return
        t = Table()
        for col in (msg("cli.code"), msg("cli.indicator"), msg("cli.target"), msg("cli.period"),
                    msg("cli.value"), msg("cli.trend"), msg("cli.col_on_track")):
            t.add_column(col)
        for r in rows:
            value = _num(r["value"]) if r["value"] is not None else (r["value_text"] or "—")
            ok = {True: msg("cli.kpi_yes"), False: msg("cli.kpi_no"), None: "—"}[r["on_track"]]
            t.add_row(*(Text(str(v)) for v in (r["code"], r["name"][:60], (r["target"] or "—")[:40], r["period"] or "—",
                                                str(value)[:30], _DIRECTION[r["direction"]], ok)))
        console.print(t)
        measured = sum(1 for r in rows if r["period"])
        on = sum(1 for r in rows if r["on_track"] is True)
        console.print(msg("cli.indicators_measured_on_track", n_rows=len(rows), measured=measured, on=on))


# --- steer plan adopt / adoption ------------------------------------------------------------


def _date_arg(value: str) -> date:
    s = value.strip()
    try:
        return date.fromisoformat(s)
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})", s)
    if m:
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            pass
    raise typer.BadParameter(msg("cli.invalid_date_use_2025_04", value=value))


def adopt(
    parent: Annotated[str, typer.Argument(help="Code of the parent plan.")],
    unit: Annotated[str, typer.Option("--unit", help="The unit that issued its plan (code, name or alias).")],
    document: Annotated[Optional[str], typer.Option("--document", help='Its document, e.g. "Kế hoạch số 12/KH-SNV".')] = None,
    issued_on: Annotated[Optional[str], typer.Option("--issued-on", help="Issue date: 2025-04-10 or 10/4/2025.")] = None,
    child_plan: Annotated[Optional[str], typer.Option("--child-plan", help="Code of the unit's plan, if it is loaded.")] = None,
    actor: Annotated[str, typer.Option("--as", help="Person id recorded in the audit log.")] = "secretariat",
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
) -> None:
    """Register that a unit has issued its own implementing plan for a parent plan.

    Registering the same unit again updates the record. A unit plan loaded with
    ``plan.parent`` counts on its own.
    Example: steer plan adopt KH-57-LS --unit SNV --document "Kế hoạch số 12/KH-SNV" --issued-on 2025-04-10
    """
    with handled():
        day = _date_arg(issued_on) if issued_on else None
        from engine.adoption import register_adoption
        from engine.db import transaction

        with transaction(state().engine()) as s:
            r = register_adoption(s, parent, unit, document=document, issued_on=day, actor=actor, now=now_arg(now),
                                  child_plan_code=child_plan, lang=state().lang)
        what = r["document"] or r["child_plan"]
        if not r["changed"]:
            console.print(msg("cli.was_already_registered_nothing_changed", unit_name=r['unit_name'], unit=r['unit'], what=what), markup=False, emoji=False)
        else:
            console.print(msg("cli.registered_implementing", unit_name=r['unit_name'], unit=r['unit'], what=what, plan=r['plan']), markup=False, emoji=False)


def adoption(
    parent: Annotated[str, typer.Argument(help="Code of the parent plan.")],
    expected: Annotated[str, typer.Option("--expected", help="Who must issue a plan: lead_units (default), departments, or unit codes separated by commas.")] = "lead_units",
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show which units have issued their implementing plan ("14/17 sở đã ban hành").

    Example: steer plan adoption KH-57-LS --expected departments --format json
    """
    with handled():
        _check_format(fmt, ("text", "json"))
        from engine.adoption import adoption_status
        from engine.db import transaction

        exp: Any = expected if expected in ("lead_units", "departments") else \
            [c.strip() for c in expected.split(",") if c.strip()]
        with transaction(state().engine()) as s:
            d = adoption_status(s, parent, expected=exp, lang=state().lang)
        if fmt == "json":
            print_json(d)
            return
        console.print(msg("cli.units_have_issued_their_implementing", plan=d['plan'], adopted=d['adopted'], expected=d['expected']), markup=False, emoji=False)
        t = Table()
        for col in (msg("cli.code"), msg("unit"), msg("cli.issued"), msg("cli.document"),
                    msg("cli.date")):
            t.add_column(col)
        for u in d["units"] + d["others"]:
            t.add_row(*(Text(str(v)) for v in (u["code"], u["name"][:60], msg("cli.adopted_yes") if u["adopted"] else msg("cli.adopted_no"),
                                                u["document"] or u["child_plan"] or "—", u["issued_on"] or "—")))
        console.print(t)


# --- steer task generate --------------------------------------------------------------------


def generate(
    horizon: Annotated[Optional[int], typer.Option("--horizon", help="Days ahead (default: committee setting recurrence_horizon_days, 400).")] = None,
    actor: Annotated[str, typer.Option("--as", help="Recorded in the audit log.")] = "system",
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
) -> None:
    """Create the missing work items of recurring tasks ("Hằng tháng", "Hằng năm", …) up to the horizon.

    Safe to run repeatedly (for example daily): existing occurrences are never duplicated.
    Example: steer task generate --horizon 400
    """
    with handled():
        from engine.db import transaction
        from engine.recurrence import generate_occurrences_report

        with transaction(state().engine()) as s:
            r = generate_occurrences_report(s, now=now_arg(now), horizon_days=horizon, actor=actor, lang=state().lang)
        if r.created:
            per_plan = ", ".join(f"{k}: {v}" for k, v in r.by_plan.items())
            console.print(msg("cli.created_new_recurring_work_items", created=r.created, until=r.until, per_plan=per_plan), markup=False, emoji=False)
        else:
            console.print(msg("cli.no_new_occurrences_to_create", until=r.until), markup=False, emoji=False)


def register(root: typer.Typer) -> None:
    from cli import plans, tasks

    root.add_typer(app, name="kpi")
    plans.app.command("adopt")(adopt)
    plans.app.command("adoption")(adoption)
    tasks.app.command("generate")(generate)

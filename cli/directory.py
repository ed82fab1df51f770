"""steer directory load|show"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.common import console, handled, msg, now_arg, print_json, state

app = typer.Typer(help="The unit directory (committee, units, people).  Example: steer directory load plans/sample-directory.yaml",
                  no_args_is_help=True)


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="Directory YAML file.")],
    now: Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")] = None,
) -> None:
    """Load (or update) the committee, units and people from a YAML directory file.

    The built-in standard directory of Vietnamese agencies stays beneath it. A unit's
    signing_key (the child unit's public key, as steer keys show prints it) is trusted for
    the report snapshots that unit sends up; a changed key retires the old one.
    Example: steer directory load plans/sample-directory.yaml
    """
    with handled():
        from engine.db import transaction
        from engine.directory_store import parse_directory_file, store_directory

        parsed = parse_directory_file(file, lang=state().lang)
        with transaction(state().engine()) as session:
            counts = store_directory(session, parsed, now=now_arg(now), lang=state().lang)
        console.print(msg("cli.loaded_directory_units_people", file=file, units=counts['units'], people=counts['people']),
                      markup=False, emoji=False)
        if counts.get("keys"):
            console.print(msg("rollup.directory_keys_changed", n=counts["keys"]), markup=False, emoji=False)


@app.command("show")
def show(
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    all_units: Annotated[bool, typer.Option("--all", help="Include the whole built-in standard directory.")] = False,
) -> None:
    """List the units and people Steer knows (notify URLs are never printed).

    Example: steer directory show --format json
    """
    with handled():
        from sqlalchemy import select

        from engine.db import transaction
        from engine.directory_store import current_directory
        from engine.models import Person, Unit
        from engine.txcache import committee_row

        with transaction(state().engine()) as session:
            committee = committee_row(session)
            units = {u.code: u for u in session.execute(select(Unit)).scalars()}
            people = session.execute(select(Person).order_by(Person.role, Person.id)).scalars().all()
            directory = current_directory(session)
            rows = []
            codes = sorted(directory.units) if all_units else sorted(units)
            for code in codes:
                e = directory.get(code)
                u = units.get(code)
                rows.append({"code": code, "name": (u.name if u else e.name if e else code),
                             "kind": (u.kind if u else e.kind if e else ""),
                             "source": u.source if u else "standard",
                             "aliases": list((u.aliases if u else e.aliases if e else []) or []),
                             "notify_targets": len((u.notify if u else []) or [])})
            ppl = [{"id": p.id, "name": p.name, "role": p.role, "unit": p.unit.code if p.unit else None,
                    "oversees": list(p.oversees or []), "notify_targets": len(p.notify or [])} for p in people]
        if fmt == "json":
            print_json({"committee": {"name": committee.name, "timezone": committee.timezone} if committee else None,
                        "units": rows, "people": ppl})
            return
        if committee:
            console.print(f"[bold]{escape(committee.name)}[/] ({escape(committee.timezone)})", emoji=False)
        from engine.i18n import has
        from engine.states import role_label

        def word(prefix: str, value: str) -> str:
            return msg(prefix + value) if value and has(prefix + value) else value

        t = Table(title=msg("cli.units"))
        for col in ("code", "name", "kind", "source"):
            t.add_column(msg("cli.dir_col." + col), no_wrap=col == "code")
        for r in rows:
            t.add_row(*(Text(str(v)) for v in (r["code"], r["name"], word("cli.dir_kind.", r["kind"]),
                                                 word("cli.dir_source.", r["source"]))))
        console.print(t)
        t = Table(title=msg("cli.people"))
        for col in ("id", "name", "role", "unit", "oversees"):
            t.add_column(msg("cli.dir_col." + col), no_wrap=col == "id")
        for p in ppl:
            t.add_row(*(Text(str(v)) for v in (p["id"], p["name"], role_label(p["role"], state().lang), p["unit"] or "",
                                                 ", ".join(p["oversees"]))))
        console.print(t)

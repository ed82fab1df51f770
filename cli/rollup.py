"""steer keys init|show|trust|list and steer rollup import|report|central: the roll-up across levels.

A level signs its report snapshots (``steer report export ID --signed``) with the key made by
``steer keys init``; the level above registers that public key for the unit (``steer keys
trust``), imports the files and shows the roll-up. Engine modules are imported inside the
commands so ``steer --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.common import console, err_console, handled, msg, now_arg, print_json, state

keys_app = typer.Typer(help="Signing keys for report snapshots sent to the level above.  "
                            "Example: steer keys init --key /etc/steer/signing-key.pem", no_args_is_help=True)
app = typer.Typer(help="Roll-up of the child units' signed report snapshots.  "
                       "Example: steer rollup import tinh-a.json tinh-b.json", no_args_is_help=True)

KeyOpt = Annotated[Optional[Path], typer.Option(
    "--key", help="Private key file (default: $STEER_SIGNING_KEY, else ~/.config/steer/signing-key.pem).")]
NowOpt = Annotated[Optional[str], typer.Option("--now", help="Pretend the current time is this (ISO).")]
ActorOpt = Annotated[str, typer.Option("--as", help="Person id recorded as the one who did it.")]
PeriodOpt = Annotated[Optional[str], typer.Option(
    "--period", help="Period: 2025-05 (month), 2025-Q2, 2025-H1, 2025 (default: the period of today).")]
KindOpt = Annotated[str, typer.Option("--kind", help="monthly (default), quarterly, semiannual or annual.")]
RuleOpt = Annotated[Optional[str], typer.Option("--rule", help="Colour rule: share_due (default) or any_overdue.")]
RulesOpt = Annotated[Optional[Path], typer.Option("--rules", help="YAML file with this level's colour rules.")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Write to this file (default: standard output).")]


def _key_path(key: Path | None) -> Path:
    from engine.rollup import default_key_path

    return key or default_key_path()


@keys_app.command("init")
def keys_init(key: KeyOpt = None) -> None:
    """Make this committee's Ed25519 signing key (private key file, mode 0600, never in the database)
    and print the public key to send to the level above.

    Example: steer keys init --key /etc/steer/signing-key.pem
    """
    with handled():
        from engine.rollup import init_key

        path = _key_path(key)
        public = init_key(path, lang=state().lang)
        err_console.print(msg("rollup.key_made", path=path), markup=False)
        console.print(public, markup=False, highlight=False)


@keys_app.command("show")
def keys_show(key: KeyOpt = None, out: OutOpt = None) -> None:
    """Print (or write to a file) the public key of this committee's signing key.

    Example: steer keys show --out tinh-lam-son.pub
    """
    with handled():
        from engine.rollup import public_key_of

        public = public_key_of(_key_path(key), lang=state().lang)
        from cli.reports import write_output

        write_output((public + "\n").encode("ascii"), out)


@keys_app.command("trust")
def keys_trust(
    unit: Annotated[str, typer.Argument(help="Code of the child unit in this directory.")],
    public_key_file: Annotated[Path, typer.Argument(help="The unit's public key file (from steer keys show).")],
    actor: ActorOpt = "secretariat", now: NowOpt = None,
) -> None:
    """Register a child unit's public key: snapshots signed with it are accepted as that unit's.

    Example: steer keys trust LAMSON lam-son.pub
    """
    with handled():
        from engine.db import transaction
        from engine.rollup import trust_key

        try:
            text = public_key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            from engine.errors import InputFileError

            raise InputFileError(msg("rollup.key_file_unreadable", path=public_key_file,
                                     reason=getattr(exc, "strerror", None) or str(exc))) from None
        with transaction(state().engine()) as s:
            r = trust_key(s, unit, text, source=str(public_key_file), now=now_arg(now), actor=actor,
                          lang=state().lang)
        console.print(msg("rollup.key_trusted" if r["new"] else "rollup.key_known", key_id=r["key_id"],
                          unit=r["unit"]), markup=False)


@keys_app.command("list")
def keys_list(fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text") -> None:
    """List the child units' registered public keys (a retired one: replaced by the unit's new key).

    Example: steer keys list --format json
    """
    with handled():
        from engine.db import transaction
        from engine.rollup import list_keys

        with transaction(state().engine()) as s:
            rows = list_keys(s)
        if fmt == "json":
            print_json(rows)
            return
        if not rows:
            console.print(msg("rollup.no_keys"))
        from datetime import datetime

        from engine.days import fmt_date

        for r in rows:
            retired = f"  ({msg('rollup.key_retired_on', date=fmt_date(datetime.fromisoformat(r['retired_at']).date()))})" \
                if r["retired_at"] else ""
            console.print(f"{r['unit']}  {r['key_id']}  {r['public_key']}  {r['name']}{retired}", markup=False,
                          highlight=False)


@app.command("import")
def rollup_import(
    files: Annotated[list[Path], typer.Argument(help="Signed snapshot files (steer report export … --signed).")],
    actor: ActorOpt = "secretariat", now: NowOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Verify and store the child units' signed report snapshots: all files or none.

    A changed byte, an unknown signer, a wrong schema or a snapshot not newer than the last one
    accepted for that unit and period is refused with the reason, and nothing is stored.

    Example: steer rollup import tinh-a-2025-05.json tinh-b-2025-05.json
    """
    with handled():
        from engine.db import transaction
        from engine.errors import InputFileError
        from engine.rollup import import_snapshots

        bodies = []
        for f in files:
            try:
                bodies.append((f.name, f.read_bytes()))
            except OSError as exc:
                raise InputFileError(msg("rollup.file_unreadable", path=f, reason=exc.strerror or str(exc))) from None
        with transaction(state().engine()) as s:
            results = import_snapshots(s, bodies, now=now_arg(now), actor=actor, lang=state().lang)
        if fmt == "json":
            print_json(results)
            return
        from datetime import date

        from engine.days import fmt_date
        from engine.reporting import period_key_label

        for r in results:
            console.print(msg("rollup.imported", unit=r["unit"], name=r["name"],
                              period=period_key_label(r["period"], state().lang),
                              as_of=fmt_date(date.fromisoformat(r["as_of"])) if r.get("as_of") else "—",
                              status=msg(f"rollup.{r['status']}"), reason=r["reason"] or ""),
                          markup=False, highlight=False)


def _rollup_data(period: str | None, kind: str, rule: str | None, rules: Path | None, now: str | None):  # -> dict
    from engine.db import transaction
    from engine.reporting import committee_today
    from engine.rollup import build_rollup, load_rollup_rules

    with transaction(state().engine()) as s:
        status_rules = load_rollup_rules(s, rules, rule, state().lang)
        return build_rollup(s, today=committee_today(s, now_arg(now)), kind=kind, period=period, rules=status_rules,
                            lang=state().lang)


@app.command("report")
def rollup_report(
    period: PeriodOpt = None, kind: KindOpt = "monthly", rule: RuleOpt = None, rules: RulesOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json, md (default), html, xlsx or docx.")] = "md",
    out: OutOpt = None, now: NowOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not keep a snapshot of this report.")] = False,
    actor: Annotated[str, typer.Option("--as", help="Person id recorded as the author of the snapshot.")] = "secretariat",
) -> None:
    """The roll-up report of the child units for a period: colour (this level's rules), reason,
    share of due items done, overdue, own units green, last snapshot; grey = not reported.

    Stored as a report like any other unless --no-store: listed by steer report list, shown
    again by steer report show ID --format docx|xlsx|html, and on the web's report pages.

    Example: steer rollup report --period 2025-05 --format docx --out tong-hop-2025-05.docx
    """
    with handled():
        from cli.reports import _check_format, _check_out, output_after_commit
        from engine.db import transaction
        from engine.reporting import committee_today
        from engine.render import render
        from engine.rollup import generate_rollup, load_rollup_rules

        fmt = _check_format(fmt)
        _check_out(out)
        moment = now_arg(now)
        with output_after_commit() as output, transaction(state().engine()) as s:
            status_rules = load_rollup_rules(s, rules, rule, state().lang)
            data, snap = generate_rollup(s, now=moment, store=not no_store, created_by=actor,
                                         today=committee_today(s, moment), kind=kind, period=period,
                                         rules=status_rules, lang=state().lang)
            output.stage(render(data, fmt), out)
        if snap is not None:
            err_console.print(msg("cli.stored_as_report_re_render", snap=snap))


@app.command("central")
def rollup_central(
    period: PeriodOpt = None, kind: KindOpt = "monthly", now: NowOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="xlsx or json (default).")] = "json", out: OutOpt = None,
) -> None:
    """The roll-up in the Government Office's template: per child unit, completed on time,
    completed late, in progress within deadline, overdue not completed (docs/rollup-snapshot.md).

    Example: steer rollup central --period 2025-05 --format xlsx --out mau-vpcp-2025-05.xlsx
    """
    with handled():
        from cli.reports import write_output
        from engine.render import render
        from engine.rollup import central_profile

        if fmt not in ("json", "xlsx"):
            from engine.errors import UserError

            raise UserError(msg("rollup.unknown_format", fmt=fmt, allowed="json, xlsx"))
        data = central_profile(_rollup_data(period, kind, None, None, now))
        write_output(render(data, fmt), out)


@app.command("children")
def rollup_children(
    plan: Annotated[str, typer.Option("--plan", help="The parent plan's code.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Figures as of this day (default today).")] = None,
    rule: RuleOpt = None, now: NowOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """The parent plan's child plans in this instance (units' implementing plans loaded with a
    parent): each child unit's colour with this level's rules, the share green, and per parent
    task the child tasks implementing it.

    Example: steer rollup children --plan KH-57-LS --as-of 2025-05-20
    """
    with handled():
        from engine.days import parse_day
        from engine.db import transaction
        from engine.reporting import committee_today
        from engine.rollup import child_plans, load_rollup_rules

        with transaction(state().engine()) as s:
            day = parse_day(as_of, lang=state().lang) if as_of else committee_today(s, now_arg(now))
            data = child_plans(s, plan, as_of=day, rules=load_rollup_rules(s, None, rule, state().lang),
                               lang=state().lang)
        if fmt == "json":
            print_json(data)
            return
        console.print(msg("rollup.children_head", plan=data["plan"], green=data["green"], total=data["total"],
                          as_of=day.strftime("%d/%m/%Y")), markup=False, highlight=False)
        for r in data["children"]:
            console.print(f"  {r['unit'] or '—'}  {r['plan']}  {msg('rollup.' + r['status'])}: {r['reason']}",
                          markup=False, highlight=False)
        for t in data["tasks"]:
            console.print("  " + msg("rollup.children_task", task=t["task"], completed=t["completed"], total=t["total"]),
                          markup=False, highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(keys_app, name="keys")
    root.add_typer(app, name="rollup")

"""``steer``: the command line. A thin shell over engine/ (and flows/, imported lazily)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cli.common import State, console, handled, lang_default, msg, state

app = typer.Typer(
    name="steer",
    help="Steer — theo dõi nhiệm vụ của Ban Chỉ đạo / task engine for steering committees.\n\n"
    "Ví dụ / example:  steer demo",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default STEER_DATABASE_URL or sqlite:///steer.db).", metavar="URL")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of messages: vi (default) or en. Env: STEER_LANG.")] = lang_default(),
) -> None:
    from engine.i18n import norm_lang  # here, not at the top: `steer --help` does not load the catalog

    run = State(db=db, lang=norm_lang(lang))
    ctx.obj = run
    ctx.call_on_close(run.close)


db_app = typer.Typer(help="Database schema: status and upgrade.  Example: steer db upgrade", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the latest migration.

    Example: steer --db sqlite:///steer.db db upgrade
    """
    with handled():
        from engine import db as dbmod

        eng = state().engine(check_schema=False)
        before = dbmod.schema_state(eng)
        if before == "foreign":
            dbmod.ensure_schema(eng, lang=state().lang)  # raises the explanation
        if before == "ahead":
            dbmod.ensure_schema(eng, lang=state().lang)
        old = dbmod.current_revision(eng) if before != "empty" else None
        dbmod.upgrade(eng)
        new = dbmod.current_revision(eng)
        if old == new:
            console.print(msg("cli.database_already_at_latest_revision", new=new))
        else:
            console.print(msg("cli.upgraded_database", old=old or msg("cli.revision_empty"), new=new))


@db_app.command("status")
def db_status() -> None:
    """Show the database URL (password hidden), its schema revision and the expected one.

    Example: steer db status
    """
    with handled():
        from engine import db as dbmod

        eng = state().engine(check_schema=False)
        found = dbmod.schema_state(eng)
        console.print(f"{msg('cli.database_label')}: {dbmod.redact(str(eng.url))}")
        console.print(f"{msg('cli.state')}: {found}  ({msg('cli.revision_current')} "
                      f"{dbmod.current_revision(eng) if found != 'empty' else '-'}, {msg('cli.revision_head')} {dbmod.head_revision()})")


def _register() -> None:
    from cli import demo, directory, plans, tasks

    app.add_typer(directory.app, name="directory")
    app.add_typer(plans.app, name="plan")
    app.add_typer(tasks.app, name="task")
    app.command("demo")(demo.demo)
    import importlib

    # Command modules, each with register(app). Listed here so `steer --help` shows them all.
    for name in EXTRA_MODULES:
        try:
            mod = importlib.import_module(f"cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cli.{name}":
                raise
            continue
        mod.register(app)


EXTRA_MODULES = ("lifecycle", "kpi", "audit", "escalation", "reports", "web", "ops", "progress", "rollup", "criteria")


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

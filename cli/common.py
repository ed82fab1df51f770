"""Shared CLI plumbing: options, the database engine, language, user-error handling.

Keep imports light: ``steer task note`` must not import prefect or apprise, and engine
modules are imported inside commands so ``steer --help`` stays quick.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import typer
from rich.console import Console

try:  # Typer 0.2x carries its own copy of click; its commands push their contexts there
    from typer._click.globals import get_current_context
except ImportError:  # older Typer runs on click itself
    from click import get_current_context

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class State:
    """One invocation's settings (``--db``, ``--lang``) and the database engine it opened.

    The root command stores a new one in the click context (``cli.main``); ``state()`` finds it.
    """

    db: str | None = None
    lang: str = "vi"
    _engine: Any = None

    def use_db(self, db: str | None, engine: Any = None) -> None:
        """Switch to ``db`` (a command's own ``--db``), optionally with an engine already made for it."""
        self.close()
        self.db, self._engine = db, engine

    def close(self) -> None:
        """Release the engine this invocation made (its pooled connections)."""
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None

    def engine(self, *, check_schema: bool = True):  # -> sqlalchemy.Engine
        if self._engine is None:
            from sqlalchemy.exc import ArgumentError, NoSuchModuleError

            from engine.db import database_url, ensure_schema, make_engine

            url = database_url(self.db)
            try:
                self._engine = make_engine(url)
            except (ArgumentError, NoSuchModuleError, OSError, ValueError) as exc:
                # "--db garbage", an unknown driver, a SQLite path under a file
                from engine.db import redact
                from engine.errors import UserError

                detail = " ".join(str(exc).split())[:200]
                raise UserError(msg("cli.cannot_use_database_url_for", url=redact(url), detail=detail)) from None
            if check_schema:
                ensure_schema(self._engine, lang=self.lang)
        return self._engine


def state() -> State:
    """This invocation's settings (``--db``, ``--lang``) and its database engine.

    The root callback (``cli.main``) puts a new ``State`` in the root click context's ``obj``;
    outside a command (a helper called directly, e.g. from a test) this is a fresh default State.
    """
    ctx = get_current_context(silent=True)
    if ctx is not None:
        found = ctx.find_root().obj
        if isinstance(found, State):
            return found
    return State()


def msg(key: str, /, **fmt: Any) -> str:
    """The catalog's text of ``key`` in this invocation's language (``engine.i18n.tr``)."""
    from engine.i18n import tr

    return tr(state().lang, key, **fmt)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that are the user's mistake: printed as one message, exit 1."""
    from engine.errors import UserError

    return (UserError,)


@contextmanager
def handled() -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        from rich.markup import escape

        # User text (file names, cell contents) goes out escaped: "[/x]" in a cell must be
        # printed as written, not read as Rich markup (which dropped it or crashed).
        if isinstance(exc, user_errors()):
            err_console.print(f"[bold red]{msg('common.error')}:[/] {escape(str(exc))}", markup=True, highlight=False,
                              emoji=False)
            raise typer.Exit(1) from None
        if isinstance(exc, OSError) and getattr(exc, "filename", None) is not None:
            # A path the user gave (--out, a backup file, ...) that the system refuses: name
            # too long, no permission, not a folder, disk full.
            name = str(exc.filename)
            shown = name if len(name) <= 200 else name[:200] + "…"
            reason = exc.strerror or type(exc).__name__
            err_console.print(f"[bold red]{msg('common.error')}:[/] "
                              + escape(msg("cli.cannot_use_file", shown=shown, reason=reason)), emoji=False)
            raise typer.Exit(1) from None
        from sqlalchemy.exc import DatabaseError

        # OperationalError: cannot connect/write; a plain DatabaseError: "file is not a
        # database" (--db pointing at some other file). Not IntegrityError & co: those are bugs.
        if isinstance(exc, OperationalError) or type(exc) is DatabaseError:
            from engine.db import database_url, redact

            detail = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            err_console.print(f"[bold red]{msg('common.database_error')}:[/] "
                              + escape(msg("cli.cannot_use_database")
                                       + f"{redact(database_url(state().db))}: {detail}"), emoji=False)
            raise typer.Exit(1) from None
        raise


def now_arg(value: str | None) -> datetime:
    """``--now`` (ISO datetime with offset, or a date = 08:00 committee time) or the clock."""
    from engine import clock

    if not value:
        return clock.now()
    from datetime import date, time

    try:
        if len(value) == 10:
            moment = clock.local_datetime(date.fromisoformat(value), time(8, 0))
        else:
            moment = clock.require_aware(datetime.fromisoformat(value))
    except (ValueError, OverflowError) as exc:
        raise typer.BadParameter(msg("cli.invalid_time", value=value, exc=exc)) from None
    # Deadlines live in 2000..2100 (engine.deadlines); a "now" far outside would only
    # overflow the calendar (a 400-day horizon past 9999-12-31) or date items in year 1.
    from engine.deadlines import MAX_YEAR, MIN_YEAR

    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise typer.BadParameter(msg("cli.time_is_outside_years", value=value, min_year=MIN_YEAR, max_year=MAX_YEAR))
    return moment


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def lang_default() -> str:
    return os.environ.get("STEER_LANG", "vi")


def level_word(level: str) -> str:
    """An escalation level in words ("báo Trưởng ban", "đôn đốc hằng tuần"); a level a committee
    named itself in its policy prints under its own name."""
    from engine.i18n import has

    key = f"cli.level.{level}"
    return msg(key) if has(key) else level

"""Issue 22, finding 10: terminal escape sequences in notes are not printed raw by
``steer task show`` and ``steer audit log`` (nor by the plain ``steer task list``)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from cli.main import app
from engine import lifecycle as lc
from engine.db import make_engine, transaction
from engine.models import Task
from engine.safetext import terminal_text
from tests.factories import PLAN_CODE, T0, actor, item_of, seed_url

# Clear the screen, rewrite the line, set the window title (OSC), an 8-bit CSI, a bell,
# a right-to-left override.
NOTE = "Đã nộp\x1b[2J\x1b[1;1H\rXONG\x08\x1b]0;pwned\x07 báo cáo \x9b31m đỏ \u202etxt.exe"
CONTROL = ("\x1b", "\x9b", "\x07", "\x08", "\r", "\u202e")


@pytest.fixture
def db(db_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    seed_url(db_url, cache_dir=tmp_path_factory.getbasetemp(),
             tasks=[{"code": "1", "lead": ["SKHCN"], "deadline": date(2025, 6, 30), "title": "Việc \x1b[31mđỏ"}])
    eng = make_engine(db_url)
    with transaction(eng) as s:
        item = item_of(s, PLAN_CODE, "1")
        lc.add_note(s, item, actor(s, "skhcn_focal"), now=T0.replace(day=T0.day + 1), text=NOTE, percent=10)
        s.execute(update(Task).values(title="Việc \x1b[31mđỏ\x1b[0m"))
    yield db_url
    eng.dispose()


@pytest.mark.parametrize("args", [["task", "show", f"{PLAN_CODE}/1"], ["audit", "log"],
                                  ["task", "list", "--as", "secretariat"]], ids=["show", "audit", "list"])
def test_notes_and_titles_reach_the_terminal_without_control_characters(db, args):
    r = CliRunner().invoke(app, ["--db", db, *args])
    assert r.exit_code == 0, r.output
    leaked = [c for c in CONTROL if c in r.stdout]
    assert leaked == [], f"control characters printed: {leaked!r}"
    if args[0] != "task" or args[1] != "list":
        assert "Đã nộp[2J[1;1HXONG]0;pwned báo cáo 31m đỏ txt.exe" in r.stdout  # the text itself stays readable
    assert "Việc [31mđỏ" in r.stdout or args[1] == "log"


def test_terminal_text_keeps_tabs_and_line_breaks():
    assert terminal_text("a\tb\nc\x1b[0m\x00") == "a\tb\nc[0m"
    assert terminal_text(None) is None and terminal_text(3) == 3

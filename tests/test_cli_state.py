"""The CLI's per-invocation state (cli.common.state) and its messages (engine/catalog/cli.py)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from cli.common import State, msg, state
from cli.main import app
from engine.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_every_cli_message_key_exists_and_every_cli_entry_is_used():
    used: set[str] = set()
    for path in (ROOT / "cli").glob("*.py"):
        used |= set(re.findall(r"""["'](cli\.\w+)["']""", path.read_text(encoding="utf-8")))
    # keys the code builds from a value (f"cli.level.{level}"): an entry under such a prefix is asked for
    prefixes: set[str] = set()
    for path in (ROOT / "cli").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        prefixes |= set(re.findall(r"""f["'](cli\.[\w.]+\.)\{""", text))  # f"cli.level.{level}"
        prefixes |= set(re.findall(r"""["'](cli\.[\w.]+\.)["']""", text))  # "cli.dir_col." + col
    entries = {k for k in CATALOG if k.startswith("cli.")}
    assert used - set(CATALOG) == set(), "keys asked for but not in the catalog"
    assert {k for k in entries - used if not k.startswith(tuple(prefixes))} == set(), \
        "catalog entries no CLI code asks for"


def test_state_belongs_to_one_invocation(tmp_path):
    url = f"sqlite:///{tmp_path / 'steer.db'}"
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Upgraded the database: empty → ")
    # nothing of that run is left behind for the next caller
    assert state().lang == "vi" and state().db is None and state()._engine is None
    assert msg("cli.revision_empty") == "trống"


def test_an_invocation_disposes_of_the_engine_it_made(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'steer.db'}"
    closed: list[bool] = []
    original = State.close

    def spy(self: State) -> None:
        closed.append(self._engine is not None)
        original(self)
        assert self._engine is None

    monkeypatch.setattr(State, "close", spy)
    assert runner.invoke(app, ["--db", url, "db", "upgrade"]).exit_code == 0
    assert closed == [True]

"""The CLI's per-invocation state (cli.common.state) and its messages (engine/catalog/cli.py)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from cli import common
from cli.common import State, msg, state
from cli.main import app
from engine.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_every_cli_message_key_exists_and_every_cli_entry_is_used():
    used: set[str] = set()
    for path in (ROOT / "cli").glob("*.py"):
        used |= set(re.findall(r"""["'](cli\.\w+)["']""", path.read_text(encoding="utf-8")))
    entries = {k for k in CATALOG if k.startswith("cli.")}
    assert used - set(CATALOG) == set(), "keys asked for but not in the catalog"
    assert entries - used == set(), "catalog entries no CLI code asks for"


def test_state_belongs_to_one_invocation(tmp_path):
    url = f"sqlite:///{tmp_path / 'steer.db'}"
    r = runner.invoke(app, ["--lang", "en", "--db", url, "db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Upgraded the database: empty → ")
    # nothing of that run is left behind for the next caller
    assert state().lang == "vi" and state().db is None and state()._engine is None
    assert msg("cli.revision_empty") == "trống"


def test_an_invocation_disposes_of_the_engine_it_made_but_keeps_a_shared_one(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'steer.db'}"
    closed: list[tuple[bool, bool]] = []
    original = State.close

    def spy(self: State) -> None:
        closed.append((self._engine is not None, self._owned))
        original(self)

    monkeypatch.setattr(State, "close", spy)
    assert runner.invoke(app, ["--db", url, "db", "upgrade"]).exit_code == 0
    assert closed == [(True, True)]
    closed.clear()
    with common.engine_cache():
        assert runner.invoke(app, ["--db", url, "db", "status"]).exit_code == 0
        assert runner.invoke(app, ["--db", url, "db", "status"]).exit_code == 0
    shared = [e for (u, _), e in common._SHARED_ENGINES.items() if u == url]
    assert closed == [(True, False), (True, False)] and len(shared) == 1
    for key in [k for k in common._SHARED_ENGINES if k[0] == url]:
        common._SHARED_ENGINES.pop(key).dispose()

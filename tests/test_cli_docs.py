"""Every command has help with an example, and the README lists every command."""

from __future__ import annotations

from pathlib import Path

import typer.main

from cli.main import app

README = Path(__file__).resolve().parent.parent / "README.md"


def _is_group(cmd) -> bool:  # type: ignore[no-untyped-def]
    return hasattr(cmd, "commands")  # typer may bundle its own click: no isinstance


def _commands(group, prefix: str = "steer"):  # type: ignore[no-untyped-def]
    for name, cmd in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if _is_group(cmd):
            yield path, cmd
            yield from _commands(cmd, path)
        else:
            yield path, cmd


ALL = list(_commands(typer.main.get_command(app)))


def test_every_command_has_help_with_an_example():
    missing = [p for p, c in ALL if "example" not in (c.help or "").lower()]
    assert not missing, f"commands without an example in their help: {missing}"


def test_readme_lists_every_command():
    text = README.read_text(encoding="utf-8")
    leaves = [p for p, c in ALL if not _is_group(c)]
    missing = [p for p in leaves if f"`{p}" not in text]
    assert not missing, f"README does not document: {missing}"
    assert len(leaves) >= 10

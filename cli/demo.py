"""steer demo — the main job on the embedded default (filled in below as features land)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import handled

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo database and outputs.")] = Path("steer-demo"),
) -> None:
    """Run the whole story on a fresh SQLite database: load the sample directory and
    80-task plan, replay a scripted progress history, and show the result.

    Example: steer demo --out /tmp/steer-demo
    """
    with handled():
        from cli.demo_run import run_demo

        run_demo(out)

"""The layers hold (import-linter contracts in pyproject.toml, run with ``lint-imports``).

engine is the domain core (no cli, web, flows, notifications, prefect, apprise); flows and
notifications import neither the CLI nor the web; only notifications imports apprise; the
web never imports the CLI; engine has no import cycles.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "notifications", "flows", "cli", "web", "bench")
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    # --no-cache: the check reads the files as they are now (a copy in tmp, or the repo)
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_are_kept():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 5 kept, 0 broken." in out.stdout


def _copy_tree(dest: Path) -> None:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__", "templates", "static"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def test_a_web_module_importing_the_cli_breaks_the_contract(tmp_path):
    _copy_tree(tmp_path)
    app = tmp_path / "web" / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + "\nimport cli.common  # noqa\n", encoding="utf-8")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "the web app never imports the CLI BROKEN" in out.stdout
    assert "web.app -> cli.common" in out.stdout


def test_an_engine_cycle_or_an_engine_import_of_prefect_breaks_a_contract(tmp_path):
    _copy_tree(tmp_path)
    clock = tmp_path / "engine" / "clock.py"
    clock.write_text(clock.read_text(encoding="utf-8") + "\nimport engine.timeliness  # noqa\nimport prefect  # noqa\n",
                     encoding="utf-8")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "no import cycles inside engine BROKEN" in out.stdout
    assert "engine is the core (no cli, web, flows, prefect, apprise) BROKEN" in out.stdout

#!/usr/bin/env python3
"""Bootstrap for a fresh machine that has only python3.

    python3 run.py demo     # the main job on the embedded default (SQLite + temporary Prefect)
    python3 run.py test     # the whole test suite
    python3 run.py mutate engine/policy.py   # mutation testing of one module (bench/mutate.py; not in CI)

It finds uv (on PATH, or in ./.tools), installing it into ./.tools with pip if needed,
then runs `uv sync --frozen --compile-bytecode` (when uv.lock or pyproject.toml changed since the
last sync) and the command through `uv run --no-sync`. Anything after the
command is passed on (e.g. `python3 run.py test -k deadlines`, `python3 run.py steer --help`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    local = TOOLS / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")
    if local.exists():
        return str(local)
    print("run.py: installing uv into ./.tools (one time) ...", flush=True)
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        pip = TOOLS / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        subprocess.run([str(pip), "-m", "pip", "install", "--quiet", "uv"], check=True)
    except Exception as exc:  # no ensurepip (Debian without python3-venv): fall back to --user
        print(f"run.py: venv+pip failed ({exc}); trying 'pip install --user uv'", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--user", "--quiet", "uv"], check=True)
        user_bin = Path(subprocess.check_output([sys.executable, "-m", "site", "--user-base"], text=True).strip()) / "bin"
        return str(user_bin / "uv") if (user_bin / "uv").exists() else "uv"
    return str(local)


STAMP = ROOT / ".venv" / ".steer-synced"


def _sync(uv: str, env: dict[str, str]) -> None:
    """``uv sync --frozen --compile-bytecode`` when the lock or the project changed since the
    last sync (or there is no environment yet). uv compiles every package's bytecode again on
    each sync (about a second, and a "Bytecode compiled" line before the command's output), so
    a stamp of what was synced saves it on every later command."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("uv.lock", "pyproject.toml"):
        path = ROOT / name
        digest.update(path.read_bytes() if path.exists() else b"")
    want = f"{digest.hexdigest()} {sys.version_info[:2]}"
    if STAMP.exists() and STAMP.read_text().strip() == want and (ROOT / ".venv" / "pyvenv.cfg").exists():
        return
    subprocess.run([uv, "sync", "--frozen", "--compile-bytecode", "--quiet"], cwd=ROOT, env=env, check=True)
    STAMP.write_text(want + "\n")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    cmd, rest = argv[0], argv[1:]
    uv = _uv()
    env = dict(os.environ)
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # --compile-bytecode: the installed packages get their .pyc files once, here, instead of every
    # CLI process compiling the modules it imports again (PYTHONDONTWRITEBYTECODE keeps Python from
    # caching them). UV_COMPILE_BYTECODE makes the sync that `uv run` may do do the same.
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    # how the person started us (e.g. "run.py"): `steer demo` prints its next steps as
    # "python3 run.py steer ..." (under `uv run` steer is on PATH, but not in their shell)
    env["STEER_RUN_PY"] = sys.argv[0]
    _sync(uv, env)
    # the environment is in step with the lock now (_sync): `uv run` need not sync (nor compile) again
    run = [uv, "run", "--frozen", "--no-sync"]
    if cmd == "demo":
        args = [*run, "steer", "demo", *rest]
    elif cmd == "test":
        args = [*run, "pytest", *rest]
    elif cmd == "mutate":
        args = [*run, "python", "-m", "bench.mutate", *rest]
    elif cmd == "steer":
        args = [*run, "steer", *rest]
    else:
        print(f"run.py: unknown command {cmd!r}; use 'demo', 'test', 'mutate MODULE...' or 'steer ...'", file=sys.stderr)
        return 2
    return subprocess.run(args, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

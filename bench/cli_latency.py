"""Benchmark: wall time of `steer task note …` next to `python -c pass` (the floor).

Goal from the lifecycle issue: median ≤ 3× the floor, and the path imports neither
prefect nor apprise. Two ways the command runs, both measured with the real console script:

- in-process (no server): the full CLI starts, imports SQLAlchemy/Typer/Rich, writes, exits;
- handed over (a `steer web` is running on the same database, as in production): the
  stdlib-only launcher (cli/launch.py) posts the action to the warm server's JSON API
  (web/localapi.py), which performs it through the same action path (engine.commands) and
  writes the same event.

Each note really writes an event; the bench checks the event count afterwards.

    uv run python bench/cli_latency.py [--runs 15] [--backend sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PY = sys.executable
STEER = str(Path(PY).with_name("steer"))


def timed(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        out.append(time.perf_counter() - t0)
    return out


def interleaved(a: list[str], b: list[str], runs: int, env_a: dict[str, str], env_b: dict[str, str]) -> tuple[list[float], list[float]]:
    """Alternate the two commands run by run, so machine load drifts hit both alike."""
    xs, ys = [], []
    for _ in range(runs):
        xs += timed(a, 1, env_a)
        ys += timed(b, 1, env_b)
    return xs, ys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> None:
    from engine.db import make_engine, transaction
    from engine.directory_store import parse_directory_file, store_directory
    from engine.planfile.loader import load_plan_file

    eng = make_engine(url)
    now = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
    with transaction(eng) as s:
        store_directory(s, parse_directory_file(ROOT / "plans" / "sample-directory.yaml"), now=now)
    load_plan_file(eng, ROOT / "plans" / "sample-plan.yaml", now=now)
    eng.dispose()


def _notes(url: str) -> int:
    from sqlalchemy import func, select

    from engine.db import make_engine, transaction
    from engine.models import Event

    eng = make_engine(url)
    with transaction(eng) as s:
        n = s.scalar(select(func.count()).select_from(Event).where(Event.kind == "note")) or 0
    eng.dispose()
    return n


def measure(backend: str, runs: int, workdir: Path) -> dict:
    from bench.common import fresh_db
    from cli.launch import read_server_file, server_file

    with fresh_db(backend, workdir) as url:
        _seed(url)
        env = {k: v for k, v in os.environ.items() if k not in ("STEER_NOW", "STEER_NO_SERVER")}
        env["STEER_RUNTIME_DIR"] = os.environ["STEER_RUNTIME_DIR"] = str(workdir / "run")
        note = [STEER, "--db", url, "task", "note", "KH-57-LS/3", "--as", "bptth_focal", "--note", "Đang triển khai"]
        before = _notes(url)
        timed([PY, "-c", "pass"], 2, env)
        local_env = {**env, "STEER_NO_SERVER": "1"}
        timed(note, 2, local_env)
        floor, inproc = interleaved([PY, "-c", "pass"], note, runs, env, local_env)
        imp = subprocess.run([PY, "-X", "importtime", STEER, *note[1:]], cwd=ROOT, capture_output=True, text=True,
                             env=local_env)
        heavy = sorted({line.split("|")[-1].strip().split(".")[0] for line in imp.stderr.splitlines()
                        if line.split("|")[-1].strip().split(".")[0] in {"prefect", "apprise"}})
        port = _free_port()
        web = subprocess.Popen([STEER, "--db", url, "web", "--host", "127.0.0.1", "--port", str(port),
                                "--upload-dir", str(workdir / "uploads")], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            sf = Path(server_file(url))
            deadline = time.monotonic() + 60
            while True:
                if sf.exists():
                    try:
                        socket.create_connection(("127.0.0.1", read_server_file(str(sf))[1]), timeout=1).close()
                        break
                    except OSError:
                        pass
                if web.poll() is not None or time.monotonic() > deadline:
                    web.kill()
                    raise SystemExit(f"steer web did not start: {web.communicate(timeout=10)[1][-2000:]}")
                time.sleep(0.1)
            timed(note, 3, env)
            floor2, served = interleaved([PY, "-c", "pass"], note, runs, env, env)
            imp2 = subprocess.run([PY, "-X", "importtime", STEER, *note[1:]], cwd=ROOT, capture_output=True,
                                  text=True, env=env)
        finally:
            web.terminate()
            web.wait(20)
        client_mods = sorted({line.split("|")[-1].strip().split(".")[0] for line in imp2.stderr.splitlines()
                              if "|" in line} & {"sqlalchemy", "typer", "rich", "prefect", "apprise", "engine"})
        written = _notes(url) - before
        expected = 2 + runs + 1 + 3 + runs + 1
        assert written == expected, f"expected {expected} notes written, found {written}"
    f = statistics.median(floor + floor2)
    return {"backend": backend, "floor_ms": f * 1000, "floor_served_ms": statistics.median(floor2) * 1000, "inprocess_ms": statistics.median(inproc) * 1000,
            "served_ms": statistics.median(served) * 1000, "heavy_inprocess": heavy, "client_modules": client_mods,
            "notes_written": written}


def run(backends: list[str] | None = None, runs: int = 15) -> list[dict]:
    from bench.common import backends as available

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for b in available(backends):
            rows.append(measure(b, runs, Path(tmp)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], action="append")
    a = ap.parse_args()
    rows = run(a.backend, a.runs)
    print(f"# CLI latency ({a.runs} runs each, median wall time; every run writes a real note event)")
    for r in rows:
        f = r["floor_ms"]
        print(f"[{r['backend']}] python -c pass                      {f:8.1f} ms   (floor)")
        print(f"[{r['backend']}] steer task note, in-process         {r['inprocess_ms']:8.1f} ms   "
              f"ratio {r['inprocess_ms'] / f:5.1f}x")
        print(f"[{r['backend']}] steer task note, via running server {r['served_ms']:8.1f} ms   "
              f"ratio {r['served_ms'] / r['floor_served_ms']:5.1f}x (goal ≤ 3x; floor of those runs "
              f"{r['floor_served_ms']:.1f} ms)")
        print(f"[{r['backend']}] prefect/apprise imported in-process: {', '.join(r['heavy_inprocess']) or 'none'}; "
              f"heavy modules in the client when served: {', '.join(r['client_modules']) or 'none'}")


if __name__ == "__main__":
    main()

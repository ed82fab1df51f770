"""Operations figures (issue 21): two `steer escalate` runs, each on a fresh PREFECT_HOME (no
PREFECT_API_URL: Prefect's temporary server starts from nothing), then `steer serve`'s start
time and idle memory (serve + its Prefect server + children, 15 s after it serves).

usage: .venv/bin/python bench/ops_first_run.py STEER_BIN OUTDIR
(STEER_BIN: the `steer` of the checkout to measure, e.g. main's for a before/after pair)."""
import os, signal, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.test_ops_processes import _rss_kb
from tests.receivers import free_port


def main(argv: list[str]) -> None:
    steer, out = argv[0], Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{out / 'steer.db'}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "STEER_DATABASE_URL"}
    base.update(DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONUNBUFFERED="1", STEER_LANG="en")
    for args in (["db", "upgrade"], ["directory", "load", str(Path(__file__).resolve().parent.parent / "plans/sample-directory.yaml")],
                 ["plan", "load", str(Path(__file__).resolve().parent.parent / "plans/sample-plan.yaml")]):
        subprocess.run([steer, "--db", db, *args], env=base, capture_output=True, check=True)
    for i in (1, 2):
        env = dict(base, PREFECT_HOME=str(out / f"home{i}"))
        t0 = time.monotonic()
        r = subprocess.run([steer, "--db", db, "escalate", "--as-of", "2025-08-01", "--no-dispatch"], env=env,
                           capture_output=True, text=True, cwd=out)
        print(f"escalate fresh PREFECT_HOME #{i}: {time.monotonic()-t0:.1f} s exit {r.returncode} traceback={'Traceback' in r.stderr}", flush=True)
    port = free_port()
    log = out / "serve.log"
    t0 = time.monotonic()
    with open(log, "w") as fh:
        p = subprocess.Popen([steer, "--db", db, "serve", "--data-dir", str(out / ".steer"), "--port", str(port)],
                             env=base, cwd=out, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    while "Serving:" not in log.read_text() and p.poll() is None and time.monotonic() - t0 < 300:
        time.sleep(0.5)
    started = time.monotonic() - t0
    time.sleep(15)
    print(f"serve: start {started:.1f} s, idle RSS {_rss_kb(p.pid)/1024:.0f} MB (serve + server + children)", flush=True)
    os.kill(p.pid, signal.SIGINT)
    p.wait(90)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1:])

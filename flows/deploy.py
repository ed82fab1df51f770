"""``steer deploy``: register Steer's deployments with a real Prefect server, to run on a
process work pool (``prefect worker start --pool steer``).

The deployments and their schedules are the ones ``steer serve`` uses — built by
``flows.escalate.deployments`` and ``flows.report.deployments`` (cron strings live there
only) in the committee's timezone — re-targeted for a worker:

* code source: this checkout, as a local path (``LocalStorage``: the worker's flow-run
  process changes to that directory and loads ``flows/escalate.py:escalate`` …), so the
  worker must run on a machine with the same checkout, in Steer's environment
  (``uv run prefect worker start …``);
* job variables ``env``: ``STEER_DATABASE_URL`` (and ``STEER_REPORT_DIR``), so flow
  parameters carry no database URL. A URL with a password is refused unless the worker's
  own environment provides it (``db_from_worker_env``): job variables are visible to
  anyone who can open the Prefect UI.

Registering is idempotent (the server upserts by flow and deployment name). The work pool
is created (type ``process``) when missing.

:func:`prefect_checks` is the Prefect part of ``steer doctor`` (plain HTTP, no prefect import).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.i18n import tr
from flows.settings import configure

DEFAULT_POOL = "steer"
# flow/deployment names :func:`build` registers (tests/test_prod_prefect_server.py keeps them equal)
DEPLOYMENT_NAMES: tuple[str, ...] = (
    "steer-escalate/daily", "steer-dispatch/retry", "monthly-report/monthly-report", "quarterly-report/quarterly-report",
)
CODE_ROOT = Path(__file__).resolve().parent.parent  # the directory holding flows/, engine/ …


class DeployError(Exception):
    """Deployment could not be registered (message for a person)."""


@dataclass(frozen=True)
class Registered:
    name: str  # flow/deployment
    id: str
    schedule: str  # "cron 0 8 * * 1-5 (Asia/Ho_Chi_Minh)" / "every 600 s"
    entrypoint: str


def api_url() -> str | None:
    return (os.environ.get("PREFECT_API_URL") or "").strip() or None


def _auth_headers() -> dict[str, str]:
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth:
        return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}
    key = os.environ.get("PREFECT_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _schedule_text(sched: Any) -> str:
    s = getattr(sched, "schedule", sched)
    if getattr(s, "cron", None):
        return f"cron {s.cron} ({s.timezone})"
    if getattr(s, "interval", None) is not None:
        return f"every {int(s.interval.total_seconds())} s"
    return str(s)


def build(*, tz: str, pool: str, db_url: str | None, policy: str | None = None, report_dir: str | None = None,
          code_root: Path = CODE_ROOT) -> list[Any]:
    """The RunnerDeployments for a process work pool (imports prefect)."""
    from prefect.runner.storage import LocalStorage

    from flows import escalate, report

    deps = list(escalate.deployments(None, tz=tz, policy=policy)) + list(report.deployments(db_url=None, tz=tz))
    env: dict[str, str] = {}
    if db_url:
        env["STEER_DATABASE_URL"] = db_url
    if report_dir:
        env["STEER_REPORT_DIR"] = report_dir
    root = code_root.resolve()
    for d in deps:
        file, func = d.entrypoint.rsplit(":", 1)
        path = (Path.cwd() / file).resolve()
        try:
            rel = path.relative_to(root)
        except ValueError as exc:
            raise DeployError(f"flow file {path} is outside the code directory {root}") from exc
        d.entrypoint = f"{rel.as_posix()}:{func}"
        d.storage = LocalStorage(str(root))
        d.work_pool_name = pool
        d.job_variables = {"env": dict(env)} if env else {}
    return deps


def deploy(*, db_url: str, pool: str = DEFAULT_POOL, policy: str | None = None, report_dir: str | None = None,
           db_from_worker_env: bool = False, tz: str | None = None, lang: str = "vi") -> list[Registered]:
    """Register the deployments on the server at ``PREFECT_API_URL`` (required)."""
    from sqlalchemy.engine import make_url

    from engine.db import database_url, redact

    url = api_url()
    if not url:
        raise DeployError(tr(lang, "flow.prefect_api_url_not_set"))
    db = database_url(db_url)
    if make_url(db).password is not None and not db_from_worker_env:
        raise DeployError(tr(lang, "flow.database_url_has_password_it", db=redact(db)))
    ok, detail = _health(url)
    if not ok:
        raise DeployError(tr(lang, "flow.cannot_reach_prefect_server", url=url, detail=detail))
    if db.startswith("sqlite") and ":///" in db and not db.startswith("sqlite:////"):
        # a relative SQLite path would resolve against the worker's working directory
        db = "sqlite:///" + str(Path(db.split(":///", 1)[1]).resolve())
    if tz is None:
        tz = committee_tz(db)
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "false"  # never register on a temporary server
    configure()
    policy_path = str(Path(policy).resolve()) if policy else None
    deps = build(tz=tz, pool=pool, db_url=None if db_from_worker_env else db, policy=policy_path,
                 report_dir=str(Path(report_dir).resolve()) if report_dir else None)
    ensure_pool(pool, lang=lang)
    out = []
    for d in deps:
        dep_id = d.apply(work_pool_name=pool)
        out.append(Registered(f"{d.flow_name}/{d.name}", str(dep_id), ", ".join(_schedule_text(s) for s in d.schedules),
                              d.entrypoint))
    return out


def committee_tz(db_url: str) -> str:
    from engine.db import ensure_schema, make_engine, transaction
    from engine.escalation import committee

    eng = make_engine(db_url)
    try:
        ensure_schema(eng)
        with transaction(eng) as s:
            return committee(s)[0]
    finally:
        eng.dispose()


def ensure_pool(name: str, *, lang: str = "vi") -> str:
    """Create the process work pool ``name`` if missing; refuse one of another type."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process",
                                                   base_job_template=ProcessWorker.get_default_base_job_template()))
            return "created"
    if pool.type != "process":
        raise DeployError(tr(lang, "flow.work_pool_type_steer_needs", name=name, pool_type=pool.type))
    return "exists"


# --- doctor ---------------------------------------------------------------------------------------


def _health(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    import httpx

    try:
        r = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout, headers=_auth_headers())
    except httpx.HTTPError as exc:
        return False, type(exc).__name__ + (f": {exc}" if str(exc) else "")
    if r.status_code != 200:
        return False, f"HTTP {r.status_code}"
    return True, ""


def prefect_checks(*, timeout: float = 5.0, lang: str = "vi", names: Sequence[str] = DEPLOYMENT_NAMES) -> list[Any]:
    """Doctor rows: API URL set and healthy, each deployment registered, a worker online on its pool."""
    import httpx

    from notifications.doctor import FAIL, OK, Check

    url = api_url()
    label = tr(lang, "flow.prefect_api")
    if not url:
        return [Check(label, FAIL, tr(lang, "flow.prefect_api_url_not_set_2"))]
    ok, detail = _health(url, timeout)
    if not ok:
        return [Check(label, FAIL, f"{url}: {detail}")]
    out = [Check(label, OK, f"{url}: /health 200")]
    pools: set[str] = set()
    base = url.rstrip("/")
    headers = _auth_headers()
    with httpx.Client(timeout=timeout, headers=headers) as http:
        for name in names:
            row = tr(lang, "flow.deployment", name=name)
            try:
                r = http.get(f"{base}/deployments/name/{name}")
            except httpx.HTTPError as exc:
                out.append(Check(row, FAIL, type(exc).__name__))
                continue
            if r.status_code == 404:
                out.append(Check(row, FAIL, tr(lang, "flow.not_registered_run_steer_deploy")))
                continue
            if r.status_code != 200:
                out.append(Check(row, FAIL, f"HTTP {r.status_code}"))
                continue
            dep = r.json()
            pool = dep.get("work_pool_name")
            sched = [s.get("schedule", {}) for s in dep.get("schedules") or []]
            active = [s for s in dep.get("schedules") or [] if s.get("active", True)]
            text = ", ".join(f"cron {s['cron']} ({s.get('timezone')})" if s.get("cron") else
                             f"every {int(float(s.get('interval', 0)))} s" for s in sched)
            if dep.get("paused") or not active:
                out.append(Check(row, FAIL, tr(lang, "flow.paused", text=text)))
                continue
            if not pool:
                out.append(Check(row, FAIL, tr(lang, "flow.no_work_pool_run_steer")))
                continue
            pools.add(pool)
            out.append(Check(row, OK, f"pool {pool}; {text}"))
        for pool in sorted(pools):
            row = f"Worker ({pool})"
            try:
                r = http.post(f"{base}/work_pools/{pool}/workers/filter", json={})
                workers = r.json() if r.status_code == 200 else None
            except httpx.HTTPError as exc:
                out.append(Check(row, FAIL, type(exc).__name__))
                continue
            if workers is None:
                out.append(Check(row, FAIL, f"HTTP {r.status_code}"))
                continue
            online = [w for w in workers if str(w.get("status", "")).upper() == "ONLINE"]
            if online:
                out.append(Check(row, OK, tr(lang, "flow.worker_s_online", n_online=len(online))))
            else:
                out.append(Check(row, FAIL, tr(lang, "flow.no_worker_online_prefect_worker", pool=pool)))
    return out


__all__ = ["DEFAULT_POOL", "DEPLOYMENT_NAMES", "DeployError", "Registered", "build", "deploy", "ensure_pool",
           "prefect_checks"]

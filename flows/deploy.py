"""``steer deploy``: register Steer's deployments with a real Prefect server, to run on a
process work pool (``prefect worker start --pool steer``).

The deployments and their schedules are the ones ``steer serve`` uses — built by
``flows.escalate.deployments`` and ``flows.report.deployments`` (cron strings live there
only) in the committee's timezone — re-targeted for a worker:

* code: by default **the installed package** — entrypoints are module paths
  (``flows.escalate.escalate``), no pull step, no local path: the worker runs in any
  working directory on any host whose Python environment has Steer installed
  (``uv sync`` in a checkout, or ``pip install`` of Steer's wheel), the same version as
  the one that registered. With ``git_url`` (``steer deploy --git URL [--git-ref REF]``)
  each run clones the repository instead (Prefect's ``git_clone`` pull step) and loads
  ``flows/escalate.py:escalate`` from the clone; the worker still needs Steer's
  dependencies installed;
* the escalation policy travels **by value** (the policy file's mapping as the ``policy``
  parameter): no policy file on the worker;
* job variables ``env``: ``STEER_DATABASE_URL`` (and ``STEER_REPORT_DIR``), so flow
  parameters carry no database URL. A URL with a password is refused unless the worker's
  own environment provides it (``db_from_worker_env``): job variables are visible to
  anyone who can open the Prefect UI;
* at most one run at a time per deployment; a run triggered while one runs is cancelled
  (``concurrency_limit=1``, ``CANCEL_NEW``);
* two **automations** (:func:`ensure_automations`): a Steer run that fails or crashes
  sends a notification to the secretariat's webhook (a ``CustomWebhookNotificationBlock``
  the server itself calls, so the alert goes out even when the worker or the Steer
  database is down), and a Steer run still Running after ``stuck_minutes`` is marked
  Crashed (its outbox rows are reclaimed when their lease expires).

Registering is idempotent (the server upserts by flow and deployment name, automations
and the block are replaced by name). The work pool is created (type ``process``) when
missing.

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
ALERT_BLOCK = "steer-run-alerts"
ALERT_AUTOMATION = "steer: alert the secretariat when a run fails"
STUCK_AUTOMATION = "steer: mark runs stuck in Running as crashed"
STUCK_MINUTES = 180
MONITORED_TAG = "steer"


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


def build(*, tz: str, pool: str, db_url: str | None, policy: dict[str, Any] | None = None,
          report_dir: str | None = None, git_url: str | None = None, git_ref: str | None = None) -> list[Any]:
    """The RunnerDeployments for a process work pool (imports prefect).

    Entrypoints are module paths of the installed package unless ``git_url`` is given
    (then a ``git_clone`` pull step and file entrypoints relative to the clone)."""
    from flows import escalate, report

    deps = list(escalate.deployments(None, tz=tz, policy=policy)) + list(report.deployments(db_url=None, tz=tz))
    env: dict[str, str] = {}
    if db_url:
        env["STEER_DATABASE_URL"] = db_url
    if report_dir:
        env["STEER_REPORT_DIR"] = report_dir
    storage = None
    if git_url:
        from prefect.runner.storage import GitRepository

        storage = GitRepository(url=git_url, branch=git_ref) if git_ref else GitRepository(url=git_url)
    for d in deps:
        file, func = d.entrypoint.rsplit(":", 1)
        module = Path(file).with_suffix("").as_posix().split("/")
        module = module[len(module) - 1 - module[::-1].index("flows"):] if "flows" in module else module[-2:]
        if storage is None:
            d.entrypoint = ".".join(module) + f".{func}"  # import from the installed package
        else:
            d.entrypoint = "/".join(module) + f".py:{func}"  # relative to the clone
            d.storage = storage
        d.work_pool_name = pool
        d.job_variables = {"env": dict(env)} if env else {}
    return deps


def deploy(*, db_url: str, pool: str = DEFAULT_POOL, policy: str | None = None, report_dir: str | None = None,
           db_from_worker_env: bool = False, tz: str | None = None, lang: str = "vi", git_url: str | None = None,
           git_ref: str | None = None, alert_url: str | None = None,
           stuck_minutes: int = STUCK_MINUTES) -> list[Registered]:
    """Register the deployments and automations on the server at ``PREFECT_API_URL`` (required)."""
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
    alert = alert_url or secretariat_webhook(db)
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "false"  # never register on a temporary server
    configure()
    policy_value = None
    if policy:
        from engine.policy import parse_policy, read_policy_file

        policy_value = read_policy_file(policy, lang=lang)
        parse_policy(policy_value, source=str(policy), lang=lang)  # refuse a bad policy here, not at 08:00
    deps = build(tz=tz, pool=pool, db_url=None if db_from_worker_env else db, policy=policy_value,
                 report_dir=str(Path(report_dir).resolve()) if report_dir else None, git_url=git_url, git_ref=git_ref)
    ensure_pool(pool, lang=lang)
    out = []
    for d in deps:
        dep_id = d.apply(work_pool_name=pool)
        out.append(Registered(f"{d.flow_name}/{d.name}", str(dep_id), ", ".join(_schedule_text(s) for s in d.schedules),
                              d.entrypoint))
    ensure_automations(alert, stuck_minutes=stuck_minutes, lang=lang)
    return out


def secretariat_webhook(db_url: str) -> str | None:
    """The first webhook address (json(s)://, http(s)://) among the secretariat's notify URLs."""
    from sqlalchemy import select

    from engine.db import make_engine, transaction
    from engine.models import Person
    from engine.states import Role

    eng = make_engine(db_url)
    try:
        with transaction(eng) as s:
            urls = [u for p in s.execute(select(Person).where(Person.role == Role.SECRETARIAT, Person.active.is_(True))
                                         .order_by(Person.id)).scalars() for u in (p.notify or [])]
    finally:
        eng.dispose()
    return next((u for u in urls if webhook_url(u)), None)


def webhook_url(url: str) -> str | None:
    """The HTTP address behind an Apprise json(s):// URL, or an http(s):// URL itself; else None."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        return url
    if scheme in ("json", "jsons"):
        return ("https" if scheme == "jsons" else "http") + "://" + rest
    return None


def ensure_automations(alert_url: str | None, *, stuck_minutes: int = STUCK_MINUTES, lang: str = "vi") -> list[str]:
    """Create (or replace) Steer's two automations; returns their names. Without a webhook
    for the secretariat only the stuck-run automation is made (and a warning is logged)."""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState, SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    steer_runs = ResourceSpecification({"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{MONITORED_TAG}"})
    made = []
    for name in (ALERT_AUTOMATION, STUCK_AUTOMATION):
        _delete_automation(name)
    hook = webhook_url(alert_url) if alert_url else None
    if hook:
        block = CustomWebhookNotificationBlock(
            name="steer", url=hook, json_data={"version": "1.0", "title": "{{subject}}", "message": "{{body}}",
                                               "type": "failure"})
        block_id = block.save(ALERT_BLOCK, overwrite=True)
        Automation(
            name=ALERT_AUTOMATION, description="Steer: a failed or crashed run notifies the secretariat.",
            trigger=EventTrigger(expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                                 match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
                                 match_related=steer_runs, posture=Posture.Reactive, threshold=1,
                                 within=timedelta(0)),
            actions=[SendNotification(block_document_id=block_id, subject=tr(lang, "flow.alert_subject"),
                                      body=tr(lang, "flow.alert_body"))],
        ).create()
        made.append(ALERT_AUTOMATION)
    else:
        import logging

        logging.getLogger("steer.deploy").warning(tr(lang, "flow.no_alert_channel"))
    Automation(
        name=STUCK_AUTOMATION, description="Steer: a run Running for too long is marked Crashed.",
        trigger=EventTrigger(after={"prefect.flow-run.Running"},
                             expect={"prefect.flow-run.Completed", "prefect.flow-run.Failed",
                                     "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
                             match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
                             match_related=steer_runs, for_each={"prefect.resource.id"},
                             posture=Posture.Proactive, threshold=1, within=timedelta(minutes=stuck_minutes)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, name="Crashed",
                                    message=tr(lang, "flow.stuck_message", minutes=stuck_minutes))],
    ).create()
    made.append(STUCK_AUTOMATION)
    return made


def _delete_automation(name: str) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for a in client.read_automations_by_name(name):
            client.delete_automation(a.id)


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
                out.append(Check(row, FAIL, f"{tr(lang, 'flow.paused', text=text)}; {_last_run(http, base, dep['id'], lang)[1]}"))
                continue
            if not pool:
                out.append(Check(row, FAIL, tr(lang, "flow.no_work_pool_run_steer")))
                continue
            pools.add(pool)
            bad, last = _last_run(http, base, dep["id"], lang)
            out.append(Check(row, FAIL if bad else OK, f"pool {pool}; {text}; {last}"))
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


def _last_run(http: Any, base: str, deployment_id: str, lang: str) -> tuple[bool, str]:
    """(failed?, text) of the deployment's most recent started run."""
    import httpx

    try:
        r = http.post(f"{base}/flow_runs/filter", json={
            "deployments": {"id": {"any_": [deployment_id]}}, "flow_runs": {"start_time": {"is_null_": False}},
            "sort": "START_TIME_DESC", "limit": 1})
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    runs = r.json() if r.status_code == 200 else []
    if not runs:
        return False, tr(lang, "flow.no_run_yet")
    st = runs[0].get("state") or {}
    when = (runs[0].get("start_time") or "")[:16].replace("T", " ")
    text = tr(lang, "flow.last_run", name=st.get("name") or st.get("type"), when=when)
    if st.get("message") and st.get("type") in ("FAILED", "CRASHED"):
        text += f" — {st['message'][:200]}"
    return st.get("type") in ("FAILED", "CRASHED"), text


__all__ = ["DEFAULT_POOL", "DEPLOYMENT_NAMES", "DeployError", "Registered", "build", "deploy", "ensure_pool",
           "prefect_checks"]

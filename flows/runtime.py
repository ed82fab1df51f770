"""What every Steer flow run shares (importing this module does not import prefect):

* **Where the database URL comes from** (:func:`run_db_url`): a ``db_url`` parameter only
  when it carries no password (flow run parameters are stored by Prefect and shown in its
  UI), else ``STEER_DATABASE_URL`` from the environment of the process running the flow
  (the worker's, ``steer serve``'s, or the CLI's own). Neither → :class:`MissingSetting`
  naming the variable: never a default SQLite file created next to the code.
* **States that say what happened** (:func:`verdict`, :func:`final_state`): a run whose
  deliveries all failed ends *Failed*; one where some failed ends *Completed* under the
  name "Completed with warnings"; a missing setting ends *Failed* at once (the run's
  retries are switched off first: retrying cannot make a variable appear).
* **The run's log** (:func:`log`): ``get_run_logger`` inside a run, Python logging outside.
* **Events** (:func:`emit_flips`): one Prefect event per timeliness flip, named after the
  item (``KH-57/12@SNV``), with the plan and the unit as related resources, so an
  automation can filter by unit or plan.
* **Artifacts** (:func:`escalation_table`): the rows of the table artifact of an
  escalation run.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

from engine.i18n import tr

DB_ENV = "STEER_DATABASE_URL"
MAX_EVENTS = 1000  # timeliness flips emitted as Prefect events per run (the rest are in the log)
WARN_STATE_NAME = "Completed with warnings"


class MissingSetting(Exception):
    """A setting the run needs is absent from its environment (message names it)."""


def lang() -> str:
    return os.environ.get("STEER_LANG", "vi")


def run_db_url(db_url: str | None) -> str:
    """The database URL of this run (see the module docstring)."""
    from sqlalchemy.engine import make_url

    from engine.db import normalize_url

    if db_url:
        try:
            has_password = make_url(normalize_url(db_url)).password is not None
        except Exception:  # noqa: BLE001 - a malformed URL fails where it is used, with the driver's message
            has_password = False
        if has_password:
            raise MissingSetting(tr(lang(), "flow.db_password_in_parameters", var=DB_ENV))
        return normalize_url(db_url)
    url = (os.environ.get(DB_ENV) or "").strip()
    if not url:
        raise MissingSetting(tr(lang(), "flow.missing_database_env", var=DB_ENV))
    return normalize_url(url)


def log(message: str, *, level: int = logging.INFO) -> None:
    """A line in the flow run's log (the Prefect UI) or, outside a run, in Python logging."""
    try:
        from prefect.context import FlowRunContext, TaskRunContext
        from prefect.logging import get_run_logger

        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            get_run_logger().log(level, message)
            return
    except ImportError:  # pragma: no cover - prefect not installed
        pass
    logging.getLogger("steer.flows").log(level, message)


# --- states ------------------------------------------------------------------------------------


def verdict(dispatch: dict[str, Any] | None) -> tuple[str, str | None]:
    """("ok" | "warn" | "fail", message) of a dispatch summary: every batch that was tried
    and not delivered (failed for good, or waiting for a retry) is a problem; none
    delivered at all is a failure."""
    if not dispatch:
        return "ok", None
    st = dispatch.get("by_status") or {}
    sent, pending, failed = st.get("sent", 0), st.get("pending", 0), st.get("failed", 0)
    if not pending and not failed:
        return "ok", None
    if not sent:
        return "fail", tr(lang(), "flow.no_delivery_succeeded", failed=failed, pending=pending)
    return "warn", tr(lang(), "flow.some_deliveries_failed", sent=sent, failed=failed, pending=pending)


def _stop_retries() -> None:
    """Switch off the current flow run's retries (the server retries any Failed state
    otherwise). Best effort: outside a run, nothing to do."""
    try:
        from prefect.client.orchestration import get_client
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        if ctx is None or ctx.flow_run is None:
            return
        policy = ctx.flow_run.empirical_policy.model_copy(update={"retries": 0})
        with get_client(sync_client=True) as client:
            client.update_flow_run(ctx.flow_run.id, empirical_policy=policy)
    except Exception as exc:  # noqa: BLE001 - the run still ends Failed, only perhaps retried
        log(f"could not switch off retries: {type(exc).__name__}", level=logging.WARNING)


def failed_at_once(message: str, data: Any = None) -> Any:
    """A Failed state for a problem retrying cannot fix (the run's retries are cancelled)."""
    from prefect.states import Failed

    log(message, level=logging.ERROR)
    _stop_retries()
    return Failed(message=message, data=data)


def final_state(summary: dict[str, Any], dispatch: dict[str, Any] | None) -> Any:
    """The state a flow returns: the summary as its result, typed by :func:`verdict`.
    Failed deliveries are retried by the outbox (backoff) and the delivery-retry
    deployment, not by re-running the whole flow."""
    from prefect.states import Completed

    kind, message = verdict(dispatch)
    if kind == "fail":
        return failed_at_once(message or "", data=summary)
    if kind == "warn":
        log(message or "", level=logging.WARNING)
        return Completed(name=WARN_STATE_NAME, message=message, data=summary)
    return Completed(data=summary)


# --- events ---------------------------------------------------------------------------------------


def item_names(session: Any, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Per work item: its reference name and its plan's and unit's ids and names."""
    from sqlalchemy import select

    from engine.models import Plan, Task, Unit, WorkItem

    wanted = sorted(set(ids))
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(wanted), 900):
        rows = session.execute(
            select(WorkItem.id, WorkItem.occurrence, Task.code, Task.title, Plan.id, Plan.code, Plan.title,
                   Unit.code, Unit.name)
            .join(Task, Task.id == WorkItem.task_id).join(Plan, Plan.id == Task.plan_id)
            .join(Unit, Unit.id == WorkItem.unit_id).where(WorkItem.id.in_(wanted[i:i + 900])))
        for wid, occ, tcode, ttitle, pid, pcode, ptitle, ucode, uname in rows:
            ref = f"{pcode}/{tcode}@{ucode}" + (f"#{occ}" if occ else "")
            out[wid] = {"ref": ref, "task_title": ttitle, "plan_id": pid, "plan_code": pcode, "plan_title": ptitle,
                        "unit_code": ucode, "unit_name": uname}
    return out


def flip_events(changes: list[Any], names: dict[int, dict[str, Any]], today: str) -> list[dict[str, Any]]:
    """The Prefect events (kwargs of ``emit_event``) of timeliness flips."""
    out = []
    for f in changes[:MAX_EVENTS]:
        n = names.get(f.work_item_id, {})
        related = [{"prefect.resource.id": f"steer.plan.{f.plan_id}", "prefect.resource.role": "plan",
                    "prefect.resource.name": n.get("plan_code", str(f.plan_id))}]
        if n.get("unit_code"):
            related.append({"prefect.resource.id": f"steer.unit.{n['unit_code']}", "prefect.resource.role": "unit",
                            "prefect.resource.name": n.get("unit_name") or n["unit_code"]})
        out.append(dict(
            event=f"steer.item.{f.to_status}",
            resource={"prefect.resource.id": f"steer.work-item.{f.work_item_id}",
                      "prefect.resource.name": n.get("ref", f"#{f.work_item_id}")},
            related=related,
            payload={"from": f.from_status, "to": f.to_status, "today": today,
                     "deadline": f.deadline.isoformat() if f.deadline else None,
                     "task": n.get("task_title"), "plan": n.get("plan_code"), "unit": n.get("unit_code")}))
    return out


def emit_flips(changes: list[Any], names: dict[int, dict[str, Any]], today: str) -> int:
    """Emit the flips as Prefect events; returns how many were emitted."""
    from prefect.events import emit_event

    n = 0
    for kw in flip_events(changes, names, today):
        if emit_event(**kw) is not None:
            n += 1
    return n


# --- artifacts ------------------------------------------------------------------------------------


def escalation_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of an escalation run's table artifact: flips per new state, rows queued per
    level, and per recipient the messages sent / waiting for a retry / failed."""
    lg = lang()
    cols = {k: tr(lg, f"flow.col_{k}") for k in ("part", "name", "count", "sent", "pending", "failed")}

    def row(part: str, name: str, count: int | str = "", sent: int | str = "", pending: int | str = "",
            failed: int | str = "") -> dict[str, Any]:
        return {cols["part"]: part, cols["name"]: name, cols["count"]: count, cols["sent"]: sent,
                cols["pending"]: pending, cols["failed"]: failed}

    rows = []
    per_state: Counter[str] = Counter()
    for transition, n in (summary.get("track") or {}).get("by_transition", {}).items():
        per_state[transition.split("→", 1)[-1]] += n
    for state, n in sorted(per_state.items()):
        rows.append(row(tr(lg, "flow.part_flips"), state, n))
    for level, n in (summary.get("detect") or {}).get("by_level", {}).items():
        if n:
            rows.append(row(tr(lg, "flow.part_queued"), level, n))
    per_rcpt: dict[str, Counter[str]] = {}
    for m in (summary.get("dispatch") or {}).get("messages", []):
        per_rcpt.setdefault(m.get("recipient_name") or m["recipient"], Counter())[m["status"]] += 1
    for name, c in sorted(per_rcpt.items()):
        rows.append(row(tr(lg, "flow.part_delivery"), name, sum(c.values()), c.get("sent", 0), c.get("pending", 0),
                        c.get("failed", 0)))
    if not rows:
        rows.append(row(tr(lg, "flow.part_nothing"), "", 0))
    return rows


def publish_table(key: str, rows: list[dict[str, Any]], description: str) -> None:
    from prefect.artifacts import create_table_artifact

    try:
        create_table_artifact(rows, key=key, description=description)
    except Exception as exc:  # noqa: BLE001 - the run's work is done; a missing artifact is logged
        log(f"artifact {key}: {type(exc).__name__}: {exc}", level=logging.WARNING)


def publish_markdown(key: str, markdown: str, description: str) -> None:
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(markdown, key=key, description=description)
    except Exception as exc:  # noqa: BLE001
        log(f"artifact {key}: {type(exc).__name__}: {exc}", level=logging.WARNING)


__all__ = ["DB_ENV", "MAX_EVENTS", "WARN_STATE_NAME", "MissingSetting", "emit_flips", "escalation_table",
           "failed_at_once", "final_state", "flip_events", "item_names", "log", "publish_markdown", "publish_table",
           "run_db_url", "verdict"]

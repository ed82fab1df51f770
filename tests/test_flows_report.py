"""The monthly_report flow end to end under Prefect's test harness: the report is stored as
a snapshot, rendered to xlsx/docx/html, and delivered with its files attached to the chair
and the secretariat through a real local HTTP receiver (Apprise json://)."""

from __future__ import annotations

import base64
import shutil
from datetime import date


from engine import db as dbmod
from engine.db import transaction
from engine.models import Person
from engine.snapshots import list_snapshots
from tests.receivers import HttpReceiver
from tests.test_reporting import build_base




def test_monthly_report_flow_stores_renders_and_delivers(prefect_harness, _sqlite_template, tmp_path):
    from flows.report import MONTHLY_CRON, QUARTERLY_CRON, deployments, monthly_report
    from flows.settings import no_heartbeat

    path = tmp_path / "steer.db"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    eng = dbmod.make_engine(url)
    build_base(eng)
    with HttpReceiver() as hook:
        with transaction(eng) as s:
            s.get(Person, "chair").notify = [hook.url("/chair")]
            s.get(Person, "secretariat").notify = [hook.url("/secretariat")]
        with no_heartbeat():
            result = monthly_report(db_url=url, as_of="2025-05-20", cutoff_day=14, out_dir=str(tmp_path / "out"))
        hits = sorted(hook.accepted, key=lambda h: h.path)

    [report] = result
    with transaction(eng) as s:
        [snap] = list_snapshots(s)
    eng.dispose()
    assert (snap["id"], snap["kind"], snap["period"], snap["as_of"], snap["overdue"]) == (
        report["snapshot_id"], "monthly", "2025-05", "2025-05-20", 1)
    assert [f.rsplit(".", 1)[1] for f in report["files"]] == ["xlsx", "docx", "html"]
    assert all((tmp_path / "out").joinpath(f.rsplit("/", 1)[1]).stat().st_size > 5_000 for f in report["files"])

    by_person = {d["person"]: d["status"] for d in report["deliveries"]}
    assert by_person == {"chair": "SUCCESS", "secretariat": "SUCCESS", "secretariat2": "NO_ADDRESS",
                         "pct_kt": "NO_ADDRESS", "pct_vx": "NO_ADDRESS"}
    assert [h.path for h in hits] == ["/chair", "/secretariat"]
    payload = hits[0].payload
    assert payload["title"] == "Báo cáo tình hình thực hiện KH-TEST tháng 5/2025"
    assert "9 phần việc đến hạn, 6 đã hoàn thành, 1 quá hạn" in payload["message"]
    files = {a["filename"]: base64.b64decode(a["base64"]) for a in payload["attachments"]}
    assert sorted(name.rsplit(".", 1)[1] for name in files) == ["docx", "html", "xlsx"]
    assert all(blob[:2] == b"PK" for name, blob in files.items() if not name.endswith(".html"))

    schedules = {d.name: (d.schedules[0].schedule.cron, d.schedules[0].schedule.timezone) for d in deployments(url)}
    assert schedules == {"monthly-report": (MONTHLY_CRON, "Asia/Ho_Chi_Minh"),
                         "quarterly-report": (QUARTERLY_CRON, "Asia/Ho_Chi_Minh")}
    assert (MONTHLY_CRON, QUARTERLY_CRON) == ("0 8 20 * *", "0 8 20 3,6,9,12 *")
    assert date.fromisoformat(report["as_of"]) == date(2025, 5, 20)


def test_report_delivery_goes_through_the_outbox_once_per_person_with_retries(_sqlite_template, tmp_path):
    """Without Prefect: the report is queued once per person (a second delivery of the same
    report queues nothing), a failing receiver leaves it pending with backoff, the retry
    sends it with the same idempotency key, and nobody gets it twice."""
    from datetime import timedelta

    from sqlalchemy import select

    from engine import clock
    from engine.models import OutboxMessage
    from flows.report import deliver_report, generate, render_files
    from notifications.delivery import dispatch

    path = tmp_path / "steer.db"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    eng = dbmod.make_engine(url)
    build_base(eng)
    with HttpReceiver(status=500) as hook:
        with transaction(eng) as s:
            s.get(Person, "chair").notify = [hook.url("/chair")]
            s.get(Person, "secretariat").notify = [hook.url("/secretariat")]
        [report] = generate("monthly", db_url=url, as_of="2025-05-20", cutoff_day=14)
        files = render_files(report["snapshot_id"], db_url=url, out_dir=tmp_path / "out")
        first = {d["person"]: d["status"] for d in deliver_report(report, files, db_url=url)}
        assert first["chair"] == first["secretariat"] == "PENDING" and first["pct_kt"] == "NO_ADDRESS"
        again = {d["person"]: d["status"] for d in deliver_report(report, files, db_url=url)}  # a retried run
        assert again == first and len(hook.requests) == 2  # nothing queued or sent twice (backoff not over)
        hook.status = 200
        later = dispatch(eng, now=clock.now() + timedelta(hours=1), levels=["report"], respect_quiet_hours=False)
        assert later.by_status == {"sent": 2}
        done = {d["person"]: d["status"] for d in deliver_report(report, files, db_url=url)}
        assert done["chair"] == done["secretariat"] == "SUCCESS"
        assert sorted(h.path for h in hook.accepted) == ["/chair", "/secretariat"]
        keys = [h.headers.get("Idempotency-Key") for h in hook.requests]
        assert len(set(keys)) == 2 and all(k and k.startswith("steer-report-") for k in keys)
        assert all(len(h.payload["attachments"]) == 3 for h in hook.accepted)
    with transaction(eng) as s:
        rows = s.execute(select(OutboxMessage.level, OutboxMessage.status, OutboxMessage.attempts)
                         .where(OutboxMessage.level == "report")).all()
    eng.dispose()
    assert sorted(rows) == [("report", "sent", 2), ("report", "sent", 2)]

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

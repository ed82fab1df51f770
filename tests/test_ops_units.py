"""flows/runtime.py and flows/deploy.py helpers without Prefect (issue 21): where a run's
database URL comes from, the verdict on deliveries, the events' names and related
resources, the artifact's rows, the alert webhook."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from flows import runtime


def test_a_run_takes_its_database_from_the_environment_and_never_a_default(monkeypatch):
    monkeypatch.delenv("STEER_DATABASE_URL", raising=False)
    monkeypatch.setenv("STEER_LANG", "en")
    with pytest.raises(runtime.MissingSetting, match="STEER_DATABASE_URL is not set"):
        runtime.run_db_url(None)
    with pytest.raises(runtime.MissingSetting, match="has a password") as err:
        runtime.run_db_url("postgresql://steer:Hunter2@db/steer")
    assert "Hunter2" not in str(err.value)
    monkeypatch.setenv("STEER_DATABASE_URL", "postgresql://steer:Hunter2@db/steer")
    assert runtime.run_db_url(None) == "postgresql+psycopg://steer:Hunter2@db/steer"
    assert runtime.run_db_url("sqlite:////srv/steer.db") == "sqlite:////srv/steer.db"


def test_the_verdict_fails_when_nothing_was_delivered_and_warns_when_some_was(monkeypatch):
    monkeypatch.setenv("STEER_LANG", "en")
    assert runtime.verdict(None) == ("ok", None)
    assert runtime.verdict({"by_status": {"sent": 3, "obsolete": 1}}) == ("ok", None)
    kind, message = runtime.verdict({"by_status": {"pending": 4, "failed": 1}})
    assert kind == "fail" and message == "No notification was delivered: 1 failed for good, 4 will be retried."
    assert runtime.verdict({"by_status": {"sent": 2, "failed": 1}})[0] == "warn"


def test_flip_events_are_named_after_the_item_with_plan_and_unit_related():
    flip = SimpleNamespace(work_item_id=7, plan_id=3, from_status=None, to_status="overdue", deadline=date(2025, 6, 3))
    names = {7: {"ref": "KH-57/12@SNV", "task_title": "Rà soát", "plan_code": "KH-57", "unit_code": "SNV",
                 "unit_name": "Sở Nội vụ"}}
    [ev] = runtime.flip_events([flip], names, "2025-06-04")
    assert ev["event"] == "steer.item.overdue"
    assert ev["resource"] == {"prefect.resource.id": "steer.work-item.7", "prefect.resource.name": "KH-57/12@SNV"}
    assert ev["related"] == [
        {"prefect.resource.id": "steer.plan.3", "prefect.resource.role": "plan", "prefect.resource.name": "KH-57"},
        {"prefect.resource.id": "steer.unit.SNV", "prefect.resource.role": "unit", "prefect.resource.name": "Sở Nội vụ"}]
    assert ev["payload"]["unit"] == "SNV" and ev["payload"]["deadline"] == "2025-06-03"


def test_the_escalation_table_counts_flips_per_state_rows_per_level_and_deliveries_per_recipient(monkeypatch):
    monkeypatch.setenv("STEER_LANG", "en")
    rows = runtime.escalation_table({
        "track": {"by_transition": {"∅→overdue": 2, "due_soon→overdue": 1, "∅→on_track": 5}},
        "detect": {"by_level": {"overdue": 6, "chair": 0}},
        "dispatch": {"messages": [{"recipient": "unit:SNV", "recipient_name": "Sở Nội vụ", "status": "sent"},
                                  {"recipient": "person:chair", "recipient_name": "Chủ tịch", "status": "pending"}]}})
    got = {(r["Part"], r["Name"]): (r["Count"], r["Sent"], r["Retry pending"], r["Failed"]) for r in rows}
    assert got == {("Timeliness changes", "on_track"): (5, "", "", ""), ("Timeliness changes", "overdue"): (3, "", "", ""),
                   ("Queued per level", "overdue"): (6, "", "", ""),
                   ("Delivery per recipient", "Chủ tịch"): (1, 0, 1, 0), ("Delivery per recipient", "Sở Nội vụ"): (1, 1, 0, 0)}


def test_the_alert_goes_to_a_webhook_of_the_secretariat():
    from flows.deploy import webhook_url

    assert webhook_url("json://127.0.0.1:8080/alerts") == "http://127.0.0.1:8080/alerts"
    assert webhook_url("jsons://hooks.example/x") == "https://hooks.example/x"
    assert webhook_url("https://hooks.example/x") == "https://hooks.example/x"
    assert webhook_url("mailto://user:pw@mail.example") is None

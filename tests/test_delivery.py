"""Delivery through Apprise to real receivers (tests/receivers.py: aiosmtpd SMTP, an HTTP
JSON endpoint): one digest per recipient, Vietnamese content, retries with backoff after
refused connections and HTTP 500s, the same idempotency key on every re-send, permanent
failures reported to the secretariat through its own channel, and no secret ever shown."""

from __future__ import annotations

import json
from email.header import decode_header, make_header
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from engine import escalation as esc
from engine import lifecycle as lc
from engine import outbox
from engine.db import transaction
from engine.models import DeliveryAttempt, OutboxMessage, Person, Unit
from notifications.delivery import AppriseNotifier, dispatch, redact, redact_text, with_key
from notifications.messages import render
from tests.factories import actor, at, item_of, seed
from tests.receivers import HttpReceiver, SmtpReceiver, free_port

TASKS = (
    {"code": "1", "lead": ["SNV"], "deadline": date(2025, 6, 2), "title": "Ban hành quy chế phối hợp"},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 5, 30), "title": "Rà soát thủ tục hành chính"},
    {"code": "3", "lead": ["SNV"], "deadline": date(2025, 6, 5), "title": "Số hóa hồ sơ cán bộ"},
    {"code": "4", "lead": ["SNV"], "deadline": date(2025, 6, 13), "title": "Báo cáo sơ kết"},
)
T = at("2025-06-06 08:00")
SETTINGS = {"escalation": {"base_url": "https://steer.lamson.example"}}


@pytest.fixture(scope="module")
def _smtp_server():  # type: ignore[no-untyped-def]
    with SmtpReceiver() as r:
        yield r


@pytest.fixture
def smtp(_smtp_server):  # type: ignore[no-untyped-def]
    """The module's SMTP receiver, emptied for each test."""
    _smtp_server.messages.clear()
    return _smtp_server


def _wire(engine, units: dict[str, list[str]], people: dict[str, list[str]]) -> None:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        for u in s.execute(select(Unit)).scalars():
            u.notify = units.get(u.code, [])
        for p in s.execute(select(Person)).scalars():
            p.notify = people.get(p.id, [])


def _setup(engine, smtp, http, *, settings=SETTINGS, snv=None) -> None:  # type: ignore[no-untyped-def]
    seed(engine, tasks=TASKS, settings=settings)
    _wire(engine, {"SNV": snv or [smtp.url("snv@lamson.example")]},
          {"secretariat": [http.url("/secretariat")], "secretariat2": [smtp.url("sec2@lamson.example")],
           "chair": [smtp.url("chair@lamson.example")]})
    with transaction(engine) as s:
        lc.add_note(s, item_of(s, "KH-TEST", "1"), actor(s, "snv_focal"), now=at("2025-06-04 15:00"),
                    text="Đã hoàn thành dự thảo, đang lấy ý kiến", percent=70)
        esc.detect(s, now=at("2025-06-03 08:00"))  # items 2 and 1 overdue
    with transaction(engine) as s:
        esc.detect(s, now=T)                        # item 3 overdue, item 4 due in 5 wd


def test_one_digest_per_recipient_worst_first_in_vietnamese_and_a_second_run_sends_nothing(engine, smtp):
    with HttpReceiver() as http:
        _setup(engine, smtp, http)
        r = dispatch(engine, now=T)
        assert r.by_status == {"sent": 3}  # unit SNV, secretariat, secretariat2
        mails = smtp.to("snv@lamson.example")
        assert len(mails) == 1
        m = mails[0]
        assert m.subject == "3 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn — Sở Nội vụ"
        body = m.body
        order = [body.index(f"KH-TEST/{c} —") for c in ("2", "1", "3", "4")]
        assert order == sorted(order), "worst (most days overdue) first"
        assert "Hạn 30/05/2025, quá hạn 5 ngày làm việc · Sở Nội vụ · Chưa bắt đầu" in body
        assert "Rà soát thủ tục hành chính" in body
        assert "Tiến độ gần nhất: «Đã hoàn thành dự thảo, đang lấy ý kiến» (04/06/2025 15:00)" in body  # quoted user text (issue 22)
        assert "Hạn 13/06/2025, còn 5 ngày làm việc" in body
        with transaction(engine) as s:
            first = item_of(s, "KH-TEST", "2").id
            key = s.execute(select(OutboxMessage.batch_key).where(OutboxMessage.recipient == "unit:SNV")).scalars().first()
        # e-mail: an HTML part (each reference links to its item) and the text part made from it
        # (one link to the unit's list in the web app)
        assert f'<a href="https://steer.lamson.example/items/{first}">KH-TEST/2</a>' in m.html
        assert "Xem toàn bộ danh sách: https://steer.lamson.example/items?unit=SNV" in body
        assert "Apprise" not in m.headers["From"] + m.headers.get("X-Application", "")
        assert m.headers["X-Steer-Idempotency-Key"] == key and key in body
        assert [h.path for h in http.requests] == ["/secretariat"]
        hit = http.requests[0]
        assert hit.payload["title"] == "3 nhiệm vụ quá hạn — BCĐ thử nghiệm" and hit.headers["Idempotency-Key"]
        assert len(smtp.to("sec2@lamson.example")) == 1 and smtp.to("chair@lamson.example") == []
        # nothing new: neither a second dispatch nor a second detection
        assert dispatch(engine, now=T).batches == 0
        with transaction(engine) as s:
            assert esc.detect(s, now=T).inserted == 0
        assert dispatch(engine, now=T + timedelta(hours=1)).batches == 0
        assert len(smtp.to("snv@lamson.example")) == 1 and len(http.requests) == 1


def test_refused_then_500_is_retried_with_backoff_and_delivered_once(engine, smtp):
    http = HttpReceiver()  # not started: connection refused
    _setup(engine, smtp, http)
    r = dispatch(engine, now=T)
    assert r.by_status == {"sent": 2, "pending": 1}
    with transaction(engine) as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "person:secretariat")).scalars().first()
        assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at == T + timedelta(seconds=60)
        key = row.batch_key
    http.status = 500
    http.start()
    try:
        assert dispatch(engine, now=T + timedelta(seconds=30)).batches == 0        # not due yet
        assert dispatch(engine, now=T + timedelta(seconds=61)).by_status == {"pending": 1}
        assert dispatch(engine, now=T + timedelta(seconds=61 + 119)).batches == 0  # backoff doubled: 120 s
        http.status = 200
        assert dispatch(engine, now=T + timedelta(seconds=61 + 120)).by_status == {"sent": 1}
        assert dispatch(engine, now=T + timedelta(hours=2)).batches == 0
    finally:
        http.stop()
    assert [h.status for h in http.requests] == [500, 200]
    assert http.by_key == {key: 1}
    assert len(smtp.to("snv@lamson.example")) == 1  # the other recipients got theirs once, at the first try
    with transaction(engine) as s:
        tries = s.execute(select(DeliveryAttempt.attempt, DeliveryAttempt.status, DeliveryAttempt.error)
                          .where(DeliveryAttempt.batch_key == key).order_by(DeliveryAttempt.id)).all()
        # item 3's remind_7 (found 03/06) is no longer true on 06/06 (overdue since 05/06): dropped,
        # the unit hears of item 3 through its overdue row (issue 17: nothing stale is sent)
        assert outbox.counts(s) == {"sent": 10, "obsolete": 1}
    assert [(a, st) for a, st, _ in tries] == [(1, "temporary"), (2, "temporary"), (3, "delivered")]
    assert "Connection error" in tries[0][2] and "500" in tries[1][2]


def test_a_crash_after_the_receiver_accepted_resends_under_the_same_key(engine, smtp):
    with HttpReceiver() as http:
        _setup(engine, smtp, http)
        with transaction(engine) as s:
            batch = next(b for b in outbox.claim(s, now=T, worker="crashing", lease=timedelta(minutes=5))
                         if b.recipient == "person:secretariat")
        with transaction(engine) as s:
            digest = esc.build_digest(s, esc.outbox_rows(s, batch.row_ids), now=T, key=batch.key)
            targets = esc.recipient_targets(s, batch.recipient)
        assert AppriseNotifier().send(targets, render(digest))[0].status == "delivered"
        # ... and the process dies before recording it. Within the lease nothing is re-sent:
        assert "person:secretariat" not in {m.recipient for m in dispatch(engine, now=T + timedelta(minutes=1)).messages}
        r = dispatch(engine, now=T + timedelta(minutes=5, seconds=1))  # lease expired: claimed again
        assert "person:secretariat" in [m.recipient for m in r.messages]
    assert http.by_key == {batch.key: 2}  # a duplicate, recognisable by its key
    with transaction(engine) as s:
        assert {st for st in s.execute(select(OutboxMessage.status)).scalars()} == {"sent", "obsolete"}  # (a stale reminder)


def test_a_permanent_failure_fails_at_once_and_the_secretariat_hears_through_its_own_channel(engine, smtp):
    with HttpReceiver() as http, HttpReceiver(status=404) as gone:
        _setup(engine, smtp, http, snv=[gone.url("/snv")])
        r = dispatch(engine, now=T)
        assert r.by_status == {"failed": 1, "sent": 4}  # SNV failed; secretariat ×2 digests + ×2 notices
        assert len(gone.requests) == 1
        notices = [h for h in http.requests if "không gửi được" in h.payload["title"]]
        assert len(notices) == 1
        assert notices[0].payload["title"] == "1 thông báo không gửi được — BCĐ thử nghiệm"
        text = notices[0].payload["message"]
        assert "Sở Nội vụ (unit:SNV)" in text and f"json://127.0.0.1:{gone.port}/snv" in text and "404" in text
        assert dispatch(engine, now=T + timedelta(hours=1)).batches == 0  # no retry of a permanent failure


def test_english_digest_when_the_committee_language_is_english(engine, smtp):
    with HttpReceiver() as http:
        _setup(engine, smtp, http, settings={"language": "en"})
        dispatch(engine, now=T)
    m = smtp.to("snv@lamson.example")[0]
    assert m.subject == "3 overdue tasks, 1 task due soon — Sở Nội vụ"
    assert "Due 30/05/2025, 5 working day(s) overdue · Sở Nội vụ · Not started" in m.body
    assert "Latest progress: «Đã hoàn thành dự thảo" in m.body


SECRET_URLS = [
    ("mailto://bcd:S3cretPass@mail.lamson.example?smtp=127.0.0.1&to=chair@lamson.example", "S3cretPass"),
    ("json://admin:S3cretPass@127.0.0.1:9/hook?+Authorization=Bearer%20T0kenXYZ", "T0kenXYZ"),
    ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "JHMHI8qBe7bk2ZwO5U711o3dV_js"),
    ("not a url at all S3cretPass", "S3cretPass"),
]


@pytest.mark.parametrize("url, secret", SECRET_URLS)
def test_redaction_hides_passwords_tokens_and_query_strings(url, secret):
    shown = redact(url)
    assert secret not in shown and "S3cretPass" not in shown and "T0kenXYZ" not in shown
    if "://" in url:
        assert secret not in redact_text(f"failed to reach {url} today")


def test_idempotency_key_travels_as_a_header_and_timeouts_are_added():
    assert with_key("json://h:1/p", "k1", 15) == "json://h:1/p?+Idempotency-Key=k1&cto=15&rto=15"
    assert with_key("mailto://u@h?smtp=x", "k1") == "mailto://u@h?smtp=x&+X-Steer-Idempotency-Key=k1"
    assert with_key("json://h/p?rto=3", "", 15) == "json://h/p?rto=3&cto=15"


def test_secrets_in_notify_urls_never_reach_the_database_logs_or_cli_output(engine, db_url, smtp, caplog):
    seed(engine, tasks=TASKS)
    port = free_port()  # nothing listens: connection refused
    secret_hook = f"json://admin:S3cretPass@127.0.0.1:{port}/hook?+Authorization=Bearer%20T0kenXYZ"
    _wire(engine, {"SNV": [secret_hook]}, {"secretariat": [secret_hook], "secretariat2": [secret_hook],
                                           "chair": [secret_hook]})
    with transaction(engine) as s:
        esc.detect(s, now=T)
    dispatch(engine, now=T)
    with transaction(engine) as s:
        stored = [json.dumps([a.target, a.error]) for a in s.execute(select(DeliveryAttempt)).scalars()]
        stored += [str(r.last_error) + json.dumps(r.data) for r in s.execute(select(OutboxMessage)).scalars()]
    assert stored and f"127.0.0.1:{port}/hook" in stored[0]
    from cli.main import app

    outputs = [CliRunner().invoke(app, ["--db", db_url, "escalation", "outbox", *args]).output
               for args in ([], ["--format", "json"], ["--status", "pending"])]
    outputs.append(CliRunner().invoke(app, ["--db", db_url, "escalate", "--as-of", "2025-06-20", "--dry-run"]).output)
    assert "admin:****@127.0.0.1" in outputs[3] or "127.0.0.1" in outputs[3]
    for text in stored + outputs + [caplog.text]:
        assert "S3cretPass" not in text and "T0kenXYZ" not in text


def test_nothing_is_sent_in_quiet_hours_and_it_goes_out_in_the_morning(engine, smtp):
    with HttpReceiver() as http:
        _setup(engine, smtp, http)
        night = at("2025-06-06 21:30")
        r = dispatch(engine, now=night)
        assert r.batches == 0 and r.quiet_until == at("2025-06-09 07:00")  # Friday night → Monday 07:00
        assert smtp.messages == [] and http.requests == []
        assert dispatch(engine, now=at("2025-06-09 07:00")).by_status == {"sent": 3}


def test_cli_dispatch_delivers_and_names_each_message(engine, db_url, smtp):
    from cli.main import app

    with HttpReceiver() as http:
        _setup(engine, smtp, http)
        res = CliRunner().invoke(app, ["--db", db_url, "escalation", "dispatch", "--now", "2025-06-06T08:00:00+07:00"])
    assert res.exit_code == 0, res.output
    assert "→ unit:SNV: 3 nhiệm vụ quá hạn, 1 nhiệm vụ sắp đến hạn — Sở Nội vụ [đã gửi]" in res.output
    assert "Gửi: 3 tin thành công, 0 sẽ thử lại, 0 thất bại." in res.output


def test_building_a_digest_reads_only_the_directory_rows_it_shows(engine):
    """A digest reads the units and people of its own items, never the whole directory:
    10,000 one-item digests on a national directory would otherwise read it 10,000 times."""
    from sqlalchemy import event, insert

    from engine.models import Unit as UnitModel
    from tests.factories import T0

    seed(engine, tasks=TASKS[:1] + ({"code": "5", "lead": ["SNV", "STC"], "deadline": date(2025, 6, 2)},))
    with transaction(engine) as s:  # a big directory beside the plan
        s.execute(insert(UnitModel), [{"code": f"X{i:04d}", "name": f"Xã {i}", "kind": "commune", "aliases": [],
                                       "former_names": [], "members": [], "groups": [], "is_group": False,
                                       "notify": [], "source": "directory", "active": True, "created_at": T0}
                                      for i in range(2000)])
        s.execute(insert(Person), [{"id": f"p{i}", "name": f"Người {i}", "role": "focal_point", "title": None,
                                    "unit_id": None, "oversees": [], "notify": [], "active": True, "created_at": T0}
                                   for i in range(2000)])
        esc.detect(s, now=T)
    seen: list[str] = []

    def _log(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()).lower())

    with transaction(engine) as s:
        rows = list(s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "unit:SNV")).scalars())
        assert rows
        event.listen(engine, "before_cursor_execute", _log)
        try:
            digest = esc.build_digest(s, rows, now=T, ctx=esc.context(s, now=T))
        finally:
            event.remove(engine, "before_cursor_execute", _log)
    assert {i.ref for i in digest.items} == {"KH-TEST/1", "KH-TEST/5@SNV"}
    whole = [q for q in seen if (" from person" in q or " from unit" in q) and " where " not in q]
    assert whole == [], whole


@pytest.mark.parametrize("signed", [False, True], ids=["plain-links", "signed-links"])
def test_a_300_item_chair_digest_is_short_has_both_parts_and_the_committee_sender(engine, smtp, monkeypatch, signed):
    """Issue 17: a plan loaded with 300 items already 11 wd overdue. The chair's e-mail: at
    most 20 items in full (worst first; fewer when signed one-click links would pass the
    size bound), then counts per unit and one link to the list; HTML and text parts; from
    the committee's office, never "Apprise"; ≤ 15 KB on the wire; a second run sends nothing."""
    if signed:
        monkeypatch.setenv("STEER_SECRET_KEY", "k" * 32)
    else:
        monkeypatch.delenv("STEER_SECRET_KEY", raising=False)
    units = ["SKHCN", "SNV", "STC"]
    tasks = [{"code": str(n), "lead": [units[n % 3]], "deadline": date(2025, 5, 30) - timedelta(days=n % 20),
              "title": f"Triển khai nhiệm vụ chuyển đổi số số {n} theo Kế hoạch của Ủy ban nhân dân tỉnh về cải cách hành chính"}
             for n in range(1, 301)]
    sender = "Văn phòng BCĐ tỉnh Lâm Sơn"
    seed(engine, tasks=tasks, settings={"escalation": {"base_url": "https://steer.lamson.example",
                                                       "digest": {"sender": sender}}})
    _wire(engine, {u: [smtp.url(f"{u.lower()}@lamson.example")] for u in units},
          {"chair": [smtp.url("chair@lamson.example")]})
    when = at("2025-06-16 08:00")
    with transaction(engine) as s:
        assert esc.detect(s, now=when).by_level["chair"] == 300
    dispatch(engine, now=when)
    (m,) = smtp.to("chair@lamson.example")
    assert m.subject == "300 nhiệm vụ quá hạn — BCĐ thử nghiệm"
    assert m.size <= 15 * 1024, m.size
    assert m.headers["Content-Type"].startswith("multipart/alternative") and m.html and m.body
    full = m.html.count("<li><a href=")
    assert (18 <= full <= 20) if not signed else (10 <= full <= 20), full  # long titles: a few fewer in full
    assert m.body.count("KH-TEST/") == full and m.body.count("Hạn ") == full
    assert f"Còn {300 - full} nhiệm vụ khác, theo đơn vị chủ trì:" in m.body
    assert "Sở Khoa học và Công nghệ: " in m.body and "nhiệm vụ quá hạn" in m.body
    assert m.body.count("https://steer.lamson.example/overdue") == 1
    assert m.html.count('href="https://steer.lamson.example/' + ("l/open." if signed else "items/")) == full
    frm = str(make_header(decode_header(m.headers["From"])))
    assert frm == f"{sender} <bcd57@lamson.example>" and "Apprise" not in frm + m.headers.get("X-Application", "")
    # worst first: the longest overdue (deadline 11/05, 26 wd) lead the list
    assert m.body.index("quá hạn 26 ngày làm việc") < m.body.index("quá hạn 25 ngày làm việc") < m.body.index("Còn ")
    # each unit got its own items only (a third each)
    (unit_mail,) = smtp.to("snv@lamson.example")
    assert "Còn " in unit_mail.body and "Sở Nội vụ: " in unit_mail.body and "Sở Tài chính" not in unit_mail.body
    assert "https://steer.lamson.example/items?unit=SNV" in unit_mail.body
    n = len(smtp.messages)
    assert dispatch(engine, now=when + timedelta(hours=1)).batches == 0
    with transaction(engine) as s:
        assert esc.detect(s, now=when + timedelta(hours=1)).inserted == 0
    assert dispatch(engine, now=when + timedelta(hours=1)).batches == 0
    assert len(smtp.messages) == n

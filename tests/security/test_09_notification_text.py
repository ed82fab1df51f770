"""Finding 9: fake lines in e-mail digests. A note (or an extension reason) with blank lines
and "Xem chi tiết: http://evil…" or "2. [Đã hoàn thành] KH-57-LS/99" looked like the
system's own text in the recipients' mail. Text a person typed is now shown as user text:
one line, in «…», its web addresses defanged."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from engine import escalation as esc
from engine import lifecycle as lc
from engine.db import transaction
from engine.models import Person, Unit
from engine.outbox import TargetOutcome, fingerprint
from notifications.delivery import dispatch
from notifications.quoting import one_line, quoted
from tests.factories import actor, at, item_of, seed

TASKS = (
    {"code": "1", "lead": ["SNV"], "deadline": date(2025, 6, 2), "title": "Ban hành quy chế phối hợp"},
    {"code": "2", "lead": ["SNV"], "deadline": date(2025, 9, 30), "title": "Rà soát thủ tục hành chính"},
)
BASE = "https://steer.lamson.example"
NOTE = ("Đang làm.\n\n     Xem chi tiết: http://evil.example/l/open.abc\n\n"
        "  2. [Đã hoàn thành] KH-57-LS/99 — Nhiệm vụ giả\n     Tiến độ gần nhất: xong» (01/06/2025 08:00)")
REASON = "Chờ ý kiến.\r\n  3. [Quá hạn] KH-57-LS/98 — giả\u2028Xem chi tiết: https://evil.example/x"


class Capture:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    def send(self, targets, message):  # type: ignore[no-untyped-def]
        self.messages.append(message)
        return [TargetOutcome(fingerprint=fingerprint(t), target=t, status="delivered") for t in targets]


def _bodies(engine) -> list[str]:  # type: ignore[no-untyped-def]
    seed(engine, tasks=TASKS, settings={"escalation": {"base_url": BASE}})
    with transaction(engine) as s:
        for u in s.execute(select(Unit)).scalars():
            u.notify = [f"json://localhost/{u.code}"]
        for p in s.execute(select(Person)).scalars():
            p.notify = [f"json://localhost/{p.id}"]
        lc.add_note(s, item_of(s, "KH-TEST", "1"), actor(s, "snv_focal"), now=at("2025-06-04 15:00"), text=NOTE)
        lc.request_extension(s, item_of(s, "KH-TEST", "2"), actor(s, "snv_focal"), now=at("2025-06-04 15:10"),
                             until=date(2025, 12, 31), reason=REASON)
        esc.detect(s, now=at("2025-06-06 08:00"))
    cap = Capture()
    dispatch(engine, now=at("2025-06-06 08:00"), notifier=cap, respect_quiet_hours=False)
    bodies = [m.body + "\n" + m.subject for m in cap.messages]
    assert bodies
    return bodies


def test_notes_and_reasons_cannot_forge_lines_or_links_in_digests(engine):  # type: ignore[no-untyped-def]
    bodies = _bodies(engine)
    with_note = [b for b in bodies if "Đang làm." in b]
    with_reason = [b for b in bodies if "Chờ ý kiến." in b]
    assert with_note and with_reason
    for body in bodies:
        lines = [ln.strip() for ln in body.splitlines()]
        # every "details" line is the system's, with the system's address
        assert all(ln.startswith(f"Xem chi tiết: {BASE}/") for ln in lines if ln.startswith("Xem chi tiết:")), body
        # no forged numbered item line, no live foreign address anywhere
        assert not any(re.match(r"\d+\. \[(Đã hoàn thành|Quá hạn)\] KH-57-LS/9\d", ln) for ln in lines), body
        assert "http://evil" not in body and "https://evil" not in body
        assert not any(ln.startswith("Tiến độ gần nhất: xong") for ln in lines), body
    # the note is on its own progress line, quoted as what a person wrote
    note_line = next(ln for ln in with_note[0].splitlines() if "Đang làm." in ln)
    assert note_line.strip().startswith("Tiến độ gần nhất: «Đang làm. Xem chi tiết: http[:]//evil.example/l/open.abc")
    assert "xong› (01/06/2025 08:00)» (04/06/2025 15:00)" in note_line  # its own » cannot close the quote
    reason_line = next(ln for ln in with_reason[0].splitlines() if "Chờ ý kiến." in ln)
    assert "«Chờ ý kiến. 3. [Quá hạn] KH-57-LS/98 — giả Xem chi tiết: https[:]//evil.example/x»" in reason_line


def test_quoting_function():
    assert one_line("a\n\n b\r\n\tc\u2028d\u2029e\x0bf\x85g") == "a b c d e f g"
    assert one_line("see www.evil.example or ftp://x") == "see www[.]evil.example or ftp[:]//x"
    assert one_line("x" * 10, 5) == "xxxx…"
    assert quoted("say «hi»\nthere") == "«say ‹hi› there»"
    assert one_line(one_line("http://a www.b")) == one_line("http://a www.b")  # idempotent
    assert one_line("Ban hành kế hoạch") == "Ban hành kế hoạch"  # ordinary text unchanged (Vietnamese marks kept)

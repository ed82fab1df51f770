"""Issue 22, finding 2: the Markdown report carries no raw HTML from user text.

A task title ``<script>…</script>`` and a progress note with an ``<img onerror>`` go through
the real report; the Markdown has them as entities (shown as the same text by any
Markdown renderer), never as tags.
"""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import select, update

from engine import db as dbmod
from engine.db import transaction
from engine.models import Plan, Task
from engine.render import render
from engine.reporting import build_report
from engine.safetext import md_text
from tests.test_reporting import MAY, PLAN, act, build_base

SCRIPT = "<script>alert(document.cookie)</script>"
IMG = 'Đã xong <img src=x onerror="alert(1)"> & gửi báo cáo'


@pytest.fixture(scope="module")
def markdown(_sqlite_template, tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("mdhtml") / "steer.db"
    shutil.copy(_sqlite_template, path)
    eng = dbmod.make_engine(f"sqlite:///{path}")
    build_base(eng)
    act(eng, "2025-05-07 08:00", "skhcn_focal", "add_note", "7", text=IMG, percent=40)
    with transaction(eng) as s:
        plan_id = s.scalar(select(Plan.id).where(Plan.code == PLAN))
        s.execute(update(Task).where(Task.plan_id == plan_id, Task.code == "1").values(title=SCRIPT))
    with transaction(eng) as s:
        data = build_report(s, plan_code=PLAN, kind="monthly", period="2025-05", as_of=MAY, cutoff_day=14, lang="vi")
    eng.dispose()
    return render(data, "md").decode()


def test_markdown_report_escapes_html_from_titles_and_notes(markdown):
    assert not re.search(r"<\s*(script|img)\b", markdown, re.I)
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in markdown
    assert 'Đã xong &lt;img src=x onerror="alert(1)"&gt; &amp; gửi báo cáo' in markdown
    assert "<" not in markdown  # the report itself writes no HTML either


def test_md_text_escapes_exactly_the_html_characters():
    assert md_text("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert md_text("Sở Khoa học và Công nghệ | 30/6") == "Sở Khoa học và Công nghệ | 30/6"

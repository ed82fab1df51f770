"""Evidence files attached from the CLI (``steer task submit --evidence-file``) and the JSON
API (``POST /api/v1/items/{ref}/submit/file``) are stored as the web's own uploads are (the
upload folder, a random name, the ``evidence_file`` row, named in the event) and show on the
item page with their download link."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app as cli_app
from engine.db import make_engine, transaction
from engine.models import Event, EvidenceFile, WorkItem
from tests.web_helpers import fresh_item, login, running_world


@pytest.fixture
def world(db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    with running_world(db_url, tmp_path, monkeypatch) as w:
        monkeypatch.setenv("STEER_UPLOAD_DIR", str(w.upload_dir))  # where `steer web` keeps them
        yield w


def _stored(url: str, iid: int) -> tuple[WorkItem, list[EvidenceFile], str | None]:
    eng = make_engine(url)
    try:
        with transaction(eng) as s:
            item = s.get(WorkItem, iid)
            files = s.execute(select(EvidenceFile).where(EvidenceFile.work_item_id == iid)).scalars().all()
            ev = s.execute(select(Event.evidence).where(Event.work_item_id == iid, Event.kind == "status")
                           .order_by(Event.id.desc()).limit(1)).scalar_one_or_none()
            s.expunge_all()
            return item, list(files), ev
    finally:
        eng.dispose()


def _shown_on_the_item_page(world, iid: int, f: EvidenceFile, content: bytes) -> None:  # type: ignore[no-untyped-def]
    client, _ = login(world.app, "skhcn_focal")
    page = client.get(f"/items/{iid}").text
    links = re.findall(r'<a href="(/items/\d+/evidence/\d+)" data-testid="evidence-file-link"[^>]*>([^<]*)</a>', page)
    # the file is linked in the files card and again at its event in the history: one file, by name
    assert links and set(links) == {(f"/items/{iid}/evidence/{f.id}", f.original_name)}
    d = client.get(links[0][0])
    assert d.status_code == 200 and d.content == content


def test_the_cli_attaches_an_evidence_file_the_web_shows(world, tmp_path):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    content = b"%PDF-1.4 Quyet dinh 77"
    path = tmp_path / "QĐ 77.pdf"
    path.write_bytes(content)
    r = CliRunner().invoke(cli_app, ["--db", world.url, "task", "submit", f"#{iid}", "--as", "skhcn_focal",
                                     "--evidence", "Quyết định số 77/QĐ-UBND", "--evidence-file", str(path)])
    assert r.exit_code == 0, r.output
    assert "→" in r.output
    item, files, ev = _stored(world.url, iid)
    assert item.status == "submitted" and len(files) == 1
    f = files[0]
    assert f.original_name == "QĐ 77.pdf" and f.size == len(content) and f.uploaded_by == "skhcn_focal"
    assert f.sha256 == hashlib.sha256(content).hexdigest()
    assert (world.upload_dir / "evidence" / f.stored_name).read_bytes() == content
    assert ev is not None and "Quyết định số 77/QĐ-UBND" in ev and f.sha256 in ev and f.stored_name in ev
    _shown_on_the_item_page(world, iid, f, content)


def test_a_refused_cli_submission_keeps_no_file(world, tmp_path):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "submitted")
    path = tmp_path / "late.pdf"
    path.write_bytes(b"%PDF-1.4 x")
    r = CliRunner().invoke(cli_app, ["--db", world.url, "task", "submit", f"#{iid}", "--as", "skhcn_focal",
                                     "--evidence-file", str(path)])
    assert r.exit_code == 1
    assert _stored(world.url, iid)[1] == []
    ev_dir = world.upload_dir / "evidence"
    assert not ev_dir.exists() or list(ev_dir.iterdir()) == []


def test_the_api_attaches_an_evidence_file_the_web_shows(world):  # type: ignore[no-untyped-def]
    iid = fresh_item(world.url, "in_progress")
    content = b"%PDF-1.4 Bao cao 5"
    client = TestClient(world.app)
    r = client.post(f"/api/v1/items/{iid}/submit/file", data={"note": "kèm báo cáo"},
                    files={"file": ("bao-cao-5.pdf", content, "application/pdf")},
                    headers={"Authorization": f"Bearer {world.tokens['skhcn_focal']}"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    item, files, ev = _stored(world.url, iid)
    assert len(files) == 1
    f = files[0]
    assert f.original_name == "bao-cao-5.pdf" and f.content_type == "application/pdf" and f.size == len(content)
    assert ev is not None and f.sha256 in ev and "bao-cao-5.pdf" in ev
    assert (world.upload_dir / "evidence" / f.stored_name).read_bytes() == content
    _shown_on_the_item_page(world, iid, f, content)

"""Benchmark: load the NQ03 annex from its PDF (issue 23), next to the floor.

The PDF is made here as a secretariat gets it: the annex (../shared/real-plans, 140 tasks in
7 sections) written as a Word table (tests/realdata.py) and printed to PDF by LibreOffice
headless (about 60 pages of narrow columns).

Floor: pdfplumber alone extracting the words of every page of the same PDF (``extract_words``
on each page: pdfminer's layout analysis, which no reader of the text can skip). Ours:

* read: ``read_plan_bytes`` of the PDF (tables found, words into cells, running header and
  page numbers dropped, cells rebuilt, the table followed across pages, rows to a PlanSpec);
* load: read + validate ("6 rõ", units, deadlines) + the transactional write into a fresh
  SQLite database: what ``steer plan load FILE.pdf`` does.

Each side runs ``--rounds`` times alternately in the same process; the medians are compared.
Goal: load ≤ 3× the floor.

    uv run python bench/load_pdf.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QuietTimer, fresh_db, machine  # noqa: E402
from engine import db as dbmod  # noqa: E402
from engine.planfile.loader import load_plan_spec  # noqa: E402
from engine.planfile.readers import read_plan_bytes  # noqa: E402
from tests.realdata import ANNEX2, write_annex_docx  # noqa: E402

NOW = datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)


def make_pdf(workdir: Path) -> Path:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        raise SystemExit("LibreOffice (soffice) is needed to print the annex to PDF: apt-get install libreoffice-writer-nogui")
    docx = write_annex_docx(workdir / "nq03-phu-luc-2.docx", ANNEX2)
    profile = workdir / "soffice-profile"
    subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(workdir), str(docx)], check=True, capture_output=True, timeout=300)
    return workdir / "nq03-phu-luc-2.pdf"


def floor_words(data: bytes) -> int:
    import pdfplumber

    n = 0
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            n += len(page.extract_words())
            page.flush_cache()
    return n


def run(rounds: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pdf = make_pdf(work)
        data = pdf.read_bytes()
        floor_s, read_s, load_s = [], [], []
        tasks = sections = pages = words = 0
        for i in range(rounds):
            with QuietTimer() as t:
                words = floor_words(data)
            floor_s.append(t.seconds)
            with QuietTimer() as t:
                spec = read_plan_bytes(data, pdf.name)
            read_s.append(t.seconds)
            tasks, sections = len(spec.tasks), len(spec.sections)
            with fresh_db("sqlite", work) as url:
                eng = dbmod.make_engine(url)
                with QuietTimer() as t:
                    r = load_plan_spec(eng, read_plan_bytes(data, pdf.name), now=NOW, code=f"NQ03-PDF-{i}")
                load_s.append(t.seconds)
                eng.dispose()
                assert (r.tasks, r.sections) == (140, 7), (r.tasks, r.sections)
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as doc:
            pages = len(doc.pages)
    floor, read, load = (statistics.median(x) for x in (floor_s, read_s, load_s))
    return {"pages": pages, "words": words, "tasks": tasks, "sections": sections, "floor_s": floor,
            "read_s": read, "load_s": load, "read_ratio": read / floor, "load_ratio": load / floor,
            "rounds": rounds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    print(machine())
    r = run(a.rounds)
    print(f"NQ03 annex PDF: {r['pages']} pages, {r['words']:,} words -> {r['tasks']} tasks, {r['sections']} sections "
          f"(median of {r['rounds']} rounds)")
    print(f"floor  pdfplumber extract_words, every page  {r['floor_s']:.3f} s")
    print(f"read   PDF -> PlanSpec                        {r['read_s']:.3f} s  {r['read_ratio']:.2f}x")
    print(f"load   read + validate + write (SQLite)       {r['load_s']:.3f} s  {r['load_ratio']:.2f}x  "
          f"goal <= 3x: {'met' if r['load_ratio'] <= 3 else 'MISSED'}")


if __name__ == "__main__":
    main()

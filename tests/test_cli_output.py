"""What a person reads in the terminal: `task list`, `directory show`, `escalate` and `steer demo`.

Dates are dd/mm/yyyy, statuses are words of the chosen language, an extended deadline shows the
deadline in force with the original beside it, long texts wrap or end with "…" on a word
boundary, and the demo's summary is words (no raw dict), its next steps runnable as printed.
The demo database itself: a province after 1/7/2025 (no district units), a heat map with all
three colours, the web's clock pinned at the story's date.
"""

from __future__ import annotations

import re
import shlex
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from engine import db as dbmod
from engine.db import transaction

PLANS = Path(__file__).resolve().parent.parent / "plans"
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
RAW_STATUS = re.compile(r"\b(not_started|in_progress|submitted|completed|blocked|cancelled|unassigned)\b")


def steer(*args: str, width: int = 160):
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": str(width)}, terminal_width=width)


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> str:
    """The sample directory, plan and history (the demo's first four steps), SQLite."""
    from engine.directory_store import parse_directory_file, store_directory
    from engine.history import replay_history
    from engine.planfile.loader import load_plan_file
    from engine.clock import local_datetime

    url = f"sqlite:///{tmp_path_factory.mktemp('story') / 'steer.db'}"
    eng = dbmod.make_engine(url)
    dbmod.ensure_schema(eng)
    load = local_datetime(date(2025, 3, 16))
    with transaction(eng) as s:
        store_directory(s, parse_directory_file(PLANS / "sample-directory.yaml"), now=load)
    load_plan_file(eng, PLANS / "sample-plan.yaml", now=load)
    replay_history(eng, PLANS / "sample-history.yaml")
    eng.dispose()
    return url


def test_task_list_speaks_vietnamese_dates_and_shows_the_extended_deadline_in_force(story):
    r = steer("--db", story, "task", "list", "--plan", "KH-57-LS")
    assert r.exit_code == 0, r.output
    out = r.output
    assert not ISO_DAY.search(out), ISO_DAY.search(out)
    assert not RAW_STATUS.search(out), RAW_STATUS.search(out)
    assert "Đang thực hiện" in out and "Đã hoàn thành" in out and "Chưa bắt đầu" in out
    # task 36: extension granted until 30/09 (the plan said 30/06)
    row36 = next(line for line in out.splitlines() if "│ 36 │" in line)
    assert "30/09/2025 (gốc 30/06/2025)" in row36
    assert "30/04/2025" in out  # task 2's plain deadline
    assert out.rstrip().endswith("80 nhiệm vụ")


def test_task_list_in_english_uses_english_labels(story):
    r = steer("--db", story, "--lang", "en", "task", "list", "--plan", "KH-57-LS")
    assert r.exit_code == 0, r.output
    assert "In progress" in r.output and "Completed" in r.output and "(originally 30/06/2025)" in r.output
    assert not ISO_DAY.search(r.output) and not RAW_STATUS.search(r.output)
    assert "Trạng thái" not in r.output and "Status" in r.output


def test_long_cells_wrap_or_end_with_an_ellipsis_on_a_word_boundary(story):
    from cli.tasks import _clip

    assert _clip("Sở Tư pháp, Sở Tài chính", 3).plain == "Sở Tư pháp, …"
    assert _clip("Sở Tư pháp", 3).plain == "Sở Tư pháp"
    r = steer("--db", story, "task", "list", "--plan", "KH-57-LS", width=100)
    rows = [line.split("│")[1:-1] for line in r.output.splitlines() if line.startswith("│")]
    leads = " ".join(row[3].strip() for row in rows)
    # unit lists: whole names, then "và N đơn vị khác" (task 1 has 21 lead units)
    assert "Văn phòng Ủy ban nhân dân tỉnh, Sở Nội vụ, Sở Tư pháp và 18 đơn vị khác" in re.sub(r"\s+", " ", leads)
    # nothing is cut inside a word ("Sở Tư p"): every word in the table is a word of the plan or
    # directory files, a date, or a word of the table's own labels
    def tokens(text: str) -> set[str]:
        return {w.strip(",.;:()\"'") for w in text.split()} - {""}

    known = tokens((PLANS / "sample-plan.yaml").read_text(encoding="utf-8")) | tokens(
        (PLANS / "sample-directory.yaml").read_text(encoding="utf-8")) | tokens(
        "KH-57-LS … và đơn vị khác gốc Chưa bắt đầu Đang thực hiện Đã hoàn thành Đang vướng mắc Chưa giao")
    cut = sorted(w for row in rows for c in row for w in tokens(c)
                 if w not in known and not re.fullmatch(r"\d{2}/\d{2}/\d{4}|\d+", w))
    assert cut == [], cut


def test_directory_show_has_translated_headers_kinds_and_roles(story):
    r = steer("--db", story, "directory", "show")
    assert r.exit_code == 0, r.output
    heads = [line for line in r.output.splitlines() if line.startswith("┃")]
    assert any("Mã" in h and "Tên" in h and "Loại" in h and "Nguồn" in h for h in heads), heads
    assert any("Vai trò" in h and "Đơn vị" in h and "Phụ trách" in h for h in heads), heads
    assert not any(re.search(r"\b(code|name|kind|source|role|oversees)\b", h) for h in heads), heads
    assert "xã, phường" in r.output and "Trưởng ban" in r.output and "department" not in r.output
    en = steer("--db", story, "--lang", "en", "directory", "show")
    assert any("Code" in line and "Name" in line for line in en.output.splitlines() if line.startswith("┃"))


def test_escalate_prints_the_day_as_dd_mm_yyyy(story, tmp_path):
    import shutil

    db = tmp_path / "copy.db"
    shutil.copy(story.removeprefix("sqlite:///"), db)
    r = steer("--db", f"sqlite:///{db}", "escalate", "--as-of", "2025-08-04", "--direct", "--no-dispatch")
    assert r.exit_code == 0, r.output
    assert "Ngày 04/08/2025" in r.output and not ISO_DAY.search(r.output), r.output


def test_demo_summary_is_in_words_and_its_next_steps_run_as_printed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STEER_NOW", raising=False)
    monkeypatch.setenv("STEER_RUN_PY", str(Path(__file__).resolve().parent.parent / "run.py"))  # as run.py sets it
    out_dir = tmp_path / "demo"
    r = steer("demo", "--out", str(out_dir), width=120)
    assert r.exit_code == 0, r.output
    text = r.output
    assert "{'" not in text and "': " not in text, text  # no raw dict
    assert "1 nhiệm vụ chưa rõ sản phẩm, 2 nhiệm vụ chưa có lãnh đạo phụ trách" in text
    assert "báo cáo hoàn thành" in text and "approve_extension" not in text
    summary = text.split("Thử tiếp:")[0]  # the commands below take option values such as in_progress
    assert not RAW_STATUS.search(summary), RAW_STATUS.search(summary)
    steps = [line.strip() for line in text.splitlines() if " --db sqlite:///" in line]
    assert len(steps) == 4, text
    steps[0] = steps[0].split(": ")[-1]  # "5. … Gửi bằng: <command>"
    assert steps[0].endswith(" escalation dispatch"), steps
    for line in steps:
        argv = shlex.split(line)
        # started through run.py: `python3 <path>/run.py steer …` (what `python3 run.py demo` users can run)
        assert argv[0] == "python3" and Path(argv[1]).name == "run.py" and Path(argv[1]).is_file(), line
        assert argv[2] == "steer", line
        argv = argv[2:]
        if argv[-1] in ("web", "dispatch"):  # a server / a delivery to the sample's placeholder addresses
            argv.append("--help")
        ran = steer(*argv[1:])
        assert ran.exit_code == 0, (line, ran.output)

    # the demo database: no districts, the web's clock pinned, a heat map with all three colours
    from engine.models import Committee, Unit
    from web.heatmap import heatmap

    eng = dbmod.make_engine(f"sqlite:///{out_dir / 'steer.db'}")
    with transaction(eng) as s:
        kinds = set(s.execute(select(Unit.kind).where(Unit.source == "directory")).scalars())
        assert "district" not in kinds and "commune" in kinds
        pinned = s.execute(select(Committee.settings)).scalar_one()["demo_now"]
        now = datetime.fromisoformat(pinned)
        assert now.astimezone(timezone.utc) == datetime(2025, 8, 1, 2, 0, tzinfo=timezone.utc)  # 09:00 in Hà Nội
        hm = heatmap(s, now=now, plan_code="KH-57-LS")
    eng.dispose()
    colours = [u["status"] for u in hm["units"]]
    assert {"green", "yellow", "red"} <= set(colours)
    assert colours.count("green") > len(colours) / 2 and 1 <= colours.count("red") <= 2
    assert all(u["reason"] for u in hm["units"])


def test_steer_web_pins_the_clock_of_the_demo_database_unless_steer_now_is_set(tmp_path):
    from cli.web import _demo_clock, pin_demo_clock
    from engine.models import Committee

    url = f"sqlite:///{tmp_path / 'x.db'}"
    eng = dbmod.make_engine(url)
    dbmod.ensure_schema(eng)
    assert _demo_clock(url) is None  # no committee yet
    with transaction(eng) as s:
        s.add(Committee(name="BCĐ", timezone="Asia/Ho_Chi_Minh", settings={"demo_now": "2025-08-01T02:00:00+00:00"},
                        updated_at=datetime(2025, 3, 16, tzinfo=timezone.utc)))
    eng.dispose()
    env: dict[str, str] = {}
    assert pin_demo_clock(url, env) == "2025-08-01T02:00:00+00:00" and env == {"STEER_NOW": "2025-08-01T02:00:00+00:00"}
    env = {"STEER_NOW": "2026-01-05T08:00:00+07:00"}
    assert pin_demo_clock(url, env) is None and env == {"STEER_NOW": "2026-01-05T08:00:00+07:00"}


def test_run_py_tells_the_demo_how_it_was_started(monkeypatch):
    from cli.demo_run import _steer_command

    monkeypatch.setenv("STEER_RUN_PY", "run.py")
    assert _steer_command() == "python3 run.py steer"
    monkeypatch.setenv("STEER_RUN_PY", "/home/a b/steer/run.py")
    assert _steer_command() == "python3 '/home/a b/steer/run.py' steer"
    monkeypatch.delenv("STEER_RUN_PY")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert shlex.split(_steer_command())[1].endswith("run.py")
    run_py = (Path(__file__).resolve().parent.parent / "run.py").read_text(encoding="utf-8")
    assert 'env["STEER_RUN_PY"] = sys.argv[0]' in run_py

"""Shared kit for the bad-input fuzz tests (tests/test_fuzz_*.py).

What lives here:

* ``fuzz_settings``: hypothesis settings that keep CI bounded and reproducible
  (``derandomize=True``, no example database); ``STEER_FUZZ_EXAMPLES=2000`` turns every
  fuzz test into a long random search for a local run.
* A template SQLite database with the sample directory, the 80-task sample plan and the
  sample indicators already loaded, copied fresh for every example, so a partial write
  would show up as a changed ``db_fingerprint``.
* ``invoke``: the real Typer app in-process, with a per-call time limit, and
  ``assert_no_crash`` / ``assert_clean_failure``, the properties every test checks.
* ``check_load`` (the loader property: a failure is one message naming the file and
  writes nothing, a success reloads without a write) and ``assert_one_clear_error``.
* Generators built from the real sample files: a table model of the sample plan (and of
  the sample indicators) with cell/row/header mutations, renderers to .xlsx (merged
  cells, extra sheets, stray far cells, typed cells), .docx (merged cells, split and
  nested tables), .csv (delimiters, encodings, BOMs) and .md; YAML documents mutated as
  trees (wrong types, unknown keys, deep nesting) and as text (tabs, truncation, alias
  bombs, invalid UTF-8, UTF-16); byte-level damage of Office zips.
"""

from __future__ import annotations

import atexit
import copy
import csv
import datetime as dt
import hashlib
import io
import os
import shutil
import signal
import tempfile
import traceback
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"
PLAN_CODE = "KH-57-LS"
LOAD_NOW = "2025-04-01"

# --------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------

DEEP = int(os.environ.get("STEER_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(ci_examples: int, deep_share: float = 1.0) -> settings:
    """CI: ``ci_examples`` derandomized examples. STEER_FUZZ_EXAMPLES=N: N random ones.

    ``deep_share`` scales the deep count for tests run once per command. STEER_FUZZ_NO_SHRINK=1
    reports failures unshrunk (shrinking a CLI run can take minutes).
    """
    phases = None
    if os.environ.get("STEER_FUZZ_NO_SHRINK"):
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
              HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much]
    if DEEP:
        return settings(max_examples=max(ci_examples, int(DEEP * deep_share)), deadline=None, derandomize=False, database=None,
                        suppress_health_check=checks, print_blob=True, **({"phases": phases} if phases else {}))
    return settings(max_examples=ci_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=checks, **({"phases": phases} if phases else {}))


# --------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------

_TEMPLATE: dict[str, Path] = {}


def _runner():  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    return CliRunner()


def template_db() -> Path:
    """A migrated SQLite file with the sample directory, plan and indicators loaded (once per process)."""
    if "path" in _TEMPLATE:
        return _TEMPLATE["path"]
    from engine import db as dbmod

    root = Path(tempfile.mkdtemp(prefix="steer-fuzz-tpl-"))
    atexit.register(shutil.rmtree, root, True)
    path = root / "template.db"
    url = f"sqlite:///{path}"
    eng = dbmod.make_engine(url)
    dbmod.upgrade(eng)
    eng.dispose()
    for args in (["directory", "load", str(PLANS / "sample-directory.yaml"), "--now", LOAD_NOW],
                 ["plan", "load", str(PLANS / "sample-plan.yaml"), "--now", LOAD_NOW],
                 ["kpi", "load", str(PLANS / "sample-indicators.yaml"), "--now", LOAD_NOW],
                 ["task", "start", f"{PLAN_CODE}/2", "--as", "skhcn_focal", "--now", "2025-04-02"]):
        r = invoke(["--db", url, *args])
        assert r.exit_code == 0, (args, r.output)
    counts = {k: v[0] for k, v in db_fingerprint(url).items()}
    assert counts["plan"] == 1 and counts["person"] > 0 and counts["indicator"] == 12, counts
    _TEMPLATE["path"] = path
    return path


@contextmanager
def fresh_db() -> Iterator[tuple[str, Path]]:
    """(url, work folder): a private copy of the template database and a scratch folder."""
    tpl = template_db()
    work = Path(tempfile.mkdtemp(prefix="steer-fuzz-"))
    try:
        _copy_sqlite(tpl, work / "steer.db")
        yield f"sqlite:///{work / 'steer.db'}", work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy_sqlite(src: Path, dst: Path) -> None:
    """Copy a SQLite database through the backup API (it includes what is still in the WAL)."""
    import sqlite3

    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def db_fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a digest of the contents of every table: any write shows."""
    from engine import db as dbmod
    from engine.models import Base

    eng = dbmod.make_engine(url)
    out: dict[str, tuple[int, str]] = {}
    try:
        with eng.connect() as c:
            for table in Base.metadata.sorted_tables:
                rows = c.execute(select(table).order_by(*table.primary_key.columns)).all()
                digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]
                out[table.name] = (len(rows), digest)
            for name in ("chain_head",):  # not always mapped; part of the audit chain
                try:
                    rows = c.execute(text(f"SELECT * FROM {name}")).all()
                    out[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
                except Exception:
                    pass
    finally:
        eng.dispose()
    return out


def pg_incompatible(url: str) -> list[str]:
    """What PostgreSQL would have refused but SQLite stored: a text longer than its column,
    a NUL character in a text, NaN/Infinity inside a JSON value.

    Checked after every successful load, so the SQLite fuzz runs catch what would be a
    crash in the middle of a load on PostgreSQL.
    """
    import json as _json

    from sqlalchemy import JSON, String, Text, func

    from engine import db as dbmod
    from engine.models import Base

    def _no_constants(c: str) -> Any:
        raise ValueError(c)

    eng = dbmod.make_engine(url)
    out: list[str] = []
    try:
        with eng.connect() as c:
            for table in Base.metadata.sorted_tables:
                for col in table.columns:
                    if isinstance(col.type, String) and col.type.length:
                        n = c.execute(select(func.max(func.length(col))).select_from(table)).scalar()
                        if n and n > col.type.length:
                            out.append(f"{table.name}.{col.name}: {n} characters > {col.type.length}")
                    if isinstance(col.type, (String, Text)):
                        n = c.execute(select(func.count()).select_from(table)
                                      .where(func.instr(col, "\x00") > 0)).scalar()
                        if n:
                            out.append(f"{table.name}.{col.name}: {n} values with a NUL character")
                    if isinstance(col.type, JSON):
                        for (raw,) in c.execute(text(f'SELECT "{col.name}" FROM "{table.name}"')):
                            if raw is None:
                                continue
                            try:
                                _json.loads(raw, parse_constant=_no_constants)
                            except ValueError as exc:
                                out.append(f"{table.name}.{col.name}: JSON with {exc}")
                                break
    finally:
        eng.dispose()
    return out


def changed_tables(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [f"{k}: {before.get(k)} -> {after.get(k)}" for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


# --------------------------------------------------------------------------------------
# Running the CLI
# --------------------------------------------------------------------------------------

CALL_TIMEOUT = int(os.environ.get("STEER_FUZZ_CALL_TIMEOUT", "60"))
TRACEBACK = "Traceback (most recent call last)"


class FuzzTimeout(BaseException):
    """A CLI call ran longer than CALL_TIMEOUT seconds (a hang is a bug too)."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def _alarm(signum, frame):  # type: ignore[no-untyped-def]
        raise FuzzTimeout(f"call took longer than {seconds}s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def invoke(args: Sequence[str], *, env: dict[str, str] | None = None, timeout: int = CALL_TIMEOUT):  # type: ignore[no-untyped-def]
    from cli.main import app

    # Each call builds its own engine; the CLI disposes of it when the call ends (cli.common.State.close).
    with time_limit(timeout):
        return _runner().invoke(app, list(args), env=env, catch_exceptions=True)


def note_event(label: str) -> None:
    """hypothesis.event() inside a @given test; nothing in a plain test."""
    from hypothesis import event
    from hypothesis.control import currently_in_test_context

    if currently_in_test_context():
        event(label)


def describe(result, args: Sequence[str]) -> str:  # type: ignore[no-untyped-def]
    tb = ""
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(*result.exc_info))
    shown = [a if len(a) < 200 else a[:200] + f"…({len(a)} chars)" for a in args]
    return f"args={shown!r}\nexit={result.exit_code}\noutput:\n{result.output[-3000:]}\n{tb}"


def assert_no_crash(result, args: Sequence[str], *, codes: tuple[int, ...] = (0, 1)) -> None:  # type: ignore[no-untyped-def]
    """No uncaught exception, no traceback text, an expected exit code."""
    info = describe(result, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), info
    assert TRACEBACK not in result.output, info
    assert result.exit_code in codes, info


def assert_names(result, names: Sequence[str], args: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
    """The failure message names the file (and whatever else must be named)."""
    out = " ".join(result.output.split())
    for n in names:
        assert " ".join(n.split()) in out, f"message does not name {n!r}\n" + describe(result, args)


def assert_one_error(result, args: Sequence[str]) -> None:  # type: ignore[no-untyped-def]
    """Exactly one error message (the handled() "Lỗi:"/"Error:" prefix), on stderr."""
    heads = sum(result.stderr.count(h) for h in ("Lỗi:", "Error:"))
    assert heads == 1, "expected one error message\n" + describe(result, args)


# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------

NASTY = [
    "", " ", "\n", "\r\n", "\t", "[/]", "[bold]", "[/bold]x", "[x]", "[link=x]y", "%s", "%(x)s", "{0}", "{}", "\\",
    "'", '"', "«»", "0", "-1", "1e309", "nan", "NaN", "inf", "-Infinity", "0x1F", "١٢٣", "²", "Ⅻ", "I.", "II", "XIV",
    "MMXXV", "1.2.3.4.5", "..", "../..", "/etc/passwd", "C:\\x", "null", "~", "true", "yes", "no", "on", ":", "- x",
    "? x", "!!python/object/apply:os.system ['true']", "&a", "*a", "---", "...", "#", "|", ">", "@", "`", "\x0b",
    "\x0c", "\x1b[31m", "\u2028", "\u200b", "\ufeff", "\u202e", "🙂", "Ω≈ç√", "Đ", "đ", "ǅ", "İ", "ß", "ﬁ", "\u0301",
    "a\u0301", "Sở Y tế", "Sở Y tế, Sở Tài chính; và", "(", ")", "((", "))", "(chủ trì", "các", "Các", "và", ";;;",
    ",,,", "Quý II/2025", "Quý V/2025", "Quý 0/2025", "32/13/2025", "29/02/2025", "31/04/2025", "0/0/0", "9999",
    "00/00/0000", "01/01/0001", "31/12/9999", "Hằng tháng", "Hằng tuần", "Hằng quý", "Hằng năm", "Trước ngày 31/12",
    "2025-13-45", "năm 99999", "Tháng 13/2025", "Tháng 0/2025", "Thường xuyên", "Hoàn thành", "Hoàn thành 150%",
    "Hoàn thành 99999999999999999999%", "Đang thực hiện 1e400%", "Đã hủy", "=1/0", "=A1", "=SUM(A1:A9)",
    '=HYPERLINK("http://x","y")', "+1", "-", "•", "*", "**", "R1", "S1", "a)", "(a)", "đ)", "I.1", "A", "Z.",
    "Phần IV", "TT", "STT", "Tên nhiệm vụ", "Cơ quan chủ trì", "Thời gian hoàn thành", "Kết quả", "Chỉ tiêu",
    "≥ 80", "≤ 10", "40 - 50", "100%", ">= -5", "1.000.000,5", "Thứ 1", "pct_tt", "chair", "SKHCN", "UBND_TINH",
    "KH-57-LS", "1", "2", "80", "81", "1, 2, 3", "2; 2", "999999999999999999999",
]

_TEXT_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))

plain_text = st.text(_TEXT_ALPHABET, max_size=40)
huge_text = st.builds(lambda unit, n: (unit * n)[:40000],
                      st.sampled_from(["x", "Sở Y tế, ", "1.", "[/]", "Quý II/2025 ", "(", "a" * 97 + "\n", "á"]),
                      st.integers(300, 40000))
nasty_text = st.one_of(st.sampled_from(NASTY), plain_text,
                       st.lists(st.sampled_from(NASTY), min_size=2, max_size=5).map(" ".join),
                       huge_text)

excel_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.times(),
    st.booleans(),
    st.none(),
)
cell_value = st.one_of(nasty_text, nasty_text, excel_scalars)


def _xml_safe(s: str) -> str:
    """Drop characters XML 1.0 cannot hold (Office files cannot contain them either)."""
    return "".join(ch for ch in s if ch in "\t\n\r" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
                   or ch >= "\U00010000")


def as_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------------------
# The sample plan and indicators as tables
# --------------------------------------------------------------------------------------

PLAN_HEADER = ["TT", "Tên nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Kết quả/Sản phẩm",
               "Thời gian hoàn thành", "Phụ thuộc", "Lãnh đạo phụ trách", "Ghi chú"]
HEADER_ALTERNATIVES = ["STT", "Nội dung", "Đơn vị chủ trì", "Phối hợp", "Sản phẩm", "Thời hạn", "Tiến độ",
                       "Trạng thái", "Ngày hoàn thành", "Kết quả hiện nay", "Task", "Lead", "Deadline",
                       "No.", "Depends on", "Vice-chair", "Note", "Chỉ tiêu", "Đơn vị", "Mục tiêu", "Mã"]


@dataclass
class Table:
    """Text lines above a table, and the table (header first) as cell values."""

    titles: list[str]
    rows: list[list[Any]]
    section_rows: set[int] = field(default_factory=set)  # indices of rows meant as merged section rows


@dataclass
class PlanSample:
    doc: dict[str, Any]  # the YAML document (sections with tasks)
    table: Table


_SAMPLES: dict[str, Any] = {}


def sample_plan_doc() -> dict[str, Any]:
    if "plan" not in _SAMPLES:
        _SAMPLES["plan"] = yaml.safe_load((PLANS / "sample-plan.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(_SAMPLES["plan"])


def sample_directory_doc() -> dict[str, Any]:
    if "dir" not in _SAMPLES:
        _SAMPLES["dir"] = yaml.safe_load((PLANS / "sample-directory.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(_SAMPLES["dir"])


def sample_indicators_doc() -> dict[str, Any]:
    if "ind" not in _SAMPLES:
        _SAMPLES["ind"] = yaml.safe_load((PLANS / "sample-indicators.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(_SAMPLES["ind"])


def _units_cell(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return "" if v is None else str(v)


extreme_dates = st.one_of(
    st.sampled_from([dt.date(1, 1, 1), dt.date(1900, 1, 1), dt.date(1955, 6, 1), dt.date(1999, 12, 31),
                     dt.date(2000, 1, 1), dt.date(2100, 12, 31), dt.date(2101, 1, 1), dt.date(9999, 12, 31),
                     dt.date(2025, 3, 15)]),
    st.dates())


def plan_subset(start: int, count: int, issued_on: dt.date | None = None) -> PlanSample:
    """Tasks [start, start+count) of the sample plan, as a YAML document and as a table.

    ``issued_on`` replaces the plan's issue date (in the YAML and in the table's title block).
    """
    doc = sample_plan_doc()
    if issued_on is not None:
        doc["plan"]["issued_on"] = issued_on
    flat = [(s, t) for s in doc["sections"] for t in s["tasks"]]
    start %= len(flat)
    keep = flat[start:start + count]
    codes = {t["code"] for _, t in keep}
    sections: list[dict[str, Any]] = []
    for s, t in keep:
        t = dict(t)
        if "depends_on" in t:
            t["depends_on"] = [d for d in t["depends_on"] if d in codes]
            if not t["depends_on"]:
                del t["depends_on"]
        if not sections or sections[-1]["code"] != s["code"]:
            sections.append({"code": s["code"], "title": s["title"], "tasks": []})
        sections[-1]["tasks"].append(t)
    doc["sections"] = sections
    plan = doc["plan"]
    titles = ["ỦY BAN NHÂN DÂN TỈNH LÂM SƠN", "PHỤ LỤC", f"DANH MỤC NHIỆM VỤ THỰC HIỆN {plan['title'].upper()}",
              f"(Kèm theo {plan['document']} ngày {plan['issued_on'].day:02d}/{plan['issued_on'].month:02d}/"
              f"{plan['issued_on'].year:04d} của UBND tỉnh)"]
    rows: list[list[Any]] = [list(PLAN_HEADER)]
    section_rows: set[int] = set()
    for s in sections:
        section_rows.add(len(rows))
        rows.append([f"{s['code']}. {s['title']}"] + [None] * (len(PLAN_HEADER) - 1))
        for t in s["tasks"]:
            code: Any = int(t["code"]) if str(t["code"]).isdigit() else t["code"]
            rows.append([code, t.get("title"), _units_cell(t.get("lead")), _units_cell(t.get("coordinating")),
                         t.get("deliverable"), t.get("deadline"), _units_cell(t.get("depends_on")),
                         t.get("vice_chair"), t.get("note")])
    return PlanSample(doc=doc, table=Table(titles, rows, section_rows))


INDICATOR_HEADER = ["TT", "Chỉ tiêu", "Đơn vị", "Kết quả", "Cơ quan chủ trì theo dõi, đánh giá", "Thời hạn"]


def indicator_table() -> Table:
    """The sample indicators as an annex table: group rows "I. <group>", TT 1..n."""
    doc = sample_indicators_doc()
    rows: list[list[Any]] = [list(INDICATOR_HEADER)]
    section_rows: set[int] = set()
    groups: list[str] = []
    numerals = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]
    n = 0
    for item in doc["indicators"]:
        g = item.get("group")
        if g and g not in groups:
            groups.append(g)
            section_rows.add(len(rows))
            rows.append([f"{numerals[len(groups) - 1]}. {g}"] + [None] * (len(INDICATOR_HEADER) - 1))
        n += 1
        td = item.get("target_date")
        rows.append([n, item["name"], item.get("unit"), item.get("target"), item.get("reporting_unit"),
                     td.strftime("%d/%m/%Y") if isinstance(td, dt.date) else td])
    return Table(["PHỤ LỤC I", "CÁC CHỈ TIÊU CHỦ YẾU"], rows, section_rows)


# --------------------------------------------------------------------------------------
# Table mutations
# --------------------------------------------------------------------------------------


@st.composite
def table_mutation(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from([
        "cell", "cell", "cell", "cell", "delete_row", "duplicate_row", "shuffle", "move_row", "rename_header",
        "remove_column", "duplicate_column", "swap_columns", "add_column", "blank_rows", "junk_above",
        "push_header_down", "header_only", "drop_body", "ragged_row", "title", "numbering_row", "repeat_header",
    ]))
    return (kind, draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6)), draw(cell_value),
            draw(st.sampled_from(HEADER_ALTERNATIVES + NASTY[:20])))


def apply_table_mutation(t: Table, m: tuple[Any, ...]) -> None:
    kind, a, b, value, header_text = m
    rows = t.rows
    if not rows:
        rows.append([value])
        return
    width = max(len(r) for r in rows) or 1
    r, c = a % len(rows), b % width
    if kind == "cell":
        row = rows[r]
        while len(row) <= c:
            row.append(None)
        row[c] = value
    elif kind == "delete_row":
        del rows[r]
    elif kind == "duplicate_row":
        rows.insert(r, list(rows[r]))
    elif kind == "shuffle":
        import random

        rnd = random.Random(a)
        body = rows[1:]
        rnd.shuffle(body)
        rows[1:] = body
    elif kind == "move_row":
        rows.insert(b % len(rows), rows.pop(r))
    elif kind == "rename_header":
        while len(rows[0]) <= c:
            rows[0].append(None)
        rows[0][c] = header_text if b % 3 else value
    elif kind == "remove_column":
        for row in rows:
            if c < len(row):
                del row[c]
    elif kind == "duplicate_column":
        for row in rows:
            if c < len(row):
                row.insert(c, row[c])
    elif kind == "swap_columns":
        d = a % width
        for row in rows:
            while len(row) <= max(c, d):
                row.append(None)
            row[c], row[d] = row[d], row[c]
    elif kind == "add_column":
        for i, row in enumerate(rows):
            row.insert(min(c, len(row)), header_text if i == 0 else value)
    elif kind == "blank_rows":
        for _ in range(1 + a % 5):
            rows.insert(r, [None] * width)
    elif kind == "junk_above":
        t.titles.insert(0, as_text(value))
    elif kind == "push_header_down":
        for _ in range(25 + a % 20):
            t.titles.append(f"dòng {a % 97}")
    elif kind == "header_only":
        del rows[1:]
    elif kind == "drop_body":
        del rows[1:1 + a % max(1, len(rows))]
    elif kind == "ragged_row":
        rows[r] = rows[r][: c]
    elif kind == "title":
        t.titles = [as_text(value)] * (1 + a % 3)
    elif kind == "numbering_row":
        rows.insert(1, [f"({i + 1})" for i in range(width)])
    elif kind == "repeat_header":
        rows.insert(r, list(rows[0]))
    t.section_rows = {i for i in t.section_rows if i < len(rows)}


# --------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------


@st.composite
def xlsx_recipe(draw):  # type: ignore[no-untyped-def]
    return {
        "merge_sections": draw(st.booleans()),
        "merges": draw(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 12), st.integers(0, 4), st.integers(0, 4)),
                                max_size=4)),
        "extra_sheets": draw(st.lists(st.sampled_from(["empty", "copy", "junk", "hidden_copy", "chart"]), max_size=3)),
        "data_sheet_first": draw(st.booleans()),
        "stray": draw(st.one_of(st.none(), st.tuples(st.sampled_from([1, 500, 65536, 1048576]),
                                                     st.sampled_from([1, 50, 702, 16384])))),
        "formats": draw(st.lists(st.tuples(st.integers(1, 60), st.integers(1, 12),
                                           st.sampled_from(["mm/yyyy", "d/m/yyyy", "@", "0.00%", '[$-42A]mmmm yyyy',
                                                            "General", ";;;", "yyyy", '"Quý" q']) ), max_size=4)),
        "sheet_title": draw(st.sampled_from(["Phụ lục", "Sheet1", "[x]", "Kế hoạch 2025", "'quoted'", "x" * 31])),
    }


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, str):
        return _xml_safe(v)[:32767]
    return v


def render_xlsx(t: Table, recipe: dict[str, Any] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    recipe = recipe or {}
    wb = Workbook()
    ws = wb.active
    title = "".join(ch for ch in recipe.get("sheet_title", "Phụ lục") if ch not in "[]:*?/\\")[:31].strip("'") or "S"
    ws.title = title
    width = max((len(r) for r in t.rows), default=1) or 1
    r = 1
    for line in t.titles:
        ws.cell(r, 1, _xlsx_value(line))
        if width > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        r += 1
    for i, row in enumerate(t.rows):
        for c, v in enumerate(row, start=1):
            if v is not None and v != "":
                try:
                    ws.cell(r, c, _xlsx_value(v))
                except (ValueError, TypeError):
                    ws.cell(r, c, _xlsx_value(as_text(v)))
        if recipe.get("merge_sections") and i in t.section_rows and width > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        r += 1
    for (mr, mc, dr, dc) in recipe.get("merges", []):
        try:
            ws.merge_cells(start_row=mr, start_column=mc, end_row=mr + dr, end_column=mc + dc)
        except ValueError:
            pass
    for (fr, fc, fmt) in recipe.get("formats", []):
        ws.cell(fr, fc).number_format = fmt
    if recipe.get("stray"):
        sr, sc = recipe["stray"]
        ws.cell(sr, sc, "x")
    for n, kind in enumerate(recipe.get("extra_sheets", [])):
        if kind == "chart":
            cs = wb.create_chartsheet(f"Chart{n}")
            chart = BarChart()
            chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=3))
            cs.add_chart(chart)
            continue
        other = wb.create_sheet(f"Extra{n}", index=0 if not recipe.get("data_sheet_first") else None)
        if kind in ("copy", "hidden_copy"):
            for rr, row in enumerate(t.rows, start=1):
                for cc, v in enumerate(row, start=1):
                    if v is not None and v != "":
                        other.cell(rr, cc, _xlsx_value(as_text(v)))
            if kind == "hidden_copy":
                other.sheet_state = "hidden"
        elif kind == "junk":
            other.cell(1, 1, "Ghi chú")
            other.cell(2, 2, 123)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@st.composite
def docx_recipe(draw):  # type: ignore[no-untyped-def]
    return {
        "merge_sections": draw(st.booleans()),
        "merges": draw(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 10), st.integers(0, 3), st.integers(0, 3)),
                                max_size=3)),
        "split_at": draw(st.one_of(st.none(), st.integers(1, 40))),
        "repeat_header": draw(st.booleans()),
        "nested": draw(st.one_of(st.none(), st.integers(0, 40))),
        "table_before": draw(st.booleans()),
    }


def render_docx(t: Table, recipe: dict[str, Any] | None = None) -> bytes:
    import docx

    recipe = recipe or {}
    d = docx.Document()
    for line in t.titles:
        d.add_paragraph(_xml_safe(as_text(line)))
    if recipe.get("table_before"):
        junk = d.add_table(rows=2, cols=2)
        junk.cell(0, 0).text = "Nơi nhận"
    width = max((len(r) for r in t.rows), default=1) or 1
    split = recipe.get("split_at")
    parts = [t.rows] if not split or split >= len(t.rows) else [t.rows[:split], t.rows[split:]]
    offset = 0
    for k, part in enumerate(parts):
        if k and recipe.get("repeat_header"):
            part = [t.rows[0]] + part
            offset -= 1
        if k:
            d.add_paragraph("")
        table = d.add_table(rows=len(part), cols=width)
        for row_obj, row in zip(table.rows, part):
            cells = row_obj.cells
            for c, v in enumerate(row[:width]):
                text_ = _xml_safe(as_text(v))
                if text_:
                    cells[c].text = text_
        for i in range(len(part)):
            gi = i + offset
            if recipe.get("merge_sections") and gi in t.section_rows and width > 1:
                row_cells = table.rows[i].cells
                try:
                    row_cells[0].merge(row_cells[width - 1])
                except Exception:
                    pass
        for (mr, mc, dr, dc) in recipe.get("merges", []):
            if mr < len(part) and mc < width:
                try:
                    table.cell(mr, mc).merge(table.cell(min(mr + dr, len(part) - 1), min(mc + dc, width - 1)))
                except Exception:
                    pass  # python-docx refuses non-rectangular merges
        nested = recipe.get("nested")
        if nested is not None and nested < len(part):
            inner = table.cell(nested, 0).add_table(rows=2, cols=2)
            inner.cell(0, 0).text = "TT"
            inner.cell(0, 1).text = "Tên nhiệm vụ"
        offset += len(part)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@st.composite
def csv_recipe(draw):  # type: ignore[no-untyped-def]
    return {
        "delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                          "cp1258", "latin-1-lossy", "utf-32"])),
        "newline": draw(st.sampled_from(["\r\n", "\n", "\r"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
        "damage": draw(st.lists(st.tuples(st.sampled_from(["bad_utf8", "nul", "unbalanced_quote", "odd_byte",
                                                           "bom_mid", "cut"]), st.integers(0, 10**6)),
                                max_size=2)),
    }


def render_csv(t: Table, recipe: dict[str, Any] | None = None) -> bytes:
    recipe = recipe or {}
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=recipe.get("delimiter", ","), lineterminator=recipe.get("newline", "\r\n"),
                   quoting=recipe.get("quoting", csv.QUOTE_MINIMAL))
    for line in t.titles:
        w.writerow([as_text(line)])
    for row in t.rows:
        w.writerow([as_text(v) for v in row])
    text_ = buf.getvalue()
    enc = recipe.get("encoding", "utf-8")
    if enc == "utf-16":
        data = text_.encode("utf-16")  # with BOM
    elif enc == "cp1258":
        data = text_.encode("cp1258", errors="replace")
    elif enc == "latin-1-lossy":
        data = text_.encode("latin-1", errors="replace")
    else:
        data = text_.encode(enc, errors="surrogatepass")
    for kind, pos in recipe.get("damage", []):
        data = damage_text_bytes(data, kind, pos)
    return data


def render_md(t: Table, recipe: dict[str, Any] | None = None) -> bytes:
    lines = [as_text(x).replace("\n", " ") for x in t.titles]
    lines.append("")
    width = max((len(r) for r in t.rows), default=1) or 1
    for i, row in enumerate(t.rows):
        cells = [as_text(v).replace("|", "\\|").replace("\n", "<br>") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * width)
    data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    for kind, pos in (recipe or {}).get("damage", []):
        data = damage_text_bytes(data, kind, pos)
    return data


def damage_text_bytes(data: bytes, kind: str, pos: int) -> bytes:
    p = pos % (len(data) + 1)
    if kind == "bad_utf8":
        return data[:p] + b"\xff\xfe\xc3(\xa0\xa1\xe2\x28\xa1" + data[p:]
    if kind == "nul":
        return data[:p] + b"\x00" + data[p:]
    if kind == "unbalanced_quote":
        return data[:p] + b'"' + data[p:]
    if kind == "odd_byte":
        return data + b"\x00" if len(data) % 2 == 0 else data[:-1]
    if kind == "bom_mid":
        return data[:p] + b"\xef\xbb\xbf" + data[p:]
    if kind == "cut":
        return data[:p]
    return data


# --------------------------------------------------------------------------------------
# YAML trees and text
# --------------------------------------------------------------------------------------

yaml_scalar = st.one_of(
    nasty_text, st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.none(), st.dates(min_value=dt.date(1, 1, 1)), st.datetimes(min_value=dt.datetime(1, 1, 1)),
)
yaml_value = st.recursive(
    yaml_scalar,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.one_of(nasty_text, st.integers(-5, 5), st.booleans()), children,
                                               max_size=4)),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def tree_mutation(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "rename_key", "add_key", "duplicate",
                                 "wrap_list", "number_code", "empty", "swap_types"]))
    return (kind, draw(st.integers(0, 10**6)), draw(yaml_value),
            draw(st.one_of(nasty_text, st.sampled_from(["code", "title", "lead", "tasks", "sections", "plan", "units",
                                                        "people", "groups", "committee", "indicators", "name",
                                                        "kind", "aliases", "members", "role", "oversees", "unit",
                                                        "target", "target_date", "deadline", "depends_on",
                                                        "settings", "timezone", "standing_agency", "notify",
                                                        "kpis", "issued_on", "parent", "short_name", "title ",
                                                        "Code", "tasks:", "deadlines"]),
                                         st.integers(0, 9))))


def apply_tree_mutation(doc: Any, m: tuple[Any, ...]) -> Any:
    """Apply one tree mutation; returns the (possibly new) document."""
    kind, pick, value, key = m
    paths = _paths(doc)
    path = paths[pick % len(paths)]
    if not path:  # the document itself
        if kind in ("replace", "swap_types"):
            return value
        if kind == "empty":
            return None
        if kind == "wrap_list":
            return [doc]
        if kind == "add_key" and isinstance(doc, dict):
            doc[key] = value
        return doc
    parent: Any = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1]
    cur = parent[last]
    if kind in ("replace", "swap_types"):
        parent[last] = value
    elif kind == "delete":
        del parent[last]
    elif kind == "rename_key" and isinstance(parent, dict):
        parent[key] = parent.pop(last)
    elif kind == "add_key":
        target = cur if isinstance(cur, dict) else parent if isinstance(parent, dict) else None
        if target is not None:
            target[key] = value
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(int(last), copy.deepcopy(cur))
    elif kind == "wrap_list":
        parent[last] = [cur]
    elif kind == "number_code":
        parent[last] = pick % 1000 if pick % 2 else float(pick % 1000)
    elif kind == "empty":
        parent[last] = {} if isinstance(cur, dict) else [] if isinstance(cur, list) else ""
    return doc


def dump_yaml(doc: Any) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100, default_flow_style=False)
    except (yaml.YAMLError, RecursionError, ValueError):
        return yaml.safe_dump(str(doc), allow_unicode=True)


@st.composite
def text_mutation(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["truncate", "tab", "insert", "delete_line", "dup_line", "deep", "alias_bomb",
                                 "bad_utf8", "utf16", "bom", "nul", "crlf", "dup_key", "merge_key", "tag"]))
    return (kind, draw(st.integers(0, 10**6)), draw(nasty_text), draw(st.integers(20, 3000)))


def apply_text_mutation(data: bytes, m: tuple[Any, ...]) -> bytes:
    kind, pos, snippet, depth = m
    p = pos % (len(data) + 1)
    lines = data.split(b"\n")
    li = pos % max(1, len(lines))
    if kind == "truncate":
        return data[:p]
    if kind == "tab":
        lines[li] = b"\t" + lines[li]
        return b"\n".join(lines)
    if kind == "insert":
        return data[:p] + snippet.encode("utf-8", "surrogatepass") + data[p:]
    if kind == "delete_line":
        del lines[li]
        return b"\n".join(lines)
    if kind == "dup_line":
        lines.insert(li, lines[li])
        return b"\n".join(lines)
    if kind == "deep":
        return data + b"\ndeep: " + b"[" * depth + b"]" * depth + b"\n"
    if kind == "alias_bomb":
        bomb = [b'a: &a ["x","x","x","x","x","x","x","x","x"]']
        for i, name in enumerate("bcdefghi"):
            prev = "abcdefghi"[i]
            bomb.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]".encode())
        where = pos % 3
        if where == 0:
            return b"\n".join(bomb) + b"\n" + data
        # use the bomb as a value the reader must look at
        return data + b"\n" + b"\n".join(bomb).replace(b"a: &a", b"bomb_a: &a") + b"\n"
    if kind == "bad_utf8":
        return data[:p] + b"\xc3\x28\xff" + data[p:]
    if kind == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "nul":
        return data[:p] + b"\x00" + data[p:]
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "dup_key":
        lines.insert(li, lines[li])
        return b"\n".join(lines)
    if kind == "merge_key":
        return data + b"\nextra: &m {code: x}\nmerged:\n  <<: *m\n"
    if kind == "tag":
        return data[:p] + b" !!python/object:os.system " + data[p:]
    return data


def alias_bomb_yaml(top_key: str, item_key: str) -> bytes:
    """A billion-laughs document whose ``top_key`` list item has ``item_key`` = the bomb."""
    lines = ['x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"x{i}: &a{i} [{refs}]")
    body = "\n".join(lines)
    return f"{body}\n{top_key}:\n  - {item_key}: *a8\n".encode()


# --------------------------------------------------------------------------------------
# Office zip damage
# --------------------------------------------------------------------------------------


@st.composite
def zip_damage(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["truncate", "flip", "flip", "drop_member", "junk_member", "empty_member",
                                 "rename_member", "add_member", "swap_content", "truncate_member", "xml_bomb",
                                 "prefix_junk"]))
    return (kind, draw(st.integers(0, 10**7)), draw(st.integers(1, 16)))


def apply_zip_damage(data: bytes, m: tuple[Any, ...]) -> bytes:
    kind, pos, n = m
    if kind == "truncate":
        return data[: pos % max(1, len(data))]
    if kind == "flip":
        b = bytearray(data)
        for i in range(n):
            j = (pos * (i + 7919)) % len(b)
            b[j] ^= 1 << (i % 8)
        return bytes(b)
    if kind == "prefix_junk":
        return b"PK\x03\x04" + b"\x00" * (pos % 50) + data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    k = pos % len(members)
    info, content = members[k]
    if kind == "drop_member":
        del members[k]
    elif kind == "junk_member":
        members[k] = (info, b"<not xml" + bytes(range(256)))
    elif kind == "empty_member":
        members[k] = (info, b"")
    elif kind == "rename_member":
        new = zipfile.ZipInfo(info.filename + ".bak")
        members[k] = (new, content)
    elif kind == "add_member":
        members.append((zipfile.ZipInfo(info.filename), b"<x/>"))  # a duplicate name
    elif kind == "swap_content":
        other = members[(k + 1 + pos) % len(members)][1]
        members[k] = (info, other)
    elif kind == "truncate_member":
        members[k] = (info, content[: max(0, len(content) * (pos % 100) // 100)])
    elif kind == "xml_bomb":
        bomb = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefg", "bcdefgh"))
                + ']><l>&h;</l>').encode()
        members[k] = (info, bomb)
    out = io.BytesIO()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zw:
            for zi, body in members:
                zw.writestr(zi, body)
    return out.getvalue()


# --------------------------------------------------------------------------------------
# Files on disk
# --------------------------------------------------------------------------------------

FILE_STEMS = ["plan", "kế hoạch", "a b", "x[1]", "[bold]x", "%s", "KH 57 (bản 2)", "ü-é", "[x]y", "{0}",
              "ke-hoach.final"]


@st.composite
def file_name(draw, ext: str):  # type: ignore[no-untyped-def]
    stem = draw(st.sampled_from(FILE_STEMS))
    wrong = draw(st.sampled_from([None] * 8 + [".xlsx", ".docx", ".csv", ".yaml", ".md", ".xls", ".txt", "",
                                               ext.upper(), ".json"]))
    return stem + (ext if wrong is None else wrong)


def place(work: Path, name: str, data: bytes, how: str = "file") -> Path:
    """Put ``data`` at work/in/name as a file, a directory, a broken symlink, or nothing."""
    folder = work / "in"
    folder.mkdir(exist_ok=True)
    path = folder / name
    if how == "file":
        path.write_bytes(data)
    elif how == "directory":
        path.mkdir()
    elif how == "broken_link":
        path.symlink_to(folder / "does-not-exist")
    # "missing": nothing
    return path


placement = st.sampled_from(["file"] * 14 + ["directory", "missing", "broken_link"])
langs = st.sampled_from([[], [], ["--lang", "en"]])  # the interface language: default (twice as often) or English


# --------------------------------------------------------------------------------------
# Building a damaged file
# --------------------------------------------------------------------------------------


def mutated_yaml(doc: Any, tree: Sequence[tuple[Any, ...]] = (), texts: Sequence[tuple[Any, ...]] = ()) -> bytes:
    """``doc`` with the tree mutations applied, dumped as YAML, then damaged as text."""
    for m in tree:
        doc = apply_tree_mutation(doc, m)
    data = dump_yaml(doc).encode("utf-8", "surrogatepass")
    for m in texts:
        data = apply_text_mutation(data, m)
    return data


def mutated_table(t: Table, mutations: Sequence[tuple[Any, ...]]) -> Table:
    """``t`` with the table mutations applied (in place; returned for chaining)."""
    for m in mutations:
        apply_table_mutation(t, m)
    return t


RENDERERS = {"xlsx": render_xlsx, "docx": render_docx, "csv": render_csv, "md": render_md}


def damaged_zip(data: bytes, damage: Sequence[tuple[Any, ...]]) -> bytes:
    """The Office file with each zip damage applied in turn; once zipfile cannot re-read what an
    earlier damage did, the file is loaded as it is."""
    for m in damage:
        try:
            data = apply_zip_damage(data, m)
        except Exception:  # noqa: BLE001 - already damaged beyond re-zipping
            break
    return data


# --------------------------------------------------------------------------------------
# The loader properties
# --------------------------------------------------------------------------------------


def check_load(url: str, args: Sequence[str], path: Path, label: str, *, names_file: bool = True):  # type: ignore[no-untyped-def]
    """The property of a loader (`plan load`, `directory load`, `kpi load`) on one file: no
    crash; a failure changed no table, names the file (unless ``names_file`` is False) and is
    one message; a success fits its columns and loading the same file again writes nothing.
    Returns the result of the first load (the caller checks what is specific to it)."""
    before = db_fingerprint(url)
    r = invoke(args)
    assert_no_crash(r, args)
    note_event(f"{label}: exit {r.exit_code}" + (" (validation errors)" if "  - " in r.stderr else ""))
    after = db_fingerprint(url)
    if r.exit_code != 0:
        changed = changed_tables(before, after)
        assert not changed, "failed load wrote:\n" + "\n".join(changed) + "\n" + r.output[-2000:]
        if names_file:
            assert_names(r, [path.name], args)
        assert_one_error(r, args)
        return r
    assert not pg_incompatible(url), pg_incompatible(url)
    r2 = invoke(args)
    assert_no_crash(r2, args, codes=(0,))
    again = db_fingerprint(url)
    assert not changed_tables(after, again), "reloading the same file wrote:\n" + "\n".join(changed_tables(after, again))
    return r


def assert_one_clear_error(url: str, args: Sequence[str], names: Sequence[str], *,
                           timeout: int = CALL_TIMEOUT):  # type: ignore[no-untyped-def]
    """Running ``args`` exits 1 with one message naming each of ``names``, and no table changed."""
    before = db_fingerprint(url)
    r = invoke(args, timeout=timeout)
    assert_no_crash(r, args, codes=(1,))
    assert_names(r, names, args)
    assert_one_error(r, args)
    assert not changed_tables(before, db_fingerprint(url))
    return r

"""Fuzzed command-line arguments: no `steer` command ever shows a traceback.

The commands are enumerated from the Typer app (so a command added later is fuzzed
without touching this file); each gets hypothesis-generated values for its options and
arguments, mixing valid ones (real item refs, people, plan codes, periods from the sample
data) with broken ones (impossible dates, far years, huge numbers, NaN, markup, empty,
unknown formats, paths that are directories or missing). Every call runs on a private copy
of a database that holds the sample directory, plan and indicators, inside a scratch
working folder (reports may write files there).

Property: no uncaught exception, no "Traceback" in the output, exit code 0, 1 or 2 (2 is
click's usage error), and a command that fails leaves the database as it was.

A handful of subprocess runs at the end prove that the real `steer` process prints no
traceback on stderr for bad input either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzkit import (
    LOAD_NOW,
    NASTY,
    PLANS,
    REPO,
    TRACEBACK,
    alias_bomb_yaml,
    assert_no_crash,
    changed_tables,
    db_fingerprint,
    fresh_db,
    fuzz_settings,
    invoke,
    nasty_text,
    note_event,
    template_db,
)

# --------------------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------------------

# Commands not fuzzed here, each with the reason. Anything else the app has is fuzzed.
SKIP = {
    "serve": "starts a Prefect server and runs until Ctrl-C",
    "demo": "builds a whole demo database in --out (minutes of work per call)",
    "deploy": "registers deployments on the Prefect server at PREFECT_API_URL",
}


def _commands() -> list[tuple[tuple[str, ...], list]]:  # type: ignore[type-arg]
    from typer.main import get_command

    from cli.main import app

    out: list[tuple[tuple[str, ...], list]] = []  # type: ignore[type-arg]

    def walk(cmd, path: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, path + (name,))
            return
        out.append((path, list(cmd.params)))

    walk(get_command(app), ())
    return out


COMMANDS = _commands()


def _skipped(path: tuple[str, ...], params: list) -> str | None:  # type: ignore[type-arg]
    key = " ".join(path)
    if key in SKIP:
        return SKIP[key]
    if any("--port" in p.opts or "--host" in p.opts for p in params):
        return "a server (takes --port/--host): runs until stopped"
    return None


FUZZED = [(p, params) for p, params in COMMANDS if not _skipped(p, params)]

# --------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------

ITEMS = ["KH-57-LS/1", "KH-57-LS/2", "KH-57-LS/3", "KH-57-LS/12", "KH-57-LS/1@SKHCN", "KH-57-LS/2@SKHCN",
         "KH-57-LS/80", "KH-57-LS/81", "KH-57-LS/999", "#1", "#2", "#273", "#0", "#-1", "#99999999999999999999",
         "KH-57-LS/4#2025-06", "KH-57-LS/4#2099-13", "/", "@", "#", "KH-57-LS/", "[/x]/1", "KH-57-LS/1@",
         "kh-57-ls/1", "KH-57-LS/I.1", "KH-57-LS/1@Sở Khoa học và Công nghệ"]
PEOPLE = ["secretariat", "chair", "pct_tt", "pct_kt", "pct_vx", "pct_nc", "skhcn_focal", "snv_focal", "stc_focal",
          "nobody", "", "[/x]", "x" * 100, "SECRETARIAT"]
PLAN_CODES = ["KH-57-LS", "KH-57-LS", "kh-57-ls", "NOPE", "", "[/x]", "x" * 100, "KH-57-L"]
UNITS = ["SKHCN", "STC", "Sở Tài chính", "sở tài chính", "UBND các huyện", "NOPE", "", "[/x]", "Các sở, ban, ngành",
         "SKHCN,STC", ",,,", "x" * 600]
INDICATORS = ["DVC-01", "DVC-02", "dvc-01", "NOPE", "", "[/x]", "x" * 100]
PERIODS = ["2025-10", "2025-Q3", "2025-H1", "2025", "2025-13", "2025-Q5", "2025-H3", "0000", "2101", "1999-12",
           "2025-00", "2025-1", "25-10", "2025-Q", "9" * 30, "2025-W10", "2025-Q0", "-2025", "2025-10-01"]
DATES = ["2025-06-16", "2025-02-30", "0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "16/06/2025",
         "2025-06-16T08:00:00+07:00", "2025-13-01", "2025-6-1", "", "today", "2025-06-16T08:00"]
NOWS = DATES + ["2025-06-16T08:00", "2025-06-16T08:00:00", "9999-12-31T23:59:59+14:00",
                "0001-01-01T00:00:00-12:00", "2025-06-16T25:00+07:00", "2025-06-16 08:00+07:00", "2025-04-01",
                "2025-12-31T23:59:59.999999+07:00", "2100-12-31", "2000-01-01"]
FORMATS = ["json", "table", "text", "csv", "docx", "xlsx", "html", "md", "pdf", "", "JSON", "[/x]", "yaml"]
STATUSES = ["pending", "sent", "failed", "obsolete", "sending", "not_started", "in_progress", "completed",
            "cancelled", "blocked", "submitted", "unassigned", "", "[/x]", "NOPE"]
DUE_WITHIN = ["7d", "0d", "-1d", "99999999999999d", "7", "d", "1e9d", "7 d", "365d", "100000d"]
INTS = ["0", "1", "-1", "2", "3", "31", "32", "400", "2147483648", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "-9223372036854775809", "1" + "0" * 30, "abc", "1.5", ""]
FLOATS = ["0", "50", "100", "100.5", "-1", "nan", "NaN", "inf", "-inf", "1e309", "-0", "1e-320", "abc", "", "50%"]


def _pick(valid: list[str]):  # type: ignore[no-untyped-def]
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), nasty_text)


BY_OPTION = {
    "--now": _pick(NOWS), "--as-of": _pick(DATES + NOWS), "--until": _pick(DATES), "--issued-on": _pick(DATES),
    "--period": _pick(PERIODS), "--format": _pick(FORMATS), "--as": _pick(PEOPLE), "--plan": _pick(PLAN_CODES),
    "--child-plan": _pick(PLAN_CODES), "--unit": _pick(UNITS), "--status": _pick(STATUSES),
    "--due-within": _pick(DUE_WITHIN), "--expected": _pick(["lead_units", "departments", "SKHCN,STC", "", ",,,"]),
    "--value": _pick(["72.63", "72,63", "1.000,5", "-5", "nan", "inf", "1e309", "9" * 400, "Đạt", "", "80%"]),
    "--prefix": _pick(["CT", "", "x" * 80]), "--code": _pick(PLAN_CODES), "--item": _pick(ITEMS),
}
BY_ARGUMENT = {"item": _pick(ITEMS), "code": _pick(PLAN_CODES + INDICATORS), "parent": _pick(PLAN_CODES),
               "snapshot_id": _pick(["1", "0", "-1", "99999999999999999999", "abc", ""])}

PATH_CHOICES = ["sample-plan.yaml", "sample-plan.xlsx", "sample-directory.yaml", "sample-indicators.yaml",
                "escalation-policy.yaml", "junk.yaml", "empty.yaml", "bomb.yaml", "deep.yaml", "timestamp.yaml",
                "list.yaml", "a-directory", "missing/x.yaml", "out.docx", "out.xlsx", "out.html", "out.json",
                "missing-dir/out.docx", "a-directory", "plain.txt", "[x].md"]


def _prepare_inputs(work: Path) -> None:
    """Files the path options may point at: real samples and bad ones."""
    (work / "a-directory").mkdir(exist_ok=True)
    for name in ("sample-plan.yaml", "sample-plan.xlsx", "sample-directory.yaml", "sample-indicators.yaml",
                 "escalation-policy.yaml"):
        (work / name).write_bytes((PLANS / name).read_bytes())
    (work / "junk.yaml").write_bytes(b"\x00\x01\xff garbage: [")
    (work / "empty.yaml").write_bytes(b"")
    (work / "bomb.yaml").write_bytes(alias_bomb_yaml("levels", "name"))
    (work / "deep.yaml").write_bytes(b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n")
    (work / "timestamp.yaml").write_bytes(b"since: 2025-13-45\n")
    (work / "list.yaml").write_bytes(b"- 1\n- 2\n")
    (work / "plain.txt").write_bytes(b"hello")
    (work / "[x].md").write_bytes(b"| a |\n|---|\n| 1 |\n")


def _value_for(param) -> st.SearchStrategy:  # type: ignore[no-untyped-def,type-arg]
    opt = param.opts[0]
    bare = param.bare_type()
    if opt in BY_OPTION:
        return BY_OPTION[opt]
    if param.param_type_name == "argument" and param.name in BY_ARGUMENT:
        return BY_ARGUMENT[param.name]
    if bare is Path:
        return st.sampled_from(PATH_CHOICES).map(lambda n: "@WORK@/" + n)
    if bare is int:
        return st.one_of(st.sampled_from(INTS), st.integers(-(2**70), 2**70).map(str))
    if bare is float:
        return st.one_of(st.sampled_from(FLOATS), st.floats(allow_nan=True, allow_infinity=True).map(repr))
    return st.one_of(nasty_text, st.sampled_from(NASTY))


@st.composite
def argv_for(draw, params: list) -> list[str]:  # type: ignore[no-untyped-def,type-arg]
    args: list[str] = []
    positional: list[str] = []
    for p in params:
        if p.opts[0] == "--db":
            continue  # the database is the test's; --db junk is fuzzed in test_bad_database_urls
        if p.param_type_name == "argument":
            positional.append(draw(_value_for(p)))
            continue
        if getattr(p, "is_flag", False):
            if draw(st.booleans()):
                args.append(p.opts[0] if draw(st.integers(0, 3)) else (p.secondary_opts or p.opts)[0])
            continue
        if p.required or draw(st.integers(0, 2)) > 0:
            args += [p.opts[0], draw(_value_for(p))]
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(st.sampled_from(["--", "-x", "--nope", "extra", "--help"])))
    if any(v.startswith("-") for v in positional):
        return [*args, "--", *positional]  # a value like "-1" is an argument, not an option
    return [*positional, *args]


@contextmanager
def _cwd(path: Path):  # type: ignore[no-untyped-def]
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_fuzzed(path: tuple[str, ...], argv: list[str], lang: list[str]) -> None:
    with fresh_db() as (url, work):
        _prepare_inputs(work)
        args = ["--db", url, *lang, *path, *[a.replace("@WORK@", str(work)) for a in argv]]
        if path == ("escalate",):
            args += ["--direct", "--no-dispatch"]  # no Prefect, no delivery attempts
        before = db_fingerprint(url)
        with _cwd(work):
            r = invoke(args)
        assert_no_crash(r, args, codes=(0, 1, 2))
        note_event(f"exit {r.exit_code}")
        if r.exit_code != 0:
            changed = changed_tables(before, db_fingerprint(url))
            assert not changed, f"a failed command wrote: {changed}\n{r.output[-2000:]}"


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


def test_every_command_is_fuzzed_or_skipped_with_a_reason():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"plan load", "directory load", "kpi load", "task start", "report monthly"} <= names
    assert set(SKIP) <= names | {"demo", "serve", "deploy"}
    assert len(FUZZED) >= len(COMMANDS) - len(SKIP) - 2


@pytest.mark.parametrize("path,params", FUZZED, ids=[" ".join(p) for p, _ in FUZZED])
def test_fuzzed_arguments(path, params):
    template_db()

    @fuzz_settings(6, deep_share=0.05)
    @given(argv=argv_for(params), lang=st.sampled_from([[], [], ["--lang", "en"], ["--lang", "[/x]"]]))
    def run(argv, lang):
        run_fuzzed(path, argv, lang)

    run()


@fuzz_settings(25)
@given(data=st.data())
def test_fuzzed_arguments_of_any_command(data):
    """Random commands with random arguments (the per-command test above guarantees coverage)."""
    path, params = data.draw(st.sampled_from(FUZZED))
    run_fuzzed(path, data.draw(argv_for(params)), [])


# --------------------------------------------------------------------------------------
# Plain regression tests
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["plan", "load", "@WORK@/sample-plan.yaml", "--code", "NEW", "--now", "9999-12-31"],
    ["plan", "load", "@WORK@/sample-plan.yaml", "--code", "NEW", "--now", "0001-01-01"],
    ["plan", "load", "@WORK@/sample-plan.yaml", "--code", "NEW", "--now", "9999-12-31T23:59:59+14:00"],
    ["task", "start", "KH-57-LS/1", "--as", "secretariat", "--now", "0001-01-01T00:00:00-12:00"],
    ["task", "generate", "--horizon", "999999999", "--now", LOAD_NOW],
    ["task", "generate", "--horizon", "-5", "--now", LOAD_NOW],
])
def test_bad_times_are_one_clear_error(args):
    with fresh_db() as (url, work):
        _prepare_inputs(work)
        full = ["--db", url, *[a.replace("@WORK@", str(work)) for a in args]]
        before = db_fingerprint(url)
        r = invoke(full)
        assert_no_crash(r, full, codes=(1, 2))
        assert not changed_tables(before, db_fingerprint(url))


@pytest.mark.parametrize("db", ["garbage", "sqlite:///@WORK@/a-directory", "sqlite:///@WORK@/missing/dir/x.db",
                                "nosuchdriver://x", "postgresql+nosuchdbapi://u@127.0.0.1:1/x", "sqlite:///@WORK@/junk.yaml",
                                "", "[/x]"])
def test_bad_database_urls(db):
    with fresh_db() as (_url, work):
        _prepare_inputs(work)
        args = ["--db", db.replace("@WORK@", str(work)), "plan", "list"]
        r = invoke(args)
        assert_no_crash(r, args, codes=(0, 1, 2))


def _files(folder: Path) -> set[str]:
    """Every file and folder under ``folder`` but the database's own (steer.db, -wal, -shm)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.startswith("steer.db")}


# Inputs that once crashed a command (found by this fuzzing), each with the start of its
# message in Vietnamese and in English. "@WORK@": the scratch folder (also the working folder).
ONCE_CRASHING = {
    "item-id-overflow": (["task", "show", "#99999999999999999999", "--as", "secretariat"],
                         "Không có phần việc số #99999999999999999999", "There is no work item #99999999999999999999"),
    "as-of-far-future": (["escalate", "--as-of", "9999-12-31", "--direct", "--no-dispatch"],
                         "ngày «9999-12-31» nằm ngoài khoảng 2000–2100", "date «9999-12-31» is outside 2000–2100"),
    # OverflowError in engine/reporting.py _window: --as-of was not bounded.
    "report-as-of-year-1": (["report", "annual", "--as-of", "0001-01-01"],
                            "Ngày số liệu 01/01/0001 nằm ngoài khoảng năm 2000–2100",
                            "The as-of date 0001-01-01 is outside the years 2000-2100"),
    "report-as-of-year-9999": (["report", "monthly", "--as-of", "31/12/9999", "--no-store"],
                               "Ngày số liệu 31/12/9999 nằm ngoài khoảng năm 2000–2100",
                               "The as-of date 9999-12-31 is outside the years 2000-2100"),
    # OverflowError in engine/snapshots.py get_snapshot: an id beyond SQLite's INTEGER.
    "report-id-overflow": (["report", "show", "99999999999999999999"],
                           "Không có báo cáo đã lưu số 99999999999999999999",
                           "There is no stored report 99999999999999999999"),
    # ValueError 'Non-blocking socket (timeout=0) is not supported' in notifications/doctor.py.
    "doctor-timeout-zero": (["doctor", "--timeout", "0"], "--timeout «0» không hợp lệ", "--timeout «0» is invalid"),
    "doctor-timeout-nan": (["doctor", "--timeout", "nan"], "--timeout «nan» không hợp lệ", "--timeout «nan» is invalid"),
    "doctor-timeout-inf": (["doctor", "--timeout", "inf"], "--timeout «inf» không hợp lệ", "--timeout «inf» is invalid"),
    # RecursionError (Path.mkdir(parents=True)) then sqlite3.OperationalError in engine/backup.py.
    "backup-deep-path": (["db", "backup", "[/]" * 1200], "Không ghi được tệp sao lưu «@WORK@/[/][/]",
                         "Cannot write the backup file «@WORK@/[/][/]"),
    # The snapshot and its event were committed, then writing --out failed (exit 1 after a write).
    "report-out-empty": (["report", "quarterly", "--out", "", "--as", "secretariat"],
                         "Không ghi được tệp «.»: đó là một thư mục", "Cannot write «.»: it is a folder"),
    "report-out-folder": (["report", "quarterly", "--out", "@WORK@/a-directory", "--format", "docx"],
                          "Không ghi được tệp «@WORK@/a-directory»: đó là một thư mục",
                          "Cannot write «@WORK@/a-directory»: it is a folder"),
    "report-out-under-a-file": (["report", "annual", "--out", "@WORK@/plain.txt/bao-cao.md"],
                                "«@WORK@/plain.txt» là một tệp, không phải thư mục",
                                "«@WORK@/plain.txt» is a file, not a folder"),
}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("key", list(ONCE_CRASHING))
def test_once_crashing_inputs_are_one_clear_error(key, lang):
    """Found by this fuzzing: each input is one message in the user's language, exit 1 (2 for a
    bad option value caught by the option parser), no traceback, nothing written (database
    and files)."""
    args, vi_text, en_text = ONCE_CRASHING[key]
    with fresh_db() as (url, work), _cwd(work):
        _prepare_inputs(work)
        full = ["--db", url, "--lang", lang, *[a.replace("@WORK@", str(work)) for a in args]]
        before, files = db_fingerprint(url), _files(work)
        r = invoke(full)
        assert_no_crash(r, full, codes=(2,) if key == "as-of-far-future" else (1,))
        expected = (vi_text if lang == "vi" else en_text).replace("@WORK@", str(work))
        assert expected in " ".join(r.output.split()), (key, r.output[-1000:])
        assert "Traceback" not in r.output
        assert not changed_tables(before, db_fingerprint(url)), key
        assert _files(work) == files, sorted(_files(work) ^ files)[:5]


# --------------------------------------------------------------------------------------
# The real process: no traceback on stderr
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,name", [
    (["plan", "load", "@WORK@/junk.yaml"], "junk.yaml"),
    (["plan", "load", "@WORK@/bad.xlsx"], "bad.xlsx"),
    (["plan", "load", "@WORK@/far.xlsx", "--code", "KH-57-LS"], "far.xlsx"),
    (["directory", "load", "@WORK@/deep.yaml"], "deep.yaml"),
    (["kpi", "load", "@WORK@/timestamp.yaml"], "timestamp.yaml"),
    (["plan", "load", "@WORK@/a-directory"], "a-directory"),
    (["task", "start", "KH-57-LS/1", "--as", "skhcn_focal", "--now", "9999-12-31"], None),
])
def test_real_process_prints_no_traceback(args, name):
    from tests.fuzzkit import render_xlsx

    with fresh_db() as (url, work):
        _prepare_inputs(work)
        (work / "bad.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
        from tests.fuzzkit import plan_subset

        (work / "far.xlsx").write_bytes(render_xlsx(plan_subset(0, 5).table, {"stray": (1048576, 16384)}))
        cmd = [sys.executable, "-m", "cli.main", "--db", url, *[a.replace("@WORK@", str(work)) for a in args]]
        before = db_fingerprint(url)
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "STEER_LANG": "vi", "COLUMNS": "200"})
        assert TRACEBACK not in p.stderr and TRACEBACK not in p.stdout, p.stderr
        assert p.returncode in (1, 2), (p.returncode, p.stdout, p.stderr)  # 2: a usage error (bad option value)
        assert p.stderr.strip(), "the error goes to stderr"
        if name:
            assert name in " ".join(p.stderr.split()), p.stderr
        assert not changed_tables(before, db_fingerprint(url))


@pytest.mark.parametrize("command,ext", [
    ("plan load", ".yaml"), ("plan load", ".xlsx"), ("plan load", ".docx"), ("plan load", ".csv"), ("plan load", ".md"),
    ("plan validate", ".xlsx"), ("directory load", ".yaml"), ("kpi load", ".yaml"), ("kpi load", ".xlsx"),
    ("kpi load", ".csv"),
])
@pytest.mark.parametrize("how", ["empty", "directory", "missing", "broken_link"])
def test_empty_missing_and_folder_inputs_are_one_clear_error(command, ext, how):
    from tests.fuzzkit import assert_one_clear_error, place

    with fresh_db() as (url, work):
        path = place(work, "dau-vao" + ext, b"", "file" if how == "empty" else how)
        assert_one_clear_error(url, ["--db", url, *command.split(), str(path)], [path.name])


def test_a_path_the_system_refuses_is_one_clear_error():
    """An OSError on a path the user gave (here a 300-character file name) is one message naming
    the file, whatever command hit it (handled() in cli/common.py)."""
    names = {" ".join(p) for p, _ in COMMANDS}
    if "db backup" not in names:
        pytest.skip("no `steer db backup` command in this build")
    with fresh_db() as (url, work):
        target = str(work / ("x" * 300 + ".db"))
        args = ["--db", url, "db", "backup", target]
        r = invoke(args)
        assert_no_crash(r, args, codes=(1,))
        assert "x" * 100 in r.output and ("File name too long" in r.output or "quá dài" in r.output), r.output

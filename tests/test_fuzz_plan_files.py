"""Fuzzed plan files: `steer plan load` never crashes and never half-writes.

Every example starts from a database that already holds the sample directory, the 80-task
sample plan KH-57-LS and the sample indicators (so a partial write would be visible), builds
a plan file from the real sample plan in one format, damages it, and loads it with the real
CLI. The property: either the load succeeds (and loading the same file again writes
nothing), or it exits 1 with one message naming the file, and no table changed — never a
traceback.

CI runs a fixed (derandomized) set of examples; STEER_FUZZ_EXAMPLES=2000 searches deeper.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzkit import (
    LOAD_NOW,
    PLAN_CODE,
    RENDERERS,
    Table,
    apply_text_mutation,
    assert_names,
    assert_no_crash,
    assert_one_clear_error,
    changed_tables,
    check_load,
    csv_recipe,
    damaged_zip,
    db_fingerprint,
    docx_recipe,
    dump_yaml,
    extreme_dates,
    file_name,
    fresh_db,
    fuzz_settings,
    invoke,
    langs,
    mutated_table,
    mutated_yaml,
    place,
    placement,
    plan_subset,
    render_csv,
    render_docx,
    render_md,
    render_xlsx,
    table_mutation,
    text_mutation,
    tree_mutation,
    xlsx_recipe,
    zip_damage,
)

subset = st.tuples(st.integers(0, 79), st.integers(1, 12), st.one_of(st.none(), st.none(), extreme_dates))
codes = st.sampled_from([PLAN_CODE, PLAN_CODE, "FUZZ-1", None])


def check_plan_load(url: str, path: Path, *, code: str | None, lang: list[str], command: str = "load") -> None:
    """The property, for one file already on disk."""
    args = ["--db", url, *lang, "plan", command, str(path)]
    if command == "load":
        args += ["--now", LOAD_NOW]
    if code:
        args += ["--code", code]
    if command == "load":
        r = check_load(url, args, path, command)
        if r.exit_code != 0 and "  - " in r.stderr:  # validation errors: each names the file and the row
            for ln in r.stderr.splitlines():
                if ln.startswith("  - "):
                    assert path.name in ln and ("row" in ln or "column" in ln), ln
        return
    before = db_fingerprint(url)
    r = invoke(args)
    assert_no_crash(r, args)
    assert not changed_tables(before, db_fingerprint(url)), "validate wrote to the database"
    if r.exit_code == 1 and "Lỗi:" not in r.stderr and "Error:" not in r.stderr:
        # a validation report: every error line names the file and its row
        errors = [ln for ln in r.output.splitlines() if ln.startswith(("LỖI", "ERROR"))]
        assert errors, r.output
        for ln in errors:
            assert path.name in ln and ("row" in ln or "column" in ln), ln


# --------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------


@fuzz_settings(40)
@given(sub=subset, tree=st.lists(tree_mutation(), max_size=3), texts=st.lists(text_mutation(), max_size=2),
       name=file_name(".yaml"), how=placement, code=codes, lang=langs)
def test_fuzzed_yaml_plan(sub, tree, texts, name, how, code, lang):
    data = mutated_yaml(plan_subset(*sub).doc, tree, texts)
    with fresh_db() as (url, work):
        check_plan_load(url, place(work, name, data, how), code=code, lang=lang)


# --------------------------------------------------------------------------------------
# Tables: xlsx, docx, csv, md
# --------------------------------------------------------------------------------------


def _table(sub: tuple[int, int], mutations: list) -> Table:  # type: ignore[type-arg]
    return mutated_table(plan_subset(*sub).table, mutations)


@pytest.mark.parametrize("fmt,recipe,examples", [("xlsx", xlsx_recipe(), 40), ("docx", docx_recipe(), 25),
                                                  ("csv", csv_recipe(), 40)])
def test_fuzzed_table_plan(fmt, recipe, examples):
    """A plan table rendered as .xlsx (merged cells, extra sheets, stray cells, typed cells),
    .docx (merged cells, split and nested tables) or .csv (delimiters, encodings, BOMs)."""

    @fuzz_settings(examples)
    @given(sub=subset, muts=st.lists(table_mutation(), max_size=4), recipe=recipe, name=file_name(f".{fmt}"),
           how=placement, code=codes, lang=langs)
    def run(sub, muts, recipe, name, how, code, lang):
        data = RENDERERS[fmt](_table(sub, muts), recipe)
        with fresh_db() as (url, work):
            check_plan_load(url, place(work, name, data, how), code=code, lang=lang)

    run()


@fuzz_settings(20)
@given(sub=subset, muts=st.lists(table_mutation(), max_size=4), texts=st.lists(text_mutation(), max_size=2),
       name=file_name(".md"), code=codes, lang=langs)
def test_fuzzed_md_plan(sub, muts, texts, name, code, lang):
    data = render_md(_table(sub, muts))
    for m in texts:
        data = apply_text_mutation(data, m)
    with fresh_db() as (url, work):
        check_plan_load(url, place(work, name, data), code=code, lang=lang)


@fuzz_settings(30)
@given(sub=subset, fmt=st.sampled_from(["xlsx", "docx"]), damage=st.lists(zip_damage(), min_size=1, max_size=2),
       code=codes)
def test_damaged_office_zip_plan(sub, fmt, damage, code):
    data = damaged_zip(RENDERERS[fmt](plan_subset(*sub).table), damage)
    with fresh_db() as (url, work):
        check_plan_load(url, place(work, f"damaged.{fmt}", data), code=code, lang=[])


@fuzz_settings(25)
@given(sub=subset, fmt=st.sampled_from(["yaml", "xlsx", "csv", "docx", "md"]), muts=st.lists(table_mutation(), max_size=3),
       tree=st.lists(tree_mutation(), max_size=2), code=codes, lang=langs)
def test_fuzzed_plan_validate(sub, fmt, muts, tree, code, lang):
    """`steer plan validate` on the same kinds of files: a report or one error; never writes."""
    sample = plan_subset(*sub)
    if fmt == "yaml":
        data = mutated_yaml(sample.doc, tree)
    else:
        data = RENDERERS[fmt](mutated_table(sample.table, muts))
    with fresh_db() as (url, work):
        check_plan_load(url, place(work, f"plan.{fmt}", data), code=code, lang=lang, command="validate")


# --------------------------------------------------------------------------------------
# Plain regression tests for what the fuzzing found
# --------------------------------------------------------------------------------------


def test_unmodified_renderings_of_the_sample_plan_load_and_reload_cleanly(tmp_path):
    """The generators' starting point is valid: each format loads, and a reload writes nothing."""
    sample = plan_subset(0, 80)
    for fmt, render in (("xlsx", render_xlsx), ("docx", render_docx), ("csv", render_csv), ("md", render_md)):
        with fresh_db() as (url, work):
            path = place(work, f"sample.{fmt}", render(sample.table))
            args = ["--db", url, "plan", "load", str(path), "--code", PLAN_CODE, "--now", LOAD_NOW, "--format", "json"]
            r = invoke(args)
            assert_no_crash(r, args, codes=(0,))
            assert '"tasks": 80' in r.output, r.output[-2000:]
            check_plan_load(url, path, code=PLAN_CODE, lang=[])
    with fresh_db() as (url, work):
        path = place(work, "sample.yaml", dump_yaml(sample.doc).encode())
        check_plan_load(url, path, code=None, lang=[])


@pytest.mark.parametrize("stem", ["[bold]kế hoạch", "[red]x", "b[link=y]c"])
def test_file_names_with_square_brackets_are_printed_as_written(stem):
    """Rich markup in a file name ("[bold]") used to be eaten by the error printer."""
    with fresh_db() as (url, work):
        bad = place(work, f"{stem}.csv", b"a,b\n1,2\n")
        args = ["--db", url, "plan", "load", str(bad)]
        r = invoke(args)
        assert_no_crash(r, args)
        assert r.exit_code == 1
        assert_names(r, [bad.name], args)


def _plan_yaml(issued_on: str = "2025-03-15", code: str = "X", tasks: str = "") -> bytes:
    tasks = tasks or "  - {code: '1', title: Việc một, lead: SKHCN, deadline: 'Hằng tuần'}\n"
    return f"plan: {{code: '{code}', issued_on: {issued_on}}}\ntasks:\n{tasks}".encode()


@pytest.mark.parametrize("name,data,named", [
    # a plan issued in 1900 with a weekly task: 6,593 items, then a duplicate key at the 1955 zone change
    ("cu.yaml", _plan_yaml("1900-01-01"), ["issued_on", "1900"]),
    ("xa.yaml", _plan_yaml("9999-12-31"), ["issued_on", "9999"]),
    ("ma.yaml", _plan_yaml(code="K" * 65), ["code", "65"]),
    ("nv.yaml", _plan_yaml(tasks="  - {code: '" + "9" * 70 + "', title: A, lead: SKHCN}\n"), ["row 3", "code"]),
    ("han.yaml", _plan_yaml(tasks="  - {code: '1', title: A, deadline: 'Quý II/2025" + " x" * 200 + "'}\n"),
     ["row 3", "deadline"]),
    ("dv.yaml", _plan_yaml(tasks="  - {code: '1', title: A, lead: 'Sở " + "Ư" * 600 + "'}\n"), ["row 3", "lead"]),
    ("nul.yaml", _plan_yaml(tasks='  - {code: "1", title: "A\\0B"}\n'), ["dòng 3", "NUL"]),
    ("[/x].yaml".replace("/", "_"), _plan_yaml(tasks="  - {code: '1', title: A, depends_on: '[/x]'}\n"), ["[_x]"]),
])
def test_plan_file_mistakes_found_by_fuzzing_are_one_clear_error(name, data, named):
    with fresh_db() as (url, work):
        path = place(work, name, data)
        assert_one_clear_error(url, ["--db", url, "plan", "load", str(path), "--now", LOAD_NOW], [path.name, *named])


def test_markup_in_a_cell_is_printed_as_written():
    """«[/x]» in a dependency cell: the validation report used to crash Rich's markup parser."""
    with fresh_db() as (url, work):
        path = place(work, "p.yaml", _plan_yaml(tasks="  - {code: '1', title: A, depends_on: '[/x]'}\n"))
        for cmd in (["plan", "validate", str(path)], ["plan", "load", str(path), "--now", LOAD_NOW]):
            args = ["--db", url, *cmd]
            r = invoke(args)
            assert_no_crash(r, args, codes=(1,))
            assert "«[/x]»" in r.output, r.output


def test_a_stray_cell_far_away_does_not_hang_the_xlsx_reader():
    """XFD1048576 holding one character used to build a 1,048,576 x 16,384 grid."""
    t = plan_subset(0, 5).table
    data = render_xlsx(t, {"stray": (1048576, 16384)})
    with fresh_db() as (url, work):
        path = place(work, "xa.xlsx", data)
        args = ["--db", url, "plan", "load", str(path), "--code", "XA", "--now", LOAD_NOW]
        r = invoke(args, timeout=30)
        assert_no_crash(r, args, codes=(1,))
        assert_names(r, ["xa.xlsx", "row 1048576"], args)  # the stray cell is a row without a title


def test_a_title_line_right_above_the_header_is_not_a_two_row_header():
    """"(Kèm theo Kế hoạch số … ngày 15/03/2025 …)" directly above the header: the issue date was lost
    (so "trong 15 ngày làm việc" could not be computed)."""
    from engine.planfile.readers import read_plan_bytes

    spec = read_plan_bytes(render_xlsx(plan_subset(0, 80).table), "p.xlsx")
    assert spec.document == "Kế hoạch số 45/KH-UBND"
    assert str(spec.issued_on) == "2025-03-15"
    assert len(spec.tasks) == 80


@pytest.mark.parametrize("fmt", ["xlsx", "docx"])
def test_a_zip_bomb_is_refused_before_it_is_unpacked(fmt):
    """A member of 250 MB of blanks (250 KB compressed) used to be unpacked into memory."""
    import io
    import zipfile as zf_

    base = render_xlsx(plan_subset(0, 3).table) if fmt == "xlsx" else render_docx(plan_subset(0, 3).table)
    out = io.BytesIO()
    with zf_.ZipFile(io.BytesIO(base)) as src, zf_.ZipFile(out, "w", zf_.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open("customXml/padding.xml", "w") as big:
            chunk = b" " * (1 << 20)
            for _ in range(250):
                big.write(chunk)
    for command in (["plan", "load"], ["kpi", "load"]):
        with fresh_db() as (url, work):
            path = place(work, f"bom.{fmt}", out.getvalue())
            args = ["--db", url, *command, str(path)]
            r = invoke(args, timeout=30)
            assert_no_crash(r, args, codes=(1,))
            assert_names(r, [path.name, "MB"], args)

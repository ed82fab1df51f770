"""Fuzzed indicator files: `steer kpi load` never crashes and never half-writes.

Starting state: the sample directory, plan KH-57-LS and the 12 sample indicators. Each
example loads plans/sample-indicators.yaml mutated as a YAML tree/text, or the same
indicators rendered as an annex table (.xlsx/.docx/.csv/.md) and damaged. Success: the
result fits its columns, can be listed, and reloading it writes nothing. Failure: exit 1,
one message naming the file, no table changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzkit import (
    LOAD_NOW,
    RENDERERS,
    alias_bomb_yaml,
    assert_no_crash,
    assert_one_clear_error,
    check_load,
    csv_recipe,
    damaged_zip,
    docx_recipe,
    file_name,
    fresh_db,
    fuzz_settings,
    indicator_table,
    invoke,
    langs,
    mutated_table,
    mutated_yaml,
    place,
    placement,
    render_xlsx,
    sample_indicators_doc,
    table_mutation,
    text_mutation,
    tree_mutation,
    xlsx_recipe,
    zip_damage,
)

plans = st.sampled_from([[]] * 4 + [["--plan", "KH-57-LS"], ["--plan", "NOPE"]])
prefixes = st.sampled_from([[]] * 6 + [["--prefix", "CT"], ["--prefix", "[/x]"], ["--prefix", "x" * 80]])


def check_kpi_load(url: str, path: Path, extra: list[str], lang: list[str] = []) -> None:  # noqa: B006
    args = ["--db", url, *lang, "kpi", "load", str(path), "--now", LOAD_NOW, *extra]
    # an unknown --plan is named instead of the file
    if check_load(url, args, path, "kpi load", names_file="--plan" not in extra or "NOPE" not in extra).exit_code != 0:
        return
    for show in (["kpi", "list"], ["kpi", "list", "--format", "json"], ["kpi", "list", "--period", "2025-Q4"]):
        a = ["--db", url, *show]
        assert_no_crash(invoke(a), a, codes=(0,))


@fuzz_settings(40)
@given(tree=st.lists(tree_mutation(), max_size=3), texts=st.lists(text_mutation(), max_size=2),
       name=file_name(".yaml"), how=placement, lang=langs, plan=plans)
def test_fuzzed_indicator_yaml(tree, texts, name, how, lang, plan):
    data = mutated_yaml(sample_indicators_doc(), tree, texts)
    with fresh_db() as (url, work):
        check_kpi_load(url, place(work, name, data, how), plan, lang)


@fuzz_settings(50)
@given(fmt=st.sampled_from(["xlsx", "docx", "csv", "md"]), muts=st.lists(table_mutation(), max_size=3),
       xr=xlsx_recipe(), dr=docx_recipe(), cr=csv_recipe(), damage=st.lists(zip_damage(), max_size=1),
       prefix=prefixes, plan=plans, how=placement)
def test_fuzzed_indicator_table(fmt, muts, xr, dr, cr, damage, prefix, plan, how):
    data = RENDERERS[fmt](mutated_table(indicator_table(), muts), {"xlsx": xr, "docx": dr, "csv": cr}.get(fmt))
    if fmt in ("xlsx", "docx"):
        data = damaged_zip(data, damage)
    with fresh_db() as (url, work):
        check_kpi_load(url, place(work, f"chi-tieu.{fmt}", data, how), [*prefix, *plan])


# --- plain regression tests --------------------------------------------------------------


@pytest.mark.parametrize("name,content", [
    ("bom.csv", "\ufeffTT,Chỉ tiêu,Kết quả\n1,A,5\n".encode("utf-16")[:-1]),  # UTF-16 cut mid character
    ("year0.yaml", b"indicators:\n  - {code: A, name: A, target: '5', target_date: '0000'}\n"),
    ("ts.yaml", b"indicators:\n  - {code: A, name: A, target: '5', target_date: 2025-13-45}\n"),
    ("deep.yaml", b"indicators: " + b"[" * 5000 + b"]" * 5000 + b"\n"),
    ("long.yaml", ("indicators:\n  - {code: A, name: A, target: '5', unit: '" + "m" * 200 + "'}\n").encode()),
    ("group.yaml", ("indicators:\n  - {code: A, name: A, target: '5', group: '" + "g" * 400 + "'}\n").encode()),
    ("far.xlsx", None),
    ("nul.yaml", b'indicators:\n  - {code: A, name: "a\\0b", target: "5"}\n'),
    ("bomb.yaml", b"plan: KH-57-LS\n" + alias_bomb_yaml("indicators", "name")),
    ("bomb2.yaml", alias_bomb_yaml("indicators", "target_date")),
    ("tt.csv", ("TT,Chỉ tiêu,Kết quả\n" + "1" * 70 + ",A,5\n").encode()),
])
def test_bad_indicator_file_is_one_clear_error_and_writes_nothing(name, content):
    if content is None:  # one stray cell at XFD1048576: named by its row, quickly (it used to hang)
        content = render_xlsx(indicator_table(), {"stray": (1048576, 16384)})
    with fresh_db() as (url, work):
        path = place(work, name, content)
        assert_one_clear_error(url, ["--db", url, "kpi", "load", str(path), "--now", LOAD_NOW],
                               [path.name] + (["1048576"] if name == "far.xlsx" else []), timeout=30)

"""Fuzzed directory files: `steer directory load` never crashes and never half-writes.

Each example starts from a database holding the sample directory, plan and indicators,
loads a damaged copy of plans/sample-directory.yaml (tree mutations: wrong types, unknown
keys, numbers as codes, deep nesting; text mutations: tabs, truncation, alias bombs,
invalid UTF-8, UTF-16) and checks: a success can be shown (`directory show`), used (`plan
validate`) and reloaded without any write; a failure exits 1 with one message naming the
file and leaves every table as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzkit import (
    LOAD_NOW,
    PLANS,
    alias_bomb_yaml,
    assert_no_crash,
    assert_one_clear_error,
    changed_tables,
    check_load,
    db_fingerprint,
    dump_yaml,
    file_name,
    fresh_db,
    fuzz_settings,
    invoke,
    langs,
    mutated_yaml,
    place,
    placement,
    sample_directory_doc,
    text_mutation,
    tree_mutation,
)


def check_directory_load(url: str, path: Path, lang: list[str]) -> None:
    args = ["--db", url, *lang, "directory", "load", str(path), "--now", LOAD_NOW]
    if check_load(url, args, path, "directory load").exit_code != 0:
        return
    # what was loaded can be shown and used
    for extra in (["directory", "show"], ["directory", "show", "--all", "--format", "json"]):
        a = ["--db", url, *lang, *extra]
        assert_no_crash(invoke(a), a, codes=(0,))
    a = ["--db", url, *lang, "plan", "validate", str(PLANS / "sample-plan.yaml")]
    assert_no_crash(invoke(a), a)


@fuzz_settings(40)
@given(tree=st.lists(tree_mutation(), max_size=3), texts=st.lists(text_mutation(), max_size=2),
       name=file_name(".yaml"), how=placement, lang=langs)
def test_fuzzed_directory_file(tree, texts, name, how, lang):
    data = mutated_yaml(sample_directory_doc(), tree, texts)
    with fresh_db() as (url, work):
        check_directory_load(url, place(work, name, data, how), lang)


# --- targeted mutations of the places people get wrong ------------------------------------

FIELDS = {
    "committee": ["name", "short_name", "timezone", "standing_agency", "settings"],
    "units": ["code", "name", "kind", "aliases", "former_names", "parent", "notify"],
    "people": ["id", "name", "title", "role", "unit", "oversees", "notify"],
    "groups": ["code", "name", "members", "aliases"],
}
odd_values = st.one_of(
    st.sampled_from([None, "", [], {}, 0, 1.5, True, [None], [[]], {"a": 1}, ["SKHCN", 3], "x" * 5000,
                     "Asia/Nowhere", "../../etc/passwd", "UTC", "[/x]", "SKHCN", "pct_tt", "chair", "focal_point",
                     float("nan"), 10**30, ["", " "], "Ω", "\u0301", "các", "-"]),
    st.text(max_size=20),
)


@fuzz_settings(40)
@given(section=st.sampled_from(sorted(FIELDS)), index=st.integers(0, 40), data=st.data(), lang=langs)
def test_fuzzed_directory_fields(section, index, data, lang):
    """One field of one committee/unit/person/group gets an odd value (type, text, reference)."""
    doc = sample_directory_doc()
    field = data.draw(st.sampled_from(FIELDS[section]))
    value = data.draw(odd_values)
    if section == "committee":
        doc["committee"][field] = value
    else:
        items = doc.setdefault(section, []) or []
        if not items:
            items.append({"code": "NHOM_X", "name": "Nhóm X", "members": ["SKHCN"]})
            doc[section] = items
        items[index % len(items)][field] = value
    with fresh_db() as (url, work):
        check_directory_load(url, place(work, "danh-muc.yaml", dump_yaml(doc).encode("utf-8", "surrogatepass")), lang)


# --- plain regression tests --------------------------------------------------------------


@pytest.mark.parametrize("content", [
    pytest.param(lambda: alias_bomb_yaml("units", "code"), id="alias-bomb-in-a-code"),
    pytest.param(lambda: alias_bomb_yaml("people", "name"), id="alias-bomb-in-a-name"),
    pytest.param(lambda: b"units: " + b"[" * 5000 + b"]" * 5000 + b"\n", id="deep-nesting"),
    pytest.param(lambda: "committee: {name: X, settings: [1, 2]}\n".encode(), id="settings-list"),
    pytest.param(lambda: "committee: {name: X, settings: abc}\n".encode(), id="settings-text"),
    pytest.param(lambda: "committee: {name: X, short_name: [a, b]}\n".encode(), id="short-name-list"),
    pytest.param(lambda: "committee: {name: X, 1: a, b: c}\n".encode(), id="mixed-key-types"),
    pytest.param(lambda: "people:\n  - {id: p1, name: P, role: viewer, title: {a: 1}}\n".encode(), id="title-mapping"),
    pytest.param(lambda: "people:\n  - {id: [a], name: P, role: viewer}\n".encode(), id="id-list"),
    pytest.param(lambda: "people:\n  - {id: p1, name: P, role: viewer, 7: x}\n".encode(), id="person-number-key"),
    pytest.param(lambda: "\ufeffunits: []\n".encode("utf-16"), id="utf16"),
    pytest.param(lambda: "committee: {name: X, settings: {since: 2025-13-45}}\n".encode(), id="impossible-timestamp"),
    pytest.param(lambda: b'units:\n  - {code: X1, name: "a\\0b"}\n', id="nul-character"),
    pytest.param(lambda: "committee: {name: X, settings: {7: .nan}}\n".encode(), id="settings-nan"),
    pytest.param(lambda: ("units:\n  - {code: X1, name: '" + "a" * 600 + "'}\n").encode(), id="name-too-long"),
    pytest.param(lambda: "people:\n  - {id: '" .encode() + b"p" * 70 + b"', name: P, role: viewer}\n", id="id-too-long"),
])
def test_bad_directory_file_is_one_clear_error_and_writes_nothing(content):
    with fresh_db() as (url, work):
        path = place(work, "danh-muc.yaml", content())
        assert_one_clear_error(url, ["--db", url, "directory", "load", str(path)], [path.name])


def test_reloading_the_same_directory_writes_nothing():
    with fresh_db() as (url, _work):
        before = db_fingerprint(url)
        args = ["--db", url, "directory", "load", str(PLANS / "sample-directory.yaml"), "--now", "2025-05-01"]
        r = invoke(args)
        assert_no_crash(r, args, codes=(0,))
        assert not changed_tables(before, db_fingerprint(url))

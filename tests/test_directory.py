"""The unit directory and the longest-match splitter, against the real NQ 03 annex."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from engine.directory import (
    KINDS,
    STANDARD_PATH,
    Directory,
    DirectoryError,
    UnitEntry,
    UnitMatch,
    normalize_name,
)
from tests.realdata import ANNEX2, annex_rows

STD = Directory.standard()


def _task_rows() -> dict[int, list[str]]:
    """TT -> row cells, for the 140 task rows (section rows like "**I.**" skipped)."""
    _, rows = annex_rows(ANNEX2)
    out: dict[int, list[str]] = {}
    for row in rows[1:]:
        m = re.fullmatch(r"(\d+)\.?", row[0].strip())
        if m:
            out[int(m.group(1))] = row
    return out


TASKS = _task_rows()
LEAD, COORD = 2, 3  # "Cơ quan chủ trì", "Cơ quan phối hợp"


def codes(cell: str, directory: Directory = STD) -> list[str | None]:
    return [m.code for m in directory.split(cell)]


# --- the real annex -------------------------------------------------------------------------


def test_annex_has_140_task_rows_with_lead_and_coordinating_columns():
    _, rows = annex_rows(ANNEX2)
    assert rows[0][LEAD] == "Cơ quan chủ trì" and rows[0][COORD] == "Cơ quan phối hợp"
    assert sorted(TASKS) == list(range(1, 141))


def test_every_lead_cell_of_the_annex_splits_into_units():
    for tt, row in TASKS.items():
        matches = STD.split(row[LEAD])
        assert matches, f"task {tt}: {row[LEAD]!r} gave nothing"
        for m in matches:
            # every piece is a trimmed slice of the cell at its span
            assert row[LEAD][m.start:m.end] == m.text == m.text.strip()
            assert (m.code is None) == (m.via == "unknown")


@pytest.mark.parametrize("tt,column,expected", [
    (45, LEAD, ["BTC", "BCT"]),                          # "Bộ Tài chính, Bộ Công Thương"
    (46, LEAD, ["BKHCN", "CAC_DP"]),                     # "... Công nghệ và các địa phương"
    (51, LEAD, ["BKHCN", "BNNMT"]),                      # "Bộ Tài nguyên và môi trường" -> successor
    (52, LEAD, ["BCT", "BNNMT", "BXD"]),                 # GTVT collapses into Bộ Xây dựng
    (108, LEAD, ["BCA", "BNV", "BNNMT", "BXD", "NHNN", "BKHCN", "BTC"]),  # 8 names, 7 successors
    (113, LEAD, ["VPCP", "BCA"]),                        # "Văn phòng Chính phủ; Bộ Công an"
    (69, LEAD, ["BCA"]),                                 # "Bộ Công An"
    (98, LEAD, ["BVHTTDL"]),                             # one unit with a comma and "và"
    (115, LEAD, ["CAC_DP"]),                             # "Các tỉnh, thành phố trực thuộc TW"
    (1, COORD, ["BTGDVTW", "BO_NGANH_DP", "VTV", "VOV", "TTXVN"]),
    (14, COORD, ["BCA", "BNV", "BTC", "TTCP", "BO_NGANH_DP"]),  # LĐ-TB&XH -> Bộ Nội vụ, already named
    (51, COORD, ["BQP", "VAST", "BO_NGANH_DP"]),
    (85, COORD, ["BTC", "CAC_BO_NGANH"]),                # "Bộ Tài chính, bộ, ngành liên quan"
    (87, COORD, ["BNV", "BKHCN"]),                       # "Bộ Khoa học và công nghệ"
    (135, COORD, ["BO_NGANH_DP", "DOANH_NGHIEP", "CQDD_NN"]),
])
def test_real_annex_cells_split_into_the_expected_units_in_order(tt, column, expected):
    assert codes(TASKS[tt][column]) == expected


def test_row_108_reports_each_successor_once_at_its_first_name():
    ms = STD.split(TASKS[108][LEAD])
    by_code = {m.code: m for m in ms}
    assert by_code["BNV"].text == "Bộ Lao động - Thương binh và Xã hội"
    assert by_code["BNV"].via == "former_name"
    assert by_code["BNNMT"].text == "Bộ Tài nguyên và Môi trường"  # not "... Phát triển nông thôn"
    assert by_code["NHNN"].text == "Ngân hàng nhà nước Việt Nam"


def test_unknown_pieces_in_the_whole_real_annex_are_exactly_these():
    unknown = [(tt, col, m.text) for tt, row in TASKS.items() for col in (LEAD, COORD)
               for m in STD.split(row[col]) if m.code is None]
    assert unknown == [
        (63, LEAD, "Địa phương được lựa chọn"),           # which locality is not named
        (64, LEAD, "một số tỉnh đủ điều kiện"),           # after CAC_TP_TW: an unnamed selection
        (70, LEAD, "Các bộ, ngành, địa phương là chủ quản CSDLQG, CSDL chuyên ngành"),  # qualified subset
        (90, COORD, "Các cơ quan Đảng, Quốc hội"),        # Party and National Assembly bodies
        (111, COORD, "các địa phương Bắc Ninh, Bình Dương, An Giang"),  # named provinces
        (138, LEAD, "Tập đoàn, doanh nghiệp công nghệ số"),  # a business category, not an agency
    ]


def test_row_64_finds_the_group_before_the_unknown_selection():
    ms = STD.split(TASKS[64][LEAD])
    assert [(m.code, m.text) for m in ms] == [
        ("CAC_TP_TW", "Các thành phố trực thuộc Trung ương"),
        (None, "một số tỉnh đủ điều kiện"),
    ]


# --- normalisation and matching rules ------------------------------------------------------


def test_case_and_spacing_do_not_matter_and_the_text_is_kept_as_written():
    assert codes("Bộ Công An") == ["BCA"]
    (m,) = STD.split("  Bộ  Tài chính ")
    assert (m.code, m.text, m.start, m.end, m.via) == ("BTC", "Bộ  Tài chính", 2, 15, "name")
    assert STD.resolve("BỘ TÀI CHÍNH").code == "BTC"


def test_old_and_new_tone_placement_are_the_same_name():
    assert normalize_name("Văn hoá") == normalize_name("Văn hóa") == "văn hoá"
    assert normalize_name("Thuỷ lợi") == normalize_name("Thủy lợi")
    assert normalize_name("Uỷ ban") == normalize_name("Ủy ban")
    assert normalize_name("khoẻ") == normalize_name("khỏe")
    assert normalize_name("Hùynh") == normalize_name("Huỳnh")  # closed syllable: same key
    assert normalize_name("hoàn") != normalize_name("hoà")
    assert codes("Bộ Văn hoá, Thể thao và Du lịch") == ["BVHTTDL"]
    assert codes("Toà án nhân dân tối cao") == ["TANDTC"]
    assert STD.resolve("Uỷ ban Dân tộc").code == "BDTTG"


def test_decomposed_unicode_and_eth_for_d_stroke_still_match():
    nfd = unicodedata.normalize("NFD", "Bộ Giáo dục và Đào tạo")
    assert codes(nfd) == ["BGDDT"]
    assert codes("Bộ Giáo dục và Ðào tạo") == ["BGDDT"]  # U+00D0 typed for U+0110


def test_ampersand_and_dash_spacing_is_normalised():
    assert normalize_name("Bộ KH & CN") == normalize_name("Bộ KH&CN") == "bộ kh&cn"
    (m,) = STD.split("Bộ KH & CN")
    assert (m.code, m.via) == ("BKHCN", "alias")
    assert codes("Bộ Lao động – Thương binh và Xã hội") == ["BNV"]  # en dash
    assert codes("Bộ Lao động-Thương binh và Xã hội") == ["BNV"]
    assert codes("Bộ LĐ-TB&XH, Bộ GD&ĐT") == ["BNV", "BGDDT"]


def test_dots_inside_names_do_not_matter():
    assert codes("Đại học Quốc gia TP. Hồ Chí Minh") == ["DHQGHCM"]
    assert codes("ĐHQG TP.HCM; Đại học Quốc gia TP Hồ Chí Minh") == ["DHQGHCM"]
    assert codes("Bộ Tài chính. Bộ Công an.") == ["BTC", "BCA"]


def test_names_containing_comma_and_va_stay_one_unit():
    (m,) = STD.split("Bộ Văn hóa, Thể thao và Du lịch")
    assert (m.code, m.text) == ("BVHTTDL", "Bộ Văn hóa, Thể thao và Du lịch")
    (m,) = STD.split("Bộ Lao động - Thương binh và Xã hội")
    assert (m.code, m.via) == ("BNV", "former_name")
    assert codes("Bộ Văn hóa, Thể thao và Du lịch và Bộ Y tế") == ["BVHTTDL", "BYT"]


def test_unknown_name_is_kept_as_its_own_piece_with_its_span():
    cell = "Sở Tài chính, Trung tâm Phục vụ hành chính công và UBND cấp xã"
    ms = STD.split(cell)
    assert [(m.code, m.via) for m in ms] == [("STC", "name"), (None, "unknown"), ("UBND_XA", "alias")]
    unknown = ms[1]
    assert unknown.text == "Trung tâm Phục vụ hành chính công"
    assert cell[unknown.start:unknown.end] == unknown.text


def test_unknown_piece_runs_until_a_known_name_follows_a_separator():
    assert [(m.code, m.text) for m in STD.split("Tập đoàn, doanh nghiệp công nghệ số; Bộ Công Thương")] == [
        (None, "Tập đoàn, doanh nghiệp công nghệ số"), ("BCT", "Bộ Công Thương")]
    assert [(m.code, m.text) for m in STD.split("Trường A, Trường B; Trường C")] == [
        (None, "Trường A, Trường B"), (None, "Trường C")]


def test_a_known_group_followed_by_a_qualifier_is_not_cut_short():
    # "Các bộ, ngành" ends at a comma, but the longer "Các bộ, ngành, địa phương" is in
    # the text and is qualified: the whole phrase is one unknown piece.
    (m,) = STD.split("Các bộ, ngành, địa phương được giao")
    assert (m.code, m.text) == (None, "Các bộ, ngành, địa phương được giao")
    assert codes("Bộ Tài chính chủ trì") == [None]


def test_separators_bullets_newlines_and_remarks():
    cell = "- Bộ Tài chính (chủ trì);\n+ Bộ Công an\n• Bộ Y tế (phối hợp)\n- Văn phòng Chính phủ / Bộ Tư pháp"
    ms = STD.split(cell)
    assert [m.code for m in ms] == ["BTC", "BCA", "BYT", "VPCP", "BTP"]
    assert ms[0].text == "Bộ Tài chính"
    assert codes("1. Bộ Tài chính\n2) Bộ Công an\na) Bộ Y tế") == ["BTC", "BCA", "BYT"]
    assert codes("Bộ Tài chính (chủ trì, phối hợp với Bộ Công an), Bộ Y tế") == ["BTC", "BYT"]
    assert codes("Bộ Tài chính (chủ trì") == ["BTC"]  # unclosed remark


def test_footnote_marks_and_markdown_bold_are_ignored():
    assert codes("**Bộ Y tế**¹") == ["BYT"]
    assert codes("Các bộ, ngành, địa phương (*)") == ["BO_NGANH_DP"]
    assert codes("Bộ Công an[2], Bộ Quốc phòng³") == ["BCA", "BQP"]
    (m,) = STD.split("Bộ Y tế²")
    assert m.text == "Bộ Y tế"


def test_leading_cac_is_tried_without_as_a_fallback():
    d = Directory.from_mapping({"units": [{"code": "TDH", "name": "Trường đại học"}]})
    (m,) = d.split("Các trường đại học")
    assert (m.code, m.text) == ("TDH", "Các trường đại học")
    assert d.resolve("các Trường đại học").code == "TDH"
    # the group with "Các" in its own name still wins over "Bộ, ngành" without it
    assert STD.resolve("Các bộ, ngành").code == "CAC_BO_NGANH"
    assert codes("Bộ Công an và các địa phương") == ["BCA", "CAC_DP"]


def test_empty_or_separator_only_cells_give_nothing():
    for cell in ("", "   ", "-", "\n", ", ;", "(chủ trì)"):
        assert STD.split(cell) == []


def test_codes_and_abbreviations_resolve():
    assert STD.resolve("bkhcn").code == "BKHCN"
    assert STD.get("bkhcn").code == "BKHCN"
    assert STD.resolve("Bộ KH&ĐT").code == "BTC"
    assert STD.resolve("NHNN").code == "NHNN"
    assert STD.resolve("Bộ TN&MT").code == "BNNMT"
    assert STD.resolve("Ban Tuyên giáo Trung ương").code == "BTGDVTW"
    assert STD.resolve("Không có cơ quan này") is None
    (m,) = STD.split("VTV")
    assert m.via == "code"


def test_the_same_unknown_phrase_is_reported_once():
    assert [m.text for m in STD.split("Trường A; Trường  A; Bộ Y tế")] == ["Trường A", "Bộ Y tế"]


def test_splitting_many_cells_gives_the_same_answers():
    # Sanity only (no timing): the splitter is used for 100,000 rows per load.
    cells = [row[c] for row in TASKS.values() for c in (LEAD, COORD)]
    first = [STD.split(c) for c in cells]
    for _ in range(20):
        assert [STD.split(c) for c in cells] == first


# --- the standard directory ------------------------------------------------------------------


def test_standard_directory_has_the_14_ministries_of_2025():
    ministries = {e.name for e in STD.units.values() if e.kind == "ministry"}
    assert ministries == {
        "Bộ Quốc phòng", "Bộ Công an", "Bộ Ngoại giao", "Bộ Nội vụ", "Bộ Tư pháp", "Bộ Tài chính",
        "Bộ Công Thương", "Bộ Nông nghiệp và Môi trường", "Bộ Xây dựng", "Bộ Văn hóa, Thể thao và Du lịch",
        "Bộ Khoa học và Công nghệ", "Bộ Giáo dục và Đào tạo", "Bộ Y tế", "Bộ Dân tộc và Tôn giáo",
    }


@pytest.mark.parametrize("former,successor", [
    ("Bộ Kế hoạch và Đầu tư", "BTC"),
    ("Ủy ban Quản lý vốn nhà nước tại doanh nghiệp", "BTC"),
    ("Bộ Thông tin và Truyền thông", "BKHCN"),
    ("Bộ Tài nguyên và Môi trường", "BNNMT"),
    ("Bộ Nông nghiệp và Phát triển nông thôn", "BNNMT"),
    ("Bộ Giao thông vận tải", "BXD"),
    ("Bộ Lao động - Thương binh và Xã hội", "BNV"),
    ("Ủy ban Dân tộc", "BDTTG"),
    ("Sở Kế hoạch và Đầu tư", "STC"),
    ("Sở Thông tin và Truyền thông", "SKHCN"),
    ("Sở Giao thông vận tải", "SXD"),
    ("Sở Lao động, Thương binh và Xã hội", "SNV"),
    ("Đài Phát thanh và Truyền hình tỉnh", "BAO_PTTH_TINH"),
])
def test_merged_agencies_resolve_to_their_successor(former, successor):
    (m,) = STD.split(former)
    assert (m.code, m.via) == (successor, "former_name")


def test_standard_codes_are_ascii_upper_case_and_kinds_are_known():
    for code, e in STD.units.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", code), code
        assert e.kind in KINDS and e.is_group == (e.kind == "group")


def test_provincial_departments_group_lists_every_standard_department():
    group = STD.get("SO_BAN_NGANH")
    assert group.is_group
    departments = {c for c, e in STD.units.items() if e.kind == "department"}
    assert set(group.members) == departments
    assert {"STC", "SKHCN", "SNNMT", "CONGAN_TINH"} <= departments


def test_standard_file_ignores_committee_and_is_cached():
    data = yaml.safe_load(STANDARD_PATH.read_text(encoding="utf-8"))
    assert data["committee"] is None
    assert Directory.standard() is Directory.standard()


# --- overlay -------------------------------------------------------------------------------------

COMMITTEE = {
    "committee": {"name": "Ban Chỉ đạo thử"},
    "people": [{"id": "chair", "name": "A", "role": "chair"}],
    "settings": {"due_soon_days": 7},
    "units": [
        {"code": "UBND_BN", "name": "Ủy ban nhân dân tỉnh Bắc Nam", "aliases": ["UBND", "UBND tỉnh"], "kind": "province"},
        {"code": "CAT", "name": "Công an tỉnh", "kind": "department"},
        {"code": "SYT", "name": "Sở Y tế tỉnh Bắc Nam", "aliases": ["Sở Y tế"], "kind": "department",
         "notify": ["mailto://syt@bacnam.example"]},
    ],
    "groups": [{"code": "SO_NGANH_BN", "name": "Các sở, ngành tỉnh Bắc Nam", "aliases": ["Các sở, ban, ngành"],
                "members": ["SYT", "CAT", "STC"]}],
}


def test_overlay_committee_names_win_and_the_standard_still_resolves():
    top = Directory.from_mapping(COMMITTEE, source="bacnam.yaml", base=STD)
    d = STD.overlay(top)
    assert d.resolve("UBND").code == "UBND_BN"                 # the committee's alias wins
    assert d.get("SYT").name == "Sở Y tế tỉnh Bắc Nam"         # same code: the committee's entry
    assert codes("Các sở, ban, ngành; Bộ Tài chính; Sở Tài chính", d) == ["SO_NGANH_BN", "BTC", "STC"]
    assert d.resolve("Sở Kế hoạch và Đầu tư").code == "STC"    # untouched standard names resolve
    # the standard directory itself is unchanged
    assert STD.resolve("UBND").code == "UBND_TINH"
    assert STD.get("SYT").name == "Sở Y tế"


def test_overlay_claiming_a_standard_name_takes_over_its_other_names():
    d = STD.overlay(Directory.from_mapping(COMMITTEE, source="bacnam.yaml", base=STD))
    assert d.resolve("Công an tỉnh").code == "CAT"
    assert d.resolve("CA tỉnh").code == "CAT"                  # standard alias of CONGAN_TINH
    assert d.resolve("Sở, ban, ngành").code == "SO_NGANH_BN"   # standard alias of SO_BAN_NGANH
    assert d.resolve("Ủy ban nhân dân tỉnh").code == "UBND_TINH"  # only an alias was claimed


def test_notify_urls_are_never_in_the_repr():
    top = Directory.from_mapping(COMMITTEE, source="bacnam.yaml", base=STD)
    assert "bacnam.example" not in repr(top.get("SYT"))
    assert top.get("SYT").notify == ("mailto://syt@bacnam.example",)


def test_a_directory_file_loads_with_group_members_from_its_base(tmp_path):
    path = tmp_path / "dir.yaml"
    path.write_text(yaml.safe_dump(COMMITTEE, allow_unicode=True), encoding="utf-8")
    d = Directory.load(path, base=STD)
    assert d.get("SO_NGANH_BN").members == ("SYT", "CAT", "STC")
    assert d.get("SO_NGANH_BN").kind == "group"


# --- errors ------------------------------------------------------------------------------------


def _error(data: object, **kw: object) -> str:
    with pytest.raises(DirectoryError) as ei:
        Directory.from_mapping(data, source="dm.yaml", **kw)  # type: ignore[arg-type]
    return str(ei.value)


def test_duplicate_code_names_both_items():
    msg = _error({"units": [{"code": "STC", "name": "Sở Tài chính"}, {"code": "STC", "name": "Sở Tài chính 2"}]})
    assert msg.startswith("dm.yaml: units[1]") and "'STC'" in msg and "units[0]" in msg


def test_unknown_group_member_is_named():
    msg = _error({"units": [{"code": "SYT", "name": "Sở Y tế"}],
                  "groups": [{"code": "G", "name": "Nhóm", "members": ["SYT", "SXX"]}]})
    assert "groups[0]" in msg and "'members'" in msg and "'SXX'" in msg


def test_member_known_only_in_the_standard_needs_the_base():
    data = {"groups": [{"code": "G", "name": "Nhóm", "members": ["STC"]}]}
    assert "'STC'" in _error(data)
    assert Directory.from_mapping(data, base=STD).get("G").members == ("STC",)


@pytest.mark.parametrize("data,needles", [
    ({"units": [{"code": "A", "name": "Sở A"}, {"code": "B", "name": "Sở B", "aliases": ["Sở  a"]}]},
     ["units[1]", "'aliases'", "'Sở a'", "units[0]"]),
    ({"units": [{"code": "A", "name": "Sở A", "alias": ["X"]}]}, ["units[0]", "'alias'"]),
    ({"units": [{"code": "A", "name": "Sở A", "kind": "minstry"}]}, ["units[0]", "'kind'", "minstry"]),
    ({"units": [{"code": "A"}]}, ["units[0]", "'name'"]),
    ({"units": [{"name": "Sở A"}]}, ["units[0]", "'code'"]),
    ({"units": [{"code": 12, "name": "Sở A"}]}, ["units[0]", "'code'", "12"]),
    ({"units": [{"code": "stc", "name": "Sở A"}]}, ["units[0]", "'code'", "stc"]),
    ({"units": [{"code": "A", "name": "Sở A", "parent": "NOPE"}]}, ["units[0]", "'parent'", "NOPE"]),
    ({"units": [{"code": "A", "name": "Sở A", "aliases": "Sở AA", "former_names": [3]}]},
     ["units[0]", "'former_names'"]),
    ({"units": {"code": "A"}}, ["units", "danh sách"]),
    ({"units": ["Sở A"]}, ["units[0]"]),
    ({"unit": []}, ["'unit'"]),
    (["Sở A"], ["dm.yaml"]),
    ({"groups": [{"code": "G", "name": "Nhóm", "members": ["G"]}]}, ["groups[0]", "'G'"]),
])
def test_bad_directory_shapes_are_refused_naming_item_and_field(data, needles):
    msg = _error(data)
    assert msg.startswith("dm.yaml")
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_notify_values_are_not_echoed_in_errors():
    msg = _error({"units": [{"code": "A", "name": "Sở A", "notify": ["mailto://a@x.example", 5]}]})
    assert "'notify'" in msg and "mailto" not in msg


def test_committee_people_and_settings_are_ignored_by_the_directory():
    d = Directory.from_mapping({"committee": {"x": 1}, "people": [1, 2], "settings": None, "units": None})
    assert len(d) == 0 and d.split("Bộ Y tế") == [UnitMatch("Bộ Y tế", None, "unknown", 0, 7)]


def test_invalid_yaml_file_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("units:\n  - code: A\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as ei:
        Directory.load(path)
    assert str(path) in str(ei.value) and "dòng" in str(ei.value)


def test_shape_error_in_a_file_names_the_yaml_line(tmp_path):
    path = tmp_path / "dir.yaml"
    path.write_text("units:\n  - code: A\n    name: Sở A\n  - code: A\n    name: Sở B\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as ei:
        Directory.load(path)
    assert "units[1] (dòng 4)" in str(ei.value)


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(DirectoryError, match="không đọc được"):
        Directory.load(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DirectoryError, match="rỗng"):
        Directory.load(empty)


def test_unit_entry_defaults():
    e = UnitEntry(code="X", name="Đơn vị X")
    assert (e.kind, e.aliases, e.is_group, e.parent) == ("unit", (), False, None)
    assert isinstance(STANDARD_PATH, Path) and STANDARD_PATH.name == "standard-directory.yaml"


def test_a_units_signing_key_is_read_in_the_form_keys_show_prints(tmp_path):
    import base64

    raw = bytes(range(32))
    key = "ed25519:" + base64.b64encode(raw).decode()
    f = tmp_path / "d.yaml"
    f.write_text(f"units:\n  - code: LS\n    name: Tỉnh Lâm Sơn\n    signing_key: '  {key} '\n"
                 "groups:\n  - code: G\n    name: Các tỉnh\n    members: [LS]\n", encoding="utf-8")
    d = Directory.load(f)
    assert d.get("LS").signing_key == key and d.get("G").signing_key is None
    for bad in ("ed25519:" + base64.b64encode(raw[:31]).decode(), base64.b64encode(raw).decode(), "ed25519:!!", "5"):
        f.write_text(f"units:\n  - code: LS\n    name: Tỉnh Lâm Sơn\n    signing_key: '{bad}'\n", encoding="utf-8")
        with pytest.raises(DirectoryError) as e:
            Directory.load(f, lang="en")
        assert str(e.value).startswith(f"{f}: units[0] (line 2) (code 'LS'): field 'signing_key' must be"), str(e.value)
    f.write_text(f"groups:\n  - code: G\n    name: Các tỉnh\n    signing_key: '{key}'\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match="signing_key"):  # a group sends no snapshots
        Directory.load(f)


_VIETNAMESE_LETTERS = set("ạảãàáâậầấẩẫăắằặẳẵđêếềệểễôốồộổỗơớờợởỡưứừựửữíìịỉĩóòọỏõúùụủũýỳỵỷỹ")


@pytest.mark.parametrize("text", [
    "units: [{code: X1, name: A}, {code: X1, name: B}]\n",
    "units: [{code: 5, name: A}]\n",
    "units: [{code: bad code, name: A}]\n",
    "units: [{code: X1, name: A, colour: red}]\n",
    "units: {code: X1}\n",
    "unitz: []\n",
    "units: [{code: X1, name: A, kind: planet}]\n",
    "groups: [{code: G1, name: Nhom, members: [NOPE]}]\n",
    "units: [{code: X1, name: '  '}]\n",
    "units: [{code: X1, name: Alpha}, {code: X2, name: alpha}]\n",
    "units: [unclosed\n",
    "",
])
def test_directory_errors_come_in_english_when_asked(text):
    with pytest.raises(DirectoryError) as vi:
        Directory.from_yaml(text, source="dir.yaml")
    with pytest.raises(DirectoryError) as en:
        Directory.from_yaml(text, source="dir.yaml", lang="en")
    assert str(en.value).startswith("dir.yaml: ")
    assert not _VIETNAMESE_LETTERS & set(str(en.value).lower()), str(en.value)
    assert _VIETNAMESE_LETTERS & set(str(vi.value).lower()), str(vi.value)


def test_directory_file_errors_come_in_english_from_steer_directory_load_lang_en(tmp_path, db_url):
    p = tmp_path / "d.yaml"
    p.write_text("committee: {name: BCĐ, timezone: Mars/Olympus}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["--db", db_url, "--lang", "en", "directory", "load", str(p)])
    assert r.exit_code == 1
    assert "committee.timezone: the time zone «Mars/Olympus» does not exist" in r.output
    r = CliRunner().invoke(app, ["--db", db_url, "directory", "load", str(p)])
    assert r.exit_code == 1 and "múi giờ «Mars/Olympus» không tồn tại" in r.output

"""engine.documents: official documents as evidence, read from the way units write them."""

from __future__ import annotations

from datetime import date

import pytest

from engine.documents import check_document, find_documents, parse_document, reused_documents

QD, CV, KH, NQ, BC = "Quyết định", "Công văn", "Kế hoạch", "Nghị quyết", "Báo cáo"

# text -> (type, number, symbol, date, issuer)
CASES: list[tuple[str, tuple[str, str, str, date | None, str]]] = [
    ("Quyết định số 1234/QĐ-UBND ngày 15/7/2025 của UBND tỉnh", (QD, "1234", "QĐ-UBND", date(2025, 7, 15), "UBND tỉnh")),
    ("Công văn 567/UBND-KT", (CV, "567", "UBND-KT", None, "UBND")),
    ("Kế hoạch số 45/KH-UBND ngày 03/3/2025", (KH, "45", "KH-UBND", date(2025, 3, 3), "UBND")),
    ("Kế hoạch số 45/KH-UBND ngày 03 tháng 3 năm 2025 của UBND tỉnh Lạng Sơn",
     (KH, "45", "KH-UBND", date(2025, 3, 3), "UBND tỉnh Lạng Sơn")),
    ("QĐ 1234/QĐ-UBND ngày 15-07-2025", (QD, "1234", "QĐ-UBND", date(2025, 7, 15), "UBND")),
    ("quyết định số 88/QĐ-SYT ngày 1.8.2025", (QD, "88", "QĐ-SYT", date(2025, 8, 1), "SYT")),
    ("Quyet dinh so 99/QD-UBND ngay 2/9/2025 cua UBND huyen", ("Quyết định", "99", "QD-UBND", date(2025, 9, 2), "UBND huyen")),
    ("567/UBND-KT", (CV, "567", "UBND-KT", None, "UBND")),
    ("CV số 1020/SYT-NVY ngày 20/8/2025", (CV, "1020", "SYT-NVY", date(2025, 8, 20), "SYT")),
    ("Công văn số 2345/STTTT-CĐS ngày 05/9/2025 của Sở Thông tin và Truyền thông",
     (CV, "2345", "STTTT-CĐS", date(2025, 9, 5), "Sở Thông tin và Truyền thông")),
    ("Nghị quyết số 57-NQ/TW ngày 22/12/2024 của Bộ Chính trị", (NQ, "57", "NQ/TW", date(2024, 12, 22), "Bộ Chính trị")),
    ("NQ 57-NQ/TW", (NQ, "57", "NQ/TW", None, "TW")),
    ("Chỉ thị số 12-CT/TU ngày 10/01/2025", ("Chỉ thị", "12", "CT/TU", date(2025, 1, 10), "TU")),
    ("Nghị định số 13/2023/NĐ-CP ngày 17/4/2023 của Chính phủ",
     ("Nghị định", "13", "2023/NĐ-CP", date(2023, 4, 17), "Chính phủ")),
    ("Thông tư số 01/2025/TT-BNV", ("Thông tư", "01", "2025/TT-BNV", None, "BNV")),
    ("Báo cáo số 321/BC-SNV ngày 30/9/2025", (BC, "321", "BC-SNV", date(2025, 9, 30), "SNV")),
    ("BC 321/BC-SNV", (BC, "321", "BC-SNV", None, "SNV")),
    ("Thông báo số 77/TB-VPUBND ngày 11/6/2025", ("Thông báo", "77", "TB-VPUBND", date(2025, 6, 11), "VPUBND")),
    ("Tờ trình số 15/TTr-STC ngày 02/10/2025", ("Tờ trình", "15", "TTr-STC", date(2025, 10, 2), "STC")),
    ("Hướng dẫn số 05/HD-SKHCN ngày 14/5/2025", ("Hướng dẫn", "05", "HD-SKHCN", date(2025, 5, 14), "SKHCN")),
    ("Chương trình số 03/CTr-UBND", ("Chương trình", "03", "CTr-UBND", None, "UBND")),
    ("Đề án số 02/ĐA-UBND ngày 20/2/2025", ("Đề án", "02", "ĐA-UBND", date(2025, 2, 20), "UBND")),
    ("Công điện số 06/CĐ-UBND ngày 08/9/2025", ("Công điện", "06", "CĐ-UBND", date(2025, 9, 8), "UBND")),
    ("Giấy mời số 210/GM-SYT", ("Giấy mời", "210", "GM-SYT", None, "SYT")),
    ("Biên bản số 09/BB-STNMT ngày 12/8/2025", ("Biên bản", "09", "BB-STNMT", date(2025, 8, 12), "STNMT")),
    ("Quy chế số 01/QC-BCĐ", ("Quy chế", "01", "QC-BCĐ", None, "BCĐ")),
    ("Kết luận số 123-KL/TW ngày 24/01/2025", ("Kết luận", "123", "KL/TW", date(2025, 1, 24), "TW")),
    ("Phương án số 4/PA-UBND", ("Phương án", "4", "PA-UBND", None, "UBND")),
    ("Quyết định 1234 / QĐ - UBND ngày 15/7/2025", (QD, "1234", "QĐ-UBND", date(2025, 7, 15), "UBND")),
    ("QUYẾT ĐỊNH SỐ 500/QĐ-UBND NGÀY 01/6/2025", (QD, "500", "QĐ-UBND", date(2025, 6, 1), "UBND")),
    ("Đã ban hành Quyết định số 1234/QĐ-UBND ngày 15/7/2025", (QD, "1234", "QĐ-UBND", date(2025, 7, 15), "UBND")),
    ("Kế hoạch số 45a/KH-UBND", (KH, "45a", "KH-UBND", None, "UBND")),
    ("Văn bản số 890/UBND-VX ngày 3/10/2025 của UBND tỉnh về việc triển khai",
     (CV, "890", "UBND-VX", date(2025, 10, 3), "UBND tỉnh")),
    ("Công văn số 890/UBND-VX do UBND tỉnh ban hành", (CV, "890", "UBND-VX", None, "UBND tỉnh")),
    ("QĐ số 15/QĐ-BCĐ ngày 5/5/2025 (Ban Chỉ đạo)", (QD, "15", "QĐ-BCĐ", date(2025, 5, 5), "BCĐ")),
    ("Số 1234/QĐ-UBND ngày 15/7/2025", (QD, "1234", "QĐ-UBND", date(2025, 7, 15), "UBND")),
    ("số 1234/QĐ-UBND", (QD, "1234", "QĐ-UBND", None, "UBND")),
    ("Quyết định số 1234/QĐ-UBND, ngày 15/7/2025", (QD, "1234", "QĐ-UBND", date(2025, 7, 15), "UBND")),
    ("Báo cáo 45/BC-UBND ngày 31/12/2024 của UBND huyện Cao Lộc",
     (BC, "45", "BC-UBND", date(2024, 12, 31), "UBND huyện Cao Lộc")),
    ("Kế hoạch 112/KH-UBND, ngày 8 tháng 4 năm 2025", (KH, "112", "KH-UBND", date(2025, 4, 8), "UBND")),
    ("Công văn số 33/SNV-TCBC ngày 7/1/2025 của Sở Nội vụ", (CV, "33", "SNV-TCBC", date(2025, 1, 7), "Sở Nội vụ")),
    ("Nghị quyết 30/NQ-HĐND ngày 10/12/2024 của HĐND tỉnh",
     (NQ, "30", "NQ-HĐND", date(2024, 12, 10), "HĐND tỉnh")),
    ("Quyết định số 2001/QĐ-UBND ngày 31/12/2025.", (QD, "2001", "QĐ-UBND", date(2025, 12, 31), "UBND")),
    ("Thông tư liên tịch số 03/2016/TTLT-BNV-BTC", ("Thông tư liên tịch", "03", "2016/TTLT-BNV-BTC", None, "BNV")),
    ("Luật số 18/2023/QH15", ("Luật", "18", "2023/QH15", None, "")),
]


@pytest.mark.parametrize("text,want", [pytest.param(t, w, id=f"{i:02d}") for i, (t, w) in enumerate(CASES)])
def test_parse_real_style_spellings(text: str, want: tuple) -> None:  # type: ignore[type-arg]
    d = parse_document(text)
    assert d is not None, text
    assert (d.type, d.number, d.symbol, d.date, d.issuer) == want


def test_at_least_forty_spellings() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("text", ["", "Đã hoàn thành", "ngày 15/7/2025", "60%", "xem tệp đính kèm", None,
                                  "http://example.vn/a/b", "12/2025"])
def test_no_document(text: str | None) -> None:
    assert parse_document(text) is None


def test_several_documents_in_one_text() -> None:
    docs = find_documents("Quyết định số 12/QĐ-UBND ngày 1/2/2025; Công văn 567/UBND-KT ngày 3/4/2025 và "
                          "Kế hoạch số 45/KH-SYT")
    assert [(d.type, d.number, d.date) for d in docs] == [
        (QD, "12", date(2025, 2, 1)), (CV, "567", date(2025, 4, 3)), (KH, "45", None)]


def test_reference_and_key() -> None:
    d = parse_document("quyết định số 1234/qđ-ubnd ngày 15/7/2025 của UBND tỉnh")
    assert d is not None
    assert d.reference == "Quyết định số 1234/qđ-ubnd ngày 15/07/2025 của UBND tỉnh"
    same = parse_document("QĐ 1234/QĐ-UBND ngày 15-07-2025")
    assert same is not None and same.key == d.key
    party = parse_document("Nghị quyết số 57-NQ/TW ngày 22/12/2024")
    assert party is not None and party.reference == "Nghị quyết số 57-NQ/TW ngày 22/12/2024 của TW"


def test_checks_future_and_before_plan() -> None:
    d = parse_document("Quyết định số 1/QĐ-UBND ngày 15/7/2025")
    assert d is not None
    assert check_document(d, today=date(2025, 7, 15), plan_issued_on=date(2025, 1, 1)) == []
    assert check_document(d, today=date(2025, 7, 14)) == ["prog.doc_future"]
    assert check_document(d, today=date(2025, 8, 1), plan_issued_on=date(2025, 7, 16)) == ["prog.doc_before_plan"]
    undated = parse_document("Công văn 567/UBND-KT")
    assert undated is not None and check_document(undated, today=date(2000, 1, 1), plan_issued_on=date(2030, 1, 1)) == []


def test_reuse_for_unrelated_tasks_is_flagged() -> None:
    uses = [("a", 1), ("a", 1), ("b", 1), ("b", 2), ("c", 3), ("c", 4)]
    assert reused_documents(uses, {4: 3}) == {"b": {1, 2}}

"""Limits and checks on what people put into Steer: plan files, deadlines (issue 22)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "inputs.deadline_signed": (
        "dấu «{sign}» dính liền với số không phải là một thời hạn (số âm?); hãy viết rõ, ví dụ «6/2025»",
        "a «{sign}» stuck to a number is not a deadline (a negative number?); write it plainly, e.g. «6/2025»",
    ),
    "inputs.too_big": (
        "Tệp «{source}» vượt giới hạn đọc: {what} nhiều hơn {limit:,} (giới hạn {name}). Một phụ lục kế hoạch "
        "bình thường nhỏ hơn nhiều; hãy xóa phần thừa (các đoạn văn, dòng, ô không thuộc bảng nhiệm vụ) hoặc tách "
        "kế hoạch thành nhiều tệp.",
        "File «{source}» exceeds a reading limit: more {what} than {limit:,} (limit {name}). A plan annex is much "
        "smaller; delete what is not part of the task table (paragraphs, rows, cells) or split the plan into "
        "several files.",
    ),
    "inputs.what_paragraphs": ("số đoạn văn", "paragraphs"),
    "inputs.what_rows": ("số dòng", "rows"),
    "inputs.what_cells": ("số ô", "cells"),
    "inputs.what_text": ("số ký tự văn bản", "characters of text"),
    "inputs.what_xml_mb": ("dung lượng nội dung XML (MB)", "MB of XML content"),
    "inputs.read_timeout": (
        "Đọc tệp «{source}» mất quá {seconds:g} giây nên đã dừng. Hãy xóa phần thừa khỏi tệp (hoặc tách kế hoạch "
        "thành nhiều tệp) rồi tải lên lại.",
        "Reading «{source}» took longer than {seconds:g} seconds and was stopped. Delete what is not needed from "
        "the file (or split the plan into several files) and upload it again.",
    ),
    "inputs.read_memory": (
        "Đọc tệp «{source}» cần quá nhiều bộ nhớ nên đã dừng. Hãy xóa phần thừa khỏi tệp rồi tải lên lại.",
        "Reading «{source}» needed too much memory and was stopped. Delete what is not needed from the file and "
        "upload it again.",
    ),
    "inputs.read_crashed": (
        "Không đọc được tệp «{source}»: tiến trình đọc tệp dừng bất thường. Hãy mở tệp bằng Word/Excel, lưu lại "
        "rồi tải lên lại.",
        "Could not read «{source}»: the reading process stopped unexpectedly. Open the file in Word/Excel, save "
        "it again and upload it again.",
    ),
    # --- engine/yamltext.py: any YAML file read from bytes (directory, indicators)
    "inputs.yaml_what_file": ("Tệp", "File"),
    "inputs.yaml_at": (" (dòng {line}, cột {column})", " (line {line}, column {column})"),
    "inputs.yaml_not_utf8": ("{what} «{source}» không phải văn bản UTF-8 (có phải tệp YAML không?).",
                             "{what} «{source}» is not UTF-8 text (is it a YAML file?)."),
    "inputs.yaml_syntax": ("{what} «{source}» có lỗi cú pháp YAML{at}: {problem}.",
                           "{what} «{source}» has a YAML syntax error{at}: {problem}."),
    "inputs.yaml_too_deep": ("{what} «{source}» lồng nhau quá sâu (danh sách/bảng trong nhau hàng nghìn cấp); "
                             "không đọc được.",
                             "{what} «{source}» is nested too deeply (lists/mappings thousands of levels deep); "
                             "it cannot be read."),
    "inputs.yaml_bad_value": ("{what} «{source}» có giá trị không đọc được ({reason}); hãy đặt giá trị đó trong "
                              "dấu nháy.",
                              "{what} «{source}» has a value that cannot be read ({reason}); put that value in "
                              "quotes."),
    "inputs.yaml_nul": ("{what} «{source}» có ký tự NUL (\\0 hoặc \\x00 trong chuỗi đặt trong dấu nháy kép): "
                        "cơ sở dữ liệu không lưu được ký tự này; hãy xóa nó.",
                        "{what} «{source}» contains a NUL character (\\0 or \\x00 in a double-quoted string): "
                        "the database cannot store it; delete it."),
}

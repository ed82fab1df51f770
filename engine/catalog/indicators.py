"""Indicators (KPIs): loading indicator files, recording values, periods (engine.indicators)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "kpi.period_year_range": ("Kỳ «{period}»: năm {year} nằm ngoài khoảng 2000–2100.",
                              "Period «{period}»: the year {year} is outside 2000–2100."),
    "kpi.period_no_month": ("Kỳ «{period}»: không có tháng {month} (chỉ có tháng 1–12).",
                            "Period «{period}»: there is no month {month} (only months 1–12)."),
    "kpi.period_invalid": ("Kỳ báo cáo «{period}» không hợp lệ; dùng một trong các dạng: {examples}.",
                           "Invalid reporting period «{period}»; use one of the forms: {examples}."),
    "kpi.period_examples": ("2025-10 (tháng), 2025-Q3 (quý), 2025-H1 (6 tháng), 2025 (năm)",
                            "2025-10 (month), 2025-Q3 (quarter), 2025-H1 (half year), 2025 (year)"),
    "kpi.file_bad_suffix": ("Tệp «{source}» có đuôi «{suffix}» không được hỗ trợ; cần một trong: {accepted}.",
                            "The file «{source}» has the unsupported extension «{suffix}»; use one of: {accepted}."),
    "kpi.no_suffix": ("(không có)", "(none)"),
    "kpi.file_not_found": ("Không tìm thấy tệp «{source}».", "File «{source}» not found."),
    "kpi.file_cannot_open": ("Không mở được tệp «{source}» ({reason}).", "Cannot open the file «{source}» ({reason})."),
    "kpi.file_empty": ("Tệp «{source}» trống: không có chỉ tiêu nào để nạp.",
                       "The file «{source}» is empty: no indicator to load."),
    "kpi.no_indicators_loaded": ("Không có chỉ tiêu mã «{code}»: chưa nạp chỉ tiêu nào (dùng «steer kpi load»).",
                                 "No indicator with code «{code}»: no indicator is loaded yet (use «steer kpi load»)."),
    "kpi.no_indicator": ("Không có chỉ tiêu mã «{code}».{hint}", "No indicator with code «{code}».{hint}"),
    "kpi.codes_available": (" Ví dụ mã có sẵn: {codes}.", " Codes available include: {codes}."),
    "kpi.value_not_number": ("Giá trị «{value}» của chỉ tiêu {code} không phải là một số "
                             "(mục tiêu «{target}»; ví dụ 72,63 hoặc 72.63).",
                             "The value «{value}» of indicator {code} is not a number "
                             "(target «{target}»; e.g. 72.63 or 72,63)."),
    "kpi.value_needed_number": ("Chỉ tiêu {code}, kỳ {period}: cần một giá trị (số).",
                                "Indicator {code}, period {period}: a value (a number) is needed."),
    "kpi.value_needed_text": ("Chỉ tiêu {code}, kỳ {period}: cần một giá trị (số hoặc mô tả).",
                              "Indicator {code}, period {period}: a value (a number or a description) is needed."),
    "kpi.value_invalid": ("Giá trị «{value}» không hợp lệ.", "The value «{value}» is invalid."),
}

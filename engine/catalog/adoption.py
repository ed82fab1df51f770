"""Plan adoption: units issuing their own implementing plan (engine.adoption)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "adopt.no_unit_plan": ("Không có kế hoạch của đơn vị mã «{code}».{hint}", "No unit plan with code «{code}».{hint}"),
    "adopt.unit_missing": ("Thiếu cơ quan, đơn vị (mã hoặc tên).", "The unit is missing (its code or name)."),
    "adopt.unit_unknown": ("Không tìm thấy cơ quan, đơn vị «{text}» trong danh mục.{hint}",
                           "No unit «{text}» in the directory.{hint}"),
    "adopt.see_directory": (" Xem danh mục bằng «steer directory list».", " See the directory with «steer directory list»."),
    "adopt.group": ("«{name}» là một nhóm cơ quan; hãy ghi nhận kế hoạch của từng cơ quan.",
                    "«{name}» is a group of units; register the plan of each unit."),
    "adopt.own_child": ("Kế hoạch «{code}» không thể là kế hoạch triển khai của chính nó.",
                        "Plan «{code}» cannot be its own implementing plan."),
    "adopt.document_needed": ("Cần số, ký hiệu văn bản kế hoạch của đơn vị (--document), ví dụ «Kế hoạch số 12/KH-SNV».",
                              "The number of the unit's plan document is needed (--document), e.g. «Kế hoạch số 12/KH-SNV»."),
    "adopt.issued_before_parent": ("Ngày ban hành {issued_on:%d/%m/%Y} trước ngày ban hành kế hoạch «{code}» ({parent_on:%d/%m/%Y}).",
                                   "Issue date {issued_on:%d/%m/%Y} is before the issue date of plan «{code}» ({parent_on:%d/%m/%Y})."),
    "adopt.issued_too_late": ("Ngày ban hành {issued_on:%d/%m/%Y} không hợp lệ (ở quá xa trong tương lai).",
                              "Issue date {issued_on:%d/%m/%Y} is invalid (too far in the future)."),
    "adopt.bad_expected": ("Cách tính đơn vị cần ban hành kế hoạch «{expected}» không hợp lệ; dùng lead_units, "
                           "departments hoặc danh sách mã đơn vị.",
                           "Invalid way «{expected}» of choosing the units that must issue a plan; use lead_units, "
                           "departments or a list of unit codes."),
}

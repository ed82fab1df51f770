"""Looking up plans and units by what a person typed (engine.queries, engine.adoption, engine.indicators)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "query.no_plan": ("Không có kế hoạch mã «{code}».{hint}", "No plan with code «{code}».{hint}"),
    "query.plans_known": (" Các kế hoạch hiện có: {codes}.", " Plans available: {codes}."),
    "query.plans_loaded": (" Các kế hoạch đã nạp: {codes}.", " Plans loaded: {codes}."),
    "query.no_plans_loaded": (" Chưa có kế hoạch nào được nạp.", " No plan has been loaded yet."),
    "query.did_you_mean": (" Có phải: {codes}?", " Did you mean: {codes}?"),
    "query.no_unit": ("Không có đơn vị «{ref}» trong danh mục (dùng mã, tên hoặc tên viết tắt).",
                      "No unit «{ref}» in the directory (use its code, name or short name)."),
}

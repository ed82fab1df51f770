"""Messages of the unit colour rules (engine.heatrules): card reasons, legend, rule errors."""

MESSAGES: dict[str, tuple[str, str]] = {
    "heat.nothing_due": ("Chưa có việc đến hạn (đến {date})", "Nothing due yet (by {date})"),
    "heat.done_of_due": ("{done}/{due} việc đến hạn đã xong", "{done}/{due} items due are done"),
    "heat.overdue_item": ("NV {task} ({days} ngày)", "task {task} ({days} days)"),
    "heat.and_more": (" và {n} việc khác", " and {n} more"),
    "heat.overdue_list": ("{n} quá hạn: {items}", "{n} overdue: {items}"),
    "heat.legend_share": (
        "Màu theo tỷ lệ việc đến hạn (đến {date}) đã hoàn thành: xanh từ {green}, vàng từ {yellow}, đỏ dưới {yellow}; "
        "việc chưa đến hạn không tính.",
        "Colour by the share of items due (by {date}) that are done: green from {green}, yellow from {yellow}, "
        "red below {yellow}; items not yet due are not counted."),
    "heat.legend_section": ("Chỉ tính phần {section} của kế hoạch.", "Plan section {section} only."),
    "heat.rule_share_due": ("Tỷ lệ việc đến hạn đã xong", "Share of due items done"),
    "heat.rule_any_overdue": ("Có việc quá hạn là đỏ", "Any overdue item is red"),
    "heat.unknown_section": ("Kế hoạch {plan} không có phần «{section}»; các phần: {sections}.",
                             "Plan {plan} has no section «{section}»; its sections: {sections}."),
    "heat.section_label": ("Phần của kế hoạch", "Plan section"),
    "heat.all_sections": ("Mọi phần của kế hoạch", "All plan sections"),
    "heat.section_option": ("Phần {section}", "Section {section}"),
    "heat.milestone_label": ("Mốc thời gian (việc đến hạn đến ngày này)", "Milestone (items due by this day)"),
    "heat.rule_label": ("Quy tắc tô màu", "Colour rule"),
    "heat.unknown_rule": ("{where}: không có quy tắc \"{v}\"; dùng một trong: {names}.",
                          "{where}: there is no rule \"{v}\"; use one of: {names}."),
    "heat.yellow_above_green": ("{where}: ngưỡng vàng (yellow_at) không được cao hơn ngưỡng xanh (green_at).",
                                "{where}: the yellow threshold (yellow_at) cannot be above the green one (green_at)."),
    "heat.bad_milestone": ("{where}: \"{v}\" không phải ngày (dạng 2025-08-10).",
                           "{where}: \"{v}\" is not a date (write 2025-08-10)."),
}

"""Recurring tasks: generating their occurrences (engine.recurrence)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "rec.bad_horizon_setting": ("Cấu hình recurrence_horizon_days «{raw}» của Ban Chỉ đạo không phải là số ngày.",
                                "The committee setting recurrence_horizon_days «{raw}» is not a number of days."),
    "rec.horizon_range": ("Khoảng thời gian sinh kỳ phải từ 0 đến {max_days} ngày (đang là {horizon}).",
                          "The generation horizon must be 0 to {max_days} days (it is {horizon})."),
}

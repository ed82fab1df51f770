"""Replaying a scripted progress history (engine.history)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "hist.bad_time": ("thời điểm «{raw}» không hợp lệ (viết \"YYYY-MM-DD HH:MM\", giờ địa phương)",
                      "invalid time «{raw}» (write \"YYYY-MM-DD HH:MM\", local time)"),
    "hist.cannot_read": ("Không đọc được tệp lịch sử «{path}»: {reason}.", "Cannot read the history file «{path}»: {reason}."),
    "hist.where": (" (dòng {line}, cột {column})", " (line {line}, column {column})"),
    "hist.bad_yaml": ("Tệp lịch sử «{path}» có lỗi cú pháp YAML{where}: {problem}.",
                      "The history file «{path}» is not valid YAML{where}: {problem}."),
    "hist.bad_shape": ("Tệp lịch sử «{path}» phải có «plan: MÃ_KẾ_HOẠCH» và «steps:» là một danh sách.",
                       "The history file «{path}» needs «plan: PLAN_CODE» and a «steps:» list."),
    "hist.step_not_mapping": ("mỗi bước phải là một bảng {{at, as, action, item, ...}}",
                              "each step must be a mapping {{at, as, action, item, ...}}"),
    "hist.missing": ("thiếu {keys}", "missing {keys}"),
    "hist.unused_keys": ("khóa không dùng cho «{action}»: {keys}", "keys not used by «{action}»: {keys}"),
    "hist.plan_not_loaded": ("Tệp lịch sử «{path}»: chưa nạp kế hoạch «{plan}».",
                             "History file «{path}»: plan «{plan}» is not loaded."),
    "hist.line": ("dòng {line}, ", "line {line}, "),
    "hist.step_failed": ("{file}: bước {n} ({where}{text}): {error}", "{file}: step {n} ({where}{text}): {error}"),
}

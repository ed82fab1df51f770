"""Actions on work items as commands (``engine.commands``): reading raw input, the
confirmation printed after an action (the CLI, a client of the JSON API), evidence files."""

MESSAGES: dict[str, tuple[str, str]] = {
    # reading raw input (web form, JSON API, CLI, history YAML)
    "act.bad_int": ("«{what}» phải là số nguyên (nhận «{value}»).", "«{what}» must be a whole number (got «{value}»)."),
    "act.bad_percent": ("Tỷ lệ hoàn thành phải là số từ 0 đến 100 (nhận «{value}»).",
                        "Percent must be a number between 0 and 100 (got «{value}»)."),
    "act.until_missing": ("Hãy nhập thời hạn đề nghị gia hạn.", "Give the new deadline (until)."),
    "act.unknown": ("thao tác «{action}» không hợp lệ; dùng: {known}", "unknown action «{action}»; use: {known}"),
    "act.link_refused": ("Đường dẫn này không dùng được cho thao tác đó; vui lòng đăng nhập.",
                         "This link cannot be used for that; please log in."),
    # confirmations (one line after an action)
    "act.done_note": ("Đã ghi nhận tiến độ phần việc {ref} ({ver}).", "Progress note recorded on item {ref} ({ver})."),
    "act.done_request_extension": (
        "Đã gửi đề nghị gia hạn phần việc {ref} đến {until}; chờ Trưởng ban/Phó Trưởng ban phụ trách "
        "hoặc Thường trực quyết định ({ver}).",
        "Extension of item {ref} until {until} requested; awaiting a decision ({ver})."),
    "act.done_approve_extension": ("Đã chấp thuận gia hạn phần việc {ref}: {before} → {after} ({ver}).",
                                   "Extension approved for item {ref}: {before} → {after} ({ver})."),
    "act.done_reject_extension": (
        "Đã không chấp thuận đề nghị gia hạn phần việc {ref}; thời hạn vẫn là {deadline} ({ver}).",
        "Extension request for item {ref} rejected; the deadline stays {deadline} ({ver})."),
    "act.done_status": ("Phần việc {ref}: {before} → {after}{extra} ({ver}).",
                        "Item {ref}: {before} → {after}{extra} ({ver})."),
    "act.on_time": (" — đúng hạn", " — on time"),
    "act.late": (" — trễ hạn", " — late"),
    "act.already_ack": ("Phần việc {ref} đã xác nhận lúc {at} (mức {level}); không ghi nhận thêm.",
                        "Item {ref} was already acknowledged at {at} (level {level}); nothing recorded."),
    "act.done_ack": ("Đã xác nhận nhắc việc phần việc {ref} (mức {level}); sẽ không nhắc lại {name} "
                     "cho đến mức cảnh báo tiếp theo hoặc thời hạn mới.",
                     "Acknowledged item {ref} (level {level}); {name} gets no repeats until the next level "
                     "or a new deadline."),
    # evidence files
    "ev.file_note": ("tệp «{name}» ({size} byte, sha256 {sha256}, lưu {stored})",
                     "file «{name}» ({size} bytes, sha256 {sha256}, stored {stored})"),
    "ev.cannot_read": ("Không đọc được tệp bằng chứng «{path}»: {reason}.",
                       "Cannot read the evidence file «{path}»: {reason}."),
}

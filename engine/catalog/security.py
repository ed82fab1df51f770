"""Messages of the security hardening (issue 22): concurrent plan loads, the audit
checkpoints, the state replay of ``steer audit verify``."""

MESSAGES: dict[str, tuple[str, str]] = {
    "sec.plan_load_conflict": (
        "Kế hoạch «{code}» vừa được tạo hoặc thay đổi bởi một lần nạp khác cùng lúc; không ghi gì. "
        "Hãy chạy lại lệnh nạp (lần nạp sau sẽ so sánh với bản vừa được lưu).",
        "Plan «{code}» already exists: it was created or changed by another load at the same time; nothing "
        "was written. Retry the load (it will compare against the version just saved).",
    ),
    "sec.key_exists": (
        "Tệp khóa «{path}» đã có; không ghi đè (các mốc đã ký bằng khóa cũ sẽ không kiểm được nữa).",
        "The key file «{path}» exists already; not overwritten (checkpoints signed with the old key would no longer verify).",
    ),
    "sec.key_unreadable": ("Không đọc được tệp khóa «{path}»: {error}", "Cannot read the key file «{path}»: {error}"),
    "sec.key_invalid": (
        "Tệp «{path}» không phải khóa Ed25519 dạng PEM (tạo bằng «steer audit keygen»).",
        "«{path}» is not an Ed25519 key in PEM form (make one with «steer audit keygen»).",
    ),
    "sec.key_needed": (
        "Cần tệp khóa: --key hoặc biến môi trường STEER_AUDIT_KEY (tạo bằng «steer audit keygen KEY»).",
        "A key file is needed: --key or the environment variable STEER_AUDIT_KEY (make one with «steer audit keygen KEY»).",
    ),
    "sec.checkpoints_needed": (
        "Cần tệp mốc kiểm toán: --checkpoints hoặc biến môi trường STEER_AUDIT_CHECKPOINTS.",
        "A checkpoint file is needed: --checkpoints or the environment variable STEER_AUDIT_CHECKPOINTS.",
    ),
    "sec.checkpoints_unreadable": (
        "Không đọc được tệp mốc kiểm toán «{path}»: {error}",
        "Cannot read the checkpoint file «{path}»: {error}",
    ),
    "sec.checkpoint_bad_line": (
        "Tệp mốc kiểm toán «{path}», dòng {line}: không phải một mốc hợp lệ.",
        "Checkpoint file «{path}», line {line}: not a valid checkpoint.",
    ),
    "sec.keygen_done": (
        "Đã tạo khóa ký «{path}» (giữ bí mật, ngoài máy chủ cơ sở dữ liệu) và khóa công khai «{pub}».",
        "Created the signing key «{path}» (keep it secret, off the database server) and the public key «{pub}».",
    ),
    "sec.checkpoint_done": (
        "Đã ký mốc kiểm toán tại sự kiện #{event_id} ({count} sự kiện) và ghi vào «{path}».",
        "Signed a checkpoint at event #{event_id} ({count} events) and appended it to «{path}».",
    ),
    "sec.checkpoints_ok": (
        "{n} mốc kiểm toán đã ký khớp với nhật ký (mới nhất: sự kiện #{event_id}).",
        "{n} signed checkpoint(s) match the log (newest: event #{event_id}).",
    ),
    "sec.cp_bad_signature": (
        "mốc dòng {line} (sự kiện #{event_id}): chữ ký không hợp lệ (mốc bị sửa, hoặc khóa khác)",
        "checkpoint on line {line} (event #{event_id}): invalid signature (the checkpoint was altered, or another key)",
    ),
    "sec.cp_other_chain": (
        "mốc dòng {line} (sự kiện #{event_id}): thuộc một nhật ký khác (sự kiện #1 khác)",
        "checkpoint on line {line} (event #{event_id}): belongs to another log (event #1 differs)",
    ),
    "sec.cp_event_missing": (
        "mốc dòng {line}: sự kiện #{event_id} đã ký không còn trong nhật ký (nhật ký hiện dừng ở #{last}): "
        "các sự kiện mới nhất đã bị xóa",
        "checkpoint on line {line}: the signed event #{event_id} is no longer in the log (it now ends at #{last}): "
        "the newest events were deleted",
    ),
    "sec.cp_hash_differs": (
        "mốc dòng {line}: mã băm của sự kiện #{event_id} khác với mã đã ký: một sự kiện đến #{event_id} "
        "đã bị sửa và chuỗi được tính lại",
        "checkpoint on line {line}: the hash of event #{event_id} differs from the signed one: an event up to "
        "#{event_id} was edited and the chain recomputed",
    ),
    "sec.cp_log_shrank": (
        "mốc dòng {line}: đã ký #{event_id} với {count} sự kiện, nay đầu chuỗi ghi #{head} với {head_count}: "
        "nhật ký đã bị cắt bớt",
        "checkpoint on line {line}: signed #{event_id} with {count} events, the head now records #{head} with "
        "{head_count}: the log was truncated",
    ),
    "sec.state_mismatch": (
        "phần việc #{item_id}: trạng thái lưu «{stored}» khác trạng thái theo nhật ký «{replayed}» "
        "(bị sửa không qua sự kiện)",
        "work item #{item_id}: stored status «{stored}» differs from the status its events give «{replayed}» "
        "(changed without an event)",
    ),
}

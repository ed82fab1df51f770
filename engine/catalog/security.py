"""Messages of the security hardening (issue 22): concurrent plan loads, the audit
checkpoints, the state replay of ``steer audit verify``."""

MESSAGES: dict[str, tuple[str, str]] = {
    "sec.plan_load_conflict": (
        "Kế hoạch «{code}» vừa được tạo hoặc thay đổi bởi một lần nạp khác cùng lúc; không ghi gì. "
        "Hãy chạy lại lệnh nạp (lần nạp sau sẽ so sánh với bản vừa được lưu).",
        "Plan «{code}» already exists: it was created or changed by another load at the same time; nothing "
        "was written. Retry the load (it will compare against the version just saved).",
    ),
}

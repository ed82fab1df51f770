"""Escalation: acknowledging reminders and escalations (engine.escalation)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "esc.ack_not_recipient": ("{name} ({pid}) không nhận cảnh báo của phần việc {ref} nên không thể xác nhận.",
                              "{name} ({pid}) does not receive the escalations of item {ref}, so cannot acknowledge them."),
    "esc.ack_nothing": ("Phần việc {ref} chưa có nhắc việc hay cảnh báo nào để xác nhận.",
                        "Item {ref} has no reminder or escalation to acknowledge."),
}

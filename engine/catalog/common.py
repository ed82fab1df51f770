"""Words shared by every area (labels of statuses, roles, generic nouns)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "common.error": ("Lỗi", "Error"),
    "common.database_error": ("Lỗi cơ sở dữ liệu", "Database error"),
    "common.internal_error": ("Lỗi nội bộ", "Internal error"),
    "common.version": ("phiên bản {version}", "version {version}"),
}

"""Messages about the database itself (engine/db.py)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "db.schema_behind": (
        "Cơ sở dữ liệu {url} có lược đồ cũ hơn phiên bản phần mềm (đang ở {current}, cần {head}). "
        "Hãy sao lưu rồi chạy «steer db upgrade» trước khi dùng các lệnh khác.",
        "The database {url} has an older schema than this version of the software (at {current}, needs {head}). "
        "Back it up, then run «steer db upgrade» before any other command."),
    "db.schema_ahead": (
        "Cơ sở dữ liệu {url} được tạo bởi phiên bản Steer mới hơn (lược đồ {current}); hãy cập nhật phần mềm.",
        "The database {url} was made by a newer version of Steer (schema {current}); update the software."),
    "db.schema_foreign": (
        "Cơ sở dữ liệu {url} đã có bảng nhưng không phải của Steer (không có alembic_version). "
        "Hãy dùng một cơ sở dữ liệu trống.",
        "The database {url} already has tables that are not Steer's (no alembic_version). Use an empty database."),
}

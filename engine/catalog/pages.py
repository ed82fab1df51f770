"""Messages of the web pages added in issue 18 (overdue filters, creating a report, evidence
files, the history's non-person actors, plan facts)."""

MESSAGES: dict[str, tuple[str, str]] = {
    # the overdue list's filters and columns
    "pg.filter_unit": ("Đơn vị (mã, tên hoặc tên gọi khác)", "Unit (code, name or alias)"),
    "pg.filter_unit_ph": ("Đơn vị", "Unit"),
    "pg.filter_plan": ("Kế hoạch", "Plan"),
    "pg.filter_level": ("Mức cảnh báo", "Escalation level"),
    "pg.filter_ack": ("Đã nắm được", "Acknowledged"),
    "pg.all_plans": ("Tất cả kế hoạch", "All plans"),
    "pg.all_levels": ("Tất cả mức", "All levels"),
    "pg.ack_any": ("Tất cả", "All"),
    "pg.ack_yes": ("Đã nắm được", "Acknowledged"),
    "pg.ack_no": ("Chưa ai xác nhận", "Not acknowledged"),
    "pg.filter_clear": ("Bỏ lọc", "Clear filters"),
    "pg.days_overdue": ("quá hạn {n} ngày", "{n} days overdue"),
    "pg.col_level": ("Mức cảnh báo", "Level"),
    "pg.acked_badge": ("đã nắm được", "acknowledged"),
    "pg.level_below": ("Quá hạn dưới {days} ngày làm việc", "Overdue less than {days} working days"),
    "pg.level_between": ("Quá hạn {low}–{high} ngày làm việc", "Overdue {low}–{high} working days"),
    "pg.level_from": ("Quá hạn từ {low} ngày làm việc", "Overdue {low} working days or more"),
    "pg.level_to": ("{window} — báo {to}", "{window} — notifies {to}"),
    "pg.level_short": ("Đã báo {to}", "{to} notified"),
    "pg.ack_short": ("Đã nắm được", "Acknowledge"),
    "pg.to_lead_unit": ("đơn vị chủ trì", "the lead unit"),
    "pg.to_secretariat": ("Thường trực", "the secretariat"),
    "pg.to_vice_chair": ("Phó Trưởng ban phụ trách", "the vice-chair in charge"),
    "pg.to_chair": ("Trưởng ban", "the chair"),
    "pg.to_approver": ("người phê duyệt", "the approver"),
    "pg.showing": ("Hiển thị {first}–{last} trong {total}", "Showing {first}–{last} of {total}"),
    "pg.page_of": ("Trang {page}/{pages}", "Page {page} of {pages}"),
    "pg.pager": ("Phân trang", "Pages"),
    # creating a report from the web
    "pg.new_report": ("Lập báo cáo", "Create a report"),
    "pg.new_report_help": ("Báo cáo được lập theo số liệu hiện tại và lưu lại, như khi lập bằng dòng lệnh; "
                           "sau đó có thể xem và tải về.",
                           "The report is computed from the current figures and stored (as the steer report "
                           "command does); then you can view and download it."),
    "pg.report_kind": ("Loại báo cáo", "Kind"),
    "pg.report_period": ("Kỳ báo cáo", "Period"),
    "pg.report_period_help": ("Chọn một kỳ đã bắt đầu; «Kỳ hiện tại» lấy kỳ của loại báo cáo đã chọn chứa ngày hôm nay. "
                              "Kỳ đã chọn quyết định loại báo cáo.",
                              "Pick a period that has begun; «The current period» is the period of the chosen kind "
                              "containing today. A chosen period decides the kind."),
    "pg.period_current": ("Kỳ hiện tại", "The current period"),
    "pg.report_number": ("số {id}", "no. {id}"),
    "pg.downloads": ("Tải về", "Download"),
    "pg.report_format": ("Định dạng tải về", "Download format"),
    "pg.report_plan": ("Kế hoạch", "Plan"),
    "pg.create_report": ("Lập báo cáo", "Create the report"),
    "pg.report_created": ("Đã lập báo cáo số {id}: {title}.", "Report {id} created: {title}."),
    "pg.report_download_now": ("Tải về: {fmt}", "Download: {fmt}"),
    "pg.breadcrumb": ("Đường dẫn", "Breadcrumb"),
    "pg.back_to_reports": ("← Danh sách báo cáo", "← All reports"),
    "pg.kind_option": ("Báo cáo {kind}", "{kind} report"),
    "pg.report_name": ("Báo cáo {period}", "Report for {period}"),
    "pg.fmt_docx": ("Word (.docx)", "Word (.docx)"),
    "pg.fmt_xlsx": ("Excel (.xlsx)", "Excel (.xlsx)"),
    "pg.fmt_html": ("Trang web (.html)", "Web page (.html)"),
    "pg.fmt_md": ("Văn bản (.md)", "Text (.md)"),
    "pg.fmt_json": ("Dữ liệu (.json)", "Data (.json)"),
    # the item page: who does not do the work comments on it
    "pg.comment_label": ("Ý kiến", "Comment"),
    "pg.act_comment": ("Gửi ý kiến", "Send the comment"),
    "pg.history_empty": ("Chưa có hoạt động nào.", "Nothing has happened yet."),
    # plans list
    "pg.plan_facts": ("{tasks} nhiệm vụ · lần nạp thứ {revision}", "{tasks} tasks · revision {revision}"),
    # evidence files
    "pg.file_details": ("Chi tiết tệp", "File details"),
    "pg.file_size": ("Dung lượng", "Size"),
    "pg.file_sha256": ("Mã kiểm tra SHA-256", "SHA-256 checksum"),
    "pg.file_uploaded": ("Tải lên", "Uploaded"),
    "pg.file_download": ("Tải tệp {name}", "Download {name}"),
    "pg.bytes": ("{n} byte", "{n} bytes"),
    "pg.kb": ("{n} KB", "{n} KB"),
    "pg.mb": ("{n} MB", "{n} MB"),
    # where a plan file's value came from (engine.planfile.spec.SourceRef.label)
    "pg.src_row": ("dòng {row}", "row {row}"),
    "pg.src_column": ("cột «{column}»", "column '{column}'"),
    # the history's actors that are not directory people
    "pg.actor_system": ("hệ thống", "system"),
    "pg.actor_import": ("nạp kế hoạch", "plan import"),
}

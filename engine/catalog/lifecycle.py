"""The life of a work item (engine.states, actors, permissions, refs, days, lifecycle):
labels of statuses, roles and actions, and the refusals of the actions."""

MESSAGES: dict[str, tuple[str, str]] = {
    # statuses (engine.states.status_label)
    "lc.status.not_started": ("Chưa bắt đầu", "Not started"),
    "lc.status.in_progress": ("Đang thực hiện", "In progress"),
    "lc.status.submitted": ("Đã báo cáo hoàn thành, chờ xác nhận", "Submitted, awaiting verification"),
    "lc.status.completed": ("Đã hoàn thành", "Completed"),
    "lc.status.blocked": ("Đang vướng mắc", "Blocked"),
    "lc.status.cancelled": ("Đã hủy", "Cancelled"),
    # roles (engine.states.role_label)
    "lc.role.chair": ("Trưởng ban", "chair"),
    "lc.role.vice_chair": ("Phó Trưởng ban", "vice-chair"),
    "lc.role.secretariat": ("Thường trực/Văn phòng Ban Chỉ đạo", "secretariat"),
    "lc.role.focal_point": ("đầu mối của đơn vị", "unit focal point"),
    "lc.role.viewer": ("người xem", "viewer"),
    # actions (engine.states.action_label)
    "lc.action.start": ("bắt đầu thực hiện", "start"),
    "lc.action.submit": ("báo cáo hoàn thành", "submit"),
    "lc.action.verify": ("xác nhận hoàn thành", "verify"),
    "lc.action.reject": ("trả lại kết quả", "reject the submission"),
    "lc.action.block": ("báo vướng mắc", "report a blocker"),
    "lc.action.unblock": ("gỡ vướng mắc", "unblock"),
    "lc.action.cancel": ("hủy", "cancel"),
    "lc.action.reopen": ("mở lại", "reopen"),
    "lc.action.note": ("ghi nhận tiến độ", "add a progress note"),
    "lc.action.request_extension": ("đề nghị gia hạn", "request an extension"),
    "lc.action.decide_extension": ("quyết định gia hạn", "decide on an extension"),
    "lc.action.override": ("cho phép làm trước khi nhiệm vụ tiên quyết hoàn thành", "override a dependency"),
    # actors
    "lc.person_unknown": ("không có", "is unknown"),
    "lc.person_inactive": ("đã ngừng hoạt động", "is inactive"),
    "lc.people_hint": (" Ví dụ: {known}.", " For example: {known}."),
    "lc.people_none": (" Chưa có ai trong danh bạ.", " The directory has no people yet."),
    "lc.unknown_person": ("Người dùng «{pid}» {what} trong danh bạ. Xem danh sách bằng lệnh "
                          "«steer directory show».{hint}",
                          "Person «{pid}» {what} in the directory. See who is there with "
                          "«steer directory show».{hint}"),
    # permissions
    "lc.no_unit": ("không đơn vị nào", "no unit"),
    "lc.denied_viewer": ("{who} là {role}, chỉ được xem, không được {label} phần việc {ref}.",
                         "{who} is a {role} and may only view; cannot {label} item {ref}."),
    "lc.denied_other_unit": ("{who} là đầu mối của {unit}, không được xem hay thay đổi phần việc {ref} của đơn vị khác.",
                             "{who} is the focal point of {unit} and cannot see or change item {ref}, "
                             "which belongs to another unit."),
    "lc.denied_extension_decision": (
        "Chỉ Trưởng ban, Phó Trưởng ban phụ trách hoặc Thường trực Ban Chỉ đạo được quyết định gia hạn; {who} là {role}.",
        "Only the chair, the vice-chair in charge or the secretariat may decide an extension; {who} is a {role}."),
    "lc.denied_secretariat_only": (
        "Chỉ Thường trực/Văn phòng Ban Chỉ đạo (hoặc người có thẩm quyền) được {label}; {who} là {role}.",
        "Only the secretariat (or a person with authority) may {label}; {who} is a {role}."),
    "lc.denied_not_in_charge": (
        "{who} không phụ trách phần việc {ref} (không phải Phó Trưởng ban được giao, đơn vị "
        "{unit} không thuộc lĩnh vực phụ trách), nên không được {label}.",
        "{who} is not in charge of item {ref} (not the assigned vice-chair, and unit {unit} "
        "is not among the units they oversee), so cannot {label}."),
    "lc.denied_vice_chair": (
        "Phó Trưởng ban chỉ được ghi ý kiến và quyết định gia hạn; việc {label} do đơn vị chủ trì "
        "hoặc Thường trực Ban Chỉ đạo thực hiện.",
        "A vice-chair may only add notes and decide extensions; to {label} is for the lead unit or the secretariat."),
    "lc.denied": ("{who} không được {label}.", "{who} may not {label}."),
    "lc.denied_unit_items": ("{name} ({pid}) là đầu mối của {unit}, không được xem phần việc của {unit_name} ({unit_code}).",
                             "{name} ({pid}) is the focal point of {unit} and cannot see the items of {unit_name} ({unit_code})."),
    "lc.denied_other_items": ("{name} ({pid}) là đầu mối của {unit}, không được xem phần việc của đơn vị khác.",
                              "{name} ({pid}) is the focal point of {unit} and cannot see another unit's items."),
    # item references
    "lc.ref_missing": ("Thiếu mã phần việc (ví dụ KH-57-LS/12 hoặc #123).",
                       "Missing item reference (e.g. KH-57-LS/12 or #123)."),
    "lc.no_item_number": ("Không có phần việc số {raw}.", "There is no work item {raw}."),
    "lc.no_item_id": ("Không có phần việc số #{id}.", "There is no work item #{id}."),
    "lc.no_task": ("Kế hoạch {plan} không có nhiệm vụ số «{task}» (tham chiếu «{raw}»).",
                   "Plan {plan} has no task «{task}» (reference «{raw}»)."),
    "lc.no_lead_unit": ("Nhiệm vụ {plan}/{task} chưa có đơn vị chủ trì nên chưa có phần việc.",
                        "Task {plan}/{task} has no lead unit, hence no work item."),
    "lc.not_lead_unit": ("Đơn vị «{unit}» không chủ trì nhiệm vụ {plan}/{task}; các đơn vị chủ trì: {units}.",
                         "Unit «{unit}» is not a lead unit of task {plan}/{task}; lead units: {units}."),
    "lc.several_units": ("Nhiệm vụ {plan}/{task} có {n} đơn vị chủ trì: {units}; "
                         "hãy ghi rõ đơn vị, ví dụ {plan}/{task}@{example}.",
                         "Task {plan}/{task} has {n} lead units: {units}; name one, e.g. {plan}/{task}@{example}."),
    "lc.no_occurrence": ("Nhiệm vụ {plan}/{task} không có kỳ «{occ}»; các kỳ: {known}.",
                         "Task {plan}/{task} has no occurrence «{occ}»; occurrences: {known}."),
    "lc.bad_ref": ("Tham chiếu «{raw}» không hợp lệ: dùng KẾ_HOẠCH/NHIỆM_VỤ (ví dụ KH-57-LS/12), "
                   "thêm @ĐƠN_VỊ hoặc #KỲ khi cần, hoặc #SỐ_PHẦN_VIỆC.",
                   "Invalid reference «{raw}»: use PLAN/TASK (e.g. KH-57-LS/12), adding @UNIT or "
                   "#OCCURRENCE when needed, or #ITEM_ID."),
    "lc.plans_known": (" Các kế hoạch hiện có: {known}.", " Known plans: {known}."),
    "lc.plans_none": (" Chưa có kế hoạch nào.", " No plan is loaded."),
    "lc.no_plan_in_ref": ("Không tìm thấy kế hoạch trong tham chiếu «{raw}».{hint}",
                          "No plan matches the reference «{raw}».{hint}"),
    # days
    "lc.bad_day": ("Ngày «{raw}» không hợp lệ; viết YYYY-MM-DD hoặc dd/mm/yyyy (ví dụ 30/09/2025).",
                   "Invalid date «{raw}»; write YYYY-MM-DD or dd/mm/yyyy (e.g. 2025-09-30)."),
    # the actions
    "lc.changed_just_now": ("Phần việc {ref} vừa được người khác thay đổi; hãy tải lại rồi thử lại.",
                            "Item {ref} was just changed by someone else; reload and try again."),
    "lc.changed_by": ("Phần việc {ref} đã được {name} thay đổi lúc {when}; hãy tải lại rồi thử lại.",
                      "Item {ref} was changed by {name} at {when}; reload and try again."),
    "lc.moved_by": (" (do {name} chuyển lúc {when})", " (moved there by {name} at {when})"),
    "lc.allowed_from_here": (" Các thao tác được phép từ trạng thái này: {options}.", " Allowed from this state: {options}."),
    "lc.nothing_allowed": (" Không còn thao tác nào được phép.", " No action is allowed any more."),
    "lc.illegal": ("Không thể {label} phần việc {ref}: phần việc đang ở trạng thái «{status}»{moved}.{tail}",
                   "Cannot {label} item {ref}: it is «{status}»{moved}.{tail}"),
    "lc.text_required": ("Cần nhập {what} để {label}.", "{what} is required to {label}."),
    "lc.what_evidence": ("bằng chứng hoàn thành (số văn bản, đường dẫn hoặc tệp)",
                         "Evidence (a document number, a link or a file path)"),
    "lc.what_reject_reason": ("lý do trả lại", "A reason"),
    "lc.what_block_reason": ("nội dung vướng mắc", "A reason"),
    "lc.what_cancel_reason": ("lý do hủy", "A reason"),
    "lc.what_reopen_reason": ("lý do mở lại", "A reason"),
    "lc.what_note": ("nội dung ghi nhận", "The note text"),
    "lc.what_extension_reason": ("lý do đề nghị gia hạn", "A reason"),
    "lc.what_decline_reason": ("lý do không chấp thuận gia hạn", "A reason"),
    "lc.bad_percent": ("Tỷ lệ hoàn thành phải từ 0 đến 100 (nhận được {percent:g}).",
                       "Percent must be between 0 and 100 (got {percent:g})."),
    "lc.until_not_after_today": ("Thời hạn đề nghị {until} phải sau hôm nay ({today}).",
                                 "The requested deadline {until} must be after today ({today})."),
    "lc.until_not_after_deadline": ("Thời hạn đề nghị gia hạn {until} phải sau thời hạn hiện tại của phần việc {ref} ({deadline}).",
                                    "The requested date {until} must be after the deadline in force of item {ref} ({deadline})."),
    "lc.extension_pending": ("Phần việc {ref} đã có đề nghị gia hạn đến {until} đang chờ quyết định "
                             "(do {name} gửi lúc {at}).",
                             "Item {ref} already has a pending extension request until {until} "
                             "(sent by {name} at {at})."),
    "lc.no_pending_extension": ("Phần việc {ref} không có đề nghị gia hạn nào đang chờ quyết định.",
                                "Item {ref} has no pending extension request."),
    "lc.cannot_extend": ("Không thể gia hạn phần việc {ref}: phần việc đang ở trạng thái «{status}». "
                         "Có thể không chấp thuận đề nghị (reject-extension).",
                         "Cannot extend item {ref}: it is «{status}». The request can still be rejected (reject-extension)."),
    "lc.waiting_for_prerequisite": (
        "Chưa thể {label} phần việc {ref}: phải chờ nhiệm vụ {codes} hoàn thành "
        "trước (nhiệm vụ tiên quyết). Thường trực Ban Chỉ đạo có thể cho phép làm trước bằng "
        "--override \"lý do\".",
        "Cannot {label} item {ref} yet: it depends on task(s) {codes}, not completed. "
        "The secretariat may allow it with --override \"reason\"."),
    "lc.override_secretariat_only": (
        "Chỉ Thường trực/Văn phòng Ban Chỉ đạo được cho phép làm trước khi nhiệm vụ tiên quyết ({codes}) "
        "hoàn thành; {name} ({pid}) không có quyền này.",
        "Only the secretariat may override the unfinished prerequisite(s) {codes}; {name} ({pid}) may not."),
}

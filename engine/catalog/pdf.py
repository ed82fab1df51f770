"""Messages of the PDF plan reader (engine/planfile/read_pdf.py)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "pdf.bad": ("Tệp «{source}» không phải là tệp PDF hợp lệ (không đọc được: {exc}). Hãy mở tệp và lưu/xuất "
                "lại thành PDF, hoặc dùng bản Word/Excel của kế hoạch.",
                "File «{source}» is not a valid PDF file (it cannot be read: {exc}). Open it and save/export it "
                "as PDF again, or use the plan's Word/Excel file."),
    "pdf.encrypted": ("Tệp PDF «{source}» có đặt mật khẩu hoặc mã hóa nên không đọc được. Hãy dùng bản không "
                      "đặt mật khẩu hoặc bản Word/Excel của kế hoạch.",
                      "PDF file «{source}» is password-protected or encrypted and cannot be read. Use a copy "
                      "without a password or the plan's Word/Excel file."),
    "pdf.fix": ("Hãy xuất lại tệp thành PDF hoặc dùng bản Word/Excel của kế hoạch.",
                "Export the file as PDF again or use the plan's Word/Excel file."),
    "pdf.detail": ("nội dung không phải là PDF: một tệp PDF bắt đầu bằng «%PDF»",
                   "the content is not a PDF: a PDF file starts with «%PDF»"),
    "pdf.actual_pdf": ("nội dung thực ra là một tệp PDF — hãy đổi đuôi tệp thành .pdf",
                       "the content is actually a PDF file — change the extension to .pdf"),
    "pdf.no_text_layer": (
        "Tệp PDF «{source}» ({pages} trang) là bản quét: các trang chỉ là hình ảnh, không có lớp chữ, nên "
        "Steer không đọc được bảng nhiệm vụ. Hãy dùng bản PDF xuất trực tiếp từ Word (bản có thể chọn và sao "
        "chép chữ) hoặc bản Word/Excel của kế hoạch; nếu chỉ có bản quét, hãy nhận dạng chữ (OCR) trước rồi "
        "kiểm tra kỹ từng ô.",
        "PDF file «{source}» ({pages} pages) is a scan: its pages are images with no text layer, so Steer "
        "cannot read the task table. Use a PDF exported directly from Word (one whose text can be selected and "
        "copied) or the plan's Word/Excel file; if only a scan exists, run text recognition (OCR) on it first "
        "and check every cell."),
    "pdf.no_table": (
        "Tệp PDF «{source}» ({pages} trang) không có bảng nhiệm vụ đọc được: cần một bảng có kẻ khung với hàng "
        "tiêu đề như «TT», «Tên nhiệm vụ», «Cơ quan chủ trì», «Thời gian hoàn thành». Bảng không kẻ khung "
        "chưa được hỗ trợ: hãy dùng bản Word/Excel của kế hoạch.",
        "PDF file «{source}» ({pages} pages) has no readable task table: a ruled table is needed, with a header "
        "row such as «TT», «Tên nhiệm vụ», «Cơ quan chủ trì», «Thời gian hoàn thành». Tables drawn without "
        "lines are not supported: use the plan's Word/Excel file."),
    "pdf.no_table_scanned": (
        "Tệp PDF «{source}» không có bảng nhiệm vụ đọc được; trang {pages} là bản quét (chỉ có hình ảnh, không "
        "có lớp chữ). Hãy dùng bản PDF xuất trực tiếp từ Word hoặc bản Word/Excel của kế hoạch.",
        "PDF file «{source}» has no readable task table; page(s) {pages} are scanned (images only, no text "
        "layer). Use a PDF exported directly from Word or the plan's Word/Excel file."),
    "pdf.too_slow": (
        "Đọc tệp PDF «{source}» mất quá {seconds:g} giây (mới đến trang {page}/{pages}) nên đã dừng. Hãy tách "
        "riêng phần phụ lục có bảng nhiệm vụ thành một tệp PDF ngắn hơn.",
        "Reading PDF file «{source}» took longer than {seconds:g} seconds (page {page} of {pages}) and was "
        "stopped. Save the annex with the task table as a shorter PDF."),
    "pdf.what_pages": ("số trang", "pages"),
    "pdf.what_megabytes": ("dung lượng tệp (MB)", "MB of file size"),
    "pdf.what_text": ("số ký tự văn bản", "characters of text"),
    "pdf.what_rows": ("số dòng của bảng", "table rows"),
}

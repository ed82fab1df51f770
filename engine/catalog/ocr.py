"""Messages of text recognition of scanned PDF plans (engine/planfile/ocr.py, the CLI's
``plan load --ocr`` and the web's correction grid)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "ocr.not_installed_tesseract": (
        "Chưa cài chương trình nhận dạng chữ (OCR) nên không đọc được bản quét. Người quản trị máy chủ cài bằng "
        "lệnh: sudo apt-get install {packages}. Trong lúc chờ, hãy dùng bản PDF xuất trực tiếp từ Word hoặc bản "
        "Word/Excel của kế hoạch.",
        "Text recognition (OCR) is not installed, so a scan cannot be read. The server's administrator installs "
        "it with: sudo apt-get install {packages}. Meanwhile use a PDF exported directly from Word or the plan's "
        "Word/Excel file."),
    "ocr.not_installed_vie": (
        "Chương trình nhận dạng chữ (tesseract) đã có nhưng chưa có dữ liệu tiếng Việt nên không đọc được bản "
        "quét. Người quản trị máy chủ cài bằng lệnh: sudo apt-get install {packages}.",
        "Text recognition (tesseract) is installed but its Vietnamese data is not, so a scan cannot be read. The "
        "server's administrator installs it with: sudo apt-get install {packages}."),
    "ocr.too_many_pages": (
        "Bản quét «{source}» có {pages} trang, nhiều hơn {limit} trang được nhận dạng chữ mỗi lần. Hãy tách riêng "
        "các trang phụ lục có bảng nhiệm vụ thành một tệp PDF ngắn hơn.",
        "Scan «{source}» has {pages} pages, more than the {limit} pages recognised at a time. Save the annex "
        "pages with the task table as a shorter PDF."),
    "ocr.too_slow": (
        "Nhận dạng chữ bản quét «{source}» mất quá {seconds:g} giây (mới đến trang {page}/{pages}) nên đã dừng. "
        "Hãy tách riêng các trang phụ lục có bảng nhiệm vụ thành một tệp PDF ngắn hơn.",
        "Recognising the text of scan «{source}» took longer than {seconds:g} seconds (page {page} of {pages}) "
        "and was stopped. Save the annex pages with the task table as a shorter PDF."),
    "ocr.nothing": (
        "Không nhận dạng được chữ nào trong bảng của bản quét «{source}» ({pages} trang): cần một bảng có kẻ "
        "khung, quét rõ nét (từ 150 dpi). Hãy quét lại hoặc dùng bản Word/Excel của kế hoạch.",
        "No text was recognised in a table of scan «{source}» ({pages} pages): a ruled table scanned sharply "
        "(150 dpi or more) is needed. Scan it again or use the plan's Word/Excel file."),
    "ocr.no_direct_load": (
        "«{source}» là bản quét: kết quả nhận dạng chữ (OCR) không bao giờ được nạp thẳng. Thêm --ocr-out "
        "BANG.xlsx để ghi bảng đã nhận dạng ra tệp Excel, kiểm tra và sửa từng ô (ô tô vàng là ô nhận dạng "
        "kém chắc chắn), rồi nạp tệp Excel đó: steer plan load BANG.xlsx.",
        "«{source}» is a scan: a text recognition (OCR) result is never loaded directly. Add --ocr-out "
        "TABLE.xlsx to write the recognised table to an Excel file, check and correct every cell (yellow cells "
        "were recognised with low confidence), then load that Excel file: steer plan load TABLE.xlsx."),
    "ocr.needs_ocr_flag": (
        "Thêm --ocr để nhận dạng chữ bản quét và ghi bảng ra tệp Excel (--ocr-out BANG.xlsx) cho việc kiểm tra "
        "và sửa trước khi nạp.",
        "Add --ocr to recognise the scan's text and write the table to an Excel file (--ocr-out TABLE.xlsx) to "
        "check and correct before loading."),
    "ocr.not_a_scan": (
        "«{source}» có lớp chữ, không phải bản quét: không cần nhận dạng chữ, hãy nạp trực tiếp (bỏ --ocr).",
        "«{source}» has a text layer, it is not a scan: no text recognition is needed, load it directly "
        "(without --ocr)."),
    "ocr.out_suffix": (
        "Tệp ghi kết quả nhận dạng «{path}» phải có đuôi .xlsx.",
        "The file for the recognised table «{path}» must end in .xlsx."),
    "ocr.written": (
        "Đã nhận dạng chữ {pages} trang của «{source}» trong {seconds:.0f} giây: {rows} dòng, {flagged} ô cần "
        "kiểm tra kỹ (tô vàng). Đã ghi «{out}». Hãy mở tệp, so với bản giấy, sửa từng ô sai, rồi nạp: steer plan "
        "load {out}",
        "Recognised the text of {pages} pages of «{source}» in {seconds:.0f} seconds: {rows} rows, {flagged} "
        "cells to check closely (yellow). Wrote «{out}». Open it, compare it with the paper copy, correct every "
        "wrong cell, then load it: steer plan load {out}"),
    # web: the correction grid
    "ocr.review_title": ("Kiểm tra bảng nhận dạng từ bản quét", "Check the table recognised from the scan"),
    "ocr.review_intro": (
        "«{file}» là bản quét ({pages} trang), Steer đã nhận dạng chữ (OCR) bảng nhiệm vụ. Nhận dạng có thể sai: "
        "hãy so với bản giấy và sửa từng ô trước khi tiếp tục. Ô viền vàng là ô nhận dạng kém chắc chắn. Chưa có "
        "gì được lưu.",
        "«{file}» is a scan ({pages} pages); Steer recognised the task table's text (OCR). Recognition can be "
        "wrong: compare it with the paper copy and correct every cell before continuing. Cells with a yellow "
        "border were recognised with low confidence. Nothing has been saved yet."),
    "ocr.flagged_count": ("{n} ô cần kiểm tra kỹ", "{n} cells to check closely"),
    "ocr.row": ("Dòng", "Row"),
    "ocr.column": ("Cột {n}", "Column {n}"),
    "ocr.cell_label": ("Dòng {row}, cột {col}", "Row {row}, column {col}"),
    "ocr.flagged_cell": ("cần kiểm tra", "check this cell"),
    "ocr.continue": ("Tiếp tục", "Continue"),
    "ocr.continue_help": (
        "Bấm «Tiếp tục» để xem trước kế hoạch từ bảng đã sửa; kế hoạch chỉ được lưu khi bạn xác nhận ở bước sau.",
        "Press «Continue» to preview the plan from the corrected table; the plan is saved only when you confirm "
        "in the next step."),
    "ocr.scroll_hint": ("Bảng rộng: vuốt ngang để xem các cột.", "Wide table: swipe sideways to see the columns."),
    "ocr.expired": ("Bảng nhận dạng đã hết hạn hoặc không tìm thấy; hãy tải tệp lên lại.",
                    "The recognised table expired or was not found; upload the file again."),
    "ocr.corrected_name": ("{stem} (đã sửa sau nhận dạng).xlsx", "{stem} (corrected after OCR).xlsx"),
}

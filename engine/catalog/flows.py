"""Messages of the Prefect flows and their deployment (flows/)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "flow.prefect_api_url_not_set": ("Chưa đặt PREFECT_API_URL (ví dụ http://127.0.0.1:4200/api): «steer deploy» cần một máy chủ Prefect thật («prefect server start»).",
                                     "PREFECT_API_URL is not set (e.g. http://127.0.0.1:4200/api): «steer deploy» needs a real Prefect server («prefect server start»)."),
    "flow.database_url_has_password_it": ("Địa chỉ cơ sở dữ liệu {db} có mật khẩu; không ghi nó vào deployment (ai mở được giao diện Prefect đều thấy). Đặt STEER_DATABASE_URL trong môi trường của worker và chạy lại với --db-from-worker-env, hoặc dùng ~/.pgpass.",
                                          "The database URL {db} has a password; it will not be written into the deployments (anyone who can open the Prefect UI would see it). Set STEER_DATABASE_URL in the worker's environment and rerun with --db-from-worker-env, or use ~/.pgpass."),
    "flow.cannot_reach_prefect_server": ("Không kết nối được máy chủ Prefect {url}: {detail}",
                                         "Cannot reach the Prefect server {url}: {detail}"),
    "flow.work_pool_type_steer_needs": ("Work pool «{name}» có kiểu {pool_type}, cần kiểu process.",
                                        "Work pool «{name}» is of type {pool_type}; Steer needs a process pool."),
    "flow.prefect_api": ("Máy chủ Prefect", "Prefect API"),
    "flow.prefect_api_url_not_set_2": ("chưa đặt PREFECT_API_URL (vd. http://127.0.0.1:4200/api)",
                                       "PREFECT_API_URL is not set (e.g. http://127.0.0.1:4200/api)"),
    "flow.deployment": ("Deployment {name}", "Deployment {name}"),
    "flow.not_registered_run_steer_deploy": ("chưa đăng ký (chạy «steer deploy»)",
                                             "not registered (run «steer deploy»)"),
    "flow.paused": ("đang tạm dừng ({text})", "paused ({text})"),
    "flow.no_work_pool_run_steer": ("không gắn work pool (chạy «steer deploy»)", "no work pool (run «steer deploy»)"),
    "flow.worker_s_online": ("{n_online} worker đang chạy", "{n_online} worker(s) online"),
    "flow.no_worker_online_prefect_worker": ("không có worker nào đang chạy: prefect worker start --pool {pool}",
                                             "no worker online: prefect worker start --pool {pool}"),
    "flow.starting_local_prefect_server_data": ("Khởi động máy chủ Prefect cục bộ (dữ liệu ở {home}) …",
                                                "Starting a local Prefect server (data in {home}) …"),
    "flow.prefect_server": ("Máy chủ Prefect: {url}", "Prefect server: {url}"),
    "flow.serving_timezone_press_ctrl_c": ("Đang chạy lịch: {names} (múi giờ {tz}). Nhấn Ctrl-C để dừng.",
                                           "Serving: {names} (timezone {tz}). Press Ctrl-C to stop."),
    "flow.stopping_prefect_server": ("Đang dừng máy chủ Prefect …", "Stopping the Prefect server …"),
    "flow.stopped": ("Đã dừng.", "Stopped."),
    "flow.report_mail_body": ("{title} (số liệu đến {as_of:%d/%m/%Y}): {due} phần việc đến hạn, {completed} đã hoàn thành, "
                              "{overdue} quá hạn. Tệp đính kèm: {files}.",
                              "{title} (figures as of {as_of:%Y-%m-%d}): {due} work items due, {completed} completed, "
                              "{overdue} overdue. Attached: {files}."),
}

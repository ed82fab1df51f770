"""The sample province "Lâm Sơn": its directory, 80-task plan, Excel annex and scripted
history are consistent with each other, and the Excel exporter writes a real annex."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from openpyxl import load_workbook

from engine.deadlines import parse_deadline
from engine.planfile.export import main as export_main
from engine.planfile.export import write_plan_xlsx, write_plan_yaml
from engine.planfile.spec import PlanSpec, SectionSpec, SourceRef, TaskSpec

PLANS = Path(__file__).resolve().parent.parent / "plans"
DIRECTORY_FILE = PLANS / "sample-directory.yaml"
PLAN_FILE = PLANS / "sample-plan.yaml"
XLSX_FILE = PLANS / "sample-plan.xlsx"
HISTORY_FILE = PLANS / "sample-history.yaml"


# --------------------------------------------------------------------------
# Loading the sample files (plain YAML, independent of the engine's readers)
# --------------------------------------------------------------------------


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def directory() -> dict:
    return _load(DIRECTORY_FILE)


@pytest.fixture(scope="module")
def plan() -> dict:
    return _load(PLAN_FILE)


@pytest.fixture(scope="module")
def tasks(plan: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for section in plan["sections"]:
        for task in section["tasks"]:
            assert task["code"] not in out, f"duplicate task code {task['code']}"
            out[task["code"]] = {**task, "section": section["code"]}
    return out


@pytest.fixture(scope="module")
def history() -> dict:
    return _load(HISTORY_FILE)


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# --------------------------------------------------------------------------
# A small, independent unit-name resolver (normalised longest match)
# --------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


_SEPARATORS = re.compile(r"(?:\s|,|;|\bvà\b)*")


@dataclass
class Resolver:
    """Cell text -> lead unit codes, as the engine assigns work items: a group phrase whose
    members are listed stands for each member (one work item per member)."""

    names: dict[str, str]  # normalised name/alias/former name/code -> unit or group code
    members: dict[str, frozenset[str]]  # group code -> member unit codes

    @classmethod
    def from_directory(cls, d: dict) -> Resolver:
        names: dict[str, str] = {}
        for entry in d["units"] + d.get("groups", []):
            for n in [entry["code"], entry["name"], *entry.get("aliases", []), *entry.get("former_names", [])]:
                names[_norm(n)] = entry["code"]
        return cls(names, {g["code"]: frozenset(g["members"]) for g in d.get("groups", [])})

    def resolve(self, text: str) -> set[str]:
        """Codes named in one cell; AssertionError naming the part it cannot read."""
        t = _norm(text)
        pos, codes = 0, set()
        while True:
            pos = _SEPARATORS.match(t, pos).end()
            if pos >= len(t):
                return codes
            best = max(
                (n for n in self.names
                 if t.startswith(n, pos) and (pos + len(n) == len(t) or not t[pos + len(n)].isalnum())),
                key=len, default=None,
            )
            assert best is not None, f"no directory unit matches «{t[pos:]}» in «{text}»"
            code = self.names[best]
            codes |= self.members.get(code) or {code}
            pos += len(best)

    def leads(self, task: dict) -> set[str]:
        return set().union(*(self.resolve(x) for x in _as_list(task.get("lead"))))


@pytest.fixture(scope="module")
def resolver(directory: dict) -> Resolver:
    return Resolver.from_directory(directory)


def test_resolver_splits_names_containing_commas_and_va(resolver: Resolver) -> None:
    assert resolver.resolve("Sở Văn hóa, Thể thao và Du lịch, Sở Y tế") == {"SVHTTDL", "SYT"}
    assert resolver.resolve("Sở Khoa học và Công nghệ và UBND các xã, phường") == {
        "SKHCN", "PLS", "XBS", "XNS", "XDS"}
    assert len(resolver.resolve("Các sở, ban, ngành, UBND các xã, phường")) == 17 + 4
    # a plan written before 1/7/2025 still resolves: the districts' phrases are former names
    assert resolver.resolve("UBND huyện Bắc Sơn") == {"XBS"}
    assert resolver.resolve("UBND các huyện, thành phố") == {"PLS", "XBS", "XNS", "XDS"}
    with pytest.raises(AssertionError, match="Sở Ngoại giao"):
        resolver.resolve("Sở Y tế, Sở Ngoại giao")


# --------------------------------------------------------------------------
# Directory
# --------------------------------------------------------------------------


def test_directory_codes_are_unique_and_every_reference_exists(directory: dict) -> None:
    units = [u["code"] for u in directory["units"]]
    groups = [g["code"] for g in directory["groups"]]
    people = [p["id"] for p in directory["people"]]
    assert len(set(units)) == len(units) and len(set(groups)) == len(groups)
    assert len(set(people)) == len(people)
    known = set(units)
    assert directory["committee"]["standing_agency"] in known
    for u in directory["units"]:
        assert u.get("parent") is None or u["parent"] in known, u
    for g in directory["groups"]:
        assert set(g["members"]) <= known, g
    for p in directory["people"]:
        assert p["role"] in {"chair", "vice_chair", "secretariat", "focal_point", "viewer"}, p
        assert p.get("unit") in known, p
        assert set(p.get("oversees", [])) <= known, p


def test_the_sample_province_has_two_levels_of_local_government_no_districts(directory: dict, plan: dict) -> None:
    """Since 1/7/2025: the province and its communes/wards; no unit is a district, none hangs under one."""
    kinds = {u["code"]: u["kind"] for u in directory["units"]}
    assert "district" not in kinds.values()
    communes = [u for u in directory["units"] if u["kind"] == "commune"]
    assert [u["code"] for u in communes] == ["PLS", "XBS", "XNS", "XDS"]
    assert all(u["parent"] == "UBND_TINH" for u in communes)
    assert all(("xã" in u["name"]) != ("phường" in u["name"]) for u in communes)
    assert not any("huyện" in u["name"] or "thành phố" in u["name"] for u in directory["units"])
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert "UBND các huyện" not in text and "UBND huyện" not in text and "UBND thành phố" not in text


def test_each_department_and_commune_has_exactly_one_focal_point_and_one_overseer(directory: dict) -> None:
    led = [u["code"] for u in directory["units"] if u["kind"] in ("department", "commune")]
    focal = [p["unit"] for p in directory["people"] if p["role"] == "focal_point"]
    overseen = [c for p in directory["people"] if p["role"] == "vice_chair" for c in p["oversees"]]
    assert sorted(focal) == sorted(led)
    assert sorted(overseen) == sorted(led)
    assert len(led) == 17 + 4  # 17 provincial departments/agencies, 4 communes/wards


def test_notify_urls_are_loopback_or_reserved_placeholders_only(directory: dict) -> None:
    urls = [n for entry in directory["units"] + directory["people"] for n in entry.get("notify", [])]
    assert len(urls) > 30
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "mailto":
            assert parts.netloc.rsplit("@", 1)[-1].endswith((".example", ".invalid")), url
            query = parse_qs(parts.query)
            assert query["smtp"] == ["127.0.0.1"] and query["mode"] == ["insecure"], url
        else:
            assert parts.scheme == "json" and parts.hostname == "127.0.0.1", url


# --------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------


def test_sample_plan_has_80_tasks_numbered_1_to_80_in_six_roman_sections(plan: dict, tasks: dict) -> None:
    assert plan["plan"]["code"] == "KH-57-LS"
    assert plan["plan"]["issued_on"] == date(2025, 3, 15)
    assert [s["code"] for s in plan["sections"]] == ["I", "II", "III", "IV", "V", "VI"]
    assert list(tasks) == [str(i) for i in range(1, 81)]
    assert all(s["tasks"] for s in plan["sections"])
    assert all(isinstance(t["code"], str) and isinstance(t["deadline"], str) for t in tasks.values())


def test_dependencies_name_existing_tasks_and_have_no_cycle(tasks: dict) -> None:
    deps = {code: _as_list(t.get("depends_on")) for code, t in tasks.items()}
    assert 5 <= sum(len(d) for d in deps.values()) <= 8
    for code, ds in deps.items():
        assert set(ds) <= set(tasks), (code, ds)
        assert code not in ds
    state: dict[str, str] = {}

    def visit(code: str, path: list[str]) -> None:
        assert state.get(code) != "open", f"cycle: {' -> '.join(path + [code])}"
        if state.get(code) == "done":
            return
        state[code] = "open"
        for d in deps[code]:
            visit(d, path + [code])
        state[code] = "done"

    for code in deps:
        visit(code, [])


def test_every_lead_and_coordinating_text_resolves_to_directory_units(tasks: dict, resolver: Resolver) -> None:
    multi = 0
    for code, t in tasks.items():
        leads = resolver.leads(t)
        assert leads, f"task {code} has no lead unit"
        multi += len(leads) > 1
        for x in _as_list(t.get("coordinating")):
            resolver.resolve(x)
    assert multi >= 10  # several units or a group phrase in one cell, as real annexes do


def test_only_the_documented_six_ro_gaps_are_left(tasks: dict, directory: dict, resolver: Resolver) -> None:
    assert {c for c, t in tasks.items() if not t.get("vice_chair")} == {"63", "72"}
    assert {c for c, t in tasks.items() if not t.get("deliverable")} == {"23"}
    vice_chairs = {p["id"]: set(p["oversees"]) for p in directory["people"] if p["role"] == "vice_chair"}
    assert {t["vice_chair"] for t in tasks.values() if t.get("vice_chair")} <= set(vice_chairs)
    overseen = set().union(*vice_chairs.values())
    for code in ("63", "72"):  # no vice-chair can be derived from the lead unit either
        assert not resolver.leads(tasks[code]) & overseen


def test_deadlines_are_real_annex_forms_and_several_fall_in_may_june_2025(plan: dict, tasks: dict) -> None:
    issued = plan["plan"]["issued_on"]
    specs = {c: parse_deadline(t["deadline"], issued_on=issued) for c, t in tasks.items()}
    kinds = [s.kind for s in specs.values()]
    assert kinds.count("ongoing") == 8 and kinds.count("recurring") == 5
    texts = {t["deadline"] for t in tasks.values()}
    for form in ("6/2025", "06/2025", "Tháng 9/2025", "Quý II/2025", "Quý IV/2025", "2025",
                 "2025 - 2026", "15/06/2025", "Thường xuyên", "Hằng năm", "2025 và những năm tiếp theo",
                 "trước ngày 20 hằng tháng", "trong 15 ngày làm việc", "6 tháng đầu năm 2025"):
        assert form in texts, form
    window = [c for c, s in specs.items() if s.kind == "date" and date(2025, 5, 1) <= s.due <= date(2025, 6, 30)]
    assert len(window) >= 10
    assert all(s.due is None or s.due >= date(2025, 4, 1) for s in specs.values())
    assert max(s.due for s in specs.values() if s.due) <= date(2026, 12, 31)


# --------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------

FOCAL_ACTIONS = {"start", "note", "submit", "block", "unblock", "request_extension"}
SECRETARIAT_ACTIONS = {"verify", "reject"}
DECISION_ACTIONS = {"approve_extension", "reject_extension"}


def _step_time(step: dict) -> datetime:
    return datetime.strptime(step["at"], "%Y-%m-%d %H:%M")


def test_history_steps_are_chronological_on_working_days_between_march_and_july(history: dict) -> None:
    assert history["plan"] == "KH-57-LS"
    times = [_step_time(s) for s in history["steps"]]
    assert 150 <= len(times) <= 200
    assert times == sorted(times)
    assert times[0] >= datetime(2025, 3, 20) and times[-1] < datetime(2025, 8, 1)
    assert all(t.weekday() < 5 for t in times)


def _item_unit(step: dict, tasks: dict, resolver: Resolver) -> tuple[str, str, str]:
    """(task code, lead unit or group code, occurrence) of a step's item ("53@CAT#2025-06");
    asserts the reference is exact."""
    ref, _, occurrence = step["item"].partition("#")
    code, _, unit = ref.partition("@")
    where = f"{step['at']} {step['action']} {step['item']}"
    assert code in tasks, f"{where}: no task {code}"
    if occurrence:
        assert parse_deadline(tasks[code]["deadline"]).kind == "recurring", f"{where}: not a recurring task"
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", occurrence), f"{where}: occurrences are YYYY-MM or YYYY-MM-DD"
    leads = resolver.leads(tasks[code])
    if unit:
        assert unit in leads and len(leads) > 1, f"{where}: @{unit} is not one of several lead units {leads}"
    else:
        assert len(leads) == 1, f"{where}: several lead units {leads}, name one with @UNIT"
        (unit,) = leads
    return code, unit, occurrence


def test_every_history_step_is_done_by_a_person_allowed_to_do_it(history: dict, tasks: dict,
                                                                 directory: dict, resolver: Resolver) -> None:
    people = {p["id"]: p for p in directory["people"]}
    for step in history["steps"]:
        where = f"{step['at']} {step['as']} {step['action']} {step['item']}"
        _, unit, _ = _item_unit(step, tasks, resolver)
        person = people.get(step["as"])
        assert person is not None, where
        action = step["action"]
        if action in FOCAL_ACTIONS:
            assert person["role"] == "focal_point" and person["unit"] == unit, where
        elif action in SECRETARIAT_ACTIONS:
            assert person["role"] == "secretariat", where
        elif action in DECISION_ACTIONS:
            assert person["role"] in ("secretariat", "chair") or (
                person["role"] == "vice_chair" and unit in person["oversees"]), where
        else:
            pytest.fail(f"{where}: unknown action")


def test_history_replays_through_the_work_item_states_and_tells_the_whole_story(
        history: dict, tasks: dict, resolver: Resolver) -> None:
    state: dict[tuple[str, str, str], str] = {}
    pending: set[tuple[str, str, str]] = set()
    counts: dict[str, int] = {}

    def task_done(code: str) -> bool:
        return all(state.get((code, u, "")) == "done" for u in resolver.leads(tasks[code]))

    for step in history["steps"]:
        item, action = _item_unit(step, tasks, resolver), step["action"]
        where = f"{step['at']} {action} {step['item']}"
        current = state.get(item, "not_started")
        open_ = {"not_started", "in_progress", "blocked", "submitted"}
        allowed = {
            "start": {"not_started"}, "note": {"in_progress", "blocked"}, "submit": {"not_started", "in_progress"},
            "verify": {"submitted"}, "reject": {"submitted"}, "block": {"in_progress"},
            "unblock": {"blocked"}, "request_extension": open_, "approve_extension": open_,
            "reject_extension": open_,
        }[action]
        assert current in allowed, f"{where}: the item is {current}"
        if action in ("start", "submit"):  # the engine refuses both while a prerequisite is open
            for dep in _as_list(tasks[item[0]].get("depends_on")):
                assert task_done(dep), f"{where}: prerequisite task {dep} is not done yet"
        state[item] = {"start": "in_progress", "submit": "submitted", "verify": "done",
                       "reject": "in_progress", "block": "blocked", "unblock": "in_progress"}.get(action, current)
        if action == "request_extension":
            assert item not in pending and step["reason"], where
            assert date.fromisoformat(step["until"]) > _step_time(step).date(), where
            pending.add(item)
        if action in DECISION_ACTIONS:
            assert item in pending, f"{where}: no pending extension request"
            pending.discard(item)
        if action == "submit":
            assert step.get("evidence"), where
        if action in ("block", "reject", "reject_extension"):
            assert step.get("reason"), where
        if "percent" in step:
            assert 0 <= step["percent"] <= 100, where
        counts[action] = counts.get(action, 0) + 1
    assert not pending
    assert counts["approve_extension"] == 1 and counts["reject_extension"] == 1
    assert counts["reject"] == 1 and counts["block"] == 1 and counts["unblock"] == 1
    assert sum(1 for s in state.values() if s == "done") >= 15
    # every lead unit's own implementation plan (7) is done, except Đông Sơn commune's
    assert {u for (c, u, _), st in state.items() if c == "7" and st == "done"} == resolver.leads(tasks["7"]) - {"XDS"}
    for never in (("42", "SNV", ""), ("47", "XDS", ""), ("1", "VP_UBND", ""), ("1", "XDS", ""), ("7", "XDS", ""),
                  ("64", "BCHQS", "2025-06-30")):
        assert never not in state  # never started: they go overdue


# --------------------------------------------------------------------------
# Excel annex
# --------------------------------------------------------------------------


def _header_row(ws) -> int:  # type: ignore[no-untyped-def]
    for row in ws.iter_rows(min_row=1, max_row=15):
        if row[0].value == "TT":
            return row[0].row
    raise AssertionError("no header row")


def test_sample_xlsx_has_80_task_rows_merged_section_rows_and_a_frozen_header() -> None:
    ws = load_workbook(XLSX_FILE).active
    header = _header_row(ws)
    assert ws.freeze_panes == f"A{header + 1}"
    assert [c.value for c in ws[header]] == [
        "TT", "Tên nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Kết quả/Sản phẩm",
        "Thời gian hoàn thành", "Phụ thuộc", "Lãnh đạo phụ trách", "Ghi chú"]
    assert all(c.font.b for c in ws[header])
    assert ws["A1"].value == "PHỤ LỤC"
    assert ws["A3"].value == ("(Kèm theo Kế hoạch số 45/KH-UBND ngày 15/03/2025 "
                              "của Ủy ban nhân dân tỉnh Lâm Sơn)")
    merged = {str(r) for r in ws.merged_cells.ranges}
    task_rows, section_rows = [], []
    for row in ws.iter_rows(min_row=header + 1):
        if isinstance(row[0].value, int):
            task_rows.append(row[0].value)
        elif row[0].value:
            section_rows.append(row[0].row)
            assert row[1].font.b and f"B{row[0].row}:I{row[0].row}" in merged
    assert task_rows == list(range(1, 81))
    assert len(section_rows) == 6


def test_sample_xlsx_is_regenerated_from_the_current_yaml(tmp_path: Path) -> None:
    from engine.planfile.readers import read_plan_file

    fresh = write_plan_xlsx(read_plan_file(PLAN_FILE), tmp_path / "fresh.xlsx",
                            issuer_name="Ủy ban nhân dân tỉnh Lâm Sơn")
    a, b = load_workbook(XLSX_FILE).active, load_workbook(fresh).active
    assert [[c.value for c in r] for r in a.iter_rows()] == [[c.value for c in r] for r in b.iter_rows()], (
        "plans/sample-plan.xlsx is stale: run python -m engine.planfile.export "
        "plans/sample-plan.yaml plans/sample-plan.xlsx --directory plans/sample-directory.yaml")


def _small_spec() -> PlanSpec:
    src = SourceRef("small.yaml")
    return PlanSpec(
        source_file="small.yaml", code="KH-T", title="Kế hoạch thử", document="Kế hoạch số 7/KH-BCĐ",
        issued_on=date(2025, 2, 1), issued_by="Ban Chỉ đạo tỉnh",
        sections=[SectionSpec("I", "Thể chế", src), SectionSpec("II", "Hạ tầng", src)],
        tasks=[
            TaskSpec("1", "Ban hành quy chế", src, section="I", lead=["Sở Nội vụ", "Sở Tư pháp"],
                     coordinating=["Sở Y tế"], deliverable="Quyết định", deadline_text="Quý II/2025",
                     vice_chair="pct_nc", note="Gấp"),
            TaskSpec("2", "Nâng cấp mạng", src, section="II", lead=["Sở Khoa học và Công nghệ"],
                     deadline_text="2025 - 2026", depends_on=["1"]),
            TaskSpec("2.a", "Kết nối xã", src, section="II", lead=["UBND các huyện"],
                     deadline_text="Thường xuyên", depends_on=["1", "2"]),
        ],
    )


def test_write_plan_xlsx_writes_a_small_plan_that_reads_back_cell_by_cell(tmp_path: Path) -> None:
    out = write_plan_xlsx(_small_spec(), tmp_path / "sub" / "small.xlsx")
    ws = load_workbook(out).active
    header = _header_row(ws)
    assert ws["A2"].value == "DANH MỤC NHIỆM VỤ THỰC HIỆN KẾ HOẠCH THỬ"
    assert ws["A3"].value == "(Kèm theo Kế hoạch số 7/KH-BCĐ ngày 01/02/2025 của Ban Chỉ đạo tỉnh)"
    assert {"A1:I1", "A2:I2", "A3:I3"} <= {str(r) for r in ws.merged_cells.ranges}
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=header + 1)]
    assert rows == [
        ["I", "Thể chế"] + [None] * 7,
        [1, "Ban hành quy chế", "Sở Nội vụ, Sở Tư pháp", "Sở Y tế", "Quyết định", "Quý II/2025", None, "pct_nc", "Gấp"],
        ["II", "Hạ tầng"] + [None] * 7,
        [2, "Nâng cấp mạng", "Sở Khoa học và Công nghệ", None, None, "2025 - 2026", "1", None, None],
        ["2.a", "Kết nối xã", "UBND các huyện", None, None, "Thường xuyên", "1, 2", None, None],
    ]
    assert f"B{header + 1}:I{header + 1}" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.cell(header + 2, 2).alignment.wrap_text
    assert ws.column_dimensions["B"].width > ws.column_dimensions["A"].width


def test_write_plan_xlsx_adds_progress_columns_only_when_used_and_speaks_english(tmp_path: Path) -> None:
    spec = _small_spec()
    spec.tasks[0].status_text = "Hoàn thành"
    ws = load_workbook(write_plan_xlsx(spec, tmp_path / "en.xlsx", lang="en")).active
    assert ws["A1"].value == "ANNEX"
    header = [c.value for c in ws[_header_row_en(ws)]]
    assert header[:6] == ["No.", "Task", "Lead agency", "Coordinating agencies", "Deliverable", "Deadline"]
    assert header[-1] == "Status"
    with pytest.raises(ValueError, match="fr"):
        write_plan_xlsx(spec, tmp_path / "fr.xlsx", lang="fr")


def _header_row_en(ws) -> int:  # type: ignore[no-untyped-def]
    return next(r[0].row for r in ws.iter_rows(min_row=1, max_row=15) if r[0].value == "No.")


def test_write_plan_yaml_reads_back_with_the_yaml_reader(tmp_path: Path) -> None:
    from engine.planfile.readers import read_plan_file

    spec = _small_spec()
    back = read_plan_file(write_plan_yaml(spec, tmp_path / "small.yaml"))
    assert (back.code, back.title, back.document, back.issued_on) == ("KH-T", "Kế hoạch thử", spec.document,
                                                                      date(2025, 2, 1))
    assert [(s.code, s.title) for s in back.sections] == [("I", "Thể chế"), ("II", "Hạ tầng")]
    got = [(t.code, t.section, t.lead, t.coordinating, t.deadline_text, t.depends_on, t.vice_chair) for t in back.tasks]
    want = [(t.code, t.section, t.lead, t.coordinating, t.deadline_text, t.depends_on, t.vice_chair) for t in spec.tasks]
    assert got == want


def test_export_command_reports_a_missing_file_without_traceback(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert export_main([str(tmp_path / "nope.yaml"), str(tmp_path / "out.xlsx")]) == 1
    err = capsys.readouterr().err
    assert "nope.yaml" in err and "Traceback" not in err
    assert export_main([str(PLAN_FILE), str(tmp_path / "out.pdf")]) == 1
    assert ".pdf" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


# --------------------------------------------------------------------------
# With the engine's readers and directory
# --------------------------------------------------------------------------


def test_sample_xlsx_and_yaml_read_to_the_same_tasks() -> None:
    from engine.planfile.readers import read_plan_file

    x, y = read_plan_file(XLSX_FILE), read_plan_file(PLAN_FILE)
    assert [s.code for s in x.sections] == [s.code for s in y.sections]
    assert x.document.startswith(y.document) and x.issued_on == y.issued_on

    def rows(spec: PlanSpec) -> list[tuple]:
        return [(t.code, t.title, ", ".join(t.lead), t.deadline_text, t.section, t.depends_on, t.vice_chair)
                for t in spec.tasks]

    assert rows(x) == rows(y)
    assert len(rows(x)) == 80


def test_sample_plan_validates_against_sample_directory_with_only_the_documented_gaps() -> None:
    pytest.importorskip("engine.directory")
    from engine.directory_store import parse_directory_file
    from engine.planfile.readers import read_plan_file
    from engine.directory import People
    from engine.planfile.validate import validate_plan

    parsed = parse_directory_file(DIRECTORY_FILE)
    people = People(
        ids={p["id"] for p in parsed.people},
        vice_chair_of_unit={u: p["id"] for p in parsed.people if p["role"] == "vice_chair" for u in p["oversees"]},
    )
    for path in (PLAN_FILE, XLSX_FILE):
        vp = validate_plan(read_plan_file(path), parsed.directory, code="KH-57-LS", people=people)
        assert vp.errors == []
        # tasks 63 and 72: their lead units (Tỉnh Đoàn, Ủy ban MTTQ tỉnh) have no person and no
        # notify target in the sample directory, so nobody can act on them ("rõ người", issue 16)
        assert sorted((w.code, w.task) for w in vp.warnings) == [
            ("lead_nobody", "63"), ("lead_nobody", "72"),
            ("no_deliverable", "23"), ("no_vice_chair", "63"), ("no_vice_chair", "72")], path
        by_code = {t.code: t for t in vp.tasks}
        assert [u.code for u in by_code["25"].lead] == ["SKHCN", "PLS", "XBS", "XNS", "XDS"]
        assert [u.code for u in by_code["47"].lead] == ["PLS", "XBS", "XNS", "XDS"]
        assert len(by_code["1"].lead) == 17 + 4
        ours = Resolver.from_directory(_load(DIRECTORY_FILE))
        for t in vp.tasks:  # the engine's splitter and this file's resolver agree on every cell
            assert {u.code for u in t.lead} == ours.leads({"lead": t.spec.lead}), t.code

"""PlanSpec -> ValidatedPlan: meaning, errors and "6 rõ" warnings.

Errors (the plan is not loaded): no title, duplicate task codes, unknown dependency,
dependency cycle, unparseable deadline, unknown progress status is only a warning.
Warnings, the "6 rõ" gaps: no lead unit (rõ người), no deliverable (rõ sản phẩm), no
deadline (rõ thời gian), no vice-chair in charge (rõ thẩm quyền); plus unit names not in
the directory (registered as new units, never dropped).

Every issue names file, row and column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from engine.deadlines import MAX_YEAR, MIN_YEAR, DeadlineError, DeadlineSpec, parse_deadline
from engine.directory import Directory, People, UnitMatch, normalize_name
from engine.errors import InputFileError
from engine.i18n import tr
from engine.planfile.identity import Identity, identify
from engine.planfile.spec import PlanSpec, SourceRef, TaskSpec
from engine.states import Status

Level = Literal["error", "warning"]
MAX_CODE = 64  # plan and task codes (engine.models: Plan.code, Task.code)


@dataclass(frozen=True)
class Issue:
    level: Level
    code: str  # machine-readable: no_title, duplicate_code, cycle, no_lead, ...
    message: str  # for a person, Vietnamese by default
    ref: SourceRef
    task: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "code": self.code,
            "message": self.message,
            "file": self.ref.file,
            "row": self.ref.row,
            "column": self.ref.column,
            "task": self.task,
        }

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}"


@dataclass
class ResolvedUnit:
    code: str  # unit code (a new code is minted for unknown names)
    name: str  # canonical name (or the name as written, when new)
    text: str  # as written in the cell
    new: bool = False  # not in the directory: will be registered
    former: str | None = None  # the name as written when it is a former name (2025 mergers)


@dataclass
class ResolvedTask:
    spec: TaskSpec
    code: str
    position: int
    section: str | None
    title: str
    deliverable: str
    deadline: DeadlineSpec
    lead: list[ResolvedUnit]
    coordinating: list[ResolvedUnit]
    depends_on: list[str]
    vice_chair: str | None  # person id (explicit, or the vice-chair overseeing the lead unit)
    vice_chair_derived: bool = False
    status: str | None = None  # imported status (engine state name) or None
    completed_on: date | None = None
    progress_note: str | None = None
    percent: float | None = None


@dataclass
class ValidatedPlan:
    spec: PlanSpec
    code: str
    title: str
    tasks: list[ResolvedTask] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    new_units: dict[str, ResolvedUnit] = field(default_factory=dict)  # code -> unit
    identity: Identity | None = None  # where the code came from, and the plan it revises

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class PlanValidationError(InputFileError):
    def __init__(self, plan: ValidatedPlan, lang: str = "vi"):
        self.plan = plan
        n = len(plan.errors)
        head = (tr(lang, "plan.plan_has_error_s_nothing", file=plan.spec.source_file, n=n))
        lines = [head] + [f"  - {e}" for e in plan.errors[:20]]
        if n > 20:
            lines.append(tr(lang, "plan.more_see_them_all_with", n=n - 20))
        super().__init__("\n".join(lines))


# --- progress column ---------------------------------------------------------------------

_STATUS_WORDS: list[tuple[str, str]] = [
    # order matters: the first pattern found wins
    (r"^(đã )?hủy|^huỷ|không thực hiện|^cancel", Status.CANCELLED),
    (r"chưa (thực hiện|triển khai|bắt đầu)|^not started", Status.NOT_STARTED),
    (r"tạm dừng|vướng mắc|^blocked|^bị chặn", Status.BLOCKED),
    (r"chờ (xác nhận|thẩm định)|đã gửi|^submitted", Status.SUBMITTED),
    (r"^(đã )?hoàn thành\s*$|^(đã )?hoàn thành\b(?!\s*\d)|^done|^completed", Status.COMPLETED),
    (r"đang|quá hạn|chậm|hoàn thành\s*\d+\s*%|^in progress|^overdue", Status.IN_PROGRESS),
]


def parse_status(text: str) -> tuple[str | None, float | None]:
    t = unicodedata.normalize("NFC", text).strip().lower()
    if not t:
        return None, None
    pct = re.search(r"(\d{1,3}(?:[.,]\d+)?)\s*%", t)
    percent = float(pct.group(1).replace(",", ".")) if pct else None
    for pattern, state in _STATUS_WORDS:
        if re.search(pattern, t):
            return state, percent
    return "?", percent


def _parse_day(text: str) -> date | None:
    m = re.search(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if m:
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return None
    m = re.search(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


# --- helpers -----------------------------------------------------------------------------


def _slug_code(name: str, taken: set[str]) -> str:
    base = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    base = "".join(c for c in base if not unicodedata.combining(c))
    words = re.findall(r"[A-Za-z0-9]+", base)
    code = "".join(w[0].upper() if not w.isdigit() else w for w in words)[:24] or "UNIT"
    code = "NEW_" + code
    out, n = code, 2
    while out in taken:
        out, n = f"{code}_{n}", n + 1
    taken.add(out)
    return out


def _parse_wrapped_deadline(text: str, issued_on: date | None) -> DeadlineSpec | DeadlineError:
    """A deadline cell, its printed line wraps joined first ("Thường⏎xuyên", "Quý⏎II/2025",
    a PDF converted to Word); the cell as written when the joined text does not read."""
    if "\n" in text:
        try:
            joined = parse_deadline(" ".join(text.split()), issued_on=issued_on)
            if joined.kind is not None:
                return joined
        except DeadlineError:
            pass
    try:
        return parse_deadline(text, issued_on=issued_on)
    except DeadlineError as exc:
        return exc


# Words a printed line cannot end with when the unit name goes on ("Sở Thông tin và⏎Truyền
# thông", "Các doanh nghiệp⏎viễn thông", "UBND các huyện,⏎thành phố").
_CONTINUES = ("và", "các", "của", "về", "-", "/", "&", ",")
# First words of a unit name: a line starting with one after a known unit is a new unit
# ("Bộ Tài chính⏎Trường Đại học X"), even when the new one is not in the directory.
_UNIT_STARTS = ("bộ", "sở", "ủy", "uỷ", "ubnd", "ban", "văn", "các", "công", "trường", "viện", "tổng", "cục",
                "đài", "báo", "ngân", "tập", "đại", "hội", "liên", "thanh", "tòa", "toà", "kho", "bảo", "chi",
                "trung", "học", "hiệp", "mặt", "tỉnh", "thành", "quận", "huyện", "xã", "phường")


def join_unit_lines(cell: str, directory: Directory) -> str:
    """A unit cell whose line breaks are separators only where they separate units.

    A break is kept when both pieces around it are wholly known units or group phrases, or
    when the piece before it is and the next line starts a new name (a bullet, or a capital
    first word that begins unit names: "Bộ", "Sở", "Trường"…), the text before not ending in a
    word that goes on ("và", "các", ","). Every other
    break is a printed wrap (a PDF converted to Word) and becomes a space, so "Sở Thông tin
    và⏎Truyền thông" is one unit, not «Sở Thông tin» + «Truyền thông».
    """
    if "\n" not in cell:
        return cell
    lines = [line.strip() for line in cell.split("\n") if line.strip()]
    if not lines:
        return cell

    def known(text: str) -> bool:
        ms = directory.split(text)
        return bool(ms) and all(m.code is not None for m in ms)

    pieces = [lines[0]]
    for line in lines[1:]:
        left = pieces[-1]
        ends_open = left.endswith(_CONTINUES) or left.split()[-1].lower() in _CONTINUES
        first = line.split()[0].lower()
        starts_new = line[:1] in "-+•*–" or (line[:1].isupper() and first in _UNIT_STARTS)
        if left.endswith(";") or (known(left) and (known(line) or (starts_new and not ends_open))):
            pieces.append(line)
        else:
            pieces[-1] = f"{left} {line}"
    return "\n".join(pieces)


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """First dependency cycle as a path [a, b, ..., a], or None (iterative DFS)."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    for root in graph:
        if color[root] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                color[node] = GREY
                path.append(node)
            deps = graph.get(node, [])
            if i < len(deps):
                stack.append((node, i + 1))
                nxt = deps[i]
                if nxt not in color:
                    continue
                if color[nxt] == GREY:
                    return path[path.index(nxt) :] + [nxt]
                if color[nxt] == WHITE:
                    stack.append((nxt, 0))
            else:
                color[node] = BLACK
                path.pop()
    return None


def validate_plan(
    spec: PlanSpec,
    directory: Directory,
    *,
    code: str | None = None,
    people: People | None = None,
    lang: str = "vi",
    documents: Mapping[str, str] | None = None,
) -> ValidatedPlan:
    """``documents``: document key -> code of the plans already loaded
    (``engine.planfile.identity``), so a file naming the same document revises that plan."""
    people = people or People()
    issues: list[Issue] = []
    file_ref = SourceRef(spec.source_file)
    identity = identify(spec, code=code, documents=documents)
    plan_code = identity.code
    if identity.source == "filename":
        issues.append(Issue("warning", "plan_code_from_filename",
                            tr(lang, "plan.no_plan_code_in_file", plan_code=plan_code),
                            file_ref))
    out = ValidatedPlan(spec=spec, code=plan_code, title=(spec.title or plan_code).strip(), issues=issues,
                        identity=identity)
    for head in spec.extra_columns:
        issues.append(Issue("warning", "unmapped_column", tr(lang, "plan.unmapped_column", header=head),
                            file_ref.at(head)))

    def too_long(text: str, limit: int, what: str, ref: SourceRef, task: str | None = None) -> bool:
        """Texts longer than their database column are refused here, with their place."""
        if len(text) <= limit:
            return False
        shown = " ".join(text.split())[:40]
        issues.append(Issue("error", "too_long",
                            tr(lang, "plan.too_long", what=tr(lang, f"plan.what.{what}"), shown=shown, n=len(text),
                               limit=limit),
                            ref, task))
        return True

    too_long(plan_code, MAX_CODE, "plan_code", file_ref.at("code"))
    too_long(spec.document or "", 300, "document", file_ref.at("document"))
    for sec in spec.sections:
        too_long(sec.code, 32, "section_code", sec.source.at("code"))
    if spec.issued_on is not None and not MIN_YEAR <= spec.issued_on.year <= MAX_YEAR:
        # Deadlines ("trong 15 ngày", recurring ones) count from the issue date: a date in
        # 1900 or 9999 would make thousands of work items or dates past the calendar.
        shown = spec.issued_on.strftime("%d/%m/") + f"{spec.issued_on.year:04d}"
        issues.append(Issue("error", "bad_issued_on",
                            tr(lang, "plan.plan_s_issue_date_outside", shown=shown, min_year=MIN_YEAR,
                               max_year=MAX_YEAR),
                            file_ref.at("issued_on")))

    taken_codes = set(directory.units)
    # parse_deadline and Directory.split are pure: one call per distinct text
    split_cache: dict[str, list[UnitMatch]] = {}
    deadline_cache: dict[str, DeadlineSpec | DeadlineError] = {}
    new_by_norm: dict[str, ResolvedUnit] = {}

    successors_told: set[str] = set()

    def resolve_cell(cells: list[str], ref: SourceRef, task_code: str) -> list[ResolvedUnit]:
        result: list[ResolvedUnit] = []
        seen: set[str] = set()
        for cell in cells:
            if cell not in split_cache:  # real annexes repeat the same cells constantly
                split_cache[cell] = directory.split(join_unit_lines(cell, directory))
            for m in split_cache[cell]:
                resolved = _resolve_match(m)
                if m.via == "former_name" and m.code is not None:
                    key = normalize_name(m.text)
                    if key not in successors_told:
                        successors_told.add(key)
                        issues.append(Issue("warning", "successor",
                                            tr(lang, "plan.successor", text=" ".join(m.text.split()),
                                               name=resolved.name, code=resolved.code),
                                            ref, task_code))
                for ru in _expand(resolved):
                    if ru.code in seen:
                        continue
                    seen.add(ru.code)
                    result.append(ru)
                    if ru.new and ru.code not in out.new_units:
                        if too_long(ru.name, 500, "unit_name", ref, task_code):
                            continue
                        out.new_units[ru.code] = ru
                        issues.append(Issue("warning", "new_unit",
                                            tr(lang, "plan.unit_not_in_directory_it", ru_text=ru.text,
                                               ru_code=ru.code),
                                            ref, task_code))
        return result

    def _expand(ru: ResolvedUnit) -> list[ResolvedUnit]:
        """A group whose members the directory lists ("UBND các huyện" with its districts)
        stands for each member: every member gets its own work item. An open-ended group
        phrase ("Các bộ, ngành, địa phương") stays one unit."""
        entry = None if ru.new else directory.get(ru.code)
        if entry is None or not entry.is_group or not entry.members:
            return [ru]
        out_: list[ResolvedUnit] = []
        for code in entry.members:
            member = directory.get(code)
            if member is not None:
                out_.append(ResolvedUnit(code=code, name=member.name, text=ru.text))
        return out_ or [ru]

    def _resolve_match(m: UnitMatch) -> ResolvedUnit:
        if m.code is not None:
            entry = directory.get(m.code)
            return ResolvedUnit(code=m.code, name=entry.name if entry else m.text, text=m.text,
                                former=" ".join(m.text.split()) if m.via == "former_name" else None)
        key = normalize_name(m.text)
        if key not in new_by_norm:
            new_by_norm[key] = ResolvedUnit(code=_slug_code(m.text, taken_codes), name=" ".join(m.text.split()), text=m.text, new=True)
        return new_by_norm[key]

    seen_codes: dict[str, TaskSpec] = {}
    for pos, t in enumerate(spec.tasks, start=1):
        tcode = t.code.strip()
        if tcode in seen_codes:
            first = seen_codes[tcode]
            issues.append(Issue("error", "duplicate_code",
                                tr(lang, "plan.duplicate_task_code_first_used", tcode=tcode,
                                   first_source_row=first.source.row),
                                t.ref("code"), tcode))
            continue
        seen_codes[tcode] = t
        too_long(tcode, MAX_CODE, "task_code", t.ref("code"), tcode[:MAX_CODE])
        too_long((t.deadline_text or "").strip(), 300, "deadline", t.ref("deadline"), tcode[:MAX_CODE])
        title = " ".join(t.title.split()) if t.title else ""
        if not title:
            issues.append(Issue("error", "no_title",
                                tr(lang, "plan.task_has_no_title_clear"),
                                t.ref("title"), tcode))
        # deadline
        key = t.deadline_text or ""
        if key not in deadline_cache:
            deadline_cache[key] = _parse_wrapped_deadline(key, spec.issued_on)
        parsed = deadline_cache[key]
        dl: DeadlineSpec | None = None
        if isinstance(parsed, DeadlineError):
            issues.append(Issue("error", "bad_deadline", str(parsed), t.ref("deadline"), tcode))
        else:
            dl = parsed
        if dl is None:
            dl = DeadlineSpec(text=(t.deadline_text or "").strip(), kind=None)
        elif dl.kind is None:
            issues.append(Issue("warning", "no_deadline",
                                tr(lang, "plan.no_deadline_clear_time"),
                                t.ref("deadline"), tcode))
        if (dl.due is not None and spec.issued_on is not None and dl.due < spec.issued_on
                and dl.kind != "recurring"):
            issues.append(Issue("warning", "born_overdue",
                                tr(lang, "plan.born_overdue", due=dl.due.strftime("%d/%m/%Y"),
                                   issued=spec.issued_on.strftime("%d/%m/%Y")),
                                t.ref("deadline"), tcode))
        lead = resolve_cell(t.lead, t.ref("lead"), tcode)
        coord = resolve_cell(t.coordinating, t.ref("coordinating"), tcode)
        if not lead:
            issues.append(Issue("warning", "no_lead",
                                tr(lang, "plan.no_lead_unit_clear_person"),
                                t.ref("lead"), tcode))
        for u in lead:
            entry = None if u.new else directory.get(u.code)
            if entry is not None and entry.is_group and not entry.members:
                issues.append(Issue("warning", "lead_nobody",
                                    tr(lang, "plan.lead_group_nobody", name=entry.name),
                                    t.ref("lead"), tcode))
            elif people.ids and u.code not in people.reachable and not (entry is not None and entry.notify):
                issues.append(Issue("warning", "lead_nobody",
                                    tr(lang, "plan.lead_unit_nobody", name=u.name),
                                    t.ref("lead"), tcode))
        deliverable = (t.deliverable or "").strip()
        if not deliverable:
            issues.append(Issue("warning", "no_deliverable",
                                tr(lang, "plan.no_deliverable_clear_product"),
                                t.ref("deliverable"), tcode))
        vice, derived = (t.vice_chair or "").strip() or None, False
        if vice and vice not in people.ids:
            issues.append(Issue("warning", "unknown_person",
                                tr(lang, "plan.vice_chair_not_in_directory", vice=vice),
                                t.ref("vice_chair"), tcode))
            vice = None
        if not vice:
            for u in lead:
                if u.code in people.vice_chair_of_unit:
                    vice, derived = people.vice_chair_of_unit[u.code], True
                    break
        if not vice:
            issues.append(Issue("warning", "no_vice_chair",
                                tr(lang, "plan.no_vice_chair_in_charge"),
                                t.ref("vice_chair"), tcode))
        status, percent, completed_on = None, None, None
        if t.status_text and t.status_text.strip():
            status, percent = parse_status(t.status_text)
            if status == "?":
                issues.append(Issue("warning", "unknown_status",
                                    tr(lang, "plan.unknown_status_ignored", status=t.status_text.strip()),
                                    t.ref("status"), tcode))
                status = None
        if t.completed_on_text and t.completed_on_text.strip():
            completed_on = _parse_day(t.completed_on_text)
            if completed_on is None:
                issues.append(Issue("error", "bad_completed_on",
                                    tr(lang, "plan.completion_date_not_date_dd", text=t.completed_on_text.strip()),
                                    t.ref("completed_on"), tcode))
        out.tasks.append(ResolvedTask(
            spec=t, code=tcode, position=pos, section=t.section, title=title, deliverable=deliverable,
            deadline=dl, lead=lead, coordinating=coord,
            depends_on=[d.strip() for d in t.depends_on if d and d.strip()],
            vice_chair=vice, vice_chair_derived=derived, status=status, completed_on=completed_on,
            progress_note=(t.progress_text or "").strip() or None, percent=percent,
        ))

    known = {t.code for t in out.tasks}
    graph: dict[str, list[str]] = {}
    for t in out.tasks:
        graph[t.code] = []
        for d in t.depends_on:
            if d == t.code:
                issues.append(Issue("error", "self_dependency",
                                    tr(lang, "plan.task_depends_on_itself"),
                                    t.spec.ref("depends_on"), t.code))
            elif d not in known:
                issues.append(Issue("error", "unknown_dependency",
                                    tr(lang, "plan.depends_on_task_which_not", d=d),
                                    t.spec.ref("depends_on"), t.code))
            else:
                graph[t.code].append(d)
    cycle = _find_cycle(graph)
    if cycle:
        t0 = next(t for t in out.tasks if t.code == cycle[0])
        issues.append(Issue("error", "cycle",
                            tr(lang, "plan.cycle", path=" → ".join(cycle)),
                            t0.spec.ref("depends_on"), t0.code))
    return out

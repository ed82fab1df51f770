"""YAML plan files (Steer's native format), with strict shape checks and line numbers.

The document is composed into a node tree (so every mapping knows its line) and
walked by hand; scalars are resolved with PyYAML's safe constructor. Only structural
problems raise PlanFileError; a task without a title is still returned (title "")
so the validator reports it with its line.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.i18n import DEFAULT_LANG, tr
from engine.planfile.spec import PlanFileError, PlanSpec, SectionSpec, SourceRef, TaskSpec

PLAN_KEYS = ("code", "title", "document", "issued_on", "issued_by", "parent", "parent_plan")
TOP_KEYS = ("plan", "sections", "tasks")
IGNORED_TOP_KEYS = ("kpis", "indicators", "policy")  # reserved for future use
SECTION_KEYS = ("code", "title", "tasks")
TASK_KEYS = (
    "code",
    "title",
    "lead",
    "coordinating",
    "deliverable",
    "deadline",
    "depends_on",
    "vice_chair",
    "parent_task",
    "note",
    "status",
    "completed_on",
    "progress",
)

# what a YAML value of each type is called in messages: catalog key plan.yaml.type_<name>
_TYPE_NAMES = ("str", "list", "dict", "str_or_list")


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


class _Ctx:
    def __init__(self, source: str, lang: str = DEFAULT_LANG) -> None:
        self.source = source
        self.lang = lang
        self.constructor = yaml.SafeLoader("")

    def t(self, message: str, /, **fmt: Any) -> str:
        """A message text in the reader's language."""
        return tr(self.lang, message, **fmt)

    def type_name(self, name: str) -> str:
        return self.t(f"plan.yaml.type_{name}")

    def error(self, node: Node | None, text: str) -> PlanFileError:
        where = self.t("plan.yaml.line", line=node.start_mark.line + 1) if node is not None else ""
        return PlanFileError(self.t("plan.yaml.at", source=self.source, where=where, text=text))

    def value(self, node: ScalarNode) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:  # bad timestamps, unknown tags, ...
            raise self.error(
                node, self.t("plan.yaml.unreadable_value", value=node.value, reason=_one_line(exc))
            ) from None

    def must_be(self, node: Node, what: str, expected: str) -> PlanFileError:
        return self.error(node, self.t("plan.yaml.must_be", what=what, expected=self.type_name(expected),
                                       actual=_kind(self, node)))


def _kind(ctx: _Ctx, node: Node) -> str:
    if isinstance(node, MappingNode):
        return ctx.type_name("dict")
    if isinstance(node, SequenceNode):
        return ctx.type_name("list")
    return ctx.t("plan.yaml.a_value", value=node.value)


def _is_null(ctx: _Ctx, node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _mapping(ctx: _Ctx, node: Node, what: str, allowed: tuple[str, ...],
             ignored: tuple[str, ...] = ()) -> dict[str, tuple[Node, Node]]:
    if not isinstance(node, MappingNode):
        raise ctx.must_be(node, what, "dict")
    out: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise ctx.error(key_node, ctx.t("plan.yaml.key_not_name", what=what, actual=_kind(ctx, key_node)))
        key = str(key_node.value)
        if key in ignored:
            continue
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = ctx.t("plan.yaml.did_you_mean", close=close[0]) if close else ""
            valid = ", ".join(allowed)
            raise ctx.error(key_node, ctx.t("plan.yaml.bad_key", name=key, what=what, hint=hint, valid=valid))
        if key in out:
            raise ctx.error(key_node, ctx.t("plan.yaml.dup_key", name=key, what=what))
        out[key] = (key_node, value_node)
    return out


def _text(ctx: _Ctx, node: Node | None, what: str, *, allow_date: bool = False) -> str | None:
    """A scalar as written (dates as dd/mm/yyyy); None for null/absent."""
    if node is None or _is_null(ctx, node):
        return None
    if not isinstance(node, ScalarNode):
        raise ctx.must_be(node, what, "str")
    if "\x00" in str(node.value):  # "\0" in a double-quoted string; PostgreSQL cannot store it
        raise ctx.error(node, ctx.t("plan.yaml.nul", what=what))
    try:
        value = ctx.value(node)
    except PlanFileError:  # "2025-13-45": keep the text, the validator judges it
        return str(node.value)
    if isinstance(value, (date, datetime)):
        if not allow_date:
            return str(node.value)
        d = value.date() if isinstance(value, datetime) else value
        return d.strftime("%d/%m/%Y")
    return str(node.value)


def _text_list(ctx: _Ctx, node: Node | None, what: str) -> list[str]:
    if node is None or _is_null(ctx, node):
        return []
    if isinstance(node, ScalarNode):
        text = _text(ctx, node, what)
        return [text] if text else []
    if isinstance(node, SequenceNode):
        out = []
        for item in node.value:
            if not isinstance(item, ScalarNode):
                raise ctx.error(item, ctx.t("plan.yaml.item_must_be", what=what, expected=ctx.type_name("str"),
                                            actual=_kind(ctx, item)))
            text = _text(ctx, item, what)
            if text:
                out.append(text)
        return out
    raise ctx.must_be(node, what, "str_or_list")


def _code_list(ctx: _Ctx, node: Node | None, what: str) -> list[str]:
    out: list[str] = []
    for item in _text_list(ctx, node, what):
        out.extend(p for p in re.split(r"[,;\s]+", item) if p)
    return out


def _sequence(ctx: _Ctx, node: Node | None, what: str) -> list[Node]:
    if node is None or _is_null(ctx, node):
        return []
    if not isinstance(node, SequenceNode):
        raise ctx.must_be(node, what, "list")
    return list(node.value)


def _issued_on(ctx: _Ctx, node: Node | None) -> date | None:
    if node is None or _is_null(ctx, node):
        return None
    if isinstance(node, ScalarNode):
        value = ctx.value(node)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        m = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*", str(value))
        if m:
            try:
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                pass
    raise ctx.error(node, ctx.t("plan.yaml.issued_on", actual=_kind(ctx, node)))


def _task(ctx: _Ctx, node: Node, section: str | None, index: int) -> TaskSpec:
    line = node.start_mark.line + 1
    what = ctx.t("plan.yaml.task_nth", index=index)
    fields = _mapping(ctx, node, what, TASK_KEYS)
    code_node = fields.get("code", (None, None))[1]
    code = _text(ctx, code_node, ctx.t("plan.yaml.code_of_task"))
    if code:
        what = ctx.t("plan.yaml.task_code", code=code)

    def get(key: str) -> Node | None:
        return fields[key][1] if key in fields else None

    def of(key: str) -> str:
        return ctx.t("plan.yaml.field_of", field=key, what=what)

    task = TaskSpec(
        code=code.strip() if code else f"R{line}",
        title=(_text(ctx, get("title"), of("title")) or "").strip(),
        source=SourceRef(ctx.source, line),
        section=section,
        lead=_text_list(ctx, get("lead"), of("lead")),
        coordinating=_text_list(ctx, get("coordinating"), of("coordinating")),
        deliverable=(_text(ctx, get("deliverable"), of("deliverable")) or "").strip(),
        deadline_text=(
            _text(ctx, get("deadline"), of("deadline"), allow_date=True) or ""
        ).strip(),
        depends_on=_code_list(ctx, get("depends_on"), of("depends_on")),
        vice_chair=_text(ctx, get("vice_chair"), of("vice_chair")),
        parent_task=_text(ctx, get("parent_task"), of("parent_task")),
        status_text=_text(ctx, get("status"), of("status")),
        completed_on_text=_text(
            ctx, get("completed_on"), of("completed_on"), allow_date=True
        ),
        note=_text(ctx, get("note"), of("note")),
        progress_text=_text(ctx, get("progress"), of("progress")),
        columns={key: key for key in TASK_KEYS},
    )
    return task


def read_yaml_text(text: str, source: str, *, lang: str = DEFAULT_LANG) -> PlanSpec:
    ctx = _Ctx(source, lang)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = ctx.t("plan.yaml.syntax_at", line=mark.line + 1, column=mark.column + 1) if mark else ""
        problem = _one_line(exc.problem or exc.context or ctx.t("plan.yaml.syntax_error"))
        raise PlanFileError(ctx.t("plan.yaml.syntax", source=source, where=where, problem=problem)) from None
    except Exception as exc:  # ReaderError (control characters), recursion, ...
        raise PlanFileError(ctx.t("plan.yaml.unreadable", source=source, reason=_one_line(exc))) from None
    if root is None:
        raise PlanFileError(ctx.t("plan.yaml.empty", source=source))
    top = _mapping(ctx, root, ctx.t("plan.yaml.top"), TOP_KEYS + IGNORED_TOP_KEYS)
    plan = PlanSpec(source_file=source, format="yaml")

    if "plan" in top:
        meta_node = top["plan"][1]
        if not _is_null(ctx, meta_node):
            meta = _mapping(ctx, meta_node, ctx.t("plan.yaml.plan_entry"), PLAN_KEYS)

            def mget(key: str) -> Node | None:
                return meta[key][1] if key in meta else None

            plan.code = _text(ctx, mget("code"), "«plan.code»")
            plan.title = _text(ctx, mget("title"), "«plan.title»")
            plan.document = _text(ctx, mget("document"), "«plan.document»")
            plan.issued_on = _issued_on(ctx, mget("issued_on"))
            plan.issued_by = _text(ctx, mget("issued_by"), "«plan.issued_by»")
            plan.parent_plan = _text(ctx, mget("parent"), "«plan.parent»") or _text(
                ctx, mget("parent_plan"), "«plan.parent_plan»"
            )

    index = 0
    section_nodes = _sequence(ctx, top["sections"][1] if "sections" in top else None, "«sections»")
    for s_index, s_node in enumerate(section_nodes, start=1):
        what = ctx.t("plan.yaml.section_nth", index=s_index)
        fields = _mapping(ctx, s_node, what, SECTION_KEYS)
        code = _text(ctx, fields["code"][1] if "code" in fields else None,
                     ctx.t("plan.yaml.field_of", field="code", what=what))
        code = code.strip() if code else str(s_index)
        title = _text(ctx, fields["title"][1] if "title" in fields else None,
                      ctx.t("plan.yaml.field_of", field="title", what=what))
        plan.sections.append(
            SectionSpec(code=code, title=(title or "").strip(),
                        source=SourceRef(source, s_node.start_mark.line + 1))
        )
        for t_node in _sequence(ctx, fields["tasks"][1] if "tasks" in fields else None,
                                ctx.t("plan.yaml.tasks_of_section", code=code)):
            index += 1
            plan.tasks.append(_task(ctx, t_node, code, index))
    for t_node in _sequence(ctx, top["tasks"][1] if "tasks" in top else None, "«tasks»"):
        index += 1
        plan.tasks.append(_task(ctx, t_node, None, index))
    return plan

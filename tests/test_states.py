"""Statuses are Enums: no module compares against or passes a bare lifecycle-status literal.

``engine/states.py`` defines ``Status`` (a ``StrEnum`` whose values are the stored strings).
Code outside it names ``Status.COMPLETED``, not ``"completed"``. The scan flags a string
constant equal to a ``Status`` value that is compared (``==``, ``!=``, ``in``, also inside a
tuple/set/list on either side), passed to ``.in_(...)``/``.not_in(...)``, or passed as
``status=``, ``to_status=``, ``from_status=``. The same spelling in another vocabulary (report
buckets, which the report code keeps as strings) is listed in ``ALLOWED``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from engine.states import UNASSIGNED, Status, derive_task_status
from engine.timeliness import Timeliness

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "web", "cli", "flows", "notifications")
STATUS_VALUES = frozenset(Status)
KEYWORDS = frozenset({"status", "to_status", "from_status"})

# (file, enclosing function, the source of the flagged comparison): report buckets, not statuses
ALLOWED: frozenset[tuple[str, str, str]] = frozenset({
    ("engine/reporting.py", "_sig_keys", 'b == "cancelled"'),
    ("engine/reporting.py", "_sig_keys", 'b == "completed"'),
    ("engine/reporting.py", "_task_info", 'b == "cancelled"'),
    ("engine/reporting.py", "_task_info", 'b == "completed"'),
    ("engine/reporting.py", "_task_info", 'c[_SIG][0] != "cancelled"'),
    ("engine/reporting.py", "_task_counts", 'bucket in ("unassigned", "cancelled")'),
    ("engine/reporting.py", "_task_counts", 'bucket == "completed"'),
    ("engine/reporting.py", "_build_report", 'bucket == "completed"'),
    ("engine/reporting.py", "_appendix", 'b == "cancelled"'),
    ("engine/reporting.py", "_appendix", 'b == "completed"'),
    ("engine/render/view.py", "task_progress", 'b == "completed"'),  # the appendix row's bucket
})  # fmt: skip


def _literals(node: ast.AST) -> list[ast.Constant]:
    """String constants equal to a Status value: ``node`` itself or the items of a tuple/set/list."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.Set, ast.List)) else [node]
    return [n for n in items if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in STATUS_VALUES]


def bare_status_literals(path: Path, source: str) -> list[tuple[str, str, int, str]]:
    """(file, enclosing function, line, source) of every flagged use in ``source``."""
    tree = ast.parse(source)
    rel = path.relative_to(ROOT).as_posix() if path.is_absolute() else path.as_posix()
    out: list[tuple[str, str, int, str]] = []

    def visit(node: ast.AST, func: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = node.name
        flagged: list[ast.AST] = []
        if isinstance(node, ast.Compare):
            if any(_literals(side) for side in (node.left, *node.comparators)):
                flagged.append(node)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
                if any(_literals(a) for a in node.args):
                    flagged.append(node)
            flagged += [k.value for k in node.keywords if k.arg in KEYWORDS and _literals(k.value)]
        for n in flagged:
            out.append((rel, func, n.lineno, ast.get_source_segment(source, n) or ""))
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, "<module>")
    return out


def test_no_bare_status_literals():
    found = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            found += bare_status_literals(path, path.read_text(encoding="utf-8"))
    bad = [f"{f}:{line} in {fn}: {src}" for f, fn, line, src in found if (f, fn, src) not in ALLOWED]
    assert not bad, "use engine.states.Status members, not bare strings:\n" + "\n".join(bad)
    stale = ALLOWED - {(f, fn, src) for f, fn, _, src in found}
    assert not stale, f"allow-list entries that no longer occur: {sorted(stale)}"


def test_the_scan_finds_each_kind_of_use():
    src = '''
def f(w, x):
    if w.status == "completed": pass
    if x in ("blocked", "other"): pass
    q = col.in_(("submitted",))
    g(to_status="in_progress", status="cancelled", from_status=Status.NOT_STARTED)
    ok = {"completed": 1}["completed"] + h("completed")
'''
    got = [(fn, line) for _, fn, line, _ in bare_status_literals(Path("x.py"), src)]
    assert got == [("f", 3), ("f", 4), ("f", 5), ("f", 6), ("f", 6)]


def test_enum_members_are_the_stored_strings():
    assert Status.COMPLETED == "completed" and str(Status.COMPLETED) == "completed"
    assert f"{Status.IN_PROGRESS}" == "in_progress"
    assert json.dumps({"s": Status.BLOCKED, Status.SUBMITTED: 1}) == '{"s": "blocked", "submitted": 1}'
    assert hash(Status.CANCELLED) == hash("cancelled") and {"cancelled": 1}[Status.CANCELLED] == 1
    assert Timeliness.COMPLETED == Status.COMPLETED == "completed"  # same spelling, two vocabularies


def test_the_cli_task_status_choices_are_the_task_statuses():
    from cli.tasks import STATUSES

    assert set(STATUSES) == {UNASSIGNED, *Status} and len(STATUSES) == len(Status) + 1


def test_derive_task_status():
    assert derive_task_status([]) == "unassigned"
    assert derive_task_status([("cancelled", None)]) == "cancelled"
    assert derive_task_status([("completed", None), ("submitted", None)]) == "submitted"
    assert derive_task_status([("completed", None), ("blocked", None)]) == "blocked"
    assert derive_task_status([("not_started", None), ("completed", None)]) == "in_progress"
    assert derive_task_status([("not_started", None)]) == "not_started"

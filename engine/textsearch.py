"""Search as a Vietnamese user types it: without diacritics, in any case ("quy hoach" finds
"Quy hoạch", "so xay dung" finds "Sở Xây dựng", "sxd" finds the unit SXD).

Why Python-side folding, not a stored folded column: the texts searched are the directory's
units (tens to a few hundred rows, with their aliases) and the task titles of the plans
(hundreds to a few thousand rows, far fewer than work items). Folding them per search costs a
few milliseconds, needs no migration, no trigger or extension (``unaccent`` is PostgreSQL-only
and does not fold "đ"; SQLite has nothing), and behaves the same on SQLite and PostgreSQL. The
search answers a set of ids that the caller's SQL query then filters on (``Unit.id IN …``,
``Task.id IN …``), so paging, counting and ordering stay in the database. Should task tables
ever grow to hundreds of thousands of rows, a stored ``title_folded`` column filled by the same
``fold`` would replace ``matching_task_ids``' scan without changing its callers.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Task, Unit

_SPACE = re.compile(r"\s+")
MAX_QUERY = 100  # characters of a search that are looked at


@functools.lru_cache(maxsize=1 << 14)
def fold(text: str | None) -> str:
    """Lower case, no diacritics ("đ" → "d"), single spaces: "Sở  Xây DỰNG" → "so xay dung"."""
    if not text:
        return ""
    s = unicodedata.normalize("NFD", text.casefold().replace("đ", "d").replace("ð", "d"))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return _SPACE.sub(" ", s).strip()


def _query(text: str | None) -> str:
    return fold((text or "")[:MAX_QUERY])


@functools.lru_cache(maxsize=256)
def _pattern(q: str) -> re.Pattern[str]:
    # the query starts at a word's beginning: "xay dung" and "so xay" find "Sở Xây dựng", "an"
    # does not find every "ban" and "tan"
    return re.compile(r"(?<![0-9a-z])" + re.escape(q))


def _hit(q: str, text: str | None) -> bool:
    return bool(text) and _pattern(q).search(fold(text)) is not None


def matches(query: str | None, texts: Iterable[str | None]) -> bool:
    """Whether the folded ``query`` occurs, from a word's beginning, in one of ``texts`` (folded)."""
    q = _query(query)
    return bool(q) and any(_hit(q, t) for t in texts)


def matching_unit_ids(session: Session, query: str | None) -> list[int]:
    """Units whose code is ``query`` (any case), or whose code, name, alias or former name has it
    from the beginning of a word (folded). An exact code wins alone: "SXD" is that unit, not also every unit whose name
    happens to contain the letters."""
    q = _query(query)
    if not q:
        return []
    rows = session.execute(select(Unit.id, Unit.code, Unit.name, Unit.aliases, Unit.former_names)).all()
    exact = [uid for uid, code, *_ in rows if fold(code) == q]
    if exact:
        return exact
    return [uid for uid, code, name, aliases, former in rows
            if _hit(q, code) or _hit(q, name) or any(_hit(q, a) for a in (aliases or ()))
            or any(_hit(q, a) for a in (former or ()))]


def matching_task_ids(session: Session, query: str | None, *, plan_ids: Iterable[int] | None = None) -> list[int]:
    """Tasks whose title or code has ``query`` from the beginning of a word (folded)."""
    q = _query(query)
    if not q:
        return []
    stmt = select(Task.id, Task.code, Task.title)
    if plan_ids is not None:
        stmt = stmt.where(Task.plan_id.in_(list(plan_ids)))
    return [tid for tid, code, title in session.execute(stmt).all() if _hit(q, title) or _hit(q, code)]

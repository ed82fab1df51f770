"""The roll-up of the child units (``steer.rollup/1``, engine.rollup) as a document, and the
central template (``steer.central/1``) as a sheet.

``rollup_view`` lays the roll-up out as a ``View`` like a plan's report (engine.render.view):
the same header block, title, numbered parts, tables, "Nơi nhận" and signature, appendix. So
``engine.render.render`` gives it in every format (Markdown, HTML, XLSX, DOCX) through the
report renderers, and a stored roll-up shows on the report pages like any other report.

Parts: I. overview (units reported, items due and done, colours, the summed figures); II. each
child unit's colour with this level's rules, its reason and figures (the as-of date is in III);
III. the reports received
(as-of, signing and receiving time, key, audit-log length, digest: what the level above checks)
and the units that have not reported; IV. proposals. Appendix: the figures in the Government
Office's four statuses (engine.central).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.central import central_profile
from engine.i18n import tr
from engine.render.labels import SUMMARY_KEYS, authority_line, fmt_date, fmt_num, fmt_pct, long_date, pick
from engine.render.view import Part, Table, View, number_tables, rules_text, signer_title


def _dmy(iso: str | None) -> str:
    if not iso:
        return ""
    if len(iso) > 10:
        return datetime.fromisoformat(iso).strftime("%d/%m/%Y %H:%M")
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def _day(iso: str | None) -> date | None:
    return date.fromisoformat(iso[:10]) if iso else None


def _local(iso: str | None, tz: str | None, lang: str) -> str:
    """A UTC instant as the committee reads it, the date as the language writes dates: "20/05/2025 17:00"."""
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso)
    if tz:
        moment = moment.astimezone(ZoneInfo(tz))
    return f"{fmt_date(moment.date().isoformat(), lang)} {moment:%H:%M}"


def _label(u: Mapping[str, Any]) -> str:
    return f"{u['unit']} — {u['name']}" if u.get("name") else str(u["unit"])


def _names(units: list[Mapping[str, Any]]) -> str:
    return ", ".join(str(u.get("name") or u["unit"]) for u in units)


def _overview(data: Mapping[str, Any], lang: str) -> Part:
    s = data["summary"]
    counts = s.get("counts") or {}
    kids = s.get("children") or {}
    paras = [
        tr(lang, "rollup.v_units", units=s["units"], reported=s["reported"], grey=s.get("units_grey", 0)),
        tr(lang, "rollup.v_due", due=fmt_num(s["due"], lang), done=fmt_num(s["done"], lang),
           share=fmt_pct(s.get("share"), lang), overdue=fmt_num(s["overdue"], lang),
           total=fmt_num(counts.get("total", 0), lang)),
        tr(lang, "rollup.v_colours", green=s.get("units_green", 0), yellow=s.get("units_yellow", 0),
           red=s.get("units_red", 0), grey=s.get("units_grey", 0)),
    ]
    if kids.get("total"):
        paras.append(tr(lang, "rollup.v_children", total=fmt_num(kids["total"], lang),
                        green=fmt_num(kids.get("green", 0), lang),
                        share=fmt_pct(round(kids.get("green", 0) * 100.0 / kids["total"], 1), lang)))
    table = Table("summary", tr(lang, "rollup.v_table_summary"),
                  [tr(lang, "render.measure"), tr(lang, "render.work_items")],
                  [[pick("summary", k, lang), counts.get(k, 0)] for k in SUMMARY_KEYS] if s["reported"] else [],
                  [52, 14], empty=tr(lang, "rollup.v_nothing_reported"))
    return Part("I", tr(lang, "render.overview"), paras, [table])


def _by_unit(data: Mapping[str, Any], lang: str) -> Part:
    rows = []
    for i, u in enumerate(data["units"], start=1):
        snap = u.get("snapshot")
        kids = u.get("children") or {}
        rows.append([i, _label(u), u["status"], u["due"] if snap else None, u["done"] if snap else None,
                     u.get("share") if snap else None, u["overdue"] if snap else None,
                     f"{kids.get('green', 0)}/{kids.get('total', 0)}" if snap else None, u.get("reason") or ""])
    table = Table("units", tr(lang, "rollup.v_table_units"),
                  [tr(lang, "render.no_2"), tr(lang, "rollup.col_unit"), tr(lang, "render.rating"),
                   tr(lang, "render.due"), tr(lang, "rollup.col_done"), tr(lang, "rollup.col_share"),
                   tr(lang, "render.overdue_2"), tr(lang, "rollup.col_children"), tr(lang, "render.why")],
                  rows, [5, 30, 9, 9, 9, 11, 9, 11, 44], percent_cols=frozenset({5}), status_col=2,
                  empty=tr(lang, "rollup.no_children"))
    return Part("II", tr(lang, "rollup.v_by_unit"), [rules_text(data, lang)], [table])


def _received(data: Mapping[str, Any], lang: str) -> Part:
    tz = (data.get("committee") or {}).get("timezone")
    units = data["units"]
    grey = [u for u in units if not u.get("snapshot")]
    paras = [tr(lang, "rollup.v_not_reported", n=len(grey), names=_names(grey)) if grey
             else tr(lang, "rollup.v_all_reported", units=len(units))]
    rows = []
    for u in sorted((u for u in units if u.get("snapshot")), key=lambda u: u["unit"]):
        snap = u["snapshot"]
        # the signing time is in the file; the key's id and the digest's first 12 hex digits are
        # what a reader compares (steer keys list, the import's audit event), and keep the page portrait
        rows.append([_label(u), _day(snap["as_of"]), _local(snap.get("received_at"), tz, lang),
                     (snap.get("key_id") or "—")[:12], (snap.get("audit") or {}).get("length"),
                     (snap.get("digest") or "")[:12] or "—"])
    table = Table("received", tr(lang, "rollup.v_table_received"),
                  [tr(lang, "rollup.col_unit"), tr(lang, "rollup.col_as_of"), tr(lang, "rollup.col_received"),
                   tr(lang, "rollup.col_key"), tr(lang, "rollup.col_audit"), tr(lang, "rollup.col_digest")],
                  rows, [30, 12, 16, 14, 10, 14], empty=tr(lang, "rollup.v_nothing_reported"))
    return Part("III", tr(lang, "rollup.v_sending"), paras, [table])


def _proposals(data: Mapping[str, Any], lang: str) -> Part:
    units = data["units"]
    bullets = []
    for status, key in (("red", "rollup.v_propose_red"), ("yellow", "rollup.v_propose_yellow"),
                        ("grey", "rollup.v_propose_grey")):
        chosen = [u for u in units if u["status"] == status]
        if chosen:
            bullets.append(tr(lang, key, units=_names(chosen), label=data["period"]["label"]))
    bullets.append(tr(lang, "rollup.v_propose_all"))
    return Part("IV", tr(lang, "render.proposals"), [], [], bullets)


def _appendix(data: Mapping[str, Any], lang: str) -> Part:
    c = central_profile(data)
    names = list(c["mapping"]) + list(c.get("apart") or []) + ["total"]
    rows = [[i, f"{r['unit']} — {r['name']}", *(r[n] for n in names)] for i, r in enumerate(c["rows"], start=1)]
    if rows:
        rows.append(["", tr(lang, "rollup.total_row"), *(c["total"][n] for n in names)])
    table = Table("central", tr(lang, "rollup.central_title"),
                  [tr(lang, "render.no_2"), tr(lang, "rollup.col_unit"),
                   *(tr(lang, "rollup.col_total" if n == "total" else f"rollup.{n}") for n in names)],
                  rows, [5, 34, 14, 14, 14, 14, 14, 10], empty=tr(lang, "rollup.v_nothing_reported"))
    return Part("", tr(lang, "render.appendix"),
                [tr(lang, "rollup.v_appendix", as_of=fmt_date(data["as_of"], lang))], [table])


def rollup_view(data: Mapping[str, Any]) -> View:
    """The roll-up as a document (see the module's docstring)."""
    lang = data.get("lang", "vi")
    c = data.get("committee") or {}
    as_of = data["as_of"]
    p = data["period"]
    place = c.get("place")
    s = data["summary"]
    scope = tr(lang, "render.reporting_period_figures_as_end", start=fmt_date(p["start"], lang),
               end=fmt_date(p["end"], lang), as_of=fmt_date(as_of, lang))
    scope += " " + tr(lang, "rollup.v_scope", reported=s["reported"], units=s["units"])
    parts = [_overview(data, lang), _by_unit(data, lang), _received(data, lang), _proposals(data, lang)]
    number_tables(parts, lang)
    recipients = c.get("recipients") or [
        tr(lang, "render.chair_vice_chairs_for_information"),
        tr(lang, "rollup.v_to_children"),
        tr(lang, "render.file"),
    ]
    return View(
        lang=lang,
        authority=authority_line(c.get("authority"), lang),
        committee=(c.get("name") or "").upper(),
        place_date=(f"{place}, " if place else "") + long_date(as_of, lang),
        title=tr(lang, "render.report"),
        subtitle=tr(lang, "rollup.v_subtitle", label=p["label"]),
        scope_line=scope,
        parts=parts,
        appendix=_appendix(data, lang),
        recipients=recipients,
        signer_title=c.get("signer_title") or signer_title(c.get("signer"), lang),
        signer_name=c.get("signer_name") or (c.get("signer") or {}).get("name") or "",
        attached=tr(lang, "render.appendix_attached", date=long_date(as_of, lang), committee=c.get("name") or ""),
        sheet_names={"I": tr(lang, "render.summary"), "II": tr(lang, "render.by_unit"),
                     "III": tr(lang, "rollup.v_sheet_received"), "": tr(lang, "render.appendix_2")},
    )


# --- the central template -----------------------------------------------------------------------


def _central_names(data: Mapping[str, Any]) -> list[str]:
    return list(data["mapping"]) + list(data.get("apart") or []) + ["total"]


def central_header(data: Mapping[str, Any], lang: str) -> list[str]:
    return [tr(lang, "rollup.col_unit")] + [tr(lang, "rollup.col_total" if n == "total" else f"rollup.{n}")
                                            for n in _central_names(data)]


def central_xlsx(data: Mapping[str, Any], lang: str = "vi") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Mau VPCP"
    ws.append([tr(lang, "rollup.central_title")])
    per = data.get("period") or {}
    ws.append([f"{per.get('label') or per.get('key') or ''} — {_dmy(data.get('as_of'))}"])
    ws.append([])
    ws.append(central_header(data, lang))
    names = _central_names(data)
    for c in ws[4]:
        c.font = Font(bold=True)
    for r in data["rows"]:
        ws.append([f"{r['unit']} — {r['name']}"] + [r[n] for n in names])
    ws.append([tr(lang, "rollup.total_row")] + [data["total"][n] for n in names])
    for c in ws[ws.max_row]:
        c.font = Font(bold=True)
    ws.column_dimensions["A"].width = 36
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 18
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

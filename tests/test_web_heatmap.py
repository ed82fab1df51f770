"""The chair's heat map on the demo database, in a real browser (desktop 1366×768 and phone 390×844).

The demo's story (plans/sample-history.yaml) as of 01/08/2025 08:00 (Hà Nội), the default colour
rule (share of the items due that are done: green from 90 %, yellow from 70 %): most units
green, two yellow, two red; every card says why ("0/3 việc đến hạn đã xong; 3 quá hạn: …"),
the legend states the rule, and ``?rule=any_overdue`` brings back the former rule. Screenshots
go to ``test-artifacts/web-heatmap/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_web_a11y import (
    DESKTOP,
    NOW,
    PHONE,
    REPO,
    SECRET,
    _browser_or_skip,
    _demo_database,
    _in_browser,
    _login,
)
from tests.test_web_e2e import serving

ARTIFACTS = REPO / "test-artifacts" / "web-heatmap"


@pytest.fixture(scope="module")
def site(tmp_path_factory, _sqlite_template) -> Iterator[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    from web.app import create_app

    chromium = _browser_or_skip()
    tmp = tmp_path_factory.mktemp("heat")
    db_url, *_ = _demo_database(tmp / "steer.db", _sqlite_template)
    app = create_app(db_url, secret_key=SECRET, upload_dir=str(tmp / "uploads"), now=lambda: NOW)
    try:
        with serving(app, "heat-uvicorn") as url:
            yield url, chromium, db_url
    finally:
        app.state.db.write.dispose()
        app.state.db.read.dispose()


def _cards(page) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    cells = page.locator('[data-testid="heat-cell"]')
    return {cells.nth(i).get_attribute("data-unit"): {
        "status": cells.nth(i).get_attribute("data-status"),
        "reason": cells.nth(i).locator('[data-testid="heat-reason"]').inner_text()} for i in range(cells.count())}


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_demo_heat_map_has_three_colours_with_reasons_and_the_rule_in_the_legend(site):
    url, chromium, _ = site

    def run(browser: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for label, ctx_kw in (("desktop", DESKTOP), ("phone", PHONE)):
            ctx, page = _login(browser, url, "chair", **ctx_kw)
            page.goto(f"{url}/heatmap")
            found[label] = {"cards": _cards(page), "legend": page.locator('[data-testid="heat-legend"]').inner_text(),
                            "width": page.evaluate("document.documentElement.scrollWidth")}
            _shot(page, f"heatmap-{label}")
            if label == "desktop":
                page.select_option('[data-testid="heat-rule"]', "any_overdue")
                with page.expect_navigation():
                    page.click('[data-testid="heatmap-filters"] button[type="submit"]')
                assert "rule=any_overdue" in page.url, page.url
                found["old"] = {"cards": _cards(page),
                                "legend": page.locator('[data-testid="heat-legend"]').inner_text()}
                _shot(page, "heatmap-desktop-any-overdue")
                page.goto(f"{url}/heatmap?lang=en")
                found["en"] = _cards(page)
            ctx.close()
        return found

    found = _in_browser(run, chromium)
    cards = found["desktop"]["cards"]
    colours = [c["status"] for c in cards.values()]
    assert {"green", "yellow", "red"} <= set(colours), colours
    assert colours.count("green") >= 15 and colours.count("red") == 2, colours
    assert list(cards)[:2] == ["XDS", "BCHQS"], list(cards)  # worst first
    # Đông Sơn commune never started its three shares due by 01/08 (7 on 04/04, 1 and 47 on 30/06)
    assert cards["XDS"] == {"status": "red", "reason": "0/3 việc đến hạn đã xong; 3 quá hạn: NV 7 (119 ngày), "
                                                        "NV 1 (32 ngày), NV 47 (32 ngày)"}, cards["XDS"]
    assert cards["SNV"] == {"status": "yellow", "reason": "5/6 việc đến hạn đã xong; 1 quá hạn: NV 42 (62 ngày)"}
    assert cards["SKHCN"] == {"status": "green", "reason": "5/5 việc đến hạn đã xong"}
    assert cards["MTTQ"]["reason"] == "Chưa có việc đến hạn (đến 01/08/2025)"
    assert all(c["reason"] for c in cards.values())
    legend = found["desktop"]["legend"]
    assert "xanh từ 90 %" in legend and "vàng từ 70 %" in legend and "01/08/2025" in legend, legend
    assert "chưa đến hạn không tính" in legend, legend
    # the phone shows the same cards without scrolling sideways
    assert found["phone"]["cards"] == cards and found["phone"]["width"] <= 391, found["phone"]["width"]
    # the former rule, by name: any overdue item makes a unit red
    old = found["old"]["cards"]
    assert old["SNV"]["status"] == "red" and old["VP_UBND"]["status"] == "red" and old["SKHCN"]["status"] != "red"
    assert "Tiêu chí xếp loại" in found["old"]["legend"], found["old"]["legend"]
    assert found["en"]["XDS"]["reason"].startswith("0/3 items due are done; 3 overdue: task 7 (119 days)")


def test_the_scope_section_and_milestone_narrow_the_rule_as_the_report_does(site):
    """?section=I&milestone=30/06/2025 colours units as build_report does with the same rules."""
    from engine import db as dbmod
    from engine.db import transaction
    from engine.reporting import build_report, parse_rules

    url, chromium, db_url = site

    def run(browser: Any) -> dict[str, Any]:
        ctx, page = _login(browser, url, "chair", **DESKTOP)
        page.goto(f"{url}/heatmap?section=I&milestone=30/06/2025")
        got = {"cards": _cards(page), "legend": page.locator('[data-testid="heat-legend"]').inner_text(),
               "section": page.locator('[data-testid="heat-section"]').input_value(),
               "milestone": page.locator('[data-testid="heat-milestone"]').input_value()}
        _shot(page, "heatmap-desktop-section-i")
        page.goto(f"{url}/heatmap?section=IX")
        got["bad"] = page.inner_text("main")
        ctx.close()
        return got

    got = _in_browser(run, chromium)
    eng = dbmod.make_engine(db_url)
    with transaction(eng) as s:
        data = build_report(s, plan_code="KH-57-LS", kind="monthly", as_of=NOW.date(),
                            rules=parse_rules({"section": "I", "milestone": "2025-06-30"}))
    eng.dispose()
    assert {u: c["status"] for u, c in got["cards"].items()} == {u["unit"]: u["status"] for u in data["units"]}
    assert all(c["reason"] for c in got["cards"].values())
    assert {c["status"] for c in got["cards"].values()} == {"green", "red"}  # section I: 44 items due by 30/06
    assert "Chỉ tính phần I " in got["legend"] and "30/06/2025" in got["legend"], got["legend"]
    assert (got["section"], got["milestone"]) == ("I", "30/06/2025")
    assert "không có phần «IX»" in got["bad"], got["bad"]

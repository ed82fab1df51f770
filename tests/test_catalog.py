"""The one message catalog (engine.catalog, read by engine.i18n.tr): complete, consistent, used."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from engine.catalog import CATALOG
from engine.i18n import norm_lang, pick_lang, tr

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("engine", "cli", "web", "flows", "notifications")


def _fields(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_entry_has_both_languages_and_the_same_placeholders():
    bad = []
    for key, (vi, en) in CATALOG.items():
        if not vi.strip() or not en.strip():
            bad.append(f"{key}: empty text")
        elif _fields(vi) != _fields(en):
            bad.append(f"{key}: vi {sorted(_fields(vi))} != en {sorted(_fields(en))}")
    assert not bad, "\n".join(bad)


def _literal_keys() -> dict[str, str]:
    """Every key the code asks for literally: ``tr(x, "key"``, templates' ``t("key"``."""
    found: dict[str, str] = {}
    py = re.compile(r"""\btr\(\s*[\w.()]+\s*,\s*["']([\w.]+)["']""")
    tpl = re.compile(r"""\bt\(\s*["']([\w.]+)["']""")
    for d in CODE_DIRS:
        for path in (ROOT / d).rglob("*.py"):
            for key in py.findall(path.read_text(encoding="utf-8")):
                found.setdefault(key, str(path.relative_to(ROOT)))
    for path in (ROOT / "web" / "templates").rglob("*.html"):
        for key in tpl.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(ROOT)))
    return found


def test_every_key_the_code_asks_for_exists():
    keys = _literal_keys()
    assert len(keys) > 100  # the scan finds the code's lookups (it would pass vacuously otherwise)
    missing = sorted(f"{k} ({where})" for k, where in keys.items() if k not in CATALOG)
    assert not missing, missing


def test_lookup_picks_the_language_and_fills_placeholders():
    assert tr("vi", "common.version", version=3) == "phiên bản 3"
    assert tr("en", "common.version", version=3) == "version 3"
    assert tr("en-US", "common.error") == "Error"
    assert tr(None, "common.error") == "Lỗi"
    with pytest.raises(KeyError):
        tr("vi", "no.such.key")


def test_language_names():
    assert norm_lang("EN") == "en" and norm_lang("fr") == "vi" and norm_lang(None) == "vi"
    assert pick_lang("en-GB") == "en" and pick_lang("vi-VN") == "vi" and pick_lang("fr") is None


# Files allowed to compare language names themselves: the lookup, and the launcher, which is
# stdlib-only by design (it must start without the engine) and keeps one fallback message pair.
LANGUAGE_BRANCH_EXCEPTIONS = ("engine/i18n.py", "cli/launch.py")
_EN = r"[\"']en[\"']"
LANGUAGE_BRANCH = [re.compile(p) for p in (r"def _t\(", r"\bdef vi\(", rf"[=!]=\s*{_EN}", rf"{_EN}\s*[=!]=",
                                           rf"\.startswith\(\s*{_EN}")]


def _branches(line: str) -> bool:
    return any(p.search(line) for p in LANGUAGE_BRANCH)


def test_no_language_branches_outside_the_catalog():
    """Code picks texts by key, never with ``if lang == "en"``, ``lang_of(request) == "en"``,
    ``.startswith("en")`` or a local two-text helper."""
    hits = []
    for d in CODE_DIRS:
        for path in (ROOT / d).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in LANGUAGE_BRANCH_EXCEPTIONS:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _branches(line):
                    hits.append(f"{rel}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize("line", [
    'text = "Not found." if lang_of(request) == "en" else "Không tìm thấy."',
    "if lang != 'en':", 'if "en" == lang:', 'en = lang.lower().startswith("en")', "def _t(lang, vi, en):",
    "def vi(vi_text, en_text):", 'language="en" if language == "en" else "vi"',
])
def test_the_language_branch_scan_catches(line):
    assert _branches(line)


@pytest.mark.parametrize("line", ['tr(lang, "esc.ack_nothing", ref=ref)', 'lang = norm_lang(lang)',
                                  'LANGS = ("vi", "en")', 'if lang in ("en", "vi"):'])
def test_the_language_branch_scan_leaves_lookups_alone(line):
    assert not _branches(line)

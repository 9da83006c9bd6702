"""Every visitor-facing text comes from the gettext catalogs, in Russian and English."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from kiosk.app import STAFF_MESSAGES
from mfc_edge.i18n import LOCALE_DIR, translator

ROOT = Path(__file__).parent.parent
# tr('…'), t('…'), app.tr("…") in .kv and .py files, and t.n('…', '…', n) plurals
CALL = re.compile(r"""\b(?:tr|t)\(\s*(['"])(.+?)(?<!\\)\1""", re.S)
PLURAL = re.compile(r"""\bt\.n\(\s*(['"])(.+?)\1\s*,\s*(['"])(.+?)\3""", re.S)


def used_messages() -> set[str]:
    found: set[str] = set(STAFF_MESSAGES.values())
    for folder in ("kiosk", "signage", "hardware", "mfc_edge", "offline_cache", "hub"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".kv"):
                text = path.read_text(encoding="utf-8")
                found |= {m.group(2) for m in CALL.finditer(text)}
                found |= {m.group(2) for m in PLURAL.finditer(text)}
    return found


def catalog(lang: str):
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "mfc_edge.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_message_is_translated(lang):
    po = catalog(lang)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in po if m.id}
    missing = sorted(used_messages() - set(translated))
    assert not missing, f"{lang}: messages used in the code but not in the catalog: {missing}"
    empty = sorted(k for k, v in translated.items() if not (v if isinstance(v, str) else all(v)))
    assert not empty, f"{lang}: untranslated: {empty}"


def messages(catalog) -> dict:
    def plain(value):
        return value if isinstance(value, str) else tuple(value)
    return {plain(m.id): plain(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_compiled_catalogs_match_their_sources(lang):
    """The .mo that runs must say what the .po says: recompile with pybabel after editing."""
    po = catalog(lang)
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "mfc_edge.mo", "rb") as f:
        mo = read_mo(f)
    assert messages(mo) == messages(po)


def test_russian_plurals_and_english():
    ru, en = translator("ru"), translator("en")
    assert ru.n("{n} person ahead of you", "{n} people ahead of you", 1).format(n=1) == "Перед вами 1 человек"
    assert ru.n("{n} person ahead of you", "{n} people ahead of you", 3).format(n=3) == "Перед вами 3 человека"
    assert ru.n("{n} person ahead of you", "{n} people ahead of you", 11).format(n=11) == "Перед вами 11 человек"
    assert ru.n("{n} person ahead of you", "{n} people ahead of you", 22).format(n=22) == "Перед вами 22 человека"
    assert en.n("{n} person ahead of you", "{n} people ahead of you", 2).format(n=2) == "2 people ahead of you"
    assert ru("Take a ticket") == "Получить талон"
    with pytest.raises(ValueError, match="no translation catalog for 'de'"):
        translator("de")

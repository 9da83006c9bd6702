"""Visitor-facing text from gettext catalogs: Russian first, English second.

Message ids are English; `locale/<lang>/LC_MESSAGES/mfc_edge.po` holds each language's
text and the compiled `.mo` beside it is what runs (see tests/test_i18n.py, which keeps
the two in step).
"""
from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DOMAIN = "mfc_edge"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ru", "en")


@dataclass(frozen=True)
class Translator:
    """Texts in one language: `t(message)`, and `t.n(singular, plural, count)` for plurals."""

    lang: str
    catalog: gettext.GNUTranslations

    def __call__(self, message: str, lang: str | None = None) -> str:
        """`lang` asks for another language's text: the slides a kiosk shares with the screens
        say everything in Russian and in English, whichever language the visitor chose."""
        if lang is not None and lang != self.lang:
            return translator(lang)(message)
        return self.catalog.gettext(message)

    def n(self, singular: str, plural: str, count: int) -> str:
        return self.catalog.ngettext(singular, plural, count)


@cache
def translator(lang: str) -> Translator:
    if lang not in LANGUAGES:
        raise ValueError(f"no translation catalog for {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return Translator(lang, gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang]))


def people_ahead_text(t: Translator, count: int) -> str:
    """The one way a visitor is told their place: on the kiosk's screen and ticket, and on the phone page."""
    if count == 0:
        return t("You are next")
    return t.n("{n} person ahead of you", "{n} people ahead of you", count).format(n=count)


def wait_text(t: Translator, minutes: int, approximate: bool = False) -> str:
    # "About 0 minutes" reads as a mistake to someone still standing in the hall.
    text = t("Estimated wait: about {m} min").format(m=max(1, minutes))
    return text + " " + t("(approximate)") if approximate else text

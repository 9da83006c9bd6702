"""The center's urgent notices on the kiosk («Росреестр: приём документов приостановлен до 14:00»).

The start screen shows every notice in force; a service's page shows those that concern that
service, above the buttons that take a ticket, so a visitor reads it before taking one. The
app looks at its notice board (offline_cache/notices.py) every second, by its own clock: a
notice goes at its expiry, hub or no hub, with no restart. Each notice is in the visitor's
language (Russian when it has no English text).
"""
from __future__ import annotations

from collections.abc import Sequence

from kivy.properties import StringProperty
from kivy.uix.label import Label
from kivy.utils import escape_markup

from mfc_edge.i18n import Translator
from offline_cache.notices import Notice


class NoticeBanner(Label):
    """A strong banner, in warning colours (notices.kv); no height at all while there is nothing."""

    tag = StringProperty("notice-banner")
    service = StringProperty("")  # "": every notice in force; a service id: those that concern it

    @staticmethod
    def compose(notices: Sequence[Notice], t: Translator, service: str) -> str:
        """The banner's text in the language of `t` (the app's translator)."""
        shown = [escape_markup(n.text(t.lang)) for n in notices if not service or n.concerns(service)]
        if not shown:
            return ""
        return "\n".join([f"[b]{t('Important notice')}[/b]", *shown])

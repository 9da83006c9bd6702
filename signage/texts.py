"""The screen's texts: Russian first, English under it (a screen cannot ask who is watching)."""
from __future__ import annotations

from mfc_edge.i18n import translator


def tr(message: str, lang: str = "ru") -> str:
    return translator(lang)(message)

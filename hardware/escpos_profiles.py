"""What a printer model can do, from python-escpos's capability database."""
from __future__ import annotations

from escpos.capabilities import CAPABILITIES, get_profile

# Preferred first: CP866 is what Russian ESC/POS printers ship with.
CYRILLIC_ENCODINGS = ("CP866", "CP1251")

# Dots per line at 203 dpi for the paper widths kiosks use.
PIXELS_PER_PAPER_MM = {58: 384, 80: 576}
CHARS_PER_PAPER_MM = {58: 32, 80: 48}


def cyrillic_code_page(profile_name: str) -> tuple[int, str]:
    """The (ESC t number, Python codec) to print Russian on this profile.

    Raises ValueError for an unknown profile or one without a Cyrillic code page.
    """
    if profile_name not in CAPABILITIES["profiles"]:
        raise ValueError(f"unknown printer profile {profile_name!r}")
    pages = get_profile(profile_name).profile_data.get("codePages", {})
    for encoding in CYRILLIC_ENCODINGS:
        for number, name in pages.items():
            if name == encoding:
                return int(number), encoding.lower()
    raise ValueError(f"printer profile {profile_name!r} has no Cyrillic code page")


def supports_native_qr(profile_name: str) -> bool:
    return bool(get_profile(profile_name).supports("qrCode"))

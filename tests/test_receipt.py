"""A receipt rendered to ESC/POS bytes reads back as the same receipt."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.escpos_decode import DecodeError, decode_escpos
from hardware.receipt import Cut, Feed, QRCode, Text, printable, render_escpos, wrap

cyrillic_text = st.text(alphabet="АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя0123456789 .,:-№",
                        min_size=1, max_size=60).map(str.strip).filter(bool)
line = st.builds(Text, cyrillic_text, st.integers(1, 4), st.integers(1, 4), st.booleans(),
                 st.sampled_from(["left", "center", "right"]))
element = st.one_of(line, st.builds(QRCode, st.from_regex(r"https://hub\.example/t/[A-Za-z0-9_-]{8,22}", fullmatch=True),
                                    st.integers(3, 8)), st.builds(Feed, st.integers(1, 4)))


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None)
@given(st.lists(element, min_size=1, max_size=12), st.sampled_from([58, 80]))
def test_round_trip(elements, paper_width):
    receipt = tuple(elements) + (Cut(),)
    decoded = decode_escpos(render_escpos(receipt, "default", paper_width))
    expected = [e for e in wrap(receipt, paper_width) if not isinstance(e, Feed)]
    got = [e for e in decoded if not isinstance(e, Feed)]
    # python-escpos feeds a few lines before the cut; everything else comes back as it was sent.
    assert got == expected


def test_typography_the_code_page_lacks_is_made_plain():
    assert printable("Паспорт — «новый»…", "cp866") == 'Паспорт - "новый"...'
    assert printable("日本", "cp866") == "??"


def test_unknown_commands_and_cut_short_data_are_named():
    with pytest.raises(DecodeError, match=r"unknown ESC command 0x7a at byte 0"):
        decode_escpos(b"\x1bz")
    with pytest.raises(DecodeError, match=r"command at byte 0 is cut short"):
        decode_escpos(b"\x1dv0\x00\x10\x00\x10\x00\xff")
    with pytest.raises(DecodeError, match=r"unexpected control byte 0x07 at byte 2"):
        decode_escpos(b"ab\x07")

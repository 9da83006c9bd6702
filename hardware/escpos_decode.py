"""Read ESC/POS bytes back into a Receipt: what a printer would put on paper.

It understands the commands python-escpos emits for text-mode slips (code pages, print
modes, sizes, alignment, feeds, native and raster QR, cut) plus the real-time status
queries, which a printer answers and does not print. Anything else is a DecodeError
naming the byte offset, so a layout change that emits something new cannot slip
through tests unseen.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from escpos.capabilities import get_profile

from hardware.receipt import ALIGNMENTS, Cut, Element, Feed, QRCode, Raster, Receipt, Text


class DecodeError(ValueError):
    pass


@dataclass
class _Mode:
    encoding: str = "cp437"
    width: int = 1
    height: int = 1
    bold: bool = False
    align: str = "left"
    qr_module: int = 3
    qr_data: bytes | None = None
    line: bytearray = field(default_factory=bytearray)


def _code_pages(profile: str) -> dict[int, str]:
    pages = get_profile(profile).profile_data.get("codePages", {})
    return {int(n): name.lower() for n, name in pages.items() if name != "Unknown"}


def decode_escpos(data: bytes, profile: str = "default") -> Receipt:
    pages = _code_pages(profile)
    mode = _Mode()
    out: list[Element] = []
    i, n = 0, len(data)

    def need(count: int) -> bytes:
        if i + count > n:
            raise DecodeError(f"command at byte {i} is cut short")
        return data[i:i + count]

    def end_line() -> None:
        out.append(Text(mode.line.decode(mode.encoding, errors="replace"),
                        mode.width, mode.height, mode.bold, mode.align))
        mode.line.clear()

    while i < n:
        b = data[i]
        if b == 0x0A:
            end_line()
            i += 1
        elif b == 0x0D:
            i += 1
        elif b == 0x10:  # DLE EOT n: real-time status query, answered, not printed
            cmd = need(3)
            if cmd[1] != 0x04:
                raise DecodeError(f"unknown DLE command at byte {i}")
            i += 3
        elif b == 0x1B:
            op = need(2)[1]
            if op == 0x40:  # ESC @
                mode = _Mode(encoding=pages.get(0, "cp437"))
                i += 2
            elif op in (0x74, 0x21, 0x45, 0x61, 0x4D, 0x64, 0x2D, 0x4A, 0x33, 0x47):
                arg = need(3)[2]
                if op == 0x74:
                    if arg not in pages:
                        raise DecodeError(f"unknown code page {arg} at byte {i}")
                    mode.encoding = pages[arg]
                elif op == 0x21:
                    mode.width = 2 if arg & 0x20 else 1
                    mode.height = 2 if arg & 0x10 else 1
                    mode.bold = bool(arg & 0x08)
                elif op == 0x45:
                    mode.bold = bool(arg & 1)
                elif op == 0x61:
                    mode.align = ALIGNMENTS[arg % 48] if arg % 48 < 3 else "left"
                elif op == 0x64:
                    out.append(Feed(arg))
                i += 3
            elif op == 0x32:  # ESC 2: default line spacing
                i += 2
            else:
                raise DecodeError(f"unknown ESC command 0x{op:02x} at byte {i}")
        elif b == 0x1D:
            op = need(2)[1]
            if op == 0x21:  # GS ! n: character size
                arg = need(3)[2]
                mode.width, mode.height = (arg >> 4) + 1, (arg & 0x0F) + 1
                i += 3
            elif op == 0x42:  # GS B n: reverse
                i += 3
            elif op == 0x56:  # GS V m [n]: cut
                m = need(3)[2]
                i += 4 if m in (65, 66) else 3
                out.append(Cut())
            elif op == 0x28:  # GS ( k pL pH cn fn [m] data
                head = need(5)
                if head[2] != 0x6B:
                    raise DecodeError(f"unknown GS ( command at byte {i}")
                length = head[3] | head[4] << 8
                body = need(5 + length)[5:]
                if len(body) < 2 or body[0] != 0x31:
                    raise DecodeError(f"unsupported 2D code at byte {i}")
                fn = body[1]
                if fn == 0x43:
                    mode.qr_module = body[2]
                elif fn == 0x50:
                    mode.qr_data = bytes(body[3:])
                elif fn == 0x51:
                    if mode.qr_data is None:
                        raise DecodeError(f"QR print without data at byte {i}")
                    out.append(QRCode(mode.qr_data.decode("utf-8", errors="replace"),
                                      mode.qr_module, mode.align))
                i += 5 + length
            elif op == 0x76:  # GS v 0 m xL xH yL yH bits
                head = need(8)
                width_bytes = head[4] | head[5] << 8
                height = head[6] | head[7] << 8
                bits = need(8 + width_bytes * height)[8:]
                out.append(Raster(width_bytes, height, bytes(bits), mode.align))
                i += 8 + width_bytes * height
            else:
                raise DecodeError(f"unknown GS command 0x{op:02x} at byte {i}")
        elif b < 0x20:
            raise DecodeError(f"unexpected control byte 0x{b:02x} at byte {i}")
        else:
            mode.line.append(b)
            i += 1
    if mode.line:
        end_line()
    return tuple(out)


def receipt_text(receipt: Receipt) -> str:
    """The printed words, one line each: what a test or a person reads off a slip."""
    return "\n".join(e.text for e in receipt if isinstance(e, Text))

"""What the waiting area hears for a call: «Талон Пэ сорок два, окно пять».

Everything is written out in words before espeak-ng sees it. Left to itself the synthesizer
reads "П042" as a letter it may swallow and "ноль сорок два"; a letter's Russian name
(«Пэ», «Эль») and the number in words are what an announcer in a hall would say. Ticket
numbers drop their leading zeros (П007 is «семь»), and the window is always named. A call
number the hub gave a second ticket printed with the same number (П505/2, hub/placement.py) is
said as Russians say such numbers, «Пэ пятьсот пять дробь два».
"""
from __future__ import annotations

import re

from mfc_edge.protocol import CALL_NUMBER, WINDOW_PATTERN

TICKET = CALL_NUMBER
WINDOW = re.compile(WINDOW_PATTERN)

LETTER_NAMES_RU = {
    "А": "А", "Б": "Бэ", "В": "Вэ", "Г": "Гэ", "Д": "Дэ", "Е": "Е", "Ё": "Ё", "Ж": "Жэ", "З": "Зэ",
    "И": "И", "Й": "И краткое", "К": "Ка", "Л": "Эль", "М": "Эм", "Н": "Эн", "О": "О", "П": "Пэ",
    "Р": "Эр", "С": "Эс", "Т": "Тэ", "У": "У", "Ф": "Эф", "Х": "Ха", "Ц": "Цэ", "Ч": "Чэ", "Ш": "Ша",
    "Щ": "Ща", "Ъ": "твёрдый знак", "Ы": "Ы", "Ь": "мягкий знак", "Э": "Э", "Ю": "Ю", "Я": "Я",
}
# What the letter on the screen looks like to someone who reads Latin script.
LETTER_NAMES_EN = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Е": "E", "Ё": "Yo", "Ж": "Zh", "З": "Z",
    "И": "I", "Й": "Y", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P", "Р": "R",
    "С": "S", "Т": "T", "У": "U", "Ф": "F", "Х": "Kh", "Ц": "Ts", "Ч": "Ch", "Ш": "Sh", "Щ": "Shch",
    "Ъ": "hard sign", "Ы": "Y", "Ь": "soft sign", "Э": "E", "Ю": "Yu", "Я": "Ya",
}

_RU_UNITS = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_RU_TEENS = ("десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
             "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать")
_RU_TENS = ("", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
            "восемьдесят", "девяносто")
_RU_HUNDREDS = ("", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
                "восемьсот", "девятьсот")

_EN_UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def russian_number(n: int) -> str:
    """0–999 in Russian words, masculine (талон, номер): 42 → «сорок два»."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n}: only 0 to 999 can be said")
    if n == 0:
        return "ноль"
    hundreds, rest = divmod(n, 100)
    words = [_RU_HUNDREDS[hundreds]]
    if 10 <= rest <= 19:
        words.append(_RU_TEENS[rest - 10])
    else:
        words += [_RU_TENS[rest // 10], _RU_UNITS[rest % 10]]
    return " ".join(w for w in words if w)


def english_number(n: int) -> str:
    """0–999 in English words: 42 → "forty-two", 101 → "one hundred and one"."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n}: only 0 to 999 can be said")
    if n == 0:
        return "zero"
    hundreds, rest = divmod(n, 100)
    if rest < 10:
        tail = _EN_UNITS[rest]
    elif rest < 20:
        tail = _EN_TEENS[rest - 10]
    else:
        tail = _EN_TENS[rest // 10] + ("-" + _EN_UNITS[rest % 10] if rest % 10 else "")
    if not hundreds:
        return tail
    return f"{_EN_UNITS[hundreds]} hundred" + (f" and {tail}" if tail else "")


def _ticket(number: str) -> tuple[str, int, int | None]:
    match = TICKET.fullmatch(number) if isinstance(number, str) else None
    if not match:
        raise ValueError(f"ticket number {number!r}: expected a Cyrillic capital letter and 3 digits, like П042 "
                         "(or П042/2)")
    return match.group(1), int(match.group(2)), int(match.group(3)) if match.group(3) else None


def _window(window: str, number_words) -> str:
    if not isinstance(window, str) or not WINDOW.match(window):
        raise ValueError(f"window {window!r}: expected up to 8 letters, digits or hyphens")
    if window.isdigit() and int(window) <= 999:
        return number_words(int(window))
    return window  # "5А", "VIP-1": said as written


def russian_phrase(number: str, window: str) -> str:
    letter, n, nth = _ticket(number)
    nth_words = f" дробь {russian_number(nth)}" if nth else ""
    return f"Талон {LETTER_NAMES_RU[letter]} {russian_number(n)}{nth_words}, окно {_window(window, russian_number)}"


def english_phrase(number: str, window: str) -> str:
    letter, n, nth = _ticket(number)
    nth_words = f" slash {english_number(nth)}" if nth else ""
    return (f"Ticket {LETTER_NAMES_EN[letter]} {english_number(n)}{nth_words}, "
            f"window {_window(window, english_number)}")


def check_call(call: dict) -> dict:
    """A call from the hub's queue feed with its fields checked; ValueError says what is wrong."""
    if not isinstance(call, dict):
        raise ValueError(f"call {call!r}: expected an object")
    _ticket(call.get("number"))
    _window(call.get("window"), str)
    if not isinstance(call.get("at"), str) or not call["at"]:
        raise ValueError(f"call {call.get('number')}: 'at' {call.get('at')!r} is not a time")
    return {"number": call["number"], "window": call["window"], "at": call["at"],
            "recall": bool(call.get("recall", False))}

"""Reports as files, the same way for a center's hub (hub/report_export.py) and the city
(city/report_export.py): CSV a spreadsheet opens with the Cyrillic right, and XLSX (openpyxl)."""
from __future__ import annotations

import csv
import io
from typing import Any

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def span(first: str, last: str) -> str:
    return first if first == last else f"{first}..{last}"


def csv_bytes(rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, which spreadsheets need to read the Cyrillic right; an
    empty cell where a figure has no visitors to count."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(heading: str, rows: list[list[Any]], sheet_title: str) -> bytes:
    from openpyxl import Workbook  # the hub and city extras'; only exports need it

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title
    sheet.append([heading])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

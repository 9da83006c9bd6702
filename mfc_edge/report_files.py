"""Reports as files, the same way for a center's hub (hub/report_export.py) and the city
(city/report_export.py): CSV a spreadsheet opens with the Cyrillic right, and XLSX (openpyxl)."""
from __future__ import annotations

import csv
import io
from typing import Any

from mfc_edge.report_periods import TOTAL

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


PERIOD_CAPTION = "Период / Period"


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


def report_table(report: dict[str, Any], columns: tuple[tuple[str, str], ...], group_captions: dict[str, str],
                 named: str) -> list[list[Any]]:
    """The report as rows of cells, a header row first: one row per group (per period and group
    in a series), then the total of each period in a series, then the whole range's total.
    `columns`: (key, caption) in order; groups by `named` ("operator", "center") show their name."""
    def group_cell(row: dict[str, Any]) -> str:
        key = row[report["by"]]
        if report["by"] == named and row.get("name") and row["name"] != key:
            return f"{row['name']} ({key})"
        return str(key)

    lead = [PERIOD_CAPTION] if report.get("every") else []
    header = [*lead, group_captions[report["by"]], *(caption for _, caption in columns)]
    rows = [[*([span(row["from"], row["to"])] if lead else []), group_cell(row),
             *(row[key] for key, _ in columns)] for row in report["rows"]]
    totals = [[span(p["from"], p["to"]), TOTAL, *(p[key] for key, _ in columns)] for p in report.get("periods", [])]
    whole = [*([span(report["from"], report["to"])] if lead else []), TOTAL,
             *(report["total"][key] for key, _ in columns)]
    return [header, *rows, *totals, whole]


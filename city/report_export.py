"""The city's SLA reports (city/reports.py) as CSV and XLSX files, written the way a hub writes
its own (mfc_edge/report_files.py): a header row of bilingual captions, a row per group (per
period × group in a series), each period's total in a series, then the whole total."""
from __future__ import annotations

from typing import Any

from mfc_edge.report_files import csv_bytes, report_table, xlsx_bytes

# (key, caption), in the order of the columns; the captions are the hub's report's.
COLUMNS = (
    ("issued", "Выдано / Issued"), ("walk_in", "Без талона / Walk-ins"), ("served", "Обслужено / Served"),
    ("no_show", "Неявки / No-shows"), ("cancelled", "Отменено / Cancelled"), ("waiting", "Ожидают / Waiting"),
    ("expired", "Истекло / Expired"), ("awaiting_event", "Ждут события киоска / Awaiting kiosk event"),
    ("mean_wait_minutes", "Среднее ожидание, мин / Mean wait, min"),
    ("p90_wait_minutes", "90-й перцентиль ожидания, мин / 90th percentile wait, min"),
    ("over_15_share", "Доля ждавших > 15 мин / Share waited > 15 min"),
    ("mean_service_minutes", "Среднее обслуживание, мин / Mean service, min"),
    ("estimated", "С прогнозом / Estimates"),
    ("estimate_error_minutes", "Ошибка прогноза, мин / Estimate error, min"),
    ("estimate_within_5_share", "Прогноз точнее 5 мин / Estimate within 5 min"),
    ("rated", "Оценок / Ratings"), ("happy_share", "Доля довольных / Happy share"),
)
GROUP_CAPTIONS = {"center": "Центр / Center", "district": "Район / District", "service": "Услуга / Service"}


def table(report: dict[str, Any]) -> list[list[Any]]:
    return report_table(report, COLUMNS, GROUP_CAPTIONS, "center")


def title(report: dict[str, Any]) -> str:
    return f"{report.get('district') or 'city'} {report['from']}..{report['to']}"


def file_name(report: dict[str, Any], output: str) -> str:
    """city-report-<district or city>-2026-11-01-2026-11-30-center[-week].csv; the district's
    name kept to letters and digits, as a header may carry nothing else safely."""
    place = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in (report.get("district") or "city"))
    tail = f"-{report['by']}" + (f"-{report['every']}" if report.get("every") else "")
    return f"city-report-{place.strip('-') or 'district'}-{report['from']}-{report['to']}{tail}.{output}"


def to_csv(report: dict[str, Any]) -> bytes:
    return csv_bytes(table(report))


def to_xlsx(report: dict[str, Any]) -> bytes:
    every = f", every {report['every']}" if report.get("every") else ""
    return xlsx_bytes(f"{title(report)} ({report['by']}{every}), {report['made_at']}", table(report), "report")

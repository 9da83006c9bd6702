"""The reports (hub/reports.py, hub/report_plays.py) as files: CSV and XLSX, one header row of
bilingual captions, then a row per group (per period × group in a series), then the total."""
from __future__ import annotations

from typing import Any

from hub.reports import OUTCOMES
from mfc_edge.report_files import XLSX_MEDIA as XLSX_MEDIA
from mfc_edge.report_files import csv_bytes, report_table, xlsx_bytes

# (key, caption for the exports), in the order of the columns.
COLUMNS = (
    ("issued", "Выдано / Issued"), ("walk_in", "Без талона / Walk-ins"), ("served", "Обслужено / Served"),
    ("no_show", "Неявки / No-shows"), ("cancelled", "Отменено / Cancelled"), ("waiting", "Ожидают / Waiting"),
    ("expired", "Истекло / Expired"), ("held", "Отложены / Held"),
    ("awaiting_event", "Ждут события киоска / Awaiting kiosk event"),
    ("mean_wait_minutes", "Среднее ожидание, мин / Mean wait, min"),
    ("p90_wait_minutes", "90-й перцентиль ожидания, мин / 90th percentile wait, min"),
    ("over_15_share", "Доля ждавших > 15 мин / Share waited > 15 min"),
    ("mean_service_minutes", "Среднее обслуживание, мин / Mean service, min"),
    *zip((f"outcome_{o}" for o in OUTCOMES), (
        "Услуг оказано / Services done", "Не хватает документов / Documents missing",
        "Отказов / Refused", "Только консультаций / Consultation only"), strict=True),
    ("estimated", "С прогнозом / Estimates"),
    ("estimate_error_minutes", "Ошибка прогноза, мин / Estimate error, min"),
    ("estimate_within_5_share", "Прогноз точнее 5 мин / Estimate within 5 min"),
    ("rated", "Оценок / Ratings"), ("happy_share", "Доля довольных / Happy share"),
)
GROUP_CAPTIONS = {"service": "Услуга / Service", "window": "Окно / Window", "operator": "Оператор / Operator"}


def table(report: dict[str, Any]) -> list[list[Any]]:
    return report_table(report, COLUMNS, GROUP_CAPTIONS, "operator")


def title(report: dict[str, Any]) -> str:
    return f"{report['center']} {report['from']}..{report['to']}"


def file_name(report: dict[str, Any], kind: str, output: str) -> str:
    """report-strogino-2026-11-01-2026-11-30-service[-week].csv, plays-strogino-….xlsx"""
    tail = "" if kind == "plays" else f"-{report['by']}" + (f"-{report['every']}" if report.get("every") else "")
    return f"{'plays' if kind == 'plays' else 'report'}-{title(report).replace(' ', '-').replace('..', '-')}" \
           f"{tail}.{output}"


def to_csv(report: dict[str, Any]) -> bytes:
    return csv_bytes(table(report))


def to_xlsx(report: dict[str, Any]) -> bytes:
    every = f", every {report['every']}" if report.get("every") else ""
    return xlsx_bytes(f"{title(report)} ({report['by']}{every}), {report['made_at']}", table(report), "report")

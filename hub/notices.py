"""Urgent notices: a supervisor tells every kiosk and screen of the center at once that
something is wrong («Росреестр: приём документов на регистрацию недвижимости приостановлен
до 14:00»), optionally for some services only, until a given time or until withdrawn.

Devices poll `current` (protocol.NOTICES_PATH) and decide expiry again by their own clock
(offline_cache/notices.py), so a device that was offline never shows an expired notice. The
rows stay after a notice ends: who posted and who withdrew what, and when, is the record a
center is asked for afterwards.

Refusals are NoticeRefused naming the field, in Russian: the console shows them as they are.
"""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, time, timedelta
from typing import Any

from hub.catalogs import Catalogs
from hub.centers import Centers
from hub.db import HubDB, iso
from mfc_edge import ids
from mfc_edge.protocol import MAX_NOTICE_CHARS, MAX_NOTICE_DAYS

log = logging.getLogger(__name__)

MAX_SERVICES = 50  # a notice for more services than this is a notice for the whole center
# In force at once in a center: the kiosks' and screens' banners have room for a few; more is
# noise nobody reads, and a form sent twice by a hurried hand stops here.
MAX_IN_FORCE = 5
MIN_DURATION = timedelta(minutes=1)
ENDED_SHOWN = 10  # ended notices the console lists under the current ones


# Notices with the names of who posted and who withdrew them, for the console (logins are kept:
# they are the record; names are what a supervisor reads).
NAMED = ("SELECT n.*, p.name AS posted_by_name, w.name AS withdrawn_by_name FROM notices AS n "
         "LEFT JOIN operators AS p ON p.center = n.center AND p.login = n.posted_by "
         "LEFT JOIN operators AS w ON w.center = n.center AND w.login = n.withdrawn_by")


class NoticeRefused(ValueError):
    """A notice that cannot be posted as given: `field` is the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def _text(field: str, value: str, *, required: bool) -> str:
    text = " ".join(value.split())  # one paragraph: a banner has no room for layout
    if required and not text:
        raise NoticeRefused(field, "напишите текст объявления")
    if len(text) > MAX_NOTICE_CHARS:
        raise NoticeRefused(field, f"не длиннее {MAX_NOTICE_CHARS} знаков (сейчас {len(text)})")
    return text


class TooManyNotices(NoticeRefused):
    """As many notices as MAX_IN_FORCE are in force already."""


class Notices:
    def __init__(self, db: HubDB, centers: Centers, catalogs: Catalogs):
        self.db, self.centers, self.catalogs = db, centers, catalogs

    def expiry(self, center: str, *, minutes: int | None = None, until: str | None = None,
               at: str | None = None) -> datetime:
        """When a notice posted now ends, said one of three ways: in `minutes`, `until` a time
        of today in the center's time zone ("14:00"), or `at` a moment with a time zone."""
        given = [name for name, value in (("expires_in_minutes", minutes), ("until", until), ("expires_at", at))
                 if value is not None]
        if len(given) != 1:
            raise NoticeRefused("expires", "укажите срок одним способом: через сколько минут, до какого "
                                           "времени сегодня или точный момент")
        now = self.db.now()
        if minutes is not None:
            return now + timedelta(minutes=minutes)
        if until is not None:
            try:
                clock = time.fromisoformat(until)
            except ValueError:
                raise NoticeRefused("until", f"{until!r:.20} — не время вида 14:00") from None
            local_now = now.astimezone(self.centers.timezone(center))
            ends = datetime.combine(local_now.date(), clock.replace(tzinfo=None), local_now.tzinfo)
            if ends <= local_now:
                raise NoticeRefused("until", f"{until} сегодня уже прошло: укажите время позже")
            return ends
        assert at is not None
        try:
            moment = datetime.fromisoformat(at) if len(at) <= 40 else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise NoticeRefused("expires_at", f"{at!r:.40} — не момент времени с часовым поясом")
        return moment

    def post(self, center: str, by: str, text_ru: str, text_en: str, services: list[str],
             expires_at: datetime) -> dict[str, Any]:
        """Post a notice to the center's devices; the stored row."""
        text_ru, text_en = _text("text_ru", text_ru, required=True), _text("text_en", text_en, required=False)
        if len(services) > MAX_SERVICES:
            raise NoticeRefused("services", f"не больше {MAX_SERVICES} услуг; для всех услуг не выбирайте ни одной")
        catalog = self.catalogs.for_center(center)
        unknown = [s for s in services if s not in catalog]
        if unknown:
            raise NoticeRefused("services", f"в каталоге центра нет услуги {unknown[0]!r:.70}")
        now = self.db.now()
        if expires_at < now + MIN_DURATION:
            raise NoticeRefused("expires", "срок уже прошёл или слишком близок: объявление должно действовать "
                                           "хотя бы минуту")
        if expires_at > now + timedelta(days=MAX_NOTICE_DAYS):
            raise NoticeRefused("expires", f"не дольше {MAX_NOTICE_DAYS} дней: долгие объявления — "
                                           "в материалах киосков и экранов")
        row = {"id": ids.event_id(), "center": center, "text_ru": text_ru, "text_en": text_en,
               "services": json.dumps(list(dict.fromkeys(services)), ensure_ascii=False),
               "posted_at": iso(now), "expires_at": iso(expires_at), "posted_by": by,
               "withdrawn_at": None, "withdrawn_by": None}
        with self.db.transaction() as d:
            in_force = d.execute("SELECT count(*) FROM notices WHERE center = ? AND expires_at > ? "
                                 "AND withdrawn_at IS NULL", [center, iso(now)]).fetchone()[0]
            if in_force >= MAX_IN_FORCE:
                raise TooManyNotices("notices", f"уже действуют {in_force} объявлений: снимите ненужные, "
                                                "прежде чем публиковать новое")
            d.table("notices").insert(row)
        log.info("notices: %s posted %s to center %s until %s: %s", by, row["id"], center, row["expires_at"], text_ru)
        return row

    def withdraw(self, center: str, notice: str, by: str) -> dict[str, Any] | None:
        """Take a notice down before its expiry; None when the center has no such notice in
        force (already withdrawn or expired: nothing to take down)."""
        with self.db.transaction() as d:
            now = iso(self.db.now())
            changed = d.execute("UPDATE notices SET withdrawn_at = ?, withdrawn_by = ? WHERE id = ? AND center = ? "
                                "AND withdrawn_at IS NULL AND expires_at > ?", [now, by, notice, center, now]).rowcount
            rows = list(d.query(f"{NAMED} WHERE n.id = ? AND n.center = ?", [notice, center]))
        if not changed:
            return None
        log.info("notices: %s withdrew %s of center %s", by, notice, center)
        return rows[0]

    def current(self, center: str) -> list[dict[str, Any]]:
        """The center's notices in force now (not expired, not withdrawn), newest first."""
        return list(self.db.db.query(
            f"{NAMED} WHERE n.center = ? AND n.expires_at > ? AND n.withdrawn_at IS NULL "
            "ORDER BY n.posted_at DESC, n.id DESC", [center, iso(self.db.now())]))

    def ended(self, center: str, limit: int = ENDED_SHOWN) -> list[dict[str, Any]]:
        """The center's latest notices no longer in force, newest first: the console's record."""
        return list(self.db.db.query(
            f"{NAMED} WHERE n.center = ? AND (n.expires_at <= ? OR n.withdrawn_at IS NOT NULL) "
            "ORDER BY n.posted_at DESC, n.id DESC LIMIT ?", [center, iso(self.db.now()), limit]))

    def for_devices(self, center: str) -> tuple[str, dict[str, Any]]:
        """The ETag and body of the devices' answer (offline_cache/notices.py reads it). A notice
        never changes once posted, so the ids in force say everything: the tag changes when
        one is posted, withdrawn or expires."""
        rows = self.current(center)
        digest = hashlib.sha256("\n".join(r["id"] for r in rows).encode()).hexdigest()[:20]
        return f'"notices-{digest}"', {"notices": [wire(r) for r in rows]}


def wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored notice as devices and the console receive it."""
    return {"id": row["id"], "text_ru": row["text_ru"], "text_en": row["text_en"] or "",
            "services": json.loads(row["services"] or "[]"), "posted_at": row["posted_at"],
            "expires_at": row["expires_at"]}

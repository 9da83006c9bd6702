"""The serving hub's backups: its data folder held for it alone, and a backup every few hours
(hub/backups.py says how a backup is made and which are kept)."""
from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hub.backups import BackupError, Retention, backup, hold_folder, list_backups
from hub.db import HubDB, private_folder
from mfc_edge.files import DataFolderError

log = logging.getLogger(__name__)

DEFAULT_EVERY = timedelta(hours=6)
RETRY_AFTER = timedelta(minutes=10)  # after a failed backup (a full disk, say)


@dataclass(frozen=True)
class BackupPlan:
    """`mfc-edge hub --backup-dir ...`: where and how often the serving hub backs itself up."""
    folder: Path
    every: timedelta = DEFAULT_EVERY
    retention: Retention = field(default_factory=Retention)


class BackupSchedule:
    """Backs the hub's file up every `every` while the hub serves. The first is due one `every`
    after the newest backup in the folder (at once when there is none), so restarts of the hub
    neither skip backups nor pile them up."""

    def __init__(self, hub_db: HubDB, folder: Path, every: timedelta, retention: Retention):
        self.hub_db, self.folder, self.every, self.retention = hub_db, Path(folder), every, retention
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-backups", daemon=True)

    def next_due(self) -> datetime:
        try:
            newest = list_backups(self.folder)[:1]
        except BackupError:  # no folder yet: the first backup makes it
            newest = []
        now = self.hub_db.now()
        # A backup stamped in the future (the clock was set back since) must not hold the next one off.
        return min(newest[0].at + self.every, now + self.every) if newest else now

    def start(self) -> BackupSchedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        due = self.next_due()
        while not self._stop.wait(max(0.0, (due - self.hub_db.now()).total_seconds())):
            try:
                made = backup(self.hub_db, self.folder, self.hub_db.now(), self.retention)
                log.info("backed up to %s", made)
                due = self.hub_db.now() + self.every
            except (BackupError, DataFolderError) as exc:
                log.error("backup failed, tried again in %s: %s", RETRY_AFTER, exc)
                due = self.hub_db.now() + min(RETRY_AFTER, self.every)


class ServingFolder:
    """A hub's data folder while the hub serves: held against a second hub and restores, and
    backed up as `plan` says (not at all without one)."""

    def __init__(self, data_dir: Path, plan: BackupPlan | None):
        self.plan = plan
        self._schedule: BackupSchedule | None = None
        self._held = ExitStack()
        self._held.enter_context(hold_folder(private_folder(Path(data_dir)), "a hub serving"))

    def start(self, hub_db: HubDB) -> None:
        if self.plan is not None:
            self._schedule = BackupSchedule(hub_db, self.plan.folder, self.plan.every, self.plan.retention).start()

    def stop(self) -> None:
        if self._schedule is not None:
            self._schedule.stop()
        self._held.close()

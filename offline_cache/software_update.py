"""Updating a device's software from its hub: install beside, switch atomically, check health, roll back.

`SoftwareUpdater.run_once()` is one pass of `mfc-edge update`:

1. settle whatever an earlier pass left: a switch it never finished is undone (the old release
   runs again) and half-built environments are removed;
2. ask the hub for the release this device should run (software_update_fetch.py) and refuse a
   release that is not newer than every release this device has installed, or that rolled
   back here before;
3. download the role's missing wheels and install them into releases/<N> (software_update_install.py);
4. record the switch in the state file, then point `current` at the new release by one
   rename and restart the role's service;
5. the health gate: within `health_timeout` the service must be active (Type=notify, so
   READY was sent) and the app must have written the health file for this release after a
   heartbeat the hub accepted. Then `previous` points at the old release, older releases and
   wheels are pruned, and `software.updated` is reported; otherwise `current` goes back to
   the old release, the service restarts, and `software.rolled_back` is reported.

Commands (systemctl) go through an injectable runner, so tests record them instead.
"""
from __future__ import annotations

import fcntl
import json
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mfc_edge import protocol
from mfc_edge.times import iso
from offline_cache import software_update_install as installer
from offline_cache.bundle_sync import Failure, Refusal
from offline_cache.software_update_fetch import Offer, ReleaseSource
from offline_cache.software_update_state import Layout, read_state, write_state

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 180.0
POLL_EVERY_S = 1.0
# What systemctl says of a unit that will not come up by itself (Restart= gave up, or it is stopped).
_DOWN_STATES = {"failed", "inactive"}

Runner = Callable[[list[str]], str]
Report = Callable[[str, dict[str, Any]], Any]


def run_command(command: list[str]) -> str:
    """The real runner: the command's output; a command that fails is one line of error."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {(done.stderr.strip() or 'failed').splitlines()[-1][:200]}")
    return done.stdout


@dataclass(frozen=True)
class Outcome:
    status: str  # "unchanged", "updated", "rolled_back", "refused", "failed"
    release: int | None = None
    detail: str = ""


class SoftwareUpdater:
    def __init__(self, source: ReleaseSource, layout: Layout, *, role: str, report: Report,
                 runner: Runner = run_command, health_timeout: float = HEALTH_TIMEOUT_S,
                 poll_every: float = POLL_EVERY_S, now: Callable[[], datetime] | None = None,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.source, self.layout, self.role, self.report, self.runner = source, layout, role, report, runner
        self.health_timeout, self.poll_every = health_timeout, poll_every
        self.now = now or (lambda: datetime.now(UTC))
        self.monotonic, self.sleep = monotonic, sleep
        self.unit = f"mfc-edge-{role}.service"

    # ---- one pass ----

    def run_once(self) -> Outcome:
        """One pass; a pass already under way (the timer's, a technician's) makes this one wait
        for it, so two never switch at once."""
        self.layout.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.layout.state_file.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._pass()

    def _pass(self) -> Outcome:
        self.recover()
        state = read_state(self.layout.state_file)
        try:
            offer = self.source.offer(state.get("etag"))
            if offer is None:
                return Outcome("unchanged", _current_release(state))
            verdict = self._judge(offer, state)
            if verdict is not None:
                return verdict
            self.source.download(offer)
            target = self._install(offer)
        except Refusal as refusal:
            return self._not_installed("refused", refusal.version, f"{refusal.reason}: {refusal}", state)
        except (Failure, OSError) as exc:  # the hub or the network: nothing to report, try again later
            log.warning("update failed, will try again: %s", exc)
            return Outcome("failed", _current_release(state), str(exc)[:500])
        return self._switch(offer, target, state)

    def _judge(self, offer: Offer, state: dict[str, Any]) -> Outcome | None:
        """None when `offer` is to be installed, else what to answer without installing it."""
        number = offer.release.release
        if number == _current_release(state):
            self._save(state, etag=offer.etag, channel_of_current=offer.channel)
            return Outcome("unchanged", number)
        if number in state.get("rolled_back", []):
            return Outcome("unchanged", _current_release(state), f"release {number} rolled back here before")
        newest = state.get("newest")
        if isinstance(newest, int) and number <= newest:
            raise Refusal("rollback", f"release {number} is not newer than release {newest}, "
                                      f"installed here before", number)
        return None

    def _install(self, offer: Offer) -> Path:
        try:
            return installer.install(self.layout, offer.release, self.role)
        except installer.InstallError as exc:  # reported once; tried again next pass (a full disk may have room)
            raise Refusal("install", str(exc), offer.release.release) from None

    # ---- the switch and the health gate ----

    def _switch(self, offer: Offer, target: Path, state: dict[str, Any]) -> Outcome:
        found = offer.release
        old = installer.target_of(self.layout.current)
        if old is None:
            return self._not_installed("refused", found.release,
                                       f"install: {self.layout.current} is no symlink to a release", state)
        running = _record(state, "current")
        switched_at = self.now()
        # Written before the switch: a pass killed from here on finds it and puts `old` back.
        self._save(state, switching={"from": str(old), "from_record": running, "release": found.release},
                   current={"release": found.release, "version": found.version, "channel": offer.channel,
                            "path": str(target), "wheels": [w.sha256 for w in found.wheels_for(self.role)]})
        installer.point(self.layout.current, target)
        started = self.monotonic()
        problem = self._restart() or self._health_gate(found.release, found.version, switched_at)
        if problem:
            return self._roll_back(found.release, found.version, problem, old, running)
        log.info("release %d (%s) is healthy %.1f s after the switch", found.release, found.version,
                 self.monotonic() - started)
        installer.point(self.layout.previous, old)
        state = read_state(self.layout.state_file)
        self._save(state, switching=None, previous=running, newest=max(found.release, state.get("newest") or 0),
                   etag=offer.etag)
        keep_wheels = set(state["current"].get("wheels", [])) | set(running.get("wheels", []))
        installer.prune(self.layout, {target, old}, keep_wheels)
        self.report(protocol.SOFTWARE_UPDATED, {"from": running.get("version") or _installed_version(old),
                                                "to": found.version, "release": found.release})
        return Outcome("updated", found.release)

    def _restart(self) -> str:
        try:
            self.runner(["systemctl", "restart", self.unit])
        except Exception as exc:  # the runner's trouble is the release's verdict, not a crash
            return f"restarting {self.unit} failed: {exc}"
        return ""

    def _health_gate(self, number: int, version: str, since: datetime) -> str:
        """"" when the new release came up healthy within the timeout, else why not, in one line."""
        deadline = self.monotonic() + self.health_timeout
        active = False
        while True:
            state = self._active_state()
            if state in _DOWN_STATES:
                return f"{self.unit} is {state} after the switch"
            active = state == "active"
            if active and self._beat_since(number, version, since):
                return ""
            if self.monotonic() >= deadline:
                break
            self.sleep(self.poll_every)
        if not active:
            return f"{self.unit} was not ready within {self.health_timeout:g} s (it is {state})"
        return f"no heartbeat accepted by the hub within {self.health_timeout:g} s of the switch"

    def _active_state(self) -> str:
        try:
            return self.runner(["systemctl", "show", "--property=ActiveState", "--value", self.unit]).strip()
        except Exception as exc:
            log.warning("cannot ask systemd about %s: %s", self.unit, exc)
            return "unknown"

    def _beat_since(self, number: int, version: str, since: datetime) -> bool:
        try:
            raw = json.loads(self.layout.health_file.read_text(encoding="utf-8"))
            at = datetime.fromisoformat(raw["at"])
            return raw["release"] == number and raw["version"] == version and at >= since
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def _roll_back(self, number: int, version: str, reason: str, old: Path, running: dict[str, Any]) -> Outcome:
        log.warning("release %d rolls back: %s", number, reason)
        installer.point(self.layout.current, old)
        state = read_state(self.layout.state_file)
        rolled_back = sorted(set(state.get("rolled_back", [])) | {number})
        self._save(state, switching=None, current=running or None, rolled_back=rolled_back,
                   last_rollback={"release": number, "version": version, "reason": reason, "at": iso(self.now())})
        problem = self._restart()
        if problem:
            log.error("after rolling back: %s", problem)
        installer.prune(self.layout, {p for p in (old, installer.target_of(self.layout.previous)) if p},
                        set(running.get("wheels", [])) | set(_record(state, "previous").get("wheels", [])))
        self.report(protocol.SOFTWARE_ROLLED_BACK, {"release": number, "version": version, "reason": reason})
        return Outcome("rolled_back", number, reason)

    # ---- a pass that was killed ----

    def recover(self) -> None:
        """Undo a switch an earlier pass did not finish (old or new, never a mix: the old one),
        and remove half-built environments. The release is not marked as rolled back: its
        health was never judged, so the next pass tries it again."""
        installer.remove_partial(self.layout)
        state = read_state(self.layout.state_file)
        switching = state.get("switching")
        if not isinstance(switching, dict):
            return
        old = Path(str(switching.get("from")))
        log.warning("an earlier update to release %s stopped during its switch: back to %s",
                    switching.get("release"), old.name)
        installer.point(self.layout.current, old)
        # Whichever moment it stopped at, the service may run the new release: start the old one.
        self._restart()
        self._save(state, switching=None, current=switching.get("from_record") or None)

    # ---- reports ----

    def _not_installed(self, status: str, number: int | None, detail: str, state: dict[str, Any]) -> Outcome:
        detail = " ".join(detail.split())[:500]
        log.warning("release %s not installed: %s", number, detail)
        if state.get("last_failure") != detail:  # reported once, not every quarter hour
            self._save(state, last_failure=detail)
            self.report(protocol.SOFTWARE_UPDATE_FAILED, {"release": number, "reason": detail})
        return Outcome(status, number, detail)

    def _save(self, state: dict[str, Any], **changes: Any) -> None:
        if "channel_of_current" in changes:
            channel = changes.pop("channel_of_current")
            if isinstance(state.get("current"), dict):
                state["current"] = {**state["current"], "channel": channel}
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        write_state(self.layout.state_file, state)


def _record(state: dict[str, Any], key: str) -> dict[str, Any]:
    value = state.get(key)
    return value if isinstance(value, dict) else {}


def _current_release(state: dict[str, Any]) -> int | None:
    number = _record(state, "current").get("release")
    return number if isinstance(number, int) else None


def _installed_version(environment: Path) -> str | None:
    """The mfc-edge version in an environment the updater did not install (provisioning's venv)."""
    for found in environment.glob("lib/python3*/site-packages/mfc_edge-*.dist-info"):
        return found.name.removeprefix("mfc_edge-").removesuffix(".dist-info")
    return None

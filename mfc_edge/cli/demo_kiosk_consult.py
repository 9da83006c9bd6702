"""The kiosk's video consultations and kids' room, in the demo. `k` is the HeadlessKiosk of
mfc_edge.cli.demo's scripted visit; the kiosk bundle the demo publishes carries the example kids.toml."""
from __future__ import annotations

import shutil
from pathlib import Path

from mfc_edge.catalog import BUNDLED_CATALOG

KIDS_EXAMPLE = BUNDLED_CATALOG.parent / "kids.example.toml"


def add_kids_room(bundle_folder: Path) -> None:
    """The content editor's kids.toml, in the kiosk bundle about to be published."""
    shutil.copyfile(KIDS_EXAMPLE, bundle_folder / "kids.toml")


def consult_scenes(k, shots: Path) -> str:
    """From the start screen: «Видеоконсультации» (screenshot 27), Rosreestr's page with its QR code
    and booth ticket button (28), then «Детская комната» with today's master classes (29)."""
    k.tap("consultations")
    k.screenshot(shots / "27-kiosk-video-consultations.png")
    k.tap("consultation:rosreestr-video")
    k.screenshot(shots / "28-kiosk-video-consultation.png")
    k.tap("home")
    k.tap("kids-room")
    activities = sum(1 for w in k.widgets() if str(getattr(w, "tag", "")).startswith("activity:"))
    if not activities:
        raise RuntimeError("the kids' room page shows no activities from the bundle's kids.toml")
    k.screenshot(shots / "29-kiosk-kids-room.png")
    k.tap("home")
    return (f"The kiosk listed {len(k.app.catalog.consultations)} video consultations and showed the kids' room "
            f"with {activities} activities today from its bundle's kids.toml")

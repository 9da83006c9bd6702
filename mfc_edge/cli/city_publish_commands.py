"""`mfc-edge city publishing-key` and `mfc-edge city publish`: content signed once by the city
for all its centers, some districts or some centers (city/publishing.py)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError, ident


def _open(args: argparse.Namespace) -> Any:
    from mfc_edge.cli.city_commands import open_city

    return open_city(args)


def cmd_publishing_key(args: argparse.Namespace) -> int:
    from city import publishing

    city = _open(args)
    try:
        raw = publishing.make_key(city, args.out)
    except publishing.PublishingError as exc:
        raise CommandError(str(exc)) from None
    finally:
        city.close()
    import base64

    print(f"the city's publishing key is in {args.out} (readable by you only); keep a copy offline")
    print(f"public key: {base64.b64encode(raw).decode()}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from city import publishing

    for center in args.center or ():
        ident(center, "--center")
    target = publishing.targets(args.district or (), args.center or (), args.all)
    city = _open(args)
    try:
        key = publishing.load_key(args.key)
        done = publishing.publish(city, key, args.role, args.folder, target)
    except publishing.PublishingError as exc:
        raise CommandError(str(exc)) from None
    finally:
        city.close()
    print(f"published {done.role} bundle {done.version} ({done.assets} files, {done.total_size} bytes) "
          f"for {len(done.centers)} centers: {', '.join(done.centers)}")
    return 0


def cmd_published(args: argparse.Namespace) -> int:
    from city import publishing

    city = _open(args)
    try:
        rows = publishing.published(city, args.last)
    finally:
        city.close()
    if not rows:
        print("the city has published nothing yet")
    for r in rows:
        print(f"{r['role']:8} {r['version']:>5}  {r['published_at']:%Y-%m-%d %H:%M} UTC  {r['target']:30}  "
              f"newest in {r['current_in']} centers, {r['files']} files, {r['bytes']} bytes")
    return 0


def register(sub: Any) -> None:
    """Add this module's subcommands to `mfc-edge city` (`sub`: its subparsers)."""
    from mfc_edge.cli.city_commands import add_dsn

    text = "Make the city's publishing key (Ed25519, a file readable by you only) and register its public half."
    p = sub.add_parser("publishing-key", help=text, description=text)
    add_dsn(p)
    p.add_argument("--out", type=Path, required=True, help="the new key file (never overwritten)")
    p.set_defaults(func=cmd_publishing_key)

    text = ("Sign a folder as the next catalog (kiosk) or campaign (signage) bundle for all centers, some "
            "districts or some centers; their hubs relay it to their devices.")
    p = sub.add_parser("publish", help=text, description=text)
    add_dsn(p)
    p.add_argument("--key", type=Path, required=True, help="the city's publishing key file")
    p.add_argument("--role", required=True, choices=("kiosk", "signage"), help="the devices it is for")
    p.add_argument("--folder", type=Path, required=True, help="the files to publish")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--all", action="store_true", help="every center of the city")
    where.add_argument("--district", action="append", help="every center of this district (repeatable)")
    where.add_argument("--center", action="append", help="this center (repeatable)")
    p.set_defaults(func=cmd_publish)

    text = "List the city's latest publishes: role, version, when, for whom, in how many centers it is the newest."
    p = sub.add_parser("published", help=text, description=text)
    add_dsn(p)
    p.add_argument("--last", type=int, default=20, choices=range(1, 1001), metavar="N",
                   help="how many to list (default 20)")
    p.set_defaults(func=cmd_published)


DEMO_PLAYLIST = """# The city's campaign: shown on every center's waiting-area screens before the center's own items.
[playlists.waiting-area]
[[playlists.waiting-area.items]]
type = "text"
title = "Госуслуги — в каждом МФЦ города"
title_en = "Public services in every center of the city"
text = "Запишитесь заранее на портале и приходите к своему времени"
text_en = "Book online and come at your time"
duration = 10
"""


def publish_demo_campaign(city: Any, folder: Path, hubs: Any = ()) -> str:
    """The demo's content office: the city's publishing key made in `folder` (once), a campaign of
    one slide published for every center, and each of `hubs` ((Hub, its data folder) pairs, linked
    to the city) fetching it at once rather than at its next minute. A line saying what happened."""
    from city import publishing
    from hub.city_bundles import CityBundlePuller

    key_file = folder / "city-publishing.key"
    folder.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        publishing.make_key(city, key_file)
    campaign = folder / "campaign"
    campaign.mkdir(exist_ok=True)
    (campaign / "playlist.toml").write_text(DEMO_PLAYLIST, encoding="utf-8")
    done = publishing.publish(city, publishing.load_key(key_file), "signage", campaign,
                              publishing.targets(all_centers=True))
    relayed = sum(1 for hub, data_dir in hubs for pulled in CityBundlePuller(hub.city_bundles, hub.db, data_dir)
                  .pull_now() if pulled.status == "applied")
    return (f"the city published campaign {done.version} once for {len(done.centers)} centers "
            f"({', '.join(done.centers)}); {relayed} of them relayed it to their screens")

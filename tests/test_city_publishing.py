"""City-wide publishing, the city's end: the key, a publish for all, a district or some centers,
and what a linked hub may fetch (city/publishing.py, city/routes/publishing.py)."""
from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from city import publishing
from city.city import City
from city.publishing import PublishingError
from city.server import CityThread
from mfc_edge import bundle
from mfc_edge.city_protocol import CITY_BUNDLES_PATH
from mfc_edge.cli import main
from tests.helpers.bundles import sha

CATALOG = (Path(__file__).resolve().parent.parent / "mfc_edge" / "data" / "catalog.toml").read_bytes()
PLAYLIST = b'[playlists.waiting-area]\n[[playlists.waiting-area.items]]\ntype = "image"\nasset = "media/a.png"\n'
CENTERS = {"strogino": ("north", "hub-north"), "mitino": ("north", "hub-north"), "arbat": ("center", "hub-center")}
TOKENS = {"hub-north": "north-token", "hub-center": "center-token"}


def add_hubs(city: City) -> None:
    """Hubs and centers as enrollment leaves them (tokens kept as their SHA-256)."""
    with city.db.connection() as conn:
        for hub, token in TOKENS.items():
            conn.execute("INSERT INTO hubs (id, token_hash) VALUES (%s, %s)",
                         [hub, hashlib.sha256(token.encode()).hexdigest()])
        for center, (district, hub) in CENTERS.items():
            conn.execute("INSERT INTO centers (id, district, hub) VALUES (%s, %s, %s)", [center, district, hub])


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def city(city_dsn: str) -> Iterator[City]:
    city = City(city_dsn, pool_size=3)
    add_hubs(city)
    yield city
    city.close()


@pytest.fixture
def key(city: City, tmp_path: Path) -> Ed25519PrivateKey:
    publishing.make_key(city, tmp_path / "city.key")
    return publishing.load_key(tmp_path / "city.key")


def campaign(tmp_path: Path, image: bytes = b"PNG" * 1000) -> Path:
    return write_files(tmp_path / "campaign", {"playlist.toml": PLAYLIST, "media/a.png": image})


def test_the_key_file_is_private_and_its_public_half_registered_once(city: City, tmp_path: Path) -> None:
    raw = publishing.make_key(city, tmp_path / "city.key")
    assert stat.S_IMODE((tmp_path / "city.key").stat().st_mode) == 0o600
    assert publishing.public_key(city) == raw == bundle.public_key_bytes(publishing.load_key(tmp_path / "city.key"))
    with pytest.raises(PublishingError, match="already has a publishing key"):
        publishing.make_key(city, tmp_path / "another.key")
    assert not (tmp_path / "another.key").exists()
    os.chmod(tmp_path / "city.key", 0o644)
    with pytest.raises(PublishingError, match="others may read this key"):
        publishing.load_key(tmp_path / "city.key")


def test_a_district_publish_reaches_only_that_districts_centers(city: City, key: Ed25519PrivateKey,
                                                                tmp_path: Path) -> None:
    done = publishing.publish(city, key, "signage", campaign(tmp_path), publishing.targets(districts=["north"]))
    assert (done.role, done.version, done.centers) == ("signage", 1, ("mitino", "strogino"))
    assert publishing.latest_envelope(city, "arbat", "signage") is None
    version, envelope = publishing.latest_envelope(city, "mitino", "signage") or (0, b"")
    _, manifest = bundle.verify_envelope(envelope, bundle.public_key_bytes(key))
    assert (version, manifest.center, manifest.role) == (1, "mitino", "signage")
    assert [a.name for a in manifest.assets] == ["media/a.png", "playlist.toml"]
    # The version goes up city-wide: the next publish, for one center, is 2 for it and for nobody else.
    again = publishing.publish(city, key, "signage", campaign(tmp_path), publishing.targets(centers=["arbat"]))
    assert again.version == 2
    assert publishing.latest_envelope(city, "arbat", "signage")[0] == 2  # type: ignore[index]
    assert publishing.latest_envelope(city, "mitino", "signage")[0] == 1  # type: ignore[index]


def test_what_devices_would_refuse_is_not_published(city: City, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    with pytest.raises(PublishingError, match="a kiosk bundle needs catalog.toml"):
        publishing.publish(city, key, "kiosk", campaign(tmp_path), publishing.targets(all_centers=True))
    with pytest.raises(PublishingError, match="no such center: nowhere"):
        publishing.publish(city, key, "signage", campaign(tmp_path), publishing.targets(centers=["nowhere"]))
    with pytest.raises(PublishingError, match="not the city's publishing key"):
        publishing.publish(city, Ed25519PrivateKey.generate(), "signage", campaign(tmp_path),
                           publishing.targets(all_centers=True))
    with city.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM city_bundle_assets").fetchone()["n"] == 0  # type: ignore[call-overload]


def get(server: CityThread, path: str, token: str | None, **headers: str) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(server.url + path, headers=headers, timeout=10)


def test_a_hub_fetches_its_centers_bundles_and_their_assets_only(city: City, key: Ed25519PrivateKey,
                                                                 tmp_path: Path) -> None:
    image = os.urandom(publishing.CHUNK_BYTES + 1000)  # two stored pieces
    publishing.publish(city, key, "signage", campaign(tmp_path, image), publishing.targets(all_centers=True))
    with CityThread(city) as server:
        path = f"{CITY_BUNDLES_PATH}?center=strogino&role=signage"
        assert get(server, path, None).status_code == 401
        assert get(server, path, "stolen").status_code == 401
        assert get(server, f"{CITY_BUNDLES_PATH}?center=arbat&role=signage", "north-token").status_code == 403
        assert get(server, f"{CITY_BUNDLES_PATH}?center=strogino&role=kiosk", "north-token").status_code == 404
        reply = get(server, path, "north-token")
        assert reply.status_code == 200 and reply.headers["ETag"] == '"city-strogino-signage-1"'
        _, manifest = bundle.verify_envelope(reply.content, bundle.public_key_bytes(key))
        assert manifest.center == "strogino"
        assert get(server, path, "north-token", **{"If-None-Match": reply.headers["ETag"]}).status_code == 304

        whole = get(server, f"{CITY_BUNDLES_PATH}/assets/{sha(image)}", "north-token")
        assert whole.status_code == 200 and whole.content == image
        rest = get(server, f"{CITY_BUNDLES_PATH}/assets/{sha(image)}", "north-token", Range="bytes=1048000-")
        assert rest.status_code == 206 and rest.content == image[1048000:]
        assert rest.headers["Content-Range"] == f"bytes 1048000-{len(image) - 1}/{len(image)}"
        past = get(server, f"{CITY_BUNDLES_PATH}/assets/{sha(image)}", "north-token", Range=f"bytes={len(image)}-")
        assert past.status_code == 416
        assert get(server, f"{CITY_BUNDLES_PATH}/assets/{sha(b'other')}", "north-token").status_code == 404
        assert get(server, f"{CITY_BUNDLES_PATH}/assets/../etc", "north-token").status_code == 404


def test_an_asset_of_another_hubs_centers_is_not_served(city: City, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    image = b"only for arbat"
    publishing.publish(city, key, "signage", campaign(tmp_path, image), publishing.targets(centers=["arbat"]))
    with CityThread(city) as server:
        assert get(server, f"{CITY_BUNDLES_PATH}/assets/{sha(image)}", "north-token").status_code == 404
        assert get(server, f"{CITY_BUNDLES_PATH}/assets/{sha(image)}", "center-token").content == image


def test_the_command_line(city_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    city = City(city_dsn, pool_size=1)
    add_hubs(city)
    city.close()
    assert main(["city", "publishing-key", "--dsn", city_dsn, "--out", str(tmp_path / "k")]) == 0
    printed = capsys.readouterr().out
    assert "public key: " in printed and len(base64.b64decode(printed.split("public key: ")[1])) == 32
    folder = write_files(tmp_path / "catalog", {"catalog.toml": CATALOG})
    assert main(["city", "publish", "--dsn", city_dsn, "--key", str(tmp_path / "k"), "--role", "kiosk",
                 "--folder", str(folder), "--district", "center"]) == 0
    assert "published kiosk bundle 1 (1 files" in capsys.readouterr().out
    assert main(["city", "published", "--dsn", city_dsn]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and listed[0].startswith("kiosk        1  ")
    assert "district:center" in listed[0] and "newest in 1 centers, 1 files" in listed[0]
    assert main(["city", "publish", "--dsn", city_dsn, "--key", str(tmp_path / "missing"), "--role", "kiosk",
                 "--folder", str(folder), "--all"]) == 2
    assert "cannot read it" in capsys.readouterr().err
    assert main(["city", "publish", "--dsn", city_dsn, "--key", str(tmp_path / "k"), "--role", "kiosk",
                 "--folder", str(folder), "--center", "../x"]) == 2


def test_each_center_keeps_its_latest_two_city_bundles_and_their_assets(city: City, key: Ed25519PrivateKey,
                                                                       tmp_path: Path) -> None:
    def publish(image: bytes, **target: Any) -> publishing.Published:
        return publishing.publish(city, key, "signage", campaign(tmp_path, image), publishing.targets(**target))

    def kept() -> tuple[list[int], set[str]]:
        with city.db.connection() as conn:
            versions = [r["version"] for r in conn.execute("SELECT version FROM city_bundles ORDER BY version")]
            assets = {r["sha256"] for r in conn.execute("SELECT sha256 FROM city_bundle_assets")}
        return versions, assets  # type: ignore[return-value]

    publish(b"one", all_centers=True)
    publish(b"two", centers=["arbat"])
    assert publish(b"three", centers=["arbat"]).removed_assets == 0
    # Version 1 is arbat's third newest, but still the newest of mitino and strogino.
    assert kept() == ([1, 2, 3], {sha(b"one"), sha(b"two"), sha(b"three"), sha(PLAYLIST)})
    # Version 4 for all: version 2 is nobody's latest two any more; 1 still mitino's and strogino's.
    assert publish(b"four", all_centers=True).removed_assets == 1
    assert kept() == ([1, 3, 4], {sha(b"one"), sha(b"three"), sha(b"four"), sha(PLAYLIST)})
    assert publish(b"five", all_centers=True).removed_assets == 2  # "one" and "three"
    assert kept() == ([4, 5], {sha(b"four"), sha(b"five"), sha(PLAYLIST)})
    with city.db.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM city_bundle_chunks").fetchone()["n"] == 3  # type: ignore[call-overload,index]

"""The rule of the two content layers (mfc_edge/layers.py): the city's is the base, the center's
adds to it and never removes from it."""
from __future__ import annotations

from pathlib import Path

from mfc_edge.catalog import BUNDLED_CATALOG, load_catalog
from mfc_edge.layers import CITY_ITEM_BASE, LayeredAssets, layered_catalog, merge_playlists
from mfc_edge.playlist import parse_playlists

CITY = BUNDLED_CATALOG.read_text(encoding="utf-8")
OWN_SERVICE = '''
[[categories]]
id = "local-services"
name = { ru = "Услуги нашего центра", en = "Our center's services" }

[[services]]
id = "notary-room"
category = "local-services"
letter = "Я"
name = { ru = "Нотариус в центре", en = "Notary at the center" }
avg_minutes = 20
documents = [{ ru = "Паспорт", en = "Passport" }]
'''


def write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_a_centers_own_service_is_added_to_the_city_catalog(tmp_path: Path) -> None:
    city = write(tmp_path, "city.toml", CITY)
    # The center's catalog: the city's, one of its services renamed, and a service of its own.
    renamed = CITY.replace('ru = "Паспорта и регистрация"', 'ru = "Паспорта (наш центр)"', 1)
    local = write(tmp_path, "local.toml", renamed + OWN_SERVICE)
    merged = layered_catalog(city, local)
    assert merged is not None
    city_catalog = load_catalog(city)
    assert [s.id for s in merged.services] == [s.id for s in city_catalog.services] + ["notary-room"]
    assert merged.categories[0].name.ru == "Паспорта и регистрация"  # an id both use keeps the city's entry
    assert merged.service("notary-room").category == "local-services"


def test_one_layer_alone_is_shown_as_it_is_and_a_broken_one_is_left_out(tmp_path: Path) -> None:
    city = write(tmp_path, "city.toml", CITY)
    broken = write(tmp_path, "broken.toml", "version = 1\n")
    assert layered_catalog(None, None) is None
    assert layered_catalog(city, None) == load_catalog(city)
    assert layered_catalog(None, city) == load_catalog(city)
    assert layered_catalog(city, broken) == load_catalog(city)
    assert layered_catalog(broken, city) == load_catalog(city)


PLAYLISTS = '''
[playlists.waiting-area]
[[playlists.waiting-area.items]]
type = "image"
asset = "media/{name}.png"
[[playlists.waiting-area.items]]
type = "rules"
duration = 8
'''


def test_playlists_play_the_city_campaign_then_the_centers_items() -> None:
    import tomllib

    city = parse_playlists(Path("city.toml"), tomllib.loads(PLAYLISTS.format(name="city")))
    local = parse_playlists(Path("local.toml"), tomllib.loads(PLAYLISTS.format(name="local") + (
        '[playlists.kids]\n[[playlists.kids.items]]\ntype = "satisfaction"\n')))
    merged = merge_playlists(city, local)
    area = merged["waiting-area"].items
    assert [(i.type, i.asset, i.index) for i in area] == [
        ("image", "city/media/city.png", CITY_ITEM_BASE), ("rules", None, CITY_ITEM_BASE + 1),
        ("image", "media/local.png", 0), ("rules", None, 1)]
    assert [i.order for i in area] == sorted(i.order for i in area)  # the player walks them in this order
    assert [i.type for i in merged["kids"].items] == ["satisfaction"]  # a profile only the center has
    assert merge_playlists(city, {})["waiting-area"].items[0].asset == "city/media/city.png"
    # The player steps through the merged list in the same order, round and round.
    from datetime import datetime

    now, item, seen = datetime(2026, 11, 26, 12, 0), None, []
    for _ in range(5):
        item = merged["waiting-area"].next_after(item, now)
        seen.append(item.index if item else None)
    assert seen == [CITY_ITEM_BASE, CITY_ITEM_BASE + 1, 0, 1, CITY_ITEM_BASE]


def test_layered_assets_look_in_the_layer_the_name_says(tmp_path: Path) -> None:
    city = {"media/a.png": tmp_path / "city-a"}
    local = {"media/a.png": tmp_path / "local-a"}
    assets = LayeredAssets(city.get, local.get)
    assert assets.path_of("city/media/a.png") == tmp_path / "city-a"
    assert assets.path_of("media/a.png") == tmp_path / "local-a"
    assert LayeredAssets(None, local.get).path_of("city/media/a.png") is None
    assert LayeredAssets(city.get, None).path_of("media/a.png") is None

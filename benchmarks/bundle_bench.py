"""Content bundle benchmarks: the cost of an unchanged check, syncing a large bundle against curl,
a one-asset update, and verification against sha256sum. Writes its section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bundle_bench.py [--assets 500] [--asset-mb 1] [--checks 300] [--runs 3]

A real hub process (`mfc-edge hub`) on 127.0.0.1 and a real device updater over HTTP. The data
lives in a temporary folder that is deleted at the end.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import percentile, write_section  # noqa: E402

from mfc_edge import bundle  # noqa: E402
from tests.helpers.bundles import device, enroll_device, publish  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

SECTION = "## Content bundles (issue: signed content bundles)"
MB = 1024 * 1024
NOTE = ("The updater flushes every asset to disk (fsync, on a second thread while the next one downloads) before it "
        "swaps the bundle in, so a power cut never leaves a bundle naming half-written files; curl leaves its files "
        "in the page cache, so the second ratio, against curl followed by `sync`, compares equal durability. "
        "coreutils' sha256sum here does not use the CPU's SHA instructions; Python's hashlib (OpenSSL) does.")


def make_folder(folder: Path, assets: int, size: int) -> None:
    (folder / "media").mkdir(parents=True)
    (folder / "kiosk.toml").write_bytes(b"[kiosk]\n")
    for i in range(assets):
        (folder / "media" / f"clip-{i:04d}.bin").write_bytes(os.urandom(size))


def sync_once(work: Path, hub: HubProcess, token: str, key: bytes) -> tuple[float, int]:
    """Seconds and bytes for a device with an empty content folder to apply the bundle."""
    shutil.rmtree(work / "device", ignore_errors=True)
    store, updater, _ = device(work / "device", hub.url, token, key, quota=10 ** 12)
    subprocess.run(["sync"], check=True)  # start with nothing left to write from before
    began = time.perf_counter()
    result = updater.check()
    elapsed = time.perf_counter() - began
    assert result.status == "applied", result
    updater.close()
    return elapsed, result.downloaded


def curl_once(work: Path, hub: HubProcess, token: str, hashes: list[str]) -> tuple[float, float]:
    """Seconds for curl to fetch the same assets into files over one kept-alive connection, and
    for `sync` to then put them on disk (curl leaves them in the page cache; the updater does not)."""
    out = work / "curl"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    config = work / "curl.cfg"
    config.write_text(f'header = "Authorization: Bearer {token}"\n' + "".join(
        f'url = "{hub.url}/api/v1/assets/{h}"\noutput = "{out / h}"\n' for h in hashes))
    subprocess.run(["sync"], check=True)
    began = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-K", str(config)], check=True)
    fetched = time.perf_counter()
    subprocess.run(["sync"], check=True)
    return fetched - began, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--asset-mb", type=float, default=1.0)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = int(args.asset_mb * MB)
    work = Path(tempfile.mkdtemp(prefix="mfc-bundle-bench-"))
    try:
        make_folder(work / "publish", args.assets, size)
        with HubProcess(work / "hub") as hub:
            token, key = enroll_device(hub)
            publish(hub.data_dir, work / "publish")

            # 1. A cold sync of the whole bundle, against curl fetching the same bytes; alternated.
            syncs, curls, curls_synced = [], [], []
            for _ in range(args.runs):
                seconds, total = sync_once(work, hub, token, key)
                syncs.append(seconds)
                store, _, _ = device(work / "device", hub.url, token, key, quota=10 ** 12)
                hashes = sorted({a.sha256 for a in store.current().manifest.assets})
                fetched, synced = curl_once(work, hub, token, hashes)
                curls.append(fetched)
                curls_synced.append(synced)
            shutil.rmtree(work / "curl")

            # 2. Unchanged: each check is one conditional GET answered 304.
            store, updater, _ = device(work / "device", hub.url, token, key, quota=10 ** 12)
            latencies = []
            for _ in range(args.checks):
                began = time.perf_counter()
                assert updater.check().status == "unchanged"
                latencies.append((time.perf_counter() - began) * 1000)

            # 3. One asset changed: only that asset travels.
            (work / "publish" / "media" / "clip-0007.bin").write_bytes(os.urandom(size))
            publish(hub.data_dir, work / "publish")
            began = time.perf_counter()
            second = updater.check()
            second_s = time.perf_counter() - began
            assert second.status == "applied" and second.version == 2, second

            # 4. Verification: SHA-256 of every asset and the signature, against sha256sum.
            active = store.current()
            paths = [str(store.asset_path(h)) for h in sorted({a.sha256 for a in active.manifest.assets})]
            subprocess.run(["cat", *paths], check=True, stdout=subprocess.DEVNULL)  # both read from the cache
            verify_s, sum_s = [], []
            for _ in range(args.runs):
                began = time.perf_counter()
                bundle.verify_envelope(active.envelope, key)
                assert store.verify_all(active) == []
                verify_s.append(time.perf_counter() - began)
                began = time.perf_counter()
                subprocess.run(["sha256sum", *paths], check=True, stdout=subprocess.DEVNULL)
                sum_s.append(time.perf_counter() - began)
            updater.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    total_mb = total / MB
    sync_s, curl_s, curl_synced_s = statistics.median(syncs), statistics.median(curls), statistics.median(curls_synced)
    ratio = statistics.median(s / c for s, c in zip(syncs, curls, strict=True))
    ratio_synced = statistics.median(s / c for s, c in zip(syncs, curls_synced, strict=True))
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python benchmarks/bundle_bench.py --assets {args.assets} --asset-mb {args.asset_mb:g} "
        f"--checks {args.checks} --runs {args.runs}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Hub, device and curl on the same cores, "
        f"data in a temporary folder on local disk; medians of {args.runs} runs.",
        "",
        "| figure | goal | measured |",
        "| --- | --- | --- |",
        f"| unchanged bundle: one check (a conditional GET answered 304), {args.checks} checks | ≤ 50 ms | "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms |",
        f"| sync of a {args.assets + 1}-asset, {total_mb:,.0f} MB bundle over loopback: download, hash while "
        f"writing, fsync, swap in | ≤ 1.5× curl | {sync_s:.2f} s ({total_mb / sync_s:,.0f} MB/s); "
        f"curl {curl_s:.2f} s ({total_mb / curl_s:,.0f} MB/s): {ratio:.2f}×; curl then `sync` "
        f"{curl_synced_s:.2f} s: {ratio_synced:.2f}× |",
        f"| second sync with one asset changed | only that asset | {second.downloaded:,} bytes downloaded "
        f"({second.downloaded / size:.0f} asset) in {second_s * 1000:.0f} ms |",
        f"| verification of the active bundle: SHA-256 of every asset + signature, files in the page cache | "
        f"near sha256sum | {total_mb / statistics.median(verify_s):,.0f} MB/s; sha256sum "
        f"{total_mb / statistics.median(sum_s):,.0f} MB/s |",
        "",
        NOTE,
        "",
    ]
    section = "\n".join(lines)
    print(section)
    write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())

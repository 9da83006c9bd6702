"""Bytes a kiosk writes to its SD card per ticket, through the real ticket path.

    .venv/bin/python benchmarks/disk_writes_bench.py [--tickets 500] [--runs 5]

Each run starts a kiosk in a fresh process (`open_kiosk`, as `mfc-edge kiosk` does), enrolled
with a real hub process on 127.0.0.1 and printing to `mfc-edge virtual-printer` in a process of
its own, so the hub's and the printer's writes are not counted. For every ticket it issues
through `TicketDesk.issue`, waits for the print result and for the hub's acknowledgement, as
at a center where visitors come minutes apart; then it closes the kiosk (the last
checkpoint). Four ways of counting:

- 4 KiB blocks of the kiosk's files that changed from before a ticket to after it: what a
  kernel with 4 KiB pages writes back when it writes back between two visitors (it does
  within 30 s), so the honest figure for the card. Twice: with the print result going to disk
  with the next ticket, and with it written in a transaction of its own, as the store's timer
  does when the hub has not acknowledged it within a minute.
- /proc/self/io write_bytes of the kiosk process, back to back and with `sync` after each
  ticket. The kernel counts a page when it turns dirty: back to back, tickets share pages
  still dirty (SQLite's shared-memory index, half-written WAL pages); with `sync`, each ticket
  dirties them again. Kernels since 6.16 cache ext4 files in folios of up to 64 KiB and count
  a whole folio when one byte of it turns dirty, which inflates the synced figure there.
- wchar: bytes handed to write() (not to mmap), for comparison.

A last pass parses the WAL (autocheckpoint off) to say which tables and indexes the frames of
each ticket belong to. The data folder is on a real disk (a temporary folder under the
repository's var/ by default, `--folder` to choose): tmpfs counts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.hubprocess import HubProcess, free_port  # noqa: E402

SECTION = "## Bytes written per ticket (issue 14: the SD card lives for years)"
CONFIG = """\
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
timezone = "Europe/Moscow"

[device]
id = "{device}"
role = "kiosk"
data_dir = "data"

[kiosk]
ticket_range = [1, 999]

[printer]
uri = "tcp://127.0.0.1:{port}"

[hub]
url = "{hub}"
"""
WAL_HEADER, FRAME_HEADER = 32, 24
BLOCK = 4096


def io_counters() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


# ---- the kiosk process -------------------------------------------------------

def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def changed_blocks(before: dict[str, bytes], after: dict[str, bytes]) -> Counter:
    """4 KiB blocks of each file that are new or differ: what a kernel with 4 KiB pages writes
    back when it writes back between two visitors."""
    counted: Counter = Counter()
    for name, data in after.items():
        old = before.get(name, b"")
        counted[name] += sum(data[i:i + BLOCK] != old[i:i + BLOCK] for i in range(0, len(data), BLOCK))
    return counted


def kiosk_run(config: Path, tickets: int, pace: str) -> dict:
    """Runs in its own process: tickets through the real path, this process's writes counted."""
    from hardware.clock import SystemClock
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config

    device = load_config(config)
    kiosk = open_kiosk(device, SystemClock())
    services = [s.id for s in kiosk.catalog.services]
    assert kiosk.sync, "the kiosk is not enrolled"
    blocks: Counter = Counter()

    def one(i: int) -> None:
        before = snapshot(device.data_dir) if pace in BLOCKS else {}
        kiosk.desk.next_visitor()
        issued = kiosk.desk.issue(services[i % len(services)])
        assert issued.printed.result(timeout=10).ok
        deadline = time.monotonic() + 10
        while kiosk.store.outbox_size():  # the hub's acknowledgement
            assert time.monotonic() < deadline, "the hub did not acknowledge"
            time.sleep(0.002)
        if pace == "synced":
            os.sync()
        if pace == "quiet":  # written back; then what the store's timer does when the hub is away
            middle = snapshot(device.data_dir)
            blocks.update(changed_blocks(before, middle))
            before = middle
            kiosk.store.flush()
        if pace in BLOCKS:
            blocks.update(changed_blocks(before, snapshot(device.data_dir)))

    for i in range(3):  # warm up: the schema, the hub's time, the first pages
        one(i)
    blocks.clear()
    os.sync()
    before = io_counters()
    for i in range(tickets):
        one(i)
    last = snapshot(device.data_dir) if pace in BLOCKS else {}
    kiosk.close()
    after = io_counters()
    if pace in BLOCKS:
        blocks.update(changed_blocks(last, snapshot(device.data_dir)))
    return {**{k: after[k] - before[k] for k in before}, "blocks": dict(blocks)}


# ---- the WAL, frame by frame -------------------------------------------------

def wal_frames(wal: Path) -> list[tuple[int, bool]]:
    """(page number, ends a transaction) of each frame of a WAL file, in order."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    salt = data[16:24]
    frames, offset = [], WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        page, size_after = struct.unpack(">II", data[offset:offset + 8])
        if data[offset + 8:offset + 16] != salt:
            break  # left over from before the last checkpoint
        frames.append((page, size_after != 0))
        offset += FRAME_HEADER + page_size
    return frames


def breakdown_run(config: Path, tickets: int) -> dict:
    """Runs in its own process: the same tickets, autocheckpoint off; the WAL's frames by table."""
    from hardware.clock import SystemClock
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config

    device = load_config(config)
    kiosk = open_kiosk(device, SystemClock())
    store = kiosk.store
    services = [s.id for s in kiosk.catalog.services]
    with store.transaction():
        pass
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.db.execute("PRAGMA wal_autocheckpoint=0")
    page_size = store.db.execute("PRAGMA page_size").fetchone()[0]
    for i in range(tickets):
        kiosk.desk.next_visitor()
        assert kiosk.desk.issue(services[i % len(services)]).printed.result(timeout=10).ok
        deadline = time.monotonic() + 10
        while store.outbox_size():
            assert time.monotonic() < deadline, "the hub did not acknowledge"
            time.sleep(0.002)
    for worker in [*kiosk.workers, kiosk.sync]:
        if worker:
            worker.stop()
    kiosk.close_parts()
    store.flush()
    frames = wal_frames(store.path.with_name(store.path.name + "-wal"))
    owners = {page: name for name, page in store.db.execute("SELECT name, pageno FROM dbstat")}
    by_table = Counter(owners.get(page, "free list / header" if page == 1 or page not in owners else "?")
                       for page, _ in frames)
    distinct = len({page for page, _ in frames})
    store.close()
    return {"page_size": page_size, "frames": len(frames), "commits": sum(end for _, end in frames),
            "by_table": dict(by_table), "distinct_pages": distinct}


# ---- the parent --------------------------------------------------------------

def child(mode: str, config: Path, tickets: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--config", str(config),
                          "--tickets", str(tickets)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"the kiosk process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.splitlines()[-1])


def prepared_kiosk(work: Path, hub: HubProcess, code: str, printer_port: int) -> Path:
    from mfc_edge.config import load_config
    from offline_cache.enrollment import enroll

    work.mkdir(parents=True)
    config = work / "kiosk.toml"
    config.write_text(CONFIG.format(port=printer_port, hub=hub.url, device=work.name), encoding="utf-8")
    enroll(load_config(config), code)
    return config


PACES = {"blocks": "4 KiB blocks changed, visitors under a minute apart (a print result goes with the next ticket)",
         "quiet": "4 KiB blocks changed, each print result written on its own (as while the hub is away)",
         "fast": "/proc/self/io write_bytes, back to back",
         "synced": "/proc/self/io write_bytes, `sync` after each ticket"}
BLOCKS = ("blocks", "quiet")


def measure(folder: Path, tickets: int, runs: int) -> dict:
    results: dict = {pace: [] for pace in PACES} | {"wchar": []} | {f"{p} by file": Counter() for p in BLOCKS}
    port = free_port()
    printer = subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "virtual-printer", "--port", str(port),
                                "--out", str(folder / "printer")], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    assert printer.stdout
    printer.stdout.readline()  # "listening on …"
    hub = HubProcess(folder / "hub")
    codes = [hub.enroll_code() for _ in range(runs * len(PACES) + 1)]  # before the hub holds its file
    try:
        with hub:
            n = 0
            for _ in range(runs):
                for pace in PACES:
                    n += 1
                    counted = child(pace, prepared_kiosk(folder / f"kiosk-{n}", hub, codes[n - 1], port), tickets)
                    if pace in BLOCKS:
                        results[pace].append(sum(counted["blocks"].values()) * BLOCK / tickets)
                        results[f"{pace} by file"].update(counted["blocks"])
                        results["wchar"].append(counted["wchar"] / tickets)
                    else:
                        results[pace].append(counted["write_bytes"] / tickets)
                    print(f"{PACES[pace]}: {results[pace][-1] / 1024:.1f} KB per ticket "
                          f"(wchar {counted['wchar'] / tickets / 1024:.1f} KB)", flush=True)
            n += 1
            config = prepared_kiosk(folder / f"kiosk-{n}", hub, codes[n - 1], port)
            results["breakdown"] = child("breakdown", config, tickets)
    finally:
        printer.terminate()
        printer.wait()
    return results


def kb(values: list[float]) -> str:
    return (f"median {statistics.median(values) / 1024:.1f} KB "
            f"(range {min(values) / 1024:.1f}–{max(values) / 1024:.1f})")


def report(results: dict, args: argparse.Namespace, folder: Path) -> str:
    b = results["breakdown"]
    frame = b["page_size"] + FRAME_HEADER
    tickets, runs = args.tickets, args.runs
    tables = ", ".join(f"{name} {count / tickets:.2f}" for name, count in
                       sorted(b["by_table"].items(), key=lambda kv: -kv[1]))
    files = "; ".join(pace + ": " + ", ".join(
        f"{name} {count * BLOCK / tickets / runs / 1024:.1f} KB" for name, count in
        sorted(results[f"{pace} by file"].items(), key=lambda kv: -kv[1]) if count) for pace in BLOCKS)
    fs = subprocess.run(["df", "--output=fstype", str(folder)], capture_output=True, text=True).stdout.split()[-1]
    return "\n".join([
        SECTION, "",
        f"Command: `.venv/bin/python benchmarks/disk_writes_bench.py --tickets {tickets} --runs {runs}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {platform.platform()}; data folder on {fs}; measured "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {runs} runs of {tickets} tickets for each figure.", "",
        "| measure, per ticket | goal ≤ 10 KB |", "| --- | --- |",
        *(f"| {label} | {kb(results[pace])} |" for pace, label in PACES.items()),
        f"| wchar (bytes handed to write()) | {kb(results['wchar'])} |", "",
        f"4 KiB blocks changed, by file: {files}.", "",
        f"WAL, autocheckpoint off, {tickets} tickets: {b['commits'] / tickets:.2f} transactions and "
        f"{b['frames'] / tickets:.2f} frames of {frame} bytes per ticket "
        f"({b['frames'] * frame / tickets / 1024:.1f} KB); frames per ticket by table or index: {tables}; "
        f"a checkpoint then writes {b['distinct_pages']} distinct pages "
        f"({b['distinct_pages'] * b['page_size'] / tickets / 1024:.2f} KB per ticket) into the database file.", ""])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", type=Path, help="where the data folders go (a real disk, not tmpfs)")
    parser.add_argument("--child", choices=(*PACES, "breakdown"), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "breakdown":
        print(json.dumps(breakdown_run(args.config, args.tickets)))
        return 0
    if args.child:
        print(json.dumps(kiosk_run(args.config, args.tickets, args.child)))
        return 0
    (ROOT / "var").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="disk-writes-", dir=args.folder or ROOT / "var"))
    try:
        section = report(measure(folder, args.tickets, args.runs), args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(section)  # benchmarks/RESULTS.md keeps it by hand, beside the figures of the schema before
    return 0


if __name__ == "__main__":
    sys.exit(main())

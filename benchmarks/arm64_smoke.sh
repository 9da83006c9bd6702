#!/usr/bin/env bash
# An emulated arm64 smoke run: the kiosk role installed from aarch64 wheels into a venv of
# Debian bookworm's arm64 Python 3.11, issuing a ticket and printing it on a virtual network
# printer on this machine's loopback; then the screens' ffpyplayer, to list the hardware video
# decoders its FFmpeg was built with.
#
#   apt-get install qemu-user-static mmdebstrap      # once
#   benchmarks/arm64_smoke.sh [WORK]                 # WORK defaults to var/arm64
#
# The arm64 userland is unpacked from Debian's packages by mmdebstrap (--variant=extract: no
# package scripts run, so nothing needs emulating) and every arm64 program is started as
# `qemu-aarch64-static -L ROOTFS ...`. Nothing is registered with binfmt_misc and the machine's
# dpkg architectures stay as they are. mmdebstrap runs as root or in a user namespace.
# A second run reuses the userland and the wheels. Exit status 0 when the ticket was printed.
set -euo pipefail

cd "$(dirname "$0")/.."
WORK=$(realpath -m "${1:-var/arm64}")
ROOTFS=$WORK/rootfs
VENV=$ROOTFS/opt/mfc-edge/venv
HOST_PY=${HOST_PY:-.venv/bin/python}
# Python 3.11 and the system libraries the wheels load (pyusb: libusb; ffpyplayer: glib, expat, libstdc++).
PACKAGES=python3.11,libpython3.11-stdlib,python3.11-venv,python3-pip-whl,libusb-1.0-0,ca-certificates,libglib2.0-0,libexpat1,libstdc++6

for tool in qemu-aarch64-static mmdebstrap; do
    command -v "$tool" >/dev/null || { echo "arm64 smoke: $tool is missing: apt-get install qemu-user-static mmdebstrap" >&2; exit 2; }
done
arm64() { qemu-aarch64-static -L "$ROOTFS" "$@"; }
step() { printf '%-44s %s\n' "$1" "$2"; }
started=$SECONDS

# 1. The kiosk role's aarch64 wheels, and the project's own wheel (pure Python, built here).
"$HOST_PY" benchmarks/arm64_wheels.py --roles kiosk,signage --dest "$WORK/wheels" > "$WORK/wheels.log"
rm -rf "$WORK/dist"
"$HOST_PY" -m pip wheel -q --no-deps -w "$WORK/dist" . > /dev/null
step "aarch64 wheels for kiosk and signage" "$(grep '\.whl$' "$WORK/wheels.log" | sort -u | wc -l) ($((SECONDS - started)) s)"

# 2. Debian bookworm arm64: Python 3.11 and its libraries, unpacked.
if [ "$(cat "$WORK/rootfs.packages" 2>/dev/null)" != "$PACKAGES" ]; then
    t=$SECONDS
    rm -rf "$ROOTFS"
    mmdebstrap --quiet --variant=extract --architectures=arm64 --include="$PACKAGES" bookworm "$ROOTFS"
    echo "$PACKAGES" > "$WORK/rootfs.packages"
    step "arm64 userland unpacked" "$(du -sm "$ROOTFS" | cut -f1) MB ($((SECONDS - t)) s)"
fi
step "arm64 Python" "$(arm64 "$ROOTFS/usr/bin/python3.11" -c 'import platform, sys; print(sys.version.split()[0], platform.machine())')"

# 3. The kiosk role into a venv, offline from the wheels. ensurepip would start the venv's python
# as a child process, which the kernel cannot run without binfmt: pip runs from Debian's wheel.
t=$SECONDS
rm -rf "$VENV"
arm64 "$ROOTFS/usr/bin/python3.11" -m venv --without-pip "$VENV"
pip_wheel=$(ls "$ROOTFS"/usr/share/python-wheels/pip-*.whl)
arm64 "$VENV/bin/python3.11" "$pip_wheel/pip" install -q --disable-pip-version-check --no-index --no-compile \
    --find-links "$WORK/wheels" --find-links "$WORK/dist" "mfc-edge[kiosk]"
step "kiosk role installed (emulated pip)" "$(du -sm "$VENV" | cut -f1) MB ($((SECONDS - t)) s)"

# 4. A virtual printer on this machine's loopback, and a kiosk device file that uses it.
mkdir -p "$WORK/run"
rm -rf "$WORK/run/jobs" "$WORK/run/data"
"$HOST_PY" -m mfc_edge.cli virtual-printer --port 0 --out "$WORK/run/jobs" > "$WORK/run/printer.log" 2>&1 &
printer_pid=$!
trap 'kill "$printer_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -qs "listening on" "$WORK/run/printer.log" && break; sleep 0.1; done
printer_uri=$(grep -o 'tcp://127.0.0.1:[0-9]*' "$WORK/run/printer.log")
cat > "$WORK/run/kiosk.toml" <<EOF
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
timezone = "Europe/Moscow"

[device]
id = "kiosk-arm64"
role = "kiosk"
data_dir = "data"

[kiosk]
ticket_range = [1, 499]

[printer]
uri = "$printer_uri"
timeout = 10
EOF

# 5. The kiosk's own ticket path, emulated: check the device file, issue a ticket, wait for the print.
# From the run folder, so that Python imports the installed package, not this source tree.
cd "$WORK/run"
arm64 "$VENV/bin/python3.11" -m mfc_edge.cli check-config --config kiosk.toml
t=$SECONDS
arm64 "$VENV/bin/python3.11" - kiosk.toml <<'EOF'
import platform
import sys
import time

from hardware.clock import SystemClock
from kiosk import wiring
from mfc_edge.config import load_config

started = time.monotonic()
print(f"{platform.machine()}: mfc-edge imported from {wiring.__file__.rsplit('/', 2)[0]}")
kiosk = wiring.open_kiosk(load_config(sys.argv[1]), SystemClock(), connect=False)
service = kiosk.catalog.services[0]
issued = kiosk.desk.issue(service.id)
result = issued.printed.result(timeout=60)
print(f"{platform.machine()}: ticket {issued.ticket.number} for {service.id}: print {result.outcome}, "
      f"printer {result.status.value}, {time.monotonic() - started:.1f} s from start")
with open("ticket.txt", "w") as out:
    out.write(issued.ticket.number)
kiosk.close()
sys.exit(0 if result.ok else 1)
EOF
step "ticket issued and printed (emulated)" "$((SECONDS - t)) s"
cd - > /dev/null

# 6. What the printer received, decoded here: the ticket's number is on the paper.
"$HOST_PY" - "$WORK/run" <<'EOF'
import sys
from pathlib import Path

from hardware.escpos_decode import decode_escpos
from hardware.receipt import Text

run = Path(sys.argv[1])
number = (run / "ticket.txt").read_text()
jobs = sorted((run / "jobs").glob("job-*.bin"))
lines = [part.text for job in jobs for part in decode_escpos(job.read_bytes()) if isinstance(part, Text)]
print(f"{'jobs the virtual printer received':44s} {len(jobs)}; ticket {number} on the paper: {number in lines}")
sys.exit(0 if number in lines else 1)
EOF

# 7. The screens' FFmpeg: which V4L2 memory-to-memory (hardware) decoders ffpyplayer's aarch64 wheel has.
arm64 "$VENV/bin/python3.11" "$pip_wheel/pip" install -q --disable-pip-version-check --no-index --no-compile \
    --find-links "$WORK/wheels" ffpyplayer
found=$(cd "$WORK/run" && arm64 "$VENV/bin/python3.11" -c '
from ffpyplayer.tools import get_codecs
print(" ".join(name for name in get_codecs(decode=True, video=True) if "v4l2m2m" in name) or "none")')
step "ffpyplayer aarch64: V4L2 M2M decoders" "$found"
step "whole run" "$((SECONDS - started)) s"

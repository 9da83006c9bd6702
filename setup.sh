#!/usr/bin/env bash
# mfc-edge set-up: installs what is missing, then runs the demo or the tests.
#
#   ./setup.sh demo     a center in a box: hub, kiosk with a virtual printer, operator console,
#                       window buttons and the hall's screen (no display: a scripted day writes
#                       screenshots, tickets and spoken announcements)
#   ./setup.sh test     the whole test suite, headless
#   ./setup.sh test-fast  the quick part of it: no slow, browser or fuzz tests (under half the time)
#   ./setup.sh install  only install
#   sudo ./setup.sh provision ROLE [--wheels DIR] [mfc-edge provision options]
#                       make this machine a device: kiosk, signage, console, hub, or base (the
#                       program and the first-boot unit); see `mfc-edge provision --help`
#   ./setup.sh wheels DIR  download every role's wheels (and the build's) into DIR, for this
#                       machine's platform: `provision --wheels DIR` then needs no Internet
#
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
STAMP="$VENV/.installed"
DEBIAN_PACKAGES=(
  python3 python3-venv python3-dev        # the interpreter and venv
  libgl1 libegl1 libgl1-mesa-dri          # OpenGL for Kivy (Mesa draws offscreen without a GPU)
  libmtdev1 libsdl2-2.0-0                 # touch input and SDL for Kivy on a real panel
  fonts-dejavu-core                       # Cyrillic font for ticket previews
  libusb-1.0-0                            # USB receipt printers
  chromium                                # the browser the operator console is tested in
  espeak-ng sox alsa-utils                # offline speech for announced calls, measuring it, aplay
  mmdebstrap systemd-container            # the boot test: a Debian userland booted with a real systemd
  postgresql                              # the city tier's database; tests start private clusters
)

fail() { echo "setup.sh: $*" >&2; exit 1; }
step() { echo "==> $*"; }

install_debian_packages() {
  command -v dpkg-query >/dev/null || { step "not a Debian system: skipping system packages"; return; }
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  step "installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "need root or sudo to install: ${missing[*]}"
    sudo="sudo"
  fi
  $sudo apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" \
    || fail "apt-get could not install: ${missing[*]}"
}

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$candidate"; return
    fi
  done
  fail "Python 3.11 or newer is needed (Raspberry Pi OS Bookworm and Debian 12 ship it as python3)"
}

install_python_project() {
  local python want
  python=$(find_python)
  if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV with $python"
    "$python" -m venv "$VENV" || fail "could not create $VENV (is python3-venv installed?)"
  fi
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    return
  fi
  step "installing mfc-edge with every role (kiosk, signage, console, hub, city) and its test tools into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip || fail "could not upgrade pip"
  "$VENV/bin/python" -m pip install -q -e ".[kiosk,signage,console,hub,city,test]" || fail "pip could not install the project (see above)"
  echo "$want" > "$STAMP"
}

# The venv comes first, made by the system's python3 with the standard library only; then the
# program it installed provisions the rest (mfc_edge/provision/).
provision_role() {
  [ $# -ge 1 ] || fail "usage: sudo ./setup.sh provision kiosk|signage|console|hub|base [--wheels DIR]"
  [ "$(id -u)" -eq 0 ] || fail "provisioning changes the system: run it as root (sudo ./setup.sh provision $1)"
  local DEBIAN_PACKAGES=(python3 python3-venv)  # only what makes the venv; the role's come next
  install_debian_packages
  local python
  python=$(find_python)
  "$python" -m mfc_edge.provision.bootstrap --source "$PWD" "$@" || exit $?
  exec /opt/mfc-edge/current/bin/mfc-edge provision --source "$PWD" "$@"
}

download_wheels() {
  local dir=${1:-}
  [ -n "$dir" ] || fail "usage: ./setup.sh wheels DIR"
  local python requirements
  python=$(find_python)
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" || fail "could not create $VENV (is python3-venv installed?)"
  # What the build needs, what every role needs and each role's extra (not the test tools).
  mapfile -t requirements < <("$python" -c '
import tomllib
with open("pyproject.toml", "rb") as f:
    found = tomllib.load(f)
extras = found["project"]["optional-dependencies"]
for name in (*found["build-system"]["requires"], *found["project"]["dependencies"],
             *(r for extra in ("kiosk", "signage", "console", "hub", "city") for r in extras[extra])):
    print(name)')
  step "downloading every role's wheels into $dir"
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --dest "$dir" "${requirements[@]}" \
    || fail "pip could not download the wheels (see above)"
}

install_all() {
  install_debian_packages
  install_python_project
}

case "${1:-}" in
  install)
    install_all
    ;;
  test)
    install_all
    shift
    step "checking the code: ruff (lint, import order) and mypy (shared ground, offline cache, hub, city)"
    "$VENV/bin/ruff" check . || fail "ruff found problems (see above; 'ruff check --fix' mends most)"
    "$VENV/bin/mypy" || fail "mypy found type errors (see above)"
    step "running the tests (headless)"
    SDL_VIDEODRIVER=offscreen exec "$VENV/bin/python" -m pytest "$@"
    ;;
  test-fast)
    install_all
    shift
    step "running the quick tests (headless): not slow, browser or fuzz"
    SDL_VIDEODRIVER=offscreen exec "$VENV/bin/python" -m pytest -m "not slow and not browser and not fuzz" "$@"
    ;;
  provision)
    shift
    provision_role "$@"
    ;;
  wheels)
    shift
    download_wheels "$@"
    ;;
  demo)
    install_all
    shift
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      exec "$VENV/bin/mfc-edge" demo "$@"
    else
      exec "$VENV/bin/mfc-edge" demo --headless --out var/demo "$@"
    fi
    ;;
  *)
    echo "usage: ./setup.sh demo | test | test-fast | install | provision ROLE | wheels DIR" >&2
    exit 2
    ;;
esac

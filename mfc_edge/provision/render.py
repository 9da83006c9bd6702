"""The system files a role's device needs: its units, system user, folders and settings.

Templates live in mfc_edge/data/provision/; each is filled with `string.Template`, so a
technician reading a template sees the file that lands on the card.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from string import Template

from mfc_edge.provision.roles import Role

TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "provision"
UNITS = PurePosixPath("etc/systemd/system")
FIRSTBOOT_UNIT = "mfc-edge-firstboot.service"
REBOOT_UNITS = ("mfc-edge-reboot.path", "mfc-edge-reboot.service")
# The software updater (issue 15): the timer starts the oneshot service.
UPDATE_UNITS = ("mfc-edge-update.service", "mfc-edge-update.timer")

# Kivy on a Pi with no desktop: SDL draws through KMS/DRM itself, Kivy keeps its settings in the
# data folder, ignores command-line arguments (they are mfc-edge's) and logs only to the journal.
_KIVY_ENVIRONMENT = """\
Environment=SDL_VIDEODRIVER=kmsdrm
Environment=KIVY_HOME=/var/lib/mfc-edge/kivy
Environment=KIVY_NO_ARGS=1
Environment=KIVY_NO_FILELOG=1"""
_DRAWING_UNIT = """\
# The app draws on the panel itself: no login prompt underneath it.
Conflicts=getty@tty1.service
After=getty@tty1.service"""
# Kiosk and screen open the GPU, touch panel, printers and sound: devices stay visible to them.
# /sys stays writable (no ProtectKernelTunables): a DSI panel sleeps through its backlight's
# bl_power, whose path under /sys/devices depends on the panel.
_DRAWING_HARDENING = """\
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"""
# The console needs its GPIO chips and nothing else of /dev.
_CONSOLE_HARDENING = """\
ProtectKernelTunables=yes
DevicePolicy=closed
DeviceAllow=char-gpiochip rw
ProtectClock=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"""


@dataclass(frozen=True)
class SystemFile:
    path: PurePosixPath  # inside the root, without the leading slash
    text: str
    mode: int = 0o644


def fill(template: str, **values: str) -> str:
    return Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def role_unit(role: Role) -> str:
    if role.name == "hub":
        return fill("hub.service.in")
    return fill("device.service.in", role=role.name, unit=str(role.unit), title=role.title, command=role.name,
                unit_extra=_DRAWING_UNIT + "\n" if role.draws else "",
                environment=_KIVY_ENVIRONMENT if role.draws else "",
                hardening=_DRAWING_HARDENING if role.draws else _CONSOLE_HARDENING)


# The user and folders every role shares; each role adds its own file beside them, so one machine
# may hold several roles (a hub that is also a kiosk) and provisioning one keeps the others'.
_SHARED_USER = """\
# Written by `mfc-edge provision`: the system user every role's app runs as.
u mfc-edge - "mfc-edge center device" /var/lib/mfc-edge -
"""
_SHARED_FOLDERS = """\
# Written by `mfc-edge provision`: folders, owners and modes, set again at every boot.
d /etc/mfc-edge 0750 root mfc-edge -
d /var/lib/mfc-edge 0750 mfc-edge mfc-edge -
"""


def role_groups(role: Role) -> str:
    lines = [f"# Written by `mfc-edge provision {role.name}`: the groups that reach its hardware (made if missing)."]
    return "\n".join(lines + [f"m mfc-edge {group}" for group in role.groups]) + "\n"


def role_folders(role: Role) -> str:
    lines = [f"# Written by `mfc-edge provision {role.name}`: its folders and files, set again at every boot."]
    if role.is_device:
        lines.append(f"z /etc/mfc-edge/{role.name}.toml 0640 root mfc-edge -")
    if role.draws:
        lines += ["d /var/lib/mfc-edge/kivy 0750 mfc-edge mfc-edge -",
                  "# The text console never blanks the panel (the kernel's consoleblank=0); w-: a container's",
                  "# /sys is read-only, and that is no failure.",
                  "w- /sys/module/kernel/parameters/consoleblank - - - - 0"]
    if role.name == "hub":
        lines += ["d /var/lib/mfc-edge/hub 0700 mfc-edge mfc-edge -",
                  "# The center's CA and the hub's certificate; ca.key stays root's, hub.key the hub's (0600).",
                  "d /etc/mfc-edge/tls 0750 root mfc-edge -"]
    return "\n".join(lines) + "\n"


# Printers for a kiosk, GPIO chips for a console, the panel's backlight for both that draw.
_UDEV_RULES = {"kiosk": ("printers.rules.in", "panel.rules.in"), "signage": ("panel.rules.in",),
               "console": ("gpio.rules.in",)}


def system_files(role: Role, hub_host: str | None) -> list[SystemFile]:
    """Every file `role` needs, with what it says; `hub_host` is the device file's hub, when known."""
    files = [SystemFile(UNITS / FIRSTBOOT_UNIT, fill(f"{FIRSTBOOT_UNIT}.in"))]
    if role.unit is None:
        return files
    files += [
        SystemFile(UNITS / role.unit, role_unit(role)),
        SystemFile(PurePosixPath("etc/sysusers.d/mfc-edge.conf"), _SHARED_USER),
        SystemFile(PurePosixPath("etc/tmpfiles.d/mfc-edge.conf"), _SHARED_FOLDERS),
        SystemFile(PurePosixPath(f"etc/tmpfiles.d/mfc-edge-{role.name}.conf"), role_folders(role)),
        SystemFile(PurePosixPath("etc/systemd/journald.conf.d/mfc-edge.conf"), fill("journald.conf.in")),
        SystemFile(PurePosixPath("etc/systemd/system.conf.d/mfc-edge.conf"), fill("system.conf.in")),
        SystemFile(PurePosixPath("etc/systemd/zram-generator.conf.d/mfc-edge.conf"), fill("zram-generator.conf.in")),
    ]
    if role.is_device:
        files += [SystemFile(UNITS / unit, fill(f"{unit}.in")) for unit in REBOOT_UNITS]
        files += [SystemFile(UNITS / unit, fill(f"{unit}.in", role=role.name)) for unit in UPDATE_UNITS]
        if hub_host:
            files.append(SystemFile(PurePosixPath("etc/systemd/timesyncd.conf.d/mfc-edge.conf"),
                                    fill("timesyncd.conf.in", role=role.name, hub_host=hub_host)))
    else:
        files.append(SystemFile(PurePosixPath("etc/chrony/conf.d/mfc-edge.conf"), fill("chrony.conf.in")))
    if role.groups:
        files.append(SystemFile(PurePosixPath(f"etc/sysusers.d/mfc-edge-{role.name}.conf"), role_groups(role)))
    if role.name in _UDEV_RULES:
        files.append(SystemFile(PurePosixPath(f"etc/udev/rules.d/60-mfc-edge-{role.name}.rules"),
                                "\n".join(fill(template) for template in _UDEV_RULES[role.name])))
    return files


def units_to_enable(role: Role) -> list[str]:
    units = [FIRSTBOOT_UNIT]
    if role.unit:
        units.append(role.unit)
    if role.is_device:
        units += ["mfc-edge-reboot.path", "mfc-edge-update.timer"]
    return units

"""Checks of the values given on the command line, each failing with one line (`CommandError`,
printed by `main` as `mfc-edge: error: ...`): ports, the hub's TLS files, ids and logins."""
from __future__ import annotations

import re
import ssl
from pathlib import Path

from mfc_edge.config import ID_RULE, is_ident


class CommandError(Exception):
    """A command-line value that cannot be used; the message names the flag, the value and why."""


# An operator's sign-in name: letters (Latin or Cyrillic), digits, dots, underscores and hyphens,
# starting with a letter or digit, as the console's sign-in form takes it (up to 60).
_LOGIN = re.compile(r"[0-9A-Za-zА-Яа-яЁё][0-9A-Za-zА-Яа-яЁё._-]{0,59}")


def port(value: int, flag: str = "--port", lowest: int = 1) -> int:
    """A TCP port: 1 to 65535 (0, for "any free port", where `lowest` allows it)."""
    if not lowest <= value <= 65535:
        raise CommandError(f"{flag} {value}: expected a TCP port from {lowest} to 65535")
    return value


def ident(value: str, flag: str) -> str:
    """A center or device id, spelt as device files spell them: never empty, never a path."""
    if not is_ident(value):
        raise CommandError(f"{flag} {value!r}: expected {ID_RULE}")
    return value


def login(value: str, flag: str = "--login") -> str:
    if not _LOGIN.fullmatch(value):
        raise CommandError(f"{flag} {value!r}: expected letters, digits, dots, underscores and hyphens, "
                           "starting with a letter or digit, up to 60")
    return value


class _Encrypted(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _Encrypted


def tls_files(cert: Path | None, key: Path | None) -> None:
    """Both or neither; a PEM certificate and its unencrypted private key, readable."""
    if (cert is None) != (key is None):
        raise CommandError("--cert and --key go together")
    if cert is None or key is None:
        return
    for flag, path in (("--cert", cert), ("--key", key)):
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as exc:
            raise CommandError(f"{flag} {path}: cannot be read: {exc.strerror or exc}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=str(cert))
    except ssl.SSLError:
        raise CommandError(f"--cert {cert}: not a PEM certificate") from None
    try:
        context.load_cert_chain(str(cert), str(key), password=_no_passphrase)
    except _Encrypted:
        raise CommandError(f"--key {key}: the key is protected by a passphrase: give the hub an unencrypted "
                           "key, readable by its user only") from None
    except ssl.SSLError:
        raise CommandError(f"--key {key}: not the PEM private key of the certificate {cert}") from None

"""The center's own certificate authority and the hub's TLS certificate signed by it.

A center's hub has no public name a public CA would certify, so each center has a private CA:
its certificate (ca.pem) goes to every device in its first-boot file and into the operators'
browsers, its key (ca.key) never leaves the hub. Keys are ECDSA P-256: what Python's ssl,
OpenSSL on Raspberry Pi OS and every browser accept (Ed25519 is refused by browsers for TLS).

`ensure_center_tls` is idempotent: files that are there and good are kept; a hub certificate
near its end, not signed by the center's CA or missing a requested name is issued again by the
same CA, so enrolled devices keep trusting the hub. A CA given without its key (an
organisation's own CA, with hub.pem and hub.key it issued) is checked and kept, never replaced:
what is wrong with it is said, as an error when the hub cannot use it, else as a warning.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mfc_edge.files import atomic_write, make_folder

CA_LIFETIME = timedelta(days=20 * 365)  # replacing it means visiting every device: make it outlive them
# Apple's platforms refuse server certificates valid longer than 825 days, even from a private CA.
SERVER_LIFETIME = timedelta(days=825)
RENEW_BEFORE = timedelta(days=60)
# Keys this module signs with or serves: its own P-256 ones, or an organisation's RSA ones.
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_DNS_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*")


class TlsError(ValueError):
    """TLS files or names that cannot be used; the message names the file or value and why."""


@dataclass(frozen=True)
class TlsFiles:
    folder: Path
    changes: list[str] = field(default_factory=list)  # what this run made or renewed, for the technician

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def cert(self) -> Path:
        return self.folder / "hub.pem"

    @property
    def key(self) -> Path:
        return self.folder / "hub.key"


def check_names(names: list[str], ips: list[str]) -> list[x509.GeneralName]:
    """The subjectAltNames for `names` and `ips`; TlsError for one that is neither."""
    found: list[x509.GeneralName] = []
    for name in names:
        if not _DNS_NAME.fullmatch(name):
            raise TlsError(f"name {name!r}: expected a host name such as hub or hub.local")
        found.append(x509.DNSName(name.lower()))
    for ip in ips:
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError:
            raise TlsError(f"IP {ip!r}: expected an IPv4 or IPv6 address such as 192.168.1.10") from None
    if not found:
        raise TlsError("the hub's certificate needs at least one host name or IP address")
    return found


def ensure_center_tls(folder: Path, names: list[str], ips: list[str], *, now: datetime | None = None,
                      key_owner: tuple[int, int] | None = None) -> TlsFiles:
    """Make or keep the center's CA and the hub's certificate for `names` and `ips` in `folder`.

    `key_owner` (uid, gid) is given hub.key when it is written: the hub's own system user must
    read it, while ca.key stays with whoever runs this (root on a center's hub)."""
    wanted = check_names(names, ips)
    now = now or datetime.now(UTC)
    files = TlsFiles(make_folder(folder))
    if files.ca_key.exists():
        ca_cert, ca_key = _load_ca(files)
    elif files.ca_cert.exists():
        _check_given(files, wanted, now)
        return files
    else:
        ca_cert, ca_key = _make_ca(files, now)
    reason = _why_renew(files, ca_cert, wanted, now)
    if reason:
        _issue_server_cert(files, ca_cert, ca_key, wanted, now, key_owner)
        files.changes.append(f"issued {files.cert} ({reason})")
    return files


def _load_ca(files: TlsFiles) -> tuple[x509.Certificate, SigningKey]:
    if not files.ca_cert.exists():
        raise TlsError(f"{files.ca_key}: the CA's key is here but its certificate {files.ca_cert} is missing: "
                       "put it back (devices trust it), or move the key away to start a new CA")
    cert = _read_cert(files.ca_cert)
    key = _read_key(files.ca_key)
    if key.public_key() != cert.public_key():
        raise TlsError(f"{files.ca_key}: not the key of the CA certificate {files.ca_cert}")
    return cert, key


def _make_ca(files: TlsFiles, now: datetime) -> tuple[x509.Certificate, SigningKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"mfc-edge center CA {os.uname().nodename}"[:64])])
    cert = (_builder(name, name, key.public_key(), now, CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write_key(files.ca_key, key, None)
    atomic_write(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    files.changes.append(f"made the center's CA {files.ca_cert} (its key {files.ca_key} stays on this machine)")
    return cert, key


def _why_renew(files: TlsFiles, ca_cert: x509.Certificate, wanted: list[x509.GeneralName],
               now: datetime) -> str | None:
    """Why the hub's certificate must be issued (again), or None to keep it."""
    if not files.cert.exists() or not files.key.exists():
        return "there was none"
    try:
        cert, key = _read_cert(files.cert), _read_key(files.key)
    except TlsError as exc:
        return f"the old one could not be used: {exc}"
    if key.public_key() != cert.public_key():
        return f"{files.key} was not its key"
    if not _issued_by(cert, ca_cert):
        return "the old one was not signed by this CA"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return f"the old one ended on {cert.not_valid_after_utc:%Y-%m-%d}"
    missing = [str(n.value) for n in wanted if n not in _alt_names(cert)]
    if missing:
        return "it lacked " + ", ".join(missing)
    return None


def _issue_server_cert(files: TlsFiles, ca_cert: x509.Certificate, ca_key: SigningKey,
                       wanted: list[x509.GeneralName], now: datetime, key_owner: tuple[int, int] | None) -> None:
    # The old certificate's names are kept: a renewal for one new name must not drop an old one.
    old = _alt_names(_read_cert(files.cert)) if _readable_cert(files.cert) else []
    names = wanted + [n for n in old if n not in wanted]
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(names[0].value)[:64])])
    cert = (_builder(subject, ca_cert.subject, key.public_key(), now, SERVER_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_key(files.key, key, key_owner)
    atomic_write(files.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _check_given(files: TlsFiles, wanted: list[x509.GeneralName], now: datetime) -> None:
    """A CA given without its key: the hub's certificate must be there, issued by it, and good."""
    for path in (files.cert, files.key):
        if not path.exists():
            raise TlsError(f"{path} is missing: with a CA given without its key ({files.ca_key}), put the hub's "
                           "certificate and key it issued beside it")
    cert, key, ca_cert = _read_cert(files.cert), _read_key(files.key), _read_cert(files.ca_cert)
    if key.public_key() != cert.public_key():
        raise TlsError(f"{files.key}: not the key of the hub's certificate {files.cert}")
    if not _issued_by(cert, ca_cert):
        raise TlsError(f"{files.cert}: not issued by the CA in {files.ca_cert}")
    if cert.not_valid_after_utc <= now:
        raise TlsError(f"{files.cert}: ended on {cert.not_valid_after_utc:%Y-%m-%d}: have the CA that issued it "
                       "issue a new one")
    # Usable for now: what will soon stop working is said, for whoever looks after that CA.
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        files.changes.append(f"warning: {files.cert} ends on {cert.not_valid_after_utc:%Y-%m-%d}: have the CA "
                             "that issued it issue a new one")
    missing = [str(n.value) for n in wanted if n not in _alt_names(cert)]
    if missing:
        files.changes.append(f"warning: {files.cert} is not for " + ", ".join(missing) + ": devices using that "
                             "address will refuse the hub")


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime,
             lifetime: timedelta) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))  # a device clock a little behind still accepts it
            .not_valid_after(now + lifetime)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _alt_names(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _readable_cert(path: Path) -> bool:
    try:
        _read_cert(path)
    except TlsError:
        return False
    return True


def _read_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise TlsError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except ValueError:
        raise TlsError(f"{path}: not a PEM certificate") from None


def _read_key(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise TlsError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except TypeError:
        raise TlsError(f"{path}: protected by a passphrase: the hub needs an unencrypted key") from None
    except ValueError:
        raise TlsError(f"{path}: not a PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TlsError(f"{path}: neither an EC nor an RSA key; move it away to have a P-256 one made")
    return key


def _write_key(path: Path, key: SigningKey, owner: tuple[int, int] | None) -> None:
    """Write `key` 0600; a renewed key keeps the owner of the one it replaces unless `owner` says."""
    if owner is None and path.exists():
        stat = path.stat()
        owner = stat.st_uid, stat.st_gid
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    atomic_write(path, pem, mode=0o600)
    if owner is not None and (path.stat().st_uid, path.stat().st_gid) != owner:
        os.chown(path, *owner)

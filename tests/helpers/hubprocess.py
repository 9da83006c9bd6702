"""A real hub process on 127.0.0.1 for tests: started, waited for, stopped."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests


def hub_today(hour: int = 10) -> datetime:
    """`hour` o'clock today in Moscow, a center's default zone, or an hour ago if that is earlier
    (but today). A hub process runs on the real clock: it closes past service days, and takes a
    ticket stated after it arrived for one from a clock that ran ahead, placed when it arrived
    (hub/placement.py). Kiosks in tests with one date their tickets today, before now."""
    now = datetime.now(ZoneInfo("Europe/Moscow"))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(midnight, min(now.replace(hour=hour, minute=0, second=0, microsecond=0), now - timedelta(hours=1)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    def __init__(self, data_dir: Path, port: int | None = None, tls: tuple[Path, Path, Path] | None = None):
        """`tls` is (certificate, key, CA file): the hub then speaks HTTPS, checked against the CA."""
        self.data_dir, self.port, self.tls = data_dir, port or free_port(), tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> HubProcess:
        tls_args = ["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mfc_edge.cli", "hub", "--data", str(self.data_dir), "--port", str(self.port),
             *tls_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1,
                                verify=str(self.tls[2]) if self.tls else True).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the hub did not start within 20 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, or a power cut of the hub."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def enroll_code(self, center: str = "strogino", role: str = "kiosk") -> str:
        out = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "enroll-code", "--data", str(self.data_dir),
                              "--center", center, "--role", role], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it, made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "hub.key", folder / "hub.csr", folder / "hub.pem"
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert),
            "-days", "2", "-subj", "/CN=mfc-edge test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return cert, key, ca_cert

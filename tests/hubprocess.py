"""A real hub process on 127.0.0.1 for tests: started, waited for, stopped."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir, self.port = data_dir, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "HubProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mfc_edge.cli", "hub", "--data", str(self.data_dir), "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
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

    def __enter__(self) -> "HubProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""What a provisioning run changed, said one line per change, and its one-line failures."""
from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field


class ProvisionError(RuntimeError):
    """A step that could not be done; the message says which and why, in one line."""


@dataclass
class Report:
    say: Callable[[str], object] = print
    changes: list[str] = field(default_factory=list)

    def changed(self, line: str) -> None:
        self.changes.append(line)
        self.say(line)

    def note(self, line: str) -> None:
        """Something worth knowing that is not a change (what --root leaves for later)."""
        self.say(line)


def run(command: list[str], what: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `command`; ProvisionError with its last line of complaint when it fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    except FileNotFoundError:
        raise ProvisionError(f"{what}: {command[0]} is not installed") from None
    if done.returncode != 0:
        raise ProvisionError(f"{what} failed: {_complaint(done)}")
    return done


def _complaint(done: subprocess.CompletedProcess[str]) -> str:
    """The line that says what went wrong: pip and apt end with notes after their error line."""
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "e:"))]
    return (errors or lines or [f"exit status {done.returncode}"])[-1]

"""Writing a file so that a power cut leaves either the old contents or the new, whole.

Raspberry Pis lose power without warning; every device and the hub replace small files
(tokens, keys, cached answers, screenshots, manifests) through `atomic_write`.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make renames in `folder` survive a power cut, not only a crash of the process."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Replace `path` with `data`: a reader sees the old contents or the new, whole.

    The file gets `mode` before it has a name (a token is never readable by others, even for
    an instant); each writer has its own temporary file, so two writers never mix their bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        os.fchmod(fd, mode)
        with open(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path

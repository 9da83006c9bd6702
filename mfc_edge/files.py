"""Files every device and the hub read and write the same way.

Raspberry Pis lose power without warning; every device and the hub replace small files
(tokens, keys, cached answers, screenshots, manifests) through `atomic_write`. Device files,
catalogs and playlists are read through `read_toml`, whose every failure is one line; data
folders are made through `make_folder`, whose every failure is one line too.
"""
from __future__ import annotations

import errno
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

# A TOML file bigger than this is not a device file, catalog or playlist of ours.
MAX_TOML_BYTES = 4 * 1024 * 1024


class DataFolderError(OSError):
    """A data folder (a device's `data_dir`, the hub's `--data`), or a file in it, that cannot be
    used: the message names it and says why, in one line."""


def make_folder(folder: str | Path, mode: int = 0o777) -> Path:
    """`folder` and any missing parents; DataFolderError when it cannot be made, e.g. when a
    file stands where it or a parent should be, or the user may not write there."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=mode)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocker == folder:
            raise DataFolderError(f"{folder}: is a file, not a folder") from None
        if blocker is not None:
            raise DataFolderError(f"{folder}: cannot be made: {blocker} is a file, not a folder") from None
        raise DataFolderError(f"{folder}: cannot be made: {exc.strerror or exc}") from None
    return folder


def fsync_dir(folder: Path) -> None:
    """Make renames in `folder` survive a power cut, not only a crash of the process."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes | str, *, mode: int | None = 0o644) -> Path:
    """Replace `path` with `data`: a reader sees the old contents or the new, whole.

    The file gets `mode` before it has a name (a token is never readable by others, even for
    an instant); each writer has its own temporary file, so two writers never mix their bytes.
    `mode` None leaves it to the file system: a FAT partition (a Pi's boot partition) has no
    modes and refuses most chmods.
    """
    path = Path(path)
    make_folder(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        if mode is not None:
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


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The TOML file at `path`; any reason it cannot be read raises `error` with one line that
    names the file (missing, a folder, unreadable, not UTF-8, too large or too deeply nested)."""
    try:
        if path.stat().st_size > MAX_TOML_BYTES:
            raise error(f"{path}: larger than {MAX_TOML_BYTES // 2**20} MB: not a file of ours")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply to be a file of ours") from None
    except OSError as exc:
        reason = "a symbolic link that loops" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise error(f"{path}: cannot be read: {reason}") from None

"""Private state on disk: directories 0700 and files 0600, whatever the process umask.

What newsradar keeps under its data directory (alerts, articles, delivery state) is for no
other user of the machine. ``mkdir`` and ``open`` apply the umask to the mode they are given,
so a permissive umask (0) would leave group or world bits; these set the modes exactly on what
they create, and leave what already exists as its owner made it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory, it and any parent it creates 0700."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir(mode=DIR_MODE)
            os.chmod(folder, DIR_MODE)
    if not path.is_dir():
        path.mkdir()  # raises FileExistsError naming the file in the way
    return path


def private_file(path: Path) -> Path:
    """``path`` as an existing file, created empty and 0600 (its folder 0700) if missing.

    SQLite gives its journal, WAL and shared-memory files the database file's mode, so
    creating a database file here first keeps them all private.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path

"""The embedded state is the owner's only: password and refresh-token hashes, sealed provider
keys and signing secrets live in the data dir. The dir is 0700 and every file pixrelay keeps
there 0600, tightened on each start so a data dir left by an older version is fixed too."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) and make it owner-only."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Make an existing file owner-only; create it empty (owner-only from the start) if absent."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL, None for Postgres and in-memory databases."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return Path(url.database)


def private_database(database_url: str) -> None:
    """A SQLite database file and its companions (WAL, shared memory, journal) owner-only.
    SQLite creates the companions with the database file's mode, so creating the file 0600
    before SQLite opens it is what keeps them private; existing ones are tightened here."""
    path = sqlite_path(database_url)
    if path is None:
        return
    if not path.parent.exists():
        private_dir(path.parent)
    private_file(path)
    for suffix in SQLITE_COMPANIONS[1:]:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, FILE_MODE)

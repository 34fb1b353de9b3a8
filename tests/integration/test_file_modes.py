"""The embedded state is readable by its owner only: the data dir 0700, the database (with its
WAL and shared-memory files) and the generated secrets 0600, whether new or left by an older
version with looser modes."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from entrypoints.bootstrap import build_container
from entrypoints.runtime import open_runtime
from entrypoints.settings import Settings
from tests.contract.builders import add_user

PRIVATE_FILES = ("pixrelay.db", "pixrelay.db-wal", "pixrelay.db-shm", "jwt_secret", "secrets_key")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_and_write(settings: Settings) -> None:
    async def scenario() -> None:
        async with open_runtime(settings, run_migrations=True) as runtime:
            build_container(runtime.ports)
            await add_user(runtime.ports.uow)  # a write, so the WAL files exist
            for name in PRIVATE_FILES:
                assert (settings.data_dir / name).exists(), name
                assert mode(settings.data_dir / name) == 0o600, name

    asyncio.run(scenario())


def test_a_new_data_dir_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, providers="sim")
    open_and_write(settings)
    assert mode(data) == 0o700
    assert mode(data / "jwt_secret") == 0o600 and mode(data / "secrets_key") == 0o600


def test_an_existing_data_dir_with_loose_modes_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, providers="sim")
    open_and_write(settings)
    os.chmod(data, 0o755)
    for name in PRIVATE_FILES:
        if (data / name).exists():
            os.chmod(data / name, 0o644)
    open_and_write(settings)
    assert mode(data) == 0o700
    for name in ("pixrelay.db", "jwt_secret", "secrets_key"):
        assert mode(data / name) == 0o600, name

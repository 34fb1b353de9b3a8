"""A start that cannot work stops with one line naming the setting to fix and exit code 2:
no traceback, whichever command (the real `pixrelay` process, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import free_port

JWT = "j" * 40
EXIT_SETTINGS = 2


def pixrelay(workdir: Path, command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_")}
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", command], cwd=workdir, capture_output=True, text=True,
        env={**clean, "PIXRELAY_PORT": str(free_port()), "PIXRELAY_DATA_DIR": str(workdir / "data"), **env},
        timeout=120, check=False)


def assert_one_line(result: subprocess.CompletedProcess[str], setting: str, *details: str) -> str:
    assert result.returncode == EXIT_SETTINGS, (result.returncode, result.stderr[-3000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    [line] = lines
    assert "Traceback" not in result.stderr + result.stdout
    assert setting in line, line
    for detail in details:
        assert detail.lower() in line.lower(), line
    return line


@pytest.mark.parametrize("command", ["serve", "api", "worker", "migrate"])
def test_an_unreachable_postgres(tmp_path: Path, command: str) -> None:
    url = f"postgresql://postgres:hunter2secret@127.0.0.1:{free_port()}/pixrelay"
    result = pixrelay(tmp_path, command, {"PIXRELAY_DATABASE_URL": url, "PIXRELAY_JWT_SECRET": JWT})
    line = assert_one_line(result, "PIXRELAY_DATABASE_URL", "127.0.0.1", "refused")
    assert "hunter2secret" not in line  # the password is never printed


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unknown_database_host(tmp_path: Path, command: str) -> None:
    url = "postgresql://postgres@no-such-host.invalid:5432/pixrelay"
    result = pixrelay(tmp_path, command, {"PIXRELAY_DATABASE_URL": url, "PIXRELAY_JWT_SECRET": JWT})
    assert_one_line(result, "PIXRELAY_DATABASE_URL", "no-such-host.invalid")


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_a_data_dir_that_cannot_be_used(tmp_path: Path, command: str) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = pixrelay(tmp_path, command, {"PIXRELAY_DATA_DIR": str(tmp_path / "a-file" / "data")})
    assert_one_line(result, "PIXRELAY_DATA_DIR", str(tmp_path / "a-file" / "data"))


def test_a_data_dir_on_a_read_only_filesystem(tmp_path: Path) -> None:
    result = pixrelay(tmp_path, "serve", {"PIXRELAY_DATA_DIR": "/proc/pixrelay-data"})
    assert_one_line(result, "PIXRELAY_DATA_DIR", "/proc/pixrelay-data")

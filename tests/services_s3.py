"""A throwaway local S3 endpoint (moto_server) for the tests that need one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service_check import unavailable

_START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _moto_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("moto_server")
    if script.exists():
        return [str(script), "-H", "127.0.0.1", "-p", str(port)]
    if found := shutil.which("moto_server"):
        return [found, "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> str | None:
    """None once the endpoint answers; the reason it never will otherwise."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"moto_server exited with code {process.returncode}"
        try:
            httpx.get(url, timeout=1.0)
            return None
        except httpx.TransportError:
            time.sleep(0.1)
    return f"moto_server did not answer within {_START_TIMEOUT:.0f} s"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 endpoint on a free loopback port, for this test session."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        process = subprocess.Popen(_moto_command(port), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    except OSError as error:
        unavailable("S3 (moto_server)", error)
        raise  # unreachable: unavailable() skips or fails
    try:
        if reason := _wait_until_up(url, process):
            unavailable("S3 (moto_server)", reason)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

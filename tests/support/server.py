"""The real server process (`pixrelay serve`, the `make run` path) for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from adapters.sql.migrate import migrate
from tests.services_db import execute_admin


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`pixrelay serve` in `workdir`, with only the given PIXRELAY_* settings (none are inherited)."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"server-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_")}
        self.env = {**clean, "PIXRELAY_PORT": str(self.port), **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli", "serve"], cwd=self.workdir, env=self.env,
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"server did not become ready:\n{self.output()}")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def stop_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stop()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def isolated_database(server_url: str) -> Iterator[str]:
    """A migrated Postgres database of its own on the server at `server_url`, dropped after."""
    name = f"pixrelay_e2e_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        asyncio.run(execute_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def running(workdir: Path, env: dict[str, str]) -> Iterator[Server]:
    server = Server(workdir, env)
    server.start()
    try:
        yield server
    finally:
        server.stop_if_running()


def server_errors(server: Server) -> list[str]:
    """Lines of the server's log that tell of a failure it did not answer properly."""
    return [line for line in server.output().splitlines()
            if "Traceback" in line or "http.unexpected" in line or "http.error" in line]

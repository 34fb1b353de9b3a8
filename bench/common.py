"""What every benchmark shares: sizes, fresh databases, servers in subprocesses, the load
generator, and the result rows."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
JWT_SECRET = "bench-secret-" + "x" * 40
# A fresh address per run: login rate limits live in the shared Redis and outlast a run.
ADMIN_EMAIL, ADMIN_PASSWORD = f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench password 123"
ROOT = Path(__file__).resolve().parent.parent


def scale() -> str:
    value = os.environ.get("BENCH_SCALE", "full")
    if value not in ("smoke", "full"):
        raise SystemExit(f"BENCH_SCALE must be smoke or full, got {value!r}")
    return value


def sized(smoke: Any, full: Any) -> Any:
    return smoke if scale() == "smoke" else full


def tuned(variable: str, smoke: float, full: float) -> float:
    """`sized`, unless the environment sets `variable` (a shorter run on a busy machine)."""
    value = os.environ.get(variable)
    return float(value) if value else float(sized(smoke, full))


def pg_server_url() -> str:
    return os.environ.get("PIXRELAY_BENCH_DATABASE_URL",
                          os.environ.get("PIXRELAY_TEST_DATABASE_URL", DEFAULT_PG))


def redis_url() -> str:
    return os.environ.get("PIXRELAY_BENCH_REDIS_URL", os.environ.get("PIXRELAY_TEST_REDIS_URL", DEFAULT_REDIS))


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Row:
    benchmark: str
    metric: str
    pixrelay: float | None
    baseline: float | None
    baseline_name: str = ""
    goal: str = ""
    met: bool | None = None
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.pixrelay is None or not self.baseline:
            return None
        return self.pixrelay / self.baseline


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ------------------------------------------------------------------ databases


async def admin_execute(*statements: str) -> None:
    connection = await asyncpg.connect(plain_dsn(pg_server_url()), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def fresh_database(*, migrated: bool = True) -> AsyncIterator[str]:
    """A Postgres database of this benchmark's own (dropped at the end): its URL."""
    from adapters.sql.migrate import migrate

    name = f"pixrelay_bench_{uuid.uuid4().hex[:12]}"
    await admin_execute(f'CREATE DATABASE "{name}"')
    url = make_url(pg_server_url()).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            await migrate(url)
        yield url
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pixrelay-bench-") as path:
        yield Path(path)


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A server in a subprocess on a loopback port, stopped by SIGTERM (then SIGKILL)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, ready_path: str = "/health") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"server-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_")}
        with self.log.open("wb") as log:
            self.popen = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                          env={**clean, "PYTHONPATH": str(ROOT), **env,
                                               "PIXRELAY_PORT": str(self.port), "BENCH_PORT": str(self.port)})
        self.ready_path = ready_path

    async def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.log.read_text(errors='replace')[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url + self.ready_path) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server not ready:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.popen.pid).cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(psutil.Process(self.popen.pid).memory_info().rss)


@contextlib.asynccontextmanager
async def running(args: list[str], env: dict[str, str], cwd: Path, ready_path: str = "/health"
                  ) -> AsyncIterator[Process]:
    process = Process(args, env, cwd, ready_path)
    try:
        await process.wait_ready()
        yield process
    finally:
        process.stop()


def pixrelay_env(database_url: str | None, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "PIXRELAY_DATA_DIR": str(data_dir), "PIXRELAY_JWT_SECRET": JWT_SECRET,
        "PIXRELAY_ADMIN_EMAIL": ADMIN_EMAIL, "PIXRELAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PIXRELAY_SIGNUP_CREDITS": "1000000000", "PIXRELAY_PROVIDERS": "sim",
        "PIXRELAY_LOG_LEVEL": "warning", "PIXRELAY_LOG_JSON": "1",
    }
    if database_url:
        env["PIXRELAY_DATABASE_URL"] = database_url
    return {**env, **extra}


# ------------------------------------------------------------------ load


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    warmup_requests: int = 0

    @property
    def sent(self) -> int:
        """Every request sent, the warm-up's included."""
        return len(self.latencies) + self.warmup_requests

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000


Request = Callable[[aiohttp.ClientSession, int], Awaitable[bool]]


async def load(request: Request, *, concurrency: int, seconds: float, max_requests: int,
               warmup_seconds: float = 0.5) -> Load:
    """`concurrency` clients, each sending its next request when the last one answered, for
    `seconds` (or `max_requests`) after a warm-up that is not counted. Same for both sides.
    Client k sends requests number k, k + concurrency, k + 2 * concurrency ...: `i %
    concurrency` names the client (the many-users shape gives each client its own user)."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        rounds = iter(range(10**9))
        warm_until = time.perf_counter() + warmup_seconds
        warmup = 0
        while time.perf_counter() < warm_until:
            base = next(rounds) * concurrency
            await asyncio.gather(*(request(session, base + k) for k in range(concurrency)))
            warmup += concurrency
        latencies: list[float] = []
        errors = 0
        sent = 0
        start = time.perf_counter()
        deadline = start + seconds

        async def client(k: int) -> None:
            nonlocal errors, sent
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                began = time.perf_counter()
                good = await request(session, next(rounds) * concurrency + k)
                latencies.append(time.perf_counter() - began)
                errors += 0 if good else 1
        await asyncio.gather(*(client(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Load(requests=len(latencies) - errors, errors=errors, seconds=elapsed, latencies=latencies,
                warmup_requests=warmup)


# ------------------------------------------------------------------ machine


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def machine() -> dict[str, str]:
    from redis.asyncio import Redis

    connection = await asyncpg.connect(plain_dsn(pg_server_url()), timeout=5)
    try:
        pg_version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    try:
        client = Redis.from_url(redis_url(), socket_connect_timeout=1)
        redis_version = (await client.info("server"))["redis_version"]
        await client.aclose()
    except Exception as error:  # Redis is optional for most benchmarks
        redis_version = f"unreachable ({error.__class__.__name__})"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": str(pg_version),
        "redis": str(redis_version),
        "scale": scale(),
    }

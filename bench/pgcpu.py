"""The Postgres server's CPU spent for one database: the backends connected to it, read from
/proc through psutil (the benchmark runs on the database's machine). The server is shared
with other work, so only this database's backends are counted, never the whole server."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from bench.common import pg_server_url, plain_dsn


class LockWaits:
    """Samples of this database's backends waiting for a heavyweight lock (a row another
    transaction holds): how many on average, and on which statement most often."""

    def __init__(self, database_url: str, *, exclude: tuple[int, ...] = ()) -> None:
        self._database = make_url(database_url).database
        self._exclude = list(exclude)
        self.samples = 0
        self.waiting = 0
        self.statements: dict[str, int] = {}

    async def sample_until(self, done: asyncio.Event, every: float = 0.05) -> None:
        connection = await asyncpg.connect(plain_dsn(pg_server_url()), timeout=5)
        try:
            while not done.is_set():
                rows = await connection.fetch(
                    "SELECT left(query, 70) AS query FROM pg_stat_activity WHERE datname = $1 "
                    "AND state = 'active' AND wait_event_type = 'Lock' AND pid <> ALL($2::int[])",
                    self._database, self._exclude)
                self.samples += 1
                self.waiting += len(rows)
                for row in rows:
                    self.statements[row["query"]] = self.statements.get(row["query"], 0) + 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), every)
        finally:
            await connection.close()

    @property
    def average(self) -> float:
        return self.waiting / self.samples if self.samples else 0.0

    def top(self) -> str:
        return max(self.statements, key=lambda query: self.statements[query]) if self.statements else "none"


class BackendCpu:
    """Snapshots of CPU seconds per backend of `database`; `since(earlier)` is the CPU those
    backends spent in between (a backend that started meanwhile counts from zero, one that
    ended meanwhile is lost: take the last snapshot before the clients disconnect)."""

    def __init__(self, database_url: str, *, exclude: tuple[int, ...] = ()) -> None:
        self._database = make_url(database_url).database
        self._exclude = set(exclude)

    async def snapshot(self) -> dict[int, float]:
        connection = await asyncpg.connect(plain_dsn(pg_server_url()), timeout=5)
        try:
            pids = [row["pid"] for row in await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", self._database)]
        finally:
            await connection.close()
        found = {}
        for pid in pids:
            if pid in self._exclude:
                continue
            seconds = _cpu_seconds(pid)
            if seconds is not None:
                found[pid] = seconds
        return found

    @staticmethod
    def since(earlier: dict[int, float], later: dict[int, float]) -> float:
        return sum(seconds - earlier.get(pid, 0.0) for pid, seconds in later.items())


def _cpu_seconds(pid: int) -> float | None:
    """From /proc/PID/schedstat (nanoseconds on the CPU) where the kernel keeps it: a short
    window of a few ms per backend would read as zero in /proc/PID/stat's 10 ms ticks."""
    try:
        with open(f"/proc/{pid}/schedstat") as stats:
            return int(stats.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return float(times.user + times.system)

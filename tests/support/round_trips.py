"""Count what a piece of code costs the backing services: Postgres round trips, SQLite
thread hand-offs and Redis commands, for round-trip budget tests.

    with count_round_trips() as trips:
        response = client.post("/v1/jobs", ...)      # the real app, the real adapters
    assert trips.postgres <= 2, trips.report()

Everything in the process is counted while the block runs (every connection, every pool,
every event loop), so warm the pool and the caches before entering, and keep background
work (workers, listeners) out of the block or expect it in the counts.

How each is counted, and why that is the real cost:

- **Postgres round trips** (`postgres`): every asyncpg protocol operation that sends
  messages and then waits for the server's answer: `query` (the simple-query protocol:
  `BEGIN`, `COMMIT`, `ROLLBACK`, a pre-ping's `;`, any text sent without parameters),
  `prepare` (Parse/Describe/Sync), `bind_execute` and `bind_execute_many`
  (Bind/Execute/Sync: one answer, however many rows), `bind`, `execute`, `close_portal`,
  `close_statement`, `copy_in`, `copy_out`. asyncpg never pipelines two of these: each one
  is a write followed by a wait for ReadyForQuery, i.e. exactly one network round trip. A
  statement SQLAlchemy has not prepared on this connection yet costs two (prepare, then
  bind_execute); a warm pool has them prepared. The count is taken where asyncpg's
  `Connection` reaches its protocol (`Connection._protocol` is shadowed by a property that
  hands out a counting wrapper), so it sees every connection without a proxy in between.
  `postgres_calls` keeps the operations in order (name and the first line of the SQL when
  there is one) for failure messages.
- **SQLite thread hand-offs** (`sqlite`): every job aiosqlite queues to its connection's
  thread (`aiosqlite.Connection._execute`, which cursors use too, and `_connect`); each is a
  queue put in the event loop, a wake-up of the database thread and a future resolved back
  across threads: the cost that dominates embedded SQLite.
- **Redis** (`redis_commands`, `redis_round_trips`): commands packed by redis-py
  (`pack_command`, which a pipeline's `pack_commands` calls once per command, MULTI and
  EXEC included) and packed sends (`send_packed_command`: a single command, or a whole pipeline, is one write and one
  wait). Health-check PINGs and connection handshakes are counted like any command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiosqlite.core
import asyncpg.connection
import redis.asyncio.connection

# asyncpg protocol operations that wait for the server's answer: one round trip each.
_PG_ROUND_TRIPS = frozenset({
    "query", "prepare", "bind_execute", "bind_execute_many", "bind", "execute",
    "close_portal", "close_statement", "copy_in", "copy_out",
})


@dataclass
class RoundTrips:
    postgres: int = 0
    sqlite: int = 0
    redis_commands: int = 0
    redis_round_trips: int = 0
    postgres_calls: list[str] = field(default_factory=list)

    def report(self) -> str:
        calls = "".join(f"\n  {call}" for call in self.postgres_calls)
        return (f"postgres {self.postgres}, sqlite hand-offs {self.sqlite}, redis commands "
                f"{self.redis_commands} in {self.redis_round_trips} round trips{calls}")


def _sql_of(args: tuple[Any, ...]) -> str:
    for arg in args:
        if isinstance(arg, str) and not arg.startswith("__asyncpg"):  # not a statement name
            return arg.strip().splitlines()[0][:120] if arg.strip() else repr(arg)
        query = getattr(arg, "query", None)  # a prepared statement's state
        if isinstance(query, str):
            return query.strip().splitlines()[0][:120]
    return ""


class _CountingProtocol:
    """Stands in for an asyncpg protocol: counts the awaited operations, forwards the rest."""

    __slots__ = ("_counts", "_protocol")

    def __init__(self, protocol: Any, counts: RoundTrips) -> None:
        self._protocol = protocol
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._protocol, name)
        if name not in _PG_ROUND_TRIPS:
            return attribute
        counts = self._counts

        def counted(*args: Any, **kwargs: Any) -> Any:
            counts.postgres += 1
            counts.postgres_calls.append(f"{name} {_sql_of(args)}".rstrip())
            return attribute(*args, **kwargs)

        return counted


@contextlib.contextmanager
def _count_postgres(counts: RoundTrips) -> Iterator[None]:
    cls = asyncpg.connection.Connection
    slot = cls.__dict__["_protocol"]  # the member descriptor of the `_protocol` slot

    def get(self: Any) -> Any:
        protocol = slot.__get__(self, cls)
        return protocol if protocol is None else _CountingProtocol(protocol, counts)

    def set_(self: Any, value: Any) -> None:
        slot.__set__(self, value)

    cls._protocol = property(get, set_)
    try:
        yield
    finally:
        cls._protocol = slot


@contextlib.contextmanager
def _count_sqlite(counts: RoundTrips) -> Iterator[None]:
    cls: Any = aiosqlite.core.Connection
    execute, connect = cls._execute, cls._connect

    async def counted_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counts.sqlite += 1
        return await execute(self, fn, *args, **kwargs)

    async def counted_connect(self: Any) -> Any:
        if self._connection is None:
            counts.sqlite += 1
        return await connect(self)

    cls._execute = counted_execute
    cls._connect = counted_connect
    try:
        yield
    finally:
        cls._execute = execute
        cls._connect = connect


@contextlib.contextmanager
def _count_redis(counts: RoundTrips) -> Iterator[None]:
    cls: Any = redis.asyncio.connection.AbstractConnection
    pack_command, send = cls.pack_command, cls.send_packed_command

    def counted_pack_command(self: Any, *args: Any) -> Any:
        counts.redis_commands += 1
        return pack_command(self, *args)

    async def counted_send(self: Any, command: Any, check_health: bool = True) -> None:
        counts.redis_round_trips += 1
        await send(self, command, check_health)

    cls.pack_command = counted_pack_command
    cls.send_packed_command = counted_send
    try:
        yield
    finally:
        cls.pack_command = pack_command
        cls.send_packed_command = send


@contextlib.contextmanager
def count_round_trips() -> Iterator[RoundTrips]:
    """Count Postgres round trips, SQLite hand-offs and Redis commands inside the block."""
    counts = RoundTrips()
    with _count_postgres(counts), _count_sqlite(counts), _count_redis(counts):
        yield counts

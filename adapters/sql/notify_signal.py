"""Wake idle workers in every process through Postgres LISTEN/NOTIFY, when there is no Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

CHANNEL = "pixrelay_work"
_CONNECT_TIMEOUT = 2.0
_FIRST_LISTEN_TIMEOUT = 2.0
_KEEPALIVE_SECONDS = 10.0
_KEEPALIVE_TIMEOUT = 5.0
_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)
_CONNECTION_LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def plain_dsn(url: str | URL) -> str:
    """asyncpg's own DSN from a SQLAlchemy URL (`postgresql+asyncpg://` -> `postgresql://`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresWorkSignal:
    """`notify` sends `NOTIFY pixrelay_work` on a connection of its own, in autocommit, so it
    is always its own statement AFTER the caller's transaction committed (a NOTIFY inside the
    creating transaction would serialise every commit on Postgres' notification queue lock).
    Concurrent notifies coalesce: one NOTIFY that starts after a caller asked covers it, so a
    burst of submits costs a handful of round trips, not one each.

    `wait` listens on a dedicated connection, opened by the first `wait` and owned by a
    background task (a waiter the worker cancels never interrupts a read). The task checks
    the connection every few seconds and opens a new one when it is lost; after reconnecting
    it wakes the next waiter once, since notifies sent meanwhile are gone. While Postgres is
    unreachable `wait` just sleeps its full time: workers poll anyway (best effort, like the
    other signals). A notify also wakes a waiter of the same instance directly, so API and
    worker in one process do not wait for the round trip."""

    def __init__(self, url: str | URL, channel: str = CHANNEL, *,
                 keepalive_seconds: float = _KEEPALIVE_SECONDS) -> None:
        self._dsn = plain_dsn(url)
        self._channel = channel
        self._keepalive_seconds = keepalive_seconds
        self._woken = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._sender: Any = None  # asyncpg.Connection, opened on the first notify
        self._sending = asyncio.Lock()
        self._asked = 0
        self._covered = 0
        self.reconnects = 0

    # ------------------------------------------------------------------ notify

    async def notify(self) -> None:
        self._woken.set()
        self._asked += 1
        mine = self._asked
        async with self._sending:
            if self._covered >= mine:
                return  # a NOTIFY that started after this call was sent meanwhile
            upto = self._asked
            try:
                await self._send()
            except _CONNECTION_LOST as error:
                log.warning("work.notify_failed", extra={"error": repr(error)})
                await self._drop_sender()
                return
            self._covered = upto

    async def _send(self) -> None:
        if self._sender is None or self._sender.is_closed():
            self._sender = await asyncpg.connect(self._dsn, timeout=_CONNECT_TIMEOUT)
        await self._sender.execute(f'NOTIFY "{self._channel}"')

    async def _drop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            with contextlib.suppress(*_CONNECTION_LOST):
                await sender.close(timeout=1)

    # ------------------------------------------------------------------ wait

    async def wait(self, seconds: float) -> bool:
        await self._listen_once_started()
        try:
            await asyncio.wait_for(self._woken.wait(), seconds)
        except TimeoutError:
            return False
        self._woken.clear()
        return True

    async def _listen_once_started(self) -> None:
        """The first wait starts the listener and gives it a moment to LISTEN, so every
        notify after that wait reaches this instance; later waits never block on it."""
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_forever(), name="work-signal-pg")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._listening.wait()), _FIRST_LISTEN_TIMEOUT)

    async def _listen_forever(self) -> None:
        failures = 0
        listened = False
        while True:
            try:
                connection = await asyncpg.connect(self._dsn, timeout=_CONNECT_TIMEOUT)
            except _CONNECTION_LOST as error:
                log.warning("work.listen_failed", extra={"error": repr(error), "failures": failures + 1})
                await asyncio.sleep(_RETRY_SECONDS[min(failures, len(_RETRY_SECONDS) - 1)])
                failures += 1
                continue
            try:
                await self._listen_on(connection, reconnected=listened or failures > 0)
            except _CONNECTION_LOST as error:
                log.warning("work.listen_lost", extra={"error": repr(error)})
                failures = 0 if self._listening.is_set() else failures + 1
                listened = listened or self._listening.is_set()
            finally:
                self._listening.clear()
                with contextlib.suppress(*_CONNECTION_LOST):
                    await connection.close(timeout=1)

    async def _listen_on(self, connection: Any, *, reconnected: bool) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(self._channel, self._on_notify)
        self._listening.set()
        if reconnected:
            self.reconnects += 1
            self._woken.set()  # notifies sent while we were away are lost: look once
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._keepalive_seconds)
            if not lost.is_set():  # a half-open connection never terminates by itself
                await connection.fetchval("SELECT 1", timeout=_KEEPALIVE_TIMEOUT)
        raise ConnectionResetError("the LISTEN connection was closed")

    def _on_notify(self, _connection: Any, pid: int, _channel: str, _payload: str) -> None:
        sender = self._sender
        if sender is not None and not sender.is_closed() and sender.get_server_pid() == pid:
            return  # our own notify: it already woke this instance's waiter directly
        self._woken.set()

    async def aclose(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        async with self._sending:
            await self._drop_sender()

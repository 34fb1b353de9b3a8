"""A loopback TCP proxy that breaks the network on demand, for infrastructure-fault tests.

    with FaultProxy("127.0.0.1", 5432) as proxy:   # listens on 127.0.0.1:proxy.port
        proxy.blackhole()   # accept and read, never forward nor answer (a partition)
        proxy.reset()       # abort every connection, old and new, with a TCP RST
        proxy.latency(200)  # forward, each chunk 200 ms late
        proxy.reset_after(3)  # forward 3 more chunks to the target, then reset (mid-conversation)
        proxy.pass_through()

It runs its own event loop in a daemon thread, so clients in any loop (a TestClient's
portal, an asyncpg pool, `asyncio.run`) or in plain threads can go through it, and mode
switches from the test thread take effect before the call returns. Bounded: at most
`max_connections` at once, and it stops itself after `max_lifetime` seconds if nobody did.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self, TypeVar

T = TypeVar("T")
CHUNK = 64 * 1024
SWITCH_TIMEOUT = 5.0
CUT_SETTLE_SECONDS = 0.02


class Mode(StrEnum):
    PASS = "pass"
    LATENCY = "latency"
    RESET = "reset"
    BLACKHOLE = "blackhole"


@dataclass(eq=False)
class _Link:
    """One client connection and, unless black-holed from the start, its upstream."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    dropped: bool = False  # bytes were swallowed: the stream is corrupt from here on

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _rst(writer)
        for task in self.tasks:
            task.cancel()

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.close()


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close so the peer sees a reset, not a clean FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, *, max_connections: int = 64,
                 max_lifetime: float = 300.0) -> None:
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.max_lifetime = max_lifetime
        self.mode = Mode.PASS
        self.delay = 0.0
        self.accepted = 0  # connections accepted so far (tests read it)
        self.forwarded = 0  # chunks passed on to the target so far
        self._cut_after: int | None = None
        self._cutting = False
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"fault-proxy->{target_port}", daemon=True)
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    # ------------------------------------------------------------ life cycle

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(SWITCH_TIMEOUT) or self._server is None:
            raise RuntimeError("the fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive() and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(SWITCH_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def cut_pending(self) -> bool:
        """A `reset_after` that has not cut every connection yet."""
        return self._cut_after is not None or self._cutting

    # ------------------------------------------------------------ modes

    def pass_through(self) -> None:
        self._switch(Mode.PASS)

    def latency(self, ms: float) -> None:
        self.delay = ms / 1000
        self._switch(Mode.LATENCY)

    def reset(self) -> None:
        self._switch(Mode.RESET)
        self.close_all()

    def blackhole(self) -> None:
        self._switch(Mode.BLACKHOLE)

    def reset_after(self, chunks: int) -> None:
        """Forward `chunks` more chunks to the target, then answer nothing more and reset as
        `reset()` does, a moment later: the target may act on the last one (a COMMIT, say)
        but its answer never arrives. Until then the mode is pass."""
        if chunks < 1:
            raise ValueError("reset_after needs at least one chunk to pass")
        self._switch(Mode.PASS)
        self._cut_after = chunks

    def close_all(self) -> None:
        """Abort every current connection (RST); new ones are served as the mode says."""
        self._call(self._abort(lambda link: True))

    def _switch(self, mode: Mode) -> None:
        deadline = time.monotonic() + SWITCH_TIMEOUT
        while self._cutting and time.monotonic() < deadline:  # a cut under way ends first
            time.sleep(0.005)
        leaving_blackhole = self.mode is Mode.BLACKHOLE and mode is not Mode.BLACKHOLE
        self._cut_after = None
        self.mode = mode
        if leaving_blackhole:  # their streams lost bytes: no client could make sense of them
            self._call(self._abort(lambda link: link.dropped))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if not self._thread.is_alive():
            coroutine.close()
            raise RuntimeError("the fault proxy is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(SWITCH_TIMEOUT)

    async def _abort(self, which: Callable[[_Link], bool]) -> None:
        for link in [link for link in self._links if which(link)]:
            link.abort()
            self._links.discard(link)

    # ------------------------------------------------------------ the loop

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.max_lifetime)
        finally:
            self._server.close()
            await self._abort(lambda link: True)
            await self._server.wait_closed()
            handlers = asyncio.all_tasks() - {asyncio.current_task()}
            if handlers:
                await asyncio.wait(handlers, timeout=SWITCH_TIMEOUT)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode is Mode.RESET or len(self._links) >= self.max_connections:
            _rst(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            if self.mode is Mode.BLACKHOLE:
                link.dropped = True
                await self._swallow(reader)
                return
            try:
                upstream_reader, link.upstream = await asyncio.wait_for(
                    asyncio.open_connection(*self.target), SWITCH_TIMEOUT)
            except (OSError, TimeoutError):  # the target is down: so is the proxy, to the client
                self._links.discard(link)
                link.abort()
                return
            link.tasks = [asyncio.create_task(self._pump(reader, link.upstream, link, outbound=True)),
                          asyncio.create_task(self._pump(upstream_reader, writer, link, outbound=False))]
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            if link in self._links:  # not aborted by a mode switch: end it the ordinary way
                self._links.discard(link)
                link.close()

    async def _count_down(self) -> None:
        if self._cut_after is None:
            return
        self._cut_after -= 1
        if self._cut_after > 0:
            return
        self._cutting = True
        self._cut_after = None
        self.mode = Mode.RESET  # from here on nothing passes, either way
        try:
            await asyncio.sleep(CUT_SETTLE_SECONDS)  # let the target read (and act on) the last chunk
            await self._abort(lambda link: True)
        finally:
            self._cutting = False

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(CHUNK):
                pass

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, *,
                    outbound: bool) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                if self.mode in (Mode.BLACKHOLE, Mode.RESET):
                    link.dropped = True
                    continue
                if self.mode is Mode.LATENCY:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
                if outbound:
                    self.forwarded += 1
                    await self._count_down()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            link.abort()

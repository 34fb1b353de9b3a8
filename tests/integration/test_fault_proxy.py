"""The fault proxy itself, in front of a threaded echo server, with plain blocking sockets."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.fault_proxy import FaultProxy

PATIENCE = 0.3  # how long a test waits for an answer that must not come


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[0], server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: tuple[str, int]) -> Iterator[FaultProxy]:
    with FaultProxy(*echo) as proxy:
        yield proxy


def connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def roundtrip(sock: socket.socket, payload: bytes = b"ping") -> bytes:
    sock.sendall(payload)
    return sock.recv(4096)


def test_pass_forwards_both_ways(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        assert roundtrip(sock, b"hello") == b"hello"
        assert roundtrip(sock, b"again") == b"again"


def test_latency_delays_every_chunk(proxy: FaultProxy) -> None:
    proxy.latency(150)
    with connect(proxy) as sock:
        started = time.monotonic()
        assert roundtrip(sock) == b"ping"
        assert time.monotonic() - started >= 0.3  # there and back again
    proxy.pass_through()
    with connect(proxy) as sock:
        started = time.monotonic()
        assert roundtrip(sock) == b"ping"
        assert time.monotonic() - started < 0.15


def test_reset_aborts_open_connections_and_refuses_new_ones(proxy: FaultProxy) -> None:
    with connect(proxy) as open_before:
        assert roundtrip(open_before) == b"ping"
        proxy.reset()
        with pytest.raises(ConnectionResetError):
            roundtrip(open_before)
    with pytest.raises(ConnectionResetError), connect(proxy) as sock:
        roundtrip(sock)
    proxy.pass_through()
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"


def test_blackhole_accepts_and_swallows_then_drops_the_corrupt_streams(proxy: FaultProxy) -> None:
    with connect(proxy) as open_before:
        assert roundtrip(open_before) == b"ping"
        proxy.blackhole()
        with connect(proxy) as fresh:
            for sock in (open_before, fresh):
                sock.settimeout(PATIENCE)
                with pytest.raises(TimeoutError):
                    roundtrip(sock)
            proxy.pass_through()
            # bytes were lost on both: they are cut rather than resumed mid-stream
            for sock in (open_before, fresh):
                with pytest.raises(ConnectionResetError):
                    roundtrip(sock)
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"


def test_close_all_drops_current_connections_only(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"
        proxy.close_all()
        with pytest.raises(ConnectionResetError):
            roundtrip(sock)
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"
    assert proxy.accepted == 2


def test_a_dead_target_resets_the_client() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_port = unused.getsockname()[1]
    with FaultProxy("127.0.0.1", dead_port) as proxy, pytest.raises(ConnectionResetError), \
            connect(proxy) as sock:
        roundtrip(sock)


def test_stop_closes_the_listener_and_is_bounded(echo: tuple[str, int]) -> None:
    proxy = FaultProxy(*echo, max_lifetime=0.2).start()
    port = proxy.port
    proxy._thread.join(2)  # stops by itself once its lifetime is over
    assert not proxy._thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    proxy.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError):
        proxy.close_all()


def test_max_connections_refuses_the_extra_ones(echo: tuple[str, int]) -> None:
    with FaultProxy(*echo, max_connections=1) as proxy, connect(proxy) as first:
        assert roundtrip(first) == b"ping"
        with pytest.raises(ConnectionResetError), connect(proxy) as extra:
            roundtrip(extra)


def test_reset_after_cuts_the_conversation_after_that_many_chunks(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        proxy.reset_after(2)
        assert roundtrip(sock, b"one") == b"one"
        with pytest.raises(ConnectionResetError):  # "two" reached the target; its echo did not come back
            roundtrip(sock, b"two")
    assert proxy.forwarded == 2
    with pytest.raises(ConnectionResetError), connect(proxy) as sock:  # and it stays reset
        roundtrip(sock)
    proxy.pass_through()
    with connect(proxy) as sock:
        assert roundtrip(sock) == b"ping"

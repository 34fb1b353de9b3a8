"""SSRF corpus for output downloads: SafeDownloader.check/stream with a fake resolver and a
recording transport, and PinnedBackend (the connection goes to the checked address)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpcore
import httpx
import pytest

from adapters.providers.httpio import PinnedTransport, SafeDownloader, ip_literal
from domain.ports import OutputUnavailable

PUBLIC = "93.184.216.34"
PUBLIC6 = "2606:2800:220:1:248:1893:25c8:1946"
BODY = b"the output"

# Every spelling of a non-public address, as a URL host (the resolver is never asked).
REFUSED_LITERALS = {
    "loopback": "127.0.0.1", "loopback elsewhere": "127.8.9.10", "short loopback": "127.1",
    "hex loopback": "0x7f000001", "dotted hex": "0x7f.0.0.1", "decimal loopback": "2130706433",
    "octal loopback": "0177.0.0.1", "ipv6 loopback": "[::1]", "ten": "10.0.0.1", "ten short": "10.1",
    "172.16/12": "172.16.0.1", "172.31": "172.31.255.255", "192.168/16": "192.168.1.1",
    "unique local": "[fc00::1]", "unique local fd": "[fd12:3456::1]", "metadata": "169.254.169.254",
    "link-local v6": "[fe80::1]", "link-local v6 with zone": "[fe80::1%25eth0]", "multicast": "224.0.0.1",
    "multicast v6": "[ff02::1]", "mapped loopback": "[::ffff:127.0.0.1]", "mapped ten": "[::ffff:10.0.0.1]",
    "mapped hex": "[::ffff:7f00:1]", "nat64 ten": "[64:ff9b::a00:1]", "nat64 loopback": "[64:ff9b::7f00:1]",
    "6to4 ten": "[2002:0a00:0001::]", "6to4 loopback": "[2002:7f00:1::1]",
    "teredo": "[2001:0:4136:e378:8000:63bf:3fff:fdd2]", "unspecified": "0.0.0.0", "zero": "0",
    "unspecified v6": "[::]", "broadcast": "255.255.255.255", "shared 100.64/10": "100.64.0.1",
    "shared top": "100.127.255.254", "this network": "0.1.2.3", "benchmarking": "198.18.0.1",
    "documentation": "192.0.2.1", "documentation v6": "[2001:db8::1]", "reserved": "240.0.0.1",
}
# What a name may resolve to, each of which makes the whole name refused.
REFUSED_ADDRESSES = ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.10", "fc00::1", "169.254.169.254",
                     "fe80::1", "fe80::1%eth0", "224.0.0.251", "ff05::2", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                     "64:ff9b::a00:1", "2002:a00:1::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "0.0.0.0",
                     "::", "255.255.255.255", "100.64.0.1", "::1", "not-an-address"]


class FakeDns:
    """host -> addresses; unknown names fail to resolve. Records every question."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = {"cdn.example": [PUBLIC], "cdn6.example": [PUBLIC6], **(answers or {})}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"no such host {host}")
        return self.answers[host]


class Origin:
    """The far end of a MockTransport: records every request it is sent."""

    def __init__(self, redirects: dict[str, str] | None = None) -> None:
        self.redirects = redirects or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        target = self.redirects.get(str(request.url))
        if target is not None:
            return httpx.Response(302, headers={"location": target})
        return httpx.Response(200, content=BODY)

    @property
    def hosts(self) -> list[str]:
        return [request.url.host for request in self.requests]


def downloader(dns: FakeDns, origin: Origin, **options: Any) -> SafeDownloader:
    return SafeDownloader(httpx.AsyncClient(transport=httpx.MockTransport(origin)), max_bytes=1000,
                          resolver=dns, **options)


async def fetch(safe: SafeDownloader, url: str) -> bytes:
    return b"".join([chunk async for chunk in safe.stream(url)])


def refused(action: Callable[[], Coroutine[Any, Any, object]]) -> str:
    with pytest.raises(OutputUnavailable) as caught:
        asyncio.run(action())
    return str(caught.value)


# ---------------------------------------------------------------- addresses in the URL


@pytest.mark.parametrize("host", list(REFUSED_LITERALS.values()), ids=list(REFUSED_LITERALS))
def test_a_non_public_address_in_the_url_is_refused_before_connecting(host: str) -> None:
    dns, origin = FakeDns(), Origin()
    lying = FakeDns({host: [PUBLIC]})  # were the literal sent to DNS, this would let it through
    safe = downloader(lying, origin)
    refused(lambda: safe.check(f"https://{host}/out.png"))
    refused(lambda: fetch(safe, f"https://{host}/out.png"))
    assert origin.requests == [] and lying.asked == [] and dns.asked == []


@pytest.mark.parametrize(("host", "address"), [
    ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("10.1", "10.0.0.1"), ("[::1]", "::1"), ("::FFFF:7f00:1", "::ffff:7f00:1"), ("93.184.216.34", PUBLIC),
    ("cdn.example", None), ("1.2.3.4.example", None), ("0x7g", None), ("", None), ("127.0.0.1 x", None),
])
def test_ip_literals_are_read_as_the_system_resolver_reads_them(host: str, address: str | None) -> None:
    assert ip_literal(host) == address


def test_public_literals_and_names_are_fetched() -> None:
    dns, origin = FakeDns(), Origin()
    safe = downloader(dns, origin)
    for url in (f"https://{PUBLIC}/a.png", f"https://[{PUBLIC6}]/b.png", "https://cdn.example/c.png",
                "https://cdn6.example:8443/d.png"):
        assert asyncio.run(fetch(safe, url)) == BODY
    assert origin.hosts == [PUBLIC, PUBLIC6, "cdn.example", "cdn6.example"]
    assert dns.asked == ["cdn.example", "cdn6.example"]  # literals never go to DNS


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    dns, origin = FakeDns({"evil.example": [address]}), Origin()
    message = refused(lambda: fetch(downloader(dns, origin), "https://evil.example/out.png"))
    assert "evil.example" in message and origin.requests == []


@pytest.mark.parametrize("private", ["10.0.0.1", "127.0.0.1", "::1", "169.254.169.254"])
def test_one_private_address_among_public_ones_refuses_the_name(private: str) -> None:
    for answer in ([PUBLIC, private], [private, PUBLIC], [PUBLIC6, PUBLIC, private]):
        dns, origin = FakeDns({"mixed.example": answer}), Origin()
        refused(lambda: fetch(downloader(dns, origin), "https://mixed.example/out.png"))  # noqa: B023
        assert origin.requests == []


@pytest.mark.parametrize("answers", [{"localhost": ["127.0.0.1", "::1"]}, {"empty.example": []}, {}])
def test_localhost_no_address_and_unresolvable_names_are_refused(answers: dict[str, list[str]]) -> None:
    origin = Origin()
    for host in ("localhost", "empty.example", "nowhere.example"):
        refused(lambda: fetch(downloader(FakeDns(answers), origin), f"https://{host}/x"))  # noqa: B023
    assert origin.requests == []


# ---------------------------------------------------------------- schemes, userinfo, malformed URLs


@pytest.mark.parametrize("url", [
    "http://cdn.example/out.png", "ftp://cdn.example/out.png", "file:///etc/passwd", "file://cdn.example/etc/passwd",
    "gopher://cdn.example:70/_GET", "data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)",
    "dict://cdn.example:11211/stat", "ws://cdn.example/", "HTTP://cdn.example/", "//cdn.example/out.png",
    "cdn.example/out.png", "", "https:///out.png", "https://cdn.example:99999/out.png",
    "https://cdn.example:port/out.png", "https://user:secret@cdn.example/out.png", "https://user@cdn.example/out.png",
    "https://:@cdn.example/out.png", "https://cdn.example@10.0.0.1/out.png", "https://cdn.example%40evil/x",
])
def test_only_plain_https_urls_are_fetched(url: str) -> None:
    dns, origin = FakeDns(), Origin()
    refused(lambda: fetch(downloader(dns, origin), url))
    assert origin.requests == []


def test_allow_http_lets_plain_http_through_but_nothing_else() -> None:
    dns, origin = FakeDns(), Origin()
    safe = downloader(dns, origin, allow_http=True)
    assert asyncio.run(fetch(safe, "http://cdn.example/out.png")) == BODY
    refused(lambda: fetch(safe, "ftp://cdn.example/out.png"))
    refused(lambda: fetch(safe, "http://127.0.0.1/out.png"))
    assert origin.hosts == ["cdn.example"]


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("target", [
    "https://10.0.0.1/internal", "https://127.1/", "https://[::1]/", "https://169.254.169.254/latest/meta-data/",
    "https://internal.example/secret", "http://cdn.example/downgraded", "file:///etc/passwd",
    "https://user:pw@cdn.example/x", "//10.0.0.1/protocol-relative", "https://rebound.example/",
])
def test_a_redirect_to_a_refused_url_is_refused_before_following_it(target: str) -> None:
    dns = FakeDns({"internal.example": ["192.168.0.5"], "rebound.example": [PUBLIC, "10.9.8.7"]})
    origin = Origin({"https://cdn.example/out.png": target})
    refused(lambda: fetch(downloader(dns, origin), "https://cdn.example/out.png"))
    assert [str(r.url) for r in origin.requests] == ["https://cdn.example/out.png"]


def test_redirect_chains_are_checked_at_every_hop_and_bounded() -> None:
    dns = FakeDns({"a.example": [PUBLIC], "b.example": [PUBLIC], "c.example": ["10.0.0.1"]})
    origin = Origin({"https://a.example/1": "https://b.example/2", "https://b.example/2": "https://c.example/3"})
    refused(lambda: fetch(downloader(dns, origin), "https://a.example/1"))
    assert origin.hosts == ["a.example", "b.example"]
    loop = Origin({"https://a.example/x": "https://a.example/x"})
    assert "too many redirects" in refused(lambda: fetch(downloader(dns, loop), "https://a.example/x"))
    assert len(loop.requests) == 4  # MAX_REDIRECTS + 1


# ---------------------------------------------------------------- the connection is pinned


class RecordingBackend(httpcore.AsyncMockBackend):
    """Where connections were opened and with which TLS server name, answering 200."""

    def __init__(self) -> None:
        super().__init__([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", BODY])
        self.connected: list[tuple[str, int]] = []
        self.server_names: list[str | None] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return RecordingStream(list(self._buffer), self)


class RecordingStream(httpcore.AsyncMockStream):
    def __init__(self, buffer: list[bytes], backend: RecordingBackend) -> None:
        super().__init__(buffer)
        self._backend = backend

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:  # noqa: ASYNC109
        self._backend.server_names.append(server_hostname)
        return self


def pinned(dns: FakeDns, inner: RecordingBackend, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=PinnedTransport(dns, inner=inner, **options))


def test_the_connection_goes_to_the_checked_address_and_tls_names_the_host() -> None:
    dns, inner = FakeDns(), RecordingBackend()

    async def go() -> bytes:
        async with pinned(dns, inner) as client:
            return await fetch(SafeDownloader(client, max_bytes=100, resolver=dns), "https://cdn.example/out.png")

    assert asyncio.run(go()) == BODY
    assert inner.connected == [(PUBLIC, 443)]  # an address, never the name: nothing resolves it again
    assert inner.server_names == ["cdn.example"]  # SNI and certificate checks still use the name


def test_dns_rebinding_between_the_check_and_the_connect_is_refused() -> None:
    class Rebinding(FakeDns):
        async def __call__(self, host: str, port: int) -> list[str]:
            self.asked.append(host)
            return [PUBLIC] if len(self.asked) == 1 else ["127.0.0.1"]  # public for the check only

    dns, inner = Rebinding(), RecordingBackend()

    async def go() -> bytes:
        async with pinned(dns, inner) as client:
            return await fetch(SafeDownloader(client, max_bytes=100, resolver=dns), "https://rebind.example/x")

    assert "non-public" in refused(go)
    assert dns.asked == ["rebind.example", "rebind.example"] and inner.connected == []


@pytest.mark.parametrize("answer", [["10.0.0.1"], [PUBLIC, "::1"], []])
def test_the_pinned_transport_refuses_on_its_own(answer: list[str]) -> None:
    dns, inner = FakeDns({"evil.example": answer}), RecordingBackend()

    async def go() -> None:
        async with pinned(dns, inner) as client:
            await client.get("https://evil.example/x")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(go())
    assert inner.connected == []


def test_allow_private_is_for_local_fakes_and_still_pins() -> None:
    dns, inner = FakeDns({"fake.local": ["127.0.0.1"]}), RecordingBackend()

    async def go() -> int:
        async with pinned(dns, inner, allow_private=True) as client:
            return (await client.get("http://fake.local:8080/x")).status_code

    assert asyncio.run(go()) == 200 and inner.connected == [("127.0.0.1", 8080)]


def test_a_real_connection_reaches_only_the_pinned_address() -> None:
    """Over real sockets: `pinned.invalid` exists only in the fake DNS, so the request can
    only have arrived through the address it gave; the Host header keeps the name."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n" + BODY)
        await writer.drain()
        writer.close()

    async def go() -> bytes:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dns = FakeDns({"pinned.invalid": ["127.0.0.1"]})
        try:
            async with httpx.AsyncClient(transport=PinnedTransport(dns, allow_private=True)) as client:
                safe = SafeDownloader(client, max_bytes=100, resolver=dns, allow_private=True, allow_http=True)
                return await fetch(safe, f"http://pinned.invalid:{port}/x")
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(go()) == BODY
    assert b"host: pinned.invalid:" in seen[0].lower()


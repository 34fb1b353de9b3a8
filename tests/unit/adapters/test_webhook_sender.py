"""The outbound webhook sender over real sockets: pinned to checked addresses, no redirects
followed, answers capped, short timeouts, never raising for a target it cannot reach."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from adapters.webhooks.sender import HttpWebhookSender, webhook_client
from domain.outbound import SendResult
from tests.unit.adapters.test_ssrf import FakeDns

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answering(status_line: bytes, extra: bytes = b"", body: bytes = b"") -> Answer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 " + status_line + b"\r\n" + extra + b"Content-Length: " + str(len(body)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    return handle


async def send_to(handle: Answer, *, allow_private: bool = True, host: str = "hooks.invalid",
                  client_timeout: float | None = None) -> tuple[SendResult, int]:
    """Send one delivery to a local server reached as `host`; the answer and how many
    requests the server saw."""
    seen = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal seen
        seen += 1
        await handle(reader, writer)

    server = await asyncio.start_server(counting, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    dns = FakeDns({host: ["127.0.0.1"]})
    options = {"timeout": client_timeout} if client_timeout else {}
    try:
        async with webhook_client(allow_private=allow_private, resolver=dns, **options) as client:
            sender = HttpWebhookSender(client, allow_private=allow_private)
            scheme = "http" if allow_private else "https"
            result = await sender.send(f"{scheme}://{host}:{port}/in", {"webhook-id": "msg_1"}, b"{}")
    finally:
        server.close()
        await server.wait_closed()
    return result, seen


def test_a_2xx_is_a_success_with_its_duration() -> None:
    result, seen = asyncio.run(send_to(answering(b"204 No Content")))
    assert result.ok and result.status_code == 204 and result.error is None and seen == 1


def test_a_name_resolving_to_a_private_address_is_refused_before_anything_is_sent() -> None:
    result, seen = asyncio.run(send_to(answering(b"200 OK"), allow_private=False))
    assert not result.ok and result.status_code is None and "non-public" in (result.error or "")
    assert seen == 0


@pytest.mark.parametrize("url", ["http://hooks.example.com/x", "https://localhost/x", "https://10.1.2.3/x",
                                 "https://u:p@hooks.example.com/x", "ftp://hooks.example.com/x"])
def test_urls_refused_on_sight_are_never_connected(url: str) -> None:
    async def go() -> SendResult:
        async with webhook_client(resolver=FakeDns()) as client:
            return await HttpWebhookSender(client).send(url, {}, b"{}")

    result = asyncio.run(go())
    assert result.status_code is None and (result.error or "").startswith("refused:")


def test_a_name_the_resolver_cannot_encode_is_a_failed_attempt() -> None:
    async def go() -> SendResult:
        async with webhook_client() as client:  # the system resolver: it refuses labels over 63 characters
            return await HttpWebhookSender(client).send(f"https://{'a' * 64}.example.com/x", {}, b"{}")

    result = asyncio.run(go())
    assert result.status_code is None and "resolve" in (result.error or "")


def test_redirects_are_not_followed() -> None:
    result, seen = asyncio.run(send_to(answering(b"302 Found", b"Location: http://169.254.169.254/latest\r\n")))
    assert not result.ok and result.status_code == 302 and result.error == "redirects are not followed"
    assert seen == 1


def test_a_huge_answer_is_not_read_whole() -> None:
    result, _ = asyncio.run(send_to(answering(b"500 Internal Server Error", body=b"x" * 5_000_000)))
    assert result.status_code == 500 and not result.ok


def test_a_receiver_that_never_answers_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    result, _ = asyncio.run(send_to(silent, client_timeout=0.3))
    assert result.status_code is None and result.error == "timed out"

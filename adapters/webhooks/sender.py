"""POST deliveries to their targets, guarded like provider output downloads.

Every attempt checks the URL again (https, a plain host) and connects only to addresses
PinnedBackend has just checked (all public, unless private targets are allowed), so a name
that turns private later (DNS rebinding) is refused. Redirects are not followed (a 3xx is a
failed attempt), timeouts are short, and at most a few KiB of an answer are read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from adapters.providers.httpio import pinned_client
from domain.outbound import SendResult, check_target

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ANSWER_BYTES = 4096
USER_AGENT = "pixrelay-webhooks"


def webhook_client(*, allow_private: bool = False, **kwargs: Any) -> httpx.AsyncClient:
    return pinned_client(allow_private=allow_private, **{"timeout": TIMEOUT, "headers": {"User-Agent": USER_AGENT},
                                                         **kwargs})


class HttpWebhookSender:
    def __init__(self, client: httpx.AsyncClient, *, allow_private: bool = False) -> None:
        self._client = client
        self._allow_private = allow_private

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        refused = check_target(url, self._allow_private)
        if refused:
            return SendResult(error=f"refused: {refused}")
        started = time.monotonic()
        try:
            async with self._client.stream("POST", url, headers=dict(headers), content=body,
                                           follow_redirects=False) as response:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= MAX_ANSWER_BYTES:
                        break  # the status is all we need; never hold a large answer
                status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
            return SendResult(error=_describe(error), duration_ms=_ms(started))
        except ValueError as error:  # a name the resolver cannot even encode (a label over 63 characters)
            return SendResult(error=f"cannot resolve the host: {error}"[:500], duration_ms=_ms(started))
        if 300 <= status < 400:
            return SendResult(status_code=status, error="redirects are not followed", duration_ms=_ms(started))
        return SendResult(status_code=status, duration_ms=_ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return (f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)[:500]

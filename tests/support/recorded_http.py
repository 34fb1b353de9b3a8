"""Recorded provider answers replayed through httpx.MockTransport: the one way every provider
adapter's tests (and the SDK conformance tests) feed it answers, since every adapter talks
through the same injected httpx client (adapters/providers/api_client.py).

A fixture file is `{"doc": ..., "status": 200, "headers": {...}, "body": <JSON>}` (`"json"` is
read the same way), or `"text"` instead for answers that are not JSON. `Replay` answers by
route (method and a regex on the URL); `InOrder` answers each request with the next answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.providers.httpio import SafeDownloader

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
PUBLIC_IP = "93.184.216.34"
PRIVATE_IP = "10.0.0.7"


def fixture_json(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / provider / f"{name}.json").read_text())
    return loaded


def fixture_body(provider: str, name: str) -> Any:
    """The recorded JSON body."""
    data = fixture_json(provider, name)
    return data["json"] if "json" in data else data["body"]


def recorded(provider: str, name: str, **json_overrides: Any) -> httpx.Response:
    """The recorded answer; top-level JSON keys can be replaced for one test."""
    data = fixture_json(provider, name)
    headers = dict(data.get("headers", {}))
    if "body" in data or "json" in data:
        body = fixture_body(provider, name)
        content = json.dumps(body | json_overrides if json_overrides else body).encode()
        headers.setdefault("content-type", "application/json")
    else:
        content = str(data.get("text", "")).encode()
    return httpx.Response(data["status"], headers=headers, content=content)


Handler = Callable[[httpx.Request], httpx.Response]
Answer = httpx.Response | Handler


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@dataclass
class Replay:
    """A MockTransport handler: the next queued answer of the first matching route (the last
    answer repeats), and every request it saw."""

    routes: list[tuple[str, re.Pattern[str], list[Answer]]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, url_pattern: str, *answers: Answer) -> Replay:
        self.routes.append((method, re.compile(url_pattern), list(answers)))
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, pattern, answers in self.routes:
            if request.method == method and pattern.search(str(request.url)):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                return answer(request) if callable(answer) else answer
        return httpx.Response(599, text=f"no recorded answer for {request.method} {request.url}")

    def client(self) -> httpx.AsyncClient:
        return client(self)

    def sent(self, method: str, url_pattern: str) -> list[httpx.Request]:
        pattern = re.compile(url_pattern)
        return [r for r in self.requests if r.method == method and pattern.search(str(r.url))]


class InOrder:
    """A MockTransport handler answering each request with the next answer in line (an
    unexpected request fails the test), keeping the requests it saw."""

    def __init__(self, *answers: Answer) -> None:
        self._answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self._answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self._answers.pop(0)
        return answer if isinstance(answer, httpx.Response) else answer(request)

    def client(self) -> httpx.AsyncClient:
        return client(self)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def resolver(addresses: dict[str, str]) -> Callable[[str, int], Any]:
    """A fake DNS: the given host -> address map, a public address for any other host."""

    async def resolve(host: str, port: int) -> list[str]:
        return [addresses.get(host, PUBLIC_IP)]

    return resolve


def downloader(http: httpx.AsyncClient, private_hosts: tuple[str, ...] = (),
               max_bytes: int = 10 * 1024 * 1024, *, private: bool = False) -> SafeDownloader:
    """A SafeDownloader on a fake DNS: `private_hosts` (or, with `private`, every host) resolve
    to a private address."""
    if private:
        return SafeDownloader(http, max_bytes=max_bytes, resolver=_private)
    return SafeDownloader(http, max_bytes=max_bytes, resolver=resolver(dict.fromkeys(private_hosts, PRIVATE_IP)))


async def _private(host: str, port: int) -> list[str]:
    return [PRIVATE_IP]

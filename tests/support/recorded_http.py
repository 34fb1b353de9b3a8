"""Recorded provider answers replayed through httpx.MockTransport.

A fixture file is `{"status": 200, "headers": {...}, "body": <JSON>}`, or `"text"` instead of
`"body"` for answers that are not JSON. Routes are matched by method and a regex on the URL.
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


def recorded(provider: str, name: str) -> httpx.Response:
    data = fixture_json(provider, name)
    headers = dict(data.get("headers", {}))
    if "body" in data:
        content = json.dumps(data["body"]).encode()
        headers.setdefault("content-type", "application/json")
    else:
        content = str(data.get("text", "")).encode()
    return httpx.Response(data["status"], headers=headers, content=content)


Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


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
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def sent(self, method: str, url_pattern: str) -> list[httpx.Request]:
        pattern = re.compile(url_pattern)
        return [r for r in self.requests if r.method == method and pattern.search(str(r.url))]


def resolver(addresses: dict[str, str]) -> Callable[[str, int], Any]:
    """A fake DNS: the given host -> address map, a public address for any other host."""

    async def resolve(host: str, port: int) -> list[str]:
        return [addresses.get(host, PUBLIC_IP)]

    return resolve


def downloader(client: httpx.AsyncClient, private_hosts: tuple[str, ...] = (),
               max_bytes: int = 10 * 1024 * 1024) -> SafeDownloader:
    return SafeDownloader(client, max_bytes=max_bytes,
                          resolver=resolver(dict.fromkeys(private_hosts, PRIVATE_IP)))

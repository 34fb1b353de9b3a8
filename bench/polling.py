"""7. Polling cost: client CPU per provider status poll through pixrelay's provider client
(Replicate adapter on the shared httpx client) against a local endpoint, beside a bare aiohttp
loop and a bare httpx loop hitting the same endpoint."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from bench.common import Results, Row, running, sized, temp_dir

CONCURRENCY = 8


async def cpu_per_call(call: Callable[[int], Awaitable[object]], count: int) -> float:
    """Client-process CPU microseconds per call, `CONCURRENCY` calls in flight."""
    import asyncio

    for i in range(50):
        await call(i)  # warm up connections and caches
    began = time.process_time()
    for start in range(0, count, CONCURRENCY):
        await asyncio.gather(*(call(i) for i in range(start, min(count, start + CONCURRENCY))))
    return (time.process_time() - began) / count * 1e6


async def run(results: Results) -> None:
    from adapters.providers.httpio import SafeDownloader
    from adapters.providers.replicate import ReplicateProvider
    from domain.assets import UploadLimits
    from entrypoints.providers import http_client

    count = sized(200, 5000)
    with temp_dir() as tmp:
        async with running(["-m", "bench.bare_server"], {}, tmp) as server:
            base = f"{server.url}/v1"
            async with http_client() as client:
                provider = ReplicateProvider(client, SafeDownloader(client, max_bytes=UploadLimits().largest),
                                             clock=lambda: None, base_url=base)  # type: ignore[arg-type, return-value]

                async def mine(i: int) -> object:
                    return (await provider.status("r8_key", f"p{i}")).unwrap()
                ours = await cpu_per_call(mine, count)
            async with aiohttp.ClientSession() as session:
                async def bare_aiohttp(i: int) -> object:
                    async with session.get(f"{base}/predictions/p{i}",
                                           headers={"Authorization": "Bearer r8_key"}) as response:
                        return await response.json()
                aio = await cpu_per_call(bare_aiohttp, count)
            async with httpx.AsyncClient() as bare_client:
                async def bare_httpx(i: int) -> object:
                    response = await bare_client.get(f"{base}/predictions/p{i}",
                                                     headers={"Authorization": "Bearer r8_key"})
                    return response.json()
                hx = await cpu_per_call(bare_httpx, count)
    results.add(
        Row("7 status poll", "client CPU us/poll", ours, aio, "bare aiohttp loop", "<= 2x aiohttp",
            ours <= 2 * aio, higher_is_better=False),
        Row("7 status poll", "client CPU us/poll vs httpx", ours, hx, "bare httpx loop", "",
            higher_is_better=False),
    )

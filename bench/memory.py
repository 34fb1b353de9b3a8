"""6. Memory: a 500 MB upload through the API, and a 500 MB provider output downloaded the way
the worker does (provider client -> SafeDownloader -> fetch_outputs -> local blob store):
peak RSS growth of the process doing it, beside a bare streaming endpoint / bare httpx stream."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import sys
import time
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web

from bench.api import token
from bench.common import Process, Results, Row, fresh_database, pixrelay_env, running, sized, temp_dir

CHUNK = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        out.write(MP4_HEAD)
        left = size - len(MP4_HEAD)
        block = os.urandom(CHUNK)
        while left > 0:
            out.write(block[:left])
            left -= CHUNK


async def peak_growth(process: Process, work: asyncio.Task[None]) -> float:
    """MB of RSS above where `process` stood before `work`, at the worst moment."""
    before = process.rss()
    peak = before
    while not work.done():
        peak = max(peak, process.rss())
        await asyncio.sleep(0.01)
    await work
    return (max(peak, process.rss()) - before) / 1e6


async def upload(url: str, path: Path, headers: dict[str, str], multipart: bool) -> None:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with path.open("rb") as handle:
            if multipart:
                form = aiohttp.FormData()
                form.add_field("file", handle, filename="big.mp4", content_type="video/mp4")
                body: object = form
            else:
                body = handle
            async with session.post(url, data=body, headers=headers) as response:
                text = await response.text()
                assert response.status in (200, 201), text[:500]


# ------------------------------------------------------------------ download child


async def download_child(kind: str, url: str, target: str) -> None:
    import httpx

    rss_before = psutil.Process().memory_info().rss
    if kind == "pixrelay":
        from adapters.blobs.disk import LocalDiskBlobStore
        from adapters.providers.httpio import SafeDownloader
        from adapters.providers.replicate import ReplicateProvider
        from application.pipeline.outputs import fetch_outputs
        from domain.assets import UploadLimits
        from domain.providers import ProviderOutput
        from entrypoints.providers import http_client

        async with http_client() as client:
            downloader = SafeDownloader(client, max_bytes=UploadLimits().largest, allow_private=True,
                                        allow_http=True)
            provider = ReplicateProvider(client, downloader, clock=lambda: None)  # type: ignore[arg-type, return-value]
            rss_before = psutil.Process().memory_info().rss
            fetched = await fetch_outputs(provider, LocalDiskBlobStore(Path(target)), (ProviderOutput(url=url),),
                                          UploadLimits().largest)
            size = fetched.unwrap()[0].blob.size
    else:
        async with httpx.AsyncClient() as client:
            rss_before = psutil.Process().memory_info().rss
            digest, size = hashlib.sha256(), 0
            with (Path(target) / "bare.bin").open("wb") as out:
                async with client.stream("GET", url) as response:
                    async for chunk in response.aiter_bytes():
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"growth_mb": (peak - rss_before) / 1e6, "size": size}), flush=True)


async def serve_blob(size: int) -> tuple[web.AppRunner, str]:
    async def blob(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4", "Content-Length": str(size)})
        await response.prepare(request)
        await response.write(MP4_HEAD)
        left, block = size - len(MP4_HEAD), os.urandom(CHUNK)
        while left > 0:
            await response.write(block[:left])
            left -= CHUNK
        return response

    app = web.Application()
    app.router.add_get("/blob.mp4", blob)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/blob.mp4"


async def download(kind: str, url: str, target: Path) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.memory", "download", kind, url, str(target),
        stdout=asyncio.subprocess.PIPE, cwd=str(Path(__file__).resolve().parent.parent))
    out, _ = await asyncio.wait_for(process.communicate(), 600)
    if process.returncode != 0:
        raise RuntimeError(f"{kind} download failed ({process.returncode})")
    return float(json.loads(out.decode().strip().splitlines()[-1])["growth_mb"])


async def run(results: Results) -> None:
    size = sized(5_000_000, 499_000_000)  # the video limit is 500 MB
    with temp_dir() as tmp:
        big = tmp / "big.mp4"
        make_file(big, size)
        uploads = tmp / "bare-uploads"
        uploads.mkdir()
        async with running(["-m", "bench.bare_server"], {"BENCH_BARE_UPLOADS": str(uploads)}, tmp) as bare:
            bare_up = await peak_growth(bare, asyncio.create_task(upload(f"{bare.url}/upload", big, {}, False)))
        async with fresh_database() as db:
            env = pixrelay_env(db, tmp / "pg")
            async with running(["-m", "entrypoints.cli", "api"], env, tmp, "/health/ready") as server:
                auth = {"Authorization": f"Bearer {await token(server.url)}"}
                began = time.perf_counter()
                mine_up = await peak_growth(server, asyncio.create_task(
                    upload(f"{server.url}/v1/assets", big, auth, True)))
                upload_seconds = time.perf_counter() - began
        big.unlink()
        runner, url = await serve_blob(size)
        try:
            (tmp / "dl-pixrelay").mkdir()
            (tmp / "dl-bare").mkdir()
            mine_down = await download("pixrelay", url, tmp / "dl-pixrelay")
            bare_down = await download("bare", url, tmp / "dl-bare")
        finally:
            await runner.cleanup()
    mb = f"{size / 1e6:.0f} MB"
    results.add(
        Row(f"6a upload {mb} via API", "peak RSS growth MB", mine_up, bare_up, "bare streaming endpoint",
            "<= 50 MB", mine_up <= 50, higher_is_better=False),
        Row(f"6b provider output {mb} download", "peak RSS growth MB", mine_down, bare_down,
            "bare httpx stream", "<= 50 MB", mine_down <= 50, higher_is_better=False),
    )
    results.notes.append(f"6: the {mb} upload took {upload_seconds:.1f} s through the API.")


if __name__ == "__main__":
    if sys.argv[1] == "download":
        asyncio.run(download_child(sys.argv[2], sys.argv[3], sys.argv[4]))

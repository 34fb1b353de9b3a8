"""CPU per request of the API process, measured in-process: the real app (create_app over
the real runtime on a fresh Postgres database) called straight through ASGI, with no HTTP
client and no socket in the same process, so the CPU counted is the server's own (Litestar,
the use case, the driver, the event loop).

    python -m bench.profile_api            # µs of CPU per request, per path
    PROFILE=post python -m bench.profile_api  # and cProfile's top functions for that path

BENCH_PROFILE_REQUESTS sets the requests per path (default 2000), BENCH_PROFILE_PATHS which
paths (post,get,me,post-key,get-key); the machine is shared, so
compare runs made one after the other, not with numbers from another day.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from bench.common import ADMIN_EMAIL, ADMIN_PASSWORD, fresh_database, temp_dir
from bench.seed import pixrelay, seed

Send = Callable[[], Awaitable[tuple[int, bytes]]]


def asgi_call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Send:
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def send_one() -> tuple[int, bytes]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": list(raw_headers), "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8000), "state": {}}
        sent = False
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return status, b"".join(chunks)

    return send_one


async def cpu_per_request(send: Send, n: int, expect: int) -> float:
    for _ in range(20):
        status, body = await send()
        assert status == expect, (status, body[:300])
    started = time.process_time()
    for _ in range(n):
        await send()
    return (time.process_time() - started) / n * 1e6


async def main() -> None:
    from entrypoints.http.app import create_app

    n = int(os.environ.get("BENCH_PROFILE_REQUESTS", "2000"))
    profile = os.environ.get("PROFILE", "")
    async with fresh_database() as url:
        with temp_dir() as tmp:
            async with pixrelay(url, tmp) as (container, _runtime, _settings):
                await seed(container)
                app = create_app(container)
                login = msgspec.json.encode({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
                status, answer = await asgi_call(app, "POST", "/v1/auth/login", {}, login)()
                assert status == 200, answer
                bearer = {"authorization": f"Bearer {msgspec.json.decode(answer)['access_token']}"}
                job = msgspec.json.encode({"provider_id": "sim", "operation_type": "text_to_image",
                                           "params": {"prompt": "bench"}})
                post = asgi_call(app, "POST", "/v1/jobs", bearer, job)
                status, created = await post()
                job_id = msgspec.json.decode(created)["id"]
                made = msgspec.json.encode({"name": "bench", "scopes": ["jobs:read", "jobs:write"]})
                status, key = await asgi_call(app, "POST", "/v1/api-keys", bearer, made)()
                assert status == 201, key
                by_key = {"authorization": f"Bearer {msgspec.json.decode(key)['key']}"}
                paths = {
                    "post": (post, 202),
                    "get": (asgi_call(app, "GET", f"/v1/jobs/{job_id}", bearer), 200),
                    "me": (asgi_call(app, "GET", "/v1/users/me", bearer), 200),
                    "post-key": (asgi_call(app, "POST", "/v1/jobs", by_key, job), 202),
                    "get-key": (asgi_call(app, "GET", f"/v1/jobs/{job_id}", by_key), 200),
                }
                only = os.environ.get("BENCH_PROFILE_PATHS", ",".join(paths)).split(",")
                for name, (send, expect) in ((n, paths[n]) for n in only):
                    if profile == name:
                        profiler = cProfile.Profile()
                        profiler.enable()
                    micros = await cpu_per_request(send, n, expect)
                    print(f"{name:10s} {micros:8.0f} µs CPU per request")
                    if profile == name:
                        profiler.disable()
                        stats = pstats.Stats(profiler)
                        by_package: dict[str, float] = {}
                        for (file, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
                            package = file.split("site-packages/")[-1].split("/")[0] if "site-packages" in file \
                                else ("pixrelay" if "/work/" in file else ("builtins" if file == "~" else "stdlib"))
                            by_package[package] = by_package.get(package, 0.0) + tottime
                        total = sum(by_package.values())
                        for package, spent in sorted(by_package.items(), key=lambda kv: -kv[1])[:14]:
                            print(f"  {package:24s} {spent / total:6.1%}")
                        stats.sort_stats("tottime").print_stats(30)
                        stats.sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    asyncio.run(main())

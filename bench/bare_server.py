"""The baseline server: bare Litestar endpoints, one statement each, on the same database.

Run as `python -m bench.bare_server` with BENCH_PORT, and BENCH_BARE_PG (an asyncpg DSN) or
BENCH_BARE_SQLITE (a file path); BENCH_BARE_UPLOADS is where POST /upload streams to.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import msgspec
import uvicorn
from litestar import Litestar, Request, get, post

CREATE_PG = "CREATE TABLE IF NOT EXISTS bare_jobs (id text PRIMARY KEY, body jsonb NOT NULL, status text NOT NULL)"
CREATE_SQLITE = "CREATE TABLE IF NOT EXISTS bare_jobs (id text PRIMARY KEY, body text NOT NULL, status text NOT NULL)"


class State:
    pool: asyncpg.Pool | None = None
    sqlite: aiosqlite.Connection | None = None


@asynccontextmanager
async def lifespan(_app: Litestar) -> AsyncIterator[None]:
    if dsn := os.environ.get("BENCH_BARE_PG"):
        State.pool = await asyncpg.create_pool(dsn, min_size=5, max_size=10)
        await State.pool.execute(CREATE_PG)
    if path := os.environ.get("BENCH_BARE_SQLITE"):
        State.sqlite = await aiosqlite.connect(path)
        await State.sqlite.execute("PRAGMA journal_mode=WAL")
        await State.sqlite.execute("PRAGMA synchronous=NORMAL")
        await State.sqlite.execute(CREATE_SQLITE)
        await State.sqlite.commit()
    yield
    if State.pool:
        await State.pool.close()
    if State.sqlite:
        await State.sqlite.close()


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@post("/jobs", status_code=202)
async def submit(data: dict[str, Any]) -> dict[str, Any]:
    job_id = uuid.uuid4().hex
    body = msgspec.json.encode(data).decode()
    if State.pool is not None:
        await State.pool.execute("INSERT INTO bare_jobs (id, body, status) VALUES ($1, $2::jsonb, 'pending')",
                                 job_id, body)
    else:
        assert State.sqlite is not None
        await State.sqlite.execute("INSERT INTO bare_jobs (id, body, status) VALUES (?, ?, 'pending')",
                                   (job_id, body))
        await State.sqlite.commit()
    return {"id": job_id, "status": "pending", **data}


@get("/jobs/{job_id:str}")
async def one(job_id: str) -> dict[str, Any]:
    assert State.pool is not None
    row = await State.pool.fetchrow("SELECT id, body, status FROM bare_jobs WHERE id = $1", job_id)
    if row is None:
        return {"id": job_id, "status": "missing"}
    return {"id": row["id"], "status": row["status"], "body": row["body"]}


@post("/upload", status_code=201, request_max_body_size=None)
async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
    target = Path(os.environ.get("BENCH_BARE_UPLOADS", ".")) / uuid.uuid4().hex
    size = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
            size += len(chunk)
    return {"size": size}


PREDICTION = {"status": "processing", "output": None, "error": None, "logs": "", "metrics": {},
              "created_at": "2025-01-01T00:00:00Z", "urls": {}}


@get("/v1/predictions/{prediction_id:str}")
async def prediction(prediction_id: str) -> dict[str, Any]:
    """What a provider status poll gets back (benchmark 7)."""
    return {"id": prediction_id, **PREDICTION}


app = Litestar([health, submit, one, upload, prediction], lifespan=[lifespan], logging_config=None)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BENCH_PORT"]), log_config=None, access_log=False)

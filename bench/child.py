"""One worker process of a benchmark: `python -m bench.child KIND JSON-ARGS`.

It prepares, prints `ready`, waits for `go` on stdin, works until `stop` (or until its own
work is done), and prints one JSON line: the CPU seconds it spent after `go` and what it did.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg


def cpu() -> float:
    """CPU seconds of this process, user and system (nanosecond clock, not 10 ms ticks)."""
    return time.process_time()


async def read_line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


def settings_for(args: dict[str, Any]) -> Any:
    from entrypoints.settings import load_settings

    optional = {"PIXRELAY_REDIS_URL": args.get("redis_url"), "PIXRELAY_POLL_SECONDS": args.get("poll_seconds")}
    return load_settings({
        "PIXRELAY_DATABASE_URL": args["database_url"], "PIXRELAY_DATA_DIR": args["data_dir"],
        "PIXRELAY_JWT_SECRET": "bench-secret-" + "x" * 40, "PIXRELAY_PROVIDERS": "sim",
        "PIXRELAY_WORKER_CONCURRENCY": str(args.get("concurrency", 8)), "PIXRELAY_LOG_LEVEL": "warning",
        **{name: str(value) for name, value in optional.items() if value is not None},
    }, dotenv=None)


# ------------------------------------------------------------------ kinds


async def pixrelay_worker(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    from entrypoints.bootstrap import build_container
    from entrypoints.runtime import open_runtime
    from entrypoints.serve import make_worker

    settings = settings_for(args)
    async with open_runtime(settings, run_migrations=False) as runtime:
        worker = make_worker(build_container(runtime.ports, runtime.policies), settings)
        await go()
        began = cpu()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await read_line()  # stop
        stop.set()
        await task
        return {"cpu": cpu() - began, "jobs": worker.jobs_run}


CLAIM = """
WITH due AS (
  SELECT id FROM jobs WHERE status = 'pending' AND run_after <= $1
  ORDER BY priority, created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE jobs SET status = 'processing', lease_token = $3, lease_expires_at = $4, started_at = $1,
  updated_at = $1, version = jobs.version + 1
FROM due WHERE jobs.id = due.id
RETURNING jobs.id, jobs.user_id, jobs.cost_estimate, jobs.hold_id, jobs.input_asset_ids, jobs.params"""
RESERVE = """
UPDATE provider_accounts SET current_jobs = current_jobs + 1, credits = credits - $2, last_used_at = $3
WHERE id = $1 AND current_jobs < max_concurrent_jobs AND credits >= $2 AND status = 'active'
RETURNING id"""
START = "UPDATE jobs SET account_id = $2, attempts = attempts + 1, version = version + 1 WHERE id = $1 AND lease_token = $3"
SUBMISSION = "INSERT INTO provider_submissions (id, job_id, account_id, attempt, submitted_at) VALUES ($1, $2, $3, 1, $4)"
ATTACH = "UPDATE jobs SET submission_id = $2, provider_job_id = $3, version = version + 1 WHERE id = $1 AND lease_token = $4"
ASSET = """
INSERT INTO assets (id, owner_id, media_type, source, mime_type, size_bytes, sha256, storage_key, created_at,
  last_accessed_at, status, provider_id, job_id)
VALUES ($1, $2, 'image', 'generated', 'image/png', $3, $4, $5, $6, $6, 'stored', 'sim', $7)"""
EDGE = """
INSERT INTO lineage_edges (parent_id, child_id, relation, operation_type, job_id, input_index)
VALUES ($1, $2, 'input', 'image_to_image', $3, 0) ON CONFLICT DO NOTHING"""
COMPLETE = """
UPDATE jobs SET status = 'completed', result_asset_ids = $2, completed_at = $3, lease_token = NULL,
  version = version + 1 WHERE id = $1 AND lease_token = $4"""
RELEASE = "UPDATE provider_accounts SET current_jobs = current_jobs - 1, success_count = success_count + 1 WHERE id = $1"
SETTLE = "UPDATE credit_holds SET status = 'captured', captured = amount, settled_at = $2 WHERE id = $1 AND status = 'open'"
BALANCE = "UPDATE credit_balances SET held = held - $2 WHERE user_id = $1"
LEDGER = "INSERT INTO ledger_transactions (id, kind, user_id, created_at, hold_id, job_id) VALUES ($1, 'capture', $2, $3, $4, $5)"
POSTINGS = "INSERT INTO ledger_postings (tx_id, position, account, amount) VALUES ($1, 0, $2, $3), ($1, 1, 'revenue', $4)"
USAGE = """
INSERT INTO daily_usage (user_id, day, jobs_created, jobs_completed, assets_created, credits_spent, bytes_stored)
VALUES ($1, $2, 0, 1, 1, $3, $4) ON CONFLICT (user_id, day) DO UPDATE SET
  jobs_completed = daily_usage.jobs_completed + 1, assets_created = daily_usage.assets_created + 1,
  credits_spent = daily_usage.credits_spent + excluded.credits_spent,
  bytes_stored = daily_usage.bytes_stored + excluded.bytes_stored"""
AUDIT = "INSERT INTO audit_log (id, at, action, resource_type, resource_id, details) VALUES ($1, $2, 'job.complete', 'job', $3, $4)"


async def raw_worker(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """The floor: the pipeline's statements, by hand, on the same schema, in the same four
    transactions per job (claim in batches, reserve, submit, complete), sim output rendered
    and written to disk the same way."""
    from adapters.media import png

    concurrency = int(args.get("concurrency", 8))
    blobs = Path(args["data_dir"]) / "raw-blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    pool = await asyncpg.create_pool(args["dsn"], min_size=concurrency + 1, max_size=concurrency + 1)
    accounts = [r["id"] for r in await pool.fetch("SELECT id FROM provider_accounts WHERE provider_id = 'sim'")]
    done = 0

    async def run_job(row: asyncpg.Record, token: str) -> None:
        nonlocal done
        now = datetime.now(UTC)
        async with pool.acquire() as conn:
            account = None
            async with conn.transaction():
                for candidate in random.sample(accounts, len(accounts)):
                    account = await conn.fetchval(RESERVE, candidate, row["cost_estimate"], now)
                    if account:
                        break
                assert account is not None, "no account free"
                await conn.execute(START, row["id"], account, token)
            submission = uuid.uuid4().hex
            async with conn.transaction():
                await conn.execute(SUBMISSION, submission, row["id"], account, now)
                await conn.execute(ATTACH, row["id"], submission, "sim-" + submission, token)
            seed = json.loads(row["params"])["seed"]
            data = png(64, 64, seed)
            digest = hashlib.sha256(data).hexdigest()
            (blobs / digest).write_bytes(data)
            asset_id = uuid.uuid4().hex
            now = datetime.now(UTC)
            async with conn.transaction():
                await conn.execute(ASSET, asset_id, row["user_id"], len(data), digest, digest, now, row["id"])
                for parent in json.loads(row["input_asset_ids"]):
                    await conn.execute(EDGE, parent, asset_id, row["id"])
                await conn.execute(COMPLETE, row["id"], json.dumps([asset_id]), now, token)
                await conn.execute(RELEASE, account)
                if row["hold_id"]:
                    await conn.execute(SETTLE, row["hold_id"], now)
                    await conn.execute(BALANCE, row["user_id"], row["cost_estimate"])
                    tx = uuid.uuid4().hex
                    await conn.execute(LEDGER, tx, row["user_id"], now, row["hold_id"], row["id"])
                    await conn.execute(POSTINGS, tx, f"user:{row['user_id']}:held", -row["cost_estimate"],
                                       row["cost_estimate"])
                await conn.execute(USAGE, row["user_id"], now.date(), row["cost_estimate"], len(data))
                await conn.execute(AUDIT, uuid.uuid4().hex, now, row["id"], "{}")
        done += 1

    await go()
    began = cpu()
    running: set[asyncio.Task[None]] = set()
    stop_requested = asyncio.create_task(read_line())
    while not stop_requested.done():
        free = concurrency - len(running)
        claimed: list[asyncio.Record] = []
        if free > 0:
            now = datetime.now(UTC)
            token = uuid.uuid4().hex
            claimed = await pool.fetch(CLAIM, now, free, token, now + timedelta(minutes=5))
            for row in claimed:
                task = asyncio.create_task(run_job(row, token))
                running.add(task)
                task.add_done_callback(running.discard)
        if not claimed or len(claimed) < free:
            await asyncio.wait([stop_requested, *running] if running else [stop_requested],
                               timeout=None if running else 0.05, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.gather(*running)
    await pool.close()
    return {"cpu": cpu() - began, "jobs": done}


async def pgqueuer_worker(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    from pgqueuer import QueueManager
    from pgqueuer.models import Job
    from pgqueuer.queries import Queries

    connection = await asyncpg.connect(args["dsn"])
    manager = QueueManager(Queries.from_asyncpg_connection(connection))
    done = 0

    @manager.entrypoint("noop")
    async def noop(_job: Job) -> None:
        nonlocal done
        done += 1

    await go()
    began = cpu()
    task = asyncio.create_task(manager.run(batch_size=int(args.get("batch", 10)),
                                           dequeue_timeout=timedelta(milliseconds=100)))
    await read_line()
    manager.shutdown.set()
    await asyncio.wait_for(task, 30)
    await connection.close()
    return {"cpu": cpu() - began, "jobs": done}


async def pixrelay_reserve(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    from adapters.sql.engine import create_engine
    from adapters.sql.uow import SqlUnitOfWorkFactory

    engine = create_engine(args["database_url"])
    factory = SqlUnitOfWorkFactory(engine)
    accounts: list[str] = args["accounts"]

    async def reserve(account_id: str) -> bool:
        async with factory() as uow:
            reserved = await uow.accounts.try_reserve(account_id, 1, datetime.now(UTC))
            await uow.commit()
        return reserved is not None

    try:
        return await _reservations(args, accounts, reserve, go)
    finally:
        await engine.dispose()


async def raw_reserve(args: dict[str, Any], go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    concurrency = int(args["concurrency"])
    pool = await asyncpg.create_pool(args["dsn"], min_size=concurrency, max_size=concurrency)

    async def reserve(account_id: str) -> bool:
        return await pool.fetchval(RESERVE, account_id, 1, datetime.now(UTC)) is not None

    try:
        return await _reservations(args, args["accounts"], reserve, go)
    finally:
        await pool.close()


async def _reservations(args: dict[str, Any], accounts: list[str], reserve: Callable[[str], Awaitable[bool]],
                        go: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    count, concurrency = int(args["count"]), int(args["concurrency"])
    rng = random.Random(args.get("seed", 1))
    plan = [rng.choice(accounts) for _ in range(count)]
    won = 0
    await go()
    began, started = cpu(), time.perf_counter()

    async def client(offset: int) -> None:
        nonlocal won
        for account_id in plan[offset::concurrency]:
            reserved = await reserve(account_id)  # not `won += await ...`: that reads won first
            won += reserved

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return {"cpu": cpu() - began, "seconds": time.perf_counter() - started, "won": won, "tried": count}


KINDS = {"pixrelay_worker": pixrelay_worker, "raw_worker": raw_worker, "pgqueuer_worker": pgqueuer_worker,
         "pixrelay_reserve": pixrelay_reserve, "raw_reserve": raw_reserve}


def _more_kinds() -> None:
    from bench import child_scale

    KINDS.update(child_scale.KINDS)


async def main(kind: str, args: dict[str, Any]) -> None:
    async def go() -> None:
        print("ready", flush=True)
        line = await read_line()
        if line != "go":
            raise SystemExit(f"expected go, got {line!r}")

    async with AsyncExitStack():
        result = await KINDS[kind](args, go)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    _more_kinds()
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))

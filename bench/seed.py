"""Put a pixrelay database in shape for a benchmark, through the use cases where it is cheap
(admin, account pool, an input asset, one template job) and by SQL where it is bulk (cloning
the template job and its credit hold N times)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import ADMIN_EMAIL, ADMIN_PASSWORD, plain_dsn


@dataclass
class Seeded:
    user_id: str
    input_asset_id: str
    template_job_id: str


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@asynccontextmanager
async def pixrelay(database_url: str, data_dir: Path, **extra: str) -> AsyncIterator[Any]:
    """An in-process runtime and container on `database_url` (blobs under data_dir)."""
    from entrypoints.bootstrap import build_container
    from entrypoints.runtime import open_runtime
    from entrypoints.settings import load_settings

    settings = load_settings({
        "PIXRELAY_DATABASE_URL": database_url, "PIXRELAY_DATA_DIR": str(data_dir),
        "PIXRELAY_JWT_SECRET": "bench-secret-" + "x" * 40, "PIXRELAY_PROVIDERS": "sim",
        "PIXRELAY_SIGNUP_CREDITS": "1000000000", "PIXRELAY_LOG_LEVEL": "warning", **extra,
    }, dotenv=None)
    async with open_runtime(settings, run_migrations=False) as runtime:
        yield build_container(runtime.ports, runtime.policies), runtime, settings


@dataclass(frozen=True)
class BenchActor:
    """The bench acts in-process as its admin: a trusted caller (application/actor.py
    `credential_of` checks the user is active, no session), not a forged session."""

    user_id: str
    is_admin: bool = True


async def seed(container: Any, *, accounts: int = 10, account_concurrency: int = 1000) -> Seeded:
    from adapters.media import png
    from application.assets.upload import UploadAsset
    from application.jobs.create import CreateJob, JobRequest
    from application.setup import FirstRunSetup
    from domain.ports import UnitOfWorkFactory

    setup: FirstRunSetup = container.resolve(FirstRunSetup)
    (await setup(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD, pools={"sim": accounts},
                 pool_credits=10**12, pool_concurrency=account_concurrency)).unwrap()
    async with container.resolve(UnitOfWorkFactory)() as uow:
        user = await uow.users.get_by_email(ADMIN_EMAIL)
    assert user is not None
    actor = BenchActor(user.id)
    upload: UploadAsset = container.resolve(UploadAsset)
    asset = (await upload(actor, _chunks(png(64, 64, 1)), "input.png")).unwrap()
    create: CreateJob = container.resolve(CreateJob)
    created = (await create(actor, JobRequest(
        provider_id="sim", operation_type="image_to_image",
        params={"prompt": "bench", "seed": 0, "width": 64, "height": 64},
        input_asset_ids=[asset.asset.id]))).unwrap()
    return Seeded(user.id, asset.asset.id, created.job.id)


CLONE_HOLDS = """
INSERT INTO credit_holds (id, user_id, amount, created_at, job_id, status, captured, settled_at)
SELECT $2 || g, user_id, amount, created_at, $3 || g, status, captured, settled_at
FROM credit_holds, generate_series(1, $4) g WHERE id = $1"""
JOB_COLUMNS = ("id, user_id, provider_id, operation_type, params, created_at, run_after, input_asset_ids, priority, "
               "status, attempts, max_attempts, excluded_account_ids, result_asset_ids, cost_estimate, hold_id, "
               "request_fingerprint, updated_at, version")
CLONE_JOBS = f"""
INSERT INTO jobs ({JOB_COLUMNS}) SELECT
  $2 || g, user_id, provider_id, operation_type, params || jsonb_build_object('seed', g + $5), created_at,
  run_after, input_asset_ids, priority, 'pending', 0, max_attempts, excluded_account_ids, result_asset_ids,
  cost_estimate, $3 || g, request_fingerprint, updated_at, 0
FROM jobs, generate_series(1, $4) g WHERE id = $1"""


_clones = 0


async def clone_jobs(database_url: str, seeded: Seeded, count: int) -> None:
    """`count` pending copies of the template job (each with its own seed and credit hold)."""
    global _clones
    _clones += 1
    run = uuid.uuid4().hex[:8]
    offset = _clones * 10**7  # distinct seeds: distinct outputs, no deduplication between runs
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        async with connection.transaction():
            template = await connection.fetchrow("SELECT hold_id, cost_estimate, user_id FROM jobs WHERE id = $1",
                                                 seeded.template_job_id)
            await connection.execute("UPDATE jobs SET status = 'cancelled' WHERE id = $1", seeded.template_job_id)
            await connection.execute(CLONE_HOLDS, template["hold_id"], f"h{run}-", f"j{run}-", count)
            await connection.execute(CLONE_JOBS, seeded.template_job_id, f"j{run}-", f"h{run}-", count, offset)
            total = template["cost_estimate"] * count
            await connection.execute(
                "UPDATE credit_balances SET available = available - $2, held = held + $2 WHERE user_id = $1",
                template["user_id"], total)
    finally:
        await connection.close()


CLONE_HOLDS_SPREAD = """
INSERT INTO credit_holds (id, user_id, amount, created_at, job_id, status, captured, settled_at)
SELECT $2 || g, ($5::text[])[1 + g % cardinality($5::text[])], amount, created_at, $3 || g, status, captured,
  settled_at
FROM credit_holds, generate_series(1, $4) g WHERE id = $1"""
CLONE_JOBS_SPREAD = f"""
INSERT INTO jobs ({JOB_COLUMNS}) SELECT
  $2 || g, ($6::text[])[1 + g % cardinality($6::text[])], provider_id, operation_type,
  params || jsonb_build_object('seed', g + $5), created_at, run_after, input_asset_ids, priority, 'pending', 0,
  max_attempts, excluded_account_ids, result_asset_ids, cost_estimate, $3 || g, request_fingerprint, updated_at, 0
FROM jobs, generate_series(1, $4) g WHERE id = $1"""


async def text_job(container: Any, user_id: str, **params: Any) -> str:
    """A text_to_image job of `user_id` to clone (no input asset: any user may own a copy)."""
    from application.jobs.create import CreateJob, JobRequest

    create: CreateJob = container.resolve(CreateJob)
    created = (await create(BenchActor(user_id), JobRequest(
        provider_id="sim", operation_type="text_to_image",
        params={"prompt": "bench", "seed": 0, "width": 64, "height": 64, **params}))).unwrap()
    return created.job.id


async def clone_jobs_for_users(database_url: str, template_job_id: str, user_ids: list[str], count: int) -> None:
    """`count` pending copies of the template job, spread round-robin over `user_ids` (each
    copy with its own seed and its owner's credit hold)."""
    global _clones
    _clones += 1
    run = uuid.uuid4().hex[:8]
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        async with connection.transaction():
            template = await connection.fetchrow("SELECT hold_id, cost_estimate FROM jobs WHERE id = $1",
                                                 template_job_id)
            await connection.execute("UPDATE jobs SET status = 'cancelled' WHERE id = $1", template_job_id)
            await connection.execute(CLONE_HOLDS_SPREAD, template["hold_id"], f"h{run}-", f"j{run}-", count,
                                     user_ids)
            await connection.execute(CLONE_JOBS_SPREAD, template_job_id, f"j{run}-", f"h{run}-", count,
                                     _clones * 10**7, user_ids)
            per_user = [0] * len(user_ids)
            for g in range(1, count + 1):
                per_user[g % len(user_ids)] += 1
            await connection.executemany(
                "UPDATE credit_balances SET available = available - $2, held = held + $2 WHERE user_id = $1",
                [(user_id, template["cost_estimate"] * n) for user_id, n in zip(user_ids, per_user, strict=True)])
    finally:
        await connection.close()


async def open_jobs(database_url: str) -> int:
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        return int(await connection.fetchval(
            "SELECT count(*) FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled')"))
    finally:
        await connection.close()


@asynccontextmanager
async def open_jobs_counter(database_url: str) -> AsyncIterator[Any]:
    """`await count()` of the open jobs over ONE connection: a benchmark that asks every few
    ms must not make Postgres start a backend process each time (a fork on every poll
    weighs on the very machine being measured)."""
    connection = await asyncpg.connect(plain_dsn(database_url))

    async def count() -> int:
        return int(await connection.fetchval(
            "SELECT count(*) FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled')"))
    count.backend_pid = connection.get_server_pid()  # type: ignore[attr-defined]  # not the measured load
    try:
        yield count
    finally:
        await connection.close()


class Children:
    """Benchmark worker processes (bench.child), started together by one `go`."""

    def __init__(self) -> None:
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, kind: str, args: dict[str, Any], count: int) -> None:
        for _ in range(count):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.child", kind, json.dumps(args),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                cwd=str(Path(__file__).resolve().parent.parent))
            self.processes.append(process)
        for process in self.processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            if line.strip() != b"ready":
                raise RuntimeError(f"{kind} child did not get ready: {line!r}")

    async def say(self, word: str) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(word.encode() + b"\n")
            await process.stdin.drain()

    async def results(self, timeout: float = 600) -> list[dict[str, Any]]:
        found = []
        for process in self.processes:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), timeout)
            await asyncio.wait_for(process.wait(), 60)
            if not line:
                raise RuntimeError(f"a benchmark child exited with {process.returncode} and no result")
            found.append(json.loads(line))
        return found

    async def ask(self, word: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Say `word` and read one JSON line back from every process."""
        await self.say(word)
        found = []
        for process in self.processes:
            assert process.stdout is not None
            found.append(json.loads(await asyncio.wait_for(process.stdout.readline(), timeout)))
        return found

    def kill(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()

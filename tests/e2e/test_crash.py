"""kill -9 for real: an API and two workers on Postgres, Redis and S3; a random worker is
killed every few moments and started again while mixed jobs run. Afterwards nothing may be
lost, charged twice, submitted twice or left reserved.

Sizes are settings: the CI size below, and `make soak` (>= 200 kills)."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from adapters.media import png
from adapters.providers.sim_state import DirectorySimState
from adapters.sql.engine import create_engine
from adapters.sql.tables import accounts, assets, jobs, users
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.ledger import HoldStatus, invariant_violations
from tests.e2e.test_scale_out import Cluster, empty_database, http_client, login, user_client  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]

JOBS = int(os.environ.get("PIXRELAY_CRASH_JOBS", "40"))
KILLS = int(os.environ.get("PIXRELAY_CRASH_KILLS", "8"))
KILL_EVERY = float(os.environ.get("PIXRELAY_CRASH_EVERY", "1.0"))
SEED = int(os.environ.get("PIXRELAY_CRASH_SEED", "7"))
OUTCOMES = ["success"] * 6 + ["transient_error", "final_error"]
ACCOUNTS = 8
ACCOUNT_ERRORS = 3  # each disables an account for good: leave enough of the pool to finish


def outcome(rng: random.Random, n: int) -> str:
    return "account_error" if n % 10 == 3 and n // 10 < ACCOUNT_ERRORS else rng.choice(OUTCOMES)


def job_request(rng: random.Random, n: int, source: str) -> dict[str, Any]:
    params: dict[str, Any] = {"prompt": f"crash {n}", "seed": n, "width": 64, "height": 64,
                              "sim_latency_ms": rng.choice([0, 200, 800, 1500, 2500]),
                              "sim_outcome": outcome(rng, n)}
    if rng.random() < 0.3:
        return {"provider_id": "sim", "operation_type": "image_to_video", "input_asset_ids": [source],
                "params": {**params, "seconds": 1, "fps": 2}}
    return {"provider_id": "sim", "operation_type": "text_to_image", "params": params}


async def database_facts(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            statuses = dict((await conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))).all())
            reserved = (await conn.execute(select(func.coalesce(func.sum(accounts.c.current_jobs), 0)))).scalar_one()
            running = (await conn.execute(select(func.coalesce(func.sum(users.c.running_jobs), 0)))).scalar_one()
            live_assets = (await conn.execute(
                select(assets.c.owner_id, assets.c.sha256, func.count()).where(assets.c.deleted_at.is_(None))
                .group_by(assets.c.owner_id, assets.c.sha256))).all()
            rows = (await conn.execute(select(jobs.c.id, jobs.c.status, jobs.c.hold_id,
                                              jobs.c.result_asset_ids))).all()
        async with SqlUnitOfWorkFactory(engine)() as uow:
            transactions = await uow.ledger.transactions()
            holds = {h.id: h for h in await uow.ledger.holds()}
    finally:
        await engine.dispose()
    return {"statuses": statuses, "reserved": reserved, "running": running, "live_assets": live_assets,
            "jobs": rows, "transactions": transactions, "holds": holds}


def allow_jobs(cluster: Cluster, address: str, client: httpx.Client, jobs: int) -> None:
    """The default user quota allows 100 jobs a day: an admin raises it to the run's size
    (`make soak` submits 300), as an operator would for a heavy user."""
    user_id = client.get("/v1/users/me").json()["id"]
    with http_client(cluster.url, address) as admin:
        login(admin, cluster.env["PIXRELAY_ADMIN_EMAIL"], "root password")
        changed = admin.patch(f"/v1/admin/users/{user_id}", json={"quota": {"max_jobs_per_day": jobs}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["quota"]["max_jobs_per_day"] == jobs


# Start-up, submitting, the kills and the wait for the last job, each bounded, with room for a
# busy machine: the soak size (300 jobs, 200 kills) needs more than pytest's default 300 s.
@pytest.mark.timeout(max(300, int(180 + JOBS * 2 + KILLS * KILL_EVERY * 3)))
def test_workers_killed_at_random_lose_nothing_and_charge_nothing_twice(
        tmp_path: Path, empty_database: str, redis_url: str, s3_endpoint: str,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    cluster = Cluster(tmp_path, {
        "PIXRELAY_DATABASE_URL": empty_database, "PIXRELAY_REDIS_URL": redis_url,
        "PIXRELAY_S3_ENDPOINT_URL": s3_endpoint, "PIXRELAY_S3_BUCKET": f"pixrelay-crash-{uuid.uuid4().hex[:12]}",
        "PIXRELAY_S3_ACCESS_KEY_ID": "moto", "PIXRELAY_S3_SECRET_ACCESS_KEY": "moto",
        "PIXRELAY_JWT_SECRET": "crash-test-secret-" + uuid.uuid4().hex,
        "PIXRELAY_ADMIN_EMAIL": f"root-{uuid.uuid4().hex[:8]}@example.com", "PIXRELAY_ADMIN_PASSWORD": "root password",
        "PIXRELAY_SIM_STATE_DIR": str(tmp_path / "sim-state"), "PIXRELAY_SIM_ACCOUNTS": str(ACCOUNTS),
        "PIXRELAY_PROVIDERS": "sim", "PIXRELAY_WORKER_CONCURRENCY": "3",
        "PIXRELAY_LEASE_SECONDS": "3", "PIXRELAY_POLL_SECONDS": "0.3", "PIXRELAY_SIGNUP_CREDITS": "100000",
    })
    try:
        assert cluster.cli("migrate").returncode == 0
        cluster.start("api", "api")
        cluster.wait_until("the API was not ready", cluster.ready)
        workers = [cluster.start(f"worker-{n}", "worker") for n in (1, 2)]
        address = f"127.0.0.{rng.randint(2, 254)}"
        client = user_client(cluster.url, address, "crash")
        allow_jobs(cluster, address, client, JOBS)
        source = client.post("/v1/assets", files={"file": ("in.png", png(40, 40, 1), "image/png")}).json()["id"]
        requests = [job_request(rng, n, source) for n in range(JOBS)]
        job_ids = []
        for request in requests:
            created = client.post("/v1/jobs", json=request)
            assert created.status_code == 202, created.text
            job_ids.append(created.json()["id"])

        kills = 0
        generation = 2
        while kills < KILLS:
            time.sleep(KILL_EVERY * rng.uniform(0.5, 1.5))
            victim = rng.choice([w for w in workers if w.popen.poll() is None])
            victim.popen.kill()  # SIGKILL: no cleanup, no lease hand-back
            victim.popen.wait()
            kills += 1
            workers.remove(victim)
            cluster.processes.remove(victim)
            generation += 1
            workers.append(cluster.start(f"worker-{generation}", "worker"))

        finished: dict[str, dict[str, Any]] = {}

        def all_finished() -> bool:
            for job_id in job_ids:
                if job_id not in finished:
                    job = client.get(f"/v1/jobs/{job_id}").json()
                    if job["status"] in ("completed", "failed", "cancelled"):
                        finished[job_id] = job
            return len(finished) == JOBS

        deadline = time.monotonic() + 60 + JOBS * 0.5
        while not all_finished() and time.monotonic() < deadline:
            time.sleep(0.3)
        stuck = [client.get(f"/v1/jobs/{j}").json() for j in job_ids if j not in finished]
        assert not stuck, [{k: job[k] for k in ("id", "status", "attempts", "error_code", "params")} for job in stuck]
        client.close()
    finally:
        codes = cluster.stop()

    facts = asyncio.run(database_facts(empty_database))
    assert sum(facts["statuses"].values()) == JOBS  # none lost
    assert set(facts["statuses"]) <= {"completed", "failed"}
    for request, job_id in zip(requests, job_ids, strict=True):
        expected = "failed" if request["params"]["sim_outcome"] == "final_error" else "completed"
        assert finished[job_id]["status"] == expected, finished[job_id]
    assert facts["reserved"] == 0 and facts["running"] == 0  # no reservation or run slot leaked
    assert all(count == 1 for *_, count in facts["live_assets"])  # no duplicate asset
    holds = facts["holds"]
    for job_id, status, hold_id, _ in facts["jobs"]:
        expected_hold = HoldStatus.CAPTURED if status == "completed" else HoldStatus.RELEASED
        assert holds[hold_id].status is expected_hold, (job_id, status, holds[hold_id])
    assert invariant_violations(facts["transactions"], holds.values()) == []
    captures = Counter(tx.hold_id for tx in facts["transactions"] if str(tx.kind) == "capture")
    assert all(n == 1 for n in captures.values())  # charged once
    assert DirectorySimState(tmp_path / "sim-state").duplicates() == set()  # never submitted twice
    assert kills == KILLS
    assert codes["api"] == 0, codes
    with capsys.disabled():
        print(f"\ncrash test: {JOBS} jobs {dict(facts['statuses'])}, {kills} kill -9, {generation - 2} worker "
              f"restarts, {len(facts['transactions'])} ledger transactions checked, "
              f"{time.monotonic() - started:.0f} s")

"""Scale-out for real: Postgres, Redis and S3 (moto), `pixrelay migrate`, one `api` process
and two `worker` processes, the sim's remote state shared through a directory. Driven over
HTTP like a deployment; every process must stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from adapters.media import png
from adapters.providers.sim_state import DirectorySimState
from tests.services_db import execute_admin

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]

JOBS = 20
SIM_ACCOUNTS = 6
TRANSIENT = {4, 11}
ACCOUNT_ERROR = {7, 14}
START_TIMEOUT = 30.0
FINISH_TIMEOUT = 40.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def empty_database(pg_server_url: str) -> Iterator[str]:
    """A database of this test's own with no schema yet: `pixrelay migrate` makes it."""
    name = f"pixrelay_scale_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == name:
                    found.append(record)
        return found


class Cluster:
    """The processes of one deployment, all from the same environment."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_")}
        self.env = {**clean, **env, "PIXRELAY_PORT": str(self.port), "PIXRELAY_LOG_JSON": "true"}
        self.processes: list[Process] = []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "entrypoints.cli", *args], cwd=self.workdir,
                              env=self.env, capture_output=True, text=True, timeout=60)

    def start(self, name: str, command: str) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", command], cwd=self.workdir,
                                     env=self.env, stdout=sink, stderr=subprocess.STDOUT)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def wait_until(self, what: str, done: Any, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.popen.poll() is not None:
                    pytest.fail(f"{process.name} exited early ({process.popen.returncode}):\n{process.output()}")
            if done():
                return
            time.sleep(0.1)
        pytest.fail(f"{what} within {timeout:.0f} s:\n" + "\n".join(p.output()[-3000:] for p in self.processes))

    def ready(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.url}/health/ready", timeout=2)
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 else None

    def stop(self) -> dict[str, int]:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        codes = {}
        for process in self.processes:
            try:
                codes[process.name] = process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                codes[process.name] = process.popen.wait()
        return codes


@pytest.fixture
def cluster(tmp_path: Path, empty_database: str, redis_url: str, s3_endpoint: str) -> Iterator[Cluster]:
    running = Cluster(tmp_path, {
        "PIXRELAY_DATABASE_URL": empty_database,
        "PIXRELAY_REDIS_URL": redis_url,
        "PIXRELAY_S3_ENDPOINT_URL": s3_endpoint,
        "PIXRELAY_S3_BUCKET": f"pixrelay-scale-{uuid.uuid4().hex[:12]}",
        "PIXRELAY_S3_ACCESS_KEY_ID": "moto", "PIXRELAY_S3_SECRET_ACCESS_KEY": "moto",
        "PIXRELAY_JWT_SECRET": "scale-out-test-secret-" + uuid.uuid4().hex,
        "PIXRELAY_ADMIN_EMAIL": f"root-{uuid.uuid4().hex[:8]}@example.com", "PIXRELAY_ADMIN_PASSWORD": "root password",
        "PIXRELAY_SIM_STATE_DIR": str(tmp_path / "sim-state"),
        "PIXRELAY_SIM_ACCOUNTS": str(SIM_ACCOUNTS),
        "PIXRELAY_WORKER_CONCURRENCY": "2",
        "PIXRELAY_PROVIDERS": "sim",
    })
    yield running
    running.stop()


def http_client(url: str, source: str) -> httpx.Client:
    """From a loopback address of this test's own: the login rate limit is per client address
    and lives in the Redis server other test runs share."""
    return httpx.Client(base_url=url, timeout=10, transport=httpx.HTTPTransport(local_address=source))


def login(client: httpx.Client, email: str, password: str) -> None:
    answer = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def user_client(url: str, source: str, name: str) -> httpx.Client:
    client = http_client(url, source)
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    registered = client.post("/v1/auth/register", json={"email": email, "username": name,
                                                        "password": "correct horse battery"})
    assert registered.status_code == 201, registered.text
    login(client, email, "correct horse battery")
    return client


def last_worker_per_job(workers: list[Process], event: str) -> dict[str, str]:
    """Job id -> the worker that logged `event` for it last."""
    logged = sorted((e["timestamp"], e["job_id"], w.name) for w in workers for e in w.events(event) if "job_id" in e)
    return {job_id: worker for _, job_id, worker in logged}


def job_request(n: int, source: str) -> dict[str, Any]:
    params: dict[str, Any] = {"prompt": f"scene {n}", "seed": n}
    if n % 4:  # a job that runs a while is held by the worker that submitted it, between polls
        params["sim_latency_ms"] = 500 + (n * 137) % 1001
    if n in TRANSIENT:
        params["sim_outcome"] = "transient_error"
    if n in ACCOUNT_ERROR:
        params["sim_outcome"] = "account_error"
    if n % 2:
        return {"provider_id": "sim", "operation_type": "image_to_video", "input_asset_ids": [source],
                "params": {**params, "seconds": 1, "fps": 2, "width": 64, "height": 64}}
    return {"provider_id": "sim", "operation_type": "text_to_image", "params": {**params, "width": 64, "height": 64}}


def test_one_api_and_two_workers_share_postgres_redis_s3_and_the_sim(cluster: Cluster, s3_endpoint: str) -> None:
    migrated = cluster.cli("migrate")
    assert migrated.returncode == 0 and "migrations applied" in migrated.stdout, migrated.stderr
    api = cluster.start("api", "api")
    cluster.wait_until("the API was not ready", cluster.ready)
    ready = cluster.ready()
    assert ready is not None and ready["checks"]["redis"] == {"ok": True, "detail": None}
    workers = [cluster.start(f"worker-{n}", "worker") for n in (1, 2)]
    cluster.wait_until("the workers did not start", lambda: all(w.events("worker.start") for w in workers))

    address = f"127.0.0.{random.randint(2, 254)}"
    users = [user_client(cluster.url, address, name) for name in ("ada", "bob")]
    sources = []
    for client in users:
        upload = client.post("/v1/assets", files={"file": ("in.png", png(48, 48, 3), "image/png")})
        assert upload.status_code == 201, upload.text
        sources.append(upload.json()["id"])
    submitted: dict[str, tuple[int, httpx.Client, str]] = {}
    for n in range(JOBS):
        client, source = users[n % 2], sources[n % 2]
        created = client.post("/v1/jobs", json=job_request(n, source))
        assert created.status_code == 202, created.text
        submitted[created.json()["id"]] = (n, client, source)

    # Worker-1 stops as soon as it has submitted a job that runs a while: the jobs it holds
    # are given back and worker-2 finishes them (a graceful handoff across processes).
    def running_long(job_id: str) -> bool:
        n = submitted[job_id][0] if job_id in submitted else 0
        return n % 4 != 0 and n not in TRANSIENT | ACCOUNT_ERROR

    cluster.wait_until("worker-1 submitted no job that runs a while",
                       lambda: any(running_long(e.get("job_id", "")) for e in workers[0].events("provider.submit")))
    cluster.processes.remove(workers[0])
    workers[0].popen.send_signal(signal.SIGTERM)
    first_stopped = workers[0].popen.wait(timeout=30)
    assert workers[0].events("worker.released")[0]["jobs"] > 0, workers[0].output()

    finished: dict[str, dict[str, Any]] = {}

    def all_finished() -> bool:
        for job_id, (_, client, _) in submitted.items():
            if job_id not in finished:
                job = client.get(f"/v1/jobs/{job_id}").json()
                if job["status"] in ("completed", "failed", "cancelled"):
                    finished[job_id] = job
        return len(finished) == JOBS

    cluster.wait_until("the jobs did not finish", all_finished, FINISH_TIMEOUT)

    for job_id, (n, client, source) in submitted.items():
        job = finished[job_id]
        assert job["status"] == "completed", job
        # a retry only where the sim was told to fail once: no poll ever lost its remote job
        assert job["attempts"] == (2 if n in TRANSIENT | ACCOUNT_ERROR else 1), job
        [output] = job["result_asset_ids"]
        content = client.get(f"/v1/assets/{output}/content", follow_redirects=True)
        assert content.status_code == 200
        assert content.history and content.history[0].is_redirect  # a presigned S3 URL
        assert str(content.url).startswith(s3_endpoint)
        assert content.content.startswith(b"GIF89a" if n % 2 else b"\x89PNG")
        if n % 2:
            lineage = client.get(f"/v1/assets/{output}/lineage", params={"direction": "ancestors"}).json()
            assert [(e["parent_id"], e["child_id"]) for e in lineage["edges"]] == [(source, output)]

    admin = http_client(cluster.url, address)
    login(admin, cluster.env["PIXRELAY_ADMIN_EMAIL"], "root password")
    accounts = admin.get("/v1/admin/accounts", params={"provider_id": "sim"}).json()["items"]
    assert len(accounts) == SIM_ACCOUNTS
    assert Counter(a["status"] for a in accounts)["disabled"] == len(ACCOUNT_ERROR)
    assert all(a["current_jobs"] == 0 for a in accounts)  # no reservation leaked
    console = admin.get("/console")  # an API replica serves the web console too, from its own files
    assert console.status_code == 200 and "/console/static/js/main.js" in console.text
    assert admin.get("/console/static/js/main.js").status_code == 200

    # The remote side saw each attempt once: one submission per reference, across processes.
    submits = DirectorySimState(cluster.workdir / "sim-state").submits()
    assert set(submits.values()) == {1}
    assert sum(submits.values()) == JOBS + len(TRANSIENT) + len(ACCOUNT_ERROR)

    for client in (*users, admin):
        client.close()
    codes = {**cluster.stop(), "worker-1": first_stopped}
    assert codes == {"api": 0, "worker-1": 0, "worker-2": 0}
    runs = [w.events("worker.stop") for w in workers]
    assert all(len(stops) == 1 and stops[0]["jobs_run"] > 0 for stops in runs), runs
    submitted_by = last_worker_per_job(workers, "provider.submit")  # the attempt that succeeded
    completed_by = last_worker_per_job(workers, "pipeline.complete")
    assert completed_by.keys() == submitted.keys()
    # Some job was submitted by one worker and finished by the other (those worker-1 gave
    # back when it stopped): the sim's remote jobs are shared like a real provider's.
    assert any(completed_by[job] != submitted_by[job] for job in submitted)
    for process in (api, *workers):
        assert "Traceback" not in process.output(), process.output()

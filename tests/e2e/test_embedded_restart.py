"""kill -9 of `make run` (the embedded server) while a sim job runs at the provider: after a
restart the job completes. The built-in sim keeps its remote jobs in the data dir by default,
so the restarted worker finds the job it submitted (before, every job in flight failed with
JOB_NOT_FOUND)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.e2e.test_server_process import wait_for
from tests.support.server import Server

SETTINGS = {"PIXRELAY_LEASE_SECONDS": "2", "PIXRELAY_POLL_SECONDS": "0.3"}


def test_a_job_in_flight_survives_kill_9_of_the_embedded_server(tmp_path: Path) -> None:
    first = Server(tmp_path, SETTINGS)
    first.start()
    try:
        with httpx.Client(base_url=first.url, timeout=10) as client:
            assert client.post("/v1/auth/register", json={
                "email": "kim@example.com", "username": "kim", "password": "correct horse"}).status_code == 201
            login = client.post("/v1/auth/login", json={"email": "kim@example.com", "password": "correct horse"})
            token = login.json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            created = client.post("/v1/jobs", json={
                "provider_id": "sim", "operation_type": "text_to_image",
                "params": {"prompt": "slow", "width": 64, "height": 64, "sim_latency_ms": 4000}})
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
        deadline = time.monotonic() + 30
        while "provider.submit" not in first.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "provider.submit" in first.output(), first.output()
    finally:
        assert first.process is not None
        first.process.kill()  # SIGKILL: no shutdown, the job stays leased and submitted
        first.process.wait()
    assert (tmp_path / ".pixrelay" / "sim").is_dir()  # where the sim kept the remote job

    second = Server(tmp_path, SETTINGS)
    second.start()
    try:
        with httpx.Client(base_url=second.url, timeout=10,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            done = wait_for(client, job_id, seconds=60)
        assert done["status"] == "completed", done
        assert done["attempts"] == 1, done  # resumed, not retried
    finally:
        second.stop_if_running()

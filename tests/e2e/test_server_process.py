"""The real server process, started the way `make run` starts it, driven over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.media import png
from tests.support.server import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, {})
    running.start()
    yield running
    running.stop_if_running()


def wait_for(client: httpx.Client, job_id: str, seconds: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_embedded_server_from_upload_to_lineage(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/v1/auth/register", json={
            "email": "ada@example.com", "username": "ada", "password": "correct horse"}).status_code == 201
        login = client.post("/v1/auth/login", json={"email": "ADA@example.com", "password": "correct horse"})
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        upload = client.post("/v1/assets", files={"file": ("in.png", png(48, 48, 3), "text/plain")})
        assert upload.status_code == 201 and upload.json()["mime_type"] == "image/png"
        source = upload.json()["id"]
        job = client.post("/v1/jobs", json={"provider_id": "sim", "operation_type": "image_to_video",
                                            "params": {"prompt": "make it move", "seconds": 2},
                                            "input_asset_ids": [source]})
        assert job.status_code == 202
        done = wait_for(client, job.json()["id"])
        assert done["status"] == "completed", done
        [video] = done["result_asset_ids"]  # type: ignore[misc]
        content = client.get(f"/v1/assets/{video}/content", follow_redirects=True)
        assert content.status_code == 200 and content.content.startswith(b"GIF89a")
        lineage = client.get(f"/v1/assets/{video}/lineage", params={"direction": "ancestors"}).json()
        assert [(e["parent_id"], e["child_id"]) for e in lineage["edges"]] == [(source, video)]
        me = client.get("/v1/users/me").json()
        assert me["credits"] == 1000 - 2 and me["usage"]["jobs_completed"] == 1
    assert server.stop() == 0
    output = server.output()
    assert "password:" in output  # the generated admin, printed once
    for stage in ("pipeline.start", "provider.submit", "pipeline.complete"):
        assert stage in output
    assert "correct horse" not in output  # passwords never reach the logs


def test_second_start_reuses_the_data_and_prints_no_new_admin(tmp_path: Path) -> None:
    first = Server(tmp_path, {})
    first.start()
    with httpx.Client(base_url=first.url, timeout=10) as client:
        client.post("/v1/auth/register", json={"email": "bo@example.com", "username": "bob",
                                               "password": "another secret"})
    first.stop()
    second = Server(tmp_path, {})
    second.start()
    try:
        with httpx.Client(base_url=second.url, timeout=10) as client:
            login = client.post("/v1/auth/login", json={"email": "bo@example.com", "password": "another secret"})
            assert login.status_code == 200
        assert "password:" not in second.output()
        assert (tmp_path / ".pixrelay" / "jwt_secret").is_file()
    finally:
        second.stop()


@pytest.mark.parametrize(("name", "value"), [
    ("PIXRELAY_PORT", "eighty"), ("PIXRELAY_DATABASE_URL", "mysql://x"), ("PIXRELAY_JWT_SECRET", "short"),
    ("PIXRELAY_LOG_JSON", "maybe"),
])
def test_bad_setting_stops_the_start_with_one_line(tmp_path: Path, name: str, value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXRELAY_")}
    done = subprocess.run([sys.executable, "-m", "entrypoints.cli", "serve"], cwd=tmp_path,
                          env={**env, name: value}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in done.stderr

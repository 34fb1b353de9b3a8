"""The live OpenAPI document is fit for client generators: openapi-python-client generates a
Python client from it, and that client registers, logs in, submits a job, reads it until it
completes and lists it, against the real server process."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import Server

PACKAGE = "pixrelay_generated_client"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, {"PIXRELAY_PROVIDERS": "sim"})
    running.start()
    yield running
    running.stop_if_running()


def generate(document: Path, into: Path) -> None:
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--meta", "none",
         "--output-path", str(into / PACKAGE)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0 and (into / PACKAGE / "client.py").is_file(), result.stdout + result.stderr
    warnings = [line for line in result.stdout.splitlines()
                if line.startswith(("WARNING", "Unable", "Could not", "Attempted"))]
    assert not warnings, result.stdout  # every operation and every schema made it into the client


def imported(into: Path) -> Any:
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(into))


def test_a_generated_client_submits_and_reads_a_job(server: Server, tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/schema/openapi.json", timeout=30).content)
    generate(document, tmp_path / "generated")
    try:
        client_package = imported(tmp_path / "generated")
        api = importlib.import_module(f"{PACKAGE}.api")
        auth = importlib.import_module(f"{PACKAGE}.api.auth")
        jobs = importlib.import_module(f"{PACKAGE}.api.jobs")
        models = importlib.import_module(f"{PACKAGE}.models")
        for name in ("register_user", "log_in"):
            importlib.import_module(f"{PACKAGE}.api.auth.{name}")
        for name in ("create_job", "get_job", "list_jobs", "cancel_job", "quote_job"):
            importlib.import_module(f"{PACKAGE}.api.jobs.{name}")
        assert api and auth and jobs

        anonymous = client_package.Client(base_url=server.url, raise_on_unexpected_status=True)
        registered = auth.register_user.sync(client=anonymous, body=models.RegisterIn(
            email="ada@example.com", username="ada", password="correct horse battery"))
        assert isinstance(registered, models.UserOut), registered
        wrong = auth.log_in.sync(client=anonymous, body=models.LoginIn(email="ada@example.com", password="nope"))
        assert isinstance(wrong, models.Problem) and wrong.code == "UNAUTHENTICATED"
        tokens = auth.log_in.sync(client=anonymous, body=models.LoginIn(
            email="ada@example.com", password="correct horse battery"))
        assert isinstance(tokens, models.TokensOut), tokens

        client = client_package.AuthenticatedClient(base_url=server.url, token=tokens.access_token,
                                                    raise_on_unexpected_status=True)
        body = models.JobInSimTextToImage(provider_id="sim", operation_type="text_to_image",
                                          params=models.SimImageParams(prompt="a red fox", seed=7))
        price = jobs.quote_job.sync(client=client, body=models.QuoteInSimTextToImage(
            provider_id="sim", operation_type="text_to_image", params=models.SimImageParams(prompt="a red fox")))
        assert isinstance(price, models.QuoteOut), price
        created = jobs.create_job.sync(client=client, body=body, idempotency_key="generated-client-1")
        assert isinstance(created, models.JobOut), created
        assert created.cost_estimate == price.credits_

        deadline = time.monotonic() + 60
        job = created
        while job.status not in (models.JobStatus.COMPLETED, models.JobStatus.FAILED) and time.monotonic() < deadline:
            time.sleep(0.2)
            job = jobs.get_job.sync(created.id, client=client)
            assert isinstance(job, models.JobOut), job
        assert job.status == models.JobStatus.COMPLETED and job.result_asset_ids, job

        listed = jobs.list_jobs.sync(client=client)
        assert isinstance(listed, models.JobList) and [j.id for j in listed.items] == [created.id]
        missing = jobs.get_job.sync("no-such-job", client=client)
        assert isinstance(missing, models.Problem) and missing.code == "NOT_FOUND"
        again = jobs.cancel_job.sync(created.id, client=client)
        assert isinstance(again, models.Problem) and again.code == "INVALID_TRANSITION"
    finally:
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]

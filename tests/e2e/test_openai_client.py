"""The official `openai` Python client, with only its base_url changed, against a real
`pixrelay serve` process (SQLite, the sim provider): it generates (n=2, b64_json and url),
edits an uploaded image, lists models, and gets OpenAI's errors; a job that outlives the
wait is a 504 naming the job, which goes on and completes."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from adapters.media import png
from tests.support.server import Server, server_errors

PASSWORD = "correct horse battery"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WAIT_SECONDS = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("openai"), {
        "PIXRELAY_PROVIDERS": "sim", "PIXRELAY_POLL_SECONDS": "0.2", "PIXRELAY_LOG_LEVEL": "warning",
        "PIXRELAY_OPENAI_WAIT_SECONDS": str(WAIT_SECONDS)})
    running.start()
    yield running
    running.stop_if_running()
    assert not server_errors(running), running.output()[-5000:]


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        registered = http.post("/v1/auth/register", json={"email": "ada@example.com", "username": "ada",
                                                           "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        login = http.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert login.status_code == 200, login.text
        access: str = login.json()["access_token"]
        key = http.post("/v1/api-keys", headers={"Authorization": f"Bearer {access}"},
                        json={"name": "openai client", "scopes": ["jobs:read", "jobs:write", "assets:read",
                                                                  "assets:write"]})
        assert key.status_code == 201, key.text
        secret: str = key.json()["key"]
        return secret


def client(server: Server, api_key: str) -> openai.OpenAI:
    # No retries: a retried 504 would start a second job (pixrelay also says x-should-retry: false).
    return openai.OpenAI(base_url=f"{server.url}/openai/v1", api_key=api_key, max_retries=0, timeout=30)


def test_generates_two_images_as_base64(server: Server, token: str) -> None:
    result = client(server, token).images.generate(model="sim/image", prompt="a red fox", n=2, size="128x64",
                                                   response_format="b64_json")
    assert len(result.data) == 2 and result.created > 0
    images = [base64.b64decode(item.b64_json or "") for item in result.data]
    assert all(image.startswith(PNG_MAGIC) for image in images) and images[0] != images[1]
    assert [int.from_bytes(image[16:20]) for image in images] == [128, 128]  # width from the PNG header


def test_generates_a_url_the_client_can_fetch(server: Server, token: str) -> None:
    result = client(server, token).images.generate(model="sim/image", prompt="a blue whale", response_format="url")
    [item] = result.data
    assert item.url is not None and item.url.startswith(f"{server.url}/v1/assets/")
    fetched = httpx.get(item.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert fetched.status_code == 200 and fetched.content.startswith(PNG_MAGIC)
    assert fetched.headers["content-type"] == "image/png"
    assert httpx.get(item.url, timeout=30).status_code == 401  # the URL alone is not enough


def test_edits_an_uploaded_image_and_the_job_records_it_as_input(server: Server, token: str) -> None:
    source = png(32, 32, seed=3)
    result = client(server, token).images.edit(model="sim/image", image=("in.png", source, "image/png"),
                                               prompt="make it snow", n=1, response_format="b64_json")
    [item] = result.data
    assert base64.b64decode(item.b64_json or "").startswith(PNG_MAGIC)
    headers = {"Authorization": f"Bearer {token}"}
    jobs = httpx.get(f"{server.url}/v1/jobs", params={"name": "openai:"}, headers=headers, timeout=30).json()
    [edit] = [job for job in jobs["items"] if job["operation_type"] == "image_to_image"]
    assert edit["status"] == "completed" and len(edit["input_asset_ids"]) == 1
    uploaded = httpx.get(f"{server.url}/v1/assets/{edit['input_asset_ids'][0]}/content", headers=headers, timeout=30)
    assert uploaded.content == source


def test_lists_models(server: Server, token: str) -> None:
    models = client(server, token).models.list()
    assert [model.id for model in models.data] == ["sim/image"]  # only the sim runs here
    assert models.data[0].owned_by == "sim" and models.data[0].object == "model"
    assert client(server, token).models.retrieve("sim/image").id == "sim/image"


def test_errors_come_as_the_clients_exceptions(server: Server, token: str) -> None:
    with pytest.raises(openai.AuthenticationError) as bad_key:
        client(server, "pxr_not_a_real_key_at_all_0000000000").images.generate(model="sim/image", prompt="x")
    assert bad_key.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError) as unknown:
        client(server, token).images.generate(model="dall-e-9", prompt="x")
    assert unknown.value.code == "model_not_found" and unknown.value.param == "model"
    with pytest.raises(openai.BadRequestError) as too_big:
        client(server, token).images.generate(model="sim/image", prompt="x", size="4096x4096")
    assert too_big.value.param == "size"
    with pytest.raises(openai.BadRequestError) as quality:
        client(server, token).images.generate(model="sim/image", prompt="x", quality="hd")
    assert quality.value.param == "quality"
    with pytest.raises(openai.BadRequestError) as moderated:
        client(server, token).images.generate(model="sim/image", prompt="x",
                                              extra_body={"pixrelay_params": {"sim_outcome": "final_error"}})
    assert moderated.value.code == "content_policy_violation"


def test_a_job_that_outlives_the_wait_is_a_504_naming_it_and_goes_on(server: Server, token: str) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as late:
        client(server, token).images.generate(
            model="sim/image", prompt="slow", extra_body={"pixrelay_params": {"sim_latency_ms": 4500}})
    assert late.value.status_code == 504 and WAIT_SECONDS <= time.monotonic() - started < WAIT_SECONDS + 2
    job_id = late.value.response.headers["X-Pixrelay-Job-Id"]
    assert job_id in late.value.message and late.value.response.headers["x-should-retry"] == "false"
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 15
    while (job := httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=headers, timeout=30).json())["status"] \
            not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["status"] == "completed" and job["name"] == "openai:sim/image"

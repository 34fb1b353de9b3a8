"""OpenAI images adapter against recorded answers of /images/generations and /images/edits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from returns.result import Failure, Success

from adapters.memory.system import ManualClock
from adapters.providers.openai_images import MAX_RESULTS, OpenAIImagesProvider
from domain.accounts import FailureKind
from domain.assets import Asset, AssetSource, MediaType
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable
from domain.providers import InputRef, ProviderFailure, ProviderOutput, RemoteState, SubmitRequest
from tests.support.recorded_http import Replay, downloader, fixture_json, recorded

SECRET = "sk-proj-0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
GENERATIONS = r"^https://api\.openai\.com/v1/images/generations$"
EDITS = r"^https://api\.openai\.com/v1/images/edits$"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 50


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def provider(replay: Replay, clock: ManualClock | None = None) -> OpenAIImagesProvider:
    client = replay.client()
    return OpenAIImagesProvider(client, downloader(client, private_hosts=("internal.example",)),
                                clock=(clock or ManualClock(NOW)).now)


def generate(**params: object) -> SubmitRequest:
    return SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                         params={"prompt": "a red bicycle", **params})


def failure_of(result: object) -> ProviderFailure:
    assert isinstance(result, Failure), result
    found = result.failure()
    assert isinstance(found, ProviderFailure)
    return found


def fixture_images(name: str) -> list[bytes]:
    return [base64.b64decode(entry["b64_json"]) for entry in fixture_json("openai_images", name)["body"]["data"]]


def read(runner: asyncio.Runner, client: OpenAIImagesProvider, output: ProviderOutput) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in client.download(output)])

    return runner.run(collect())


# ---------------------------------------------------------------- capabilities


def test_info_offers_generation_and_edits_priced_per_image() -> None:
    info = provider(Replay()).info
    assert info.id == "openai_images"
    assert [spec.operation_type for spec in info.operations] == [OperationType.TEXT_TO_IMAGE,
                                                                  OperationType.IMAGE_TO_IMAGE]
    assert info.operation("text_to_image").unwrap().price.cost({"n": 3}) == 18
    assert info.operation("image_to_image").unwrap().min_inputs == 1


# ---------------------------------------------------------------- generation


def test_generation_runs_inside_submit_and_status_serves_the_cached_images(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_b64"))
    client = provider(replay)
    job_id = runner.run(client.submit(SECRET, generate(n=2, quality="high"))).unwrap()
    sent = replay.requests[0]
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(sent.content) == {"model": "gpt-image-1", "prompt": "a red bicycle", "n": 2,
                                        "quality": "high"}
    status = runner.run(client.status(SECRET, job_id)).unwrap()
    assert status.state is RemoteState.SUCCEEDED and status.raw_status == "completed"
    assert [o.mime_type for o in status.outputs] == ["image/png", "image/png"]
    assert all(o.url.startswith("openai-result://") for o in status.outputs)
    assert [read(runner, client, o) for o in status.outputs] == fixture_images("generated_b64")
    assert len(replay.requests) == 1


def test_the_mime_type_follows_the_requested_output_format(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_b64"))
    client = provider(replay)
    job_id = runner.run(client.submit(SECRET, generate(output_format="webp"))).unwrap()
    assert {o.mime_type for o in runner.run(client.status(SECRET, job_id)).unwrap().outputs} == {"image/webp"}


def test_url_outputs_are_downloaded_through_the_safe_downloader(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_url")) \
        .on("GET", r"^https://oaidalleapiprodscus\.blob\.core\.windows\.net/", httpx.Response(200, content=PNG))
    client = provider(replay)
    job_id = runner.run(client.submit(SECRET, generate())).unwrap()
    (output,) = runner.run(client.status(SECRET, job_id)).unwrap().outputs
    assert output.url.startswith("https://oaidalleapiprodscus.blob.core.windows.net/private/")
    assert read(runner, client, output) == PNG


def test_private_or_unknown_outputs_cannot_be_downloaded(runner: asyncio.Runner) -> None:
    client = provider(Replay().on("GET", r".", httpx.Response(200, content=PNG)))
    for url in ("https://internal.example/img.png", f"openai-result://oai-{'0' * 32}/0", "openai-result://x"):
        with pytest.raises(OutputUnavailable):
            read(runner, client, ProviderOutput(url=url))


@pytest.mark.parametrize(("fixture", "kind", "code"), [
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_403", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_429_rate", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    ("error_429_quota", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"),
    ("error_400_billing", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"),
    ("error_400_moderation", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("error_400_content_policy", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("error_400_invalid", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"),
    ("error_500", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("empty_data", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("bad_b64", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("neither", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
])
def test_failures_are_classified(runner: asyncio.Runner, fixture: str, kind: FailureKind, code: str) -> None:
    replay = Replay().on("POST", GENERATIONS, recorded("openai_images", fixture))
    found = failure_of(runner.run(provider(replay).submit(SECRET, generate())))
    assert (found.kind, found.code) == (kind, code)
    if fixture == "error_429_rate":
        assert found.retry_after_seconds == 20
    if kind is FailureKind.MODERATED:
        assert "safety system" in found.message


def test_a_timeout_is_transient(runner: asyncio.Runner) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("generation took too long", request=request)

    found = failure_of(runner.run(provider(Replay().on("POST", r".", slow)).submit(SECRET, generate())))
    assert (found.kind, found.code) == (FailureKind.TRANSIENT, "PROVIDER_TIMEOUT")


def test_the_secret_never_appears_in_a_failure(runner: asyncio.Runner) -> None:
    echo = httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {SECRET}",
                                               "type": "invalid_request_error", "code": "invalid_api_key"}})
    found = failure_of(runner.run(provider(Replay().on("POST", r".", echo)).submit(SECRET, generate())))
    assert found.kind is FailureKind.AUTH and SECRET not in found.message


@pytest.mark.parametrize("params", [{"n": 5}, {"size": "2048x2048"}, {"style": "vivid"}, {"prompt": ""}])
def test_invalid_params_are_refused_before_any_call(runner: asyncio.Runner, params: dict[str, object]) -> None:
    replay = Replay()
    assert failure_of(runner.run(provider(replay).submit(SECRET, generate(**params)))).code == "INVALID_PARAMS"
    assert replay.requests == []


# ---------------------------------------------------------------- edits and inline inputs


def asset(size: int = len(PNG)) -> Asset:
    return Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                 mime_type="image/png", size_bytes=size, sha256=hashlib.sha256(PNG).hexdigest(),
                 storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename="photo.png")


async def chunks() -> AsyncIterator[bytes]:
    yield PNG[:5]
    yield PNG[5:]


def test_an_edit_sends_the_staged_input_inline(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", EDITS, recorded("openai_images", "edited_b64"))
    client = provider(replay)
    staged = runner.run(client.upload(SECRET, asset(), chunks(), NOW)).unwrap()
    assert staged.provider_asset_id.startswith("oai-input-")
    assert staged.expires_at == NOW  # never reused from the upload cache
    request = SubmitRequest(reference="sub-2", operation_type=OperationType.IMAGE_TO_IMAGE,
                            params={"prompt": "make it blue", "output_format": "webp"},
                            inputs=(InputRef(asset_id="asset-1", provider_asset_id=staged.provider_asset_id,
                                             mime_type="image/png"),))
    job_id = runner.run(client.submit(SECRET, request)).unwrap()
    sent = replay.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="image"; filename="photo.png"' in sent.content and PNG in sent.content
    assert b'name="prompt"\r\n\r\nmake it blue' in sent.content
    assert b'name="model"\r\n\r\ngpt-image-1' in sent.content
    (output,) = runner.run(client.status(SECRET, job_id)).unwrap().outputs
    assert output.mime_type == "image/webp"
    assert read(runner, client, output) == fixture_images("edited_b64")[0]


def test_an_input_staged_elsewhere_is_transient_and_sends_nothing(runner: asyncio.Runner) -> None:
    replay = Replay()
    request = SubmitRequest(reference="s", operation_type=OperationType.IMAGE_TO_IMAGE, params={"prompt": "x"},
                            inputs=(InputRef(asset_id="a", provider_asset_id=f"oai-input-{'1' * 32}",
                                             mime_type="image/png"),))
    found = failure_of(runner.run(provider(replay).submit(SECRET, request)))
    assert (found.kind, found.code) == (FailureKind.TRANSIENT, "OPENAI_INPUT_NOT_STAGED")
    assert replay.requests == []


def test_an_input_over_the_documented_limit_is_invalid(runner: asyncio.Runner) -> None:
    found = failure_of(runner.run(provider(Replay()).upload(SECRET, asset(size=51 * 1024 * 1024), chunks(), NOW)))
    assert (found.kind, found.code) == (FailureKind.INVALID, "INPUT_TOO_LARGE")


# ---------------------------------------------------------------- status, find, cancel


@pytest.mark.parametrize("job_id", ["", "not-a-job-id", "00000000-0000-0000-0000-000000000000", "oai-XYZ"])
def test_a_malformed_job_id_is_a_failure(runner: asyncio.Runner, job_id: str) -> None:
    assert failure_of(runner.run(provider(Replay()).status(SECRET, job_id))).code == "INVALID_JOB_ID"


def test_a_result_this_process_does_not_hold_is_lost_and_retried(runner: asyncio.Runner) -> None:
    status = runner.run(provider(Replay()).status(SECRET, f"oai-{'a' * 32}")).unwrap()
    assert status.state is RemoteState.FAILED
    assert status.failure is not None
    assert (status.failure.kind, status.failure.code) == (FailureKind.TRANSIENT, "OPENAI_RESULT_LOST")


def test_results_expire_after_an_hour(runner: asyncio.Runner, clock: ManualClock) -> None:
    client = provider(Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_b64")), clock)
    job_id = runner.run(client.submit(SECRET, generate())).unwrap()
    clock.advance(minutes=59)
    assert runner.run(client.status(SECRET, job_id)).unwrap().state is RemoteState.SUCCEEDED
    clock.advance(minutes=2)
    assert runner.run(client.status(SECRET, job_id)).unwrap().state is RemoteState.FAILED
    assert runner.run(client.find(SECRET, "sub-1")) == Success(None)


def test_the_result_cache_is_bounded(runner: asyncio.Runner) -> None:
    client = provider(Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_url")))
    first = runner.run(client.submit(SECRET, generate())).unwrap()
    for n in range(MAX_RESULTS):
        runner.run(client.submit(SECRET, SubmitRequest(reference=f"r{n}", operation_type=OperationType.TEXT_TO_IMAGE,
                                                       params={"prompt": "x"})))
    assert runner.run(client.status(SECRET, first)).unwrap().state is RemoteState.FAILED


def test_find_knows_references_submitted_here(runner: asyncio.Runner) -> None:
    client = provider(Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_b64")))
    job_id = runner.run(client.submit(SECRET, generate())).unwrap()
    assert runner.run(client.find(SECRET, "sub-1")) == Success(job_id)
    assert runner.run(client.find(SECRET, "another")) == Success(None)


def test_cancel_is_a_harmless_no_op(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_b64"))
    client = provider(replay)
    job_id = runner.run(client.submit(SECRET, generate())).unwrap()
    runner.run(client.cancel(SECRET, job_id))
    runner.run(client.cancel(SECRET, "whatever"))
    assert runner.run(client.status(SECRET, job_id)).unwrap().state is RemoteState.SUCCEEDED
    assert len(replay.requests) == 1


def test_results_live_no_longer_than_their_ttl_even_unread(runner: asyncio.Runner, clock: ManualClock) -> None:
    client = provider(Replay().on("POST", GENERATIONS, recorded("openai_images", "generated_b64")), clock)
    job_id = runner.run(client.submit(SECRET, generate())).unwrap()
    (output, _) = runner.run(client.status(SECRET, job_id)).unwrap().outputs
    clock.advance(timedelta(hours=2).total_seconds())
    with pytest.raises(OutputUnavailable):
        read(runner, client, output)

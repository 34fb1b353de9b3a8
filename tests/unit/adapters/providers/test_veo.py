"""Veo on the Gemini API: predictLongRunning requests with inline images, every operation outcome
and error class mapped, and downloads that carry the API key to Google's host only, replayed from
recorded answers."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from returns.result import Success

from adapters.providers.veo import VEO_INFO, VeoModels, VeoProvider
from domain.accounts import FailureKind
from domain.assets import MediaType
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable
from domain.providers import (
    InputRef,
    ProviderFailure,
    ProviderOutput,
    RemoteState,
    SubmitRequest,
    validate_params,
)
from tests.unit.adapters.providers.media_replay import (
    SECRET,
    START,
    Handler,
    Replay,
    asset,
    chunks_of,
    downloader,
    drain,
    http,
    recorded,
    run,
)

API = "https://generativelanguage.googleapis.com/v1beta"
OPERATION = "models/veo-3.1-generate-preview/operations/8c4s2p7wq1xy"
VIDEO_URI = "https://generativelanguage.googleapis.com/v1beta/files/3n1d9q2k7v0z:download?alt=media"
PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100


def veo(*answers: httpx.Response | Handler, private: bool = False, **options: int) -> tuple[VeoProvider, Replay]:
    replay = Replay(*answers)
    client = http(replay)
    return VeoProvider(client, downloader(client, private=private), clock=lambda: START, **options), replay


def request(operation: OperationType = OperationType.TEXT_TO_VIDEO, inputs: tuple[InputRef, ...] = (),
            **params: object) -> SubmitRequest:
    params.setdefault("prompt", "a lighthouse in a storm")
    return SubmitRequest(reference="sub-1", operation_type=operation, params=params, inputs=inputs)


def staged(provider: VeoProvider, data: bytes = PNG, mime_type: str = "image/png") -> InputRef:
    uploaded = run(provider.upload(SECRET, asset(mime_type=mime_type, size=len(data)), chunks_of(data, 100), START))
    return InputRef(asset_id="asset-1", provider_asset_id=uploaded.unwrap().provider_asset_id, mime_type=mime_type)


def submit_failure(*answers: httpx.Response | Handler) -> ProviderFailure:
    provider, _ = veo(*answers)
    return run(provider.submit(SECRET, request())).failure()


# ------------------------------------------------------------------ capabilities


def test_info_offers_text_and_image_to_video_priced_per_second() -> None:
    counts = {spec.operation_type: (spec.min_inputs, spec.max_inputs) for spec in VEO_INFO.operations}
    assert counts == {OperationType.TEXT_TO_VIDEO: (0, 0), OperationType.IMAGE_TO_VIDEO: (1, 1)}
    spec = VEO_INFO.operation(OperationType.TEXT_TO_VIDEO).unwrap()
    assert spec.price.cost(validate_params(spec, {"prompt": "x"}).unwrap()) == 8
    assert spec.price.cost(validate_params(spec, {"prompt": "x", "duration_seconds": 4}).unwrap()) == 4


@pytest.mark.parametrize("params", [{"duration_seconds": 5}, {"aspect_ratio": "1:1"}, {"sample_count": 2},
                                    # The Gemini API takes no seed: google-genai refuses to send one
                                    # there ("seed parameter is not supported in Gemini API").
                                    {"seed": 3}])
def test_undocumented_params_are_refused_before_sending(params: dict[str, object]) -> None:
    provider, replay = veo()
    assert run(provider.submit(SECRET, request(**params))).failure().code == "INVALID_PARAMS"
    assert replay.requests == []


# ------------------------------------------------------------------ submit


def test_text_to_video_starts_a_long_running_operation() -> None:
    provider, replay = veo(recorded("veo", "operation_created"))
    job_id = run(provider.submit(SECRET, request(negative_prompt="people", aspect_ratio="9:16")))
    assert job_id == Success(OPERATION)
    sent = replay.last
    assert (sent.method, str(sent.url)) == ("POST", f"{API}/models/veo-3.1-generate-preview:predictLongRunning")
    assert sent.headers["x-goog-api-key"] == SECRET
    assert replay.json() == {"instances": [{"prompt": "a lighthouse in a storm"}], "parameters": {
        "negativePrompt": "people", "aspectRatio": "9:16", "durationSeconds": 8, "resolution": "720p"}}


def test_image_to_video_sends_the_staged_image_inline() -> None:
    replay = Replay(recorded("veo", "operation_created"))
    client = http(replay)
    provider = VeoProvider(client, downloader(client), clock=lambda: START,
                           models=VeoModels(image_to_video="veo-3.0-generate-001"), base_url="https://gl.test/v1beta/")
    image = staged(provider)
    assert image.provider_asset_id == f"inline:{hashlib.sha256(PNG).hexdigest()}"
    run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (image,))))
    assert str(replay.last.url) == "https://gl.test/v1beta/models/veo-3.0-generate-001:predictLongRunning"
    assert replay.json()["instances"] == [{"prompt": "a lighthouse in a storm", "image": {
        "bytesBase64Encoded": base64.b64encode(PNG).decode(), "mimeType": "image/png"}}]


def test_an_image_staged_elsewhere_is_unavailable_not_an_account_fault() -> None:
    provider, replay = veo()
    elsewhere = InputRef(asset_id="a", provider_asset_id="inline:" + "0" * 64, mime_type="image/png")
    failure = run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (elsewhere,)))).failure()
    assert (failure.kind, failure.code) == (FailureKind.UNAVAILABLE, "INLINE_INPUT_GONE")
    assert replay.requests == []


def test_the_stash_is_bounded_and_forgets_the_oldest_image() -> None:
    provider, replay = veo(recorded("veo", "operation_created"), stash_bytes=1000)
    first = staged(provider, b"a" * 700)
    second = staged(provider, b"b" * 700)
    assert run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (first,)))).failure().kind is \
        FailureKind.UNAVAILABLE
    assert run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (second,)))) == Success(OPERATION)
    assert len(replay.requests) == 1


def test_upload_stages_for_this_attempt_only() -> None:
    provider, _ = veo()
    uploaded = run(provider.upload(SECRET, asset(size=len(PNG)), chunks_of(PNG), START)).unwrap()
    assert uploaded.expires_at == START
    assert VEO_INFO.upload_ttl_seconds == 0


@pytest.mark.parametrize(("media_type", "mime_type", "declared", "actual", "code"), [
    (MediaType.VIDEO, "video/mp4", 10, 10, "UNSUPPORTED_INPUT"),
    (MediaType.IMAGE, "image/gif", 10, 10, "UNSUPPORTED_INPUT"),
    (MediaType.IMAGE, "image/png", 2000, 10, "INPUT_TOO_LARGE"),
    (MediaType.IMAGE, "image/png", 10, 2000, "INPUT_TOO_LARGE"),
])
def test_inputs_veo_cannot_take_inline_are_refused(media_type: MediaType, mime_type: str, declared: int,
                                                   actual: int, code: str) -> None:
    provider, replay = veo(max_inline_bytes=1000)
    failure = run(provider.upload(SECRET, asset(media_type, mime_type, size=declared),
                                  chunks_of(b"x" * actual), START)).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, code)
    assert replay.requests == []


@pytest.mark.parametrize(("answer", "kind", "code", "retry_after"), [
    (recorded("veo", "error_400_api_key"), FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    (recorded("veo", "error_400_invalid"), FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", None),
    (recorded("veo", "error_403"), FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    (recorded("veo", "error_429"), FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", 27),
    (httpx.Response(429, headers={"retry-after": "5"}, json={"error": {"code": 429, "details": [
        {"retryDelay": "27s"}]}}), FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", 5),
    (httpx.Response(400, json={"error": {"code": 400, "status": "FAILED_PRECONDITION", "message":
        "Gemini API free tier is not available in your country. Please enable billing on your project."}}),
     FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    (recorded("veo", "error_500"), FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    (recorded("veo", "malformed"), FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
    (httpx.Response(200, json={"name": "../../files"}), FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
])
def test_error_answers_are_classified(answer: httpx.Response, kind: FailureKind, code: str,
                                      retry_after: int | None) -> None:
    failure = submit_failure(answer)
    assert (failure.kind, failure.code, failure.retry_after_seconds) == (kind, code, retry_after)


def test_the_secret_never_appears_in_a_failure_message() -> None:
    failure = submit_failure(httpx.Response(400, json={"error": {
        "code": 400, "status": "INVALID_ARGUMENT", "message": f"API key not valid: {SECRET}"}}))
    assert failure.kind is FailureKind.AUTH and SECRET not in failure.message


# ------------------------------------------------------------------ status


def test_an_unfinished_operation_is_running() -> None:
    provider, replay = veo(recorded("veo", "operation_running"))
    status = run(provider.status(SECRET, OPERATION)).unwrap()
    assert status.state is RemoteState.RUNNING
    assert (replay.last.method, str(replay.last.url)) == ("GET", f"{API}/{OPERATION}")
    assert replay.last.headers["x-goog-api-key"] == SECRET


def test_a_done_operation_lists_its_videos() -> None:
    provider, _ = veo(recorded("veo", "operation_done"))
    status = run(provider.status(SECRET, OPERATION)).unwrap()
    assert status.state is RemoteState.SUCCEEDED
    assert status.outputs == (ProviderOutput(url=VIDEO_URI, mime_type="video/mp4", provider_asset_id=f"{OPERATION}/0"),)
    assert SECRET not in repr(status)


@pytest.mark.parametrize(("fixture_name", "kind", "code"), [
    ("operation_filtered", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("operation_error_safety", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("operation_error_invalid", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"),
    ("operation_error_internal", FailureKind.TRANSIENT, "VEO_OPERATION_FAILED"),
    ("operation_error_exhausted", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
])
def test_failed_operations_are_classified(fixture_name: str, kind: FailureKind, code: str) -> None:
    provider, _ = veo(recorded("veo", fixture_name))
    status = run(provider.status(SECRET, OPERATION)).unwrap()
    assert status.state is RemoteState.FAILED and status.failure is not None
    assert (status.failure.kind, status.failure.code) == (kind, code)


def test_a_cancelled_operation_is_cancelled() -> None:
    provider, _ = veo(recorded("veo", "operation_cancelled"))
    assert run(provider.status(SECRET, OPERATION)).unwrap().state is RemoteState.CANCELLED


@pytest.mark.parametrize("answer", [
    recorded("veo", "operation_not_done_flag"),
    recorded("veo", "operation_done", response={"generateVideoResponse": {"generatedSamples": []}}),
    recorded("veo", "operation_done", response=None),
    recorded("veo", "malformed"),
])
def test_surprising_operations_are_malformed(answer: httpx.Response) -> None:
    provider, _ = veo(answer)
    assert run(provider.status(SECRET, OPERATION)).failure().code == "PROVIDER_MALFORMED_RESPONSE"


def test_unknown_operations_are_invalid_and_strange_names_never_sent() -> None:
    provider, replay = veo(recorded("veo", "error_404"))
    assert run(provider.status(SECRET, OPERATION)).failure().code == "JOB_NOT_FOUND"
    for bad in ("", "not-a-job-id", "operations/../files/x", "https://evil.example.com/operations/x"):
        assert run(provider.status(SECRET, bad)).failure().code == "INVALID_JOB_ID"
    assert len(replay.requests) == 1


def test_find_and_cancel_do_not_call_google() -> None:
    provider, replay = veo()
    assert run(provider.find(SECRET, "sub-1")) == Success(None)
    run(provider.cancel(SECRET, OPERATION))
    assert replay.requests == []


# ------------------------------------------------------------------ download


def test_download_sends_the_key_to_google_only_and_follows_the_redirect_without_it() -> None:
    def files(request: httpx.Request) -> httpx.Response:
        assert request.headers.get("x-goog-api-key") == SECRET
        return httpx.Response(302, headers={"location": "https://video-downloads.googleusercontent.com/v/abc"})

    def storage(request: httpx.Request) -> httpx.Response:
        assert "x-goog-api-key" not in request.headers
        return httpx.Response(200, content=b"veo-mp4")

    provider, replay = veo(recorded("veo", "operation_done"), files, storage)
    (output,) = run(provider.status(SECRET, OPERATION)).unwrap().outputs
    assert run(drain(provider.download(output))) == b"veo-mp4"
    assert [str(r.url) for r in replay.requests[1:]] == [VIDEO_URI, "https://video-downloads.googleusercontent.com/v/abc"]


def test_download_needs_a_polled_operation_and_a_public_host() -> None:
    provider, replay = veo()
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(ProviderOutput(url=VIDEO_URI))))
    provider, replay = veo(recorded("veo", "operation_done"), private=True)
    (output,) = run(provider.status(SECRET, OPERATION)).unwrap().outputs
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(output)))
    assert len(replay.requests) == 1

"""Luma Dream Machine generations API: documented requests and keyframes, every state and error
class mapped, cancel by deletion, URL-only inputs and guarded downloads, replayed from recorded
answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from returns.result import Success

from adapters.providers.luma import LUMA_INFO, LumaModels, LumaProvider
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
    media,
    recorded,
    run,
)

API = "https://api.lumalabs.ai/dream-machine/v1"
GENERATION_ID = "d5f0a2e4-7b1c-4c55-9a0e-3f6b2c8e1d90"
PICTURE = InputRef(asset_id="a1", url="https://cdn.example.com/first.png", mime_type="image/png")
LAST = InputRef(asset_id="a2", url="https://cdn.example.com/last.png", mime_type="image/png")
EARLIER = InputRef(asset_id="a3", provider_asset_id=f"generation:{GENERATION_ID}", mime_type="video/mp4")


def luma(*answers: httpx.Response | Handler, private: bool = False, **options: Any) -> tuple[LumaProvider, Replay]:
    replay = Replay(*answers)
    client = http(replay)
    return LumaProvider(client, downloader(client, private=private), clock=lambda: START, **options), replay


def request(operation: OperationType = OperationType.TEXT_TO_VIDEO, inputs: tuple[InputRef, ...] = (),
            **params: object) -> SubmitRequest:
    params.setdefault("prompt", "a red bicycle in the rain")
    return SubmitRequest(reference="sub-1", operation_type=operation, params=params, inputs=inputs)


def submit_failure(*answers: httpx.Response | Handler) -> ProviderFailure:
    provider, _ = luma(*answers)
    return run(provider.submit(SECRET, request())).failure()


# ------------------------------------------------------------------ capabilities


def test_info_offers_video_operations_and_images() -> None:
    counts = {spec.operation_type: (spec.min_inputs, spec.max_inputs) for spec in LUMA_INFO.operations}
    assert counts == {OperationType.TEXT_TO_VIDEO: (0, 0), OperationType.IMAGE_TO_VIDEO: (1, 1),
                      OperationType.VIDEO_TRANSITION: (2, 2), OperationType.VIDEO_EXTEND: (1, 1),
                      OperationType.TEXT_TO_IMAGE: (0, 0)}
    video = LUMA_INFO.operation(OperationType.TEXT_TO_VIDEO).unwrap()
    assert video.price.cost(validate_params(video, {"prompt": "x", "duration": 9}).unwrap()) == 9
    image = LUMA_INFO.operation(OperationType.TEXT_TO_IMAGE).unwrap()
    assert image.price.cost(validate_params(image, {"prompt": "x"}).unwrap()) == 1


@pytest.mark.parametrize("params", [{"duration": 7}, {"aspect_ratio": "2:1"}, {"resolution": "8k"},
                                    {"callback_url": "https://x"}])
def test_undocumented_params_are_refused_before_sending(params: dict[str, object]) -> None:
    provider, replay = luma()
    assert run(provider.submit(SECRET, request(**params))).failure().code == "INVALID_PARAMS"
    assert replay.requests == []


# ------------------------------------------------------------------ submit


def test_text_to_video_posts_a_generation() -> None:
    provider, replay = luma(recorded("luma", "generation_created"))
    assert run(provider.submit(SECRET, request(duration=9, loop=True))) == Success(GENERATION_ID)
    sent = replay.last
    assert (sent.method, str(sent.url)) == ("POST", f"{API}/generations/video")
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert replay.json() == {"prompt": "a red bicycle in the rain", "aspect_ratio": "16:9", "duration": "9s",
                             "resolution": "720p", "loop": True, "model": "ray-2"}


@pytest.mark.parametrize(("operation", "inputs", "keyframes"), [
    (OperationType.IMAGE_TO_VIDEO, (PICTURE,), {"frame0": {"type": "image", "url": PICTURE.url}}),
    (OperationType.VIDEO_TRANSITION, (PICTURE, LAST), {"frame0": {"type": "image", "url": PICTURE.url},
                                                       "frame1": {"type": "image", "url": LAST.url}}),
    (OperationType.VIDEO_EXTEND, (EARLIER,), {"frame0": {"type": "generation", "id": GENERATION_ID}}),
])
def test_inputs_become_keyframes(operation: OperationType, inputs: tuple[InputRef, ...],
                                 keyframes: dict[str, object]) -> None:
    provider, replay = luma(recorded("luma", "generation_created"))
    run(provider.submit(SECRET, request(operation, inputs)))
    assert replay.json()["keyframes"] == keyframes


def test_text_to_image_posts_to_the_image_endpoint_with_the_image_model() -> None:
    provider, replay = luma(recorded("luma", "generation_created", id="0b7c6a54-1d2e-4f3a-8b9c-0d1e2f3a4b5c"),
                            models=LumaModels(image="photon-flash-1"), base_url="https://luma.internal.test/v1/")
    run(provider.submit(SECRET, request(OperationType.TEXT_TO_IMAGE, aspect_ratio="1:1")))
    assert str(replay.last.url) == "https://luma.internal.test/v1/generations/image"
    assert replay.json() == {"prompt": "a red bicycle in the rain", "aspect_ratio": "1:1", "model": "photon-flash-1"}


@pytest.mark.parametrize(("operation", "inputs", "code"), [
    (OperationType.IMAGE_TO_VIDEO, (InputRef(asset_id="a", provider_asset_id="img-7", mime_type="image/png"),),
     "INPUT_URL_REQUIRED"),
    (OperationType.VIDEO_EXTEND, (PICTURE,), "INVALID_INPUTS"),
])
def test_inputs_luma_cannot_reach_are_refused_before_sending(operation: OperationType,
                                                            inputs: tuple[InputRef, ...], code: str) -> None:
    provider, replay = luma()
    failure = run(provider.submit(SECRET, request(operation, inputs))).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, code)
    assert replay.requests == []


@pytest.mark.parametrize(("fixture_name", "kind", "code", "retry_after"), [
    ("error_400_invalid", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", None),
    ("error_400_credits", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    ("error_400_moderation", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, None),
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    ("error_429", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", 12),
    ("error_500", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
])
def test_error_answers_are_classified(fixture_name: str, kind: FailureKind, code: str,
                                      retry_after: int | None) -> None:
    failure = submit_failure(recorded("luma", fixture_name))
    assert (failure.kind, failure.code, failure.retry_after_seconds) == (kind, code, retry_after)


def test_a_created_generation_without_an_id_is_malformed_and_the_secret_stays_hidden() -> None:
    assert submit_failure(httpx.Response(201, json={"state": "queued"})).code == "PROVIDER_MALFORMED_RESPONSE"
    failure = submit_failure(httpx.Response(401, json={"detail": f"bad key {SECRET}"}))
    assert failure.kind is FailureKind.AUTH and SECRET not in failure.message


# ------------------------------------------------------------------ status


@pytest.mark.parametrize(("fixture_name", "state"), [
    ("generation_queued", RemoteState.QUEUED),
    ("generation_dreaming", RemoteState.RUNNING),
])
def test_unfinished_states(fixture_name: str, state: RemoteState) -> None:
    provider, replay = luma(recorded("luma", fixture_name))
    status = run(provider.status(SECRET, GENERATION_ID)).unwrap()
    assert status.state is state and status.outputs == () and status.failure is None
    assert (replay.last.method, str(replay.last.url)) == ("GET", f"{API}/generations/{GENERATION_ID}")


def test_a_completed_video_is_the_output_with_the_generation_id() -> None:
    provider, _ = luma(recorded("luma", "generation_completed"))
    status = run(provider.status(SECRET, GENERATION_ID)).unwrap()
    assert status.state is RemoteState.SUCCEEDED
    (output,) = status.outputs
    assert output == ProviderOutput(url="https://storage.cdn-luma.com/dream_machine/d5f0a2e4/watermarked_video.mp4",
                                    mime_type="video/mp4", provider_asset_id=GENERATION_ID)


def test_a_completed_image_is_the_output() -> None:
    provider, _ = luma(recorded("luma", "generation_completed_image"))
    (output,) = run(provider.status(SECRET, GENERATION_ID)).unwrap().outputs
    assert output.url == "https://storage.cdn-luma.com/dream_machine/0b7c6a54/image.jpg"


@pytest.mark.parametrize(("fixture_name", "kind", "code"), [
    ("generation_failed", FailureKind.TRANSIENT, "LUMA_GENERATION_FAILED"),
    ("generation_moderated", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
])
def test_failed_generations_are_classified(fixture_name: str, kind: FailureKind, code: str) -> None:
    provider, _ = luma(recorded("luma", fixture_name))
    status = run(provider.status(SECRET, GENERATION_ID)).unwrap()
    assert status.state is RemoteState.FAILED and status.failure is not None
    assert (status.failure.kind, status.failure.code) == (kind, code)


@pytest.mark.parametrize("answer", [
    recorded("luma", "generation_unknown_state"),
    recorded("luma", "generation_completed", assets={}),
    recorded("luma", "malformed"),
])
def test_surprising_generations_are_malformed(answer: httpx.Response) -> None:
    provider, _ = luma(answer)
    assert run(provider.status(SECRET, GENERATION_ID)).failure().code == "PROVIDER_MALFORMED_RESPONSE"


def test_unknown_generations_are_invalid_and_bad_ids_never_sent() -> None:
    provider, replay = luma(recorded("luma", "error_404"))
    failure = run(provider.status(SECRET, GENERATION_ID)).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "JOB_NOT_FOUND")
    assert run(provider.status(SECRET, "not-a-job-id")).failure().code == "INVALID_JOB_ID"
    assert len(replay.requests) == 1
    assert run(provider.find(SECRET, "sub-1")) == Success(None)


# ------------------------------------------------------------------ cancel


def test_cancel_deletes_the_generation_and_never_raises() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    provider, replay = luma(httpx.Response(204), recorded("luma", "error_404"), refuse)
    for _ in range(3):
        run(provider.cancel(SECRET, GENERATION_ID))
    run(provider.cancel(SECRET, ""))
    assert [(r.method, str(r.url)) for r in replay.requests] == [("DELETE", f"{API}/generations/{GENERATION_ID}")] * 3
    assert replay.requests[0].headers["authorization"] == f"Bearer {SECRET}"


# ------------------------------------------------------------------ upload


def test_images_cannot_be_uploaded_to_luma() -> None:
    provider, replay = luma()
    failure = run(provider.upload(SECRET, asset(), chunks_of(b"png"), START)).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INPUT_URL_REQUIRED")
    assert replay.requests == []


def test_a_luma_video_is_referenced_by_its_generation_id() -> None:
    provider, replay = luma()
    own = asset(MediaType.VIDEO, "video/mp4", provider_id="luma", provider_asset_id=GENERATION_ID)
    uploaded = run(provider.upload(SECRET, own, chunks_of(b"mp4"), START)).unwrap()
    assert (uploaded.provider_asset_id, uploaded.expires_at) == (f"generation:{GENERATION_ID}", None)
    foreign = asset(MediaType.VIDEO, "video/mp4", provider_id="runway", provider_asset_id=GENERATION_ID)
    assert run(provider.upload(SECRET, foreign, chunks_of(b"mp4"), START)).failure().code == "INPUT_URL_REQUIRED"
    assert replay.requests == []


# ------------------------------------------------------------------ download


def test_download_goes_through_the_guard() -> None:
    url = "https://storage.cdn-luma.com/dream_machine/d5f0a2e4/watermarked_video.mp4"
    provider, _ = luma(media(url, b"luma-bytes"))
    assert run(drain(provider.download(ProviderOutput(url=url)))) == b"luma-bytes"
    provider, replay = luma(private=True)
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(ProviderOutput(url=url))))
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(ProviderOutput(url="http://storage.cdn-luma.com/x.mp4"))))
    assert replay.requests == []

"""Runway tasks API: requests as documented, every task status and error class mapped, cancel,
ephemeral uploads and guarded downloads, replayed from recorded answers."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from returns.result import Failure, Success

from adapters.providers.runway import RUNWAY_INFO, RunwayModels, RunwayProvider
from domain.accounts import FailureKind
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

TASK_ID = "17f20503-6c24-4c16-946b-35dbbce2af2f"
API = "https://api.dev.runwayml.com"
IMAGE = InputRef(asset_id="a1", provider_asset_id="runway://ephemeral/3b5a", mime_type="image/png")


def runway(*answers: httpx.Response | Handler, private: bool = False,
           clock_offset: timedelta = timedelta()) -> tuple[RunwayProvider, Replay]:
    replay = Replay(*answers)
    client = http(replay)
    provider = RunwayProvider(client, downloader(client, private=private), clock=lambda: START + clock_offset)
    return provider, replay


def request(operation: OperationType = OperationType.TEXT_TO_VIDEO, inputs: tuple[InputRef, ...] = (),
            **params: object) -> SubmitRequest:
    return SubmitRequest(reference="sub-1", operation_type=operation, params=params, inputs=inputs)


def submit_failure(*answers: httpx.Response | Handler) -> ProviderFailure:
    provider, _ = runway(*answers)
    return run(provider.submit(SECRET, request(prompt="a lighthouse"))).failure()


# ------------------------------------------------------------------ capabilities


def test_info_offers_video_and_image_operations_priced_per_second_and_image() -> None:
    counts = {spec.operation_type: (spec.min_inputs, spec.max_inputs) for spec in RUNWAY_INFO.operations}
    assert counts == {OperationType.TEXT_TO_VIDEO: (0, 0), OperationType.IMAGE_TO_VIDEO: (1, 1),
                      OperationType.TEXT_TO_IMAGE: (0, 0), OperationType.IMAGE_TO_IMAGE: (1, 3)}
    video = RUNWAY_INFO.operation(OperationType.TEXT_TO_VIDEO).unwrap()
    assert video.price.cost(validate_params(video, {"prompt": "x", "duration": 10}).unwrap()) == 10
    assert video.price.cost(validate_params(video, {"prompt": "x"}).unwrap()) == 5
    image = RUNWAY_INFO.operation(OperationType.TEXT_TO_IMAGE).unwrap()
    assert image.price.cost(validate_params(image, {"prompt": "x"}).unwrap()) == 1


@pytest.mark.parametrize("params", [{"prompt": "x", "duration": 11}, {"prompt": "x", "ratio": "1:1"},
                                    {"prompt": ""}, {"prompt": "x", "sim_outcome": "success"}])
def test_params_outside_the_documented_ranges_are_refused_before_sending(params: dict[str, object]) -> None:
    provider, replay = runway()
    failure = run(provider.submit(SECRET, request(**params))).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INVALID_PARAMS")
    assert replay.requests == []


# ------------------------------------------------------------------ submit


def test_text_to_video_posts_the_documented_body_with_version_header() -> None:
    provider, replay = runway(recorded("runway", "task_created"))
    job_id = run(provider.submit(SECRET, request(prompt="a lighthouse", duration=8, seed=7)))
    assert job_id == Success(TASK_ID)
    sent = replay.last
    assert (sent.method, str(sent.url)) == ("POST", f"{API}/v1/text_to_video")
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.headers["x-runway-version"] == "2024-11-06"
    assert replay.json() == {"model": "gen4.5", "promptText": "a lighthouse", "ratio": "1280:720",
                             "duration": 8, "seed": 7}


def test_image_to_video_sends_the_uploaded_uri_as_prompt_image_and_no_empty_prompt() -> None:
    provider, replay = runway(recorded("runway", "task_created"))
    run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (IMAGE,))))
    assert str(replay.last.url) == f"{API}/v1/image_to_video"
    assert replay.json() == {"model": "gen4_turbo", "promptImage": "runway://ephemeral/3b5a",
                             "ratio": "1280:720", "duration": 5}


def test_image_to_image_sends_tagged_reference_images_to_text_to_image() -> None:
    second = InputRef(asset_id="a2", url="https://cdn.example.com/b.png", mime_type="image/png")
    client_models = RunwayModels(image_to_image="gen4_image_turbo")
    replay = Replay(recorded("runway", "task_created"))
    client = http(replay)
    provider = RunwayProvider(client, downloader(client), clock=lambda: START, models=client_models,
                              base_url="https://runway.internal.test/")
    run(provider.submit(SECRET, request(OperationType.IMAGE_TO_IMAGE, (IMAGE, second), prompt="@image1 in snow",
                                        ratio="1920:1080")))
    assert str(replay.last.url) == "https://runway.internal.test/v1/text_to_image"
    assert replay.json() == {"model": "gen4_image_turbo", "promptText": "@image1 in snow", "ratio": "1920:1080",
                             "referenceImages": [{"uri": "runway://ephemeral/3b5a", "tag": "image1"},
                                                 {"uri": "https://cdn.example.com/b.png", "tag": "image2"}]}


def test_a_created_task_without_a_usable_id_is_a_malformed_answer() -> None:
    failure = submit_failure(httpx.Response(200, json={"id": 12}))
    assert (failure.kind, failure.code) == (FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE")


@pytest.mark.parametrize(("fixture_name", "kind", "code", "retry_after"), [
    ("error_400_invalid", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", None),
    ("error_400_credits", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    ("error_429", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", 17),
    ("error_503", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
])
def test_error_answers_are_classified(fixture_name: str, kind: FailureKind, code: str,
                                      retry_after: int | None) -> None:
    failure = submit_failure(recorded("runway", fixture_name))
    assert (failure.kind, failure.code, failure.retry_after_seconds) == (kind, code, retry_after)


def test_transport_errors_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    failure = submit_failure(refuse)
    assert (failure.kind, failure.code) == (FailureKind.TRANSIENT, "PROVIDER_UNREACHABLE")


def test_the_secret_never_appears_in_a_failure_message() -> None:
    failure = submit_failure(httpx.Response(401, json={"error": f"Invalid API key {SECRET}"}))
    assert failure.kind is FailureKind.AUTH
    assert SECRET not in failure.message and "***" in failure.message


# ------------------------------------------------------------------ status


@pytest.mark.parametrize(("fixture_name", "state"), [
    ("task_pending", RemoteState.QUEUED),
    ("task_throttled", RemoteState.QUEUED),
    ("task_running", RemoteState.RUNNING),
    ("task_cancelled", RemoteState.CANCELLED),
])
def test_unfinished_and_cancelled_statuses(fixture_name: str, state: RemoteState) -> None:
    provider, replay = runway(recorded("runway", fixture_name))
    status = run(provider.status(SECRET, TASK_ID)).unwrap()
    assert status.state is state and status.failure is None and status.outputs == ()
    assert (replay.last.method, str(replay.last.url)) == ("GET", f"{API}/v1/tasks/{TASK_ID}")
    assert replay.last.headers["x-runway-version"] == "2024-11-06"


def test_running_reports_progress() -> None:
    provider, _ = runway(recorded("runway", "task_running"))
    assert run(provider.status(SECRET, TASK_ID)).unwrap().progress == 0.42


def test_succeeded_lists_the_output_urls() -> None:
    provider, _ = runway(recorded("runway", "task_succeeded"))
    status = run(provider.status(SECRET, TASK_ID)).unwrap()
    assert (status.state, status.raw_status) == (RemoteState.SUCCEEDED, "SUCCEEDED")
    assert [output.url for output in status.outputs] == [
        f"https://dnznrvs05pmza.cloudfront.net/{TASK_ID}.mp4?_jwt=eyJhbGciOi"]
    assert status.outputs[0].provider_asset_id == f"{TASK_ID}/0"


def test_a_success_older_than_the_output_lifetime_is_an_expired_output() -> None:
    provider, _ = runway(recorded("runway", "task_succeeded"), clock_offset=timedelta(hours=25))
    status = run(provider.status(SECRET, TASK_ID)).unwrap()
    assert status.state is RemoteState.FAILED
    assert status.failure is not None
    assert (status.failure.kind, status.failure.code) == (FailureKind.TRANSIENT, "OUTPUT_EXPIRED")


@pytest.mark.parametrize(("fixture_name", "kind", "code"), [
    ("task_failed_internal", FailureKind.TRANSIENT, "RUNWAY_TASK_FAILED"),
    ("task_failed_safety", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("task_failed_asset", FailureKind.INVALID, "RUNWAY_ASSET_INVALID"),
])
def test_failed_tasks_are_classified_by_failure_code(fixture_name: str, kind: FailureKind, code: str) -> None:
    provider, _ = runway(recorded("runway", fixture_name))
    status = run(provider.status(SECRET, TASK_ID)).unwrap()
    assert status.state is RemoteState.FAILED and status.failure is not None
    assert (status.failure.kind, status.failure.code) == (kind, code)


@pytest.mark.parametrize("answer", [
    recorded("runway", "task_unknown_status"),
    recorded("runway", "task_succeeded", output=[]),
    recorded("runway", "malformed"),
])
def test_surprising_task_bodies_are_malformed_failures(answer: httpx.Response) -> None:
    provider, _ = runway(answer)
    failure = run(provider.status(SECRET, TASK_ID)).failure()
    assert (failure.kind, failure.code) == (FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE")


def test_an_unknown_task_is_invalid_and_a_malformed_id_is_not_even_asked_for() -> None:
    provider, replay = runway(recorded("runway", "error_404"))
    failure = run(provider.status(SECRET, TASK_ID)).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "JOB_NOT_FOUND")
    bad = run(provider.status(SECRET, "../uploads")).failure()
    assert (bad.kind, bad.code) == (FailureKind.INVALID, "INVALID_JOB_ID")
    assert len(replay.requests) == 1


def test_find_cannot_look_tasks_up_by_reference() -> None:
    provider, replay = runway()
    assert run(provider.find(SECRET, "sub-1")) == Success(None)
    assert replay.requests == []


# ------------------------------------------------------------------ cancel


def test_cancel_deletes_the_task() -> None:
    provider, replay = runway(httpx.Response(204))
    run(provider.cancel(SECRET, TASK_ID))
    assert (replay.last.method, str(replay.last.url)) == ("DELETE", f"{API}/v1/tasks/{TASK_ID}")
    assert replay.last.headers["authorization"] == f"Bearer {SECRET}"


def test_cancel_never_raises() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    provider, replay = runway(recorded("runway", "error_404"), refuse)
    run(provider.cancel(SECRET, TASK_ID))
    run(provider.cancel(SECRET, TASK_ID))
    run(provider.cancel(SECRET, "not a task"))
    assert len(replay.requests) == 2


# ------------------------------------------------------------------ upload


def test_upload_takes_an_ephemeral_slot_and_posts_the_file_without_the_key() -> None:
    storage = Replay(httpx.Response(204))

    def s3(request: httpx.Request) -> httpx.Response:
        return storage(request)

    provider, replay = runway(recorded("runway", "upload_slot"), s3)
    uploaded = run(provider.upload(SECRET, asset(original_filename="cat.png"), chunks_of(b"PNGDATA" * 1000), START))
    assert uploaded.unwrap().provider_asset_id == "runway://ephemeral/3b5a"
    assert uploaded.unwrap().expires_at == START + timedelta(hours=23)
    slot = replay.requests[0]
    assert (slot.method, str(slot.url)) == ("POST", f"{API}/v1/uploads")
    assert replay.json(0) == {"filename": "cat.png", "type": "ephemeral"}
    post = storage.last
    assert str(post.url) == "https://runway-task-artifacts.s3.amazonaws.com/"
    assert "authorization" not in post.headers
    content = post.read()
    assert b'name="key"' in content and b"ephemeral/3b5a/input.png" in content
    assert b'name="file"; filename="cat.png"' in content and b"PNGDATA" * 1000 in content


def test_upload_storage_refusal_is_transient() -> None:
    provider, _ = runway(recorded("runway", "upload_slot"), httpx.Response(403, text="<Error>expired</Error>"))
    failure = run(provider.upload(SECRET, asset(), chunks_of(b"x"), START)).failure()
    assert (failure.kind, failure.code) == (FailureKind.TRANSIENT, "RUNWAY_UPLOAD_FAILED")


def test_upload_refuses_a_slot_on_a_private_address_or_without_a_runway_uri() -> None:
    provider, replay = runway(recorded("runway", "upload_slot"), private=True)
    assert run(provider.upload(SECRET, asset(), chunks_of(b"x"), START)).failure().code == \
        "PROVIDER_MALFORMED_RESPONSE"
    assert len(replay.requests) == 1
    provider, _ = runway(recorded("runway", "upload_slot", runwayUri="https://elsewhere.example.com/x"))
    assert run(provider.upload(SECRET, asset(), chunks_of(b"x"), START)).failure().code == \
        "PROVIDER_MALFORMED_RESPONSE"


def test_upload_over_the_documented_limit_is_refused_before_sending() -> None:
    provider, replay = runway()
    failure = run(provider.upload(SECRET, asset(size=201 * 1024 * 1024), chunks_of(b"x"), START)).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INPUT_TOO_LARGE")
    assert replay.requests == []


def test_upload_slot_errors_are_classified() -> None:
    provider, _ = runway(recorded("runway", "error_401"))
    assert run(provider.upload(SECRET, asset(), chunks_of(b"x"), START)).failure().kind is FailureKind.AUTH


# ------------------------------------------------------------------ download


def test_download_streams_the_output_through_the_guard() -> None:
    url = f"https://dnznrvs05pmza.cloudfront.net/{TASK_ID}.mp4"
    provider, _ = runway(media(url, b"video-bytes"))
    assert run(drain(provider.download(ProviderOutput(url=url)))) == b"video-bytes"


def test_download_refuses_an_output_on_a_private_address() -> None:
    provider, replay = runway(private=True)
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(ProviderOutput(url="https://internal.example.com/x.mp4"))))
    assert replay.requests == []


def test_submit_failure_is_a_failure_value_not_an_exception() -> None:
    provider, _ = runway(recorded("runway", "error_503"))
    assert isinstance(run(provider.submit(SECRET, request(prompt="x"))), Failure)

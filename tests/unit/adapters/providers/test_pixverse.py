"""PixVerse OpenAPI: documented requests, numeric video statuses, ErrCode answers (also on HTTP
200), uploads, signed webhooks and guarded downloads, replayed from recorded answers."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from returns.result import Result, Success

from adapters.providers.pixverse import (
    PIXVERSE_INFO,
    PixverseProvider,
    canonical_payload,
    webhook_signature,
)
from domain.accounts import FailureKind
from domain.assets import MediaType
from domain.errors import DomainError, ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable
from domain.providers import (
    InputRef,
    ProviderFailure,
    ProviderOutput,
    RemoteState,
    SubmitRequest,
    WebhookEvent,
    validate_params,
)
from tests.unit.adapters.providers.media_replay import (
    SECRET,
    START,
    Handler,
    Replay,
    asset,
    body,
    chunks_of,
    downloader,
    drain,
    http,
    media,
    recorded,
    run,
)

API = "https://app-api.pixverse.ai"
VIDEO_ID = "356280142345216"
WEBHOOK_SECRET = "whk-test-secret"


def pixverse(*answers: httpx.Response | Handler, private: bool = False) -> tuple[PixverseProvider, Replay]:
    replay = Replay(*answers)
    client = http(replay)
    provider = PixverseProvider(client, downloader(client, private=private), clock=lambda: START,
                                webhook_secret=WEBHOOK_SECRET)
    return provider, replay


def ref(provider_asset_id: str | None, url: str | None = None) -> InputRef:
    return InputRef(asset_id="a1", provider_asset_id=provider_asset_id, url=url, mime_type="image/png")


def request(operation: OperationType = OperationType.TEXT_TO_VIDEO, inputs: tuple[InputRef, ...] = (),
            reference: str = "sub-1", **params: object) -> SubmitRequest:
    params.setdefault("prompt", "a red bicycle in the rain")
    return SubmitRequest(reference=reference, operation_type=operation, params=params, inputs=inputs)


def submit_failure(*answers: httpx.Response | Handler) -> ProviderFailure:
    provider, _ = pixverse(*answers)
    return run(provider.submit(SECRET, request())).failure()


# ------------------------------------------------------------------ capabilities


def test_info_offers_four_video_operations_priced_per_second() -> None:
    counts = {spec.operation_type: (spec.min_inputs, spec.max_inputs) for spec in PIXVERSE_INFO.operations}
    assert counts == {OperationType.TEXT_TO_VIDEO: (0, 0), OperationType.IMAGE_TO_VIDEO: (1, 1),
                      OperationType.VIDEO_TRANSITION: (2, 2), OperationType.VIDEO_EXTEND: (1, 1)}
    spec = PIXVERSE_INFO.operation(OperationType.TEXT_TO_VIDEO).unwrap()
    assert spec.price.cost(validate_params(spec, {"prompt": "x", "duration": 8}).unwrap()) == 8
    assert spec.price.cost(validate_params(spec, {"prompt": "x"}).unwrap()) == 5


@pytest.mark.parametrize("params", [
    {"quality": "1080p", "duration": 8},
    {"motion_mode": "fast", "duration": 8},
    {"duration": 6},
    {"aspect_ratio": "2:1"},
    {"prompt": "x" * 2049},
    {"style": "anime"},
])
def test_params_the_docs_forbid_are_refused_before_sending(params: dict[str, object]) -> None:
    provider, replay = pixverse()
    failure = run(provider.submit(SECRET, request(**params))).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INVALID_PARAMS")
    assert replay.requests == []


# ------------------------------------------------------------------ submit


def test_text_to_video_posts_the_documented_body_and_headers() -> None:
    provider, replay = pixverse(recorded("pixverse", "generate_ok"))
    job_id = run(provider.submit(SECRET, request(negative_prompt="blur", seed=42)))
    assert job_id == Success(VIDEO_ID)
    sent = replay.last
    assert (sent.method, str(sent.url)) == ("POST", f"{API}/openapi/v2/video/text/generate")
    assert sent.headers["api-key"] == SECRET
    assert uuid.UUID(sent.headers["ai-trace-id"])
    assert replay.json() == {"prompt": "a red bicycle in the rain", "negative_prompt": "blur", "duration": 5,
                             "quality": "540p", "seed": 42, "aspect_ratio": "16:9", "model": "v4.5"}


def test_every_request_a_resubmission_included_gets_a_fresh_trace_id() -> None:
    provider, replay = pixverse(recorded("pixverse", "generate_ok"), recorded("pixverse", "generate_ok"),
                                recorded("pixverse", "generate_ok"), recorded("pixverse", "result_generating"),
                                recorded("pixverse", "result_generating"))
    run(provider.submit(SECRET, request(reference="sub-1")))
    run(provider.submit(SECRET, request(reference="sub-1")))
    run(provider.submit(SECRET, request(reference="sub-2")))
    run(provider.status(SECRET, VIDEO_ID))
    run(provider.status(SECRET, VIDEO_ID))
    traces = [sent.headers["ai-trace-id"] for sent in replay.requests]
    assert len(set(traces)) == 5


@pytest.mark.parametrize(("operation", "inputs", "path", "fields"), [
    (OperationType.IMAGE_TO_VIDEO, ("img:4018873",), "img", {"img_id": 4018873}),
    (OperationType.VIDEO_TRANSITION, ("img:11", "img:22"), "transition",
     {"first_frame_img_id": 11, "last_frame_img_id": 22}),
    (OperationType.VIDEO_EXTEND, ("video:356280142345216",), "extend", {"source_video_id": 356280142345216}),
    (OperationType.VIDEO_EXTEND, ("media:771204",), "extend", {"video_media_id": 771204}),
])
def test_inputs_become_the_documented_ids(operation: OperationType, inputs: tuple[str, ...], path: str,
                                          fields: dict[str, int]) -> None:
    provider, replay = pixverse(recorded("pixverse", "generate_ok"))
    run(provider.submit(SECRET, request(operation, tuple(ref(i) for i in inputs))))
    assert str(replay.last.url) == f"{API}/openapi/v2/video/{path}/generate"
    sent = replay.json()
    assert {key: sent[key] for key in fields} == fields
    assert "aspect_ratio" not in sent


@pytest.mark.parametrize(("operation", "inputs"), [
    (OperationType.IMAGE_TO_VIDEO, (ref(None, url="https://cdn.example.com/cat.png"),)),
    (OperationType.IMAGE_TO_VIDEO, (ref("media:5"),)),
    (OperationType.VIDEO_EXTEND, (ref("img:5"),)),
])
def test_inputs_not_uploaded_to_pixverse_or_of_the_wrong_kind_are_invalid(
        operation: OperationType, inputs: tuple[InputRef, ...]) -> None:
    provider, replay = pixverse()
    failure = run(provider.submit(SECRET, request(operation, inputs))).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INVALID_INPUTS")
    assert replay.requests == []


@pytest.mark.parametrize(("answer", "kind", "code", "retry_after"), [
    (recorded("pixverse", "error_concurrency"), FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", None),
    (recorded("pixverse", "error_credits"), FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    (recorded("pixverse", "error_api_key"), FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    (recorded("pixverse", "error_invalid_param"), FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", None),
    (recorded("pixverse", "error_moderated"), FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, None),
    (recorded("pixverse", "error_unexplained"), FailureKind.TRANSIENT, "PIXVERSE_ERROR", None),
    (recorded("pixverse", "error_401"), FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    (recorded("pixverse", "error_400_credits"), FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    (recorded("pixverse", "error_429"), FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", 30),
    (recorded("pixverse", "error_500"), FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    (recorded("pixverse", "malformed"), FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
    (recorded("pixverse", "no_errcode"), FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
    (recorded("pixverse", "generate_ok", Resp={}), FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", None),
])
def test_error_answers_and_err_codes_are_classified(answer: httpx.Response, kind: FailureKind, code: str,
                                                    retry_after: int | None) -> None:
    failure = submit_failure(answer)
    assert (failure.kind, failure.code, failure.retry_after_seconds) == (kind, code, retry_after)
    assert "ErrCode" in failure.message or code in ("PROVIDER_UNAVAILABLE", "PROVIDER_MALFORMED_RESPONSE")


def test_the_secret_never_appears_in_a_failure_message() -> None:
    failure = submit_failure(httpx.Response(200, json={"ErrCode": 10005, "ErrMsg": f"Invalid API-KEY {SECRET}"}))
    assert failure.kind is FailureKind.AUTH
    assert SECRET not in failure.message


# ------------------------------------------------------------------ status


def test_generating_is_running() -> None:
    provider, replay = pixverse(recorded("pixverse", "result_generating"))
    status = run(provider.status(SECRET, VIDEO_ID)).unwrap()
    assert (status.state, status.raw_status) == (RemoteState.RUNNING, "status 5")
    assert (replay.last.method, str(replay.last.url)) == ("GET", f"{API}/openapi/v2/video/result/{VIDEO_ID}")
    assert replay.last.headers["api-key"] == SECRET


def test_success_carries_the_video_url_and_id() -> None:
    provider, _ = pixverse(recorded("pixverse", "result_success"))
    status = run(provider.status(SECRET, VIDEO_ID)).unwrap()
    assert status.state is RemoteState.SUCCEEDED
    (output,) = status.outputs
    assert output.url.startswith("https://media.pixverse.ai/")
    assert (output.mime_type, output.provider_asset_id) == ("video/mp4", VIDEO_ID)


@pytest.mark.parametrize(("fixture_name", "kind", "code"), [
    ("result_deleted", FailureKind.TRANSIENT, "OUTPUT_EXPIRED"),
    ("result_moderated", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("result_failed", FailureKind.TRANSIENT, "PIXVERSE_GENERATION_FAILED"),
])
def test_final_statuses_are_classified(fixture_name: str, kind: FailureKind, code: str) -> None:
    provider, _ = pixverse(recorded("pixverse", fixture_name))
    status = run(provider.status(SECRET, VIDEO_ID)).unwrap()
    assert status.state is RemoteState.FAILED and status.failure is not None
    assert (status.failure.kind, status.failure.code) == (kind, code)


@pytest.mark.parametrize("answer", [
    recorded("pixverse", "result_unknown_status"),
    recorded("pixverse", "result_success", Resp={"id": 1, "status": 1, "url": ""}),
])
def test_surprising_results_are_malformed(answer: httpx.Response) -> None:
    provider, _ = pixverse(answer)
    assert run(provider.status(SECRET, VIDEO_ID)).failure().code == "PROVIDER_MALFORMED_RESPONSE"


def test_status_err_codes_are_classified_and_bad_ids_never_sent() -> None:
    provider, replay = pixverse(recorded("pixverse", "error_api_key"))
    assert run(provider.status(SECRET, VIDEO_ID)).failure().kind is FailureKind.AUTH
    for bad in ("", "12ab", "00000000-0000-0000-0000-000000000000", "0"):
        failure = run(provider.status(SECRET, bad)).failure()
        assert (failure.kind, failure.code) == (FailureKind.INVALID, "INVALID_JOB_ID")
    assert len(replay.requests) == 1


def test_find_and_cancel_do_not_call_pixverse() -> None:
    provider, replay = pixverse()
    assert run(provider.find(SECRET, "sub-1")) == Success(None)
    run(provider.cancel(SECRET, VIDEO_ID))
    assert replay.requests == []


# ------------------------------------------------------------------ upload


def test_an_image_goes_to_the_image_upload_endpoint() -> None:
    provider, replay = pixverse(recorded("pixverse", "image_upload_ok"))
    uploaded = run(provider.upload(SECRET, asset(original_filename="cat.png"), chunks_of(b"\x89PNG" * 500),
                                   START)).unwrap()
    assert uploaded.provider_asset_id == "img:4018873"
    assert uploaded.expires_at == START + timedelta(hours=24)
    sent = replay.last
    assert (sent.method, str(sent.url)) == ("POST", f"{API}/openapi/v2/image/upload")
    assert sent.headers["api-key"] == SECRET
    content = sent.read()
    assert b'name="image"; filename="cat.png"' in content and b"\x89PNG" * 500 in content


def test_a_pixverse_video_is_referenced_not_uploaded_and_other_videos_go_to_media_upload() -> None:
    provider, replay = pixverse(recorded("pixverse", "media_upload_ok"))
    own = asset(MediaType.VIDEO, "video/mp4", provider_id="pixverse", provider_asset_id=VIDEO_ID)
    assert run(provider.upload(SECRET, own, chunks_of(b"v"), START)).unwrap().provider_asset_id == \
        f"video:{VIDEO_ID}"
    assert replay.requests == []
    other = asset(MediaType.VIDEO, "video/mp4", provider_id="luma", provider_asset_id="d5f0a2e4")
    assert run(provider.upload(SECRET, other, chunks_of(b"mp4"), START)).unwrap().provider_asset_id == "media:771204"
    assert str(replay.last.url) == f"{API}/openapi/v2/media/upload"
    assert b'name="file"' in replay.last.read()


def test_uploads_pixverse_cannot_take_are_refused_before_sending() -> None:
    provider, replay = pixverse()
    audio = run(provider.upload(SECRET, asset(MediaType.AUDIO, "audio/mpeg"), chunks_of(b"a"), START)).failure()
    big = run(provider.upload(SECRET, asset(size=20_000_000), chunks_of(b"a"), START)).failure()
    assert (audio.kind, big.kind, big.code) == (FailureKind.INVALID, FailureKind.INVALID, "INPUT_TOO_LARGE")
    assert replay.requests == []


def test_upload_err_codes_are_classified() -> None:
    provider, _ = pixverse(recorded("pixverse", "error_credits"))
    assert run(provider.upload(SECRET, asset(), chunks_of(b"x"), START)).failure().kind is FailureKind.CREDITS
    provider, _ = pixverse(recorded("pixverse", "image_upload_ok", Resp={"img_url": "https://x"}))
    assert run(provider.upload(SECRET, asset(), chunks_of(b"x"), START)).failure().code == \
        "PROVIDER_MALFORMED_RESPONSE"


# ------------------------------------------------------------------ webhooks


def signed(payload: dict[str, object], *, secret: str = WEBHOOK_SECRET, at: int | None = None,
           nonce: str = "n" * 32) -> tuple[dict[str, str], bytes]:
    timestamp = str(at if at is not None else int(START.timestamp()))
    headers = {"Webhook-Timestamp": timestamp, "Webhook-Nonce": nonce, "Content-Type": "application/json",
               "Webhook-Signature": webhook_signature(secret, timestamp, nonce, payload), "Ai-Trace-Id": "t"}
    return headers, json.dumps(payload).encode()


def run_verify(provider: PixverseProvider, headers: dict[str, str], raw: bytes,
               offset: int = 0) -> Result[WebhookEvent, DomainError]:
    return provider.verify_webhook(headers, raw, START + timedelta(seconds=offset))


def test_the_signed_payload_is_sorted_form_encoding_with_lowercase_booleans() -> None:
    assert canonical_payload(body("pixverse", "webhook_success")) == (
        "credits=100&has_audio=true&id=356280142345216&size=10.5&status=1"
        "&url=https%3A%2F%2Fmedia.pixverse.ai%2F356280142345216.mp4")


def test_a_valid_webhook_becomes_an_event_with_its_status() -> None:
    provider, _ = pixverse()
    headers, raw = signed(body("pixverse", "webhook_success"))
    event = run_verify(provider, headers, raw).unwrap()
    assert (event.provider_job_id, event.webhook_id, event.sent_at) == (VIDEO_ID, "n" * 32,
                                                                        START.replace(microsecond=0))
    assert event.status is not None and event.status.state is RemoteState.SUCCEEDED


@pytest.mark.parametrize("tamper", ["secret", "body", "stale", "future", "missing", "timestamp", "json"])
def test_webhooks_failing_any_check_are_unauthenticated(tamper: str) -> None:
    provider, _ = pixverse()
    payload = body("pixverse", "webhook_success")
    headers, raw = signed(payload, secret="other-secret" if tamper == "secret" else WEBHOOK_SECRET)
    offset = {"stale": 301, "future": -301}.get(tamper, 0)
    if tamper == "body":
        raw = json.dumps(payload | {"status": 7}).encode()
    if tamper == "missing":
        del headers["Webhook-Signature"]
    if tamper == "timestamp":
        headers["Webhook-Timestamp"] = "yesterday"
    if tamper == "json":
        raw = b"not json"
    failure = run_verify(provider, headers, raw, offset).failure()
    assert failure.code is ErrorCode.UNAUTHENTICATED


def test_webhooks_are_refused_when_no_secret_is_configured() -> None:
    client = http(Replay())
    provider = PixverseProvider(client, downloader(client), clock=lambda: START)
    headers, raw = signed(body("pixverse", "webhook_success"))
    assert provider.verify_webhook(headers, raw, START).failure().code is ErrorCode.UNAUTHENTICATED


# ------------------------------------------------------------------ download


def test_download_streams_the_video_through_the_guard_and_refuses_private_hosts() -> None:
    url = f"https://media.pixverse.ai/{VIDEO_ID}.mp4"
    provider, _ = pixverse(media(url, b"mp4-bytes"))
    assert run(drain(provider.download(ProviderOutput(url=url)))) == b"mp4-bytes"
    provider, replay = pixverse(private=True)
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(ProviderOutput(url=url))))
    assert replay.requests == []

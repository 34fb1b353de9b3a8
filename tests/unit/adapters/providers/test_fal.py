"""fal adapter against recorded answers of the documented queue, storage and webhook formats."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from returns.result import Failure, Success

from adapters.providers.fal import FalProvider, app_of, public_key
from domain.accounts import FailureKind
from domain.assets import Asset, AssetSource, MediaType
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable
from domain.providers import InputRef, ProviderFailure, ProviderOutput, RemoteState, SubmitRequest
from tests.support.recorded_http import Replay, downloader, fixture_json, recorded

SECRET = "fal-key-id:0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RID = "80e732af-660e-45cd-bd63-580e4f2a94cc"
QUEUE = "https://queue.fal.run"
SIGNER = Ed25519PrivateKey.generate()
PUBLIC_RAW = SIGNER.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


def provider(replay: Replay, **options: object) -> FalProvider:
    client = replay.client()
    return FalProvider(client, downloader(client, private_hosts=("internal.example",)), clock=lambda: NOW,
                       webhook_keys=[PUBLIC_RAW.hex()], **options)  # type: ignore[arg-type]


def text_request(**params: object) -> SubmitRequest:
    return SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                         params={"prompt": "a red bicycle", **params})


def failure_of(result: object) -> ProviderFailure:
    assert isinstance(result, Failure), result
    found = result.failure()
    assert isinstance(found, ProviderFailure)
    return found


def submitted(runner: asyncio.Runner, replay: Replay) -> FalProvider:
    """A client that has queued RID for fal-ai/flux/schnell (so it knows the app)."""
    replay.on("POST", r"^https://queue\.fal\.run/fal-ai/flux/schnell$", recorded("fal", "queued"))
    client = provider(replay)
    assert runner.run(client.submit(SECRET, text_request())) == Success(RID)
    return client


# ---------------------------------------------------------------- capabilities


def test_info_declares_operations_and_prices() -> None:
    info = provider(Replay()).info
    assert info.id == "fal"
    assert len(info.operations) == 5
    assert info.operation("text_to_image").unwrap().price.cost({"num_images": 3}) == 3
    assert info.operation("text_to_video").unwrap().price.cost({"duration": 10}) == 50
    assert info.operation("upscale").unwrap().max_inputs == 1


def test_apps_are_the_owner_and_app_of_an_endpoint() -> None:
    assert app_of("fal-ai/flux/schnell") == "fal-ai/flux"
    assert app_of("fal-ai/kling-video/v1.6/standard/text-to-video") == "fal-ai/kling-video"
    assert app_of("fal-ai/clarity-upscaler") == "fal-ai/clarity-upscaler"


@pytest.mark.parametrize("encoded", [PUBLIC_RAW.hex(), base64.b64encode(PUBLIC_RAW).decode(),
                                     base64.urlsafe_b64encode(PUBLIC_RAW).decode().rstrip("=")])
def test_webhook_keys_are_read_from_hex_or_base64(encoded: str) -> None:
    assert public_key(encoded).public_bytes(Encoding.Raw, PublicFormat.Raw) == PUBLIC_RAW


@pytest.mark.parametrize("encoded", ["", "abcd", "zz" * 32, base64.b64encode(b"short").decode()])
def test_malformed_webhook_keys_are_refused(encoded: str) -> None:
    with pytest.raises(ValueError):
        public_key(encoded)


# ---------------------------------------------------------------- submit


def test_submit_queues_the_endpoint_with_the_key_header(runner: asyncio.Runner) -> None:
    replay = Replay()
    submitted(runner, replay)
    sent = replay.requests[0]
    assert sent.headers["authorization"] == f"Key {SECRET}"
    assert json.loads(sent.content) == {"prompt": "a red bicycle", "image_size": "landscape_4_3",
                                        "num_inference_steps": 4, "num_images": 1}
    assert "fal_webhook" not in str(sent.url)


def test_submit_sends_inputs_the_duration_enum_and_the_webhook(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/fal-ai/kling-video/v1\.6/standard/image-to-video", recorded("fal", "queued"))
    client = provider(replay, webhook_url="https://gateway.example/webhooks/fal")
    request = SubmitRequest(reference="s", operation_type=OperationType.IMAGE_TO_VIDEO,
                            params={"prompt": "waves", "duration": 10},
                            inputs=(InputRef(asset_id="a", provider_asset_id="https://v3.fal.media/files/x.png",
                                             mime_type="image/png"),))
    assert runner.run(client.submit(SECRET, request)) == Success(RID)
    sent = replay.requests[0]
    body = json.loads(sent.content)
    assert body["duration"] == "10" and body["image_url"] == "https://v3.fal.media/files/x.png"
    assert sent.url.params["fal_webhook"] == "https://gateway.example/webhooks/fal"


def test_invalid_params_are_refused_before_any_call(runner: asyncio.Runner) -> None:
    replay = Replay()
    found = failure_of(runner.run(provider(replay).submit(SECRET, text_request(num_images=5))))
    assert (found.kind, found.code) == (FailureKind.INVALID, "INVALID_PARAMS")
    assert replay.requests == []


@pytest.mark.parametrize(("fixture", "kind", "code"), [
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_403", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_403_balance", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"),
    ("error_422", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"),
    ("error_422_moderated", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("error_429", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    ("error_500", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("queued_without_id", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
])
def test_submit_failures_are_classified(runner: asyncio.Runner, fixture: str, kind: FailureKind,
                                        code: str) -> None:
    replay = Replay().on("POST", r"/fal-ai/flux/schnell$", recorded("fal", fixture))
    found = failure_of(runner.run(provider(replay).submit(SECRET, text_request())))
    assert (found.kind, found.code) == (kind, code)
    if kind is FailureKind.RATE_LIMITED:
        assert found.retry_after_seconds == 12


def test_the_secret_never_appears_in_a_failure(runner: asyncio.Runner) -> None:
    echo = httpx.Response(401, json={"detail": f"Invalid key {SECRET}"})
    found = failure_of(runner.run(provider(Replay().on("POST", r".", echo)).submit(SECRET, text_request())))
    assert SECRET not in found.message


def test_find_cannot_search_the_queue() -> None:
    assert asyncio.run(provider(Replay()).find(SECRET, "sub-1")) == Success(None)


# ---------------------------------------------------------------- status


def test_queue_states_are_mapped(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", rf"/fal-ai/flux/requests/{RID}/status$", recorded("fal", "status_in_queue"),
                         recorded("fal", "status_in_progress"))
    client = submitted(runner, replay)
    assert runner.run(client.status(SECRET, RID)).unwrap().state is RemoteState.QUEUED
    assert runner.run(client.status(SECRET, RID)).unwrap().state is RemoteState.RUNNING
    assert str(replay.requests[-1].url) == f"{QUEUE}/fal-ai/flux/requests/{RID}/status"


@pytest.mark.parametrize(("result", "state", "kind", "code"), [
    ("result_images", RemoteState.SUCCEEDED, None, None),
    ("result_video", RemoteState.SUCCEEDED, None, None),
    ("result_upscaled", RemoteState.SUCCEEDED, None, None),
    ("result_all_flagged", RemoteState.FAILED, FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("result_no_files", RemoteState.FAILED, FailureKind.TRANSIENT, "PROVIDER_NO_OUTPUT"),
    ("result_moderated", RemoteState.FAILED, FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("result_invalid", RemoteState.FAILED, FailureKind.INVALID, "PROVIDER_REJECTED_INPUT"),
    ("result_cancelled", RemoteState.CANCELLED, None, None),
    ("result_runner_error", RemoteState.FAILED, FailureKind.TRANSIENT, "FAL_RUNNER_DISCONNECTED"),
    ("result_bad_request", RemoteState.FAILED, FailureKind.INVALID, "FAL_BAD_REQUEST"),
])
def test_a_completed_request_is_judged_by_its_result(runner: asyncio.Runner, result: str, state: RemoteState,
                                                      kind: FailureKind | None, code: str | None) -> None:
    replay = Replay().on("GET", r"/status$", recorded("fal", "status_completed")) \
        .on("GET", rf"/fal-ai/flux/requests/{RID}$", recorded("fal", result))
    status = runner.run(submitted(runner, replay).status(SECRET, RID)).unwrap()
    assert status.state is state and status.raw_status == "COMPLETED"
    assert (status.failure.kind if status.failure else None) == kind
    assert (status.failure.code if status.failure else None) == code
    result_call = replay.sent("GET", rf"/requests/{RID}$")[0]
    assert str(result_call.url) == f"{QUEUE}/fal-ai/flux/requests/{RID}"
    assert result_call.headers["authorization"] == f"Key {SECRET}"


def test_outputs_keep_their_content_type_and_drop_flagged_images(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r"/status$", recorded("fal", "status_completed")) \
        .on("GET", rf"/requests/{RID}$", recorded("fal", "result_images"), recorded("fal", "result_video"))
    client = submitted(runner, replay)
    images = runner.run(client.status(SECRET, RID)).unwrap().outputs
    assert [(o.url, o.mime_type) for o in images] == [("https://v3.fal.media/files/rabbit/a_out.jpg", "image/jpeg")]
    video = runner.run(client.status(SECRET, RID)).unwrap().outputs
    assert [(o.url, o.mime_type) for o in video] == [("https://v3.fal.media/files/koala/clip.mp4", "video/mp4")]


def test_a_completed_status_with_an_error_fails_without_fetching_the_result(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r"/status$", recorded("fal", "status_completed_error"))
    status = runner.run(submitted(runner, replay).status(SECRET, RID)).unwrap()
    assert status.state is RemoteState.FAILED
    assert status.failure is not None and status.failure.kind is FailureKind.TRANSIENT
    assert status.failure.code == "FAL_REQUEST_TIMEOUT"
    assert replay.sent("GET", rf"/requests/{RID}$") == []


@pytest.mark.parametrize(("result", "kind"), [
    ("error_401", FailureKind.AUTH), ("error_429", FailureKind.RATE_LIMITED), ("error_500", FailureKind.TRANSIENT),
    ("malformed", FailureKind.TRANSIENT),
])
def test_a_failed_result_fetch_is_a_failure_of_the_call(runner: asyncio.Runner, result: str,
                                                         kind: FailureKind) -> None:
    replay = Replay().on("GET", r"/status$", recorded("fal", "status_completed")) \
        .on("GET", rf"/requests/{RID}$", recorded("fal", result))
    assert failure_of(runner.run(submitted(runner, replay).status(SECRET, RID))).kind is kind


@pytest.mark.parametrize(("fixture", "kind", "code"), [
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_429", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    ("error_500", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("status_surprising", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
])
def test_status_failures_are_typed(runner: asyncio.Runner, fixture: str, kind: FailureKind, code: str) -> None:
    replay = Replay().on("GET", r"/status$", recorded("fal", fixture))
    found = failure_of(runner.run(submitted(runner, replay).status(SECRET, RID)))
    assert (found.kind, found.code) == (kind, code)


def test_after_a_restart_the_configured_apps_are_tried_in_turn(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", rf"/fal-ai/kling-video/requests/{RID}/status$", recorded("fal", "status_in_progress")) \
        .on("GET", r"/status$", recorded("fal", "error_404"))
    fresh = provider(replay)
    assert runner.run(fresh.status(SECRET, RID)).unwrap().state is RemoteState.RUNNING
    assert [r.url.path for r in replay.requests] == [f"/fal-ai/flux/requests/{RID}/status",
                                                     f"/fal-ai/kling-video/requests/{RID}/status"]
    runner.run(fresh.status(SECRET, RID))
    assert replay.requests[-1].url.path == f"/fal-ai/kling-video/requests/{RID}/status"


def test_a_request_no_app_knows_is_not_found(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r"/status$", recorded("fal", "error_404"))
    found = failure_of(runner.run(provider(replay).status(SECRET, RID)))
    assert (found.kind, found.code) == (FailureKind.INVALID, "JOB_NOT_FOUND")
    assert len(replay.requests) == 3


@pytest.mark.parametrize("job_id", ["", "../../x", "a/b", "x" * 101])
def test_a_malformed_request_id_is_refused_without_a_call(runner: asyncio.Runner, job_id: str) -> None:
    replay = Replay()
    assert failure_of(runner.run(provider(replay).status(SECRET, job_id))).code == "INVALID_JOB_ID"
    assert replay.requests == []


# ---------------------------------------------------------------- cancel


def test_cancel_puts_to_the_cancel_endpoint_of_the_app(runner: asyncio.Runner) -> None:
    replay = Replay().on("PUT", r"/cancel$", recorded("fal", "cancel_requested"))
    runner.run(submitted(runner, replay).cancel(SECRET, RID))
    assert [str(r.url) for r in replay.sent("PUT", r".")] == [f"{QUEUE}/fal-ai/flux/requests/{RID}/cancel"]


@pytest.mark.parametrize("answer", ["cancel_already_completed", "error_404", "error_500", "malformed"])
def test_cancel_never_raises(runner: asyncio.Runner, answer: str) -> None:
    runner.run(provider(Replay().on("PUT", r"/cancel$", recorded("fal", answer))).cancel(SECRET, RID))

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    runner.run(provider(Replay().on("PUT", r".", broken)).cancel(SECRET, RID))
    nothing = Replay()
    runner.run(provider(nothing).cancel(SECRET, "../x"))
    assert nothing.requests == []


# ---------------------------------------------------------------- upload


def asset() -> Asset:
    return Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                 mime_type="image/png", size_bytes=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(),
                 storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename="input.png")


async def chunks() -> AsyncIterator[bytes]:
    yield PNG[:8]
    yield PNG[8:]


def test_upload_initiates_then_puts_the_bytes_without_the_key(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"^https://rest\.fal\.ai/storage/upload/initiate\?storage_type=gcs$",
                         recorded("fal", "upload_initiated")) \
        .on("PUT", r"^https://storage\.fal-uploads\.example/", httpx.Response(200))
    uploaded = runner.run(provider(replay).upload(SECRET, asset(), chunks(), NOW)).unwrap()
    assert uploaded.provider_asset_id == "https://v3.fal.media/files/panda/8c1a_input.png"
    assert uploaded.expires_at == NOW + timedelta(hours=24)
    initiate, put = replay.requests
    assert initiate.headers["authorization"] == f"Key {SECRET}"
    assert json.loads(initiate.content) == {"content_type": "image/png", "file_name": "input.png"}
    assert json.loads(initiate.headers["x-fal-object-lifecycle-preference"]) == {
        "expiration_duration_seconds": 86400}
    assert "authorization" not in put.headers
    assert put.content == PNG
    assert put.headers["content-length"] == str(len(PNG))
    assert put.headers["content-type"] == "image/png"


def test_an_upload_url_on_a_private_address_is_refused(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/initiate\?storage_type=gcs$", recorded("fal", "upload_initiated_private")) \
        .on("PUT", r".", httpx.Response(200))
    found = failure_of(runner.run(provider(replay).upload(SECRET, asset(), chunks(), NOW)))
    assert (found.kind, found.code) == (FailureKind.TRANSIENT, "PROVIDER_UPLOAD_REFUSED")
    assert replay.sent("PUT", r".") == []


@pytest.mark.parametrize(("initiate", "put", "kind"), [
    ("error_401", None, FailureKind.AUTH),
    ("error_403_balance", None, FailureKind.CREDITS),
    ("malformed", None, FailureKind.TRANSIENT),
    ("cancel_requested", None, FailureKind.TRANSIENT),
    ("upload_initiated", 403, FailureKind.TRANSIENT),
    ("upload_initiated", 503, FailureKind.TRANSIENT),
])
def test_upload_failures_are_typed(runner: asyncio.Runner, initiate: str, put: int | None,
                                   kind: FailureKind) -> None:
    replay = Replay().on("POST", r"/initiate\?storage_type=gcs$", recorded("fal", initiate)) \
        .on("PUT", r".", httpx.Response(put or 200))
    assert failure_of(runner.run(provider(replay).upload(SECRET, asset(), chunks(), NOW))).kind is kind


# ---------------------------------------------------------------- download


def download_all(runner: asyncio.Runner, client: FalProvider, url: str) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in client.download(ProviderOutput(url=url))])

    return runner.run(collect())


def test_download_streams_through_the_safe_downloader(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r"^https://v3\.fal\.media/", httpx.Response(200, content=PNG))
    assert download_all(runner, provider(replay), "https://v3.fal.media/files/rabbit/a_out.jpg") == PNG


def test_download_refuses_a_private_address(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r".", httpx.Response(200, content=PNG))
    with pytest.raises(OutputUnavailable):
        download_all(runner, provider(replay), "https://internal.example/files/a.png")
    assert replay.requests == []


# ---------------------------------------------------------------- webhooks


def body_of(fixture: str) -> bytes:
    return json.dumps(fixture_json("fal", fixture)["body"]).encode()


def signed(body: bytes, *, at: datetime = NOW, signer: Ed25519PrivateKey = SIGNER,
           request_id: str = RID) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    message = "\n".join([request_id, "user-42", timestamp, hashlib.sha256(body).hexdigest()]).encode()
    return {"X-Fal-Webhook-Request-Id": request_id, "X-Fal-Webhook-User-Id": "user-42",
            "X-Fal-Webhook-Timestamp": timestamp, "X-Fal-Webhook-Signature": signer.sign(message).hex()}


def unauthenticated(result: object) -> bool:
    return isinstance(result, Failure) and result.failure().code is ErrorCode.UNAUTHENTICATED


def test_a_signed_webhook_is_accepted_with_its_outputs() -> None:
    body = body_of("webhook_ok")
    event = provider(Replay()).verify_webhook(signed(body), body, NOW + timedelta(seconds=20)).unwrap()
    assert (event.provider_job_id, event.sent_at) == (RID, NOW)
    assert event.webhook_id == f"{RID}@{int(NOW.timestamp())}"
    assert event.status is not None and event.status.state is RemoteState.SUCCEEDED
    assert event.status.outputs[0].url == "https://v3.fal.media/files/rabbit/a_out.jpg"


def test_any_configured_key_may_have_signed_it() -> None:
    other = Ed25519PrivateKey.generate()
    client = Replay().client()
    verifier = FalProvider(client, downloader(client), clock=lambda: NOW,
                           webhook_keys=[base64.b64encode(PUBLIC_RAW).decode(),
                                         other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()])
    body = body_of("webhook_ok")
    assert isinstance(verifier.verify_webhook(signed(body, signer=other), body, NOW), Success)


@pytest.mark.parametrize(("fixture", "state", "kind"), [
    ("webhook_error_moderated", RemoteState.FAILED, FailureKind.MODERATED),
    ("webhook_error_invalid", None, None),
    ("webhook_payload_error", None, None),
])
def test_webhook_statuses_are_read_when_they_say_enough(fixture: str, state: RemoteState | None,
                                                        kind: FailureKind | None) -> None:
    body = body_of(fixture)
    event = provider(Replay()).verify_webhook(signed(body), body, NOW).unwrap()
    assert (event.status.state if event.status else None) == state
    assert (event.status.failure.kind if event.status and event.status.failure else None) == kind


def test_a_wrong_signer_a_tampered_body_or_a_garbled_signature_is_refused() -> None:
    body = body_of("webhook_ok")
    client = provider(Replay())
    assert unauthenticated(client.verify_webhook(signed(body, signer=Ed25519PrivateKey.generate()), body, NOW))
    assert unauthenticated(client.verify_webhook(signed(body), body.replace(b"OK", b"ERROR"), NOW))
    assert unauthenticated(client.verify_webhook(signed(body) | {"X-Fal-Webhook-Signature": "zz"}, body, NOW))
    assert unauthenticated(client.verify_webhook(signed(body) | {"X-Fal-Webhook-User-Id": "someone"}, body, NOW))
    assert unauthenticated(client.verify_webhook(signed(body) | {"X-Fal-Webhook-Timestamp": "soon"}, body, NOW))


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_or_future_webhooks_are_refused(offset: timedelta) -> None:
    body = body_of("webhook_ok")
    assert unauthenticated(provider(Replay()).verify_webhook(signed(body, at=NOW + offset), body, NOW))


@pytest.mark.parametrize("missing", ["X-Fal-Webhook-Request-Id", "X-Fal-Webhook-User-Id",
                                     "X-Fal-Webhook-Timestamp", "X-Fal-Webhook-Signature"])
def test_missing_webhook_headers_are_refused(missing: str) -> None:
    body = body_of("webhook_ok")
    headers = {k: v for k, v in signed(body).items() if k != missing}
    assert unauthenticated(provider(Replay()).verify_webhook(headers, body, NOW))


def test_webhooks_without_configured_keys_are_refused() -> None:
    client = httpx.AsyncClient()
    body = body_of("webhook_ok")
    assert unauthenticated(FalProvider(client, downloader(client), clock=lambda: NOW)
                           .verify_webhook(signed(body), body, NOW))


def test_a_signed_body_about_another_request_is_a_validation_error() -> None:
    body = body_of("webhook_ok")
    headers = signed(body, request_id="11111111-2222-3333-4444-555555555555")
    result = provider(Replay()).verify_webhook(headers, body, NOW)
    assert isinstance(result, Failure) and result.failure().code is ErrorCode.VALIDATION_ERROR

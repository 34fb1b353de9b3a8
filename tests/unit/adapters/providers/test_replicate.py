"""Replicate adapter against recorded answers of the documented predictions/files API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from returns.result import Failure, Success

from adapters.providers.replicate import ReplicateProvider
from domain.accounts import FailureKind
from domain.assets import Asset, AssetSource, MediaType
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable
from domain.providers import InputRef, ProviderFailure, ProviderOutput, RemoteState, SubmitRequest
from tests.support.recorded_http import Replay, downloader, fixture_json, recorded

SECRET = "r8_0123456789abcdefSECRET"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"
WHSEC = "whsec_" + base64.b64encode(KEY).decode()
PID = "gm3qorzdhgbfurvjtvhg6dckhu"
API = "https://api.replicate.com/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


def provider(replay: Replay, **options: object) -> ReplicateProvider:
    client = replay.client()
    return ReplicateProvider(client, downloader(client, private_hosts=("internal.example",)),
                             clock=lambda: NOW, webhook_secret=WHSEC, **options)  # type: ignore[arg-type]


def text_request(**params: object) -> SubmitRequest:
    return SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                         params={"prompt": "a red bicycle", **params})


def failure_of(result: object) -> ProviderFailure:
    assert isinstance(result, Failure), result
    found = result.failure()
    assert isinstance(found, ProviderFailure)
    return found


# ---------------------------------------------------------------- capabilities


def test_info_declares_operations_prices_and_strict_params() -> None:
    info = provider(Replay()).info
    assert info.id == "replicate"
    assert {spec.operation_type for spec in info.operations} == {
        OperationType.TEXT_TO_IMAGE, OperationType.IMAGE_TO_IMAGE, OperationType.TEXT_TO_VIDEO,
        OperationType.IMAGE_TO_VIDEO, OperationType.UPSCALE}
    assert info.operation("text_to_image").unwrap().price.cost({"num_outputs": 3}) == 3
    assert info.operation("text_to_video").unwrap().price.cost({"duration": 10}) == 50
    assert info.operation("image_to_video").unwrap().min_inputs == 1
    schema = info.operation("text_to_image").unwrap().params_schema()
    assert "num_outputs" in json.dumps(schema)


def test_prices_and_models_can_be_overridden() -> None:
    from domain.providers import PriceRule

    custom = provider(Replay(), prices={OperationType.UPSCALE: PriceRule(credits_per_unit=9)})
    assert custom.info.operation("upscale").unwrap().price.credits_per_unit == 9


def test_a_malformed_webhook_secret_is_refused_at_construction() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(ValueError):
        ReplicateProvider(client, downloader(client), clock=lambda: NOW, webhook_secret="not-a-secret")


# ---------------------------------------------------------------- submit


def test_submit_runs_an_official_model_with_the_documented_body(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/v1/models/black-forest-labs/flux-schnell/predictions$",
                         recorded("replicate", "prediction_created"))
    result = runner.run(provider(replay).submit(SECRET, text_request(num_outputs=2)))
    assert result == Success(PID)
    sent = replay.requests[0]
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    body = json.loads(sent.content)
    assert body == {"input": {"prompt": "a red bicycle", "num_outputs": 2, "aspect_ratio": "1:1",
                              "output_format": "webp", "num_inference_steps": 4}}


def test_submit_sends_the_input_asset_and_the_webhook(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/models/black-forest-labs/flux-kontext-pro/predictions$",
                         recorded("replicate", "prediction_created"))
    request = SubmitRequest(reference="sub-2", operation_type=OperationType.IMAGE_TO_IMAGE,
                            params={"prompt": "make it blue"},
                            inputs=(InputRef(asset_id="a1", provider_asset_id=f"{API}/files/abc",
                                             mime_type="image/png"),))
    client = provider(replay, webhook_url="https://gateway.example/webhooks/replicate")
    assert runner.run(client.submit(SECRET, request)) == Success(PID)
    body = json.loads(replay.requests[0].content)
    assert body["input"]["input_image"] == f"{API}/files/abc"
    assert body["webhook"] == "https://gateway.example/webhooks/replicate"
    assert body["webhook_events_filter"] == ["completed"]


def test_a_pinned_version_goes_to_the_predictions_endpoint(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/v1/predictions$", recorded("replicate", "prediction_created"))
    client = provider(replay, models={OperationType.TEXT_TO_IMAGE: "someone/model:5c7d5dc6dd8b"})
    assert runner.run(client.submit(SECRET, text_request())) == Success(PID)
    assert json.loads(replay.requests[0].content)["version"] == "5c7d5dc6dd8b"


@pytest.mark.parametrize("params", [{"num_outputs": 9}, {"unknown": 1}, {"prompt": ""}])
def test_invalid_params_are_refused_before_any_call(runner: asyncio.Runner, params: dict[str, object]) -> None:
    replay = Replay()
    request = SubmitRequest(reference="s", operation_type=OperationType.TEXT_TO_IMAGE,
                            params={"prompt": "x", **params})
    found = failure_of(runner.run(provider(replay).submit(SECRET, request)))
    assert found.kind is FailureKind.INVALID and found.code == "INVALID_PARAMS"
    assert replay.requests == []


def test_an_unsupported_operation_or_missing_input_is_invalid(runner: asyncio.Runner) -> None:
    client = provider(Replay())
    transition = SubmitRequest(reference="s", operation_type=OperationType.VIDEO_TRANSITION, params={})
    assert failure_of(runner.run(client.submit(SECRET, transition))).code == "UNSUPPORTED_OPERATION"
    no_image = SubmitRequest(reference="s", operation_type=OperationType.UPSCALE, params={})
    assert failure_of(runner.run(client.submit(SECRET, no_image))).code == "INVALID_INPUTS"


@pytest.mark.parametrize(("fixture", "kind", "code"), [
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_402", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"),
    ("error_422", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"),
    ("error_429", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    ("error_503", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("prediction_without_id", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
])
def test_submit_failures_are_classified(runner: asyncio.Runner, fixture: str, kind: FailureKind, code: str) -> None:
    replay = Replay().on("POST", r"/predictions$", recorded("replicate", fixture))
    found = failure_of(runner.run(provider(replay).submit(SECRET, text_request())))
    assert (found.kind, found.code) == (kind, code)


def test_rate_limits_carry_retry_after_and_the_problem_detail(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/predictions$", recorded("replicate", "error_429"))
    found = failure_of(runner.run(provider(replay).submit(SECRET, text_request())))
    assert found.retry_after_seconds == 7
    assert "throttled" in found.message


def test_a_transport_error_is_transient(runner: asyncio.Runner) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    replay = Replay().on("POST", r"/predictions$", timeout)
    found = failure_of(runner.run(provider(replay).submit(SECRET, text_request())))
    assert (found.kind, found.code) == (FailureKind.TRANSIENT, "PROVIDER_UNREACHABLE")


def test_the_secret_never_appears_in_a_failure(runner: asyncio.Runner) -> None:
    echo = httpx.Response(401, json={"title": "Unauthenticated", "detail": f"bad token {SECRET}"})
    replay = Replay().on("GET", r"/predictions/", echo)
    found = failure_of(runner.run(provider(replay).status(SECRET, PID)))
    assert found.kind is FailureKind.AUTH
    assert SECRET not in found.message and "***" in found.message


def test_find_cannot_look_up_references() -> None:
    assert asyncio.run(provider(Replay()).find(SECRET, "sub-1")) == Success(None)


# ---------------------------------------------------------------- status


@pytest.mark.parametrize(("fixture", "state", "kind", "code"), [
    ("prediction_starting", RemoteState.RUNNING, None, None),
    ("prediction_processing", RemoteState.RUNNING, None, None),
    ("prediction_succeeded_list", RemoteState.SUCCEEDED, None, None),
    ("prediction_succeeded_string", RemoteState.SUCCEEDED, None, None),
    ("prediction_succeeded_removed", RemoteState.FAILED, FailureKind.TRANSIENT, "PROVIDER_NO_OUTPUT"),
    ("prediction_failed_nsfw", RemoteState.FAILED, FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("prediction_failed_flagged", RemoteState.FAILED, FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
    ("prediction_failed_error", RemoteState.FAILED, FailureKind.TRANSIENT, "PROVIDER_JOB_FAILED"),
    ("prediction_canceled", RemoteState.CANCELLED, None, None),
    ("prediction_aborted", RemoteState.FAILED, FailureKind.TRANSIENT, "PROVIDER_ABORTED"),
])
def test_every_documented_status_is_mapped(runner: asyncio.Runner, fixture: str, state: RemoteState,
                                           kind: FailureKind | None, code: str | None) -> None:
    replay = Replay().on("GET", rf"/v1/predictions/{PID}$", recorded("replicate", fixture))
    status = runner.run(provider(replay).status(SECRET, PID)).unwrap()
    assert status.state is state
    assert status.raw_status == fixture_json("replicate", fixture)["body"]["status"]
    assert (status.failure.kind if status.failure else None) == kind
    assert (status.failure.code if status.failure else None) == code


def test_outputs_come_from_a_list_or_a_single_url(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r"/predictions/", recorded("replicate", "prediction_succeeded_list"),
                         recorded("replicate", "prediction_succeeded_string"))
    client = provider(replay)
    listed = runner.run(client.status(SECRET, PID)).unwrap()
    assert [o.url for o in listed.outputs] == ["https://replicate.delivery/xezq/abc123/out-0.webp",
                                               "https://replicate.delivery/xezq/abc123/out-1.webp"]
    assert {o.mime_type for o in listed.outputs} == {"image/webp"}
    single = runner.run(client.status(SECRET, PID)).unwrap()
    assert [(o.url, o.mime_type) for o in single.outputs] == [
        ("https://replicate.delivery/xezq/def456/output.png", "image/png")]


@pytest.mark.parametrize(("fixture", "kind", "code"), [
    ("error_401", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    ("error_404", FailureKind.INVALID, "JOB_NOT_FOUND"),
    ("error_429", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    ("error_503", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("not_an_object", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
    ("prediction_surprising", FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE"),
])
def test_status_failures_are_typed(runner: asyncio.Runner, fixture: str, kind: FailureKind, code: str) -> None:
    replay = Replay().on("GET", r"/predictions/", recorded("replicate", fixture))
    found = failure_of(runner.run(provider(replay).status(SECRET, PID)))
    assert (found.kind, found.code) == (kind, code)


@pytest.mark.parametrize("job_id", ["", "../files", "a b", "x" * 101])
def test_a_malformed_job_id_is_refused_without_a_call(runner: asyncio.Runner, job_id: str) -> None:
    replay = Replay()
    assert failure_of(runner.run(provider(replay).status(SECRET, job_id))).code == "INVALID_JOB_ID"
    assert replay.requests == []


# ---------------------------------------------------------------- cancel


def test_cancel_posts_to_the_cancel_endpoint(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", rf"/v1/predictions/{PID}/cancel$", recorded("replicate", "prediction_canceled"))
    runner.run(provider(replay).cancel(SECRET, PID))
    assert len(replay.sent("POST", r"/cancel$")) == 1
    assert replay.requests[0].headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("answer", ["error_404", "error_503", "malformed"])
def test_cancel_never_raises(runner: asyncio.Runner, answer: str) -> None:
    replay = Replay().on("POST", r"/cancel$", recorded("replicate", answer))
    runner.run(provider(replay).cancel(SECRET, PID))

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    runner.run(provider(Replay().on("POST", r"/cancel$", broken)).cancel(SECRET, PID))
    bad_id = Replay()
    runner.run(provider(bad_id).cancel(SECRET, "../../account"))
    assert bad_id.requests == []


# ---------------------------------------------------------------- upload


def asset(mime_type: str = "image/png", name: str | None = "input.png") -> Asset:
    return Asset(id="asset-1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                 mime_type=mime_type, size_bytes=len(PNG), sha256=hashlib.sha256(PNG).hexdigest(),
                 storage_key="k", created_at=NOW, last_accessed_at=NOW, original_filename=name)


async def chunks() -> AsyncIterator[bytes]:
    yield PNG[:10]
    yield PNG[10:]


def test_upload_posts_a_multipart_file_and_returns_its_url_and_expiry(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/v1/files$", recorded("replicate", "file_created"))
    uploaded = runner.run(provider(replay).upload(SECRET, asset(), chunks(), NOW)).unwrap()
    assert uploaded.provider_asset_id == f"{API}/files/ZjA0YjE0MGEtNTI1YS00NmE3LTkxNjItMzgyMzc2ZjhhOTU3"
    assert uploaded.expires_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    sent = replay.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="content"; filename="input.png"' in sent.content
    assert PNG in sent.content


def test_upload_without_an_expiry_assumes_a_day(runner: asyncio.Runner) -> None:
    replay = Replay().on("POST", r"/v1/files$", recorded("replicate", "file_without_expiry"))
    uploaded = runner.run(provider(replay).upload(SECRET, asset(name=None), chunks(), NOW)).unwrap()
    assert uploaded.expires_at == NOW + timedelta(hours=24)
    assert b'filename="' in replay.requests[0].content


@pytest.mark.parametrize(("fixture", "kind"), [
    ("error_401", FailureKind.AUTH), ("error_402", FailureKind.CREDITS), ("malformed", FailureKind.TRANSIENT),
    ("not_an_object", FailureKind.TRANSIENT), ("prediction_without_id", FailureKind.TRANSIENT),
])
def test_upload_failures_are_typed(runner: asyncio.Runner, fixture: str, kind: FailureKind) -> None:
    replay = Replay().on("POST", r"/v1/files$", recorded("replicate", fixture))
    assert failure_of(runner.run(provider(replay).upload(SECRET, asset(), chunks(), NOW))).kind is kind


# ---------------------------------------------------------------- download


def download_all(runner: asyncio.Runner, client: ReplicateProvider, url: str) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in client.download(ProviderOutput(url=url))])

    return bytes(runner.run(collect()))


def test_download_streams_through_the_safe_downloader(runner: asyncio.Runner) -> None:
    replay = Replay().on("GET", r"^https://replicate\.delivery/", httpx.Response(200, content=PNG))
    assert download_all(runner, provider(replay), "https://replicate.delivery/xezq/def456/output.png") == PNG


@pytest.mark.parametrize("url", ["https://internal.example/output.png", "http://replicate.delivery/out.png",
                                 "https://127.0.0.1/out.png"])
def test_download_refuses_private_or_plain_http_addresses(runner: asyncio.Runner, url: str) -> None:
    replay = Replay().on("GET", r".", httpx.Response(200, content=PNG))
    with pytest.raises(OutputUnavailable):
        download_all(runner, provider(replay), url)
    assert replay.requests == []


# ---------------------------------------------------------------- webhooks


def signed(body: bytes, *, at: datetime = NOW, key: bytes = KEY, webhook_id: str = "msg_2f8Wd1") -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"Webhook-Id": webhook_id, "Webhook-Timestamp": timestamp,
            "Webhook-Signature": "v1," + base64.b64encode(digest).decode()}


BODY = json.dumps(fixture_json("replicate", "prediction_succeeded_list")["body"]).encode()


def test_a_signed_webhook_is_accepted_with_its_status() -> None:
    event = provider(Replay()).verify_webhook(signed(BODY), BODY, NOW + timedelta(seconds=30)).unwrap()
    assert (event.webhook_id, event.provider_job_id, event.sent_at) == ("msg_2f8Wd1", PID, NOW)
    assert event.status is not None and event.status.state is RemoteState.SUCCEEDED
    assert len(event.status.outputs) == 2


def test_any_of_several_signatures_may_match() -> None:
    headers = signed(BODY)
    headers["Webhook-Signature"] = "v1,AAAA v2,xyz " + headers["Webhook-Signature"]
    assert isinstance(provider(Replay()).verify_webhook(headers, BODY, NOW), Success)


def unauthenticated(result: object) -> bool:
    return isinstance(result, Failure) and result.failure().code is ErrorCode.UNAUTHENTICATED


def test_a_wrong_key_or_tampered_body_is_refused() -> None:
    client = provider(Replay())
    assert unauthenticated(client.verify_webhook(signed(BODY, key=b"x" * 32), BODY, NOW))
    assert unauthenticated(client.verify_webhook(signed(BODY), BODY.replace(b"succeeded", b"failed"), NOW))
    garbage = signed(BODY) | {"Webhook-Signature": "v1,not-base64!!"}
    assert unauthenticated(client.verify_webhook(garbage, BODY, NOW))


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_stale_or_future_timestamps_are_refused(offset: timedelta) -> None:
    headers = signed(BODY, at=NOW + offset)
    assert unauthenticated(provider(Replay()).verify_webhook(headers, BODY, NOW))


@pytest.mark.parametrize("missing", ["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"])
def test_missing_signature_headers_are_refused(missing: str) -> None:
    headers = {k: v for k, v in signed(BODY).items() if k != missing}
    assert unauthenticated(provider(Replay()).verify_webhook(headers, BODY, NOW))


def test_webhooks_without_a_configured_secret_are_refused() -> None:
    client = httpx.AsyncClient()
    bare = ReplicateProvider(client, downloader(client), clock=lambda: NOW)
    assert unauthenticated(bare.verify_webhook(signed(BODY), BODY, NOW))


def test_a_signed_body_that_is_not_a_prediction_is_a_validation_error() -> None:
    for body in (b"not json", b'{"status": "succeeded"}'):
        result = provider(Replay()).verify_webhook(signed(body), body, NOW)
        assert isinstance(result, Failure) and result.failure().code is ErrorCode.VALIDATION_ERROR

"""Kling AI's official API: the signed JWT, documented requests for text- and image-to-video,
every task status and business error code mapped, lookup by external_task_id, URL-only inputs
and guarded downloads, replayed from recorded answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import httpx
import jwt
import msgspec
import pytest
from returns.result import Success

from adapters.providers.kling import KLING_INFO, KlingProvider, api_token
from domain.account_secrets import encode_fields
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
from tests.support.recorded_http import FIXTURES
from tests.unit.adapters.providers.media_replay import (
    START,
    Handler,
    Replay,
    asset,
    chunks_of,
    downloader,
    drain,
    fixture,
    http,
    media,
    recorded,
    run,
)

API = "https://api-singapore.klingai.com"
ACCESS_KEY = "AKkling0123456789access"
SECRET_KEY = "SKkling0123456789secret-signing-key"
SECRET = encode_fields({"access_key": ACCESS_KEY, "secret_key": SECRET_KEY})
TASK_ID = "CjhHxmdQ9XUAAAAAAHfzuw"
VIDEO_URL = "https://v15-kling-fdl.klingai.com/bs2/upload-ylab-stunt-sgp/se/stream_lake_m2v_video/7f3c1e0a.mp4"
PICTURE = InputRef(asset_id="a1", url="https://cdn.example.com/first.png", mime_type="image/png")


def kling(*answers: httpx.Response | Handler, private: bool = False,
          clock_offset: timedelta = timedelta()) -> tuple[KlingProvider, Replay]:
    replay = Replay(*answers)
    client = http(replay)
    return KlingProvider(client, downloader(client, private=private), clock=lambda: START + clock_offset), replay


def request(operation: OperationType = OperationType.TEXT_TO_VIDEO, inputs: tuple[InputRef, ...] = (),
            **params: object) -> SubmitRequest:
    params.setdefault("prompt", "a red bicycle in the rain")
    return SubmitRequest(reference="sub-1", operation_type=operation, params=params, inputs=inputs)


def submit_failure(*answers: httpx.Response | Handler) -> ProviderFailure:
    provider, _ = kling(*answers)
    return run(provider.submit(SECRET, request())).failure()


def claims(sent: httpx.Request) -> dict[str, object]:
    scheme, _, token = sent.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    decoded: dict[str, object] = jwt.decode(token, SECRET_KEY, algorithms=["HS256"],
                                            options={"verify_exp": False, "verify_nbf": False})
    return decoded


# ------------------------------------------------------------------ capabilities and auth


def test_info_offers_text_and_image_to_video_with_a_key_pair_secret() -> None:
    counts = {spec.operation_type: (spec.min_inputs, spec.max_inputs) for spec in KLING_INFO.operations}
    assert counts == {OperationType.TEXT_TO_VIDEO: (0, 0), OperationType.IMAGE_TO_VIDEO: (1, 1)}
    assert KLING_INFO.secret_fields == ("access_key", "secret_key") and KLING_INFO.finds_by_reference
    video = KLING_INFO.operation(OperationType.TEXT_TO_VIDEO).unwrap()
    params = validate_params(video, {"prompt": "x", "duration": 10}).unwrap()
    assert params["model_name"] == "kling-v1-6" and video.price.cost(params) == 10


def test_the_token_is_the_documented_hs256_jwt_signed_with_the_secret_key() -> None:
    token = api_token(ACCESS_KEY, SECRET_KEY, START)
    now = int(START.timestamp())
    assert jwt.decode(token, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}) == {
        "iss": ACCESS_KEY, "exp": now + 1800, "nbf": now - 5}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-key-of-the-same-length-0123", algorithms=["HS256"], options={"verify_exp": False})
    # valid from 5 s before now until 30 minutes after, by pyjwt's own checks
    jwt.decode(token, SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(api_token(ACCESS_KEY, SECRET_KEY, START - timedelta(days=3650)), SECRET_KEY, algorithms=["HS256"])


@pytest.mark.parametrize("secret", ["sk-one-string", encode_fields({"access_key": "AK"}), "{not json"])
def test_a_secret_that_is_not_a_key_pair_is_an_auth_failure_before_sending(secret: str) -> None:
    provider, replay = kling()
    failure = run(provider.submit(secret, request())).failure()
    assert (failure.kind, failure.code) == (FailureKind.AUTH, "PROVIDER_AUTH_REJECTED")
    assert replay.requests == []


@pytest.mark.parametrize("params", [{"duration": 7}, {"aspect_ratio": "4:3"}, {"mode": "ultra"},
                                    {"model_name": "kling-v9"}, {"cfg_scale": 1.5},
                                    {"model_name": "kling-v2-master", "cfg_scale": 0.5},
                                    {"callback_url": "https://x"}, {"prompt": "x" * 2501}])
def test_undocumented_params_are_refused_before_sending(params: dict[str, object]) -> None:
    provider, replay = kling()
    assert run(provider.submit(SECRET, request(**params))).failure().code == "INVALID_PARAMS"
    assert replay.requests == []


# ------------------------------------------------------------------ submit


def test_text_to_video_posts_the_documented_body_with_our_reference() -> None:
    provider, replay = kling(recorded("kling", "task_created"))
    answer = run(provider.submit(SECRET, request(duration=10, mode="pro", negative_prompt="blur", cfg_scale=0.7)))
    assert answer == Success(f"text2video:{TASK_ID}")
    sent = replay.last
    assert (sent.method, str(sent.url)) == ("POST", f"{API}/v1/videos/text2video")
    assert sent.headers["content-type"] == "application/json"
    assert claims(sent) == {"iss": ACCESS_KEY, "exp": int(START.timestamp()) + 1800,
                            "nbf": int(START.timestamp()) - 5}
    assert replay.json() == {"model_name": "kling-v1-6", "prompt": "a red bicycle in the rain",
                             "negative_prompt": "blur", "cfg_scale": 0.7, "mode": "pro", "duration": "10",
                             "aspect_ratio": "16:9", "external_task_id": "sub-1"}


def test_image_to_video_sends_the_image_url_and_no_aspect_ratio() -> None:
    provider, replay = kling(recorded("kling", "task_created"))
    params = {"model_name": "kling-v2-1", "prompt": "she turns around"}
    answer = run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (PICTURE,), **params)))
    assert answer == Success(f"image2video:{TASK_ID}")
    assert str(replay.last.url) == f"{API}/v1/videos/image2video"
    assert replay.json() == {"model_name": "kling-v2-1", "prompt": "she turns around", "mode": "std",
                             "duration": "5", "image": PICTURE.url, "external_task_id": "sub-1"}


def test_an_image_without_a_public_url_is_refused_before_sending() -> None:
    provider, replay = kling()
    local = InputRef(asset_id="a", provider_asset_id="img-7", mime_type="image/png")
    failure = run(provider.submit(SECRET, request(OperationType.IMAGE_TO_VIDEO, (local,)))).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INPUT_URL_REQUIRED")
    assert replay.requests == []


@pytest.mark.parametrize(("fixture_name", "kind", "code", "retry_after"), [
    ("error_401_1002", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    ("error_401_1004", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    ("error_403_1103", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    ("error_429_1304", FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", None),
    ("error_429_1101", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    ("error_429_1102", FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", None),
    ("error_400_1201", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", None),
    ("error_200_1200", FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", None),
    ("error_400_1300", FailureKind.INVALID, "KLING_PLATFORM_POLICY", None),
    ("error_400_1301", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value, None),
    ("error_429_1302", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", 7),
    ("error_429_1303", FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", None),
    ("error_500_5000", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    ("error_503_5001", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    ("error_504_5002", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
    ("malformed", FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", None),
])
def test_error_answers_are_classified_by_their_business_code(fixture_name: str, kind: FailureKind, code: str,
                                                             retry_after: int | None) -> None:
    failure = submit_failure(recorded("kling", fixture_name))
    assert (failure.kind, failure.code, failure.retry_after_seconds) == (kind, code, retry_after)


@pytest.mark.parametrize(("answer", "kind"), [
    (httpx.Response(429, json={"message": "slow down"}, headers={"retry-after": "3"}), FailureKind.RATE_LIMITED),
    (httpx.Response(402, json={"code": 9999, "message": "?"}), FailureKind.CREDITS),
    (httpx.Response(200, json={"code": 0, "message": "SUCCEED", "data": {}}), FailureKind.TRANSIENT),
    (httpx.Response(200, text="not json"), FailureKind.TRANSIENT),
])
def test_without_a_known_code_the_http_status_decides(answer: httpx.Response, kind: FailureKind) -> None:
    assert submit_failure(answer).kind is kind


def test_neither_key_nor_token_surfaces_in_a_failure() -> None:
    def echo(sent: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": 1000, "message": f"bad {sent.headers['authorization']} for "
                                                                  f"{ACCESS_KEY} / {SECRET_KEY}"})

    failure = submit_failure(echo)
    assert failure.kind is FailureKind.AUTH
    assert ACCESS_KEY not in failure.message and SECRET_KEY not in failure.message
    assert "Bearer ***" in failure.message


def test_a_transport_error_is_transient() -> None:
    def down(sent: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=sent)

    assert (submit_failure(down).kind, submit_failure(down).code) == (FailureKind.TRANSIENT, "PROVIDER_UNREACHABLE")


# ------------------------------------------------------------------ status


@pytest.mark.parametrize(("fixture_name", "state"), [
    ("task_submitted", RemoteState.QUEUED),
    ("task_processing", RemoteState.RUNNING),
])
def test_unfinished_states(fixture_name: str, state: RemoteState) -> None:
    provider, replay = kling(recorded("kling", fixture_name))
    status = run(provider.status(SECRET, f"text2video:{TASK_ID}")).unwrap()
    assert status.state is state and status.outputs == () and status.failure is None
    assert (replay.last.method, str(replay.last.url)) == ("GET", f"{API}/v1/videos/text2video/{TASK_ID}")
    assert claims(replay.last)["iss"] == ACCESS_KEY


def test_a_succeeded_task_has_its_videos_as_outputs_and_polls_its_own_endpoint() -> None:
    provider, replay = kling(recorded("kling", "task_succeed"))
    status = run(provider.status(SECRET, f"image2video:{TASK_ID}")).unwrap()
    assert str(replay.last.url) == f"{API}/v1/videos/image2video/{TASK_ID}"
    assert (status.state, status.raw_status) == (RemoteState.SUCCEEDED, "succeed")
    assert status.outputs == (ProviderOutput(url=VIDEO_URL, mime_type="video/mp4",
                                             provider_asset_id="7f3c1e0a-52b4-4c6e-8d1f-9a2b3c4d5e6f"),)


def test_a_task_older_than_the_30_day_retention_has_expired_outputs() -> None:
    provider, _ = kling(recorded("kling", "task_succeed"), clock_offset=timedelta(days=30))
    status = run(provider.status(SECRET, f"text2video:{TASK_ID}")).unwrap()
    assert status.state is RemoteState.FAILED and status.failure is not None
    assert (status.failure.kind, status.failure.code) == (FailureKind.TRANSIENT, "OUTPUT_EXPIRED")


@pytest.mark.parametrize(("fixture_name", "kind", "code"), [
    ("task_failed", FailureKind.TRANSIENT, "KLING_TASK_FAILED"),
    ("task_failed_risk", FailureKind.MODERATED, ErrorCode.CONTENT_MODERATED.value),
])
def test_failed_tasks_are_classified_by_their_message(fixture_name: str, kind: FailureKind, code: str) -> None:
    provider, _ = kling(recorded("kling", fixture_name))
    status = run(provider.status(SECRET, f"text2video:{TASK_ID}")).unwrap()
    assert status.state is RemoteState.FAILED and status.failure is not None
    assert (status.failure.kind, status.failure.code) == (kind, code)


@pytest.mark.parametrize("name", ["task_unknown_status", "task_succeed_without_videos", "malformed"])
def test_surprising_tasks_are_malformed_or_unavailable(name: str) -> None:
    provider, _ = kling(recorded("kling", name))
    assert run(provider.status(SECRET, f"text2video:{TASK_ID}")).failure().kind is FailureKind.TRANSIENT


def test_a_plain_http_output_url_is_not_an_output() -> None:
    answer = recorded("kling", "task_succeed")
    data = answer.json()["data"] | {"task_result": {"videos": [{"id": "v", "url": "http://x/v.mp4"}]}}
    provider, _ = kling(recorded("kling", "task_succeed", data=data))
    assert run(provider.status(SECRET, f"text2video:{TASK_ID}")).failure().code == "PROVIDER_MALFORMED_RESPONSE"


def test_unknown_tasks_are_not_found_and_bad_ids_never_sent() -> None:
    provider, replay = kling(recorded("kling", "error_404_1203"))
    failure = run(provider.status(SECRET, f"text2video:{TASK_ID}")).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "JOB_NOT_FOUND")
    for bad in (TASK_ID, "text2video:../x", "video:abc"):
        assert run(provider.status(SECRET, bad)).failure().code == "INVALID_JOB_ID"
    assert len(replay.requests) == 1


# ------------------------------------------------------------------ find by external_task_id


def test_find_looks_the_reference_up_on_both_endpoints() -> None:
    provider, replay = kling(recorded("kling", "error_400_task_not_found"), recorded("kling", "task_processing"))
    assert run(provider.find(SECRET, "sub-1")) == Success(f"image2video:{TASK_ID}")
    assert [str(r.url) for r in replay.requests] == [f"{API}/v1/videos/text2video/sub-1",
                                                      f"{API}/v1/videos/image2video/sub-1"]


def test_find_answers_none_only_when_both_endpoints_do_not_know_it() -> None:
    provider, _ = kling(recorded("kling", "error_404_1203"), recorded("kling", "error_400_task_not_found"))
    assert run(provider.find(SECRET, "sub-1")) == Success(None)
    provider, _ = kling(recorded("kling", "task_submitted"))
    assert run(provider.find(SECRET, "sub-1")) == Success(f"text2video:{TASK_ID}")


def test_find_fails_rather_than_guessing() -> None:
    provider, _ = kling(recorded("kling", "error_500_5000"))
    assert run(provider.find(SECRET, "sub-1")).failure().kind is FailureKind.TRANSIENT
    other = recorded("kling", "task_processing").json()["data"] | {"task_info": {"external_task_id": "someone"}}
    provider, _ = kling(recorded("kling", "task_processing", data=other), recorded("kling", "error_404_1203"))
    assert run(provider.find(SECRET, "sub-1")) == Success(None)
    provider, replay = kling()
    assert run(provider.find(SECRET, "../etc")) == Success(None) and replay.requests == []


# ------------------------------------------------------------------ cancel, upload, download


def test_cancel_and_upload_send_nothing() -> None:
    provider, replay = kling()
    run(provider.cancel(SECRET, f"text2video:{TASK_ID}"))
    failure = run(provider.upload(SECRET, asset(), chunks_of(b"png"), START)).failure()
    assert (failure.kind, failure.code) == (FailureKind.INVALID, "INPUT_URL_REQUIRED")
    assert replay.requests == []


def test_download_goes_through_the_guard() -> None:
    provider, _ = kling(media(VIDEO_URL, b"kling-bytes"))
    assert run(drain(provider.download(ProviderOutput(url=VIDEO_URL)))) == b"kling-bytes"
    provider, replay = kling(private=True)
    with pytest.raises(OutputUnavailable):
        run(drain(provider.download(ProviderOutput(url=VIDEO_URL))))
    assert replay.requests == []


# ------------------------------------------------------------------ fixtures against the documented schema
# Kling publishes no SDK with response models: the recorded answers are checked against the
# response body its docs show (Create Task, Query Task (Single), Error Code), so they cannot drift.


class _Video(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    url: str
    duration: str


class _TaskResult(msgspec.Struct, forbid_unknown_fields=True):
    videos: list[_Video]


class _TaskInfo(msgspec.Struct, forbid_unknown_fields=True):
    external_task_id: str | None = None


class _Task(msgspec.Struct, forbid_unknown_fields=True):
    task_id: str
    task_status: Literal["submitted", "processing", "succeed", "failed"]
    created_at: int
    updated_at: int
    task_status_msg: str = ""
    task_info: _TaskInfo | None = None
    task_result: _TaskResult | None = None
    final_unit_deduction: str | None = None


class _Answer(msgspec.Struct, forbid_unknown_fields=True):
    code: int
    message: str
    request_id: str
    data: _Task | None = None


DELIBERATELY_OFF_SCHEMA = {"task_unknown_status": "a status Kling does not document",
                           "malformed": "an HTML error page from a proxy"}
FIXTURE_NAMES = sorted(path.stem for path in (FIXTURES / "kling").glob("*.json"))


@pytest.mark.parametrize("name", [n for n in FIXTURE_NAMES if n not in DELIBERATELY_OFF_SCHEMA])
def test_recorded_answers_match_the_documented_body(name: str) -> None:
    answer = msgspec.convert(fixture("kling", name)["json"], _Answer)
    assert (answer.code == 0) == (answer.data is not None)


@pytest.mark.parametrize("name", sorted(DELIBERATELY_OFF_SCHEMA))
def test_deliberately_off_schema_answers_are_refused(name: str) -> None:
    with pytest.raises((msgspec.ValidationError, KeyError)):
        msgspec.convert(fixture("kling", name)["json"], _Answer)


@pytest.mark.parametrize(("answer", "not_found"), [
    (httpx.Response(404, text="no such path"), True),
    (httpx.Response(404, json={"code": 1202, "message": "The requested method is invalid"}), False),
    (httpx.Response(400, json={"code": 1201, "message": "duration value is illegal"}), False),
    (httpx.Response(400, json={"code": 1200, "message": "task does not exist"}), True),
])
def test_only_an_unknown_id_reads_as_not_found(answer: httpx.Response, not_found: bool) -> None:
    provider, _ = kling(answer, recorded("kling", "error_404_1203"))
    found = run(provider.find(SECRET, "sub-1"))
    assert (found == Success(None)) is not_found
    if not not_found:
        assert found.failure().kind is FailureKind.INVALID


@pytest.mark.parametrize("data", [{"task_id": "../../x"}, {"task_id": ""}, {"task_id": 5}, {}])
def test_a_created_task_without_a_usable_id_is_malformed(data: dict[str, object]) -> None:
    created = recorded("kling", "task_created").json()
    failure = submit_failure(recorded("kling", "task_created", data=created["data"] | data if data else None))
    assert failure.code == "PROVIDER_MALFORMED_RESPONSE"


def test_an_absurd_creation_time_is_ignored() -> None:
    answer = recorded("kling", "task_succeed").json()
    provider, _ = kling(recorded("kling", "task_succeed", data=answer["data"] | {"created_at": 10**30}))
    assert run(provider.status(SECRET, f"text2video:{TASK_ID}")).unwrap().state is RemoteState.SUCCEEDED

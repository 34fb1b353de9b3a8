"""The one provider HTTP core: auth, default and per-request headers, timeouts, the error mapping
hooks, Retry-After, redaction and malformed answers, over a replayed MockTransport."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from adapters.providers.api_client import (
    ApiClient,
    ErrorAnswer,
    ErrorMapping,
    bearer,
    job_not_found,
    jwt_bearer,
    key_header,
    scheme,
)
from adapters.providers.httpio import classify_status, failure
from domain.account_secrets import encode_fields, secret_fields
from domain.accounts import FailureKind
from domain.providers import ProviderFailure
from tests.support.recorded_http import Replay

SECRET = "sk-live-core-0123456789SECRET"
BASE = "https://api.example.test/v1/"


def api(replay: Replay, **options: Any) -> ApiClient:
    return ApiClient(replay.client(), options.pop("base_url", BASE), options.pop("auth", bearer), **options)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def failure_of(result: Result[Any, ProviderFailure]) -> ProviderFailure:
    assert isinstance(result, Failure), result
    found: ProviderFailure = result.failure()
    return found


def echo(status: int, **headers: str) -> Any:
    """An answer whose body repeats the request's auth header, as a careless provider might."""
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers,
                              json={"detail": f"bad key {request.headers.get('authorization')}"})

    return answer


# ---------------------------------------------------------------- requests


@pytest.mark.parametrize(("auth", "name", "value"), [
    (bearer, "authorization", f"Bearer {SECRET}"),
    (scheme("Key"), "authorization", f"Key {SECRET}"),
    (key_header("x-goog-api-key"), "x-goog-api-key", SECRET),
    (key_header("API-KEY"), "api-key", SECRET),
])
def test_the_secret_goes_out_in_the_providers_auth_header(auth: Any, name: str, value: str) -> None:
    replay = Replay().on("GET", r"/things/1$", httpx.Response(200, json={"id": "1"}))
    assert run(api(replay, auth=auth).send(SECRET, "GET", "/things/1")) == Success({"id": "1"})
    assert replay.requests[0].headers[name] == value


def test_paths_join_under_the_base_url_with_or_without_their_slashes() -> None:
    client = api(Replay())
    assert client.url("/a/b") == client.url("a/b") == "https://api.example.test/v1/a/b"


def test_static_default_headers_and_per_call_headers_are_sent_with_the_auth() -> None:
    replay = Replay().on("POST", r"/jobs$", httpx.Response(200, json={}))
    client = api(replay, headers={"X-Version": "2024-11-06"})
    run(client.send(SECRET, "POST", "/jobs", json={"a": 1}, headers={"X-Extra": "yes"}))
    sent = replay.requests[0]
    assert (sent.headers["x-version"], sent.headers["x-extra"]) == ("2024-11-06", "yes")
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert json.loads(sent.content) == {"a": 1}


def test_a_header_hook_is_called_anew_for_every_request_a_resent_one_included() -> None:
    numbers = itertools.count(1)
    replay = Replay().on("POST", r"/jobs$", httpx.Response(503), httpx.Response(200, json={}))
    client = api(replay, headers=lambda: {"Ai-trace-id": f"trace-{next(numbers)}"})
    assert isinstance(run(client.send(SECRET, "POST", "/jobs")), Failure)
    assert run(client.send(SECRET, "POST", "/jobs")) == Success({})
    assert [r.headers["ai-trace-id"] for r in replay.requests] == ["trace-1", "trace-2"]


def test_the_configured_timeout_goes_with_every_request() -> None:
    replay = Replay().on("GET", r"/slow$", httpx.Response(200, json={}))
    run(api(replay, timeout=httpx.Timeout(7.5, connect=2.0)).send(SECRET, "GET", "/slow"))
    assert replay.requests[0].extensions["timeout"] == {"connect": 2.0, "read": 7.5, "write": 7.5, "pool": 7.5}


def test_without_a_timeout_the_clients_own_applies() -> None:
    replay = Replay().on("GET", r"/slow$", httpx.Response(200, json={}))
    client = ApiClient(httpx.AsyncClient(transport=httpx.MockTransport(replay), timeout=42.0), BASE, bearer)
    run(client.send(SECRET, "GET", "/slow"))
    assert replay.requests[0].extensions["timeout"]["read"] == 42.0


ISSUER, SIGNING_KEY = "AK-core-issuer-0123", "SK-core-signing-key-0123456789abcdef"
PAIR = encode_fields({"issuer": ISSUER, "key": SIGNING_KEY})


def pair_of(secret: str) -> tuple[str, str] | ProviderFailure:
    fields = secret_fields(secret) or {}
    if "issuer" in fields and "key" in fields:
        return fields["issuer"], fields["key"]
    return failure(FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", "not an issuer/key pair")


def signer(clock: Any) -> Any:
    return jwt_bearer(pair_of, lambda issuer, now: {"iss": issuer, "exp": int(now.timestamp()) + 60}, clock)


def test_a_jwt_signer_sends_a_fresh_hs256_token_per_request_from_the_structured_secret() -> None:
    moments = iter([datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=90)])
    replay = Replay().on("GET", r"/x$", httpx.Response(200, json={}))
    client = api(replay, auth=signer(lambda: next(moments)))
    for _ in range(2):
        assert run(client.send(PAIR, "GET", "/x")) == Success({})
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in replay.requests]
    assert [jwt.get_unverified_header(token) for token in tokens] == [{"alg": "HS256", "typ": "JWT"}] * 2
    expiries = [jwt.decode(token, SIGNING_KEY, algorithms=["HS256"], issuer=ISSUER, options={"verify_exp": False})["exp"]
                for token in tokens]
    assert expiries[1] - expiries[0] == 90


def test_a_secret_the_auth_function_refuses_is_its_failure_and_nothing_is_sent() -> None:
    replay = Replay()
    client = api(replay, auth=signer(lambda: datetime.now(UTC)))
    for answered in (run(client.send("sk-one-string", "GET", "/x")), run(client.call("{}", "GET", "/x"))):
        assert (failure_of(answered).kind, failure_of(answered).code) == (FailureKind.AUTH, "PROVIDER_AUTH_REJECTED")
    assert replay.requests == []


def test_neither_a_structured_secrets_fields_nor_a_token_signed_from_it_reach_a_message() -> None:
    said = f"{ISSUER}:{SIGNING_KEY}"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"no to {request.headers['authorization']} {said}", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": f"bad {request.headers['authorization']} {said}"})

    replay = Replay().on("GET", r"/x$", refused).on("GET", r"/down$", down)
    client = api(replay, auth=signer(lambda: datetime.now(UTC)), errors=ErrorMapping(text=lambda b, r: str(b["detail"])))
    for path in ("/x", "/down"):
        message = failure_of(run(client.send(PAIR, "GET", path))).message
        token = replay.requests[-1].headers["authorization"].removeprefix("Bearer ")
        assert "Bearer ***" in message and token not in message
        assert ISSUER not in message and SIGNING_KEY not in message


# ---------------------------------------------------------------- error answers


@pytest.mark.parametrize(("status", "kind", "code"), [
    (400, FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST"),
    (401, FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    (403, FailureKind.AUTH, "PROVIDER_AUTH_REJECTED"),
    (402, FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS"),
    (429, FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED"),
    (409, FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
    (503, FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE"),
])
def test_error_statuses_are_classified(status: int, kind: FailureKind, code: str) -> None:
    replay = Replay().on("GET", r"/x$", httpx.Response(status, json={"detail": "nope"}))
    found = failure_of(run(api(replay).send(SECRET, "GET", "/x")))
    assert (found.kind, found.code) == (kind, code)
    assert found.message.startswith(f"{status}: ")


def test_the_error_text_hook_reads_the_providers_message_out_of_its_body() -> None:
    mapping = ErrorMapping(text=lambda body, response: f"{body['title']}: {body['detail']}")
    replay = Replay().on("GET", r"/x$", httpx.Response(422, json={"title": "Invalid", "detail": "bad seed"}))
    assert failure_of(run(api(replay, errors=mapping).send(SECRET, "GET", "/x"))).message == "422: Invalid: bad seed"


def test_without_a_text_hook_the_message_is_the_start_of_the_body() -> None:
    replay = Replay().on("GET", r"/x$", httpx.Response(400, text="plain words"))
    assert failure_of(run(api(replay).send(SECRET, "GET", "/x"))).message == "400: plain words"


def test_the_refine_hook_sees_status_body_and_text_and_may_reclassify() -> None:
    seen: list[ErrorAnswer] = []

    def refine(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
        seen.append(answer)
        if "credits" in answer.text:
            return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", classified.message)
        return job_not_found(classified) if answer.response.status_code == 404 else classified

    mapping = ErrorMapping(text=lambda body, response: str(body.get("error", "")), refine=refine)
    replay = (Replay().on("POST", r"/jobs$", httpx.Response(400, json={"error": "not enough credits"}))
              .on("GET", r"/jobs/9$", httpx.Response(404, json={"error": "no such task"})))
    client = api(replay, errors=mapping)
    credits = failure_of(run(client.send(SECRET, "POST", "/jobs")))
    missing = failure_of(run(client.send(SECRET, "GET", "/jobs/9")))
    assert (credits.kind, credits.code) == (FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS")
    assert (missing.kind, missing.code, missing.message) == (FailureKind.INVALID, "JOB_NOT_FOUND", "404: no such task")
    assert [a.body for a in seen] == [{"error": "not enough credits"}, {"error": "no such task"}]


def test_answers_below_400_never_reach_the_error_hooks() -> None:
    def refine(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
        raise AssertionError("an answer below 400 was refined")

    replay = Replay().on("GET", r"/x$", httpx.Response(200, json={"error": "looks bad, is fine"}))
    assert run(api(replay, errors=ErrorMapping(refine=refine)).send(SECRET, "GET", "/x")) == \
        Success({"error": "looks bad, is fine"})


@pytest.mark.parametrize(("headers", "wait"), [
    ({"retry-after": "7"}, 7),
    ({"retry-after": "1.5"}, 2),
    ({"retry-after-ms": "2500"}, 3),
    ({"retry-after-ms": "250.5", "retry-after": "60"}, 1),
    ({}, None),
])
def test_a_rate_limit_carries_the_wait_the_provider_asks_for(headers: dict[str, str], wait: int | None) -> None:
    replay = Replay().on("POST", r"/jobs$", httpx.Response(429, headers=headers, json={}))
    found = failure_of(run(api(replay).send(SECRET, "POST", "/jobs")))
    assert (found.kind, found.retry_after_seconds) == (FailureKind.RATE_LIMITED, wait)


# ---------------------------------------------------------------- transport, bodies, redaction


def test_transport_errors_are_transient_and_a_read_timeout_is_told_apart() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    replay = Replay().on("GET", r"/down$", refused).on("GET", r"/slow$", slow)
    client = api(replay)
    down, late = failure_of(run(client.send(SECRET, "GET", "/down"))), failure_of(run(client.call(SECRET, "GET", "/slow")))
    assert (down.kind, down.code) == (FailureKind.TRANSIENT, "PROVIDER_UNREACHABLE")
    assert (late.kind, late.code) == (FailureKind.TRANSIENT, "PROVIDER_TIMEOUT")


@pytest.mark.parametrize("answer", [
    httpx.Response(200, text="<html>oops</html>"),
    httpx.Response(200, text='{"truncated": '),
    httpx.Response(200, json=["not", "an", "object"]),
    httpx.Response(200),
    httpx.Response(204),
])
def test_a_malformed_answer_is_a_transient_malformed_failure(answer: httpx.Response) -> None:
    replay = Replay().on("GET", r"/x$", answer)
    found = failure_of(run(api(replay).send(SECRET, "GET", "/x")))
    assert (found.kind, found.code) == (FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE")


@pytest.mark.parametrize("answer", [httpx.Response(200), httpx.Response(204)])
def test_an_empty_answer_is_an_empty_object_where_the_provider_sends_them(answer: httpx.Response) -> None:
    replay = Replay().on("DELETE", r"/x$", answer)
    assert run(api(replay, empty_ok=True).send(SECRET, "DELETE", "/x")) == Success({})


def test_the_decode_hook_reads_a_2xx_answer_out_of_its_envelope() -> None:
    def unwrapped(response: httpx.Response) -> Result[dict[str, Any], ProviderFailure]:
        body = response.json()
        if body["ErrCode"]:
            return Failure(failure(FailureKind.TRANSIENT, "ENVELOPE_ERROR", f"{body['ErrMsg']} {SECRET}"))
        return Success(body["Resp"])

    replay = Replay().on("GET", r"/x$", httpx.Response(200, json={"ErrCode": 0, "Resp": {"id": 5}}),
                         httpx.Response(200, json={"ErrCode": 9, "ErrMsg": "busy"}))
    client = api(replay, decode=unwrapped)
    assert run(client.send(SECRET, "GET", "/x")) == Success({"id": 5})
    assert failure_of(run(client.send(SECRET, "GET", "/x"))).message == "busy ***"


def test_call_answers_an_error_status_as_it_is() -> None:
    replay = Replay().on("DELETE", r"/x$", httpx.Response(404, json={"detail": "gone"}))
    answered = run(api(replay).call(SECRET, "DELETE", "/x"))
    assert isinstance(answered, Success) and answered.unwrap().status_code == 404


def test_a_secret_echoed_in_an_error_body_never_reaches_the_message() -> None:
    replay = Replay().on("GET", r"/x$", echo(401))
    found = failure_of(run(api(replay, errors=ErrorMapping(text=lambda b, r: str(b["detail"]))).send(SECRET, "GET", "/x")))
    assert SECRET not in found.message and "***" in found.message


def test_a_secret_echoed_in_a_malformed_body_or_a_transport_error_never_reaches_the_message() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy said no to {request.headers['authorization']}", request=request)

    replay = (Replay().on("GET", r"/html$", lambda r: httpx.Response(200, text=f"<p>{r.headers['authorization']}"))
              .on("GET", r"/down$", refused))
    client = api(replay)
    for path in ("/html", "/down"):
        assert SECRET not in failure_of(run(client.send(SECRET, "GET", path))).message


@given(status=st.integers(min_value=400, max_value=599), before=st.text(max_size=40), after=st.text(max_size=40))
def test_any_error_answer_is_classified_by_its_status_and_never_shows_the_secret(status: int, before: str,
                                                                                  after: str) -> None:
    replay = Replay().on("GET", r"/x$", httpx.Response(status, json={"detail": before + SECRET + after}))
    mapping = ErrorMapping(text=lambda body, response: str(body["detail"]))
    found = failure_of(run(api(replay, errors=mapping).send(SECRET, "GET", "/x")))
    expected = classify_status(httpx.Response(status), "x")
    assert expected is not None and (found.kind, found.code) == (expected.kind, expected.code)
    assert SECRET not in found.message

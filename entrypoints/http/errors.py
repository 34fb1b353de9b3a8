"""The one error table, and RFC 9457 problem responses for every failure the API can give.

Use-case failures (`DomainError`) map through `STATUS`; Litestar's own exceptions (bad
bodies and parameters, unknown routes, wrong methods, oversized requests) become the same
problem shape, so no malformed request ever reaches the generic 500 handler.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.types import ExceptionHandlersMap
from returns.result import Failure, Result

from domain.errors import DomainError, ErrorCode
from entrypoints.faults import is_infrastructure_fault

T = TypeVar("T")
log = logging.getLogger("pixrelay.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"
BODY_PATH = re.compile(r"at `\$\.([^`]+)`")
UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")

STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.IDEMPOTENCY_MISMATCH: 422,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INSUFFICIENT_CREDITS: 402,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.LINEAGE_CYCLE: 409,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.NO_AVAILABLE_ACCOUNT: 503,
    ErrorCode.LEASE_LOST: 409,
    ErrorCode.PARENT_FAILED: 409,
    ErrorCode.PROVIDER_ERROR: 502,
    ErrorCode.CONTENT_MODERATED: 422,
    ErrorCode.OUTPUT_UNAVAILABLE: 502,
}

# Codes only the HTTP layer speaks (no use case returns them).
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
INTERNAL_ERROR = "INTERNAL_ERROR"
# Litestar's 500 for a client that hung up before its body arrived, and nginx's status for it.
CLIENT_GONE = "client disconnected prematurely"
CLIENT_CLOSED_REQUEST = 499

# What Litestar's own exceptions become, by status.
HTTP_CODES: dict[int, str] = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class Problem(msgspec.Struct, omit_defaults=True, kw_only=True):
    """An RFC 9457 problem: `code` is the stable, machine-readable part."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None


class ProblemException(Exception):
    """Raised by handlers to answer with the problem for `error`."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.detail)
        self.error = error


def ok(result: Result[T, DomainError]) -> T:
    """The value of a use case's result; its failure becomes the problem response."""
    if isinstance(result, Failure):
        raise ProblemException(result.failure())
    return result.unwrap()


def problem_type(code: str) -> str:
    return f"urn:pixrelay:problem:{code.lower().replace('_', '-')}"


def status_of(code: str) -> int:
    try:
        return STATUS.get(ErrorCode(code), 500)
    except ValueError:  # one of the HTTP layer's own codes
        return 405 if code == METHOD_NOT_ALLOWED else 500


def problem_response(code: str, detail: str, *, status: int | None = None, field: str | None = None,
                     retry_after: int | None = None,
                     headers: Mapping[str, str] | None = None) -> Response[Problem]:
    status = status or status_of(code)
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    if status in (429, 503) and retry_after is not None:
        all_headers["Retry-After"] = str(max(1, retry_after))
    problem = Problem(type=problem_type(code), title=HTTPStatus(status).phrase, status=status,
                      detail=detail, code=code, field=field)
    return Response(problem, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=all_headers)


def domain_problem(error: DomainError) -> Response[Problem]:
    # Clients need a Retry-After on every 429 (docs/SPEC.md §5); a minute is the fallback when unknown.
    retry_after = error.retry_after
    if retry_after is None and status_of(error.code) == 429:
        retry_after = 60
    return problem_response(error.code, error.detail, field=error.field, retry_after=retry_after)


def _on_problem(_: Request[Any, Any, Any], exc: ProblemException) -> Response[Problem]:
    return domain_problem(exc.error)


def _on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = str(first.get("message") or "")
    detail = f"{exc.detail}: {message}" if message else str(exc.detail)
    return problem_response(ErrorCode.VALIDATION_ERROR, detail, status=422,
                            field=_field(str(first.get("key") or ""), message))


def _field(key: str, message: str) -> str | None:
    """The offending field: a parameter's name, or the body path msgspec names."""
    if key and key != "data":
        return key
    found = BODY_PATH.search(message) or UNKNOWN_FIELD.search(message)
    return found.group(1) if found else None


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 500 and exc.detail == CLIENT_GONE:
        # No one is left to answer, and it is no fault of the server: no error log, no 5xx.
        log.info("http.client_gone", extra={"path": request.url.path})
        return Response(None, status_code=CLIENT_CLOSED_REQUEST)
    status = exc.status_code
    code = HTTP_CODES.get(status, INTERNAL_ERROR if status >= 500 else ErrorCode.VALIDATION_ERROR)
    if code == ErrorCode.VALIDATION_ERROR:
        status = 422  # every malformed request is a VALIDATION_ERROR, whatever Litestar chose
    if status >= 500 and status != 503:
        log.error("http.error", exc_info=exc)
        return problem_response(INTERNAL_ERROR, "the server failed to answer this request", status=status)
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return problem_response(code, str(exc.detail), status=status, headers=headers)


def _on_undecodable(_: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Problem]:
    # msgspec raises this (not a DecodeError) for a JSON body that is not UTF-8, and
    # Litestar lets it through; it is the client's fault all the same.
    return problem_response(ErrorCode.VALIDATION_ERROR, "the request body is not valid UTF-8", status=422)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):
        # msgspec's own depth guard, hit by absurdly nested JSON: bad input, not a bug
        return problem_response(ErrorCode.VALIDATION_ERROR, "the request body is nested too deeply", status=422)
    if is_infrastructure_fault(exc):  # a retry may cure it: 503, not 500
        log.warning("http.unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
        return problem_response(ErrorCode.SERVICE_UNAVAILABLE,
                                "a backing service is unavailable; try again shortly", retry_after=5)
    log.error("http.unexpected", extra={"path": request.url.path}, exc_info=exc)
    return problem_response(INTERNAL_ERROR, "the server failed to answer this request", status=500)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ProblemException: _on_problem,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    UnicodeDecodeError: _on_undecodable,
    Exception: _on_unexpected,
}


# One real problem per status for the OpenAPI document (code, detail, field), as the API sends them.
PROBLEM_EXAMPLES: dict[int, list[tuple[ErrorCode, str, str | None]]] = {
    401: [(ErrorCode.UNAUTHENTICATED, "send Authorization: Bearer <access token>", None)],
    402: [(ErrorCode.INSUFFICIENT_CREDITS, "this job needs 40 credits, 12 are available", None)],
    403: [(ErrorCode.FORBIDDEN, "admins only", None)],
    404: [(ErrorCode.NOT_FOUND, "job 01JD8Z7K3Q4V5W6X7Y8Z9A0B1C not found", None)],
    409: [(ErrorCode.INVALID_TRANSITION, "job 01JD8Z7K3Q4V5W6X7Y8Z9A0B1C is completed and cannot be cancelled",
           None), (ErrorCode.CONFLICT, "an account with this email or username already exists", None)],
    413: [(ErrorCode.PAYLOAD_TOO_LARGE, "images may be at most 20 MB", None)],
    415: [(ErrorCode.UNSUPPORTED_MEDIA_TYPE,
           "send this body as application/json (a charset parameter and +json types are fine)", None)],
    422: [(ErrorCode.VALIDATION_ERROR, "Expected `str` of length <= 320", "email"),
          (ErrorCode.IDEMPOTENCY_MISMATCH, "this Idempotency-Key was used with another body", None)],
    429: [(ErrorCode.RATE_LIMITED, "too many failed logins; try again later", None),
          (ErrorCode.QUOTA_EXCEEDED, "daily job limit of 100 reached", None)],
}


def problem_example(status: int, code: str, detail: str, field: str | None) -> Example:
    value = msgspec.to_builtins(Problem(type=problem_type(code), title=HTTPStatus(status).phrase, status=status,
                                        detail=detail, code=code, field=field))
    return Example(id=code, summary=f"{code}: {detail}", value=value)


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can give, each with real examples."""
    return {
        status: ResponseSpec(data_container=Problem, media_type=PROBLEM_MEDIA_TYPE, generate_examples=False,
                             description=HTTPStatus(status).phrase,
                             examples=[problem_example(status, str(code), detail, field)
                                       for code, detail, field in PROBLEM_EXAMPLES.get(status, [])] or None)
        for status in statuses
    }

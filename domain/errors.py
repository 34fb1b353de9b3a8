"""The typed failures every layer speaks. Each carries a stable code clients rely on."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    IDEMPOTENCY_MISMATCH = "IDEMPOTENCY_MISMATCH"
    NO_AVAILABLE_ACCOUNT = "NO_AVAILABLE_ACCOUNT"
    LEASE_LOST = "LEASE_LOST"
    PARENT_FAILED = "PARENT_FAILED"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    CONTENT_MODERATED = "CONTENT_MODERATED"
    OUTPUT_UNAVAILABLE = "OUTPUT_UNAVAILABLE"
    LINEAGE_CYCLE = "LINEAGE_CYCLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class DomainError(msgspec.Struct, frozen=True):
    """An expected failure: returned inside `Failure(...)`, never raised."""

    code: ErrorCode
    detail: str
    retry_after: int | None = None
    field: str | None = None


def validation(detail: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, detail, field=field)


def not_found(what: str) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found")


def conflict(detail: str) -> DomainError:
    return DomainError(ErrorCode.CONFLICT, detail)


def forbidden(detail: str = "this action needs the admin role") -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, detail)


def unauthenticated(detail: str = "missing, invalid or revoked credentials") -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, detail)


def quota_exceeded(detail: str, retry_after: int | None = None) -> DomainError:
    return DomainError(ErrorCode.QUOTA_EXCEEDED, detail, retry_after=retry_after)


def insufficient_credits(needed: int, available: int) -> DomainError:
    return DomainError(
        ErrorCode.INSUFFICIENT_CREDITS,
        f"this needs {needed} credits and {available} are available",
    )


def invalid_transition(entity: str, current: str, target: str) -> DomainError:
    return DomainError(
        ErrorCode.INVALID_TRANSITION, f"{entity} cannot go from {current} to {target}"
    )

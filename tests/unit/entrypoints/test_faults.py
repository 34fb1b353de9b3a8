"""Which errors the API answers with 503 and the worker backs off from: faults of a backing
service, including those raised by statements sent on the asyncpg driver itself."""

from __future__ import annotations

import asyncpg
import pytest

from entrypoints.faults import is_infrastructure_fault


@pytest.mark.parametrize("error", [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_a_lost_or_refused_connection_on_the_driver_is_a_fault(error: BaseException) -> None:
    assert is_infrastructure_fault(error)


@pytest.mark.parametrize("error", [
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.RaiseError("PX001 stale"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ValueError("a bug"),
])
def test_errors_a_retry_cannot_cure_are_not(error: BaseException) -> None:
    assert not is_infrastructure_fault(error)

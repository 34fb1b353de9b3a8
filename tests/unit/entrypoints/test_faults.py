"""Which errors are a backing service's fault (503, the worker backs off) and which are bugs
(500): the same whether SQLAlchemy wrapped the driver's error or the hot-path statements
raised it as the driver did (adapters/sql/autocommit.py)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from entrypoints.faults import is_infrastructure_fault


def server_error(cls: type[asyncpg.PostgresError], sqlstate: str) -> asyncpg.PostgresError:
    error = cls("from the server")
    error.sqlstate = sqlstate  # type: ignore[misc]
    return error


@pytest.mark.parametrize(("cls", "sqlstate"), [
    (asyncpg.AdminShutdownError, "57P01"),
    (asyncpg.ConnectionDoesNotExistError, "08003"),
    (asyncpg.CannotConnectNowError, "57P03"),
    (asyncpg.TooManyConnectionsError, "53300"),
])
def test_a_lost_or_refused_connection_is_a_fault_raw_or_wrapped(cls: type[asyncpg.PostgresError],
                                                                 sqlstate: str) -> None:
    error = server_error(cls, sqlstate)
    assert is_infrastructure_fault(error)
    assert is_infrastructure_fault(DBAPIError("SELECT 1", None, error))


@pytest.mark.parametrize(("cls", "sqlstate"), [
    (asyncpg.PostgresError, "PX001"),  # a statement that undid itself, not handled: a bug
    (asyncpg.UniqueViolationError, "23505"),
    (asyncpg.UndefinedColumnError, "42703"),
])
def test_an_error_the_server_answered_on_a_live_connection_is_not(cls: type[asyncpg.PostgresError],
                                                                  sqlstate: str) -> None:
    error = server_error(cls, sqlstate)
    assert not is_infrastructure_fault(error)
    assert not is_infrastructure_fault(DBAPIError("SELECT 1", None, error))


def test_a_statement_that_lost_its_connection_is_a_fault() -> None:
    lost = asyncpg.InterfaceError("cannot perform operation: connection is closed")
    assert is_infrastructure_fault(DBAPIError("SELECT 1", None, lost, connection_invalidated=True))


@pytest.mark.parametrize("error", [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_driver_errors_as_raised_are_classified_by_kind(error: BaseException) -> None:
    assert is_infrastructure_fault(error)


@pytest.mark.parametrize("error", [
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.RaiseError("PX001 stale"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ValueError("a bug"),
])
def test_driver_errors_a_retry_cannot_cure_are_not(error: BaseException) -> None:
    assert not is_infrastructure_fault(error)

"""Every benchmark at smoke size: it runs to the end and measures something on both sides.
The goals themselves are for `make bench`, never for the test suite."""

from __future__ import annotations

import asyncio
import math

import pytest

from bench.__main__ import BENCHMARKS, table
from bench.common import Results, pg_server_url
from tests.service_check import unavailable


@pytest.fixture(autouse=True)
def smoke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_SCALE", "smoke")
    import asyncpg

    from bench.common import plain_dsn

    async def ping() -> None:
        connection = await asyncpg.connect(plain_dsn(pg_server_url()), timeout=5)
        await connection.close()
    try:
        asyncio.run(ping())
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        unavailable("Postgres for the benchmarks", error)


@pytest.mark.postgres
@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_runs_at_smoke_size(name: str) -> None:
    results = Results()
    asyncio.run(BENCHMARKS[name](results))
    assert results.rows, f"{name} produced no rows"
    for row in results.rows:
        assert row.pixrelay is not None and math.isfinite(row.pixrelay), row
        assert row.baseline is not None and math.isfinite(row.baseline), row
    assert row.benchmark in table(results.rows)

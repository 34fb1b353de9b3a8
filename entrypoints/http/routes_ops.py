"""Liveness and readiness (no credential: for the platform), and Prometheus metrics (an admin's
access token or the metrics token: they name accounts and their credits)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domain.errors import forbidden
from entrypoints.bootstrap import Ports
from entrypoints.http.deps import BEARER_SECURITY, authenticate, bearer_token, ports_of
from entrypoints.http.errors import ProblemException, problems
from entrypoints.http.metrics import (
    CONTENT_TYPE,
    Metrics,
    ProviderHealth,
    account_families,
    job_family,
    provider_families,
)

CHECK_SECONDS = 3.0
PROBE_KEY = "sha256/00/00/" + "0" * 64  # a well-formed key nothing is stored under


@dataclass(frozen=True)
class ReadinessCheck:
    """A named probe: it returns when the dependency answers and raises when it does not."""

    name: str
    probe: Callable[[], Awaitable[object]]


class CheckOut(msgspec.Struct, kw_only=True):
    ok: bool
    detail: str | None = None


class ReadinessOut(msgspec.Struct, kw_only=True):
    status: str  # ok | unavailable
    checks: dict[str, CheckOut]


class LiveOut(msgspec.Struct, kw_only=True):
    status: str


def default_checks(ports: Ports, providers: Sequence[ProviderHealth]) -> list[ReadinessCheck]:
    async def database() -> None:
        async with ports.uow() as uow:
            await uow.users.count()

    async def blob_store() -> None:
        await ports.blobs.exists(PROBE_KEY)

    async def provider_registry() -> None:
        if not ports.providers.all():
            raise RuntimeError("no provider is configured")

    async def provider_circuits() -> None:
        if providers and all(str(p.state) == "open" for p in providers):
            raise RuntimeError("every provider's circuit is open")

    return [ReadinessCheck("database", database), ReadinessCheck("blob_store", blob_store),
            ReadinessCheck("providers", provider_registry), ReadinessCheck("provider_circuits", provider_circuits)]


async def run_check(check: ReadinessCheck) -> CheckOut:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await check.probe()
    except TimeoutError:
        return CheckOut(ok=False, detail=f"no answer within {CHECK_SECONDS:g} s")
    except Exception as error:  # any failure of a probe is the answer, not a crash
        return CheckOut(ok=False, detail=f"{type(error).__name__}: {str(error)[:200]}")
    return CheckOut(ok=True)


@get("/health/live", operation_id="checkLiveness", summary="Liveness", description="200 while the process serves requests.")
async def live() -> LiveOut:
    return LiveOut(status="ok")


@get("/health/ready", operation_id="checkReadiness", summary="Readiness", description=(
    "Checks the database, the blob store, the provider registry and circuits, and any check "
    "the deployment adds (e.g. Redis): 200 when all pass, 503 with each check's detail otherwise."))
async def ready(request: Request[Any, Any, Any]) -> Response[ReadinessOut]:
    state = request.app.state
    checks = [*default_checks(ports_of(request), state.guarded_providers), *state.readiness_checks]
    results = await asyncio.gather(*(run_check(c) for c in checks))
    report = dict(zip((c.name for c in checks), results, strict=True))
    healthy = all(r.ok for r in results)
    return Response(ReadinessOut(status="ok" if healthy else "unavailable", checks=report),
                    status_code=200 if healthy else 503)


async def require_metrics_reader(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: `Authorization: Bearer <PIXRELAY_METRICS_TOKEN>`, or an admin's access token.

    Other credentials that may read metrics (an API key with a `metrics` scope) are checked
    here, between the two."""
    token = bearer_token(connection)
    expected: str | None = connection.app.state.metrics_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    if not (await authenticate(connection)).is_admin:
        raise ProblemException(forbidden("metrics are for admins and the metrics token"))


@get("/metrics", operation_id="getMetrics", summary="Prometheus metrics", media_type=CONTENT_TYPE, guards=[require_metrics_reader],
     security=[*BEARER_SECURITY, {"metricsToken": []}], responses=problems(401, 403), description=(
    "Prometheus text format, for an admin's access token or `PIXRELAY_METRICS_TOKEN` as a bearer "
    "token: responses by route and status, request latency by route, queue wait and generation "
    "time by provider (histograms), jobs by status, the account pool (accounts by status, running "
    "jobs, credits, average generation time) and provider circuits and calls."))
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    state = request.app.state
    kept: Metrics = state.metrics
    async with ports_of(request).uow() as uow:
        jobs = await uow.jobs.count_by_status()
        accounts = await uow.accounts.find()
    text = kept.render(job_family(jobs), *account_families(accounts), *provider_families(state.guarded_providers))
    return Response(text, media_type=CONTENT_TYPE)


router = Router(path="/", tags=["ops"], route_handlers=[live, ready, metrics])

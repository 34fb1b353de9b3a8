"""Liveness, readiness and Prometheus metrics (no bearer token: for the platform, not users)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response, Router, get

from entrypoints.bootstrap import Ports
from entrypoints.http.deps import ports_of
from entrypoints.http.metrics import (
    CONTENT_TYPE,
    ProviderHealth,
    RequestCounter,
    account_families,
    job_family,
    provider_families,
    render,
    request_family,
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


@get("/health/live", summary="Liveness", description="200 while the process serves requests.")
async def live() -> LiveOut:
    return LiveOut(status="ok")


@get("/health/ready", summary="Readiness", description=(
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


@get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE, description=(
    "Prometheus text format: responses by route and status, jobs by status, the account pool "
    "(accounts by status, running jobs, credits, average generation time) and provider circuits."))
async def metrics(request: Request[Any, Any, Any]) -> str:
    state = request.app.state
    counter: RequestCounter = state.request_counter
    async with ports_of(request).uow() as uow:
        jobs = await uow.jobs.count_by_status()
        accounts = await uow.accounts.find()
    return render([request_family(counter), job_family(jobs), *account_families(accounts),
                   *provider_families(state.guarded_providers)])


router = Router(path="/", tags=["ops"], route_handlers=[live, ready, metrics])

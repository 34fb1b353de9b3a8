"""Run the API, the worker, or both in one process, with a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import replace
from typing import Any

import punq
import uvicorn
from returns.result import Failure

from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import RunJob
from application.setup import FirstRunSetup, SetupReport
from application.webhooks.deliver import DeliverWebhooks
from domain.ports import WorkSignal
from entrypoints.bootstrap import build_container
from entrypoints.http.app import create_app
from entrypoints.http.metrics import Metrics, MetricsEventBus, MetricsWebhookSender
from entrypoints.http.routes_ops import ReadinessCheck
from entrypoints.runtime import Runtime, open_runtime
from entrypoints.settings import Settings
from entrypoints.webhook_loop import WebhookLoop
from entrypoints.worker import Worker

log = logging.getLogger("pixrelay")


async def run(settings: Settings, *, api: bool, worker: bool, migrate: bool) -> None:
    async with open_runtime(settings, run_migrations=migrate) as runtime:
        metrics = Metrics()  # the API's /metrics shows what the worker in this process observes
        ports = replace(runtime.ports, events=MetricsEventBus(runtime.ports.events, runtime.ports.uow, metrics),
                        webhook_sender=MetricsWebhookSender(runtime.ports.webhook_sender, metrics))
        container = build_container(ports, runtime.policies)
        if api:
            await first_run(container, settings)
        stop = asyncio.Event()
        tasks: list[asyncio.Task[Any]] = []
        if worker:
            tasks.append(asyncio.create_task(make_worker(container, settings).run(stop), name="worker"))
        if api:
            server = uvicorn.Server(uvicorn.Config(
                create_app(container, guarded_providers=runtime.providers,
                           readiness_checks=readiness_checks(runtime), metrics=metrics,
                           metrics_token=settings.metrics_token,
                           trusted_proxies=settings.trusted_proxy_networks), host=settings.host,
                # X-Forwarded-For is the app's to judge (PIXRELAY_TRUSTED_PROXIES); uvicorn
                # would believe it from loopback
                port=settings.port, log_config=None, access_log=False, lifespan="on", proxy_headers=False))
            log.info("api.listen", extra={"url": f"http://{settings.host}:{settings.port}"})
            _stop_server_on_signals(server, stop)
            await server.serve()
            stop.set()
        else:
            _stop_on_signals(stop)
            await stop.wait()
        await asyncio.gather(*tasks)


def readiness_checks(runtime: Runtime) -> list[ReadinessCheck]:
    """Beyond the built-in checks: Redis, when configured (rate limits, events, wake-ups)."""
    redis = runtime.redis
    if redis is None:
        return []

    async def ping() -> None:
        await redis.ping()

    return [ReadinessCheck("redis", ping)]


def make_worker(container: punq.Container, settings: Settings) -> Worker:
    claim: ClaimJobs = container.resolve(ClaimJobs)
    run_job: RunJob = container.resolve(RunJob)
    work_signal: WorkSignal = container.resolve(WorkSignal)
    deliveries = WebhookLoop(container.resolve(DeliverWebhooks), idle_seconds=settings.webhook_poll_seconds)
    return Worker(claim, run_job, work_signal, concurrency=settings.worker_concurrency, beside=deliveries.run,
                  held=container.resolve(HeldPolls))


async def first_run(container: punq.Container, settings: Settings) -> SetupReport | None:
    setup: FirstRunSetup = container.resolve(FirstRunSetup)
    result = await setup(admin_email=settings.admin_email, admin_password=settings.admin_password,
                         pools={"sim": settings.sim_accounts} if settings.sim_accounts else {})
    if isinstance(result, Failure):
        log.error("setup.failed", extra={"code": str(result.failure().code), "detail": result.failure().detail})
        return None
    report = result.unwrap()
    if report.generated_password:
        print(
            "\n  pixrelay created an admin for this installation (shown only this once):\n"
            f"    email:    {report.admin_email}\n    password: {report.generated_password}\n",
            file=sys.stderr, flush=True,
        )
    return report


def _stop_server_on_signals(server: uvicorn.Server, stop: asyncio.Event) -> None:
    """uvicorn re-raises the signal it caught once it has shut down; with these handlers in
    place that ends our graceful stop (worker drained, resources closed), not the process."""
    loop = asyncio.get_running_loop()

    def handle(_sig: int, _frame: object) -> None:
        server.should_exit = True
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

"""Prometheus metrics with prometheus_client, in one CollectorRegistry per app (never the
global one: tests and several apps in one process must not share counters).

Kept in the registry as they happen: responses by method, route template and status; request
latency by route template; queue wait (a job's creation to its first attempt's start) and
generation time (a job's start at the provider to its completion) by provider, observed from
the pipeline's events by the process that runs the worker (`pixrelay serve`; a separate
`pixrelay worker` process keeps its own and serves none). Read from the database and the
provider clients at each scrape: jobs by status, the account pool (accounts by status, running
jobs, credits, average generation time) and provider circuits and call statistics.

Only numbers the system really has are exported; nothing is estimated."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from domain.accounts import AccountStatus, ProviderAccount
from domain.events import DomainEvent, JobCompleted, JobStarted
from domain.jobs import JobStatus
from domain.outbound import SendResult
from domain.ports import EventBus, UnitOfWorkFactory, WebhookSender
from domain.providers import ProviderInfo
from entrypoints.faults import is_infrastructure_fault

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNMATCHED = "unmatched"  # one label for every unknown path: no unbounded label values
CIRCUIT_STATES = ("closed", "open", "half_open")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUEUE_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)
GENERATION_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

log = logging.getLogger("pixrelay.metrics")


class CallStats(Protocol):
    @property
    def calls(self) -> Mapping[str, int]: ...
    @property
    def seconds(self) -> Mapping[str, float]: ...
    @property
    def failures(self) -> Mapping[str, int]: ...


class ProviderHealth(Protocol):
    """A provider client behind a circuit breaker that keeps call statistics."""

    @property
    def info(self) -> ProviderInfo: ...
    @property
    def state(self) -> str: ...
    @property
    def stats(self) -> CallStats: ...


class Metrics:
    """The metrics one app (and the worker in its process) keeps as things happen."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("pixrelay_http_requests", "HTTP responses by method, route and status.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("pixrelay_http_request_duration_seconds",
                                 "Time from a request's arrival to its response's start, by route.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.queue_wait = Histogram("pixrelay_job_queue_wait_seconds",
                                    "Time from a job's creation to the start of its first attempt, by provider.",
                                    ["provider"], buckets=QUEUE_BUCKETS, registry=self.registry)
        self.generation = Histogram("pixrelay_generation_seconds",
                                    "Time from a job's start at the provider to its completion, by provider.",
                                    ["provider"], buckets=GENERATION_BUCKETS, registry=self.registry)
        self.webhook_delivery = Histogram("pixrelay_webhook_delivery_seconds",
                                          "Time a webhook target took to answer one delivery attempt, by outcome "
                                          "(delivered: 2xx; failed: another status; no_answer: refused, "
                                          "unreachable or timed out).",
                                          ["outcome"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def render(self, *snapshot: Metric) -> bytes:
        """The kept metrics, then those read for this scrape."""
        return generate_latest(self.registry) + generate_latest(Snapshot(snapshot).registry())


def route_of(scope: Scope) -> str:
    return str(scope.get("path_template") or UNMATCHED)


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Observes each response's status and latency (time to its start) by route template."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                metrics: Metrics = scope["app"].state.metrics
                metrics.latency.labels(str(scope.get("method", "")), route_of(scope)).observe(
                    time.perf_counter() - started)
            await send(message)

        await app(scope, receive, observed)

    return middleware


async def count_response(message: Message, scope: Scope) -> None:
    """`before_send`: every response counts, those to unknown routes and failed requests too."""
    if message["type"] == "http.response.start" and scope["type"] == ScopeType.HTTP:
        metrics: Metrics = scope["app"].state.metrics
        metrics.requests.labels(str(scope.get("method", "")), route_of(scope), str(message["status"])).inc()


class MetricsWebhookSender:
    """A WebhookSender decorator observing every delivery attempt's latency, by outcome."""

    def __init__(self, inner: WebhookSender, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        result = await self._inner.send(url, headers, body)
        outcome = "delivered" if result.ok else ("failed" if result.status_code is not None else "no_answer")
        self._metrics.webhook_delivery.labels(outcome).observe(result.duration_ms / 1000)
        return result


class MetricsEventBus:
    """An EventBus decorator observing queue wait and generation time from the pipeline's
    events (the job is read once for each: its creation, start and provider)."""

    def __init__(self, inner: EventBus, uow: UnitOfWorkFactory, metrics: Metrics) -> None:
        self._inner = inner
        self._uow = uow
        self._metrics = metrics

    async def publish(self, event: DomainEvent) -> None:
        await self._inner.publish(event)
        if (isinstance(event, JobStarted) and event.attempt == 1) or isinstance(event, JobCompleted):
            await self._observe(event)

    def subscribe(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[DomainEvent]]:
        return self._inner.subscribe(job_id)

    async def _observe(self, event: JobStarted | JobCompleted) -> None:
        try:
            async with self._uow() as uow:
                job = await uow.jobs.get(event.job_id)
        except Exception as error:
            if not is_infrastructure_fault(error):
                raise
            log.debug("metrics.job_unread", extra={"job_id": event.job_id, "error": repr(error)})
            return
        if job is None:
            return
        if isinstance(event, JobStarted):
            self._metrics.queue_wait.labels(job.provider_id).observe(
                max(0.0, (event.at - job.created_at).total_seconds()))
        elif job.started_at is not None:
            self._metrics.generation.labels(job.provider_id).observe(
                max(0.0, ((job.completed_at or event.at) - job.started_at).total_seconds()))


class Snapshot(Collector):
    """Metric families read for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = [f for f in families if f.samples]

    def collect(self) -> Iterable[Metric]:
        return self._families

    def registry(self) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry


def job_family(counts: Mapping[str, int]) -> Metric:
    family = GaugeMetricFamily("pixrelay_jobs", "Jobs by status.", labels=["status"])
    for status in JobStatus:
        family.add_metric([str(status)], counts.get(str(status), 0))
    return family


def account_families(accounts: Sequence[ProviderAccount]) -> list[Metric]:
    by_status = GaugeMetricFamily("pixrelay_provider_accounts", "Provider accounts by provider and status.",
                                  labels=["provider", "status"])
    per_account = ["provider", "account"]
    running = GaugeMetricFamily("pixrelay_account_current_jobs", "Jobs running on each account now.",
                                labels=per_account)
    slots = GaugeMetricFamily("pixrelay_account_max_concurrent_jobs", "Concurrent job limit of each account.",
                              labels=per_account)
    credits = GaugeMetricFamily("pixrelay_account_credits", "Credits left on each account.", labels=per_account)
    latency = GaugeMetricFamily("pixrelay_account_avg_generation_seconds",
                                "Average generation time of each account's successful jobs.", labels=per_account)
    for provider_id in sorted({a.provider_id for a in accounts}):
        for status in AccountStatus:
            count = sum(1 for a in accounts if a.provider_id == provider_id and a.status is status)
            by_status.add_metric([provider_id, str(status)], count)
    for a in accounts:
        running.add_metric([a.provider_id, a.id], a.current_jobs)
        slots.add_metric([a.provider_id, a.id], a.max_concurrent_jobs)
        credits.add_metric([a.provider_id, a.id], a.credits)
        if a.avg_generation_seconds is not None:
            latency.add_metric([a.provider_id, a.id], a.avg_generation_seconds)
    return [by_status, running, slots, credits, latency]


def provider_families(providers: Iterable[ProviderHealth]) -> list[Metric]:
    circuit = GaugeMetricFamily("pixrelay_provider_circuit_state", "1 for the current circuit state of each provider.",
                                labels=["provider", "state"])
    per_call = ["provider", "operation"]
    calls = CounterMetricFamily("pixrelay_provider_calls", "Provider API calls by operation.", labels=per_call)
    failures = CounterMetricFamily("pixrelay_provider_call_failures", "Failed provider API calls by operation.",
                                   labels=per_call)
    seconds = CounterMetricFamily("pixrelay_provider_call_seconds", "Seconds spent in provider API calls.",
                                  labels=per_call)
    for provider in providers:
        pid = provider.info.id
        for state in CIRCUIT_STATES:
            circuit.add_metric([pid, state], 1 if str(provider.state) == state else 0)
        for operation, count in sorted(provider.stats.calls.items()):
            calls.add_metric([pid, operation], count)
            failures.add_metric([pid, operation], provider.stats.failures.get(operation, 0))
            seconds.add_metric([pid, operation], provider.stats.seconds.get(operation, 0.0))
    return [circuit, calls, failures, seconds]

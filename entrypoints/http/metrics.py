"""Prometheus text exposition, written by hand: request counts, jobs, the account pool and,
when the composition root hands in its guarded provider clients, circuits and call times.

Only numbers the system really has are exported; nothing is estimated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from litestar.enums import ScopeType
from litestar.types import Message, Scope

from domain.accounts import AccountStatus, ProviderAccount
from domain.jobs import JobStatus
from domain.providers import ProviderInfo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # one label for every unknown path: no unbounded label values
CIRCUIT_STATES = ("closed", "open", "half_open")


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


class RequestCounter:
    """Counts every response by method, route template and status (a `before_send` hook, so
    responses to unknown routes and failed requests count too)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, int]] = Counter()

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start" and scope["type"] == ScopeType.HTTP:
            route = scope.get("path_template") or UNMATCHED
            self.counts[(str(scope.get("method", "")), route, message["status"])] += 1


@dataclass
class Family:
    name: str
    kind: str  # counter | gauge
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))


def request_family(counter: RequestCounter) -> Family:
    family = Family("pixrelay_http_requests_total", "counter", "HTTP responses by method, route and status.")
    for (method, route, status), count in sorted(counter.counts.items()):
        family.add(count, method=method, route=route, status=str(status))
    return family


def job_family(counts: Mapping[str, int]) -> Family:
    family = Family("pixrelay_jobs", "gauge", "Jobs by status.")
    for status in JobStatus:
        family.add(counts.get(str(status), 0), status=str(status))
    return family


def account_families(accounts: Sequence[ProviderAccount]) -> list[Family]:
    by_status = Family("pixrelay_provider_accounts", "gauge", "Provider accounts by provider and status.")
    running = Family("pixrelay_account_current_jobs", "gauge", "Jobs running on each account now.")
    slots = Family("pixrelay_account_max_concurrent_jobs", "gauge", "Concurrent job limit of each account.")
    credits = Family("pixrelay_account_credits", "gauge", "Credits left on each account.")
    latency = Family("pixrelay_account_avg_generation_seconds", "gauge",
                     "Average generation time of each account's successful jobs.")
    for provider_id in sorted({a.provider_id for a in accounts}):
        for status in AccountStatus:
            count = sum(1 for a in accounts if a.provider_id == provider_id and a.status is status)
            by_status.add(count, provider=provider_id, status=str(status))
    for a in accounts:
        running.add(a.current_jobs, provider=a.provider_id, account=a.id)
        slots.add(a.max_concurrent_jobs, provider=a.provider_id, account=a.id)
        credits.add(a.credits, provider=a.provider_id, account=a.id)
        if a.avg_generation_seconds is not None:
            latency.add(a.avg_generation_seconds, provider=a.provider_id, account=a.id)
    return [by_status, running, slots, credits, latency]


def provider_families(providers: Iterable[ProviderHealth]) -> list[Family]:
    circuit = Family("pixrelay_provider_circuit_state", "gauge", "1 for the current circuit state of each provider.")
    calls = Family("pixrelay_provider_calls_total", "counter", "Provider API calls by operation.")
    failures = Family("pixrelay_provider_call_failures_total", "counter", "Failed provider API calls by operation.")
    seconds = Family("pixrelay_provider_call_seconds_total", "counter", "Seconds spent in provider API calls.")
    for provider in providers:
        pid = provider.info.id
        for state in CIRCUIT_STATES:
            circuit.add(1 if str(provider.state) == state else 0, provider=pid, state=state)
        for operation, count in sorted(provider.stats.calls.items()):
            calls.add(count, provider=pid, operation=operation)
            failures.add(provider.stats.failures.get(operation, 0), provider=pid, operation=operation)
            seconds.add(provider.stats.seconds.get(operation, 0.0), provider=pid, operation=operation)
    return [circuit, calls, failures, seconds]


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for family in families:
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            label_text = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
            lines.append(f"{family.name}{{{label_text}}} {number(value)}" if labels
                         else f"{family.name} {number(value)}")
    return "\n".join(lines) + "\n"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))

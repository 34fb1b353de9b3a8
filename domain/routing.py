"""Routing: which of the providers able to run a job it goes to, and where it goes next when
its provider fails it.

A routed job is one whose request names a model alias served by several providers, or
`provider_id: "auto"`. Its candidates are the catalog models able to run the request (they
offer the operation, their params schema accepts the params, their provider is enabled).
They are ranked, best first, by:

1. availability: a free account and a closed circuit, then accounts that are all busy or
   cooling down, then an open circuit, then no account that could ever run it;
2. price (credits for these params), lower first;
3. expected time (the provider's accounts' average generation time), shorter first, unknown last;
4. the model id: a stable, total order.

A provider-side failure (transient, rate limited, rejected key, out of credits, circuit open)
moves the job to the best candidate that has not failed it yet; when every other candidate
has failed it, to the best of all of them. Moderation and invalid requests are final: the
job never moves after them. A move never goes above the price held for the job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import IntEnum
from typing import Any

import msgspec

from domain.accounts import JOB_FINAL, AccountStatus, FailureKind, ProviderAccount, is_available

AUTO = "auto"  # the provider_id that asks pixrelay to choose among every capable provider


class Availability(IntEnum):
    """How soon a candidate could start the job; lower is better."""

    READY = 0  # an account free right now, circuit closed
    BUSY = 1  # accounts that could take it, all busy or cooling down
    CIRCUIT_OPEN = 2  # the provider failed too often lately: calls are refused for a while
    NO_ACCOUNT = 3  # no account that could ever take it (none, disabled, exhausted, too poor)


AVAILABILITY_TEXT = {
    Availability.READY: "free",
    Availability.BUSY: "busy",
    Availability.CIRCUIT_OPEN: "circuit open",
    Availability.NO_ACCOUNT: "no usable account",
}


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    model_id: str
    provider_id: str
    price: int
    availability: Availability
    expected_seconds: float | None = None


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    model_id: str
    provider_id: str
    price: int
    reason: str


class JobRoute(msgspec.Struct, frozen=True, kw_only=True):
    """What a routed job keeps: where it may go, where it failed, why it is where it is, and
    the params as given (each candidate's schema checks and fills them in its own way)."""

    candidates: tuple[str, ...]
    failed: tuple[str, ...] = ()
    reason: str = ""
    params: dict[str, Any] = {}
    held: int = 0  # the credits held for the job: no candidate above it


def rank_key(candidate: Candidate) -> tuple[int, int, bool, float, str]:
    expected = candidate.expected_seconds
    return (int(candidate.availability), candidate.price, expected is None,
            expected if expected is not None else 0.0, candidate.model_id)


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Best first: availability, then price, then expected time, then model id."""
    return sorted(candidates, key=rank_key)


def availability(accounts: Iterable[ProviderAccount], *, provider_id: str, user_id: str, cost: int,
                 now: datetime, circuit_open: bool) -> Availability:
    """What the provider's accounts (and its circuit) say about running this job there."""
    if circuit_open:
        return Availability.CIRCUIT_OPEN
    usable = [a for a in accounts if could_take(a, provider_id, user_id, cost)]
    if not usable:
        return Availability.NO_ACCOUNT
    if any(is_available(a, now) and a.current_jobs < a.max_concurrent_jobs for a in usable):
        return Availability.READY
    return Availability.BUSY


def could_take(account: ProviderAccount, provider_id: str, user_id: str, cost: int) -> bool:
    """The same test as dispatch's `could_ever_take`: busy and cooling down pass."""
    return (account.provider_id == provider_id
            and (account.owner_user_id is None or account.owner_user_id == user_id)
            and account.status in (AccountStatus.ACTIVE, AccountStatus.COOLING_DOWN)
            and account.credits >= cost)


def expected_seconds(accounts: Iterable[ProviderAccount], *, provider_id: str, user_id: str,
                     cost: int) -> float | None:
    """The average generation time over the accounts that could take the job, weighted by
    their completed jobs; None when none has completed one."""
    known = [(a.avg_generation_seconds, a.success_count) for a in accounts
             if could_take(a, provider_id, user_id, cost) and a.avg_generation_seconds is not None
             and a.success_count > 0]
    total = sum(count for _, count in known)
    if not total:
        return None
    return sum(seconds * count for seconds, count in known if seconds is not None) / total


def choose(candidates: Sequence[Candidate]) -> Choice | None:
    """The first place a routed job goes, and why; None when nothing can run it."""
    ranked = rank(candidates)
    if not ranked:
        return None
    top, others = ranked[0], ranked[1:]
    return _choice(top, _reason(top, others))


def _reason(top: Candidate, others: Sequence[Candidate]) -> str:
    if not others:
        return "only capable provider"
    cheaper = [c for c in others if (c.price, _time(c)) < (top.price, _time(top))]
    if cheaper:  # passed over for availability
        skipped = cheaper[0]
        return f"cheapest available: {skipped.provider_id} {AVAILABILITY_TEXT[skipped.availability]}"
    if top.availability is not Availability.READY:
        return f"cheapest, none free: {top.provider_id} {AVAILABILITY_TEXT[top.availability]}"
    same_price = [c for c in others if c.price == top.price and c.availability is top.availability]
    if same_price and any(_time(c) > _time(top) for c in same_price):
        return "fastest of the cheapest available"
    return "cheapest available"


def _time(candidate: Candidate) -> float:
    return candidate.expected_seconds if candidate.expected_seconds is not None else float("inf")


def _choice(candidate: Candidate, reason: str) -> Choice:
    return Choice(model_id=candidate.model_id, provider_id=candidate.provider_id, price=candidate.price,
                  reason=reason)


def fails_over(kind: FailureKind) -> bool:
    """Provider-side failures move a routed job; moderation and invalid requests never do."""
    return kind not in JOB_FINAL


def failure_text(kind: FailureKind, code: str) -> str:
    return {
        FailureKind.TRANSIENT: f"failed ({code})",
        FailureKind.RATE_LIMITED: "rate limited",
        FailureKind.AUTH: "account key rejected",
        FailureKind.CREDITS: "account out of credits",
        FailureKind.UNAVAILABLE: "circuit open",
    }.get(kind, code)


def failover(route: JobRoute, current: Candidate | str, kind: FailureKind, code: str,
             candidates: Sequence[Candidate], max_price: int) -> Choice | None:
    """Where a routed job goes after its provider failed it; None: it stays (the failure is
    final for it, or no other candidate is left, so it retries where it is).

    `candidates` are those still able to run it, with their availability now; `current`
    the one that failed (or its model id, when it is no longer in the catalog)."""
    if not fails_over(kind):
        return None
    current_id = current if isinstance(current, str) else current.model_id
    provider = current.split("/", 1)[0] if isinstance(current, str) else current.provider_id
    failed = {*route.failed, current_id}
    affordable = [c for c in candidates if c.price <= max_price and c.model_id in route.candidates]
    fresh = [c for c in affordable if c.model_id not in failed]
    why = f"failover: {provider} {failure_text(kind, code)}"
    if fresh:
        return _choice(rank(fresh)[0], why)
    best = rank(affordable)
    if not best or best[0].model_id == current_id:
        return None
    return _choice(best[0], f"{why}; every provider has failed it, back to {best[0].provider_id}")


def after_failure(route: JobRoute, current_id: str, choice: Choice | None) -> JobRoute:
    """The route a failed attempt leaves: the failed model recorded, the new reason if it moved."""
    failed = route.failed if current_id in route.failed else (*route.failed, current_id)
    return msgspec.structs.replace(route, failed=failed,
                                   reason=choice.reason if choice is not None else route.reason)

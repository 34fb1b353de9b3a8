"""Routing a job across providers: its candidates, their availability, the first choice and
the failover (the rules are domain/routing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from domain.accounts import FailureKind, ProviderAccount
from domain.errors import DomainError, validation
from domain.jobs import Job, reroute
from domain.models import Chosen, Model, check_params, price_of, resolve
from domain.ports import AtomicSteps, CircuitStates, UnitOfWork
from domain.routing import (
    AUTO,
    Candidate,
    JobRoute,
    after_failure,
    availability,
    choose,
    expected_seconds,
    failover,
)


class Option(msgspec.Struct, frozen=True):
    """A model able to run the request, with the params its schema made of them and their price."""

    chosen: Chosen
    params: dict[str, Any]
    price: int


def is_routed(models: Sequence[Model], model: str | None, provider_id: str | None, operation_type: str) -> bool:
    """`provider_id: "auto"`, or a model alias (not an id) served by several providers."""
    if provider_id == AUTO:
        return True
    if model is None or provider_id is not None or any(m.id == model for m in models):
        return False
    return len({m.provider_id for m in models
                if model in m.aliases and m.operation(operation_type) is not None}) > 1


def options(models: Sequence[Model], model: str | None, operation_type: str,
            params: Any) -> Result[list[Option], DomainError]:
    """Every model able to run a routed request, in id order: the model (by id or alias) on
    each provider serving it, or with no model each provider's default for the operation;
    each must offer the operation and accept the params. None able: the first one's error."""
    if model is not None:
        named = sorted((m for m in models if m.id == model or model in m.aliases), key=lambda m: m.id)
        if not named:
            return Failure(validation(f"unknown model {model}", "model"))
        chosen = [resolve([m], model=m.id, provider_id=None, operation_type=operation_type) for m in named]
    else:
        providers = sorted({m.provider_id for m in models})
        chosen = [resolve(models, model=None, provider_id=p, operation_type=operation_type) for p in providers]
    found: list[Option] = []
    first_error: DomainError | None = None
    for result in chosen:
        checked = result.bind(lambda c: check_params(c, params))
        if isinstance(checked, Failure):
            first_error = first_error or checked.failure()
            continue
        option, given = result.unwrap(), checked.unwrap()
        found.append(Option(option, given, price_of(option.model, given)))
    if not found:
        return Failure(first_error or validation(f"no provider offers {operation_type}", "operation_type"))
    return Success(found)


def candidates(found: Sequence[Option], accounts: Sequence[ProviderAccount], circuits: CircuitStates,
               user_id: str, now: datetime) -> list[Candidate]:
    return [Candidate(model_id=o.chosen.model.id, provider_id=o.chosen.model.provider_id, price=o.price,
                      availability=availability(accounts, provider_id=o.chosen.model.provider_id,
                                                user_id=user_id, cost=o.price, now=now,
                                                circuit_open=circuits.is_open(o.chosen.model.provider_id)),
                      expected_seconds=expected_seconds(accounts, provider_id=o.chosen.model.provider_id,
                                                        user_id=user_id, cost=o.price))
            for o in found]


async def first_choice(steps: AtomicSteps, circuits: CircuitStates, able: Sequence[Option], user_id: str,
                       now: datetime) -> tuple[Option, str]:
    """Where a routed job goes first, and why; one read (its candidates' accounts' health)."""
    providers = sorted({o.chosen.model.provider_id for o in able})
    accounts = await steps.read_route_accounts(providers, user_id)
    choice = choose(candidates(able, accounts, circuits, user_id, now))
    assert choice is not None, "a routed request has at least one option"
    return next(o for o in able if o.chosen.model.id == choice.model_id), choice.reason


async def fail_over(uow: UnitOfWork, circuits: CircuitStates, models: Sequence[Model], job: Job,
                    moved: Job, kind: FailureKind, code: str, now: datetime) -> Job:
    """A routed job handed back to pending after a provider-side failure (`moved`), sent to
    the next candidate; or as it is (not routed, the failure final, nothing better left)."""
    route = job.route
    if route is None or job.model is None:
        return moved
    able = _still_able(models, route, job.operation_type)
    accounts = await uow.accounts.find()
    ranked = candidates(able, accounts, circuits, job.user_id, now)
    current = next((c for c in ranked if c.model_id == job.model), job.model)
    choice = failover(route, current, kind, code, ranked, route.held)
    updated = after_failure(route, job.model, choice)
    if choice is None:
        return msgspec.structs.replace(moved, route=updated)
    option = next(o for o in able if o.chosen.model.id == choice.model_id)
    return reroute(moved, choice, updated, option.params, now)


def _still_able(models: Sequence[Model], route: JobRoute, operation_type: str) -> list[Option]:
    """The route's candidates still in the catalog and still accepting the params as given."""
    able: list[Option] = []
    for model_id in route.candidates:
        found = options([m for m in models if m.id == model_id], model_id, operation_type, route.params)
        able.extend(found.value_or([]))
    return able

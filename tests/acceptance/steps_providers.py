"""The provider catalogue and price quotes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pytest_bdd import then, when
from returns.result import Result

from application.jobs.create import JobRequest
from application.jobs.quote import Quote, QuoteJob
from domain.errors import DomainError
from domain.providers import ProviderInfo
from tests.acceptance.steps_common import p
from tests.acceptance.support import job_named, ok, profile
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]

QUOTABLE: tuple[tuple[str, Any], ...] = (
    (r"an image", lambda m: ("text_to_image", {})),
    (r"(\d+) images", lambda m: ("text_to_image", {"num_images": int(m[1])})),
    (r"a (\d+) second video", lambda m: ("text_to_video", {"seconds": int(m[1])})),
    (r"a video of the default length", lambda m: ("text_to_video", {})),
    (r"an upscale", lambda m: ("upscale", None)),
    (r"a teleportation", lambda m: ("teleport", {})),
)


def quote_request(what: str) -> JobRequest:
    provider_id = "sim"
    if found := re.fullmatch(r'(.+) from provider "([^"]+)"', what):
        what, provider_id = found[1], found[2]
    for pattern, build in QUOTABLE:
        if matched := re.fullmatch(pattern, what):
            operation_type, params = build(matched)
            return JobRequest(provider_id=provider_id, operation_type=operation_type,
                              params={} if params is None else {"prompt": what, **params})
    raise ValueError(f"nothing to quote in {what!r}")


def catalogue(wiring: Wiring, provider_id: str) -> ProviderInfo:
    [info] = [i for i in wiring.ports.providers.all() if i.id == provider_id]
    return info


@then(p('the catalogue offers provider "{provider_id}" named "{name}"'))
def offers_provider(wiring: Wiring, provider_id: str, name: str) -> None:
    assert catalogue(wiring, provider_id).name == name


@then(p('provider "{provider_id}" offers {operations}'))
def offers_operations(wiring: Wiring, provider_id: str, operations: str) -> None:
    wanted = [o.replace(" ", "_") for o in re.split(r", | and ", operations)]
    assert [str(s.operation_type) for s in catalogue(wiring, provider_id).operations] == wanted


@then(p('every operation of provider "{provider_id}" has a price in credits and a schema for its parameters'))
def priced_and_described(wiring: Wiring, provider_id: str) -> None:
    for spec in catalogue(wiring, provider_id).operations:
        assert spec.price.credits_per_unit > 0
        schema = spec.params_schema()
        [definition] = schema["$defs"].values()
        assert definition["type"] == "object" and definition["properties"], spec.operation_type


@when(p("a quote is asked for {what}"), target_fixture="outcome")
def asks_quote(runner: asyncio.Runner, wiring: Wiring, what: str) -> Outcome:
    return runner.run(wiring.get(QuoteJob)(quote_request(what)))


@then(p("the quote is {n:d} credit{:Plural}"))
def quote_is(outcome: Outcome, n: int) -> None:
    assert ok(outcome) == Quote(n)


@then(p('"{user}" holds exactly the quoted credits for job "{name}"'))
def hold_matches_quote(runner: asyncio.Runner, wiring: Wiring, user: str, name: str, quoted: Outcome) -> None:
    quote: Quote = ok(quoted)
    assert runner.run(job_named(wiring, name)).cost_estimate == quote.credits
    assert runner.run(profile(wiring, user)).credits_held == quote.credits


@when(p("{what} is quoted first"), target_fixture="quoted")
def quoted_first(runner: asyncio.Runner, wiring: Wiring, what: str) -> Outcome:
    return runner.run(wiring.get(QuoteJob)(quote_request(what)))

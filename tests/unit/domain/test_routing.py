"""Routing rules: the ranking, the first choice and its reason, the failover decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.accounts import JOB_FINAL, AccountStatus, FailureKind, ProviderAccount
from domain.routing import (
    Availability,
    Candidate,
    JobRoute,
    after_failure,
    availability,
    choose,
    expected_seconds,
    failover,
    fails_over,
    rank,
)

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def cand(model_id: str, price: int = 1, avail: Availability = Availability.READY,
         seconds: float | None = None) -> Candidate:
    return Candidate(model_id=model_id, provider_id=model_id.split("/")[0], price=price,
                     availability=avail, expected_seconds=seconds)


def account(**changes: Any) -> ProviderAccount:
    values: dict[str, Any] = {"id": "a1", "provider_id": "fal", "label": "a", "secret": "s",
                              "created_at": NOW, "credits": 10, "max_concurrent_jobs": 1}
    return ProviderAccount(**{**values, **changes})


def ids(candidates: list[Candidate]) -> list[str]:
    return [c.model_id for c in candidates]


# -- ranking -----------------------------------------------------------------------------

def test_availability_beats_price() -> None:
    cheap_busy = cand("replicate/x", price=1, avail=Availability.BUSY)
    dear_free = cand("fal/x", price=9)
    assert ids(rank([cheap_busy, dear_free])) == ["fal/x", "replicate/x"]


def test_price_beats_expected_time() -> None:
    assert ids(rank([cand("fal/x", 2, seconds=1.0), cand("replicate/x", 1, seconds=100.0)])) == [
        "replicate/x", "fal/x"]


def test_expected_time_breaks_a_price_tie_and_unknown_comes_last() -> None:
    ranked = rank([cand("a/x", seconds=None), cand("b/x", seconds=9.0), cand("c/x", seconds=3.0)])
    assert ids(ranked) == ["c/x", "b/x", "a/x"]


def test_full_ties_go_by_model_id() -> None:
    assert ids(rank([cand("fal/x"), cand("replicate/x"), cand("fal/a")])) == ["fal/a", "fal/x", "replicate/x"]


def test_availability_tiers_in_order() -> None:
    tiers = [cand(f"p{int(a)}/x", avail=a) for a in reversed(Availability)]
    assert [c.availability for c in rank(tiers)] == sorted(Availability)


# -- availability and expected time ------------------------------------------------------

def avail(accounts: list[ProviderAccount], circuit_open: bool = False, cost: int = 1) -> Availability:
    return availability(accounts, provider_id="fal", user_id="u1", cost=cost, now=NOW, circuit_open=circuit_open)


def test_a_free_account_is_ready() -> None:
    assert avail([account()]) is Availability.READY


def test_an_open_circuit_outweighs_free_accounts() -> None:
    assert avail([account()], circuit_open=True) is Availability.CIRCUIT_OPEN


def test_busy_or_cooling_accounts_are_busy() -> None:
    busy = account(current_jobs=1)
    cooling = account(id="a2", status=AccountStatus.COOLING_DOWN, cooldown_until=NOW + timedelta(minutes=1))
    assert avail([busy, cooling]) is Availability.BUSY


def test_a_cooldown_that_is_over_is_ready() -> None:
    assert avail([account(status=AccountStatus.COOLING_DOWN, cooldown_until=NOW)]) is Availability.READY


@pytest.mark.parametrize("unusable", [
    account(status=AccountStatus.DISABLED), account(status=AccountStatus.EXHAUSTED),
    account(credits=0), account(owner_user_id="someone-else"), account(provider_id="replicate")])
def test_accounts_that_could_never_take_it_count_as_none(unusable: ProviderAccount) -> None:
    assert avail([unusable]) is Availability.NO_ACCOUNT
    assert avail([]) is Availability.NO_ACCOUNT


def test_expected_time_is_weighted_by_completed_jobs() -> None:
    accounts = [account(avg_generation_seconds=10.0, success_count=3),
                account(id="a2", avg_generation_seconds=2.0, success_count=1),
                account(id="a3", avg_generation_seconds=100.0, success_count=5, status=AccountStatus.DISABLED)]
    assert expected_seconds(accounts, provider_id="fal", user_id="u1", cost=1) == pytest.approx(8.0)
    assert expected_seconds([account()], provider_id="fal", user_id="u1", cost=1) is None


# -- the first choice and why ------------------------------------------------------------

def test_nothing_to_choose_from() -> None:
    assert choose([]) is None


def test_reasons() -> None:
    only = choose([cand("fal/x")])
    assert only is not None and only.reason == "only capable provider"
    cheapest = choose([cand("fal/x", 2), cand("replicate/x", 1)])
    assert cheapest is not None and (cheapest.model_id, cheapest.reason) == ("replicate/x", "cheapest available")
    around = choose([cand("replicate/x", 1, Availability.CIRCUIT_OPEN), cand("fal/x", 2)])
    assert around is not None and (around.model_id, around.reason) == (
        "fal/x", "cheapest available: replicate circuit open")
    fastest = choose([cand("replicate/x", 1, seconds=9.0), cand("fal/x", 1, seconds=3.0)])
    assert fastest is not None and (fastest.model_id, fastest.reason) == (
        "fal/x", "fastest of the cheapest available")
    none_free = choose([cand("replicate/x", 1, Availability.BUSY), cand("fal/x", 2, Availability.BUSY)])
    assert none_free is not None and none_free.reason == "cheapest, none free: replicate busy"


# -- failover ----------------------------------------------------------------------------

ROUTE = JobRoute(candidates=("fal/x", "replicate/x", "sim/x"))


@pytest.mark.parametrize("kind", sorted(JOB_FINAL))
def test_never_after_moderation_or_an_invalid_request(kind: FailureKind) -> None:
    assert not fails_over(kind)
    assert failover(ROUTE, cand("replicate/x"), kind, "X", [cand("fal/x")], max_price=9) is None


def test_a_circuit_open_moves_to_the_best_other() -> None:
    moved = failover(ROUTE, cand("replicate/x"), FailureKind.UNAVAILABLE, "CIRCUIT_OPEN",
                     [cand("replicate/x"), cand("fal/x", 2), cand("sim/x", 3)], max_price=9)
    assert moved is not None and (moved.model_id, moved.reason) == ("fal/x", "failover: replicate circuit open")


def test_failed_candidates_are_not_revisited_while_others_are_left() -> None:
    route = JobRoute(candidates=ROUTE.candidates, failed=("fal/x",))
    moved = failover(route, cand("replicate/x"), FailureKind.TRANSIENT, "HTTP_503",
                     [cand("fal/x"), cand("replicate/x"), cand("sim/x", 5)], max_price=9)
    assert moved is not None and moved.model_id == "sim/x" and moved.reason == "failover: replicate failed (HTTP_503)"


def test_when_all_have_failed_it_goes_back_to_the_best() -> None:
    route = JobRoute(candidates=("fal/x", "replicate/x"), failed=("fal/x",))
    moved = failover(route, cand("replicate/x"), FailureKind.AUTH, "KEY",
                     [cand("fal/x"), cand("replicate/x", avail=Availability.NO_ACCOUNT)], max_price=9)
    assert moved is not None and moved.model_id == "fal/x"
    assert moved.reason.endswith("every provider has failed it, back to fal")


def test_when_the_best_is_where_it_is_it_stays() -> None:
    route = JobRoute(candidates=("fal/x", "replicate/x"), failed=("fal/x",))
    assert failover(route, cand("replicate/x"), FailureKind.TRANSIENT, "E",
                    [cand("fal/x", avail=Availability.BUSY), cand("replicate/x")], max_price=9) is None


def test_never_above_the_price_held() -> None:
    assert failover(ROUTE, cand("replicate/x"), FailureKind.TRANSIENT, "E",
                    [cand("fal/x", price=10)], max_price=9) is None


def test_never_to_a_model_outside_the_route() -> None:
    assert failover(ROUTE, cand("replicate/x"), FailureKind.TRANSIENT, "E",
                    [cand("luma/x")], max_price=9) is None


def test_a_current_model_gone_from_the_catalog_still_fails_over() -> None:
    moved = failover(ROUTE, "replicate/x", FailureKind.CREDITS, "E", [cand("fal/x")], max_price=9)
    assert moved is not None and moved.reason == "failover: replicate account out of credits"


def test_after_failure_records_the_failed_model_once() -> None:
    route = after_failure(ROUTE, "replicate/x", None)
    assert route.failed == ("replicate/x",) and after_failure(route, "replicate/x", None).failed == ("replicate/x",)


# -- properties --------------------------------------------------------------------------

PROVIDERS = ("fal", "replicate", "sim", "luma")
candidates_st = st.lists(
    st.builds(lambda p, n, price, a, s: Candidate(model_id=f"{p}/{n}", provider_id=p, price=price,
                                                  availability=a, expected_seconds=s),
              st.sampled_from(PROVIDERS), st.sampled_from("abc"), st.integers(0, 5),
              st.sampled_from(list(Availability)), st.none() | st.floats(0, 100, allow_nan=False)),
    max_size=8, unique_by=lambda c: c.model_id)


@given(candidates_st, st.randoms())
def test_the_ranking_is_deterministic_whatever_the_input_order(candidates: list[Candidate], rnd: Any) -> None:
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert rank(shuffled) == rank(candidates)


@given(candidates_st)
def test_each_rule_outweighs_the_next(candidates: list[Candidate]) -> None:
    ranked = rank(candidates)
    for better, worse in pairwise(ranked):
        assert better.availability <= worse.availability
        if better.availability == worse.availability:
            assert better.price <= worse.price
            if better.price == worse.price:
                if better.expected_seconds is None:
                    assert worse.expected_seconds is None
                elif worse.expected_seconds is not None:
                    assert better.expected_seconds <= worse.expected_seconds
                if better.expected_seconds == worse.expected_seconds:
                    assert better.model_id < worse.model_id


@given(candidates_st)
def test_the_choice_is_the_best_ranked(candidates: list[Candidate]) -> None:
    chosen = choose(candidates)
    if not candidates:
        assert chosen is None
    else:
        assert chosen is not None and chosen.model_id == rank(candidates)[0].model_id and chosen.reason


@given(candidates_st, st.sampled_from(list(FailureKind)), st.integers(0, 5), st.data())
def test_failover_properties(candidates: list[Candidate], kind: FailureKind, max_price: int,
                             data: st.DataObject) -> None:
    if not candidates:
        return
    names = [c.model_id for c in candidates]
    current = data.draw(st.sampled_from(candidates))
    failed = tuple(data.draw(st.lists(st.sampled_from(names), unique=True)))
    route = JobRoute(candidates=tuple(names), failed=failed)
    moved = failover(route, current, kind, "E", candidates, max_price)
    if kind in JOB_FINAL:
        assert moved is None
        return
    if moved is None:
        return
    target = next(c for c in candidates if c.model_id == moved.model_id)
    assert target.model_id != current.model_id  # a move goes somewhere else
    assert target.price <= max_price  # never above the hold
    assert target.model_id in route.candidates  # never to an incapable provider
    fresh = [c for c in candidates if c.model_id not in {*failed, current.model_id} and c.price <= max_price]
    if fresh:
        assert target.model_id not in failed  # no revisit while others are left
        assert target == rank(fresh)[0]

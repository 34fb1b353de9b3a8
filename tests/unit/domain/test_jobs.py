"""Jobs: the transition table, every transition function, the retry policy, and a
property test that drives random operation sequences through the state machine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode
from domain.jobs import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_PRIORITY,
    TERMINAL,
    TRANSITIONS,
    Job,
    JobPhase,
    JobStatus,
    OperationType,
    RetryPolicy,
    attach,
    can_transition,
    cancel,
    check_priority,
    claim,
    complete,
    fail,
    held,
    is_due,
    parent_failed,
    poke,
    poked,
    record_submission,
    release_held,
    renew_lease,
    requeue,
    retry_or_fail,
    start,
    still_held,
    take_lease,
    wait_for_provider,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PROPERTY = settings(max_examples=200, deadline=None, database=None)


def make_job(**changes: Any) -> Job:
    fields: dict[str, Any] = {
        "id": "job-1",
        "user_id": "user-1",
        "provider_id": "sim",
        "operation_type": OperationType.TEXT_TO_IMAGE,
        "params": {"prompt": "a cat"},
        "created_at": NOW,
        "run_after": NOW,
    }
    fields.update(changes)
    return Job(**fields)


def assign_account(job: Job, account_id: str, now: datetime) -> Job:
    """A claimed job with an account reserved, as `start` leaves it."""
    return msgspec.structs.replace(job, account_id=account_id, attempts=job.attempts + 1, updated_at=now)


def processing_job(**changes: Any) -> Job:
    return claim(make_job(**changes), "lease-1", LATER, NOW).unwrap()


def error_of(result: Result[Any, DomainError]) -> DomainError:
    assert isinstance(result, Failure), result
    error: DomainError = result.failure()
    return error


def half() -> float:
    return 0.5


# --- the Job struct -------------------------------------------------------------------


def test_new_job_has_documented_defaults() -> None:
    job = make_job()
    assert job.status is JobStatus.PENDING
    assert job.priority == DEFAULT_PRIORITY
    assert job.max_attempts == DEFAULT_MAX_ATTEMPTS
    assert job.attempts == 0
    assert not job.is_terminal


@pytest.mark.parametrize(
    "changes",
    [{"priority": -1}, {"priority": 11}, {"max_attempts": 0}, {"attempts": -1}, {"cost_estimate": -1}],
)
def test_job_rejects_invalid_fields(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        make_job(**changes)


@pytest.mark.parametrize("status", list(JobStatus))
def test_is_terminal_matches_terminal_set(status: JobStatus) -> None:
    assert make_job(status=status).is_terminal is (status in TERMINAL)


@pytest.mark.parametrize(("priority", "ok"), [(-1, False), (0, True), (5, True), (10, True), (11, False)])
def test_check_priority_bounds(priority: int, ok: bool) -> None:
    result = check_priority(priority)
    if ok:
        assert result == Success(priority)
    else:
        assert error_of(result).code is ErrorCode.VALIDATION_ERROR
        assert error_of(result).field == "priority"


# --- the transition table -------------------------------------------------------------

EXPECTED_LEGAL = {
    (JobStatus.PENDING, JobStatus.PROCESSING),
    (JobStatus.PENDING, JobStatus.CANCELLED),
    (JobStatus.PENDING, JobStatus.FAILED),
    (JobStatus.PROCESSING, JobStatus.PENDING),
    (JobStatus.PROCESSING, JobStatus.COMPLETED),
    (JobStatus.PROCESSING, JobStatus.FAILED),
    (JobStatus.PROCESSING, JobStatus.CANCELLED),
}


@pytest.mark.parametrize("current", list(JobStatus))
@pytest.mark.parametrize("target", list(JobStatus))
def test_can_transition_matches_the_spec(current: JobStatus, target: JobStatus) -> None:
    assert can_transition(current, target) is ((current, target) in EXPECTED_LEGAL)


def test_terminal_states_have_no_way_out() -> None:
    assert all(TRANSITIONS[status] == frozenset() for status in TERMINAL)
    assert set(TRANSITIONS) == set(JobStatus)


# --- claim / start / take_lease / wait_for_provider / is_due -----------------------------------------------


def test_claim_starts_a_pending_job_under_a_lease() -> None:
    job = claim(make_job(), "lease-1", LATER, NOW).unwrap()
    assert job.status is JobStatus.PROCESSING
    assert (job.lease_token, job.lease_expires_at) == ("lease-1", LATER)
    assert job.claimed_at == NOW and job.started_at is None  # started: when the provider accepts it
    assert job.phase is JobPhase.SUBMIT
    assert job.updated_at == NOW


def test_claim_keeps_the_first_claim_time() -> None:
    first_claim = NOW - timedelta(hours=1)
    job = claim(make_job(claimed_at=first_claim), "lease-2", LATER, NOW).unwrap()
    assert job.claimed_at == first_claim


def test_start_claims_the_job_on_its_account_and_counts_the_attempt() -> None:
    job = start(make_job(attempts=1), "acc-1", "lease-1", LATER, NOW).unwrap()
    assert (job.status, job.phase, job.account_id, job.attempts) == (JobStatus.PROCESSING, JobPhase.SUBMIT,
                                                                     "acc-1", 2)
    assert error_of(start(job, "acc-2", "lease-2", LATER, NOW)).code is ErrorCode.INVALID_TRANSITION


def test_the_provider_accepting_the_job_starts_it_and_moves_it_to_polling() -> None:
    recorded = record_submission(processing_job(), "sub-1", NOW)
    assert (recorded.phase, recorded.submission_id, recorded.started_at) == (JobPhase.REATTACH, "sub-1", None)
    attached = attach(recorded, "remote-1", LATER)
    assert (attached.phase, attached.provider_job_id, attached.started_at) == (JobPhase.POLL, "remote-1", LATER)
    assert attach(attached, "remote-1", LATER + timedelta(seconds=9)).started_at == LATER


def test_claim_of_a_processing_job_is_an_invalid_transition() -> None:
    error = error_of(claim(processing_job(), "lease-2", LATER, NOW))
    assert error.code is ErrorCode.INVALID_TRANSITION
    assert "processing" in error.detail


def test_take_lease_on_pending_claims_it() -> None:
    job = take_lease(make_job(), "lease-1", LATER, NOW).unwrap()
    assert job.status is JobStatus.PROCESSING
    assert job.lease_token == "lease-1"


def test_take_lease_on_processing_changes_hands_without_changing_state() -> None:
    job = processing_job(attempts=1)
    later = LATER + timedelta(minutes=1)
    taken = take_lease(job, "lease-2", later, LATER).unwrap()
    assert taken.status is JobStatus.PROCESSING
    assert (taken.lease_token, taken.lease_expires_at, taken.updated_at) == ("lease-2", later, LATER)
    assert taken.attempts == 1


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_take_lease_on_terminal_job_fails(status: JobStatus) -> None:
    assert error_of(take_lease(make_job(status=status), "l", LATER, NOW)).code is ErrorCode.INVALID_TRANSITION


def test_waiting_for_the_provider_gives_up_the_lease_until_the_next_poll() -> None:
    waiting = wait_for_provider(processing_job(), LATER, NOW)
    assert waiting.status is JobStatus.PROCESSING
    assert (waiting.lease_token, waiting.lease_expires_at, waiting.next_poll_at) == (None, None, LATER)
    assert not is_due(waiting, NOW)
    assert is_due(waiting, LATER)


def test_is_due_for_pending_jobs_follows_run_after() -> None:
    assert is_due(make_job(run_after=NOW), NOW)
    assert not is_due(make_job(run_after=LATER), NOW)


def test_is_due_for_processing_jobs_follows_the_lease() -> None:
    job = processing_job()
    assert not is_due(job, NOW)
    assert is_due(job, LATER)
    assert is_due(msgspec.structs.replace(job, lease_expires_at=None), NOW)


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_jobs_are_never_due(status: JobStatus) -> None:
    assert not is_due(make_job(status=status, run_after=NOW - timedelta(days=1)), NOW)


# --- requeue / assign / complete / fail / cancel / parent_failed ---------------------


def test_requeue_returns_to_pending_without_spending_an_attempt() -> None:
    job = msgspec.structs.replace(
        processing_job(attempts=1), submission_id="s", provider_job_id="p", account_id="a"
    )
    back = requeue(job, LATER, NOW).unwrap()
    assert back.status is JobStatus.PENDING
    assert back.attempts == 1
    assert back.run_after == LATER
    assert (back.lease_token, back.lease_expires_at, back.account_id) == (None, None, None)
    assert (back.submission_id, back.provider_job_id) == (None, None)


def test_requeue_of_a_pending_job_is_invalid() -> None:
    assert error_of(requeue(make_job(), LATER, NOW)).code is ErrorCode.INVALID_TRANSITION


def test_assign_account_spends_an_attempt() -> None:
    job = assign_account(processing_job(), "acc-1", LATER)
    assert (job.account_id, job.attempts, job.updated_at) == ("acc-1", 1, LATER)


def test_complete_records_results_and_clears_errors() -> None:
    job = msgspec.structs.replace(processing_job(), error_code="X", error_message="old")
    done = complete(job, ("asset-1", "asset-2"), LATER).unwrap()
    assert done.status is JobStatus.COMPLETED
    assert done.result_asset_ids == ("asset-1", "asset-2")
    assert done.completed_at == LATER
    assert (done.error_code, done.error_message, done.lease_token) == (None, None, None)


def test_complete_of_a_pending_job_is_invalid() -> None:
    assert error_of(complete(make_job(), (), NOW)).code is ErrorCode.INVALID_TRANSITION


def test_fail_records_the_error() -> None:
    failed = fail(processing_job(), "PROVIDER_ERROR", "boom", LATER).unwrap()
    assert failed.status is JobStatus.FAILED
    assert (failed.error_code, failed.error_message, failed.completed_at) == ("PROVIDER_ERROR", "boom", LATER)
    assert failed.lease_token is None


@pytest.mark.parametrize("job_factory", [make_job, processing_job])
def test_cancel_from_pending_or_processing(job_factory: Callable[[], Job]) -> None:
    cancelled = cancel(job_factory(), LATER).unwrap()
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.error_code == "CANCELLED"
    assert cancelled.completed_at == LATER


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_cancel_of_a_terminal_job_is_invalid(status: JobStatus) -> None:
    error = error_of(cancel(make_job(status=status), NOW))
    assert error.code is ErrorCode.INVALID_TRANSITION
    assert error.detail == f"job cannot go from {status} to cancelled"


def test_parent_failed_fails_a_waiting_child() -> None:
    child = parent_failed(make_job(), JobStatus.CANCELLED, NOW).unwrap()
    assert child.status is JobStatus.FAILED
    assert child.error_code == ErrorCode.PARENT_FAILED
    assert "cancelled" in (child.error_message or "")


# --- retry policy and retry_or_fail ------------------------------------------------------


@pytest.mark.parametrize(("base", "cap"), [(0, 10), (-1, 10), (5, 4)])
def test_retry_policy_rejects_bad_bounds(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(base, cap)


def test_retry_delay_doubles_then_caps() -> None:
    policy = RetryPolicy(2.0, 10.0)
    ceilings = [policy.delay(n, lambda: 1.0).total_seconds() for n in range(0, 6)]
    assert ceilings == [2.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.delay(3, lambda: 0.0) == timedelta(0)


def test_retry_delay_survives_huge_attempt_numbers() -> None:
    assert RetryPolicy(2.0, 300.0).delay(5000, lambda: 1.0) == timedelta(seconds=300)


@PROPERTY
@given(
    base=st.floats(min_value=0.001, max_value=1000),
    extra=st.floats(min_value=0, max_value=10_000),
    attempt=st.integers(min_value=1, max_value=3000),
    fraction=st.floats(min_value=0, max_value=1),
)
def test_retry_delay_is_within_full_jitter_bounds(base: float, extra: float, attempt: int, fraction: float) -> None:
    cap = base + extra
    ceiling = cap if attempt - 1 > 1000 else min(cap, base * 2 ** (attempt - 1))
    seconds = RetryPolicy(base, cap).delay(attempt, lambda: fraction).total_seconds()
    assert 0 <= seconds <= ceiling + 1e-6  # timedelta rounds to the microsecond


def test_retry_or_fail_goes_back_to_pending_with_backoff_and_excludes_the_account() -> None:
    job = assign_account(processing_job(excluded_account_ids=("old",)), "acc-1", NOW)
    retried = retry_or_fail(
        job, code="PROVIDER_ERROR", message="503", policy=RetryPolicy(2.0, 300.0),
        random=half, now=NOW, exclude_account=True,
    ).unwrap()
    assert retried.status is JobStatus.PENDING
    assert retried.run_after == NOW + timedelta(seconds=1)  # attempt 1: U(0, 2) at 0.5
    assert retried.excluded_account_ids == ("old", "acc-1")
    assert (retried.error_code, retried.error_message) == ("PROVIDER_ERROR", "503")
    assert (retried.account_id, retried.lease_token, retried.submission_id) == (None, None, None)
    assert retried.attempts == 1


def test_retry_or_fail_without_exclusion_keeps_the_account_eligible() -> None:
    job = assign_account(processing_job(), "acc-1", NOW)
    retried = retry_or_fail(job, code="E", message="m", policy=RetryPolicy(), random=half,
                            now=NOW, exclude_account=False).unwrap()
    assert retried.excluded_account_ids == ()


def test_retry_or_fail_never_excludes_an_account_twice_or_a_missing_one() -> None:
    twice = assign_account(processing_job(excluded_account_ids=("acc-1",)), "acc-1", NOW)
    retried = retry_or_fail(twice, code="E", message="m", policy=RetryPolicy(), random=half,
                            now=NOW, exclude_account=True).unwrap()
    assert retried.excluded_account_ids == ("acc-1",)
    unassigned = retry_or_fail(processing_job(), code="E", message="m", policy=RetryPolicy(),
                               random=half, now=NOW, exclude_account=True).unwrap()
    assert unassigned.excluded_account_ids == ()


def test_retry_or_fail_fails_the_job_when_attempts_are_used_up() -> None:
    job = processing_job(attempts=3, max_attempts=3)
    failed = retry_or_fail(job, code="PROVIDER_ERROR", message="503", policy=RetryPolicy(),
                           random=half, now=NOW, exclude_account=True).unwrap()
    assert failed.status is JobStatus.FAILED
    assert failed.error_code == "PROVIDER_ERROR"


@pytest.mark.parametrize("status", [JobStatus.PENDING, *sorted(TERMINAL)])
def test_retry_or_fail_needs_a_processing_job(status: JobStatus) -> None:
    result = retry_or_fail(make_job(status=status), code="E", message="m", policy=RetryPolicy(),
                           random=half, now=NOW, exclude_account=False)
    assert error_of(result).code is ErrorCode.INVALID_TRANSITION


# --- property: random operation sequences through the state machine -----------------------

# Each op: the status it moves to (None: retry_or_fail, which picks pending or failed).
OPS: dict[str, JobStatus | None] = {
    "claim": JobStatus.PROCESSING,
    "take_lease": JobStatus.PROCESSING,
    "requeue": JobStatus.PENDING,
    "complete": JobStatus.COMPLETED,
    "fail": JobStatus.FAILED,
    "cancel": JobStatus.CANCELLED,
    "parent_failed": JobStatus.FAILED,
    "retry_or_fail": None,
}


def apply_op(op: str, job: Job, now: datetime, fraction: float, exclude: bool) -> Result[Job, DomainError]:
    lease_until = now + timedelta(minutes=1)
    if op == "claim":
        return claim(job, f"lease-{now.timestamp()}", lease_until, now)
    if op == "take_lease":
        return take_lease(job, f"lease-{now.timestamp()}", lease_until, now)
    if op == "requeue":
        return requeue(job, now + timedelta(seconds=5), now)
    if op == "complete":
        return complete(job, ("asset-1",), now)
    if op == "fail":
        return fail(job, "PROVIDER_ERROR", "final", now)
    if op == "cancel":
        return cancel(job, now)
    if op == "parent_failed":
        return parent_failed(job, JobStatus.FAILED, now)
    return retry_or_fail(job, code="PROVIDER_ERROR", message="transient", policy=RetryPolicy(),
                         random=lambda: fraction, now=now, exclude_account=exclude)


@PROPERTY
@given(
    steps=st.lists(
        st.tuples(st.sampled_from([*OPS, "assign"]), st.floats(0, 1), st.booleans(), st.sampled_from(["a", "b", "c"])),
        max_size=40,
    ),
    max_attempts=st.integers(min_value=1, max_value=4),
)
def test_random_operation_sequences_respect_the_state_machine(
    steps: list[tuple[str, float, bool, str]], max_attempts: int
) -> None:
    job = make_job(max_attempts=max_attempts)
    now = NOW
    for op, fraction, exclude, account in steps:
        now += timedelta(seconds=1)
        if op == "assign":
            # the worker reserves an account once per claim, before any provider call
            if job.status is JobStatus.PROCESSING and job.account_id is None:
                job = assign_account(job, account, now)
            continue
        if op == "requeue" and job.account_id is not None:
            continue  # a hand-back happens only before an account is reserved
        before = job
        result = apply_op(op, before, now, fraction, exclude)
        target = OPS[op]
        if isinstance(result, Success):
            job = result.unwrap()
            assert not before.is_terminal, f"{op} moved a job out of {before.status}"
            if job.status is not before.status:
                assert can_transition(before.status, job.status)
            else:
                assert op == "take_lease" and job.status is JobStatus.PROCESSING
            if op == "retry_or_fail":
                expected = JobStatus.FAILED if before.attempts >= before.max_attempts else JobStatus.PENDING
                assert job.status is expected
                if job.status is JobStatus.PENDING:
                    assert job.attempts < job.max_attempts
        else:
            assert error_of(result).code is ErrorCode.INVALID_TRANSITION
            if op == "retry_or_fail":
                assert before.status is not JobStatus.PROCESSING
            elif op == "take_lease":
                assert before.is_terminal
            else:
                assert target is not None and not can_transition(before.status, target)
        assert job.attempts <= job.max_attempts
        if before.is_terminal:
            assert job is before


def test_a_held_job_keeps_its_version_through_renewals_and_pokes_and_is_given_back_due() -> None:
    job = processing_job()
    due = LATER + timedelta(seconds=5)
    hold = held(job, due)
    assert still_held(job, hold) and not poked(job, hold)
    assert job.lease_expires_at == LATER
    assert renew_lease(job, LATER + timedelta(minutes=5), LATER) is job  # not yet a third through
    renewed = renew_lease(job, LATER + timedelta(minutes=5), LATER + timedelta(seconds=1))
    assert renewed.lease_expires_at == LATER + timedelta(minutes=5)
    assert still_held(renewed, hold) and renewed.version == job.version
    assert not still_held(msgspec.structs.replace(job, version=job.version + 1), hold)
    assert not still_held(msgspec.structs.replace(job, lease_token="other"), hold)
    assert not still_held(cancel(job, NOW).unwrap(), hold)
    nudged = poke(renewed, LATER)
    assert nudged is not None and nudged.next_poll_at == LATER and nudged.version == job.version
    assert poked(nudged, hold) and still_held(nudged, hold)
    assert poke(cancel(job, NOW).unwrap(), LATER) is None
    back = release_held(renewed, hold, NOW)
    assert (back.lease_token, back.lease_expires_at, back.next_poll_at) == (None, None, due)
    assert release_held(nudged, hold, NOW).next_poll_at == LATER  # the poke's time, not the holder's

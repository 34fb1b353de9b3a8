"""The one table every provider adapter reads its raw status words through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from returns.result import Failure, Success

from adapters.providers.api_client import StatusWords
from adapters.providers.httpio import failure
from domain.accounts import FailureKind
from domain.providers import ProviderFailure, RemoteState, RemoteStatus

DONE = RemoteStatus(state=RemoteState.SUCCEEDED, raw_status="done", progress=1.0)


def broke(body: Mapping[str, Any]) -> ProviderFailure:
    return failure(FailureKind.TRANSIENT, "BROKE", str(body.get("why")))


WORDS = StatusWords("test job status", {
    "waiting": RemoteState.QUEUED, "working": RemoteState.RUNNING, "stopped": RemoteState.CANCELLED,
    "done": RemoteState.SUCCEEDED, "broke": broke, 7: RemoteState.RUNNING,
})


def read(raw: object, body: dict[str, Any] | None = None, **options: Any) -> Any:
    return WORDS.read(raw, body or {}, lambda: Success(DONE), **options)


@pytest.mark.parametrize(("raw", "state"), [
    ("waiting", RemoteState.QUEUED), ("working", RemoteState.RUNNING), ("stopped", RemoteState.CANCELLED),
])
def test_a_word_for_a_pending_or_cancelled_job_is_its_state_shown_as_the_word(raw: str, state: RemoteState) -> None:
    assert read(raw) == Success(RemoteStatus(state=state, raw_status=raw))


def test_a_success_is_what_the_adapter_reads_of_it() -> None:
    assert read("done") == Success(DONE)


def test_a_failure_carries_what_the_table_builds_out_of_the_body() -> None:
    status = read("broke", {"why": "out of GPUs"}).unwrap()
    assert (status.state, status.raw_status) == (RemoteState.FAILED, "broke")
    assert status.failure == failure(FailureKind.TRANSIENT, "BROKE", "out of GPUs")


def test_progress_is_a_running_jobs_only() -> None:
    assert read("working", progress=0.4).unwrap().progress == 0.4
    assert read("waiting", progress=0.4).unwrap().progress is None


def test_a_word_can_be_shown_otherwise() -> None:
    assert read(7, shown="status 7") == Success(RemoteStatus(state=RemoteState.RUNNING, raw_status="status 7"))


@pytest.mark.parametrize("raw", ["finished", None, ["done"], {"state": "done"}, "x" * 500])
def test_any_other_word_is_a_malformed_answer_naming_it_briefly(raw: object) -> None:
    answered = read(raw)
    assert isinstance(answered, Failure)
    problem = answered.failure()
    assert (problem.kind, problem.code) == (FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE")
    assert problem.message.startswith("unknown test job status ") and len(problem.message) < 100

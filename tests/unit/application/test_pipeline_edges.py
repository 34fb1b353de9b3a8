"""The pipeline's less travelled paths: broken outputs, open circuits, slow providers,
providers that take inputs by URL, accounts that vanish."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec
from returns.result import Failure, Success

from adapters.providers.guarded import GuardedProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from application.jobs.create import CreateJob, JobRequest
from application.pipeline.run import DrainOnce
from domain.accounts import AccountStatus, FailureKind
from domain.jobs import Job, JobStatus
from domain.ports import OutputUnavailable
from domain.providers import ProviderFailure, ProviderOutput, RemoteState, RemoteStatus
from entrypoints.bootstrap import build_container
from tests.support.seed import ActorStub, add_account, add_user
from tests.support.wiring import Wiring, memory_wiring


class Scripted:
    """The sim with some answers replaced."""

    def __init__(self, inner: SimProvider, **overrides: Callable[..., Any]) -> None:
        self._inner = inner
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides.get(name) or getattr(self._inner, name)

    @property
    def info(self) -> Any:
        return self._inner.info


async def world(provider: Callable[[SimProvider], Any]) -> tuple[Wiring, Any, ActorStub]:
    w = memory_wiring()
    client = provider(w.sim)
    ports = dataclasses.replace(w.ports, providers=StaticProviderRegistry([client]))
    w = Wiring(build_container(ports), ports, w.clock, w.sim)
    return w, client, await add_user(w)


async def submit(w: Wiring, actor: ActorStub, **params: Any) -> str:
    request = JobRequest(provider_id="sim", operation_type="text_to_image", params={"prompt": "x", **params})
    return (await w.get(CreateJob)(actor, request)).unwrap().job.id


async def job(w: Wiring, job_id: str) -> Job:
    async with w.ports.uow() as uow:
        found = await uow.jobs.get(job_id)
    assert found is not None
    return found


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def succeeded_with(*outputs: ProviderOutput) -> Callable[..., Awaitable[Any]]:
    async def status(secret: str, provider_job_id: str) -> Any:
        return Success(RemoteStatus(state=RemoteState.SUCCEEDED, raw_status="done", outputs=outputs))
    return status


def test_success_without_outputs_is_retried_without_blaming_the_account() -> None:
    async def scenario() -> None:
        w, _, alice = await world(lambda sim: Scripted(sim, status=succeeded_with()))
        account = await add_account(w)
        job_id = await submit(w, alice)
        await w.get(DrainOnce)()
        retried = await job(w, job_id)
        assert retried.status is JobStatus.PENDING and retried.error_code == "OUTPUT_UNAVAILABLE"
        assert retried.excluded_account_ids == ()
        async with w.ports.uow() as uow:
            fresh = await uow.accounts.get(account.id)
        assert fresh is not None and fresh.status is AccountStatus.ACTIVE and fresh.current_jobs == 0

    run(scenario)


def test_expired_or_refused_output_downloads_are_retried() -> None:
    async def broken(output: ProviderOutput) -> AsyncIterator[bytes]:
        raise OutputUnavailable("the URL expired")
        yield b""  # pragma: no cover - makes this an async generator

    async def scenario() -> None:
        w, _, alice = await world(lambda sim: Scripted(
            sim, status=succeeded_with(ProviderOutput(url="https://cdn.example/x.png")), download=broken))
        await add_account(w)
        job_id = await submit(w, alice)
        await w.get(DrainOnce)()
        assert (await job(w, job_id)).error_code == "OUTPUT_UNAVAILABLE"

    run(scenario)


def test_outputs_that_are_not_media_are_refused() -> None:
    async def text(output: ProviderOutput) -> AsyncIterator[bytes]:
        yield b"<html>not an image</html>"

    async def scenario() -> None:
        w, _, alice = await world(lambda sim: Scripted(
            sim, status=succeeded_with(ProviderOutput(url="https://cdn.example/x")), download=text))
        await add_account(w)
        job_id = await submit(w, alice)
        await w.get(DrainOnce)()
        retried = await job(w, job_id)
        assert retried.status is JobStatus.PENDING and "not a supported media type" in (retried.error_message or "")

    run(scenario)


def test_an_open_circuit_hands_the_job_back_without_spending_an_attempt() -> None:
    async def down(secret: str, request: Any) -> Any:
        return Failure(ProviderFailure(kind=FailureKind.TRANSIENT, code="BOOM", message="5xx"))

    async def scenario() -> None:
        w, guarded, alice = await world(lambda sim: GuardedProvider(Scripted(sim, submit=down), threshold=1,
                                                                     open_seconds=3600))
        account = await add_account(w)
        job_id = await submit(w, alice)
        await w.get(DrainOnce)()  # the 5xx opens the circuit: an ordinary retry
        first = await job(w, job_id)
        assert first.status is JobStatus.PENDING and first.attempts == 1
        for _ in range(5):
            w.clock.advance(600)
            await w.get(DrainOnce)()
        waiting = await job(w, job_id)
        assert waiting.status is JobStatus.PENDING and waiting.attempts == 1 and waiting.error_code == "CIRCUIT_OPEN"
        async with w.ports.uow() as uow:
            fresh = await uow.accounts.get(account.id)
        assert fresh is not None and fresh.failure_count == 1  # the open circuit burned nothing
        assert guarded.stats.calls["submit"] == 1

    run(scenario)


def test_a_provider_job_running_too_long_is_cancelled_there_and_retried() -> None:
    async def scenario() -> None:
        async def forever(secret: str, provider_job_id: str) -> Any:
            return Success(RemoteStatus(state=RemoteState.RUNNING, raw_status="processing"))

        cancelled: list[str] = []

        async def cancel(secret: str, provider_job_id: str) -> None:
            cancelled.append(provider_job_id)

        w, _, alice = await world(lambda sim: Scripted(sim, status=forever, cancel=cancel))
        await add_account(w)
        job_id = await submit(w, alice)
        await w.get(DrainOnce)()
        remote = (await job(w, job_id)).provider_job_id or ""
        w.clock.advance(hours=1, seconds=1)
        await w.get(DrainOnce)()
        retried = await job(w, job_id)
        assert retried.status is JobStatus.PENDING and retried.error_code == "PROVIDER_TIMEOUT"
        assert cancelled == [remote]

    run(scenario)


def test_a_provider_that_fetches_inputs_gets_a_presigned_url() -> None:
    async def refuse_upload(secret: str, asset: Any, chunks: Any, now: Any) -> Any:
        return Failure(ProviderFailure(kind=FailureKind.INVALID, code="INPUT_URL_REQUIRED", message="urls only"))

    seen: list[Any] = []

    async def scenario() -> None:
        w, _, alice = await world(lambda sim: Scripted(sim, upload=refuse_upload))

        async def remember(secret: str, request: Any) -> Any:
            seen.append(request)
            return await w.sim.submit(secret, request)

        w.ports.providers.get("sim")._overrides["submit"] = remember  # type: ignore[union-attr]
        await add_account(w)
        from tests.unit.application.test_pipeline import upload_png

        source = await upload_png(w, alice)
        request = JobRequest(provider_id="sim", operation_type="image_to_image", params={"prompt": "x"},
                             input_asset_ids=[source])
        job_id = (await w.get(CreateJob)(alice, request)).unwrap().job.id
        await w.get(DrainOnce)()
        # The in-memory blob store makes no URLs, so the refusal stands: a final failure.
        failed = await job(w, job_id)
        assert failed.status is JobStatus.FAILED and failed.error_code == "INPUT_URL_REQUIRED"
        assert seen == []

        class UrlBlobs:
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

            async def presigned_url(self, key: str, seconds: int, mime: str, filename: str | None = None) -> str:
                return f"https://blobs.example/{key}?ttl={seconds}"

        ports = dataclasses.replace(w.ports, blobs=UrlBlobs(w.ports.blobs))
        w2 = Wiring(build_container(ports), ports, w.clock, w.sim)
        job_id = (await w2.get(CreateJob)(alice, request)).unwrap().job.id
        await w2.get(DrainOnce)()
        assert (await job(w2, job_id)).status is JobStatus.COMPLETED
        [sent] = seen
        assert sent.inputs[0].url.startswith("https://blobs.example/sha256/")

    run(scenario)


def test_an_unconfigured_provider_fails_its_jobs_cleanly() -> None:
    async def scenario() -> None:
        w, _, alice = await world(lambda sim: sim)
        await add_account(w)
        job_id = await submit(w, alice)
        gone = dataclasses.replace(w.ports, providers=StaticProviderRegistry([]))
        await build_container(gone).resolve(DrainOnce)()
        failed = await job(w, job_id)
        assert failed.status is JobStatus.FAILED and failed.error_code == "PROVIDER_ERROR"
        async with w.ports.uow() as uow:
            assert (await uow.ledger.balance(alice.user_id)).held == 0

    run(scenario)


def test_cooldown_expiry_makes_an_account_usable_again() -> None:
    async def scenario() -> None:
        w, _, alice = await world(lambda sim: sim)
        account = await add_account(w)
        job_id = await submit(w, alice, sim_outcome="transient_error")
        await w.get(DrainOnce)()
        w.clock.advance(timedelta(seconds=31).total_seconds())
        for _ in range(3):
            await w.get(DrainOnce)()
            w.clock.advance(5)
        assert (await job(w, job_id)).status is JobStatus.COMPLETED
        async with w.ports.uow() as uow:
            fresh = await uow.accounts.get(account.id)
        assert fresh is not None and fresh.status is AccountStatus.ACTIVE and fresh.consecutive_failures == 0

    run(scenario)


class NoLookup(Scripted):
    """A provider that cannot find submissions by our reference (most real ones)."""

    @property
    def info(self) -> Any:
        return msgspec.structs.replace(self._inner.info, finds_by_reference=False)


def test_a_lost_submit_answer_is_a_bounded_retry_where_the_provider_cannot_look_it_up() -> None:
    async def timed_out(secret: str, request: Any) -> Any:
        return Failure(ProviderFailure(kind=FailureKind.TRANSIENT, code="PROVIDER_TIMEOUT", message="read timeout"))

    async def scenario() -> None:
        w, _, alice = await world(lambda sim: NoLookup(sim, submit=timed_out))
        account = await add_account(w)
        job_id = await submit(w, alice)
        for _ in range(8):
            await w.get(DrainOnce)()
            w.clock.advance(120)
        ended = await job(w, job_id)
        # Each lost answer cost one attempt (no endless re-sending), and the account was not blamed.
        assert ended.status is JobStatus.FAILED and ended.attempts == ended.max_attempts
        assert ended.error_code == "SUBMIT_OUTCOME_UNKNOWN"
        async with w.ports.uow() as uow:
            fresh = await uow.accounts.get(account.id)
            submissions = await uow.submissions.for_job(job_id)
        assert fresh is not None and fresh.failure_count == 0 and fresh.current_jobs == 0
        assert len(submissions) == ended.max_attempts

    run(scenario)

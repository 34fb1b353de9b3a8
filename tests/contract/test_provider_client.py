"""The ProviderClient contract: every provider adapter passes the same suite.

To add an adapter, write a case factory (a context manager yielding a ProviderCase: the
client, a valid request for one of its operations, a secret its fake accepts, and a callable
that moves the remote job along, e.g. a clock or the next recorded response) and append it
to CASE_FACTORIES.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import NamedTuple

import httpx
import msgspec
import pytest
from returns.result import Failure, Success

from adapters.memory.system import ManualClock
from adapters.providers.fal import FalProvider
from adapters.providers.kling import KlingProvider
from adapters.providers.luma import LumaProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.pixverse import PixverseProvider
from adapters.providers.replicate import ReplicateProvider
from adapters.providers.runway import RunwayProvider
from adapters.providers.sim import SimProvider
from adapters.providers.veo import VeoProvider
from domain.jobs import OperationType
from domain.ports import ProviderClient
from domain.providers import (
    RemoteState,
    RemoteStatus,
    SubmitRequest,
    validate_params,
)
from tests.support.fake_media_apis import FakeFal, FakeOpenAIImages, FakeReplicate
from tests.support.recorded_http import downloader
from tests.unit.adapters.providers import media_replay
from tests.unit.adapters.providers.media_fakes import (
    FakeGemini,
    FakeKling,
    FakeLuma,
    FakePixverse,
    FakeRunway,
)

MAX_POLLS = 50
TERMINAL = {RemoteState.SUCCEEDED, RemoteState.FAILED, RemoteState.CANCELLED}


class ProviderCase(NamedTuple):
    client: ProviderClient
    request: SubmitRequest
    secret: str
    advance: Callable[[], None]


@contextmanager
def sim_case() -> Iterator[ProviderCase]:
    clock = ManualClock()
    request = SubmitRequest(reference="contract-sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                            params={"prompt": "a red bicycle", "seed": 3, "sim_latency_ms": 3000})

    def advance() -> None:
        clock.advance(seconds=1)

    yield ProviderCase(SimProvider(clock.now), request, "sim-contract-key", advance)


_TEXT_TO_IMAGE = SubmitRequest(reference="contract-sub-1", operation_type=OperationType.TEXT_TO_IMAGE,
                               params={"prompt": "a red bicycle"})


@contextmanager
def replicate_case() -> Iterator[ProviderCase]:
    fake = FakeReplicate()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = ReplicateProvider(http, downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_IMAGE, fake.secret, fake.advance)


@contextmanager
def fal_case() -> Iterator[ProviderCase]:
    fake = FakeFal()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = FalProvider(http, downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_IMAGE, fake.secret, fake.advance)


@contextmanager
def openai_images_case() -> Iterator[ProviderCase]:
    fake = FakeOpenAIImages()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = OpenAIImagesProvider(http, downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_IMAGE, fake.secret, fake.advance)


CASE_FACTORIES: list[Callable[[], AbstractContextManager[ProviderCase]]] = [sim_case]
CASE_FACTORIES += [replicate_case, fal_case, openai_images_case]


_TEXT_TO_VIDEO = SubmitRequest(reference="contract-sub-1", operation_type=OperationType.TEXT_TO_VIDEO,
                               params={"prompt": "a red bicycle in the rain"})


@contextmanager
def runway_case() -> Iterator[ProviderCase]:
    fake = FakeRunway("runway-contract-key")
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = RunwayProvider(http, media_replay.downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_VIDEO, fake.secret, fake.advance)


@contextmanager
def pixverse_case() -> Iterator[ProviderCase]:
    fake = FakePixverse("pixverse-contract-key")
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = PixverseProvider(http, media_replay.downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_VIDEO, fake.secret, fake.advance)


@contextmanager
def luma_case() -> Iterator[ProviderCase]:
    fake = FakeLuma("luma-contract-key")
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = LumaProvider(http, media_replay.downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_VIDEO, fake.secret, fake.advance)


@contextmanager
def veo_case() -> Iterator[ProviderCase]:
    fake = FakeGemini("veo-contract-key")
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = VeoProvider(http, media_replay.downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_VIDEO, fake.secret, fake.advance)


@contextmanager
def kling_case() -> Iterator[ProviderCase]:
    fake = FakeKling()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    client = KlingProvider(http, media_replay.downloader(http), clock=ManualClock().now)
    yield ProviderCase(client, _TEXT_TO_VIDEO, fake.secret, fake.advance)


CASE_FACTORIES += [runway_case, pixverse_case, luma_case, veo_case, kling_case]


@pytest.fixture(params=CASE_FACTORIES, ids=lambda factory: factory.__name__.removesuffix("_case"))
def provider_case(request: pytest.FixtureRequest) -> Iterator[ProviderCase]:
    with request.param() as case:
        yield case


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


def submitted(case: ProviderCase, runner: asyncio.Runner) -> str:
    result = runner.run(case.client.submit(case.secret, case.request))
    assert isinstance(result, Success), result
    job_id = result.unwrap()
    assert isinstance(job_id, str) and job_id
    return job_id


def finished(case: ProviderCase, runner: asyncio.Runner, job_id: str) -> RemoteStatus:
    for _ in range(MAX_POLLS):
        status = runner.run(case.client.status(case.secret, job_id)).unwrap()
        if status.state in TERMINAL:
            return status
        case.advance()
    raise AssertionError(f"job {job_id} did not finish in {MAX_POLLS} polls")


def test_info_offers_operations_with_schemas_and_prices(provider_case: ProviderCase) -> None:
    info = provider_case.client.info
    assert info.id and info.name
    assert info.operations
    for spec in info.operations:
        schema = spec.params_schema()
        assert isinstance(schema, dict) and schema
        assert msgspec.json.decode(msgspec.json.encode(schema)) == schema
        assert spec.price.credits_per_unit > 0
        assert 0 <= spec.min_inputs <= spec.max_inputs


def test_the_case_request_is_valid_for_its_operation(provider_case: ProviderCase) -> None:
    request = provider_case.request
    spec = provider_case.client.info.operation(request.operation_type).unwrap()
    validated = validate_params(spec, request.params).unwrap()
    assert spec.price.cost(validated) > 0
    assert spec.min_inputs <= len(request.inputs) <= spec.max_inputs


def test_submit_then_find_by_reference(provider_case: ProviderCase, runner: asyncio.Runner) -> None:
    job_id = submitted(provider_case, runner)
    found = runner.run(provider_case.client.find(provider_case.secret, provider_case.request.reference))
    assert found in (Success(job_id), Success(None))


def test_a_job_succeeds_with_downloadable_outputs(provider_case: ProviderCase,
                                                  runner: asyncio.Runner) -> None:
    status = finished(provider_case, runner, submitted(provider_case, runner))
    assert status.state is RemoteState.SUCCEEDED, status
    assert status.failure is None and status.raw_status
    assert len(status.outputs) >= 1

    async def first_output() -> bytes:
        return b"".join([chunk async for chunk in provider_case.client.download(status.outputs[0])])

    assert len(runner.run(first_output())) > 0


def test_cancel_of_a_finished_job_does_not_raise(provider_case: ProviderCase,
                                                 runner: asyncio.Runner) -> None:
    job_id = submitted(provider_case, runner)
    finished(provider_case, runner, job_id)
    runner.run(provider_case.client.cancel(provider_case.secret, job_id))


@pytest.mark.parametrize("job_id", ["", "not-a-job-id", "00000000-0000-0000-0000-000000000000"])
def test_status_of_an_unknown_job_is_a_failure(provider_case: ProviderCase, runner: asyncio.Runner,
                                               job_id: str) -> None:
    result = runner.run(provider_case.client.status(provider_case.secret, job_id))
    assert isinstance(result, Failure)
    assert result.failure().code

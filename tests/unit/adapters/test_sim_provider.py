"""The built-in simulator: params, prices, every sim_outcome, latency, determinism, counters,
with its state in memory and in a directory."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from returns.result import Failure, Success

from adapters.media import read_gif_info, read_png_size
from adapters.memory.system import ManualClock
from adapters.providers.sim import INVALID_KEY, SimProvider
from adapters.providers.sim_state import DirectorySimState
from domain.accounts import FailureKind
from domain.assets import Asset, AssetSource, MediaType
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.ports import OutputUnavailable
from domain.providers import (
    InputRef,
    OperationSpec,
    ProviderFailure,
    ProviderOutput,
    RemoteState,
    RemoteStatus,
    SubmitRequest,
    validate_params,
)

T = TypeVar("T")
KEY_A = "sim-key-a"
KEY_B = "sim-key-b"
ONE_INPUT = (InputRef(asset_id="a1", provider_asset_id="sim-upload-aaa", mime_type="image/png"),)


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture(params=["memory", "directory"])
def sim(request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path) -> SimProvider:
    """Every behaviour holds whether the remote state is in memory or in a shared directory."""
    state = DirectorySimState(tmp_path / "sim-state") if request.param == "directory" else None
    return SimProvider(clock.now, state=state)


class Driver:
    """Runs the sim's coroutines on one loop and unwraps results, so tests read as steps."""

    def __init__(self, sim: SimProvider, runner: asyncio.Runner) -> None:
        self.sim = sim
        self.runner = runner
        self._references = 0

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    def request(self, operation: OperationType = OperationType.TEXT_TO_IMAGE,
                inputs: tuple[InputRef, ...] = (), reference: str | None = None,
                **params: Any) -> SubmitRequest:
        self._references += 1
        params.setdefault("prompt", "a lighthouse at dusk")
        if operation is OperationType.UPSCALE:
            params.pop("prompt")
        return SubmitRequest(reference=reference or f"sub-{self._references}", operation_type=operation,
                             params=params, inputs=inputs)

    def submit(self, request: SubmitRequest, secret: str = KEY_A) -> str:
        return self.run(self.sim.submit(secret, request)).unwrap()

    def submit_failure(self, request: SubmitRequest, secret: str = KEY_A) -> ProviderFailure:
        return self.run(self.sim.submit(secret, request)).failure()

    def status(self, job_id: str, secret: str = KEY_A) -> RemoteStatus:
        return self.run(self.sim.status(secret, job_id)).unwrap()

    def download(self, output: ProviderOutput) -> bytes:
        async def collect() -> list[bytes]:
            return [chunk async for chunk in self.sim.download(output)]

        return b"".join(self.run(collect()))

    def chunks(self, output: ProviderOutput) -> list[bytes]:
        async def collect() -> list[bytes]:
            return [chunk async for chunk in self.sim.download(output)]

        return self.run(collect())

    def outputs(self, request: SubmitRequest, secret: str = KEY_A) -> tuple[ProviderOutput, ...]:
        status = self.status(self.submit(request, secret), secret)
        assert status.state is RemoteState.SUCCEEDED, status
        return status.outputs


@pytest.fixture
def drive(sim: SimProvider, runner: asyncio.Runner) -> Driver:
    return Driver(sim, runner)


def spec_for(sim: SimProvider, operation: OperationType) -> OperationSpec:
    return sim.info.operation(operation).unwrap()


# ------------------------------------------------------------------ capabilities and prices


def test_info_offers_every_operation_with_its_input_count(sim: SimProvider) -> None:
    assert (sim.info.id, sim.info.name) == ("sim", "pixrelay simulator")
    counts = {spec.operation_type: (spec.min_inputs, spec.max_inputs) for spec in sim.info.operations}
    assert counts == {
        OperationType.TEXT_TO_IMAGE: (0, 0),
        OperationType.IMAGE_TO_IMAGE: (1, 1),
        OperationType.TEXT_TO_VIDEO: (0, 0),
        OperationType.IMAGE_TO_VIDEO: (1, 1),
        OperationType.VIDEO_EXTEND: (1, 1),
        OperationType.VIDEO_TRANSITION: (2, 2),
        OperationType.UPSCALE: (1, 1),
    }
    assert sim.info.upload_ttl_seconds == 3600


def test_params_schema_names_the_sim_knobs(sim: SimProvider) -> None:
    schema = spec_for(sim, OperationType.TEXT_TO_VIDEO).params_schema()
    properties = next(iter(schema["$defs"].values()))["properties"]
    assert sorted(properties["sim_outcome"]["enum"]) == [
        "account_error", "final_error", "success", "transient_error"]
    assert properties["seconds"] == {"type": "integer", "minimum": 1, "maximum": 10, "default": 4}


@pytest.mark.parametrize(("operation", "params", "credits"), [
    (OperationType.TEXT_TO_IMAGE, {"prompt": "x"}, 1),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "x", "num_images": 3}, 3),
    (OperationType.IMAGE_TO_IMAGE, {"prompt": "x", "num_images": 4}, 4),
    (OperationType.TEXT_TO_VIDEO, {"prompt": "x"}, 4),
    (OperationType.TEXT_TO_VIDEO, {"prompt": "x", "seconds": 4}, 4),
    (OperationType.IMAGE_TO_VIDEO, {"prompt": "x", "seconds": 1}, 1),
    (OperationType.VIDEO_TRANSITION, {"prompt": "x", "seconds": 10}, 10),
    (OperationType.UPSCALE, {"scale": 4}, 1),
])
def test_prices_follow_the_spec(sim: SimProvider, operation: OperationType, params: dict[str, Any],
                                credits: int) -> None:
    spec = spec_for(sim, operation)
    assert spec.price.cost(validate_params(spec, params).unwrap()) == credits
    assert spec.price.cost(params) == credits  # the estimate before defaults are filled in agrees


def test_validation_fills_in_defaults(sim: SimProvider) -> None:
    validated = validate_params(spec_for(sim, OperationType.TEXT_TO_IMAGE), {"prompt": "cat"}).unwrap()
    assert validated == {"prompt": "cat", "seed": 0, "width": 256, "height": 256, "num_images": 1,
                         "sim_latency_ms": 0, "sim_outcome": "success"}


@pytest.mark.parametrize(("operation", "params"), [
    (OperationType.TEXT_TO_IMAGE, {"prompt": "cat", "width": 32}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "cat", "height": 2048}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": ""}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "x" * 2001}),
    (OperationType.TEXT_TO_IMAGE, {}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "cat", "num_images": 5}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "cat", "sim_outcome": "explode"}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "cat", "sim_latency_ms": 60001}),
    (OperationType.TEXT_TO_IMAGE, {"prompt": "cat", "colour": "red"}),
    (OperationType.TEXT_TO_VIDEO, {"prompt": "cat", "seconds": 11}),
    (OperationType.TEXT_TO_VIDEO, {"prompt": "cat", "width": 1024}),
    (OperationType.TEXT_TO_VIDEO, {"prompt": "cat", "fps": 0}),
    (OperationType.UPSCALE, {"scale": 3}),
])
def test_bad_params_are_validation_errors(sim: SimProvider, operation: OperationType,
                                          params: dict[str, Any]) -> None:
    result = validate_params(spec_for(sim, operation), params)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.VALIDATION_ERROR


# ------------------------------------------------------------------ success and latency


def test_latency_runs_on_the_injected_clock(drive: Driver, clock: ManualClock) -> None:
    job_id = drive.submit(drive.request(sim_latency_ms=2000, num_images=2))
    assert drive.status(job_id).state is RemoteState.QUEUED
    clock.advance(seconds=1)
    running = drive.status(job_id)
    assert running.state is RemoteState.RUNNING and running.progress == pytest.approx(0.5)
    assert running.outputs == ()
    clock.advance(seconds=0.999)
    assert drive.status(job_id).state is RemoteState.RUNNING
    clock.advance(seconds=0.001)
    done = drive.status(job_id)
    assert done.state is RemoteState.SUCCEEDED and done.raw_status == "succeeded"
    assert [output.url for output in done.outputs] == [
        f"sim://outputs/{job_id}/0.png", f"sim://outputs/{job_id}/1.png"]
    assert {output.mime_type for output in done.outputs} == {"image/png"}


def test_outputs_cannot_be_downloaded_before_the_job_is_done(drive: Driver, clock: ManualClock) -> None:
    job_id = drive.submit(drive.request(sim_latency_ms=1000))
    early = ProviderOutput(url=f"sim://outputs/{job_id}/0.png")
    with pytest.raises(OutputUnavailable):
        drive.download(early)
    clock.advance(seconds=1)
    assert read_png_size(drive.download(early)) == (256, 256)


def test_images_are_pngs_of_the_asked_size(drive: Driver) -> None:
    outputs = drive.outputs(drive.request(width=320, height=200, num_images=3))
    images = [drive.download(output) for output in outputs]
    assert [read_png_size(image) for image in images] == [(320, 200)] * 3
    assert len(set(images)) == 3, "each output of a job is its own image"


def test_videos_are_one_animated_gif(drive: Driver) -> None:
    outputs = drive.outputs(drive.request(OperationType.TEXT_TO_VIDEO, seconds=3, fps=2, width=96, height=64))
    assert len(outputs) == 1 and outputs[0].mime_type == "image/gif"
    assert outputs[0].url.endswith("/0.gif")
    assert read_gif_info(drive.download(outputs[0])) == (96, 64, 6)


@pytest.mark.parametrize(("operation", "inputs"), [
    (OperationType.IMAGE_TO_VIDEO, ONE_INPUT),
    (OperationType.VIDEO_EXTEND, ONE_INPUT),
    (OperationType.VIDEO_TRANSITION, (*ONE_INPUT, InputRef(asset_id="a2", url="https://x/y.gif",
                                                           mime_type="image/gif"))),
])
def test_every_video_operation_completes(drive: Driver, operation: OperationType,
                                         inputs: tuple[InputRef, ...]) -> None:
    outputs = drive.outputs(drive.request(operation, inputs=inputs, seconds=1, fps=2))
    assert read_gif_info(drive.download(outputs[0])) == (128, 128, 2)


@pytest.mark.parametrize(("scale", "side"), [(2, 512), (4, 1024)])
def test_upscale_makes_a_larger_png(drive: Driver, scale: int, side: int) -> None:
    outputs = drive.outputs(drive.request(OperationType.UPSCALE, inputs=ONE_INPUT, scale=scale))
    chunks = drive.chunks(outputs[0])
    assert len(chunks) > 1 and all(len(chunk) <= 64 * 1024 for chunk in chunks)
    assert read_png_size(b"".join(chunks)) == (side, side)


def test_find_returns_the_job_of_a_reference(drive: Driver) -> None:
    job_id = drive.submit(drive.request(reference="sub-find"))
    assert drive.run(drive.sim.find(KEY_A, "sub-find")) == Success(job_id)
    assert drive.run(drive.sim.find(KEY_A, "sub-never")) == Success(None)


# ------------------------------------------------------------------ determinism


def image_bytes(clock: ManualClock, runner: asyncio.Runner, **params: Any) -> bytes:
    """One image from a fresh simulator, so nothing but the params can make it differ."""
    drive = Driver(SimProvider(clock.now), runner)
    return drive.download(drive.outputs(drive.request(**params))[0])


def test_same_params_give_the_same_bytes(clock: ManualClock, runner: asyncio.Runner) -> None:
    first = image_bytes(clock, runner, seed=42, prompt="fox")
    assert first == image_bytes(clock, runner, seed=42, prompt="fox")


@pytest.mark.parametrize("change", [{"seed": 43}, {"prompt": "wolf"}])
def test_seed_and_prompt_change_the_bytes(clock: ManualClock, runner: asyncio.Runner,
                                          change: dict[str, Any]) -> None:
    base = {"seed": 42, "prompt": "fox"}
    assert image_bytes(clock, runner, **base) != image_bytes(clock, runner, **(base | change))


def test_inputs_change_the_bytes(drive: Driver) -> None:
    other = (InputRef(asset_id="a9", provider_asset_id="sim-upload-bbb", mime_type="image/png"),)
    first, second = (
        drive.download(drive.outputs(drive.request(OperationType.IMAGE_TO_IMAGE, inputs=inputs))[0])
        for inputs in (ONE_INPUT, other)
    )
    assert first != second


# ------------------------------------------------------------------ outcomes


def test_transient_error_fails_the_first_attempt_only(drive: Driver, clock: ManualClock) -> None:
    first = drive.submit(drive.request(sim_outcome="transient_error", sim_latency_ms=500))
    clock.advance(seconds=0.1)
    assert drive.status(first).state is RemoteState.RUNNING
    clock.advance(seconds=0.4)
    failed = drive.status(first)
    assert failed.state is RemoteState.FAILED
    assert failed.failure is not None and failed.failure.kind is FailureKind.TRANSIENT
    retry = drive.submit(drive.request(sim_outcome="transient_error", sim_latency_ms=500))
    assert retry != first
    clock.advance(seconds=0.5)
    assert drive.status(retry).state is RemoteState.SUCCEEDED
    with pytest.raises(OutputUnavailable):
        drive.download(ProviderOutput(url=f"sim://outputs/{first}/0.png"))


def test_transient_error_is_remembered_per_job(drive: Driver) -> None:
    one = drive.submit(drive.request(sim_outcome="transient_error", prompt="one"))
    other = drive.submit(drive.request(sim_outcome="transient_error", prompt="other"))
    assert drive.status(one).state is RemoteState.FAILED
    assert drive.status(other).state is RemoteState.FAILED


def test_final_error_is_moderation_every_time(drive: Driver, clock: ManualClock) -> None:
    for _attempt in range(2):
        job_id = drive.submit(drive.request(sim_outcome="final_error", sim_latency_ms=100))
        assert drive.status(job_id).state is RemoteState.QUEUED
        clock.advance(seconds=0.1)
        status = drive.status(job_id)
        assert status.state is RemoteState.FAILED and status.outputs == ()
        assert status.failure == ProviderFailure(
            kind=FailureKind.MODERATED, code="CONTENT_MODERATED",
            message="simulated moderation: the content was rejected")


def test_account_error_rejects_the_first_account_only(drive: Driver) -> None:
    rejected = drive.submit_failure(drive.request(sim_outcome="account_error"), secret=KEY_A)
    assert rejected.kind is FailureKind.AUTH
    assert drive.submit_failure(drive.request(sim_outcome="account_error"), secret=KEY_A).kind is FailureKind.AUTH
    job_id = drive.submit(drive.request(sim_outcome="account_error"), secret=KEY_B)
    assert drive.status(job_id, secret=KEY_B).state is RemoteState.SUCCEEDED
    # another job meets KEY_A first, so KEY_A is that job's rejected account
    assert drive.submit_failure(drive.request(sim_outcome="account_error", seed=9), secret=KEY_A).kind \
        is FailureKind.AUTH


def test_the_invalid_key_is_always_rejected(drive: Driver, sim: SimProvider) -> None:
    job_id = drive.submit(drive.request())
    asset = make_asset()
    answers = [
        drive.run(sim.submit(INVALID_KEY, drive.request())),
        drive.run(sim.status(INVALID_KEY, job_id)),
        drive.run(sim.find(INVALID_KEY, "sub-1")),
        drive.run(sim.upload(INVALID_KEY, asset, stream(b"x"), datetime(2026, 1, 1, tzinfo=UTC))),
    ]
    for answer in answers:
        assert isinstance(answer, Failure) and answer.failure().kind is FailureKind.AUTH
    drive.run(sim.cancel(INVALID_KEY, job_id))
    assert drive.status(job_id).state is RemoteState.SUCCEEDED


def failures_for(seed: int, rate: float, clock: ManualClock, runner: asyncio.Runner) -> list[bool]:
    drive = Driver(SimProvider(clock.now, failure_rate=rate, random_seed=seed), runner)
    pattern = []
    for _ in range(60):
        result = drive.run(drive.sim.submit(KEY_A, drive.request()))
        if isinstance(result, Failure):
            assert result.failure().kind is FailureKind.TRANSIENT
        pattern.append(isinstance(result, Failure))
    return pattern


def test_failure_rate_is_random_but_seeded(clock: ManualClock, runner: asyncio.Runner) -> None:
    pattern = failures_for(3, 0.5, clock, runner)
    assert 15 <= sum(pattern) <= 45
    assert pattern == failures_for(3, 0.5, clock, runner)
    assert pattern != failures_for(4, 0.5, clock, runner)
    assert not any(failures_for(3, 0.0, clock, runner))
    assert all(failures_for(3, 1.0, clock, runner))


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_failure_rate_must_be_a_probability(clock: ManualClock, rate: float) -> None:
    with pytest.raises(ValueError):
        SimProvider(clock.now, failure_rate=rate)


# ------------------------------------------------------------------ bad requests and ids


@pytest.mark.parametrize(("operation", "inputs", "params"), [
    (OperationType.TEXT_TO_IMAGE, (), {"width": 10}),
    (OperationType.TEXT_TO_IMAGE, ONE_INPUT, {}),
    (OperationType.IMAGE_TO_IMAGE, (), {}),
    (OperationType.VIDEO_TRANSITION, ONE_INPUT, {}),
    (OperationType.IMAGE_TO_IMAGE, (InputRef(asset_id="a1", mime_type="image/png"),), {}),
])
def test_malformed_submissions_are_invalid(drive: Driver, operation: OperationType,
                                           inputs: tuple[InputRef, ...], params: dict[str, Any]) -> None:
    failure = drive.submit_failure(drive.request(operation, inputs=inputs, **params))
    assert failure.kind is FailureKind.INVALID
    assert failure.code in {"INVALID_PARAMS", "INVALID_INPUTS"}


@pytest.mark.parametrize("job_id", ["", "nonsense", "sim-" + "0" * 24, "sim-../../etc"])
def test_status_of_an_unknown_job_is_a_failure(drive: Driver, job_id: str) -> None:
    result = drive.run(drive.sim.status(KEY_A, job_id))
    assert isinstance(result, Failure) and result.failure().kind is FailureKind.INVALID


@pytest.mark.parametrize("url", [
    "sim://outputs/sim-000000000000000000000000/0.png",
    "https://example.com/out.png",
    "sim://outputs/{job}/1.png",  # index past num_images
    "sim://outputs/{job}/0.gif",  # an image job has no gif
    "sim://outputs/{job}/0.png/../../x",
])
def test_unknown_outputs_are_unavailable(drive: Driver, url: str) -> None:
    job_id = drive.submit(drive.request())
    with pytest.raises(OutputUnavailable):
        drive.download(ProviderOutput(url=url.format(job=job_id)))


# ------------------------------------------------------------------ cancel


def test_cancel_stops_a_running_job(drive: Driver, clock: ManualClock) -> None:
    job_id = drive.submit(drive.request(sim_latency_ms=1000))
    drive.run(drive.sim.cancel(KEY_A, job_id))
    clock.advance(seconds=5)
    status = drive.status(job_id)
    assert (status.state, status.raw_status, status.outputs) == (RemoteState.CANCELLED, "cancelled", ())
    with pytest.raises(OutputUnavailable):
        drive.download(ProviderOutput(url=f"sim://outputs/{job_id}/0.png"))


def test_cancel_after_the_end_changes_nothing(drive: Driver) -> None:
    job_id = drive.submit(drive.request())
    drive.run(drive.sim.cancel(KEY_A, job_id))
    drive.run(drive.sim.cancel(KEY_A, "sim-unknown"))
    assert drive.status(job_id).state is RemoteState.SUCCEEDED


# ------------------------------------------------------------------ counters for tests


def make_asset() -> Asset:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Asset(id="as1", owner_id="u1", media_type=MediaType.IMAGE, source=AssetSource.UPLOADED,
                 mime_type="image/png", size_bytes=6, sha256="0" * 64, storage_key="k",
                 created_at=moment, last_accessed_at=moment)


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def test_upload_consumes_the_stream_and_counts(drive: Driver) -> None:
    now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    first = drive.run(drive.sim.upload(KEY_A, make_asset(), stream(b"abc", b"def"), now)).unwrap()
    assert first.provider_asset_id == "sim-upload-" + hashlib.sha256(b"abcdef").hexdigest()
    assert first.expires_at == now + timedelta(hours=1)
    again = drive.run(drive.sim.upload(KEY_B, make_asset(), stream(b"abcdef"), now)).unwrap()
    assert again.provider_asset_id == first.provider_asset_id
    assert drive.sim.upload_count == 2


def test_submissions_are_counted_per_reference(drive: Driver) -> None:
    first = drive.submit(drive.request(reference="sub-a"))
    assert drive.submit(drive.request(reference="sub-a")) == first  # one remote job per reference
    drive.submit(drive.request(reference="sub-b"))
    drive.submit_failure(drive.request(reference="sub-c", width=1))
    assert drive.sim.submit_count == 4
    assert drive.sim.submits_by_reference == {"sub-a": 2, "sub-b": 1, "sub-c": 1}
    assert drive.sim.duplicate_submits == {"sub-a"}  # the rejected sub-c is no duplicate
    assert re.fullmatch(r"sim-[0-9a-f]{24}", first)

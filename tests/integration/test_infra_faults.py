"""Infrastructure faults, made real by a TCP fault proxy (tests/support/fault_proxy.py) in
front of the real service.

- Redis unreachable: the API keeps serving (rate limits fail open, events and wake-ups are
  dropped, the session cache misses), each request bounded; back up, limits apply again.
- Postgres connection cut at every point of a job submission: 503, never 500, no partial
  write, and the same app serves again once it is back. Cut at points of a worker's run:
  no reservation, run slot or hold leaks, and the job completes; the worker loop survives.
- A provider black-holed: its circuit opens, jobs wait without spending attempts or
  blaming the account, and complete once it is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from litestar.testing import TestClient
from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.providers.guarded import CIRCUIT_OPEN, CircuitState, GuardedProvider
from adapters.providers.httpio import SafeDownloader
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.replicate import ReplicateProvider
from adapters.redis.client import MAX_OUTAGE_PAUSE_SECONDS, redis_client
from adapters.redis.event_bus import RedisEventBus
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.session_cache import RedisSessionCache
from adapters.redis.work_signal import RedisWorkSignal
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.pipeline.claim import ClaimJobs
from application.pipeline.run import DrainOnce, RunJob
from application.policy import AuthPolicy, PipelinePolicy, Policies
from domain.accounts import AccountStatus, ProviderAccount
from domain.jobs import Job, JobStatus
from domain.ledger import CreditHold, invariant_violations
from domain.ports import JobFilter
from domain.quotas import QuotaPolicy
from entrypoints.bootstrap import Ports, build_container
from entrypoints.faults import is_infrastructure_fault
from entrypoints.http.app import create_app
from entrypoints.worker import Worker
from tests.e2e.http.conftest import Api, Caller, assert_problem
from tests.services_redis import RedisNamespace
from tests.support.fake_media_apis import FakeReplicate
from tests.support.fault_proxy import FaultProxy
from tests.support.seed import add_user
from tests.support.wiring import Wiring, memory_wiring

T = TypeVar("T")
BOUND_SECONDS = 3.0  # the longest one request may take while a backing service is unreachable
LOGINS_PER_EMAIL = 3
MAX_CUTS = 80
MAX_WORKER_CUTS = 200
WORKER_CUT_STRIDE = 1  # every chunk: a job's run is a dozen statements now, each one cut
ACCOUNT_CREDITS = 10_000
LEASE_SECONDS = PipelinePolicy().lease.total_seconds()
SHORT_TIMEOUT = 0.2
CIRCUIT_THRESHOLD = 3
CIRCUIT_OPEN_SECONDS = 30.0
OUTAGE_TICKS = 5


def proxied(url: str, proxy: FaultProxy) -> str:
    """`url` with its host and port replaced by the proxy's (user, path, query kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{proxy.address}" if userinfo else proxy.address
    return urlunsplit(parts._replace(netloc=netloc))


def proxy_for(url: str) -> Iterator[FaultProxy]:
    parts = urlsplit(url)
    with FaultProxy(parts.hostname or "127.0.0.1", parts.port or 0) as proxy:
        yield proxy


def rewired(policies: Policies, **ports: Any) -> Wiring:
    base = memory_wiring()
    swapped: Ports = dataclasses.replace(base.ports, **ports)
    return Wiring(build_container(swapped, policies), swapped, base.clock, base.sim)


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def bounded(call: Callable[[], httpx.Response]) -> httpx.Response:
    response, seconds = timed(call)
    assert seconds < BOUND_SECONDS, f"{response.request.method} {response.request.url.path} took {seconds:.2f} s"
    return response


# ---------------------------------------------------------------- Redis


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[FaultProxy]:
    yield from proxy_for(redis_url)


@pytest.fixture
def redis_api(redis_namespace: RedisNamespace, redis_proxy: FaultProxy) -> Iterator[tuple[Api, Redis]]:
    """The API on the memory wiring, with every Redis adapter on one client through the proxy,
    built as entrypoints/runtime.py builds it."""
    redis = redis_client(proxied(redis_namespace.url, redis_proxy))
    signal = RedisWorkSignal(redis, channel=redis_namespace.key("work"))
    wiring = rewired(
        Policies(auth=AuthPolicy(login_attempts_per_client=1000, login_attempts_per_email=LOGINS_PER_EMAIL,
                                 login_failures_per_email_client=LOGINS_PER_EMAIL)),
        rate_limiter=RedisRateLimiter(redis, prefix=redis_namespace.key("rl:")),
        events=RedisEventBus(redis), signal=signal,
        session_cache=RedisSessionCache(redis, prefix=redis_namespace.key("sc:")))
    with TestClient(create_app(wiring.container)) as client:
        api = Api(client, wiring)
        try:
            yield api, redis
        finally:
            redis_proxy.pass_through()
            api.run(signal.aclose)
            api.run(redis.aclose)


def back_within(api: Api, redis: Redis, seconds: float) -> None:
    """Wait for the client to use Redis again (its outage pause is over)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            api.run(redis.ping)
            return
        except RedisError:
            assert time.monotonic() < deadline, "Redis did not come back"
            time.sleep(0.05)


@pytest.mark.redis
@pytest.mark.parametrize("fault", ["blackhole", "reset"])
def test_redis_down_the_api_keeps_serving_and_limits_return_with_it(
        fault: str, redis_api: tuple[Api, Redis], redis_proxy: FaultProxy) -> None:
    api, redis = redis_api
    api.pool_account()
    alice = api.seeded("alice")
    api.run(lambda: add_user(api.wiring, "bob"))
    getattr(redis_proxy, fault)()
    outage_started = time.monotonic()

    for _ in range(LOGINS_PER_EMAIL + 1):  # rate limiting fails open (only failures count)
        assert bounded(lambda: api.login(alice.email, "wrong password")).status_code == 401
    assert bounded(lambda: api.login(alice.email)).status_code == 200
    created = bounded(lambda: api.client.post("/v1/jobs", headers=alice.headers, json={
        "provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a red fox"}}))
    assert created.status_code == 202, created.text
    api.drain()  # events and wake-ups are best effort
    job = bounded(lambda: api.client.get(f"/v1/jobs/{created.json()['id']}", headers=alice.headers)).json()
    assert job["status"] == "completed", job
    me = bounded(lambda: api.client.get("/v1/users/me", headers=alice.headers)).json()
    assert (me["credits"], me["credits_held"]) == (1000 - created.json()["cost_estimate"], 0)
    assert (me["usage"]["jobs_created"], me["usage"]["jobs_completed"]) == (1, 1)
    # a dozen Redis calls, but only the first (and a probe a pause later) waits for a timeout
    assert time.monotonic() - outage_started < BOUND_SECONDS

    redis_proxy.pass_through()
    back_within(api, redis, MAX_OUTAGE_PAUSE_SECONDS + 1)
    bob_email = "bob@example.com"
    for _ in range(LOGINS_PER_EMAIL):
        assert api.login(bob_email, "wrong password").status_code == 401
    assert_problem(api.login(bob_email), 429, "RATE_LIMITED")


# ---------------------------------------------------------------- Postgres


@pytest.fixture
def pg_proxy(pg_clean_url: str) -> Iterator[FaultProxy]:
    yield from proxy_for(pg_clean_url)


@pytest.fixture
def pg_api(pg_clean_url: str, pg_proxy: FaultProxy) -> Iterator[Api]:
    """The API on Postgres through the proxy (the rest in memory), under the TestClient."""
    engine = create_engine(proxied(pg_clean_url, pg_proxy))
    wiring = rewired(Policies(), uow=SqlUnitOfWorkFactory(engine))
    with TestClient(create_app(wiring.container)) as client:
        api = Api(client, wiring)
        try:
            yield api
        finally:
            pg_proxy.pass_through()
            api.run(engine.dispose)


def job_body(prompt: str = "a red fox") -> dict[str, Any]:
    return {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": prompt}}


def warm(api: Api, who: Caller) -> None:
    """One request that reaches the database: the pool holds a live connection again."""
    assert api.client.get("/v1/users/me", headers=who.headers).status_code == 200


async def database_state(url: str, user_id: str, day: date) -> tuple[list[Job], list[CreditHold], list[str], int]:
    """Jobs, holds, ledger problems and the day's jobs_created, read past the proxy."""
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            jobs = (await uow.jobs.page(JobFilter(user_id=user_id), None, 1000)).items
            holds = await uow.ledger.holds(user_id)
            problems = invariant_violations(await uow.ledger.transactions(), await uow.ledger.holds())
            usage = await uow.usage.get(user_id, day)
    finally:
        await engine.dispose()
    return list(jobs), holds, problems, usage.jobs_created


def assert_consistent(url: str, api: Api, user_id: str) -> list[Job]:
    """No job without its hold and its count in the day's usage, and no hold without its job."""
    jobs, holds, problems, jobs_created = asyncio.run(database_state(url, user_id, api.wiring.clock.now().date()))
    assert problems == []
    assert jobs_created == len(jobs)
    assert {job.hold_id for job in jobs} == {hold.id for hold in holds}
    assert {job.id for job in jobs} == {hold.job_id for hold in holds}
    return jobs


@pytest.mark.postgres
def test_postgres_blip_is_503_without_a_partial_write_and_the_pool_recovers(
        pg_api: Api, pg_proxy: FaultProxy, pg_clean_url: str) -> None:
    api = pg_api
    alice = api.seeded("alice")
    pg_proxy.reset()
    assert_problem(api.client.post("/v1/jobs", headers=alice.headers, json=job_body()), 503, "SERVICE_UNAVAILABLE")
    pg_proxy.pass_through()
    assert assert_consistent(pg_clean_url, api, alice.id) == []

    # cut the connection after every chunk a submission sends, its COMMIT included, until
    # the cut comes too late to matter
    for cut in range(1, MAX_CUTS):
        warm(api, alice)
        pg_proxy.reset_after(cut)
        key = {"Idempotency-Key": f"cut-{cut}"}
        blipped = api.client.post("/v1/jobs", headers={**alice.headers, **key}, json=job_body(f"cut {cut}"))
        pg_proxy.pass_through()
        if blipped.status_code == 202:
            break
        assert_problem(blipped, 503, "SERVICE_UNAVAILABLE")
        # the same app, without a restart; the retry gives the one job, made now or by the cut request
        retried = api.client.post("/v1/jobs", headers={**alice.headers, **key}, json=job_body(f"cut {cut}"))
        assert retried.status_code == 202, retried.text
    else:
        pytest.fail(f"a submission still did not fit in {MAX_CUTS} chunks")
    # A submission is one statement in one chunk (issue 10): cut after it, the server made
    # the job but the answer was lost (503, and the retry gave that job back); cut after two,
    # it went through whole.
    assert cut == 2
    assert len(assert_consistent(pg_clean_url, api, alice.id)) == cut


async def leftovers(url: str, user_id: str, account_id: str) -> tuple[int, int, int, list[str]]:
    """The account's reservations and credits, the user's run slots, ledger problems."""
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            account = await uow.accounts.get(account_id)
            user = await uow.users.get(user_id)
            problems = invariant_violations(await uow.ledger.transactions(), await uow.ledger.holds())
    finally:
        await engine.dispose()
    assert account is not None and user is not None
    return account.current_jobs, account.credits, user.running_jobs, problems


def run_until_completed(api: Api, job_id: str) -> None:
    """Worker rounds, each after every lease and poll delay has run out."""
    drain = api.wiring.get(DrainOnce)

    async def status() -> JobStatus | None:
        async with api.wiring.ports.uow() as uow:
            job = await uow.jobs.get(job_id)
        return None if job is None else job.status

    for _ in range(6):
        api.wiring.clock.advance(LEASE_SECONDS + 1)
        api.run(drain)
        if api.run(status) is JobStatus.COMPLETED:
            return
    pytest.fail(f"job {job_id} did not complete: {api.run(status)}")


@pytest.mark.postgres
def test_postgres_blip_in_a_worker_step_leaks_nothing_and_the_job_still_completes(
        pg_api: Api, pg_proxy: FaultProxy, pg_clean_url: str) -> None:
    api = pg_api
    account = api.pool_account(credits=ACCOUNT_CREDITS, max_concurrent_jobs=1)
    alice = api.seeded("alice", quota=QuotaPolicy(max_concurrent_jobs=1))
    drain = api.wiring.get(DrainOnce)
    # Cut the connection after every third chunk one job's whole run sends, until the cut
    # comes too late. One slot on the account and one for the user: a leaked reservation
    # or run slot stops the next job from running at all.
    for cut in range(1, MAX_WORKER_CUTS, WORKER_CUT_STRIDE):
        alice = api.caller(alice.email, alice.id)  # time moves on: a fresh access token
        job = api.job(alice, f"cut {cut}")
        pg_proxy.reset_after(cut)
        try:
            api.run(drain)
        except Exception as error:  # the worker logs it and carries on; its lease runs out
            assert is_infrastructure_fault(error), repr(error)
        too_late = pg_proxy.cut_pending
        pg_proxy.pass_through()
        run_until_completed(api, job["id"])
        if too_late:
            break
    else:
        pytest.fail(f"one job's run still did not fit in {MAX_WORKER_CUTS} chunks")
    jobs = len(range(1, cut + 1, WORKER_CUT_STRIDE))
    assert jobs > 10
    reserved, credits, running, problems = asyncio.run(leftovers(pg_clean_url, alice.id, account.id))
    assert (reserved, running, problems) == (0, 0, [])
    assert credits == ACCOUNT_CREDITS - jobs * job["cost_estimate"]
    alice = api.caller(alice.email, alice.id)  # time moved on: a fresh access token
    me = api.client.get("/v1/users/me", headers=alice.headers).json()
    assert (me["credits"], me["credits_held"]) == (1000 - jobs * job["cost_estimate"], 0)
    # a provider job, once submitted, is re-attached after a blip, never submitted again
    assert set(api.wiring.sim.submits_by_reference.values()) == {1}


@pytest.mark.postgres
def test_the_worker_backs_off_through_a_postgres_blip_and_carries_on(pg_api: Api, pg_proxy: FaultProxy) -> None:
    api = pg_api
    api.pool_account()
    alice = api.seeded("alice")
    claim = api.wiring.get(ClaimJobs)
    worker = Worker(claim, api.wiring.get(RunJob), api.wiring.ports.signal, concurrency=1, idle_seconds=0.02)
    before = pg_proxy.forwarded
    assert api.run(claim) == []
    claim_chunks = pg_proxy.forwarded - before
    assert claim_chunks > 1
    # the worker's first claim loses its connection while waiting for its last statement's answer
    pg_proxy.reset_after(claim_chunks - 1)
    stop = asyncio.Event()
    running = api.client.blocking_portal.start_task_soon(worker.run, stop)
    try:
        eventually(lambda: not pg_proxy.cut_pending, "the worker did not claim")
        pg_proxy.pass_through()
        api.job(alice)
        eventually(lambda: worker.jobs_run == 1, "the worker did not run the job after the blip")
    finally:
        api.run(stop_soon, stop)
    running.result(timeout=5)  # the loop ended because it was told to, not with an error


async def stop_soon(stop: asyncio.Event) -> None:
    stop.set()


def eventually(condition: Callable[[], bool], failure: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.01)


# ---------------------------------------------------------------- a provider


class _Served(BaseHTTPRequestHandler):
    """One HTTP/1.1 exchange, answered by the server's httpx-style handler."""

    protocol_version = "HTTP/1.1"
    server: _FakeApiServer

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = httpx.Request(self.command, f"http://{self.headers['host']}{self.path}",
                                headers=dict(self.headers.items()), content=body)
        response = self.server.answer(request)
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FakeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        super().__init__(("127.0.0.1", 0), _Served)
        self.answer = answer


@pytest.fixture
def replicate_server() -> Iterator[tuple[FakeReplicate, int]]:
    """The Replicate fake, served over real TCP."""
    fake = FakeReplicate()
    server = _FakeApiServer(fake.handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake, server.server_address[1]
    server.shutdown()
    server.server_close()


@dataclasses.dataclass
class ProviderSetup:
    api: Api
    fake: FakeReplicate
    proxy: FaultProxy
    guarded: GuardedProvider
    account_id: str


@pytest.fixture(params=["adapter", "pipeline"])
def replicate_api(request: pytest.FixtureRequest, replicate_server: tuple[FakeReplicate, int]
                  ) -> Iterator[ProviderSetup]:
    """The API and worker on the memory wiring, with Replicate (the fake, through the proxy,
    behind a circuit breaker on the wiring's clock) as the only provider. Whose timeout
    fires first: the adapter's HTTP client's, or the pipeline's around every provider call."""
    fake, port = replicate_server
    http_seconds, pipeline_seconds = (SHORT_TIMEOUT, 30.0) if request.param == "adapter" else (30.0, SHORT_TIMEOUT)
    policies = Policies(pipeline=PipelinePolicy(provider_timeout_seconds=pipeline_seconds))
    with FaultProxy("127.0.0.1", port) as proxy:
        http = httpx.AsyncClient(timeout=httpx.Timeout(http_seconds))
        cdn = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))  # outputs: not the subject here
        base = memory_wiring()
        replicate = ReplicateProvider(http, SafeDownloader(cdn, max_bytes=10**7, allow_private=True),
                                      clock=base.clock.now, base_url=f"http://{proxy.address}/v1")
        guarded = GuardedProvider(replicate, threshold=CIRCUIT_THRESHOLD, open_seconds=CIRCUIT_OPEN_SECONDS,
                                  monotonic=lambda: base.clock.now().timestamp())
        swapped = dataclasses.replace(base.ports, providers=StaticProviderRegistry([guarded]))
        wiring = Wiring(build_container(swapped, policies), swapped, base.clock, base.sim)
        with TestClient(create_app(wiring.container)) as client:
            api = Api(client, wiring)
            account = api.pool_account(provider_id="replicate", secret=fake.secret, max_concurrent_jobs=8)
            try:
                yield ProviderSetup(api, fake, proxy, guarded, account.id)
            finally:
                proxy.pass_through()
                api.run(http.aclose)
                api.run(cdn.aclose)


def replicate_job(api: Api, who: Caller, prompt: str) -> str:
    response = api.client.post("/v1/jobs", headers=who.headers, json={
        "provider_id": "replicate", "operation_type": "text_to_image", "params": {"prompt": prompt}})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def jobs_and_account(setup: ProviderSetup) -> tuple[list[Job], ProviderAccount]:
    async def read() -> tuple[list[Job], ProviderAccount]:
        async with setup.api.wiring.ports.uow() as uow:
            jobs = (await uow.jobs.page(JobFilter(provider_id="replicate"), None, 100)).items
            account = await uow.accounts.get(setup.account_id)
        assert account is not None
        return list(jobs), account

    return setup.api.run(read)


def test_a_black_holed_provider_opens_its_circuit_and_jobs_wait_without_burning_anything(
        replicate_api: ProviderSetup) -> None:
    setup = replicate_api
    api, clock = setup.api, setup.api.wiring.clock
    drain = api.wiring.get(DrainOnce)
    alice = api.seeded("alice")
    replicate_job(api, alice, "submitted before the outage")
    api.drain(1)  # submitted; the fake has it "starting"
    assert len(setup.fake.predictions) == 1

    setup.proxy.blackhole()
    for n in range(4):
        replicate_job(api, alice, f"during the outage {n}")
    # Worker ticks far enough apart for every lease, poll, hand-back and cooldown to run out,
    # and for the circuit to let a probe through each time: long enough to burn every
    # attempt of a job, or to cool an account down, if a black hole were blamed on them.
    for _ in range(OUTAGE_TICKS):
        _, seconds = timed(lambda: api.run(drain))
        assert seconds < BOUND_SECONDS  # the circuit answers at once; only probes wait
        clock.advance(CIRCUIT_OPEN_SECONDS + 5)
    api.run(drain)  # and once more, before the next probe is due
    assert setup.guarded.state is CircuitState.OPEN
    jobs, account = jobs_and_account(setup)
    assert {job.status for job in jobs} <= {JobStatus.PENDING, JobStatus.PROCESSING}
    assert all(job.attempts < job.max_attempts for job in jobs)
    assert (account.status, account.consecutive_failures) == (AccountStatus.ACTIVE, 0)
    # only the job already running at the provider keeps its account; the rest gave theirs back
    assert account.current_jobs == sum(job.account_id is not None for job in jobs) == 1
    assert any(job.error_code == CIRCUIT_OPEN for job in jobs)  # why they wait, for whoever looks

    setup.proxy.pass_through()
    clock.advance(CIRCUIT_OPEN_SECONDS)  # a probe may go through now
    for _ in range(6):
        api.run(drain)
        setup.fake.advance()
        clock.advance(10)
    jobs, account = jobs_and_account(setup)
    assert [job.status for job in jobs] == [JobStatus.COMPLETED] * 5
    assert setup.guarded.state is CircuitState.CLOSED
    assert (account.status, account.current_jobs) == (AccountStatus.ACTIVE, 0)
    assert len(setup.fake.predictions) == 5  # the swallowed submits never reached it

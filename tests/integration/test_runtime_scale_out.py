"""What the runtime opens for scale-out: the Redis work signal and readiness check, and a sim
whose remote state is shared through PIXRELAY_SIM_STATE_DIR."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from returns.result import Success

from adapters.memory.signal import InProcessWorkSignal
from adapters.redis.work_signal import RedisWorkSignal
from adapters.sql.notify_signal import PostgresWorkSignal
from domain.jobs import OperationType
from domain.providers import RemoteState, SubmitRequest
from entrypoints.http.routes_ops import run_check
from entrypoints.runtime import open_runtime
from entrypoints.serve import readiness_checks
from entrypoints.settings import Settings, SettingsError, load_settings

REQUEST = SubmitRequest(reference="sub-1", operation_type=OperationType.TEXT_TO_IMAGE, params={"prompt": "x"})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_sim_state_dir_setting(tmp_path: Path) -> None:
    assert load_settings({}, dotenv=None).sim_state_dir is None
    assert load_settings({"PIXRELAY_SIM_STATE_DIR": str(tmp_path / "sim")}, dotenv=None).sim_state_dir == \
        tmp_path / "sim"
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match="PIXRELAY_SIM_STATE_DIR"):
        load_settings({"PIXRELAY_SIM_STATE_DIR": str(tmp_path / "file")}, dotenv=None)


def test_two_runtimes_on_one_sim_state_dir_see_the_same_remote_jobs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", providers="sim", sim_state_dir=tmp_path / "sim")

    async def scenario() -> RemoteState:
        async with open_runtime(settings, run_migrations=True) as one, \
                open_runtime(settings, run_migrations=False) as other:
            [sim_one], [sim_other] = one.providers, other.providers
            job_id = (await sim_one.submit("key", REQUEST)).unwrap()
            assert await sim_other.find("key", "sub-1") == Success(job_id)
            return (await sim_other.status("key", job_id)).unwrap().state

    assert asyncio.run(scenario()) is RemoteState.SUCCEEDED
    assert (tmp_path / "sim" / "jobs").is_dir()


def test_without_redis_the_signal_is_in_process_and_readiness_adds_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_runtime(Settings(data_dir=tmp_path, providers="sim"), run_migrations=True) as runtime:
            assert isinstance(runtime.ports.signal, InProcessWorkSignal)
            assert readiness_checks(runtime) == []

    asyncio.run(scenario())


@pytest.mark.redis
def test_with_redis_workers_wake_through_it_and_readiness_pings_it(tmp_path: Path, redis_url: str) -> None:
    async def scenario() -> tuple[bool, bool]:
        settings = Settings(data_dir=tmp_path, providers="sim", redis_url=redis_url)
        async with open_runtime(settings, run_migrations=True) as runtime:
            assert isinstance(runtime.ports.signal, RedisWorkSignal)
            [check] = readiness_checks(runtime)
            assert check.name == "redis"
            up = (await run_check(check)).ok
        down_settings = Settings(data_dir=tmp_path, providers="sim",
                                 redis_url=f"redis://127.0.0.1:{closed_port()}/0")
        async with open_runtime(down_settings, run_migrations=False) as runtime:
            [check] = readiness_checks(runtime)
            down = await run_check(check)
            assert down.detail and "ConnectionError" in down.detail
        return up, down.ok

    assert asyncio.run(scenario()) == (True, False)


@pytest.mark.postgres
def test_on_postgres_without_redis_workers_wake_through_listen_notify(tmp_path: Path, pg_url: str) -> None:
    async def scenario() -> None:
        settings = Settings(data_dir=tmp_path, providers="sim", database_url=pg_url, jwt_secret="s" * 40)
        async with open_runtime(settings, run_migrations=False) as runtime:
            assert isinstance(runtime.ports.signal, PostgresWorkSignal)
            assert readiness_checks(runtime) == []

    asyncio.run(scenario())

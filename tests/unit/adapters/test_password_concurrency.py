"""Argon2 takes 64 MiB per hash: concurrent logins must not multiply it without bound, and the
hashing must not hold up the event loop while it runs."""

from __future__ import annotations

import asyncio
import threading
import time

import argon2
import pytest

from adapters.security.passwords import Argon2PasswordHasher
from entrypoints.settings import SettingsError, load_settings


class CountingEngine(argon2.PasswordHasher):
    """A real argon2 hasher that records how many of its calls overlap."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=19456, parallelism=1)
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0

    def _enter(self) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)

    def _leave(self) -> None:
        with self._lock:
            self.running -= 1

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._enter()
        try:
            time.sleep(0.02)
            return super().hash(password, salt=salt)
        finally:
            self._leave()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._enter()
        try:
            time.sleep(0.02)
            return super().verify(hash, password)
        finally:
            self._leave()


@pytest.mark.parametrize("bound", [1, 2, 3])
def test_at_most_the_configured_number_of_hashes_run_at_once(bound: int) -> None:
    engine = CountingEngine()
    hasher = Argon2PasswordHasher(max_concurrent=bound, engine=engine)

    async def scenario() -> None:
        stored = await hasher.hash("correct horse")
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        beat = asyncio.create_task(heartbeat())
        results = await asyncio.gather(*(hasher.verify(stored, "correct horse" if i % 2 else "wrong")
                                         for i in range(12)),
                                       *(hasher.hash(f"pw-{i}") for i in range(4)))
        beat.cancel()
        assert results[:12] == [bool(i % 2) for i in range(12)]
        assert ticks > 5, "the event loop kept running while hashes were computed"

    asyncio.run(scenario())
    assert engine.most == bound


def test_the_bound_is_a_setting() -> None:
    assert load_settings({}, dotenv=None).max_concurrent_hashes == 2
    assert load_settings({"PIXRELAY_MAX_CONCURRENT_HASHES": "1"}, dotenv=None).max_concurrent_hashes == 1
    with pytest.raises(SettingsError, match="PIXRELAY_MAX_CONCURRENT_HASHES"):
        load_settings({"PIXRELAY_MAX_CONCURRENT_HASHES": "0"}, dotenv=None)

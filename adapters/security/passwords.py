"""Argon2id password hashes (argon2-cffi), computed off the event loop, a bounded number at once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

# OWASP's floor for argon2id: 19 MiB of memory, 2 passes, 1 lane.
MIN_MEMORY_KIB, MIN_TIME_COST, MIN_PARALLELISM = 19456, 2, 1
DEFAULT_MAX_CONCURRENT = 2


class Argon2PasswordHasher:
    """argon2id with RFC 9106's low-memory profile by default (64 MiB, t=3, p=4).

    Each hash holds its memory cost while it runs, so at most `max_concurrent` run at once
    (their own threads; further calls queue): 50 logins at once cost 2 x 64 MiB, not 50 x.
    `engine` is the argon2-cffi hasher to use (tests pass one that observes the calls)."""

    def __init__(self, parameters: argon2.Parameters = RFC_9106_LOW_MEMORY, *,
                 max_concurrent: int = DEFAULT_MAX_CONCURRENT, engine: argon2.PasswordHasher | None = None) -> None:
        if (
            parameters.type is not argon2.Type.ID
            or parameters.memory_cost < MIN_MEMORY_KIB
            or parameters.time_cost < MIN_TIME_COST
            or parameters.parallelism < MIN_PARALLELISM
        ):
            raise ValueError("argon2 parameters must be argon2id with at least m=19456 KiB, t=2, p=1")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._hasher = engine or argon2.PasswordHasher.from_parameters(parameters)
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

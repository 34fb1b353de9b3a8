"""Argon2id password hashes (argon2-cffi)."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

# OWASP's floor for argon2id: 19 MiB of memory, 2 passes, 1 lane.
MIN_MEMORY_KIB, MIN_TIME_COST, MIN_PARALLELISM = 19456, 2, 1


class Argon2PasswordHasher:
    """argon2id with RFC 9106's low-memory profile by default (64 MiB, t=3, p=4)."""

    def __init__(self, parameters: argon2.Parameters = RFC_9106_LOW_MEMORY) -> None:
        if (
            parameters.type is not argon2.Type.ID
            or parameters.memory_cost < MIN_MEMORY_KIB
            or parameters.time_cost < MIN_TIME_COST
            or parameters.parallelism < MIN_PARALLELISM
        ):
            raise ValueError("argon2 parameters must be argon2id with at least m=19456 KiB, t=2, p=1")
        self._hasher = argon2.PasswordHasher.from_parameters(parameters)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

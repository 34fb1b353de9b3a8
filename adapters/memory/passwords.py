"""A fast salted-sha256 password hasher FOR TESTS ONLY: argon2 would make tests slow.
Never wire it into a running service."""

from __future__ import annotations

import hashlib
import hmac
import os

_PREFIX = "plain-test-sha256"


class PlainTestPasswordHasher:
    async def hash(self, password: str) -> str:
        salt = os.urandom(8).hex()
        return f"{_PREFIX}${salt}${self._digest(salt, password)}"

    async def verify(self, password_hash: str, password: str) -> bool:
        prefix, _, rest = password_hash.partition("$")
        salt, _, digest = rest.partition("$")
        if prefix != _PREFIX or not salt or not digest:
            return False
        return hmac.compare_digest(digest, self._digest(salt, password))

    @staticmethod
    def _digest(salt: str, password: str) -> str:
        return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()

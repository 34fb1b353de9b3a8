"""The real clock, ids and randomness."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TimeOrderedIds:
    """32 hex characters: milliseconds since the epoch, then 80 random bits. Ids sort by
    creation time across processes and never collide in practice."""

    def new_id(self) -> str:
        return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


class SecureRandom:
    def random(self) -> float:
        return secrets.randbits(53) / (1 << 53)

    def token(self, nbytes: int = 32) -> str:
        return secrets.token_urlsafe(nbytes)

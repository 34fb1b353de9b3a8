"""Controllable clock, predictable ids and seeded randomness for tests and simulations."""

from __future__ import annotations

import base64
import itertools
import random
from datetime import UTC, datetime, timedelta


class ManualClock:
    """Time moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class SequentialIds:
    """Sortable ids: a prefix and a zero-padded counter."""

    def __init__(self, prefix: str = "id") -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):012d}"


class SeededRandom:
    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)

    def random(self) -> float:
        return self._random.random()

    def token(self, nbytes: int = 32) -> str:
        return base64.urlsafe_b64encode(self._random.randbytes(nbytes)).decode().rstrip("=")

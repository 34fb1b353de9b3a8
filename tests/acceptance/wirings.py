"""The adapters a scenario runs on. Each wiring is opened and closed inside the scenario's
event loop, so wirings over real services (engines, pools, clients) can be added here as
more branches of `make_wiring` without touching a single step.

To add one: put its name in WIRINGS and a branch in `make_wiring` returning an async context
manager that yields a `tests.support.wiring.Wiring`. What the steps rely on:
- every scenario starts from an empty store, blob store and rate limiter (users, emails and
  login attempts repeat from scenario to scenario);
- `clock` is a ManualClock that every time-dependent port reads (the sim provider, the rate
  limiter, cooldowns, leases): the steps move time, never sleep;
- `sim` is the SimProvider registered in `ports.providers` (steps read its counters).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from tests.support.wiring import Wiring, memory_wiring

WIRINGS = ("memory",)


@asynccontextmanager
async def _memory() -> AsyncIterator[Wiring]:
    yield memory_wiring()


def make_wiring(name: str, runner: asyncio.Runner) -> AbstractAsyncContextManager[Wiring]:
    """The async context manager of the wiring called `name`. `runner` is the scenario's
    loop, for wirings that must set something up there before they are entered."""
    del runner  # the memory wiring needs nothing beforehand
    if name == "memory":
        return _memory()
    raise ValueError(f"unknown wiring {name!r}; known: {', '.join(WIRINGS)}")

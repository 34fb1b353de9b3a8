"""In-process work signal: an asyncio.Event set on notify, cleared by the waiter."""

from __future__ import annotations

import asyncio


class InProcessWorkSignal:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    async def notify(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        self._event.clear()
        return True

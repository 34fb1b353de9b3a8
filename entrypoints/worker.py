"""The worker process: claim due jobs, run them concurrently, sleep until woken or polled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any

from application.pipeline.claim import ClaimJobs
from application.pipeline.held import HeldPolls
from application.pipeline.run import RunJob
from domain.jobs import Job
from domain.ports import WorkSignal
from entrypoints.faults import is_infrastructure_fault

log = logging.getLogger("pixrelay.worker")


class Worker:
    """Runs up to `concurrency` jobs at once. New jobs wake it through the work signal;
    polling every `idle_seconds` covers lost signals, due polls and expired leases. With
    `held`, jobs waiting on their provider stay leased by this worker between polls (their
    leases renewed together once per renewal cycle) and are polled when due, before new jobs
    are claimed. On stop it claims nothing more and lets running steps finish for up to
    `grace_seconds`; a step still running then is cancelled and its lease runs out, so
    another worker resumes it; then the held jobs are given back in one step."""

    def __init__(self, claim: ClaimJobs, run: RunJob, signal: WorkSignal, *, concurrency: int = 4,
                 idle_seconds: float = 1.0, grace_seconds: float = 20.0,
                 beside: Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None = None,
                 held: HeldPolls | None = None) -> None:
        self._beside = beside  # one more loop for the worker's life (webhook deliveries)
        self._held = held
        self._claim = claim
        self._run = run
        self._signal = signal
        self._concurrency = concurrency
        self._idle_seconds = idle_seconds
        self._grace_seconds = grace_seconds
        self._running: set[asyncio.Task[None]] = set()
        self._wanted = True  # a claim may find work: woken, a full batch, a job that freed its slot
        self._claimed_at = -math.inf
        self.jobs_run = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker.start", extra={"concurrency": self._concurrency})
        beside = asyncio.create_task(self._beside(stop), name="beside") if self._beside else None
        failures = 0
        if self._held is not None:
            self._held.open()
        while not stop.is_set():
            await self._poll_held()
            free = self._concurrency - len(self._running)
            claimed: list[Job] = []
            if free > 0 and self._claim_due():
                try:
                    claimed = await self._claim(free)
                    self._claimed_at, self._wanted = time.monotonic(), len(claimed) == free
                    failures = 0
                except Exception as error:
                    if not is_infrastructure_fault(error):  # the database's SQLAlchemy errors too
                        raise
                    failures += 1
                    log.warning("worker.claim_failed", extra={"error": repr(error), "failures": failures})
                    await self._sleep(stop, min(30.0, 0.5 * 2**failures))
                    continue
            for job in claimed:
                self._start(job)
            if claimed and len(claimed) == free:
                await asyncio.sleep(0)  # more may be due: claim again right away
                continue
            if await self._idle(stop):
                self._wanted = True
        await self._drain()
        await self._release_held()
        if beside is not None:
            await beside
        log.info("worker.stop", extra={"jobs_run": self.jobs_run})

    def _claim_due(self) -> bool:
        """Claim when work may be waiting, and at least every idle_seconds (lost signals, due
        retries, expired leases); not on every wake-up for a held job's poll, which would
        cost a claim's round trips per poll."""
        return self._wanted or time.monotonic() - self._claimed_at >= self._idle_seconds

    async def _poll_held(self) -> None:
        """Renew the held jobs' leases when a cycle has passed, then start their due polls."""
        if self._held is None:
            return
        try:
            await self._held.renew()
        except Exception as error:
            if not is_infrastructure_fault(error):
                raise
            log.warning("worker.renew_failed", extra={"error": repr(error)})  # tried again next cycle
        for job in self._held.due(self._concurrency - len(self._running)):
            self._start(job)

    async def _release_held(self) -> None:
        if self._held is None:
            return
        try:
            released = await self._held.release()
            log.info("worker.released", extra={"jobs": released})
        except Exception as error:
            if not is_infrastructure_fault(error):
                raise
            log.warning("worker.release_failed", extra={"error": repr(error)})  # their leases run out

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._run_one(job), name=f"job-{job.id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run_one(self, job: Job) -> None:
        try:
            await self._run(job)
            self.jobs_run += 1
            if self._held is None or not self._held.holds(job.id):
                self._wanted = True  # it may have freed an account or a run slot
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug or an infrastructure fault in one job must not stop the worker; the
            # job's lease runs out and it is picked up again.
            log.exception("worker.job_crashed", extra={"job_id": job.id})

    def _idle_for(self) -> float:
        """Until the held jobs need the worker (a poll due, a renewal), at most idle_seconds;
        with every slot busy a finishing job wakes it anyway."""
        held = self._held
        wake = held.next_wake() if held is not None else None
        if held is None or wake is None or len(self._running) >= self._concurrency:
            return self._idle_seconds
        return min(self._idle_seconds, max(0.0, (wake - held.now()).total_seconds()))

    async def _idle(self, stop: asyncio.Event) -> bool:
        """Until woken, a job finishes or the held jobs need the worker; True when signalled."""
        signalled = asyncio.create_task(self._signal.wait(self._idle_for()))
        wakers: list[asyncio.Task[bool]] = [signalled, asyncio.create_task(stop.wait())]
        done, _ = await asyncio.wait([*wakers, *self._running], return_when=asyncio.FIRST_COMPLETED)
        for task in wakers:
            if task not in done:
                task.cancel()
        return signalled in done and signalled.result()

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    async def _drain(self) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=self._grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

"""A job that cannot start says why (GET /v1/jobs/{id}); providers say whether they have
accounts to run jobs on (GET /v1/providers); a job held back for want of accounts is logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import msgspec
import pytest

from domain.accounts import AccountStatus
from domain.quotas import QuotaPolicy
from tests.e2e.http.conftest import Api


def get_job(api: Api, headers: dict[str, str], job_id: str) -> dict[str, object]:
    response = api.client.get(f"/v1/jobs/{job_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def usable(api: Api, headers: dict[str, str]) -> bool:
    [sim] = api.client.get("/v1/providers", headers=headers).json()["items"]
    return bool(sim["has_usable_accounts"])


def test_a_job_for_a_provider_without_accounts_says_so_and_is_logged(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    alice = api.register()
    assert usable(api, alice.headers) is False
    job = api.job(alice)
    api.drain()
    with caplog.at_level(logging.WARNING, logger="pixrelay.jobs"):
        seen = get_job(api, alice.headers, str(job["id"]))
    assert (seen["status"], seen["waiting_reason"], seen["waiting_until"]) == ("pending", "no_account", None)
    assert any(r.getMessage() == "job.cannot_start" and getattr(r, "job_id", None) == job["id"]
               for r in caplog.records)
    api.pool_account(max_concurrent_jobs=1)
    assert usable(api, alice.headers) is True
    assert get_job(api, alice.headers, str(job["id"]))["waiting_reason"] is None  # starts at the next claim
    api.drain()
    done = get_job(api, alice.headers, str(job["id"]))
    assert done["status"] == "completed" and done["waiting_reason"] is None
    assert done["claimed_at"] is not None and done["started_at"] is not None


def test_busy_and_cooling_accounts_and_the_users_limit_and_the_schedule_are_told_apart(api: Api) -> None:
    alice = api.seeded("alice", quota=QuotaPolicy(max_concurrent_jobs=2))
    api.pool_account(max_concurrent_jobs=1)
    running = api.job(alice, params={"sim_latency_ms": 60_000})
    queued = api.job(alice)
    api.drain()
    assert get_job(api, alice.headers, str(running["id"]))["waiting_reason"] is None  # processing
    assert get_job(api, alice.headers, str(queued["id"]))["waiting_reason"] == "accounts_busy"
    later = (api.wiring.clock.now() + timedelta(hours=1)).isoformat()
    scheduled = api.job(alice, scheduled_at=later)
    seen = get_job(api, alice.headers, str(scheduled["id"]))
    assert seen["waiting_reason"] == "scheduled" and str(seen["waiting_until"]).startswith(later[:19])

    bob = api.seeded("bob", quota=QuotaPolicy(max_concurrent_jobs=0))
    assert get_job(api, bob.headers, str(api.job(bob)["id"]))["waiting_reason"] == "concurrency_limit"

    carol = api.register("carol")
    until = api.wiring.clock.now() + timedelta(minutes=5)
    api.run(lambda: _cool_everything(api, until))
    seen = get_job(api, carol.headers, str(api.job(carol)["id"]))
    assert seen["waiting_reason"] == "accounts_cooling_down"
    assert str(seen["waiting_until"]).startswith(until.isoformat()[:19])


async def _cool_everything(api: Api, until: object) -> None:
    async with api.wiring.ports.uow() as uow:
        for account in await uow.accounts.find():
            await uow.accounts.update(msgspec.structs.replace(
                account, status=AccountStatus.COOLING_DOWN, cooldown_until=until))
        await uow.commit()

"""Put users, credits and accounts straight into a wiring's store, bypassing the API."""

from __future__ import annotations

from dataclasses import dataclass

from domain.accounts import ProviderAccount
from domain.ledger import grant
from domain.quotas import QuotaPolicy
from domain.users import Role, User, default_quota
from tests.support.wiring import Wiring


@dataclass(frozen=True)
class ActorStub:
    user_id: str
    is_admin: bool = False


async def add_user(w: Wiring, name: str = "alice", credits: int = 1000, role: Role = Role.USER,
                   quota: QuotaPolicy | None = None) -> ActorStub:
    now = w.clock.now()
    user = User(id=w.ports.ids.new_id(), email=f"{name}@example.com", username=name,
                password_hash=await w.ports.hasher.hash("password123"), created_at=now, role=role,
                quota=quota or default_quota(role))
    async with w.ports.uow() as uow:
        assert await uow.users.add(user)
        if credits:
            assert await uow.ledger.apply(grant(w.ports.ids.new_id(), user.id, credits, now).unwrap())
        await uow.commit()
    return ActorStub(user.id, role is Role.ADMIN)


async def add_account(w: Wiring, label: str = "acct", *, provider_id: str = "sim", credits: int = 10_000,
                      max_concurrent_jobs: int = 2, priority: int = 0, secret: str | None = None,
                      owner: str | None = None) -> ProviderAccount:
    account = ProviderAccount(
        id=w.ports.ids.new_id(), provider_id=provider_id, label=label, secret=secret or f"key-{label}",
        created_at=w.clock.now(), credits=credits, max_concurrent_jobs=max_concurrent_jobs,
        priority=priority, owner_user_id=owner,
    )
    async with w.ports.uow() as uow:
        await uow.accounts.add(account)
        await uow.commit()
    return account

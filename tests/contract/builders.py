"""Domain values for the contract suites, with defaults that only need what a test is about."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from domain.accounts import ProviderAccount
from domain.assets import Asset, AssetSource, MediaType
from domain.jobs import Job, OperationType
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPolicy
from domain.users import User

T = TypeVar("T")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def user(**changes: Any) -> User:
    uid = changes.pop("id", None) or new_id("u")
    values: dict[str, Any] = {
        "id": uid, "email": f"{uid}@example.com", "username": f"user_{uid}",
        "password_hash": "argon2-hash", "created_at": T0, "quota": QuotaPolicy(),
    }
    return User(**{**values, **changes})


def job(user_id: str, **changes: Any) -> Job:
    values: dict[str, Any] = {
        "id": new_id("j"), "user_id": user_id, "provider_id": "sim", "model": "sim/image",
        "operation_type": OperationType.TEXT_TO_IMAGE, "params": {"prompt": "a cat", "seed": 7},
        "created_at": T0, "run_after": T0,
    }
    return Job(**{**values, **changes})


def account(**changes: Any) -> ProviderAccount:
    values: dict[str, Any] = {
        "id": new_id("a"), "provider_id": "sim", "label": "pool", "secret": "sk-test",
        "created_at": T0, "credits": 100, "max_concurrent_jobs": 2,
    }
    return ProviderAccount(**{**values, **changes})


def asset(owner_id: str, content: str | None = None, **changes: Any) -> Asset:
    asset_id = changes.pop("id", None) or new_id("as")
    sha = hashlib.sha256((content or asset_id).encode()).hexdigest()
    values: dict[str, Any] = {
        "id": asset_id, "owner_id": owner_id, "media_type": MediaType.IMAGE,
        "source": AssetSource.UPLOADED, "mime_type": "image/png", "size_bytes": 100,
        "sha256": sha, "storage_key": f"sha256/{sha}.png", "created_at": T0, "last_accessed_at": T0,
    }
    return Asset(**{**values, **changes})


async def in_uow(factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], Awaitable[T]],
                 commit: bool = True) -> T:
    """Run `work` in one unit of work, committed unless told otherwise."""
    async with factory() as uow:
        result = await work(uow)
        if commit:
            await uow.commit()
        return result


async def add_user(factory: UnitOfWorkFactory, **changes: Any) -> User:
    created = user(**changes)

    async def work(uow: UnitOfWork) -> bool:
        return await uow.users.add(created)

    assert await in_uow(factory, work)
    return created

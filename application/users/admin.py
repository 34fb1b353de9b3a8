"""User administration: list users, change their role, activity and quota, grant credits."""

from __future__ import annotations

from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from application.actor import Actor
from application.audit import AuditTrail
from application.users.me import Profile, load_profile
from domain.errors import DomainError, conflict, forbidden, not_found, validation
from domain.ledger import CreditBalance, grant
from domain.pagination import MAX_PAGE, Cursor, Page, clamp_limit, decode_cursor
from domain.ports import Clock, IdGenerator, SessionCache, UnitOfWork, UnitOfWorkFactory
from domain.quotas import QuotaPatch, apply_patch
from domain.users import Role, User, default_quota

MAX_GRANT = 1_000_000_000
MAX_MEMO = 500


class ListUsers:
    """All users, newest first, with their quota, today's usage and credits (admins only).

    - Non-admins get 403 FORBIDDEN.
    - `limit` is clamped to 1..100; a malformed cursor is a VALIDATION_ERROR.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, cursor: str | None = None,
                       limit: int | None = None) -> Result[Page[Profile], DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        after = decode_cursor(cursor)
        if isinstance(after, ValueError):
            return Failure(validation(str(after), "cursor"))
        now = self._clock.now()
        async with self._uow() as uow:
            page = await uow.users.page(after, clamp_limit(limit))
            profiles = [await load_profile(uow, user, now) for user in page.items]
        return Success(Page(items=profiles, next_cursor=page.next_cursor))


class UpdateUser:
    """Change a user's quota (a partial policy), role or active flag (admins only).

    - Non-admins get 403 FORBIDDEN; an unknown user is 404; an unknown role or a negative
      limit is 422 VALIDATION_ERROR. In a quota patch, omitted fields keep their value and
      null means unlimited.
    - A user whose quota is still their role's default gets the new role's default when the
      role changes; a customised quota is kept. A quota patch applies on top of either.
    - The last active admin cannot be demoted or deactivated, and nobody can deactivate
      themselves: 409 CONFLICT.
    - Deactivating a user ends all their sessions at once; a role change applies to their
      next request (their cached sessions are forgotten either way).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, audit: AuditTrail, cache: SessionCache) -> None:
        self._uow = uow
        self._clock = clock
        self._audit = audit
        self._cache = cache

    async def __call__(self, actor: Actor, user_id: str, *, quota: QuotaPatch | None = None,
                       role: str | None = None, is_active: bool | None = None) -> Result[Profile, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        if role is not None and role not in Role.__members__.values():
            return Failure(validation("role must be 'user' or 'admin'", "role"))
        if is_active is False and actor.user_id == user_id:
            return Failure(conflict("you cannot deactivate your own account"))
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None:
                return Failure(not_found("user"))
            changed = await self._change(uow, user, quota, Role(role) if role else user.role,
                                         user.is_active if is_active is None else is_active)
            if isinstance(changed, Failure):
                return Failure(changed.failure())
            updated = changed.unwrap()
            if updated != user:
                await self._save(uow, actor, user, updated)
                await uow.commit()
                if updated.role is not user.role or updated.is_active != user.is_active:
                    await self._cache.forget_user(user.id)
            return Success(await load_profile(uow, updated, self._clock.now()))

    async def _change(self, uow: UnitOfWork, user: User, patch: QuotaPatch | None, role: Role,
                      is_active: bool) -> Result[User, DomainError]:
        loses_admin = user.is_admin and user.is_active and (role is Role.USER or not is_active)
        if loses_admin and not await another_active_admin(uow, user.id):
            return Failure(conflict("the last active admin cannot be demoted or deactivated"))
        quota = user.quota
        if role is not user.role and quota == default_quota(user.role):
            quota = default_quota(role)
        if patch is not None:
            patched = apply_patch(quota, patch)
            if isinstance(patched, Failure):
                return Failure(patched.failure())
            quota = patched.unwrap()
        return Success(msgspec.structs.replace(user, role=role, is_active=is_active, quota=quota))

    async def _save(self, uow: UnitOfWork, actor: Actor, before: User, after: User) -> None:
        await uow.users.update(after)
        changes: dict[str, Any] = {}
        if after.role is not before.role:
            changes["role"] = str(after.role)
        if after.is_active != before.is_active:
            changes["is_active"] = after.is_active
        if after.quota != before.quota:
            changes["quota"] = msgspec.to_builtins(after.quota)
        if before.is_active and not after.is_active:
            changes["sessions_revoked"] = await uow.sessions.revoke_all(after.id, self._clock.now())
        await self._audit.record(uow, actor.user_id, "user.update", "user", after.id, **changes)


async def another_active_admin(uow: UnitOfWork, except_user_id: str) -> bool:
    # admin changes are rare: walking the user list beats a special-purpose query
    after: Cursor | None = None
    while True:
        page = await uow.users.page(after, MAX_PAGE)
        if any(u.is_admin and u.is_active and u.id != except_user_id for u in page.items):
            return True
        cursor = decode_cursor(page.next_cursor)
        if not isinstance(cursor, Cursor):
            return False
        after = cursor


class GrantCredits:
    """Add credits to a user's spendable balance (admins only); answers the new balance.

    - Non-admins get 403 FORBIDDEN; an unknown user is 404.
    - The amount is a whole number from 1 to 1,000,000,000; the memo at most 500 characters.
    - Recorded in the credits ledger as a grant, and in the audit log.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, audit: AuditTrail) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._audit = audit

    async def __call__(self, actor: Actor, user_id: str, amount: int,
                       memo: str | None = None) -> Result[CreditBalance, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_GRANT:
            return Failure(validation(f"amount must be a whole number from 1 to {MAX_GRANT}", "amount"))
        if memo is not None and len(memo) > MAX_MEMO:
            return Failure(validation(f"memo must be at most {MAX_MEMO} characters", "memo"))
        async with self._uow() as uow:
            if await uow.users.get(user_id) is None:
                return Failure(not_found("user"))
            tx = grant(self._ids.new_id(), user_id, amount, self._clock.now(), memo=memo)
            if isinstance(tx, Failure):
                return Failure(tx.failure())
            if not await uow.ledger.apply(tx.unwrap()):
                return Failure(conflict("the grant could not be applied"))
            await self._audit.record(uow, actor.user_id, "user.grant_credits", "user", user_id,
                                     amount=amount, memo=memo, transaction_id=tx.unwrap().id)
            await uow.commit()
            return Success(await uow.ledger.balance(user_id))

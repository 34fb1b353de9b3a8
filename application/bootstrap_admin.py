"""Create the bootstrap admin named by the configuration, once."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.auth.register import grant_signup_credits
from application.policy import AuthPolicy
from domain.errors import DomainError, conflict
from domain.ports import Clock, IdGenerator, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from domain.users import Role, User, check_email, check_password, default_quota

USERNAMES = ("admin", "pixrelay-admin")


class EnsureAdmin:
    """Make sure an admin with this email exists; answers it and whether it was created now.

    - Idempotent: an existing admin is returned untouched (its password is not changed).
    - An existing non-admin with this email is 409 CONFLICT, never promoted: whoever
      registered it chose its password.
    - The admin gets the unlimited admin quota, the signup credits, and username `admin`
      (or a variant when that is taken).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, hasher: PasswordHasher,
                 audit: AuditTrail, policy: AuthPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._hasher = hasher
        self._audit = audit
        self._policy = policy

    async def __call__(self, email: str, password: str) -> Result[tuple[User, bool], DomainError]:
        checked_email = check_email(email)
        if isinstance(checked_email, Failure):
            return Failure(checked_email.failure())
        checked_password = check_password(password)
        if isinstance(checked_password, Failure):
            return Failure(checked_password.failure())
        normalized = checked_email.unwrap()
        async with self._uow() as uow:
            existing = await uow.users.get_by_email(normalized)
        if existing is not None:
            return self._existing(existing)
        password_hash = await self._hasher.hash(password)
        async with self._uow() as uow:
            created = await self._create(uow, normalized, password_hash)
            if created is None:
                existing = await uow.users.get_by_email(normalized)
                if existing is not None:  # another process created it meanwhile
                    return self._existing(existing)
                return Failure(conflict("no free username for the admin"))
            await uow.commit()
        return Success((created, True))

    @staticmethod
    def _existing(user: User) -> Result[tuple[User, bool], DomainError]:
        if not user.is_admin:
            return Failure(conflict("a user who is not an admin already has this email"))
        return Success((user, False))

    async def _create(self, uow: UnitOfWork, email: str, password_hash: str) -> User | None:
        user_id = self._ids.new_id()
        for username in (*USERNAMES, f"admin-{user_id[-8:]}"):
            user = User(id=user_id, email=email, username=username, password_hash=password_hash,
                        created_at=self._clock.now(), role=Role.ADMIN, quota=default_quota(Role.ADMIN))
            if await uow.users.add(user):
                await grant_signup_credits(uow, self._ids, user, self._policy.signup_credits)
                await self._audit.record(uow, None, "user.bootstrap_admin", "user", user.id,
                                         username=username)
                return user
            if await uow.users.get_by_email(email) is not None:
                return None
        return None

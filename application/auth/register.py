"""Sign up a new user."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.audit import AuditTrail
from application.policy import AuthPolicy
from domain.errors import DomainError, conflict
from domain.ledger import grant
from domain.ports import Clock, IdGenerator, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from domain.users import Role, User, check_email, check_password, check_username, default_quota


async def grant_signup_credits(uow: UnitOfWork, ids: IdGenerator, user: User, amount: int) -> None:
    if amount > 0:
        tx = grant(ids.new_id(), user.id, amount, user.created_at, memo="signup").unwrap()
        await uow.ledger.apply(tx)


class RegisterUser:
    """Create an account with the `user` role.

    - Email must be a valid address; it is stored lower-case and is unique regardless of case.
    - Username: 3-32 letters, digits, '_', '.' or '-', unique.
    - Password: 8-256 characters, stored only as an argon2id hash.
    - A taken email or username is 409 CONFLICT.
    - The new user gets the default `user` quota and the configured signup credits.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator, hasher: PasswordHasher,
                 audit: AuditTrail, policy: AuthPolicy) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._hasher = hasher
        self._audit = audit
        self._policy = policy

    async def __call__(self, email: str, username: str, password: str) -> Result[User, DomainError]:
        for check, value in ((check_email, email), (check_username, username), (check_password, password)):
            checked = check(value)
            if isinstance(checked, Failure):
                return Failure(checked.failure())
        user = User(
            id=self._ids.new_id(), email=check_email(email).unwrap(), username=username,
            password_hash=await self._hasher.hash(password), created_at=self._clock.now(),
            role=Role.USER, quota=default_quota(Role.USER),
        )
        async with self._uow() as uow:
            if not await uow.users.add(user):
                return Failure(conflict("an account with this email or username already exists"))
            await grant_signup_credits(uow, self._ids, user, self._policy.signup_credits)
            await self._audit.record(uow, user.id, "user.register", "user", user.id,
                                     username=user.username, signup_credits=self._policy.signup_credits)
            await uow.commit()
        return Success(user)

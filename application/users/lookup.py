"""Find a user by email (admins only): how operators name users on the command line."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.actor import Actor
from application.users.me import Profile, load_profile
from domain.errors import DomainError, forbidden, not_found
from domain.ports import Clock, UnitOfWorkFactory
from domain.users import normalize_email


class FindUserByEmail:
    """The user with this email (case-insensitive); admins only."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, actor: Actor, email: str) -> Result[Profile, DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        async with self._uow() as uow:
            user = await uow.users.get_by_email(normalize_email(email))
            if user is None:
                return Failure(not_found("user"))
            return Success(await load_profile(uow, user, self._clock.now()))

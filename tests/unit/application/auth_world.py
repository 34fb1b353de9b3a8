"""One in-memory pixrelay for the auth and user use cases: real token issuer, fast hasher,
manual clock (the rate limiter runs on it too)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from returns.result import Failure, Result

from adapters.memory.passwords import PlainTestPasswordHasher
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.session_cache import InMemorySessionCache
from adapters.memory.store import MemoryState
from adapters.memory.system import ManualClock, SeededRandom, SequentialIds
from adapters.memory.uow import InMemoryUnitOfWorkFactory
from adapters.security.tokens import JwtTokenIssuer
from application.audit import AuditTrail
from application.auth.authenticate import Authenticate, Principal
from application.auth.login import LogIn, LoginResult
from application.auth.refresh import RefreshSession
from application.auth.register import RegisterUser
from application.auth.sessions import ListSessions, LogOut, RevokeAllSessions, RevokeSession
from application.bootstrap_admin import EnsureAdmin
from application.policy import AuthPolicy
from application.users.admin import GrantCredits, ListUsers, UpdateUser
from application.users.me import GetProfile
from domain.errors import DomainError, ErrorCode
from domain.ports import SessionCache
from domain.users import User

T = TypeVar("T")
SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
PASSWORD = "correct horse battery"
ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin password 1"


def failure_code(result: Result[Any, DomainError]) -> ErrorCode:
    assert isinstance(result, Failure), result
    error: DomainError = result.failure()
    return error.code


class World:
    def __init__(self, runner: asyncio.Runner, policy: AuthPolicy | None = None,
                 cache: SessionCache | None = None) -> None:
        self._runner = runner
        self.policy = policy or AuthPolicy()
        self.clock = ManualClock()
        self.ids = SequentialIds()
        self.random = SeededRandom(7)
        self.hasher = PlainTestPasswordHasher()
        self.tokens = JwtTokenIssuer(SECRET)
        self.limiter = InMemoryRateLimiter(clock=lambda: self.clock.now().timestamp())
        self.uow = InMemoryUnitOfWorkFactory()
        self.cache = cache or InMemorySessionCache(clock=lambda: self.clock.now().timestamp())
        audit = AuditTrail(self.clock, self.ids)
        uow, clock, ids, cache = self.uow, self.clock, self.ids, self.cache
        self.register = RegisterUser(uow, clock, ids, self.hasher, audit, self.policy)
        self.login = LogIn(uow, clock, ids, self.random, self.hasher, self.tokens, self.limiter, audit,
                           self.policy)
        self.refresh = RefreshSession(uow, clock, self.random, self.tokens, audit, cache)
        self.authenticate = Authenticate(uow, clock, self.tokens, cache, self.policy)
        self.logout = LogOut(uow, clock, audit, cache)
        self.list_sessions = ListSessions(uow, clock)
        self.revoke_session = RevokeSession(uow, clock, audit, cache)
        self.revoke_all = RevokeAllSessions(uow, clock, audit, cache)
        self.profile = GetProfile(uow, clock)
        self.list_users = ListUsers(uow, clock)
        self.update_user = UpdateUser(uow, clock, audit, cache)
        self.grant_credits = GrantCredits(uow, clock, ids, audit)
        self.ensure_admin = EnsureAdmin(uow, clock, ids, self.hasher, audit, self.policy)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    @property
    def state(self) -> MemoryState:
        return self.uow.store.state

    def actions(self) -> list[str]:
        return [entry.action for entry in self.state.audit]

    def signup(self, email: str = "alice@example.com", username: str = "alice") -> User:
        return self.run(self.register(email, username, PASSWORD)).unwrap()

    def log_in(self, email: str = "alice@example.com", password: str = PASSWORD,
               client_ip: str = "10.0.0.1") -> LoginResult:
        return self.run(self.login(email, password, client_ip, user_agent="pytest")).unwrap()

    def principal(self, tokens: LoginResult) -> Principal:
        return self.run(self.authenticate(tokens.access_token)).unwrap()

    def admin(self) -> Principal:
        self.run(self.ensure_admin(ADMIN_EMAIL, ADMIN_PASSWORD)).unwrap()
        return self.principal(self.log_in(ADMIN_EMAIL, ADMIN_PASSWORD, client_ip="10.9.9.9"))

"""What a caller presents, checked in the same step as the work it asks for.

A request's signature and lifetime are checked at the edge (a JWT needs no database); what
only the database knows (the session not revoked, the user still active) is checked inside
the very statement that reads or writes for the request, so authentication costs no round
trip of its own and a revocation applies at once on every replica.

Kinds, and the rule each must meet at `now` (`grants`, which the SQL adapters mirror and
the round-trip hypothesis suite checks against this function):
- SESSION: `session_id` names a live session (not revoked, not expired) of `user_id`, and
  the user is active. What an access token presents.
- USER: the user is active. For callers inside the process that are trusted already (the
  CLI, the bench, tests, the pipeline acting for a user): no secret is presented.
- API_KEY: `key_id` names a live key (not revoked, not expired) of `user_id` whose stored
  hash equals `secret_hash`, whose scopes include `scope` (None: any key will do), and the
  user is active. What an API key presents on a route that checks it in its own step (the
  edge splits and hashes the key, no database read); `scope` is the route's, never `admin`
  (an admin route reads the key first, as the owner's role then matters).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from domain.api_keys import ApiKey, Scope
from domain.users import Session, User


class CredentialKind(StrEnum):
    SESSION = "session"
    USER = "user"
    API_KEY = "api_key"


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    kind: CredentialKind
    user_id: str
    session_id: str | None = None
    key_id: str | None = None
    secret_hash: str | None = None
    scope: Scope | None = None

    def __post_init__(self) -> None:
        if (self.kind is CredentialKind.SESSION) != (self.session_id is not None):
            raise ValueError("a session credential, and only one, names its session")
        is_key = self.kind is CredentialKind.API_KEY
        if is_key != (self.key_id is not None) or is_key != (self.secret_hash is not None):
            raise ValueError("an API key credential, and only one, names its key and secret hash")
        if self.scope is Scope.ADMIN or (self.scope is not None and not is_key):
            raise ValueError("only an API key credential names a scope, and never admin")

    @classmethod
    def of_session(cls, user_id: str, session_id: str) -> Credential:
        return cls(kind=CredentialKind.SESSION, user_id=user_id, session_id=session_id)

    @classmethod
    def of_user(cls, user_id: str) -> Credential:
        return cls(kind=CredentialKind.USER, user_id=user_id)

    @classmethod
    def of_api_key(cls, user_id: str, key_id: str, secret_hash: str, scope: Scope | None) -> Credential:
        return cls(kind=CredentialKind.API_KEY, user_id=user_id, key_id=key_id, secret_hash=secret_hash,
                   scope=scope)


def grants(credential: Credential, user: User | None, session: Session | None, now: datetime,
           api_key: ApiKey | None = None) -> bool:
    """Whether the credential lets its user act at `now`, given the stored user and (for a
    session credential) the stored session it names, (for a key credential) the stored key."""
    if user is None or user.id != credential.user_id or not user.is_active:
        return False
    if credential.kind is CredentialKind.USER:
        return True
    if credential.kind is CredentialKind.API_KEY:
        return (api_key is not None and api_key.id == credential.key_id
                and api_key.user_id == credential.user_id and api_key.secret_hash == credential.secret_hash
                and api_key.is_live(now) and (credential.scope is None or credential.scope in api_key.scopes))
    return (session is not None and session.id == credential.session_id
            and session.user_id == credential.user_id and session.is_live(now))

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
- API_KEY (issue 12, not built yet): `key_id` names a live key of `user_id` whose stored
  hash equals `secret_hash`, and the user is active. The seam: add the kind and its
  fields here, a branch to `grants`, and the same condition to the SQL adapters' credential
  check (adapters/sql/credentials.py), which every hot-path statement embeds.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from domain.users import Session, User


class CredentialKind(StrEnum):
    SESSION = "session"
    USER = "user"


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    kind: CredentialKind
    user_id: str
    session_id: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is CredentialKind.SESSION) != (self.session_id is not None):
            raise ValueError("a session credential, and only one, names its session")

    @classmethod
    def of_session(cls, user_id: str, session_id: str) -> Credential:
        return cls(kind=CredentialKind.SESSION, user_id=user_id, session_id=session_id)

    @classmethod
    def of_user(cls, user_id: str) -> Credential:
        return cls(kind=CredentialKind.USER, user_id=user_id)


def grants(credential: Credential, user: User | None, session: Session | None, now: datetime) -> bool:
    """Whether the credential lets its user act at `now`, given the stored user and (for a
    session credential) the stored session it names."""
    if user is None or user.id != credential.user_id or not user.is_active:
        return False
    if credential.kind is CredentialKind.USER:
        return True
    return (session is not None and session.id == credential.session_id
            and session.user_id == credential.user_id and session.is_live(now))

"""Who is calling: anything with a user id and an admin flag (the HTTP Principal fits)."""

from __future__ import annotations

from typing import Protocol

from domain.credentials import Credential, CredentialKind
from domain.errors import DomainError, not_found, unauthenticated


class Actor(Protocol):
    # Read-only members, so frozen Structs and `is_admin` properties satisfy it too
    # (a plain `user_id: str` would demand a settable attribute under mypy).
    @property
    def user_id(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...


def credential_of(actor: Actor) -> Credential:
    """What the actor presents: an HTTP caller's token names its session (Principal has a
    `credential`); a caller inside the process (CLI, bench, tests) is trusted as its user,
    whose being active is still checked."""
    presented = getattr(actor, "credential", None)
    return presented if isinstance(presented, Credential) else Credential.of_user(actor.user_id)


def refused(credential: Credential) -> DomainError:
    """What a credential that grants nothing gets: 401 for what a client presented; for a
    trusted caller, its user is missing or inactive (404)."""
    return not_found("user") if credential.kind is CredentialKind.USER else unauthenticated()

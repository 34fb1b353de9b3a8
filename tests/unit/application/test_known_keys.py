"""Reading an API key at the edge with no database read (application/auth/known_keys.py)."""

from __future__ import annotations

import pytest

from adapters.memory.system import ManualClock
from application.auth.known_keys import MAX_KNOWN_KEYS, KnownKeys, ReadApiKey
from domain.api_keys import LAST_USED_RESOLUTION, Scope, compose_key, hash_key_secret
from domain.credentials import Credential, CredentialKind

SECRET = "s" * 32
KEY = compose_key("k1", SECRET)


def known(clock: ManualClock) -> KnownKeys:
    keys = KnownKeys(clock)
    keys.learn("k1", "alice", hash_key_secret(SECRET), frozenset({Scope.JOBS_READ}))
    return keys


def test_a_known_key_gives_a_principal_whose_credential_the_step_checks_whole() -> None:
    read = ReadApiKey(known(ManualClock()))
    principal = read(KEY, Scope.JOBS_READ)
    assert principal is not None
    assert (principal.user_id, principal.api_key_id, principal.is_admin) == ("alice", "k1", False)
    assert principal.credential == Credential.of_api_key("alice", "k1", hash_key_secret(SECRET), Scope.JOBS_READ)


def test_an_unknown_key_a_different_secret_a_malformed_key_or_an_admin_route_need_the_read() -> None:
    read = ReadApiKey(known(ManualClock()))
    assert read(compose_key("k2", SECRET), Scope.JOBS_READ) is None
    assert read(compose_key("k1", "t" * 32), Scope.JOBS_READ) is None
    assert read("pxr_nope", Scope.JOBS_READ) is None
    assert read(KEY, Scope.ADMIN) is None


def test_a_key_is_trusted_for_a_minute_then_read_again_and_the_memory_is_bounded() -> None:
    clock = ManualClock()
    keys = known(clock)
    clock.advance(LAST_USED_RESOLUTION.total_seconds() - 1)
    assert keys.get("k1") is not None
    clock.advance(1)
    assert keys.get("k1") is None
    for n in range(MAX_KNOWN_KEYS + 1):
        keys.learn(f"k{n}", "alice", "h", frozenset())
    assert keys.get("k0") is None and keys.get(f"k{MAX_KNOWN_KEYS}") is not None


def test_a_key_credential_names_its_key_and_never_the_admin_scope() -> None:
    with pytest.raises(ValueError, match="admin"):
        Credential.of_api_key("alice", "k1", "h", Scope.ADMIN)
    with pytest.raises(ValueError, match="key"):
        Credential(kind=CredentialKind.USER, user_id="alice", key_id="k1")

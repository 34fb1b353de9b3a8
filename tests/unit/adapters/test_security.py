"""Access tokens refuse every forgery and mistake; passwords are argon2id at OWASP strength."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import argon2
import jwt
import pytest
from returns.result import Failure, Success

from adapters.memory.passwords import PlainTestPasswordHasher
from adapters.security import Argon2PasswordHasher, JwtTokenIssuer
from domain.errors import ErrorCode
from domain.users import AccessClaims, Role

SECRET = "a-test-secret-long-enough-even-for-hs512-forgeries-0123456789abcdef"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
issuer = JwtTokenIssuer(SECRET)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj).encode())


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": "pixrelay", "aud": "pixrelay-api", "sub": "u1", "sid": "s1",
                            "role": "user", "iat": T, "exp": T + 900}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def unsigned() -> str:
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."


def rs256_header_signed_with_the_secret() -> str:
    signing_input = f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(claims())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tampered_payload() -> str:
    header, _, signature = hs256(claims()).split(".")
    return f"{header}.{segment(claims(role='admin'))}.{signature}"


def tampered_signature() -> str:
    token = hs256(claims())
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


FORGERIES: dict[str, Callable[[], str]] = {
    "alg none": unsigned,
    "HS512 with the same secret": lambda: jwt.encode(claims(), SECRET, algorithm="HS512"),
    "RS256 header, HMAC signature": rs256_header_signed_with_the_secret,
    "other secret": lambda: hs256(claims(), secret="another-secret-of-at-least-thirty-two-bytes"),
    "wrong audience": lambda: hs256(claims(aud="someone-else")),
    "wrong issuer": lambda: hs256(claims(iss="evil")),
    "expired": lambda: hs256(claims(iat=T - 1000, exp=T - 60)),
    "iat in the future beyond leeway": lambda: hs256(claims(iat=T + 120, exp=T + 1020)),
    "nbf in the future": lambda: hs256(claims(nbf=T + 120)),
    "tampered payload": tampered_payload,
    "tampered signature": tampered_signature,
    "missing sid": lambda: hs256(claims(sid=None)),
    "missing sub": lambda: hs256(claims(sub=None)),
    "missing exp": lambda: hs256(claims(exp=None)),
    "missing iat": lambda: hs256(claims(iat=None)),
    "missing aud": lambda: hs256(claims(aud=None)),
    "missing iss": lambda: hs256(claims(iss=None)),
    "unknown role": lambda: hs256(claims(role="root")),
    "empty sid": lambda: hs256(claims(sid="")),
    "exp not a number": lambda: hs256(claims(exp="tomorrow")),
    "garbage": lambda: "not-a-token",
    "empty": lambda: "",
    "three dots of garbage": lambda: "a.b.c",
}


@pytest.mark.parametrize("make", FORGERIES.values(), ids=FORGERIES.keys())
def test_every_bad_token_is_unauthenticated(make: Callable[[], str]) -> None:
    result = issuer.verify(make(), NOW)

    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.UNAUTHENTICATED


def test_an_issued_token_verifies_against_the_callers_clock() -> None:
    token, ttl = issuer.issue("u1", "s1", Role.ADMIN, NOW)

    assert ttl == 900
    assert issuer.verify(token, NOW) == Success(AccessClaims("u1", "s1", Role.ADMIN, NOW + timedelta(seconds=900)))
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert isinstance(issuer.verify(token, NOW + timedelta(seconds=905)), Success)  # within leeway
    assert isinstance(issuer.verify(token, NOW + timedelta(seconds=911)), Failure)


def test_the_hand_built_valid_token_passes_so_the_forgeries_fail_for_their_flaw() -> None:
    assert isinstance(issuer.verify(hs256(claims()), NOW), Success)


def test_a_remembered_token_is_still_checked_against_the_clock_and_forgeries_of_it_fail() -> None:
    remembering = JwtTokenIssuer(SECRET)
    token = hs256(claims(nbf=T + 5))
    assert isinstance(remembering.verify(token, NOW + timedelta(seconds=60)), Success)  # now remembered
    assert isinstance(remembering.verify(token, NOW - timedelta(seconds=30)), Failure)  # not yet valid
    assert isinstance(remembering.verify(token, NOW + timedelta(seconds=911)), Failure)  # expired since
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x", " " + token):
        assert isinstance(remembering.verify(forged, NOW + timedelta(seconds=60)), Failure)
    assert isinstance(remembering.verify(token, NOW + timedelta(seconds=60)), Success)


def test_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.security.tokens.VERIFIED_TOKENS", 3)
    remembering = JwtTokenIssuer(SECRET)
    tokens = [hs256(claims(sid=f"s{i}")) for i in range(5)]
    for token in tokens:
        assert isinstance(remembering.verify(token, NOW), Success)
    assert list(remembering._verified) == tokens[2:]
    assert isinstance(remembering.verify(tokens[0], NOW), Success)  # checked afresh, still valid


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        JwtTokenIssuer("too-short")


# ------------------------------------------------------------------ passwords


@pytest.fixture(scope="module")
def argon() -> Argon2PasswordHasher:
    return Argon2PasswordHasher()


def test_argon2_hashes_verify_only_the_right_password(argon: Argon2PasswordHasher) -> None:
    async def scenario() -> None:
        stored = await argon.hash("correct horse")

        assert await argon.verify(stored, "correct horse")
        assert not await argon.verify(stored, "correct horsE")
        assert not await argon.verify("not a hash", "correct horse")
        assert await argon.hash("correct horse") != stored  # salted

    asyncio.run(scenario())


def test_argon2_hashes_are_argon2id_at_owasp_strength_or_above(argon: Argon2PasswordHasher) -> None:
    stored = asyncio.run(argon.hash("correct horse"))

    found = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert found, stored
    memory, time_cost, lanes = map(int, found.groups())
    assert memory >= 19456 and time_cost >= 2 and lanes >= 1
    assert not argon.needs_rehash(stored)


def test_weaker_argon2_parameters_are_refused() -> None:
    weak = argon2.Parameters(type=argon2.Type.ID, version=19, salt_len=16, hash_len=32,
                             time_cost=1, memory_cost=8192, parallelism=1)
    with pytest.raises(ValueError, match="argon2id"):
        Argon2PasswordHasher(weak)
    with pytest.raises(ValueError, match="argon2id"):
        Argon2PasswordHasher(argon2.Parameters(type=argon2.Type.I, version=19, salt_len=16, hash_len=32,
                                               time_cost=3, memory_cost=65536, parallelism=4))


def test_old_weak_hashes_still_verify_and_ask_for_a_rehash(argon: Argon2PasswordHasher) -> None:
    old = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")

    assert asyncio.run(argon.verify(old, "correct horse"))
    assert argon.needs_rehash(old)


def test_the_test_hasher_is_salted_and_checks_the_password() -> None:
    async def scenario() -> None:
        hasher = PlainTestPasswordHasher()
        stored = await hasher.hash("pw-123456")

        assert await hasher.verify(stored, "pw-123456") and not await hasher.verify(stored, "pw-1234567")
        assert await hasher.hash("pw-123456") != stored
        assert not await hasher.verify("garbage", "pw-123456")
        assert not await hasher.verify(argon2.PasswordHasher().hash("pw-123456"), "pw-123456")

    asyncio.run(scenario())

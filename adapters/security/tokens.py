"""Short-lived HS256 access tokens (PyJWT) that name the user, the session and the role."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, unauthenticated
from domain.users import AccessClaims, Role

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "aud", "iss", "sub", "sid"]
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash output
VERIFIED_TOKENS = 10_000

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Timestamp = Annotated[int, msgspec.Meta(ge=0, lt=253402300800)]  # before year 10000


class _Claims(msgspec.Struct, frozen=True):
    sub: NonEmpty
    sid: NonEmpty
    role: Role
    iat: Timestamp
    exp: Timestamp
    nbf: Timestamp | None = None


class JwtTokenIssuer:
    """Time claims are checked against the `now` the caller passes (the application clock),
    so PyJWT's own wall-clock checks are switched off and done here instead.

    A token whose signature and claims checked out is remembered by its exact string
    (bounded, least recently used forgotten first): its signature cannot stop being valid,
    so the next request with it skips PyJWT (about a third of a read's CPU); its time claims
    are checked again on every call, and what only the database knows (the session not
    revoked) is checked by the request's own statement. Failures are not remembered."""

    def __init__(self, secret: str, issuer: str = "pixrelay", audience: str = "pixrelay-api",
                 ttl_seconds: int = 900, leeway_seconds: int = 10) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl_seconds <= 0 or leeway_seconds < 0:
            raise ValueError("ttl_seconds must be positive and leeway_seconds not negative")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._leeway = leeway_seconds
        self._verified: OrderedDict[str, _Claims] = OrderedDict()

    def issue(self, user_id: str, session_id: str, role: Role, now: datetime) -> tuple[str, int]:
        issued = int(now.timestamp())
        payload = {
            "iss": self._issuer, "aud": self._audience, "sub": user_id, "sid": session_id,
            "role": str(role), "iat": issued, "exp": issued + self._ttl,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), self._ttl

    def verify(self, token: str, now: datetime) -> Result[AccessClaims, DomainError]:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token)
            if claims is None:
                return Failure(unauthenticated())
            self._verified[token] = claims
            if len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        else:
            self._verified.move_to_end(token)
        moment = now.timestamp()
        if (claims.exp <= moment - self._leeway or claims.iat > moment + self._leeway
                or (claims.nbf is not None and claims.nbf > moment + self._leeway)):
            return Failure(unauthenticated())
        return Success(AccessClaims(claims.sub, claims.sid, claims.role,
                                    datetime.fromtimestamp(claims.exp, UTC)))

    def _decode(self, token: str) -> _Claims | None:
        try:
            payload: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False},
            )
            return msgspec.convert(payload, _Claims)
        except (jwt.PyJWTError, msgspec.ValidationError):
            return None

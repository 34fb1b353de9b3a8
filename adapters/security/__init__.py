"""Password hashing and access tokens: argon2id and HS256 JWTs."""

from adapters.security.passwords import Argon2PasswordHasher
from adapters.security.tokens import JwtTokenIssuer

__all__ = ["Argon2PasswordHasher", "JwtTokenIssuer"]

"""Provider account secrets at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a
key from configuration. Stored values carry a prefix, so plain values written before
encryption was configured still read (and are sealed on their next write)."""

from __future__ import annotations

from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:"


class SecretBox(Protocol):
    def seal(self, plain: str) -> str: ...
    def open(self, stored: str) -> str: ...


class FernetSecretBox:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as error:
            raise ValueError("the secrets key must be 32 url-safe base64-encoded bytes") from error

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as error:
            raise ValueError("a provider secret cannot be decrypted: is PIXRELAY_SECRETS_KEY the one "
                             "it was sealed with?") from error


class PlainSecretBox:
    """No encryption: tests that look at raw rows, and nothing else."""

    def seal(self, plain: str) -> str:
        return plain

    def open(self, stored: str) -> str:
        return stored

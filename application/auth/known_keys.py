"""Read an API key at the edge, with no database read, for a route that checks the key in
its own step (issue 12).

A key's owner, secret hash and scopes never change once it is made; whether it is still
live, and whether its owner is still active, do, and only the database knows. So each
process remembers what never changes about the keys it has seen (AuthenticateKey, after
its read, tells `KnownKeys`), and a route whose statement embeds the credential check
(adapters/sql/credentials.py, API_KEY) builds its caller from the key string alone.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

import msgspec

from application.auth.authenticate import Principal
from domain.api_keys import LAST_USED_RESOLUTION, Scope, hash_key_secret, split_key
from domain.ports import Clock
from domain.users import Role

MAX_KNOWN_KEYS = 10_000


class KnownKey(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    secret_hash: str
    scopes: frozenset[Scope]
    seen_at: datetime


class KnownKeys:
    """Per process, bounded (least recently learnt forgotten first): key id -> what never
    changes about the key. An entry is trusted for LAST_USED_RESOLUTION only, so a key in
    use is read (and its `last_used_at` written) by AuthenticateKey about once a minute per
    process, never per request."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: OrderedDict[str, KnownKey] = OrderedDict()

    def learn(self, key_id: str, user_id: str, secret_hash: str, scopes: frozenset[Scope]) -> None:
        self._keys.pop(key_id, None)
        self._keys[key_id] = KnownKey(user_id=user_id, secret_hash=secret_hash, scopes=scopes,
                                      seen_at=self._clock.now())
        while len(self._keys) > MAX_KNOWN_KEYS:
            self._keys.popitem(last=False)

    def get(self, key_id: str) -> KnownKey | None:
        known = self._keys.get(key_id)
        if known is None or self._clock.now() - known.seen_at >= LAST_USED_RESOLUTION:
            return None
        return known


class ReadApiKey:
    """Read an API key without the database, for a route that checks it in its own step.

    - The key must be well formed and known to this process with the same secret hash;
      otherwise (None) the caller is checked by AuthenticateKey's read, which also counts
      wrong keys against the client's limit.
    - The Principal carries the key's id, secret hash and the scope the route needs; the
      route's statement checks the key live, its hash, that scope and the owner active
      (domain/credentials.py API_KEY), so a revoked key is refused at once.
    - Its role is not known here (USER): such routes never depend on it, and admin routes
      are not checked this way.
    """

    def __init__(self, known: KnownKeys) -> None:
        self._known = known

    def __call__(self, key: str, scope: Scope | None) -> Principal | None:
        parts = split_key(key)
        if parts is None or scope is Scope.ADMIN:
            return None
        key_id, secret = parts
        known = self._known.get(key_id)
        secret_hash = hash_key_secret(secret)
        if known is None or known.secret_hash != secret_hash:
            return None
        return Principal(known.user_id, "", Role.USER, api_key_id=key_id, scopes=known.scopes,
                         key_secret_hash=secret_hash, key_scope=scope)

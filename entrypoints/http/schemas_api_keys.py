"""Bodies of the API key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from application.api_keys.manage import MAX_NAME, NAME_PATTERN, KeyRequest, NewKey
from domain.api_keys import ApiKey, Scope
from entrypoints.http.schemas_common import In, utc, utc_or_none

KEY_EXAMPLE = "pxr_0192f0c1a2b3c4d5e6f7a8b9_8mN1qv0Zr3xY7tLwKp2sD9fG4hJ6kA5bC1eQ0uV3wXo"
PREFIX_EXAMPLE = "pxr_0192f0c1a2b3c4d5e6f7a8b9_8mN1"
ID_EXAMPLE = "0192f0c1a2b3c4d5e6f7a8b9"
WHEN = "2027-01-01T00:00:00Z"


class ApiKeyIn(In, frozen=True):
    name: Annotated[str, Meta(max_length=MAX_NAME, pattern=NAME_PATTERN, examples=["render backend"],
                              description="not blank, no control or invisible characters; kept trimmed")]
    scopes: Annotated[list[Scope], Meta(min_length=1, max_length=len(Scope), examples=[["jobs:read", "jobs:write"]],
                                        description="default: every scope the key's owner may give")] | None = None
    expires_at: Annotated[datetime, Meta(tz=True, examples=[WHEN],
                                         description="in the future; without it the key lasts until revoked")
                          ] | None = None

    def to_request(self) -> KeyRequest:
        scopes = None if self.scopes is None else [str(s) for s in self.scopes]
        return KeyRequest(name=self.name, scopes=scopes, expires_at=self.expires_at)


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: Annotated[str, Meta(examples=[ID_EXAMPLE])]
    name: Annotated[str, Meta(examples=["render backend"])]
    prefix: Annotated[str, Meta(examples=[PREFIX_EXAMPLE], description="the start of the key, safe to show")]
    scopes: Annotated[list[str], Meta(examples=[["jobs:read", "jobs:write"]])]
    expires_at: datetime | None
    created_at: Annotated[datetime, Meta(examples=["2026-12-03T08:00:00Z"])]
    last_used_at: Annotated[datetime | None, Meta(description="exact to a minute")]
    user_id: Annotated[str, Meta(examples=["0192f0b9aa00112233445566"])]


class NewApiKeyOut(ApiKeyOut, kw_only=True):
    key: Annotated[str, Meta(examples=[KEY_EXAMPLE],
                             description="the whole key, shown this once: send it as `Authorization: Bearer <key>`")]


class ApiKeyList(msgspec.Struct, kw_only=True):
    items: list[ApiKeyOut]
    next_cursor: str | None = None


def _fields(key: ApiKey) -> dict[str, object]:
    return dict(id=key.id, name=key.name, prefix=key.prefix, scopes=[str(s) for s in key.scopes],
                expires_at=utc_or_none(key.expires_at), created_at=utc(key.created_at),
                last_used_at=utc_or_none(key.last_used_at), user_id=key.user_id)


def api_key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(**_fields(key))  # type: ignore[arg-type]


def new_api_key_out(made: NewKey) -> NewApiKeyOut:
    return NewApiKeyOut(**_fields(made.key), key=made.secret_key)  # type: ignore[arg-type]

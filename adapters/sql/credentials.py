"""The credential check every hot-path statement embeds: the SQL form of
domain/credentials.py `grants`, for the row `u` of the users table.

Parameters: %(cred_user_id)s, %(cred_session_id)s, %(cred_key_id)s, %(cred_secret_hash)s,
%(cred_scope)s, %(cred_now)s. A new credential kind adds its condition here and its fields to
`credential_args`.

An API key's scope is matched in the stored JSON array's text (`"jobs:write"`, quotes
included, so one scope cannot match inside another; scope names hold no LIKE wildcard),
which reads the same on Postgres (jsonb) and SQLite (JSON text).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.credentials import Credential, CredentialKind

_USER = "u.id = %(cred_user_id)s::text AND u.is_active"

CONDITIONS: dict[CredentialKind, str] = {
    CredentialKind.USER: _USER,
    CredentialKind.SESSION: (
        _USER + " AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = %(cred_session_id)s::text"
        " AND s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > %(cred_now)s::timestamptz)"
    ),
    CredentialKind.API_KEY: (
        _USER + " AND EXISTS (SELECT 1 FROM api_keys k WHERE k.id = %(cred_key_id)s::text"
        " AND k.user_id = u.id AND k.secret_hash = %(cred_secret_hash)s::text AND k.revoked_at IS NULL"
        " AND (k.expires_at IS NULL OR k.expires_at > %(cred_now)s::timestamptz)"
        " AND (%(cred_scope)s::text IS NULL OR CAST(k.scopes AS TEXT) LIKE %(cred_scope)s::text))"
    ),
}


def credential_args(credential: Credential, now: datetime) -> dict[str, Any]:
    scope = None if credential.scope is None else f'%"{credential.scope.value}"%'
    return {"cred_user_id": credential.user_id, "cred_session_id": credential.session_id,
            "cred_key_id": credential.key_id, "cred_secret_hash": credential.secret_hash,
            "cred_scope": scope, "cred_now": now}

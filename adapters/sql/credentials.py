"""The credential check every hot-path statement embeds: the SQL form of
domain/credentials.py `grants`, for the row `u` of the users table.

Parameters: %(cred_user_id)s, %(cred_session_id)s, %(cred_now)s. A new credential kind (API
keys, issue 12) adds its condition here and its fields to `credential_args`.
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
}


def credential_args(credential: Credential, now: datetime) -> dict[str, Any]:
    return {"cred_user_id": credential.user_id, "cred_session_id": credential.session_id, "cred_now": now}

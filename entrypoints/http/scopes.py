"""What an API key needs to call a route: a scope per area of the API, read or write.

Deny by default: a key may call only the areas listed here. The rest (signing in and out,
sessions, API keys themselves, the password) needs a signed-in session, so a leaked key
cannot mint more keys or lock its owner out. A handler may name its scope in
`opt={"scope": ...}` instead.
"""

from __future__ import annotations

from domain.api_keys import Scope

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANY_KEY = "any"

# path prefix -> (scope to read, scope to write); ANY_KEY: every key may call it
RULES: tuple[tuple[str, Scope | str, Scope | str], ...] = (
    ("/v1/jobs", Scope.JOBS_READ, Scope.JOBS_WRITE),
    ("/v1/assets", Scope.ASSETS_READ, Scope.ASSETS_WRITE),
    ("/v1/accounts", Scope.ACCOUNTS_READ, Scope.ACCOUNTS_WRITE),
    ("/v1/admin", Scope.ADMIN, Scope.ADMIN),
    ("/v1/providers", ANY_KEY, ANY_KEY),
    ("/v1/models", ANY_KEY, ANY_KEY),
    ("/v1/users/me", ANY_KEY, ANY_KEY),
    ("/openai/v1/images", Scope.JOBS_READ, Scope.JOBS_WRITE),  # edits also need assets:write
    ("/openai/v1/models", ANY_KEY, ANY_KEY),
)


def required_scope(method: str, path: str, override: object = None) -> Scope | str | None:
    """The scope a key needs here, ANY_KEY, or None when keys may not call the route."""
    if isinstance(override, Scope | str):
        return override
    for prefix, read, write in RULES:
        if path == prefix or path.startswith(prefix + "/"):
            return read if method.upper() in READ_METHODS else write
    return None

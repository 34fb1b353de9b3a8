"""Who is calling: anything with a user id and an admin flag (the HTTP Principal fits)."""

from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    # Read-only members, so frozen Structs and `is_admin` properties satisfy it too
    # (a plain `user_id: str` would demand a settable attribute under mypy).
    @property
    def user_id(self) -> str: ...

    @property
    def is_admin(self) -> bool: ...

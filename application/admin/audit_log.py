"""Read the audit log."""

from __future__ import annotations

from returns.result import Failure, Result, Success

from application.actor import Actor
from domain.audit import AuditEntry, AuditFilter
from domain.errors import DomainError, forbidden, validation
from domain.pagination import Page, clamp_limit, decode_cursor
from domain.ports import UnitOfWorkFactory


class ListAudit:
    """Audit entries, newest first (admin only, else FORBIDDEN).

    - Filters: actor, action, resource type and id, time range [since, until) with time zones.
    - `limit` is clamped to 1..100; a malformed cursor, or `since` after `until`, is a
      VALIDATION_ERROR.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, actor: Actor, where: AuditFilter | None = None, cursor: str | None = None,
                       limit: int | None = None) -> Result[Page[AuditEntry], DomainError]:
        if not actor.is_admin:
            return Failure(forbidden())
        where = where or AuditFilter()
        for name, moment in (("since", where.since), ("until", where.until)):
            if moment is not None and moment.utcoffset() is None:
                return Failure(validation(f"{name} needs a time zone (RFC 3339)", name))
        if where.since is not None and where.until is not None and where.since > where.until:
            return Failure(validation("since must not be after until", "since"))
        after = decode_cursor(cursor)
        if isinstance(after, ValueError):
            return Failure(validation(str(after), "cursor"))
        async with self._uow() as uow:
            return Success(await uow.audit.page(where, after, clamp_limit(limit)))

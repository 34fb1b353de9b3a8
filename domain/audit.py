"""Audit entries: who changed what, when. One per state change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    at: datetime
    actor_id: str | None  # None for the system (workers, bootstrap)
    action: str  # e.g. "job.create", "account.update", "user.grant_credits"
    resource_type: str
    resource_id: str
    details: dict[str, Any] = {}


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, entry: AuditEntry) -> bool:
        return (
            (self.actor_id is None or entry.actor_id == self.actor_id)
            and (self.action is None or entry.action == self.action)
            and (self.resource_type is None or entry.resource_type == self.resource_type)
            and (self.resource_id is None or entry.resource_id == self.resource_id)
            and (self.since is None or entry.at >= self.since)
            and (self.until is None or entry.at < self.until)
        )

"""The state behind the in-memory unit of work: tables of frozen domain values.

A unit of work holds the store's lock for its whole life (transactions are serial). Every
dict and list field becomes a journaled `Table` or `Rows` (adapters/memory/journal.py):
writes remember what they overwrote, and leaving without commit() puts it back, at a cost
proportional to what the transaction wrote, never to the size of the store. A few indexes
keep the lookups the pipeline makes on every step (due jobs, idempotency keys, a job's
submissions, an owner's bytes) from scanning every row.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from adapters.memory.journal import Journal, Rows, Table
from domain.accounts import ProviderAccount
from domain.api_keys import ApiKey
from domain.assets import Asset, ProviderUpload
from domain.audit import AuditEntry
from domain.jobs import Job
from domain.ledger import CreditBalance, CreditHold, LedgerTransaction
from domain.lineage import LineageEdge
from domain.models import ModelRecord
from domain.outbound import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from domain.providers import ProviderSubmission
from domain.quotas import DailyUsage
from domain.users import Session, User


@dataclass
class MemoryState:
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    submissions: dict[str, ProviderSubmission] = field(default_factory=dict)
    accounts: dict[str, ProviderAccount] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    uploads: dict[tuple[str, str], ProviderUpload] = field(default_factory=dict)
    edges: dict[tuple[str, str], LineageEdge] = field(default_factory=dict)
    transactions: list[LedgerTransaction] = field(default_factory=list)
    balances: dict[str, CreditBalance] = field(default_factory=dict)
    holds: dict[str, CreditHold] = field(default_factory=dict)
    usage: dict[tuple[str, date], DailyUsage] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    webhooks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    hook_endpoints: dict[str, WebhookEndpoint] = field(default_factory=dict)
    hook_keys: dict[str, str] = field(default_factory=dict)
    hook_deliveries: dict[str, WebhookDelivery] = field(default_factory=dict)
    hook_attempts: list[DeliveryAttempt] = field(default_factory=list)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)
    models: dict[str, ModelRecord] = field(default_factory=dict)

    journal: Journal = field(default_factory=Journal, repr=False, compare=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict) and not isinstance(value, Table):
                setattr(self, f.name, Table(f.name, self.journal, value.items()))
            elif isinstance(value, list) and not isinstance(value, Rows):
                setattr(self, f.name, Rows(f.name, self.journal, value))
        self._others = [f.name for f in fields(self) if f.name != "journal"
                        and not isinstance(getattr(self, f.name), Table | Rows)]
        self._index()

    def _index(self) -> None:
        """Lookups that must not scan a growing table (each mirrors a SQL index)."""
        self.tables["jobs"].add_index("open", lambda j: j.status if not j.is_terminal else None)
        self.tables["jobs"].add_index("open_children", lambda j: j.parent_job_id if not j.is_terminal else None)
        self.tables["jobs"].add_index(
            "idempotency", lambda j: (j.user_id, j.idempotency_key) if j.idempotency_key is not None else None)
        self.tables["submissions"].add_index("job", lambda s: s.job_id)
        self.tables["assets"].add_index("sha", lambda a: (a.owner_id, a.sha256) if not a.is_deleted else None)

    def lookup(self, table: str, index: str, key: Any) -> list[Any]:
        """The rows of `table` whose `index` key is `key` (see _index)."""
        found: list[Any] = getattr(self, table).indexed(index, key)
        return found

    @property
    def tables(self) -> dict[str, Table[Any, Any]]:
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Table)}

    def snapshot_others(self) -> dict[str, Any]:
        """Fields that are neither dicts nor lists (none today) are snapshotted whole."""
        return {name: copy.copy(getattr(self, name)) for name in self._others}

    def restore_others(self, snapshot: dict[str, Any]) -> None:
        for name, value in snapshot.items():
            setattr(self, name, value)


class InMemoryStore:
    """One database: share it between unit-of-work factories to share data."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.lock = asyncio.Lock()

"""The state behind the in-memory unit of work: plain dicts of frozen domain values.

A unit of work holds the store's lock for its whole life (transactions are serial) and
snapshots the dicts on entry; leaving without commit() puts the snapshot back. Values are
frozen Structs, so shallow copies of the dicts are real snapshots.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from domain.accounts import ProviderAccount
from domain.api_keys import ApiKey
from domain.assets import Asset, ProviderUpload
from domain.audit import AuditEntry
from domain.jobs import Job
from domain.ledger import CreditBalance, CreditHold, LedgerTransaction
from domain.lineage import LineageEdge
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

    def snapshot(self) -> MemoryState:
        return MemoryState(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})

    def restore(self, snapshot: MemoryState) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(snapshot, f.name))


class InMemoryStore:
    """One database: share it between unit-of-work factories to share data."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.lock = asyncio.Lock()

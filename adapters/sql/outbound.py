"""Outbound webhooks in SQL: endpoints (secrets sealed), the delivery outbox and its attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import (
    Integer,
    Row,
    String,
    delete,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.security.secret_box import PlainSecretBox, SecretBox
from adapters.sql.dialect import insert_or_ignore, utc
from adapters.sql.jobs import SqlJobRepository
from adapters.sql.paging import keyset_page
from adapters.sql.rows import as_dict, convert
from adapters.sql.tables import (
    outbound_attempts,
    outbound_deliveries,
    webhook_endpoints,
    webhook_signing_keys,
)
from domain.jobs import Job
from domain.outbound import (
    EVENT_BITS,
    DeliveryAttempt,
    DeliveryStatus,
    TerminalJob,
    WebhookDelivery,
    WebhookEndpoint,
    delivery_id,
    terminal_job,
)
from domain.pagination import Cursor, Page

PENDING = str(DeliveryStatus.PENDING)
SECRET_FIELDS = ("secret", "previous_secret")


class SqlWebhookEndpointRepository:
    def __init__(self, conn: AsyncConnection, box: SecretBox | None = None) -> None:
        self._conn = conn
        self._box = box or PlainSecretBox()

    def _values(self, endpoint: WebhookEndpoint) -> dict[str, Any]:
        values: dict[str, Any] = msgspec.to_builtins(endpoint, builtin_types=(datetime,))
        values["event_mask"] = endpoint.event_mask
        for name in SECRET_FIELDS:
            if values[name] is not None:
                values[name] = self._box.seal(values[name])
        return values

    def _endpoint(self, row: Row[Any]) -> WebhookEndpoint:
        values = as_dict(row)
        values.pop("event_mask", None)
        for name in SECRET_FIELDS:
            if values[name] is not None:
                values[name] = self._box.open(values[name])
        return msgspec.convert(values, WebhookEndpoint)

    async def add(self, endpoint: WebhookEndpoint) -> None:
        await self._conn.execute(webhook_endpoints.insert().values(self._values(endpoint)))

    async def get(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = (await self._conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))).first()
        return None if row is None else self._endpoint(row)

    async def for_user(self, user_id: str) -> list[WebhookEndpoint]:
        rows = await self._conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.user_id == user_id)
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id))
        return [self._endpoint(row) for row in rows]

    async def update(self, endpoint: WebhookEndpoint) -> None:
        values = self._values(endpoint)
        for fixed in ("id", "user_id", "created_at"):
            del values[fixed]
        await self._conn.execute(
            update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id).values(values))

    async def delete(self, endpoint_id: str) -> bool:
        mine = select(outbound_deliveries.c.id).where(outbound_deliveries.c.endpoint_id == endpoint_id)
        await self._conn.execute(delete(outbound_attempts).where(outbound_attempts.c.delivery_id.in_(mine)))
        await self._conn.execute(delete(outbound_deliveries).where(outbound_deliveries.c.endpoint_id == endpoint_id))
        gone = await self._conn.execute(
            delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).returning(webhook_endpoints.c.id))
        return gone.first() is not None

    async def record_success(self, endpoint_id: str) -> None:
        await self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.failing_since.is_not(None))
            .values(failing_since=None))

    async def record_failure(self, endpoint_id: str, now: datetime, disable_before: datetime,
                             reason: str) -> bool:
        """Two conditional statements: concurrent outcomes never move `failing_since` later,
        and only one of them disables the endpoint."""
        c = webhook_endpoints.c
        await self._conn.execute(update(webhook_endpoints).where(c.id == endpoint_id, c.failing_since.is_(None))
                                 .values(failing_since=now))
        disabled = await self._conn.execute(
            update(webhook_endpoints)
            .where(c.id == endpoint_id, c.disabled_at.is_(None), c.failing_since <= disable_before)
            .values(disabled_at=now, disabled_reason=reason).returning(c.id))
        return disabled.first() is not None

    async def signing_key(self, user_id: str, candidate: str, now: datetime) -> str:
        await self._conn.execute(insert_or_ignore(self._conn, webhook_signing_keys).values(
            user_id=user_id, secret=self._box.seal(candidate), created_at=now))
        stored = (await self._conn.execute(
            select(webhook_signing_keys.c.secret).where(webhook_signing_keys.c.user_id == user_id))).scalar_one()
        return self._box.open(stored)


DELIVERY_COLUMNS = ("id", "message_id", "user_id", "endpoint_id", "url", "job_id", "event_type",
                    "created_at", "status", "attempts", "next_attempt_at")


class SqlWebhookDeliveryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(self, ended: Sequence[TerminalJob]) -> None:
        """INSERT ... SELECT over the users' enabled endpoints that take each event (the
        events are bits: one `&`), UNION ALL a literal row per job webhook that wants it."""
        parts: list[Any] = []
        e = webhook_endpoints.c
        for job in ended:
            parts.append(
                select(literal("dlv_" + job.job_id + "_", String()) + e.id, literal(job.message_id, String()),
                       e.user_id, e.id, null(), literal(job.job_id, String()), literal(str(job.event), String()),
                       utc(job.at), literal(PENDING, String()), literal(0, Integer()), utc(job.at))
                .where(e.user_id == job.user_id, e.disabled_at.is_(None),
                       e.event_mask.op("&")(EVENT_BITS[job.event]) != 0))
            if job.wants_job_webhook:
                parts.append(select(
                    literal(delivery_id(job.job_id, None), String()), literal(job.message_id, String()),
                    literal(job.user_id, String()), null(), literal(job.webhook_url, String()),
                    literal(job.job_id, String()), literal(str(job.event), String()), utc(job.at),
                    literal(PENDING, String()), literal(0, Integer()), utc(job.at)).where(true()))
        if not parts:
            return
        combine: Any = union_all  # typed loosely: mypy 2.4 crashes expanding its signature here
        source = parts[0] if len(parts) == 1 else combine(*parts)
        columns = [outbound_deliveries.c[name] for name in DELIVERY_COLUMNS]
        # ON CONFLICT: ids are made of job and endpoint, so a second save of an ended job adds nothing
        await self._conn.execute(insert_or_ignore(self._conn, outbound_deliveries).from_select(columns, source))

    async def add(self, delivery: WebhookDelivery) -> None:
        await self._conn.execute(outbound_deliveries.insert().values(
            msgspec.to_builtins(delivery, builtin_types=(datetime,))))

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        row = (await self._conn.execute(
            select(outbound_deliveries).where(outbound_deliveries.c.id == delivery_id))).first()
        return None if row is None else convert(row, WebhookDelivery)

    async def claim_due(self, now: datetime, lease_token: str, lease_until: datetime,
                        limit: int) -> list[WebhookDelivery]:
        """One UPDATE over a locked candidate set (Postgres: FOR UPDATE SKIP LOCKED, so
        concurrent claimers split the due deliveries; SQLite: BEGIN IMMEDIATE already
        serialises claimers). While leased, next_attempt_at is when the lease runs out."""
        if limit <= 0:
            return []
        d, e = outbound_deliveries.c, webhook_endpoints.c
        candidates = (
            select(d.id)
            .select_from(outbound_deliveries.outerjoin(webhook_endpoints, e.id == d.endpoint_id))
            .where(d.status == PENDING, d.next_attempt_at <= now,
                   or_(d.endpoint_id.is_(None), e.disabled_at.is_(None)))
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
            .with_for_update(of=outbound_deliveries, skip_locked=True)
        )
        ids = [row.id for row in await self._conn.execute(candidates)]
        if not ids:
            return []
        leased = await self._conn.execute(
            update(outbound_deliveries).where(d.id.in_(ids))
            .values(lease_token=lease_token, next_attempt_at=lease_until)
            .returning(*outbound_deliveries.c))
        return sorted((convert(row, WebhookDelivery) for row in leased), key=lambda x: (x.created_at, x.id))

    async def save(self, delivery: WebhookDelivery, lease_token: str) -> bool:
        values = msgspec.to_builtins(delivery, builtin_types=(datetime,))
        del values["id"]
        result = await self._conn.execute(
            update(outbound_deliveries)
            .where(outbound_deliveries.c.id == delivery.id, outbound_deliveries.c.lease_token == lease_token)
            .values(values).returning(outbound_deliveries.c.id))
        return result.first() is not None

    async def add_attempt(self, attempt: DeliveryAttempt) -> None:
        await self._conn.execute(outbound_attempts.insert().values(
            msgspec.to_builtins(attempt, builtin_types=(datetime,))))

    async def page(self, endpoint_id: str, after: Cursor | None, limit: int) -> Page[WebhookDelivery]:
        query = select(outbound_deliveries).where(outbound_deliveries.c.endpoint_id == endpoint_id)
        return await keyset_page(self._conn, query, outbound_deliveries.c.created_at, outbound_deliveries.c.id,
                                 after, limit, lambda row: convert(row, WebhookDelivery),
                                 lambda x: (x.created_at, x.id))

    async def for_job(self, job_id: str) -> list[WebhookDelivery]:
        rows = await self._conn.execute(
            select(outbound_deliveries).where(outbound_deliveries.c.job_id == job_id)
            .order_by(outbound_deliveries.c.created_at, outbound_deliveries.c.id))
        return [convert(row, WebhookDelivery) for row in rows]

    async def attempts(self, delivery_ids: Sequence[str]) -> list[DeliveryAttempt]:
        if not delivery_ids:
            return []
        rows = await self._conn.execute(
            select(outbound_attempts).where(outbound_attempts.c.delivery_id.in_(list(delivery_ids)))
            .order_by(outbound_attempts.c.attempted_at, outbound_attempts.c.id))
        return [convert(row, DeliveryAttempt) for row in rows]




class OutboxJobRepository(SqlJobRepository):
    """Jobs that note each job saved in a terminal state, for the unit of work's outbox."""

    def __init__(self, conn: AsyncConnection, ended: list[TerminalJob]) -> None:
        super().__init__(conn)
        self._ended = ended

    async def save(self, job: Job, expected_version: int) -> bool:
        saved = await super().save(job, expected_version)
        entry = terminal_job(job) if saved else None
        if entry is not None:
            self._ended.append(entry)
        return saved

"""Webhook signing secrets are sealed in the database like provider keys, opened on the way out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import select

from adapters.security.secret_box import FernetSecretBox
from adapters.sql.engine import create_engine
from adapters.sql.tables import webhook_endpoints, webhook_signing_keys
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.outbound import WebhookEndpoint, new_secret
from domain.quotas import QuotaPolicy
from domain.users import User

KEY = FernetSecretBox.new_key()
AT = datetime(2026, 1, 1, tzinfo=UTC)
FIRST, SECOND, USER_KEY = new_secret(b"1" * 24), new_secret(b"2" * 24), new_secret(b"3" * 24)


def test_endpoint_secrets_and_user_keys_are_sealed(sqlite_url: str) -> None:
    async def scenario() -> None:
        engine = create_engine(sqlite_url)
        try:
            factory = SqlUnitOfWorkFactory(engine, FernetSecretBox(KEY))
            async with factory() as uow:
                await uow.users.add(User(id="u1", email="u1@example.com", username="u1", password_hash="h",
                                         created_at=AT, quota=QuotaPolicy()))
                endpoint = WebhookEndpoint(id="e1", user_id="u1", url="https://x.example/h", events=("job.failed",),
                                           secret=FIRST, created_at=AT)
                await uow.hook_endpoints.add(endpoint)
                await uow.hook_endpoints.update(msgspec.structs.replace(
                    endpoint, secret=SECOND, previous_secret=FIRST, previous_secret_until=AT + timedelta(days=1)))
                assert await uow.hook_endpoints.signing_key("u1", USER_KEY, AT) == USER_KEY
                await uow.commit()
            async with engine.connect() as conn:
                raw = (await conn.execute(select(webhook_endpoints.c.secret, webhook_endpoints.c.previous_secret))).one()
                raw_key = (await conn.execute(select(webhook_signing_keys.c.secret))).scalar_one()
            for value in (*raw, raw_key):
                assert value.startswith("fernet:") and "whsec_" not in value
            async with factory() as uow:
                stored = await uow.hook_endpoints.get("e1")
                assert stored is not None and (stored.secret, stored.previous_secret) == (SECOND, FIRST)
                assert await uow.hook_endpoints.signing_key("u1", new_secret(b"4" * 24), AT) == USER_KEY
        finally:
            await engine.dispose()

    asyncio.run(scenario())

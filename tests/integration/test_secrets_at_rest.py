"""Provider keys are sealed in the database and opened only on the way out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest
from sqlalchemy import select

from adapters.memory.uow import InMemoryUnitOfWorkFactory
from adapters.providers.kling import SECRET_FIELDS
from adapters.security.secret_box import FernetSecretBox, PlainSecretBox
from adapters.sql.engine import create_engine
from adapters.sql.tables import accounts
from adapters.sql.uow import SqlUnitOfWorkFactory
from domain.account_secrets import check_secret_value, secret_fields
from domain.accounts import ProviderAccount
from domain.ports import UnitOfWorkFactory
from entrypoints.runtime import secret_box
from entrypoints.settings import Settings

KEY = FernetSecretBox.new_key()
ACCOUNT = ProviderAccount(id="acct1", provider_id="replicate", label="main", secret="r8_live_SECRET",
                          created_at=datetime(2026, 1, 1, tzinfo=UTC), credits=10, max_concurrent_jobs=2)


def test_the_box_round_trips_and_reads_values_stored_before_encryption() -> None:
    box = FernetSecretBox(KEY)
    sealed = box.seal("r8_live_SECRET")
    assert sealed.startswith("fernet:") and "SECRET" not in sealed and sealed != box.seal("r8_live_SECRET")
    assert box.open(sealed) == "r8_live_SECRET"
    assert box.open("legacy-plain") == "legacy-plain"
    with pytest.raises(ValueError, match="PIXRELAY_SECRETS_KEY"):
        FernetSecretBox(FernetSecretBox.new_key()).open(sealed)
    with pytest.raises(ValueError):
        FernetSecretBox("not a key")
    assert PlainSecretBox().seal("x") == "x"


def test_rows_hold_sealed_secrets_and_the_repository_opens_them(sqlite_url: str) -> None:
    async def scenario() -> None:
        engine = create_engine(sqlite_url)
        try:
            factory = SqlUnitOfWorkFactory(engine, FernetSecretBox(KEY))
            async with factory() as uow:
                await uow.accounts.add(ACCOUNT)
                await uow.commit()
            async with factory() as uow:
                stored = await uow.accounts.get("acct1")
                assert stored is not None and stored.secret == "r8_live_SECRET"
                await uow.accounts.update(msgspec.structs.replace(stored, secret="r8_rotated"))
                await uow.commit()
            async with engine.connect() as conn:
                raw = (await conn.execute(select(accounts.c.secret))).scalar_one()
            assert raw.startswith("fernet:") and "r8_" not in raw
            async with factory() as uow:
                reserved = await uow.accounts.try_reserve("acct1", 1, datetime(2026, 1, 2, tzinfo=UTC))
                listed = await uow.accounts.find("replicate")
            assert reserved is not None and reserved.secret == "r8_rotated"
            assert [a.secret for a in listed] == ["r8_rotated"]
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_the_key_comes_from_configuration_or_is_kept_in_the_data_dir(tmp_path: object) -> None:
    from pathlib import Path

    data = Path(str(tmp_path))
    configured = secret_box(Settings(secrets_key=KEY, data_dir=data))
    assert configured.open(FernetSecretBox(KEY).seal("x")) == "x"
    shared = secret_box(Settings(jwt_secret="j" * 40, data_dir=data))
    assert secret_box(Settings(jwt_secret="j" * 40, data_dir=data)).open(shared.seal("y")) == "y"  # replicas agree
    embedded = secret_box(Settings(data_dir=data))
    assert secret_box(Settings(data_dir=data)).open(embedded.seal("z")) == "z"  # kept across starts
    assert (data / "secrets_key").stat().st_mode & 0o077 == 0


PAIR = {"access_key": "AK-kling-access-0123", "secret_key": "SK-kling-secret-0123456789"}
KLING_ACCOUNT = msgspec.structs.replace(ACCOUNT, id="acct-kling", provider_id="kling",
                                        secret=check_secret_value("kling", SECRET_FIELDS, PAIR).unwrap())
URL_FIXTURES = {"sqlite": "sqlite_url", "postgres": "pg_clean_url"}


@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_structured_secret_is_sealed_whole_and_opens_to_its_fields(kind: str, request: pytest.FixtureRequest) -> None:
    """A key-pair secret (Kling) is stored as one sealed value next to a one-string secret
    and a value stored before encryption: each reads back as it was written."""
    url = request.getfixturevalue(URL_FIXTURES[kind]) if kind != "memory" else None

    async def scenario() -> None:
        engine = create_engine(url) if url else None
        factory: UnitOfWorkFactory = SqlUnitOfWorkFactory(engine, FernetSecretBox(KEY)) if engine \
            else InMemoryUnitOfWorkFactory()
        try:
            async with factory() as uow:
                await uow.accounts.add(KLING_ACCOUNT)
                await uow.accounts.add(ACCOUNT)
                await uow.commit()
            if engine is not None:
                async with engine.begin() as conn:
                    rows = {row.id: row.secret for row in await conn.execute(select(accounts.c.id, accounts.c.secret))}
                    assert all(raw.startswith("fernet:") for raw in rows.values())
                    assert not any(value in raw for raw in rows.values() for value in (*PAIR.values(), "r8_"))
                    await conn.execute(accounts.update().where(accounts.c.id == "acct1").values(secret="legacy-key"))
            async with factory() as uow:
                kling, plain = await uow.accounts.get("acct-kling"), await uow.accounts.get("acct1")
                listed = await uow.accounts.find("kling")
            assert kling is not None and plain is not None
            assert secret_fields(kling.secret) == PAIR and [secret_fields(a.secret) for a in listed] == [PAIR]
            assert plain.secret == ("r8_live_SECRET" if engine is None else "legacy-key")
            assert secret_fields(plain.secret) is None
        finally:
            if engine is not None:
                await engine.dispose()

    asyncio.run(scenario())

"""The JobRepository listing contract for name prefixes, creation times and deleted jobs,
passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

import msgspec

from domain.jobs import Job
from domain.ports import JobFilter, UnitOfWorkFactory
from tests.contract.builders import add_user, at, job


async def listed(factory: UnitOfWorkFactory, where: JobFilter) -> list[str | None]:
    async with factory() as uow:
        return [j.name for j in (await uow.jobs.page(where, None, 100)).items]


def test_jobs_are_found_by_name_prefix_and_time_and_deleted_ones_never(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        owner = await add_user(uow_factory)
        made: list[Job] = [job(owner.id, name=name, created_at=at(seconds))
                           for name, seconds in (("cat_1%", 0), ("cat_2", 60), ("Cat_3", 120), (None, 180),
                                                 ("dog", 240), ("cat_gone", 300))]
        async with uow_factory() as uow:
            for each in made:
                assert await uow.jobs.add(each)
            gone = made[-1]
            assert await uow.jobs.save(msgspec.structs.replace(gone, deleted_at=at(400)), gone.version)
            await uow.commit()
        mine = JobFilter(user_id=owner.id)
        assert await listed(uow_factory, mine) == ["dog", None, "Cat_3", "cat_2", "cat_1%"]
        assert await listed(uow_factory, msgspec.structs.replace(mine, name_prefix="cat")) == ["cat_2", "cat_1%"]
        assert await listed(uow_factory, msgspec.structs.replace(mine, name_prefix="cat_1%")) == ["cat_1%"]
        assert await listed(uow_factory, msgspec.structs.replace(mine, name_prefix="cat%")) == []
        assert await listed(uow_factory, msgspec.structs.replace(mine, name_prefix="c_t")) == []
        window = msgspec.structs.replace(mine, created_after=at(60), created_before=at(180))
        assert await listed(uow_factory, window) == ["Cat_3", "cat_2"]
        async with uow_factory() as uow:
            kept = await uow.jobs.get(gone.id)
        assert kept is not None and kept.deleted_at == at(400)

    runner.run(scenario())

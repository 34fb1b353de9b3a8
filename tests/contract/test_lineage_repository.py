"""The LineageRepository contract, passed by every adapter: memory, SQLite, Postgres."""

from __future__ import annotations

import asyncio

from domain.lineage import LineageEdge, Relation
from domain.ports import UnitOfWorkFactory
from tests.contract.builders import add_user, asset


def edge(parent: str, child: str, index: int = 0) -> LineageEdge:
    return LineageEdge(parent_id=parent, child_id=child, operation_type="image_to_image",
                       job_id=f"job-{child}", input_index=index)


def pairs(edges: list[LineageEdge]) -> set[tuple[str, str]]:
    return {(e.parent_id, e.child_id) for e in edges}


async def graph(factory: UnitOfWorkFactory, nodes: list[str], edges: list[LineageEdge]) -> None:
    owner = await add_user(factory)
    async with factory() as uow:
        for node in nodes:
            assert await uow.assets.add(asset(owner.id, id=node))
        await uow.lineage.add(edges)
        await uow.commit()


def test_walks_follow_both_directions_within_the_depth(uow_factory: UnitOfWorkFactory,
                                                       runner: asyncio.Runner) -> None:
    chain = [f"n{i}" for i in range(6)]  # n0 <- n1 <- ... <- n5 (n5 made from n4, ...)
    links = [edge(chain[i], chain[i + 1]) for i in range(5)]

    async def scenario() -> None:
        await graph(uow_factory, chain, links)
        async with uow_factory() as uow:
            assert pairs(await uow.lineage.ancestors("n5", 2)) == {("n4", "n5"), ("n3", "n4")}
            assert pairs(await uow.lineage.ancestors("n5", 50)) == pairs(links)
            assert pairs(await uow.lineage.ancestors("n5", 1)) == {("n4", "n5")}
            assert pairs(await uow.lineage.descendants("n1", 3)) == {("n1", "n2"), ("n2", "n3"), ("n3", "n4")}
            assert await uow.lineage.descendants("n5", 10) == []
            assert await uow.lineage.ancestors("n0", 10) == []
            assert await uow.lineage.ancestors("unknown", 10) == []

    runner.run(scenario())


def test_diamonds_give_each_edge_once(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    # top <- left, right <- bottom, twice over: many paths, few edges
    nodes = ["top", "l1", "r1", "mid", "l2", "r2", "bottom"]
    links = [edge("top", "l1"), edge("top", "r1"), edge("l1", "mid"), edge("r1", "mid", 1),
             edge("mid", "l2"), edge("mid", "r2"), edge("l2", "bottom"), edge("r2", "bottom", 1)]

    async def scenario() -> None:
        await graph(uow_factory, nodes, links)
        async with uow_factory() as uow:
            up = await uow.lineage.ancestors("bottom", 10)
            assert len(up) == len(links) and pairs(up) == pairs(links)
            down = await uow.lineage.descendants("top", 10)
            assert len(down) == len(links) and pairs(down) == pairs(links)
            assert pairs(await uow.lineage.ancestors("bottom", 3)) == pairs(links) - {
                ("top", "l1"), ("top", "r1")}

    runner.run(scenario())


def test_edges_keep_their_details_and_a_repeated_edge_is_ignored(
        uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    first = LineageEdge(parent_id="p", child_id="c", relation=Relation.PARENT_JOB,
                        operation_type="upscale", job_id="j9", input_index=2)
    repeat = LineageEdge(parent_id="p", child_id="c", relation=Relation.INPUT)

    async def scenario() -> None:
        await graph(uow_factory, ["p", "c"], [first])
        async with uow_factory() as uow:
            await uow.lineage.add([repeat])
            await uow.lineage.add([])
            await uow.commit()
        async with uow_factory() as uow:
            assert await uow.lineage.ancestors("c", 1) == [first]
            assert await uow.lineage.descendants("p", 1) == [first]

    runner.run(scenario())


def test_a_wide_deep_lattice_is_walked_quickly(uow_factory: UnitOfWorkFactory, runner: asyncio.Runner) -> None:
    """Layers of 3 nodes, each linked to every node of the next layer: 3^40 paths, 360 edges."""
    layers = [[f"l{d}-{i}" for i in range(3)] for d in range(41)]
    links = [edge(p, c) for d in range(40) for p in layers[d] for c in layers[d + 1]]

    async def scenario() -> None:
        await graph(uow_factory, [n for layer in layers for n in layer], links)
        async with uow_factory() as uow:
            found = await asyncio.wait_for(uow.lineage.ancestors("l40-0", 50), timeout=10)
            assert len(found) == 3 + 39 * 9
            assert len(await uow.lineage.descendants("l0-0", 2)) == 3 + 9

    runner.run(scenario())

"""5. Lineage: ancestors and descendants to depth 10 in a graph of 1,000,000 edges, through
the GetLineage use case, beside the same recursive walk as one raw asyncpg query."""

from __future__ import annotations

import random
import time

import asyncpg

from bench.common import Results, Row, fresh_database, percentile, plain_dsn, sized, temp_dir
from bench.seed import BenchActor, pixrelay, seed

DEPTH = 10
WALK = """
WITH RECURSIVE walk(node, depth) AS (
  SELECT $1::varchar, 0
  UNION SELECT e.{far}, w.depth + 1 FROM lineage_edges e JOIN walk w ON e.{near} = w.node WHERE w.depth + 1 < $2),
reached AS (SELECT node, min(depth) AS depth FROM walk GROUP BY node)
SELECT e.parent_id, e.child_id, e.relation, e.operation_type, e.job_id, e.input_index
FROM lineage_edges e JOIN reached r ON e.{near} = r.node ORDER BY r.depth, e.{near}, e.input_index, e.{far}"""


def asset_id(n: int) -> str:
    return f"bench-asset-{n:08d}"


async def build_graph(dsn: str, owner: str, nodes: int, skip: int) -> int:
    """Asset c has parents c-1 and c-skip: a lattice where depth 10 reaches ~66 nodes each way."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("""
            INSERT INTO assets (id, owner_id, media_type, source, mime_type, size_bytes, sha256, storage_key,
                                created_at, last_accessed_at, status)
            SELECT 'bench-asset-' || lpad(g::text, 8, '0'), $1, 'image', 'generated', 'image/png', 100,
                   md5(g::text) || md5('x' || g::text), 'k' || g, now(), now(), 'stored'
            FROM generate_series(0, $2 - 1) g""", owner, nodes)
        await connection.execute("""
            INSERT INTO lineage_edges (parent_id, child_id, relation, operation_type, input_index)
            SELECT 'bench-asset-' || lpad((g - 1)::text, 8, '0'), 'bench-asset-' || lpad(g::text, 8, '0'),
                   'input', 'image_to_image', 0 FROM generate_series(1, $1 - 1) g
            UNION ALL
            SELECT 'bench-asset-' || lpad((g - $2)::text, 8, '0'), 'bench-asset-' || lpad(g::text, 8, '0'),
                   'input', 'image_to_image', 1 FROM generate_series($2, $1 - 1) g""", nodes, skip)
        await connection.execute("ANALYZE assets; ANALYZE lineage_edges")
        return int(await connection.fetchval("SELECT count(*) FROM lineage_edges"))
    finally:
        await connection.close()


async def run(results: Results) -> None:
    from application.assets.lineage import GetLineage

    nodes, skip, queries = sized((501, 10, 20), (500_001, 1000, 200))
    rng = random.Random(5)
    with temp_dir() as tmp:
        async with fresh_database() as db:
            dsn = plain_dsn(db)
            async with pixrelay(db, tmp) as (container, _runtime, _settings):
                seeded = await seed(container)
                edges = await build_graph(dsn, seeded.user_id, nodes, skip)
                get: GetLineage = container.resolve(GetLineage)
                actor = BenchActor(seeded.user_id)
                starts = [asset_id(rng.randrange(skip * 2, nodes - skip * 2)) for _ in range(queries)]
                timings: dict[str, dict[str, list[float]]] = {"pixrelay": {}, "raw": {}}
                connection = await asyncpg.connect(dsn)
                try:
                    for direction, near, far in (("ancestors", "child_id", "parent_id"),
                                                 ("descendants", "parent_id", "child_id")):
                        walk = WALK.format(near=near, far=far)
                        for side in ("pixrelay", "raw"):
                            spent = timings[side].setdefault(direction, [])
                            for start in [starts[0], *starts]:  # the first one warms up
                                began = time.perf_counter()
                                if side == "pixrelay":
                                    (await get(actor, start, direction, DEPTH)).unwrap()
                                else:
                                    await connection.fetch(walk, start, DEPTH)
                                spent.append(time.perf_counter() - began)
                            del spent[0]
                finally:
                    await connection.close()
    for direction in ("ancestors", "descendants"):
        mine = percentile(timings["pixrelay"][direction], 50) * 1000
        results.add(Row(f"5 lineage {direction} ({edges:,} edges)", "p50 ms", mine,
                        percentile(timings["raw"][direction], 50) * 1000, "raw recursive CTE",
                        "<= 10 ms", mine <= 10.0, higher_is_better=False))

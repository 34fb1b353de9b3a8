"""Uploading, de-duplicating, deleting and downloading assets; walking their lineage."""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from typing import Any

from pytest_bdd import given, then, when
from returns.result import Result

from application.assets.delete import DeleteAsset
from application.assets.lineage import GetLineage, LineageGraph
from application.assets.queries import AssetContent, GetAsset
from application.assets.upload import UploadOutcome
from domain.assets import Asset, MediaType
from domain.errors import DomainError, ErrorCode
from tests.acceptance.steps_common import p
from tests.acceptance.support import (
    MB,
    actor,
    asset_id_or_missing,
    asset_named,
    assets_of,
    code_of,
    file_bytes,
    job_named,
    name_of_asset,
    ok,
    padded,
    profile,
    read_blob,
    sample,
    upload,
)
from tests.support.wiring import Wiring

Outcome = Result[Any, DomainError]
MEDIA = {"an image": MediaType.IMAGE, "a video": MediaType.VIDEO, "an audio file": MediaType.AUDIO}
OPERATIONS = {"variation": "image_to_image", "animation": "image_to_video"}


def content(file_format: str, filename: str) -> bytes:
    if file_format == "empty":
        return b""
    return sample(file_format, zlib.crc32(filename.encode()))


# ---------------------------------------------------------------- uploading


@given(p('"{user}" has uploaded "{filename}"'))
def has_uploaded(runner: asyncio.Runner, wiring: Wiring, user: str, filename: str) -> None:
    assert ok(runner.run(upload(wiring, user, file_bytes(filename), filename))).created


@when(p('"{user}" uploads "{filename}"'), target_fixture="outcome")
def uploads(runner: asyncio.Runner, wiring: Wiring, user: str, filename: str) -> Outcome:
    return runner.run(upload(wiring, user, file_bytes(filename), filename))


@when(p('"{user}" uploads "{filename}" again as "{other}"'), target_fixture="outcome")
def uploads_again(runner: asyncio.Runner, wiring: Wiring, user: str, filename: str, other: str) -> Outcome:
    return runner.run(upload(wiring, user, file_bytes(filename), other))


@when(p('"{user}" uploads a {fmt} file named "{filename}"'), target_fixture="outcome")
@when(p('"{user}" uploads an {fmt} file named "{filename}"'), target_fixture="outcome")
def uploads_format(runner: asyncio.Runner, wiring: Wiring, user: str, fmt: str, filename: str) -> Outcome:
    return runner.run(upload(wiring, user, content(fmt, filename), filename))


@when(p('"{user}" uploads a {fmt} file of {size:d} MB named "{filename}"'), target_fixture="outcome")
@when(p('"{user}" uploads an {fmt} file of {size:d} MB named "{filename}"'), target_fixture="outcome")
def uploads_big(runner: asyncio.Runner, wiring: Wiring, user: str, fmt: str, size: int, filename: str) -> Outcome:
    return runner.run(upload(wiring, user, padded(content(fmt, filename)[:64], size * MB), filename))


@then(p('it is stored as {media} of type "{mime}"'))
def stored_as(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, media: str, mime: str) -> None:
    answer: UploadOutcome = ok(outcome)
    asset = answer.asset
    assert answer.created and (asset.media_type, asset.mime_type) == (MEDIA[media], mime)
    data = runner.run(read_blob(wiring, asset.storage_key))
    assert hashlib.sha256(data).hexdigest() == asset.sha256 and len(data) == asset.size_bytes


@then(p('she gets her earlier "{filename}" back'))
def earlier_back(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, filename: str) -> None:
    answer: UploadOutcome = ok(outcome)
    assert not answer.created and answer.asset.original_filename == filename


@then(p('it is a new asset owned by "{user}"'))
def new_asset_of(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, user: str) -> None:
    answer: UploadOutcome = ok(outcome)
    assert answer.created and answer.asset.owner_id == runner.run(actor(wiring, user)).user_id


@then(p('"{user}" has {n:d} asset{:Plural}'))
def asset_count(runner: asyncio.Runner, wiring: Wiring, user: str, n: int) -> None:
    assert len(runner.run(assets_of(wiring, user))) == n


@then(p('"{user}" stores {n:d} bytes'))
def stores(runner: asyncio.Runner, wiring: Wiring, user: str, n: int) -> None:
    assert runner.run(profile(wiring, user)).usage.storage_bytes == n


@then(p('"{user}" stores the bytes of "{filename}" once'))
def stores_once(runner: asyncio.Runner, wiring: Wiring, user: str, filename: str) -> None:
    stores(runner, wiring, user, len(file_bytes(filename)))


# ---------------------------------------------------------------- downloading and deleting


@when(p('"{user}" deletes "{ref}"'), target_fixture="outcome")
def deletes(runner: asyncio.Runner, wiring: Wiring, user: str, ref: str) -> Outcome:
    async def delete() -> Outcome:
        return await wiring.get(DeleteAsset)(await actor(wiring, user), await asset_id_or_missing(wiring, user, ref))

    return runner.run(delete())


@then(p('"{user}" can still download "{filename}"'))
def can_download(runner: asyncio.Runner, wiring: Wiring, user: str, filename: str) -> None:
    asset = runner.run(asset_named(wiring, user, filename))
    assert asset is not None
    where = ok(runner.run(wiring.get(AssetContent)(runner.run(actor(wiring, user)), asset.id)))
    assert runner.run(read_blob(wiring, where.key)) == file_bytes(filename)


@then(p('"{user}" cannot download the "{filename}" of "{owner}"'))
def cannot_download(runner: asyncio.Runner, wiring: Wiring, user: str, filename: str, owner: str) -> None:
    asset = runner.run(asset_named(wiring, owner, filename))
    assert asset is not None
    result = runner.run(wiring.get(AssetContent)(runner.run(actor(wiring, user)), asset.id))
    assert code_of(result) is ErrorCode.NOT_FOUND


@then(p('"{user}" can no longer see the deleted asset'))
def deleted_is_gone(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, user: str) -> None:
    deleted: Asset = ok(outcome)
    who = runner.run(actor(wiring, user))
    assert code_of(runner.run(wiring.get(GetAsset)(who, deleted.id))) is ErrorCode.NOT_FOUND
    assert code_of(runner.run(wiring.get(AssetContent)(who, deleted.id))) is ErrorCode.NOT_FOUND
    assert code_of(runner.run(wiring.get(DeleteAsset)(who, deleted.id))) is ErrorCode.NOT_FOUND


@then("the bytes of the deleted asset are gone from storage")
def bytes_gone(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome) -> None:
    deleted: Asset = ok(outcome)
    assert not runner.run(wiring.ports.blobs.exists(deleted.storage_key))


# ---------------------------------------------------------------- lineage


@when(p('"{user}" looks at the {direction} of "{ref}" up to {depth:d} steps away'), target_fixture="outcome")
def looks_at_lineage(runner: asyncio.Runner, wiring: Wiring, user: str, direction: str, ref: str,
                     depth: int) -> Outcome:
    async def walk() -> Outcome:
        asset_id = await asset_id_or_missing(wiring, user, ref)
        return await wiring.get(GetLineage)(await actor(wiring, user), asset_id, direction, depth)

    return runner.run(walk())


@when(p('"{user}" looks at the {direction} of "{ref}"'), target_fixture="outcome")
def looks_at_lineage_default(runner: asyncio.Runner, wiring: Wiring, user: str, direction: str,
                             ref: str) -> Outcome:
    async def walk() -> Outcome:
        asset_id = await asset_id_or_missing(wiring, user, ref)
        return await wiring.get(GetLineage)(await actor(wiring, user), asset_id, direction)

    return runner.run(walk())


async def named_nodes(w: Wiring, graph: LineageGraph) -> dict[str, Asset]:
    async with w.ports.uow() as uow:
        assets = await uow.assets.many([n.id for n in graph.nodes])
    assert len(assets) == len(graph.nodes)
    return {await name_of_asset(w, a): a for a in assets}


@then(p("the graph holds {names:Names}"))
def graph_holds(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, names: list[str]) -> None:
    graph: LineageGraph = ok(outcome)
    assert sorted(runner.run(named_nodes(wiring, graph))) == sorted(names)
    ids = {n.id for n in graph.nodes}
    assert all(e.parent_id in ids and e.child_id in ids for e in graph.edges)


@then(p("the graph has {n:d} link{:Plural}"))
def graph_links(outcome: Outcome, n: int) -> None:
    assert len(ok(outcome).edges) == n


@then(p('the graph shows "{child}" made from "{parent}" as a {operation} by job "{job}"'))
def graph_edge(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, child: str, parent: str,
               operation: str, job: str) -> None:
    graph: LineageGraph = ok(outcome)
    nodes = runner.run(named_nodes(wiring, graph))
    made_by = runner.run(job_named(wiring, job))
    found = [(e.operation_type, e.job_id) for e in graph.edges
             if (e.child_id, e.parent_id) == (nodes[child].id, nodes[parent].id)]
    assert found == [(OPERATIONS[operation], made_by.id)]


@then(p('the graph shows "{name}" as deleted'))
def graph_tombstone(runner: asyncio.Runner, wiring: Wiring, outcome: Outcome, name: str) -> None:
    graph: LineageGraph = ok(outcome)
    asset = runner.run(named_nodes(wiring, graph))[name]
    assert [n.deleted for n in graph.nodes if n.id == asset.id] == [True]
    assert [n.id for n in graph.nodes if n.deleted] == [asset.id]


"""Assets: streamed uploads, reads, downloads, deletion and lineage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Encoding,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Redirect, Stream

from application.assets.delete import DeleteAsset
from application.assets.lineage import GetLineage
from application.assets.queries import AssetContent, GetAsset, ListAssets
from application.assets.upload import MAX_WORKSPACE_ID, UploadAsset
from application.auth.authenticate import Principal
from application.policy import AssetPolicy
from domain.assets import SNIFFED_MIME_TYPES, AssetSource, MediaType
from domain.errors import not_found
from domain.lineage import DEFAULT_DEPTH, MAX_DEPTH, Direction
from entrypoints.http.deps import (
    BEARER_SECURITY,
    CHECKED_IN_STEP,
    container_of,
    doc,
    ports_of,
    require_user,
    uses,
    uses_after_caller,
)
from entrypoints.http.errors import ProblemException, ok, problems
from entrypoints.http.multipart import FILE_FIELD, boundary_of, capped, open_upload, too_large
from entrypoints.http.schemas_assets import AssetList, AssetOut, LineageOut, asset_out, lineage_out

MULTIPART_OVERHEAD = 64 * 1024  # part headers, boundaries and the small text fields


@dataclass
class UploadOperation(Operation):
    """The form the upload route streams itself (so Litestar cannot describe it)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            RequestEncodingType.MULTI_PART: OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT, required=[FILE_FIELD], additional_properties=False,
                properties={"workspace_id": Schema(type=OpenAPIType.STRING, min_length=1,
                                                   max_length=MAX_WORKSPACE_ID),
                            FILE_FIELD: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)}),
                # what the bytes must be (the part's own Content-Type is not trusted)
                encoding={FILE_FIELD: Encoding(content_type=", ".join(SNIFFED_MIME_TYPES))})})


@post("/", operation_id="uploadAsset", summary="Upload a file", operation_class=UploadOperation, request_max_body_size=None,
      description=doc(UploadAsset) + "\n\n`workspace_id` may come before or after `file`; "
      "201 for a new asset, 200 with the existing one for bytes already uploaded.",
      dependencies=uses(upload_asset=UploadAsset),
      responses={200: ResponseSpec(data_container=AssetOut, description="These bytes were uploaded before: "
                                   "the existing asset"), **problems(401, 413, 415, 422, 429)})
async def upload(request: Request[Any, Any, Any], principal: NamedDependency[Principal],
                 upload_asset: NamedDependency[UploadAsset]) -> Response[AssetOut]:
    policy: AssetPolicy = container_of(request).resolve(AssetPolicy)
    limit = policy.limits.largest + MULTIPART_OVERHEAD
    if (request.content_length or 0) > limit:
        raise too_large(limit)
    boundary = boundary_of(request.headers.get("content-type", ""))
    form = await open_upload(capped(request.stream(), limit), boundary)
    outcome = ok(await upload_asset(principal, form.chunks, form.filename, lambda: form.fields.get("workspace_id")))
    return Response(asset_out(outcome.asset), status_code=201 if outcome.created else 200)


@get("/", operation_id="listAssets", summary="My assets", description=doc(ListAssets), dependencies=uses_after_caller(list_assets=ListAssets),
     opt=CHECKED_IN_STEP,
     responses=problems(401, 422))
async def my_assets(principal: NamedDependency[Principal], list_assets: NamedDependency[ListAssets],
                    media_type: FromQuery[MediaType | None] = None, source: FromQuery[AssetSource | None] = None,
                    provider_id: FromQuery[str | None] = None, workspace_id: FromQuery[str | None] = None,
                    cursor: FromQuery[str | None] = None, limit: FromQuery[int | None] = None) -> AssetList:
    page = ok(await list_assets(principal, media_type=media_type, source=source, provider_id=provider_id,
                                workspace_id=workspace_id, cursor=cursor, limit=limit))
    return AssetList(items=[asset_out(a) for a in page.items], next_cursor=page.next_cursor)


@get("/{asset_id:str}", operation_id="getAsset", summary="One asset", description=doc(GetAsset), dependencies=uses_after_caller(get_asset=GetAsset),
     opt=CHECKED_IN_STEP,
     responses=problems(401, 404))
async def one_asset(asset_id: FromPath[str], principal: NamedDependency[Principal],
                    get_asset: NamedDependency[GetAsset]) -> AssetOut:
    return asset_out(ok(await get_asset(principal, asset_id)))


@get("/{asset_id:str}/content", operation_id="getAssetContent", summary="Download an asset", description=doc(AssetContent),
     dependencies=uses(asset_content=AssetContent), responses=problems(401, 404, 409))
async def content(request: Request[Any, Any, Any], asset_id: FromPath[str], principal: NamedDependency[Principal],
                  asset_content: NamedDependency[AssetContent]) -> Response[Any]:
    where = ok(await asset_content(principal, asset_id))
    if where.url is not None:
        return Redirect(where.url, status_code=302)
    chunks = ports_of(request).blobs.open(where.key)
    try:
        first = await anext(chunks, b"")  # a missing blob shows here, before the response starts
    except KeyError:
        raise ProblemException(not_found("the asset's bytes")) from None
    return Stream(rejoin(first, chunks), media_type=where.mime_type, headers={
        "Content-Length": str(where.size), "Content-Disposition": disposition(where.filename),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300",
        # user files come from the API's origin: should a browser render one, it runs nothing
        "Content-Security-Policy": "default-src 'none'; sandbox"})


@delete("/{asset_id:str}", operation_id="deleteAsset", status_code=204, summary="Delete an asset", description=doc(DeleteAsset),
        dependencies=uses(delete_asset=DeleteAsset), responses=problems(401, 404))
async def remove(asset_id: FromPath[str], principal: NamedDependency[Principal],
                 delete_asset: NamedDependency[DeleteAsset]) -> None:
    ok(await delete_asset(principal, asset_id))


@get("/{asset_id:str}/lineage", operation_id="getAssetLineage", summary="Lineage graph", description=doc(GetLineage),
     dependencies=uses(get_lineage=GetLineage), responses=problems(401, 404, 422))
async def lineage(asset_id: FromPath[str], principal: NamedDependency[Principal],
                  get_lineage: NamedDependency[GetLineage], direction: FromQuery[Direction] = Direction.BOTH,
                  max_depth: Annotated[int, Parameter(ge=1, le=MAX_DEPTH)] = DEFAULT_DEPTH) -> LineageOut:
    return lineage_out(ok(await get_lineage(principal, asset_id, direction, max_depth)))


async def rejoin(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def disposition(filename: str | None) -> str:
    """`inline`, with the original name both ASCII-safe and exact (RFC 6266)."""
    if not filename:
        return "inline"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


router = Router(path="/v1/assets", tags=["assets"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[upload, my_assets, one_asset, content, remove, lineage])

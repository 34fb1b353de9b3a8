"""The model catalog: what jobs may name (`model`), and its administration."""

from __future__ import annotations

from litestar import Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from application.auth.authenticate import Principal
from application.models.admin import AddModel, ChangeModel, RemoveModel
from application.models.queries import GetModel, ListModels
from domain.jobs import OperationType
from entrypoints.http.deps import BEARER_SECURITY, doc, require_admin, require_user, uses
from entrypoints.http.errors import ok, problems
from entrypoints.http.schemas_models import ModelIn, ModelList, ModelOut, ModelPatchIn, model_out


def _id(model_id: str) -> str:
    """A `path` parameter keeps its leading slash; model ids have slashes of their own."""
    return model_id.lstrip("/")


@get("/", operation_id="listModels", summary="Models", description=doc(ListModels),
     dependencies=uses(list_models=ListModels), responses=problems(401, 422))
async def models(principal: NamedDependency[Principal], list_models: NamedDependency[ListModels],
                 provider_id: FromQuery[str | None] = None,
                 operation_type: FromQuery[OperationType | None] = None,
                 cursor: FromQuery[str | None] = None, limit: FromQuery[int | None] = None) -> ModelList:
    page = ok(await list_models(provider_id=provider_id, cursor=cursor, limit=limit,
                                operation_type=None if operation_type is None else str(operation_type)))
    return ModelList(items=[model_out(m) for m in page.items], next_cursor=page.next_cursor)


@get("/{model_id:path}", operation_id="getModel", summary="One model", description=doc(GetModel),
     dependencies=uses(get_model=GetModel), responses=problems(401, 404))
async def one_model(model_id: FromPath[str], principal: NamedDependency[Principal],
                    get_model: NamedDependency[GetModel]) -> ModelOut:
    return model_out(ok(await get_model(_id(model_id))))


@post("/", operation_id="createModel", status_code=201, summary="Add a model", description=doc(AddModel),
      dependencies=uses(add_model=AddModel), responses=problems(401, 403, 409, 422))
async def add(data: JSONBody[ModelIn], principal: NamedDependency[Principal],
              add_model: NamedDependency[AddModel]) -> ModelOut:
    return model_out(ok(await add_model(principal, data.to_domain())))


@patch("/{model_id:path}", operation_id="updateModel", summary="Change a model", description=doc(ChangeModel),
       dependencies=uses(change_model=ChangeModel), responses=problems(401, 403, 404, 422))
async def change(model_id: FromPath[str], data: JSONBody[ModelPatchIn], principal: NamedDependency[Principal],
                 change_model: NamedDependency[ChangeModel]) -> ModelOut:
    return model_out(ok(await change_model(principal, _id(model_id), data.to_domain())))


@delete("/{model_id:path}", operation_id="deleteModel", status_code=204, summary="Remove a model",
        description=doc(RemoveModel), dependencies=uses(remove_model=RemoveModel), responses=problems(401, 403, 404))
async def remove(model_id: FromPath[str], principal: NamedDependency[Principal],
                 remove_model: NamedDependency[RemoveModel]) -> None:
    ok(await remove_model(principal, _id(model_id)))


router = Router(path="/v1/models", tags=["models"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[models, one_model])
admin_router = Router(path="/v1/admin/models", tags=["admin"], guards=[require_admin], security=BEARER_SECURITY,
                      route_handlers=[add, change, remove])

"""API keys: one's own (signed-in sessions only), and minted by admins for any user."""

from __future__ import annotations

from litestar import Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.api_keys.manage import CreateApiKey, ListApiKeys, MintApiKey, RevokeApiKey
from application.auth.authenticate import Principal
from domain.errors import validation
from entrypoints.http.deps import BEARER_SECURITY, doc, require_admin, require_user, uses
from entrypoints.http.errors import ProblemException, ok, problems
from entrypoints.http.schemas_api_keys import ApiKeyIn, ApiKeyList, NewApiKeyOut, api_key_out, new_api_key_out
from entrypoints.http.schemas_common import fits_utc

SESSION_ONLY = "\n\nNeeds a signed-in session: an API key cannot manage keys (403)."


def _checked(data: ApiKeyIn) -> ApiKeyIn:
    if data.expires_at is not None and not fits_utc(data.expires_at):
        raise ProblemException(validation("expires_at is out of range", "expires_at"))
    return data


@post("/", status_code=201, summary="Make an API key", operation_id="createApiKey",
      description=doc(CreateApiKey) + SESSION_ONLY, dependencies=uses(create_api_key=CreateApiKey),
      responses=problems(401, 403, 409, 422))
async def create_key(data: JSONBody[ApiKeyIn], principal: NamedDependency[Principal],
                     create_api_key: NamedDependency[CreateApiKey]) -> NewApiKeyOut:
    return new_api_key_out(ok(await create_api_key(principal.user_id, _checked(data).to_request())))


@get("/", summary="My API keys", operation_id="listApiKeys", description=doc(ListApiKeys) + SESSION_ONLY,
     dependencies=uses(list_api_keys=ListApiKeys), responses=problems(401, 403))
async def list_keys(principal: NamedDependency[Principal], list_api_keys: NamedDependency[ListApiKeys]) -> ApiKeyList:
    return ApiKeyList(items=[api_key_out(k) for k in ok(await list_api_keys(principal.user_id))])


@delete("/{key_id:str}", status_code=204, summary="Revoke an API key", operation_id="revokeApiKey",
        description=doc(RevokeApiKey) + SESSION_ONLY, dependencies=uses(revoke_api_key=RevokeApiKey),
        responses=problems(401, 403, 404))
async def revoke_key(key_id: FromPath[str], principal: NamedDependency[Principal],
                     revoke_api_key: NamedDependency[RevokeApiKey]) -> None:
    ok(await revoke_api_key(principal.user_id, key_id))


@post("/users/{user_id:str}/api-keys", status_code=201, summary="Make an API key for a user",
      operation_id="mintUserApiKey", description=doc(MintApiKey), dependencies=uses(mint_api_key=MintApiKey),
      responses=problems(401, 403, 404, 409, 422))
async def mint_key(user_id: FromPath[str], data: JSONBody[ApiKeyIn], principal: NamedDependency[Principal],
                   mint_api_key: NamedDependency[MintApiKey]) -> NewApiKeyOut:
    return new_api_key_out(ok(await mint_api_key(principal, user_id, _checked(data).to_request())))


router = Router(path="/v1/api-keys", tags=["api keys"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[create_key, list_keys, revoke_key])
admin_router = Router(path="/v1/admin", tags=["admin"], guards=[require_admin], security=BEARER_SECURITY,
                      route_handlers=[mint_key])

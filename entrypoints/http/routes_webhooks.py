"""Provider callbacks. No provider verifies webhook signatures yet, so every call is refused."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.params import FromPath

from domain.errors import not_found, unauthenticated
from entrypoints.http.deps import ports_of
from entrypoints.http.errors import ProblemException, problems

MAX_WEBHOOK_BODY = 256 * 1024


@post("/{provider_id:str}", status_code=204, summary="Provider callback", request_max_body_size=MAX_WEBHOOK_BODY,
      responses=problems(401, 404), description=(
          "A provider reports on its jobs. The provider's signature is the only authentication "
          "(no bearer token); unsigned, stale or replayed calls are rejected.\n\n"
          "- An unknown provider is 404 NOT_FOUND.\n"
          "- None of the current providers verifies signatures, so every call is 401 "
          "UNAUTHENTICATED; jobs finish through polling either way."))
async def callback(request: Request[Any, Any, Any], provider_id: FromPath[str]) -> None:
    if ports_of(request).providers.get(provider_id) is None:
        raise ProblemException(not_found("provider"))
    raise ProblemException(unauthenticated(f"provider {provider_id} does not verify webhook signatures"))


router = Router(path="/v1/webhooks", tags=["webhooks"], route_handlers=[callback])

"""Provider callbacks: the provider's signature is the only authentication."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from application.pipeline.webhook import AcceptWebhook
from entrypoints.http.deps import doc, uses
from entrypoints.http.errors import ok, problems

MAX_WEBHOOK_BODY = 256 * 1024


@post("/{provider_id:str}", operation_id="receiveWebhook", status_code=204, summary="Provider callback", request_max_body_size=MAX_WEBHOOK_BODY,
      responses=problems(401, 404, 413), description=doc(AcceptWebhook), dependencies=uses(accept=AcceptWebhook))
async def callback(request: Request[Any, Any, Any], provider_id: FromPath[str],
                   accept: NamedDependency[AcceptWebhook]) -> None:
    body = await request.body()
    ok(await accept(provider_id, {k.lower(): v for k, v in request.headers.items()}, body))


router = Router(path="/v1/webhooks", tags=["webhooks"], route_handlers=[callback])

"""Outbound webhooks (Standard Webhooks): a user's endpoints, their delivery log, replays,
and the default secret that signs deliveries to a job's own `webhook_url`."""

from __future__ import annotations

from litestar import Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from application.auth.authenticate import Principal
from application.webhooks.deliveries import ListDeliveries, ListJobDeliveries, ReplayDelivery
from application.webhooks.endpoints import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetSigningSecret,
    GetWebhookEndpoint,
    ListWebhookEndpoints,
    RotateWebhookSecret,
    UpdateWebhookEndpoint,
)
from entrypoints.http.deps import BEARER_SECURITY, doc, require_user, uses
from entrypoints.http.errors import ok, problems
from entrypoints.http.schemas_webhooks import (
    DeliveryList,
    DeliveryOut,
    SigningSecretOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointPatchIn,
    delivery_list,
    delivery_out,
    endpoint_created_out,
    endpoint_out,
)

ENDPOINT = "/{endpoint_id:str}"


@post("/", status_code=201, operation_id="createWebhookEndpoint", summary="Add a webhook endpoint",
      description=doc(CreateWebhookEndpoint), dependencies=uses(create=CreateWebhookEndpoint),
      responses=problems(401, 409, 422))
async def create(data: JSONBody[WebhookEndpointIn], principal: NamedDependency[Principal],
                 create: NamedDependency[CreateWebhookEndpoint]) -> WebhookEndpointCreatedOut:
    made = ok(await create(principal, data.url, None if data.events is None else [str(e) for e in data.events],
                           data.description))
    return endpoint_created_out(made.endpoint, made.secret)


@get("/", operation_id="listWebhookEndpoints", summary="My webhook endpoints",
     description=doc(ListWebhookEndpoints), dependencies=uses(list_endpoints=ListWebhookEndpoints),
     responses=problems(401))
async def mine(principal: NamedDependency[Principal],
               list_endpoints: NamedDependency[ListWebhookEndpoints]) -> WebhookEndpointList:
    return WebhookEndpointList(items=[endpoint_out(e) for e in ok(await list_endpoints(principal))])


@get(ENDPOINT, operation_id="getWebhookEndpoint", summary="One webhook endpoint",
     description=doc(GetWebhookEndpoint), dependencies=uses(get_endpoint=GetWebhookEndpoint),
     responses=problems(401, 404))
async def one(endpoint_id: FromPath[str], principal: NamedDependency[Principal],
              get_endpoint: NamedDependency[GetWebhookEndpoint]) -> WebhookEndpointOut:
    return endpoint_out(ok(await get_endpoint(principal, endpoint_id)))


@patch(ENDPOINT, operation_id="updateWebhookEndpoint", summary="Change a webhook endpoint",
       description=doc(UpdateWebhookEndpoint), dependencies=uses(update=UpdateWebhookEndpoint),
       responses=problems(401, 404, 422))
async def change(endpoint_id: FromPath[str], data: JSONBody[WebhookEndpointPatchIn],
                 principal: NamedDependency[Principal],
                 update: NamedDependency[UpdateWebhookEndpoint]) -> WebhookEndpointOut:
    return endpoint_out(ok(await update(
        principal, endpoint_id, url=data.url, description=data.description, disabled=data.disabled,
        events=None if data.events is None else [str(e) for e in data.events])))


@delete(ENDPOINT, status_code=204, operation_id="deleteWebhookEndpoint", summary="Remove a webhook endpoint",
        description=doc(DeleteWebhookEndpoint), dependencies=uses(remove=DeleteWebhookEndpoint),
        responses=problems(401, 404))
async def remove(endpoint_id: FromPath[str], principal: NamedDependency[Principal],
                 remove: NamedDependency[DeleteWebhookEndpoint]) -> None:
    ok(await remove(principal, endpoint_id))


@post(ENDPOINT + "/rotate-secret", status_code=200, operation_id="rotateWebhookEndpointSecret",
      summary="Rotate an endpoint's signing secret", description=doc(RotateWebhookSecret),
      dependencies=uses(rotate=RotateWebhookSecret), responses=problems(401, 404))
async def rotate(endpoint_id: FromPath[str], principal: NamedDependency[Principal],
                 rotate: NamedDependency[RotateWebhookSecret]) -> WebhookEndpointCreatedOut:
    rotated = ok(await rotate(principal, endpoint_id))
    return endpoint_created_out(rotated.endpoint, rotated.secret)


@get(ENDPOINT + "/deliveries", operation_id="listWebhookDeliveries", summary="An endpoint's delivery log",
     description=doc(ListDeliveries), dependencies=uses(list_deliveries=ListDeliveries),
     responses=problems(401, 404, 422))
async def deliveries(endpoint_id: FromPath[str], principal: NamedDependency[Principal],
                     list_deliveries: NamedDependency[ListDeliveries], cursor: FromQuery[str | None] = None,
                     limit: FromQuery[int | None] = None) -> DeliveryList:
    return delivery_list(ok(await list_deliveries(principal, endpoint_id, cursor, limit)))


@post(ENDPOINT + "/deliveries/{delivery_id:str}/replay", status_code=202, operation_id="replayWebhookDelivery",
      summary="Send a delivery again", description=doc(ReplayDelivery), dependencies=uses(replay=ReplayDelivery),
      responses=problems(401, 404))
async def replay(endpoint_id: FromPath[str], delivery_id: FromPath[str], principal: NamedDependency[Principal],
                 replay: NamedDependency[ReplayDelivery]) -> DeliveryOut:
    return delivery_out(ok(await replay(principal, endpoint_id, delivery_id)), [])


@get("/", operation_id="getWebhookSigningSecret", summary="My default webhook signing secret",
     description=doc(GetSigningSecret), dependencies=uses(get_secret=GetSigningSecret), responses=problems(401))
async def signing_secret(principal: NamedDependency[Principal],
                         get_secret: NamedDependency[GetSigningSecret]) -> SigningSecretOut:
    return SigningSecretOut(secret=ok(await get_secret(principal)))


@get("/{job_id:str}/webhook-deliveries", operation_id="listJobWebhookDeliveries",
     summary="A job's webhook deliveries", description=doc(ListJobDeliveries),
     dependencies=uses(list_job_deliveries=ListJobDeliveries), responses=problems(401, 404))
async def job_deliveries(job_id: FromPath[str], principal: NamedDependency[Principal],
                         list_job_deliveries: NamedDependency[ListJobDeliveries]) -> DeliveryList:
    return delivery_list(ok(await list_job_deliveries(principal, job_id)))


router = Router(path="/v1/webhook-endpoints", tags=["webhooks"], guards=[require_user], security=BEARER_SECURITY,
                route_handlers=[create, mine, one, change, remove, rotate, deliveries, replay])
secret_router = Router(path="/v1/users/me/webhook-secret", tags=["webhooks"], guards=[require_user],
                       security=BEARER_SECURITY, route_handlers=[signing_secret])
job_router = Router(path="/v1/jobs", tags=["webhooks"], guards=[require_user], security=BEARER_SECURITY,
                    route_handlers=[job_deliveries])

"""/schema/openapi.json as served: Litestar's document, completed where Litestar cannot see.

- Request bodies (`In` structs) are described by msgspec, the decoder that enforces them
  (strictly, see `strict_json_body`): unknown fields, bounds, patterns and extra keywords are
  in the schema exactly as they are in force. Litestar's own rendering drops some of them.
- A job body is one of the configured providers' operations: `provider_id`,
  `operation_type`, `params` and the number of inputs are tied together (`oneOf`).
- Account bodies name the configured providers.
- Webhook URLs are https only, unless the server allows private (and http) targets.
- A 415 for every operation with a JSON body (see `strict_json_body`).
- No 400s: Litestar documents one for every route with parameters, but this API answers
  malformed requests with a 422 problem (each route lists its own); the OpenAI-compatible
  routes keep theirs (OpenAI's error shape, `ErrorOut`).

Done when the schema is served, so building the app stays cheap and the providers are the
configured ones.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.utils.scope.state import ScopeState

from application.models.catalog import ModelCatalog
from application.policy import Policies
from domain.errors import DomainError, ErrorCode
from domain.models import Model
from domain.providers import OperationSpec, ProviderInfo
from entrypoints.http.deps import container_of, ports_of
from entrypoints.http.errors import PROBLEM_EXAMPLES, ProblemException, problem_example
from entrypoints.http.schemas_accounts import AccountIn
from entrypoints.http.schemas_common import In
from entrypoints.http.schemas_jobs import WEBHOOK_URL_PATTERN, JobIn, QuoteIn, inline_root
from entrypoints.http.schemas_models import ModelIn, OperationsIn

REF_PREFIX = "#/components/schemas/"


class ServedSchema(JsonRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        served = copy.deepcopy(openapi_schema)  # Litestar caches the one it hands over
        drop_litestar_400s(served)
        document_415s(served)
        tidy_examples(served)
        add_body_examples(served)
        components: dict[str, Any] = served.setdefault("components", {}).setdefault("schemas", {})
        describe_bodies(components)
        if not container_of(request).resolve(Policies).webhooks.allow_private:
            served["components"]["schemas"] = components = _with_https_webhooks(components)
        providers = ports_of(request).providers.all()
        models = container_of(request).resolve(ModelCatalog).snapshot()
        components[JobIn.__name__] = job_body(components[JobIn.__name__], providers, components, models)
        components[QuoteIn.__name__] = job_body(components[QuoteIn.__name__], providers, components, models,
                                                inputs=False)
        for body in (AccountIn, ModelIn):
            components[body.__name__]["properties"]["provider_id"]["enum"] = sorted(p.id for p in providers)
        components[OperationsIn.__name__]["minProperties"] = 1  # no operations: 422 (domain/models.py)
        return super().render(request, served)


HTTPS_WEBHOOK_URL_PATTERN = WEBHOOK_URL_PATTERN.replace("^https?://", "^https://")


def _with_https_webhooks(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _with_https_webhooks(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_https_webhooks(item) for item in node]
    return HTTPS_WEBHOOK_URL_PATTERN if node == WEBHOOK_URL_PATTERN else node


def drop_litestar_400s(schema: dict[str, Any]) -> None:
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and not answers_openai_400(operation):
                operation.get("responses", {}).pop("400", None)


def answers_openai_400(operation: dict[str, Any]) -> bool:
    content = operation.get("responses", {}).get("400", {}).get("content", {})
    return bool(content.get("application/json", {}).get("schema", {}).get("$ref", "").endswith("/ErrorOut"))


def document_415s(schema: dict[str, Any]) -> None:
    """Every operation with a JSON body answers 415 to any other content type."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "application/json" in operation.get("requestBody", {}).get("content", {}):
                [(code, detail, field)] = PROBLEM_EXAMPLES[415]
                example = problem_example(415, str(code), detail, field)
                operation.setdefault("responses", {}).setdefault("415", {
                    "description": "Unsupported Media Type",
                    "content": {"application/problem+json": {
                        "schema": {"$ref": REF_PREFIX + "Problem"},
                        "examples": {str(code): {"summary": example.summary, "value": example.value}}}}})


# A real body for every JSON request (by its schema's name), as a client would send it.
BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "ModelIn": {"provider_id": "sim", "remote_id": "image-hq", "name": "HQ images",
                "operations": {"text_to_image": {"inputs": 0}, "image_to_image": {"inputs": ["image"]}},
                "price": {"credits_per_unit": 2, "unit": "image", "quantity_param": "num_images"},
                "params_schema": {"type": "object", "properties": {"prompt": {"type": "string", "minLength": 1}},
                                  "required": ["prompt"]},
                "aliases": ["hq"]},
    "ModelPatchIn": {"price": {"credits_per_unit": 3, "unit": "image", "quantity_param": "num_images"}},
    "RegisterIn": {"email": "ada@example.com", "username": "ada", "password": "correct horse battery"},
    "LoginIn": {"email": "ada@example.com", "password": "correct horse battery"},
    "RefreshIn": {"refresh_token": "01JD8Z7K3Q4V5W6X7Y8Z9A0B1C.Vw3r8c3C3lR1Hq9J1mXoZb8o8Gq2T1yPp6sQx0aK4fE"},
    "JobIn": {"provider_id": "sim", "operation_type": "text_to_image",
              "params": {"prompt": "a red fox in the snow", "seed": 7}, "priority": 5},
    "QuoteIn": {"provider_id": "sim", "operation_type": "text_to_video",
                "params": {"prompt": "waves on a beach", "seconds": 3}},
    "AccountIn": {"provider_id": "sim", "label": "sim pool 4", "secret": "sim-key-4", "credits": 5000,
                  "max_concurrent_jobs": 4},
    "AccountPatchIn": {"label": "sim pool 4 (spare)", "priority": 2},
    "AccountCreditsIn": {"amount": 1000},
    "UserPatchIn": {"is_active": True},
    "GrantIn": {"amount": 500, "memo": "welcome bonus"},
    "PasswordChangeIn": {"current_password": "correct horse battery", "new_password": "staple battery horse 2"},
    "ApiKeyIn": {"name": "render backend", "scopes": ["jobs:read", "jobs:write"]},
    "BatchIn": {"jobs": [
        {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a red fox"}, "name": "fox"},
        {"provider_id": "sim", "operation_type": "text_to_image", "params": {"prompt": "a snow owl"}, "name": "owl"}]},
    "WebhookEndpointIn": {"url": "https://hooks.example.com/pixrelay", "events": ["job.completed", "job.failed"],
                          "description": "render backend"},
    "WebhookEndpointPatchIn": {"events": ["job.completed"], "disabled": False},
    "ImageGenerationIn": {"model": "sim/image", "prompt": "a red fox in the snow", "n": 2, "size": "256x256",
                          "response_format": "b64_json"},
}


def tidy_examples(schema: dict[str, Any]) -> None:
    """Litestar writes an Example's `id` into it; OpenAPI has no such field."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    for example in media.get("examples", {}).values():
                        example.pop("id", None)


def add_body_examples(schema: dict[str, Any]) -> None:
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            name = str((media or {}).get("schema", {}).get("$ref", "")).removeprefix(REF_PREFIX)
            if media is not None and name in BODY_EXAMPLES:
                media["examples"] = {name: {"summary": f"a {name.removesuffix('In')} body",
                                            "value": BODY_EXAMPLES[name]}}


def body_structs() -> Iterator[type[In]]:
    pending: list[type[In]] = [In]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not In:
            yield cls


def describe_bodies(components: dict[str, Any]) -> None:
    structs = sorted(body_structs(), key=lambda cls: cls.__name__)
    _, generated = msgspec.json.schema_components(structs, ref_template=REF_PREFIX + "{name}")
    names = {cls.__name__ for cls in structs}
    for name, schema in generated.items():
        if name in names or name not in components:
            components[name] = schema


def job_body(base: dict[str, Any], providers: Sequence[ProviderInfo], components: dict[str, Any],
             models: Sequence[Model] = (), *, inputs: bool = True) -> dict[str, Any]:
    """One variant of `base` per provider operation, naming the provider, or a model with
    that operation's params (admins' models take params of their own: GET /v1/models); with
    the operation's input count when `inputs` (a quote does not look at inputs)."""
    variants = [_variant(base, info, spec, components, inputs, _models_like(models, info, spec))
                for info in providers for spec in info.operations]
    description = base.get("description") or (
        "A job for one of the operations `GET /v1/providers` lists, on the provider's default model "
        "or a model `GET /v1/models` lists.")
    if inputs:
        description += " A child job (`parent_job_id`) may send fewer inputs: its parent's results fill them."
    return {"title": base.get("title", "JobIn"), "oneOf": variants, "description": description}


def _models_like(models: Sequence[Model], info: ProviderInfo, spec: OperationSpec) -> list[str]:
    """The models of the provider that run the operation with its declared params."""
    found = []
    for model in models:
        operation = model.operation(spec.operation_type) if model.provider_id == info.id else None
        if operation is not None and (operation.params_type or model.params_type) is spec.params_type \
                and (operation.min_inputs, operation.max_inputs) == (spec.min_inputs, spec.max_inputs):
            found.append(model.id)
    return sorted(found)


def _variant(base: dict[str, Any], info: ProviderInfo, spec: OperationSpec, components: dict[str, Any],
             inputs: bool, models: list[str]) -> dict[str, Any]:
    variant = copy.deepcopy(base)
    properties = variant["properties"]
    properties["provider_id"] = {"anyOf": [{"type": "string", "const": info.id}, {"type": "null"}]}
    named: list[dict[str, Any]] = [{"required": ["provider_id"], "properties": {"provider_id": {"type": "string"}}}]
    if models:
        properties["model"] = {"anyOf": [{"type": "string", "enum": models}, {"type": "null"}]}
        named.append({"required": ["model"], "properties": {"model": {"type": "string"}}})
    else:
        properties["model"] = {"type": "null"}
    properties["operation_type"] = {"type": "string", "const": str(spec.operation_type)}
    params = _params_schema(info, spec, components)
    properties["params"] = {"$ref": REF_PREFIX + _params_component(info, spec, params, components)}
    if inputs:
        properties["input_asset_ids"].update(maxItems=spec.max_inputs, uniqueItems=True)
    variant["allOf"] = [{"anyOf": named}]  # a provider (its default model) or a model, or both
    if inputs and spec.min_inputs:  # unless the job has a parent, whose results make up for missing inputs
        variant["allOf"].append({"anyOf": [
            {"required": ["input_asset_ids"], "properties": {"input_asset_ids": {"minItems": spec.min_inputs}}},
            {"required": ["parent_job_id"], "properties": {"parent_job_id": {"type": "string"}}}]})
    if params.get("required"):
        variant["required"] = sorted({*variant.get("required", []), "params"})
    # titles name generated models: unique across the job and the quote body
    variant["title"] = f"{base.get('title', 'JobIn')} {info.id} {spec.operation_type}"
    return variant


def _params_component(info: ProviderInfo, spec: OperationSpec, params: dict[str, Any],
                      components: dict[str, Any]) -> str:
    """The params schema as a component of its own, shared by every operation (and by the job and
    the quote body) with the same params: one model each in a generated client."""
    name = f"{info.id}.{params.get('title') or spec.operation_type}"
    if components.get(name, params) != params:  # same title, other params
        name = f"{info.id}.{spec.operation_type}.params"
        params = {**params, "title": f"{info.id} {spec.operation_type} params"}
    components[name] = params
    return name


def _params_schema(info: ProviderInfo, spec: OperationSpec, components: dict[str, Any]) -> dict[str, Any]:
    """The operation's params schema, its `$defs` moved to the components under the provider's name."""
    schema = inline_root(spec.params_schema())
    defs: dict[str, Any] = schema.pop("$defs", {})
    renamed = {f"#/$defs/{name}": f"{REF_PREFIX}{info.id}.{name}" for name in defs}
    for name, definition in defs.items():
        components[f"{info.id}.{name}"] = _typed_enums(_with_refs(definition, renamed))
    moved: dict[str, Any] = _typed_enums(_with_refs(schema, renamed))
    return moved


def _typed_enums(node: Any) -> Any:
    """msgspec writes a Literal of strings as a bare `enum`; client generators want its type."""
    if isinstance(node, dict):
        typed = {key: _typed_enums(value) for key, value in node.items()}
        enum = typed.get("enum")
        if isinstance(enum, list) and enum and "type" not in typed and all(isinstance(v, str) for v in enum):
            typed["type"] = "string"
        return typed
    if isinstance(node, list):
        return [_typed_enums(item) for item in node]
    return node


def _with_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: renamed.get(value, value) if key == "$ref" else _with_refs(value, renamed)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_with_refs(item, renamed) for item in node]
    return node


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """`before_request`: a JSON body is checked against its `In` struct as its schema reads.

    A body sent under any other content type than JSON is a 415 (`text/plain` created jobs:
    Litestar parses whatever it is given).

    Litestar converts bodies leniently (`"5"` for an int, `0` for a date-time), so requests
    the schema calls invalid were accepted; here a wrong type is a 422. JSON Schema counts
    `9.0` as an integer, which msgspec's strict mode would refuse: whole floats become ints
    first, and that document is what Litestar's own parsing then reads."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    target = getattr(field, "annotation", None)
    if not (isinstance(target, type) and issubclass(target, In)):
        return
    if not is_json(request.headers.get("content-type")):
        raise ProblemException(DomainError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "send this body as application/json (a charset parameter and +json types are fine)"))
    try:
        document = whole_numbers(msgspec.json.decode(await request.body()))
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own parsing reports it
    try:
        msgspec.convert(document, target, strict=True)
    except msgspec.ValidationError as error:
        raise ValidationException(detail=f"Validation failed for {request.method} {request.url.path}",
                                  extra=[{"message": str(error), "key": "data", "source": "body"}]) from None
    ScopeState.from_scope(request.scope).json = document  # Request.json() reads this cache


def is_json(content_type: str | None) -> bool:
    """`application/json` or `application/<anything>+json`, whatever its parameters and case."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or (subtype.endswith("+json") and len(subtype) > 5))


def whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value

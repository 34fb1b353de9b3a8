"""Bodies of the model catalog routes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from application.models.admin import ModelDraft, ModelPatch
from domain.jobs import OperationType
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit
from entrypoints.http.schemas_common import In
from entrypoints.http.schemas_jobs import inline_root

Field = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]
Alias = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\-]+$")]
RemoteId = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._:/\-]+$",
                              examples=["black-forest-labs/flux-dev"],
                              description="the provider's own model id: a slug, owner/name:version, an endpoint")]
SCHEMA_EXAMPLE = {"type": "object", "properties": {"prompt": {"type": "string", "minLength": 1}},
                  "required": ["prompt"]}


class PriceIn(In, frozen=True):
    """`credits_per_unit` times the quantity: per job, per image, or per started second; the
    quantity is the number in the params' `quantity_param` (else `default_quantity`), at least 1."""

    credits_per_unit: Annotated[int, Meta(ge=0, le=1_000_000)]
    unit: PriceUnit = PriceUnit.JOB
    quantity_param: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    default_quantity: Annotated[float, Meta(ge=0, le=1_000_000)] = 1

    def to_domain(self) -> PriceRule:
        return PriceRule(credits_per_unit=self.credits_per_unit, unit=self.unit, quantity_param=self.quantity_param,
                         default_quantity=self.default_quantity)


class OperationIn(In, frozen=True):
    """One operation the model offers. `inputs`: how many input assets it takes (the adapter
    places them), or the names of the request fields they go in, one per input (Replicate,
    fal: e.g. `["image"]`). `default`: it is its provider's default model for the operation."""

    inputs: Annotated[int, Meta(ge=0, le=16)] | Annotated[list[Field], Meta(max_length=16)] = 0
    default: bool = False

    def to_domain(self, operation_type: OperationType) -> ModelOperation:
        fields = tuple(self.inputs) if isinstance(self.inputs, list) else ()
        count = len(fields) if isinstance(self.inputs, list) else self.inputs
        return ModelOperation(operation_type=operation_type, min_inputs=count, max_inputs=count, input_fields=fields)


class OperationsIn(In, frozen=True):
    """The operations it offers, by type: at least one."""

    text_to_image: OperationIn | UnsetType = UNSET
    image_to_image: OperationIn | UnsetType = UNSET
    text_to_video: OperationIn | UnsetType = UNSET
    image_to_video: OperationIn | UnsetType = UNSET
    video_extend: OperationIn | UnsetType = UNSET
    video_transition: OperationIn | UnsetType = UNSET
    upscale: OperationIn | UnsetType = UNSET

    def offered(self) -> dict[OperationType, OperationIn]:
        return {kind: op for kind in OperationType if isinstance(op := getattr(self, kind.value), OperationIn)}


Operations = Annotated[OperationsIn, Meta(examples=[{"text_to_image": {}}])]
Aliases = Annotated[list[Alias], Meta(max_length=20)]
ParamsSchema = Annotated[dict[str, Any], Meta(examples=[SCHEMA_EXAMPLE], description=(
    "a JSON Schema of an object: job params are checked against it and sent as they are"))]


def operations_of(operations: OperationsIn) -> tuple[tuple[ModelOperation, ...], tuple[OperationType, ...]]:
    ordered = list(operations.offered().items())
    return (tuple(op.to_domain(kind) for kind, op in ordered),
            tuple(kind for kind, op in ordered if op.default))


class ModelIn(In, frozen=True):
    """Its id is `<provider_id>/<remote_id>`."""

    provider_id: Annotated[str, Meta(min_length=1, max_length=64, examples=["replicate"])]
    remote_id: RemoteId
    operations: Operations
    price: PriceIn
    params_schema: ParamsSchema | None = None
    name: Annotated[str, Meta(max_length=200)] = ""
    aliases: Aliases = msgspec.field(default_factory=list)

    def to_domain(self) -> ModelDraft:
        operations, default_for = operations_of(self.operations)
        return ModelDraft(provider_id=self.provider_id, remote_id=self.remote_id, operations=operations,
                          price=self.price.to_domain(), params_schema=self.params_schema, name=self.name,
                          aliases=tuple(self.aliases), default_for=default_for)


class ModelPatchIn(In, frozen=True):
    """Omitted fields stay as they are."""

    remote_id: RemoteId | None = None
    name: Annotated[str, Meta(max_length=200)] | None = None
    operations: Operations | None = None
    price: PriceIn | None = None
    params_schema: ParamsSchema | None = None
    aliases: Aliases | None = None

    def to_domain(self) -> ModelPatch:
        operations, default_for = operations_of(self.operations) if self.operations is not None else (None, None)
        return ModelPatch(
            remote_id=self.remote_id, name=self.name, operations=operations, default_for=default_for,
            price=None if self.price is None else self.price.to_domain(), params_schema=self.params_schema,
            aliases=None if self.aliases is None else tuple(self.aliases))


class ModelPriceOut(msgspec.Struct, kw_only=True):
    credits_per_unit: int
    unit: PriceUnit
    quantity_param: str | None
    default_quantity: float


class ModelOperationOut(msgspec.Struct, kw_only=True):
    """`input_fields`: where its inputs go in the provider's request, when the model names them."""

    operation_type: OperationType
    min_inputs: int
    max_inputs: int
    input_fields: list[str]
    params_schema: dict[str, Any]  # the model's, unless this operation takes params of its own


class ModelOut(msgspec.Struct, kw_only=True):
    id: str
    provider_id: str
    remote_id: str
    name: str
    aliases: list[str]
    operations: list[ModelOperationOut]
    params_schema: dict[str, Any]
    price: ModelPriceOut
    default_for: list[OperationType]
    builtin: bool


class ModelList(msgspec.Struct, kw_only=True):
    items: list[ModelOut]
    next_cursor: str | None = None


def model_out(model: Model) -> ModelOut:
    return ModelOut(
        id=model.id, provider_id=model.provider_id, remote_id=model.remote_id, name=model.name,
        aliases=list(model.aliases),
        operations=[ModelOperationOut(operation_type=op.operation_type, min_inputs=op.min_inputs,
                                      max_inputs=op.max_inputs, input_fields=list(op.input_fields),
                                      params_schema=inline_root(model.params_schema(op)))
                    for op in model.operations],
        params_schema=inline_root(model.params_schema()),
        price=ModelPriceOut(credits_per_unit=model.price.credits_per_unit, unit=model.price.unit,
                            quantity_param=model.price.quantity_param, default_quantity=model.price.default_quantity),
        default_for=list(model.default_for), builtin=model.builtin)

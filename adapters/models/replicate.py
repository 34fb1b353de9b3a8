"""Replicate's models: its official FLUX, Kling and Veo models and an upscaler.

Ids are Replicate's own "owner/name" (an official model's latest version); a model pinned to a
version is "owner/name:version". Prices in credits (about US$0.01 each), Replicate's list prices
when written, rounded up.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from adapters.providers.replicate import (
    DEFAULT_ROUTES,
    REPLICATE_PROVIDER_ID,
    AspectRatio,
    Prompt,
    Seed,
)
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit

OutputFormat = Literal["webp", "jpg", "png"]


class Flux11ProParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """black-forest-labs/flux-1.1-pro inputs."""

    prompt: Prompt
    aspect_ratio: AspectRatio = "1:1"
    output_format: OutputFormat = "webp"
    output_quality: Annotated[int, msgspec.Meta(ge=0, le=100)] = 80
    safety_tolerance: Annotated[int, msgspec.Meta(ge=1, le=6)] = 2
    prompt_upsampling: bool = False
    seed: Seed | None = None


class FluxDevParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """black-forest-labs/flux-dev inputs."""

    prompt: Prompt
    aspect_ratio: AspectRatio = "1:1"
    num_outputs: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1
    num_inference_steps: Annotated[int, msgspec.Meta(ge=1, le=50)] = 28
    guidance: Annotated[float, msgspec.Meta(ge=0, le=10)] = 3
    output_format: OutputFormat = "webp"
    seed: Seed | None = None


class Kling21Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """kwaivgi/kling-v2.1 inputs (image-to-video only: the image goes in `start_image`)."""

    prompt: Prompt
    mode: Literal["standard", "pro"] = "standard"
    duration: Literal[5, 10] = 5
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] = ""


class Veo3Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """google/veo-3-fast inputs (text-to-video; an image, if any, goes in `image`)."""

    prompt: Prompt
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    duration: Literal[4, 6, 8] = 8
    resolution: Literal["720p", "1080p"] = "720p"
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] | None = None
    generate_audio: bool = True
    seed: Seed | None = None


def _op(operation: Op, *fields: str) -> ModelOperation:
    return ModelOperation(operation_type=operation, min_inputs=len(fields), max_inputs=len(fields),
                          input_fields=fields)


def _default(*operations: Op, model: str, name: str, aliases: tuple[str, ...] = ()) -> Model:
    """A model some operations run on by default: the adapter's own route, params and price."""
    first = DEFAULT_ROUTES[operations[0]]
    return Model(id=f"{REPLICATE_PROVIDER_ID}/{model}", provider_id=REPLICATE_PROVIDER_ID, remote_id=model,
                 name=name, operations=tuple(_op(op, *DEFAULT_ROUTES[op].input_fields) for op in operations),
                 params_type=first.params, price=first.price, aliases=aliases, default_for=operations)


def _model(model: str, name: str, params: type[msgspec.Struct], price: PriceRule, *operations: ModelOperation,
           aliases: tuple[str, ...] = ()) -> Model:
    return Model(id=f"{REPLICATE_PROVIDER_ID}/{model}", provider_id=REPLICATE_PROVIDER_ID, remote_id=model,
                 name=name, operations=operations, params_type=params, price=price, aliases=aliases)


REPLICATE_MODELS: tuple[Model, ...] = (
    _default(Op.TEXT_TO_IMAGE, model="black-forest-labs/flux-schnell", name="FLUX.1 [schnell]",
             aliases=("flux-schnell",)),
    _model("black-forest-labs/flux-1.1-pro", "FLUX1.1 [pro]", Flux11ProParams,
           PriceRule(credits_per_unit=4, unit=PriceUnit.IMAGE), _op(Op.TEXT_TO_IMAGE), aliases=("flux-1.1-pro",)),
    _model("black-forest-labs/flux-dev", "FLUX.1 [dev]", FluxDevParams,
           PriceRule(credits_per_unit=3, unit=PriceUnit.IMAGE, quantity_param="num_outputs"),
           _op(Op.TEXT_TO_IMAGE), aliases=("flux-dev",)),
    _default(Op.IMAGE_TO_IMAGE, model="black-forest-labs/flux-kontext-pro", name="FLUX.1 Kontext [pro]",
             aliases=("flux-kontext-pro",)),
    _default(Op.TEXT_TO_VIDEO, Op.IMAGE_TO_VIDEO, model="kwaivgi/kling-v1.6-standard",
             name="Kling v1.6 standard", aliases=("kling-v1.6",)),
    _model("kwaivgi/kling-v2.1", "Kling v2.1", Kling21Params,
           PriceRule(credits_per_unit=6, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5),
           _op(Op.IMAGE_TO_VIDEO, "start_image"), aliases=("kling-v2.1",)),
    _model("google/veo-3-fast", "Veo 3 Fast", Veo3Params,
           PriceRule(credits_per_unit=40, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=8),
           _op(Op.TEXT_TO_VIDEO), _op(Op.IMAGE_TO_VIDEO, "image"), aliases=("veo-3-fast",)),
    _default(Op.UPSCALE, model="topazlabs/image-upscale", name="Topaz image upscale"),
)

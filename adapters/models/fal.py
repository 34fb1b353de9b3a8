"""fal's models: FLUX, Kling and Veo endpoints and an upscaler.

Ids are fal's endpoint ids ("owner/app[/path]"), posted to the queue as they are. Params are
the endpoint's own inputs spelled as fal takes them (Kling 2.1's and Veo 3's durations are
text: "5", "8s"; the price reads the number in them). Prices in credits (about US$0.01 each).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from adapters.providers.fal import DEFAULT_ROUTES, FAL_PROVIDER_ID, ImageSize, NumImages, Prompt, Seed
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit


class FluxDevParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/flux/dev inputs."""

    prompt: Prompt
    image_size: ImageSize = "landscape_4_3"
    num_inference_steps: Annotated[int, msgspec.Meta(ge=1, le=50)] = 28
    guidance_scale: Annotated[float, msgspec.Meta(ge=1, le=20)] = 3.5
    num_images: NumImages = 1
    seed: Seed | None = None


class FluxProParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/flux-pro/v1.1 inputs."""

    prompt: Prompt
    image_size: ImageSize = "landscape_4_3"
    num_images: NumImages = 1
    output_format: Literal["jpeg", "png"] = "jpeg"
    safety_tolerance: Literal["1", "2", "3", "4", "5", "6"] = "2"
    seed: Seed | None = None


class Kling21TextParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/kling-video/v2.1/master/text-to-video inputs."""

    prompt: Prompt
    duration: Literal["5", "10"] = "5"
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] = "blur, distort, and low quality"
    cfg_scale: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5


class Veo3Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """fal-ai/veo3 inputs."""

    prompt: Prompt
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    duration: Literal["4s", "6s", "8s"] = "8s"
    resolution: Literal["720p", "1080p"] = "720p"
    negative_prompt: Annotated[str, msgspec.Meta(max_length=2500)] | None = None
    generate_audio: bool = True
    seed: Seed | None = None


def _default(operation: Op, name: str, aliases: tuple[str, ...] = ()) -> Model:
    """The endpoint an operation runs on by default: the adapter's own route, params and price."""
    route = DEFAULT_ROUTES[operation]
    inputs = len(route.input_fields)
    return Model(id=f"{FAL_PROVIDER_ID}/{route.endpoint}", provider_id=FAL_PROVIDER_ID, remote_id=route.endpoint,
                 name=name, operations=(ModelOperation(operation_type=operation, min_inputs=inputs, max_inputs=inputs,
                                                       input_fields=route.input_fields),),
                 params_type=route.params, price=route.price, aliases=aliases, default_for=(operation,))


def _model(endpoint: str, name: str, operation: Op, params: type[msgspec.Struct], price: PriceRule,
           aliases: tuple[str, ...] = ()) -> Model:
    return Model(id=f"{FAL_PROVIDER_ID}/{endpoint}", provider_id=FAL_PROVIDER_ID, remote_id=endpoint, name=name,
                 operations=(ModelOperation(operation_type=operation),), params_type=params, price=price,
                 aliases=aliases)


FAL_MODELS: tuple[Model, ...] = (
    _default(Op.TEXT_TO_IMAGE, "FLUX.1 [schnell]", ("flux-schnell",)),
    _model("fal-ai/flux/dev", "FLUX.1 [dev]", Op.TEXT_TO_IMAGE, FluxDevParams,
           PriceRule(credits_per_unit=3, unit=PriceUnit.IMAGE, quantity_param="num_images"), ("flux-dev",)),
    _model("fal-ai/flux-pro/v1.1", "FLUX1.1 [pro]", Op.TEXT_TO_IMAGE, FluxProParams,
           PriceRule(credits_per_unit=4, unit=PriceUnit.IMAGE, quantity_param="num_images"), ("flux-1.1-pro",)),
    _default(Op.IMAGE_TO_IMAGE, "FLUX.1 [dev] image-to-image"),
    _default(Op.TEXT_TO_VIDEO, "Kling v1.6 standard text-to-video", ("kling-v1.6",)),
    _default(Op.IMAGE_TO_VIDEO, "Kling v1.6 standard image-to-video", ("kling-v1.6",)),
    _model("fal-ai/kling-video/v2.1/master/text-to-video", "Kling v2.1 master text-to-video", Op.TEXT_TO_VIDEO,
           Kling21TextParams,
           PriceRule(credits_per_unit=28, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5),
           ("kling-v2.1-master",)),
    _model("fal-ai/veo3", "Veo 3", Op.TEXT_TO_VIDEO, Veo3Params,
           PriceRule(credits_per_unit=75, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=8),
           ("veo-3",)),
    _default(Op.UPSCALE, "Clarity upscaler"),
)

"""OpenAI's image models: GPT Image 1 and its mini sibling (generations and edits), DALL-E 3."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from adapters.providers.openai_images import (
    DEFAULT_MODEL,
    OPENAI_PROVIDER_ID,
    ROUTES,
    EditParams,
    GenerateParams,
)
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit


class DallE3Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """POST /images/generations body fields for dall-e-3 (one image per request)."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    size: Literal["1024x1024", "1792x1024", "1024x1792"] = "1024x1024"
    quality: Literal["standard", "hd"] = "standard"
    style: Literal["vivid", "natural"] = "vivid"


_OPERATIONS = (
    ModelOperation(operation_type=Op.TEXT_TO_IMAGE, params_type=GenerateParams),
    ModelOperation(operation_type=Op.IMAGE_TO_IMAGE, min_inputs=ROUTES[Op.IMAGE_TO_IMAGE].inputs,
                   max_inputs=ROUTES[Op.IMAGE_TO_IMAGE].inputs, params_type=EditParams),
)


def _gpt_image(model: str, name: str, credits: int, default: bool = False) -> Model:
    return Model(id=f"{OPENAI_PROVIDER_ID}/{model}", provider_id=OPENAI_PROVIDER_ID, remote_id=model, name=name,
                 operations=_OPERATIONS, params_type=GenerateParams,
                 price=PriceRule(credits_per_unit=credits, unit=PriceUnit.IMAGE, quantity_param="n"),
                 aliases=(model,), default_for=(Op.TEXT_TO_IMAGE, Op.IMAGE_TO_IMAGE) if default else ())


OPENAI_MODELS: tuple[Model, ...] = (
    _gpt_image(DEFAULT_MODEL, "GPT Image 1", 6, default=True),
    _gpt_image("gpt-image-1-mini", "GPT Image 1 mini", 2),
    Model(id=f"{OPENAI_PROVIDER_ID}/dall-e-3", provider_id=OPENAI_PROVIDER_ID, remote_id="dall-e-3", name="DALL-E 3",
          operations=(ModelOperation(operation_type=Op.TEXT_TO_IMAGE),), params_type=DallE3Params,
          price=PriceRule(credits_per_unit=8, unit=PriceUnit.IMAGE), aliases=("dall-e-3",)),
)

"""OpenAI image model names -> pixrelay job requests: the ONE place that knows the mapping.

`resolve(model, ask, offered)` turns an OpenAI `model` string and the request's options
(n, size, quality, ...) into a provider, an operation and that provider's params. Today it
is a small table over the existing providers; when the model catalog lands, this module is
the one to switch to it. Anything the target cannot honour is a VALIDATION_ERROR naming the
OpenAI parameter (a 400 in OpenAI's error shape); an unknown model is NOT_FOUND.
The provider's own schema still checks the params when the job is created.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from math import gcd
from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode, validation
from domain.jobs import OperationType

# When the table was written: OpenAI's `created` for every model listed here.
CATALOG_CREATED = 1_764_547_200  # 2025-12-01T00:00:00Z
DEFAULT_QUALITIES = frozenset({"auto", "standard"})  # "the model's default": honoured everywhere
MAX_N = 4  # every mapped provider takes 1..4 images per job


class ImageAsk(msgspec.Struct, frozen=True, kw_only=True):
    """What an OpenAI images call asks for, whatever the model."""

    prompt: str
    edit: bool = False
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    options: dict[str, Any] = {}
    """Other OpenAI fields sent with a value (background, output_format, style, ...)."""
    params: dict[str, Any] = {}
    """pixrelay extension (`pixrelay_params`): provider params laid over the mapped ones."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    provider_id: str
    operation_type: OperationType
    params: dict[str, Any]


Mapper = Callable[[ImageAsk], Result[dict[str, Any], DomainError]]


@dataclass(frozen=True)
class CompatModel:
    id: str
    provider_id: str
    map_params: Mapper
    generates: bool = True
    edits: bool = True
    aliases: tuple[str, ...] = ()


def _count(ask: ImageAsk, name: str) -> Result[dict[str, Any], DomainError]:
    n = 1 if ask.n is None else ask.n
    if not 1 <= n <= MAX_N:
        return Failure(validation(f"n must be 1..{MAX_N} for this model, got {n}", "n"))
    return Success({name: n} if n != 1 else {})


def parse_size(size: str) -> tuple[int, int] | None:
    width, x, height = size.partition("x")
    if not x or not width.isdigit() or not height.isdigit() or len(width) > 5 or len(height) > 5:
        return None
    return int(width), int(height)


def _refuse_options(ask: ImageAsk, allowed: Collection[str] = ()) -> DomainError | None:
    for name in sorted(ask.options):
        if name not in allowed:
            return validation(f"{name} is not supported by this model", name)
    return None


def _default_quality_only(ask: ImageAsk) -> DomainError | None:
    if ask.quality is not None and ask.quality not in DEFAULT_QUALITIES:
        return validation(f"quality {ask.quality!r} is not supported by this model (only auto or standard)",
                          "quality")
    return None


def _combine(ask: ImageAsk, *parts: Result[dict[str, Any], DomainError]) -> Result[dict[str, Any], DomainError]:
    params: dict[str, Any] = {"prompt": ask.prompt}
    for part in parts:
        if isinstance(part, Failure):
            return part
        params |= part.unwrap()
    return Success(params | ask.params)


def _checked(ask: ImageAsk, allowed_options: Collection[str] = (), quality: bool = False) -> DomainError | None:
    return _refuse_options(ask, allowed_options) or (None if quality else _default_quality_only(ask))


def sim_params(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
    """The simulator: any size of 64..1024 pixels a side; quality has no effect."""
    refused = _checked(ask)
    if refused is not None:
        return Failure(refused)
    size: dict[str, Any] = {}
    if ask.size not in (None, "auto"):
        dims = parse_size(ask.size)
        if dims is None or not all(64 <= side <= 1024 for side in dims):
            return Failure(validation(f"size must be WIDTHxHEIGHT with sides of 64..1024, got {ask.size!r}", "size"))
        size = {"width": dims[0], "height": dims[1]}
    return _combine(ask, _count(ask, "num_images"), Success(size))


OPENAI_SIZES = frozenset({"auto", "1024x1024", "1536x1024", "1024x1536"})
OPENAI_QUALITIES = {"auto": "auto", "low": "low", "medium": "medium", "high": "high",
                    "standard": "medium", "hd": "high"}  # DALL-E's words for GPT image qualities
OPENAI_OPTION_VALUES = {"background": ("auto", "transparent", "opaque"), "output_format": ("png", "jpeg", "webp"),
                        "moderation": ("auto", "low")}
OPENAI_OPTIONS = ("background", "output_format")
OPENAI_GENERATE_OPTIONS = (*OPENAI_OPTIONS, "moderation")


def openai_params(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
    """OpenAI's own image API (gpt-image-1): the same fields, passed through."""
    refused = _checked(ask, OPENAI_OPTIONS if ask.edit else OPENAI_GENERATE_OPTIONS, quality=True)
    if refused is not None:
        return Failure(refused)
    for name, value in sorted(ask.options.items()):
        if value not in OPENAI_OPTION_VALUES[name]:
            return Failure(validation(f"{name} must be one of {', '.join(OPENAI_OPTION_VALUES[name])}", name))
    extra: dict[str, Any] = dict(ask.options)
    if ask.size not in (None, "auto"):
        if ask.size not in OPENAI_SIZES:
            return Failure(validation(f"size must be one of {', '.join(sorted(OPENAI_SIZES))}", "size"))
        extra["size"] = ask.size
    if ask.quality is not None:
        if ask.quality not in OPENAI_QUALITIES:
            return Failure(validation(f"quality must be one of {', '.join(OPENAI_QUALITIES)}", "quality"))
        extra["quality"] = OPENAI_QUALITIES[ask.quality]
    return _combine(ask, _count(ask, "n"), Success(extra))


REPLICATE_RATIOS = frozenset({"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"})


def aspect_ratio(size: str) -> str | None:
    """`1024x768` -> `4:3`."""
    dims = parse_size(size)
    if dims is None or 0 in dims:
        return None
    divisor = gcd(*dims)
    return f"{dims[0] // divisor}:{dims[1] // divisor}"


def _ratio(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
    if ask.size in (None, "auto"):
        return Success({})
    ratio = aspect_ratio(ask.size)
    if ratio not in REPLICATE_RATIOS:
        return Failure(validation(f"size {ask.size!r} is not an aspect ratio this model offers "
                                  f"({', '.join(sorted(REPLICATE_RATIOS))})", "size"))
    return Success({"aspect_ratio": ratio})


def flux_schnell_replicate_params(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
    """Replicate flux-schnell: size is honoured as its aspect ratio (about a megapixel)."""
    refused = _checked(ask)
    return Failure(refused) if refused else _combine(ask, _count(ask, "num_outputs"), _ratio(ask))


def flux_kontext_replicate_params(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
    """Replicate flux-kontext-pro (edits): one image per job; size as an aspect ratio."""
    refused = _checked(ask)
    if refused is not None:
        return Failure(refused)
    if ask.n not in (None, 1):
        return Failure(validation("n must be 1 for this model", "n"))
    return _combine(ask, _ratio(ask))


FAL_SIZES = {"1024x1024": "square_hd", "512x512": "square", "1024x768": "landscape_4_3",
             "768x1024": "portrait_4_3", "1024x576": "landscape_16_9", "576x1024": "portrait_16_9"}


def flux_fal_params(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
    """fal flux (schnell; dev image-to-image for edits): fal's named sizes, by their pixels."""
    refused = _checked(ask)
    if refused is not None:
        return Failure(refused)
    size: dict[str, Any] = {}
    if ask.size not in (None, "auto"):
        if ask.edit or ask.size not in FAL_SIZES:
            sizes = "auto" if ask.edit else ", ".join(FAL_SIZES)
            return Failure(validation(f"size must be one of {sizes} for this model", "size"))
        size = {"image_size": FAL_SIZES[ask.size]}
    return _combine(ask, _count(ask, "num_images"), Success(size))


MODELS: tuple[CompatModel, ...] = (
    CompatModel("sim/image", "sim", sim_params),
    CompatModel("gpt-image-1", "openai_images", openai_params, aliases=("openai_images/gpt-image-1",)),
    CompatModel("replicate/black-forest-labs/flux-schnell", "replicate", flux_schnell_replicate_params,
                edits=False, aliases=("flux-schnell",)),
    CompatModel("replicate/black-forest-labs/flux-kontext-pro", "replicate", flux_kontext_replicate_params,
                generates=False, aliases=("flux-kontext-pro",)),
    CompatModel("fal/fal-ai/flux/schnell", "fal", flux_fal_params, edits=False),
    CompatModel("fal/fal-ai/flux/dev/image-to-image", "fal", flux_fal_params, generates=False),
)


def offered_models(offered: Collection[str]) -> list[CompatModel]:
    """The models whose provider this deployment runs (`offered`: provider ids)."""
    return [model for model in MODELS if model.provider_id in offered]


def find_model(name: str, offered: Collection[str]) -> CompatModel | None:
    for model in offered_models(offered):
        if name == model.id or name in model.aliases:
            return model
    return None


def resolve(name: str | None, ask: ImageAsk, offered: Collection[str]) -> Result[Target, DomainError]:
    """The job an OpenAI images call becomes."""
    if not name:
        return Failure(validation("model is required (GET /openai/v1/models lists them)", "model"))
    model = find_model(name, offered)
    if model is None:
        return Failure(DomainError(ErrorCode.NOT_FOUND, f"the model {name!r} does not exist here "
                                   "(GET /openai/v1/models lists them)", field="model"))
    if ask.edit and not model.edits:
        return Failure(validation(f"the model {name!r} cannot edit images", "model"))
    if not ask.edit and not model.generates:
        return Failure(validation(f"the model {name!r} only edits images", "model"))
    operation = OperationType.IMAGE_TO_IMAGE if ask.edit else OperationType.TEXT_TO_IMAGE
    return model.map_params(ask).map(
        lambda params: Target(provider_id=model.provider_id, operation_type=operation, params=params))

"""OpenAI image model names -> pixrelay job requests: the ONE place that knows the mapping.

`resolve(model, ask, catalog)` turns an OpenAI `model` string and the request's options
(n, size, quality, ...) into a catalog model, an operation and that model's params. Any model
of the catalog (application/models/catalog.py, only the providers this deployment runs)
offering text_to_image (generations) or image_to_image (edits) is usable by its id or an
alias. The models of the table below get their provider's own mapping of n/size/quality;
any other model gets the prompt, and n, size, quality and OpenAI's other options only as
fields its params schema has (n as its image-count field). Anything the target cannot honour
is a VALIDATION_ERROR naming the OpenAI parameter (a 400 in OpenAI's error shape); an unknown
model is NOT_FOUND. The model's own schema still checks the params when the job is created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from math import gcd
from typing import Any

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode, validation
from domain.jobs import OperationType
from domain.models import Chosen, Model, ModelOperation, check_params

# When the table was written: OpenAI's `created` for every model listed.
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
    model: str  # the catalog model's id: what the job names, so its adapter sends that model
    provider_id: str
    operation_type: OperationType
    params: dict[str, Any]


Mapper = Callable[[ImageAsk], Result[dict[str, Any], DomainError]]


@dataclass(frozen=True)
class CompatModel:
    """A catalog model as OpenAI's images API offers it."""

    id: str
    provider_id: str
    map_params: Mapper
    generates: bool = True
    edits: bool = True
    aliases: tuple[str, ...] = ()
    checked_as: Model | None = None  # a model without a table entry: its params checked here, to blame an option


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


COUNT_FIELDS = ("n", "num_images", "num_outputs")  # a model's image count, by the names providers use

# The catalog models whose provider's params the OpenAI options are mapped onto field by field.
MAPPED: dict[str, Mapper] = {
    "sim/image": sim_params,
    "openai_images/gpt-image-1": openai_params,
    "openai_images/gpt-image-1-mini": openai_params,
    "replicate/black-forest-labs/flux-schnell": flux_schnell_replicate_params,
    "replicate/black-forest-labs/flux-kontext-pro": flux_kontext_replicate_params,
    "fal/fal-ai/flux/schnell": flux_fal_params,
    "fal/fal-ai/flux/dev/image-to-image": flux_fal_params,
}


def _fields(model: Model, operation: ModelOperation) -> frozenset[str]:
    typed = operation.params_type or model.params_type
    if typed is not None:
        return frozenset(typed.__struct_fields__)
    properties = (model.schema or {}).get("properties")
    return frozenset(properties) if isinstance(properties, dict) else frozenset()


def field_params(fields: Collection[str]) -> Mapper:
    """Any other model: the prompt, and each OpenAI option only as a field of its params."""
    count = next((name for name in COUNT_FIELDS if name in fields), None)

    def map_params(ask: ImageAsk) -> Result[dict[str, Any], DomainError]:
        refused = _refuse_options(ask, fields)
        if refused is not None:
            return Failure(refused)
        extra: dict[str, Any] = dict(ask.options)
        for name, value in (("size", ask.size), ("quality", ask.quality)):
            if value is None or value == "auto" or (name == "quality" and value in DEFAULT_QUALITIES):
                if name in fields and value is not None and value != "auto":
                    extra[name] = value
                continue
            if name not in fields:
                return Failure(validation(f"{name} is not supported by this model", name))
            extra[name] = value
        if count is None:
            if ask.n not in (None, 1):
                return Failure(validation("n must be 1 for this model", "n"))
            return _combine(ask, Success(extra))
        return _combine(ask, _count(ask, count), Success(extra))

    return map_params


def _operation(model: Model, operation_type: OperationType) -> ModelOperation | None:
    return next((op for op in model.operations if op.operation_type == operation_type), None)


def compat_model(model: Model) -> CompatModel | None:
    """The catalog model as OpenAI's images API offers it; None without image operations."""
    generate = _operation(model, OperationType.TEXT_TO_IMAGE)
    edit = _operation(model, OperationType.IMAGE_TO_IMAGE)
    if generate is None and edit is None:
        return None
    mapper = MAPPED.get(model.id)
    if mapper is None:
        fields = frozenset().union(*(_fields(model, op) for op in (generate, edit) if op is not None))
        mapper = field_params(fields)
    return CompatModel(model.id, model.provider_id, mapper, generates=generate is not None,
                       edits=edit is not None, aliases=model.aliases,
                       checked_as=None if model.id in MAPPED else model)


def offered_models(catalog: Iterable[Model]) -> list[CompatModel]:
    """The image models of the catalog (`catalog`: the models of the providers this deployment runs)."""
    return [compat for compat in map(compat_model, catalog) if compat is not None]


def find_model(name: str, catalog: Iterable[Model], edit: bool | None = None) -> CompatModel | None:
    """By id first, else the first model with that alias (able to `edit` or generate, when given)."""
    models = offered_models(catalog)
    by_id = next((model for model in models if model.id == name), None)
    if by_id is not None:
        return by_id
    table = list(MAPPED)  # an alias of several: the table's first (Replicate's flux-schnell, as before)
    named = sorted((model for model in models if name in model.aliases),
                   key=lambda model: table.index(model.id) if model.id in table else len(table))
    able = [model for model in named if edit is None or (model.edits if edit else model.generates)]
    return next(iter(able or named), None)


def resolve(name: str | None, ask: ImageAsk, catalog: Iterable[Model]) -> Result[Target, DomainError]:
    """The job an OpenAI images call becomes."""
    if not name:
        return Failure(validation("model is required (GET /openai/v1/models lists them)", "model"))
    model = find_model(name, catalog, ask.edit)
    if model is None:
        return Failure(DomainError(ErrorCode.NOT_FOUND, f"the model {name!r} does not exist here "
                                   "(GET /openai/v1/models lists them)", field="model"))
    if ask.edit and not model.edits:
        return Failure(validation(f"the model {name!r} cannot edit images", "model"))
    if not ask.edit and not model.generates:
        return Failure(validation(f"the model {name!r} only edits images", "model"))
    operation = OperationType.IMAGE_TO_IMAGE if ask.edit else OperationType.TEXT_TO_IMAGE
    mapped = model.map_params(ask)
    if isinstance(mapped, Success) and model.checked_as is not None:
        mapped = _checked_by_schema(model.checked_as, operation, ask, mapped.unwrap())
    return mapped.map(lambda params: Target(
        model=model.id, provider_id=model.provider_id, operation_type=operation, params=params))


_FIELD = re.compile(r"\$\.(\w+)")


def _checked_by_schema(model: Model, operation_type: OperationType, ask: ImageAsk,
                       params: dict[str, Any]) -> Result[dict[str, Any], DomainError]:
    """The model's schema refusing an option it has a field for is a 400 naming that option."""
    operation = _operation(model, operation_type)
    assert operation is not None  # resolve checked the model offers it
    checked = check_params(Chosen(model, operation), params)
    if isinstance(checked, Success):
        return Success(params)
    error = checked.failure()
    named = _FIELD.search(error.detail)
    field = named.group(1) if named else None
    if field in COUNT_FIELDS and ask.n is not None:
        return Failure(validation(f"n: {error.detail}", "n"))
    if field is not None and field not in ask.params and (field in ("size", "quality") or field in ask.options):
        return Failure(validation(error.detail, field))
    return Failure(error)

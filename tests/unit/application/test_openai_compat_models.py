"""The OpenAI model name -> job request mapping (application/openai_compat/models.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from adapters.models import BUILTIN_MODELS
from application.openai_compat.models import (
    MAPPED,
    ImageAsk,
    Target,
    aspect_ratio,
    find_model,
    offered_models,
    parse_size,
    resolve,
)
from domain.errors import ErrorCode
from domain.jobs import OperationType
from domain.models import Chosen, check_params, effective
from domain.models import find as find_in_catalog
from domain.models import offered as offered_in
from domain.providers import ProviderInfo
from entrypoints.providers import build_providers
from entrypoints.settings import Settings

ALL = offered_in(effective(BUILTIN_MODELS, []), ("sim", "openai_images", "replicate", "fal", "luma", "runway"))
OPENAI_PARAMS = {"model", "n", "size", "quality", "background", "output_format", "moderation", "style",
                 "output_compression", "partial_images", "stream", "input_fidelity"}


def real_infos() -> dict[str, ProviderInfo]:
    providers = build_providers(Settings(), httpx.AsyncClient(), lambda: datetime.now(UTC))
    return {p.info.id: p.info for p in providers}


INFOS = real_infos()


def target(model: str, **ask: Any) -> Target:
    resolved = resolve(model, ImageAsk(prompt="a red fox", **ask), ALL)
    assert isinstance(resolved, Success), resolved
    return resolved.unwrap()


def refused(model: str | None, **ask: Any) -> tuple[ErrorCode, str | None]:
    resolved = resolve(model, ImageAsk(prompt="a red fox", **ask), ALL)
    assert isinstance(resolved, Failure), resolved
    return resolved.failure().code, resolved.failure().field


def test_sim_maps_n_and_size_to_its_params() -> None:
    assert target("sim/image", n=2, size="128x64") == Target(
        model="sim/image", provider_id="sim", operation_type=OperationType.TEXT_TO_IMAGE,
        params={"prompt": "a red fox", "num_images": 2, "width": 128, "height": 64})
    assert target("sim/image", edit=True).operation_type is OperationType.IMAGE_TO_IMAGE
    assert target("sim/image", size="auto", quality="standard").params == {"prompt": "a red fox"}


def test_what_a_model_cannot_honour_is_refused_naming_the_parameter() -> None:
    assert refused("sim/image", size="4096x4096") == (ErrorCode.VALIDATION_ERROR, "size")
    assert refused("sim/image", size="big") == (ErrorCode.VALIDATION_ERROR, "size")
    assert refused("sim/image", n=5) == (ErrorCode.VALIDATION_ERROR, "n")
    assert refused("sim/image", n=0) == (ErrorCode.VALIDATION_ERROR, "n")
    assert refused("sim/image", quality="hd") == (ErrorCode.VALIDATION_ERROR, "quality")
    assert refused("sim/image", options={"style": "vivid"}) == (ErrorCode.VALIDATION_ERROR, "style")
    assert refused("gpt-image-1", size="1792x1024") == (ErrorCode.VALIDATION_ERROR, "size")
    assert refused("gpt-image-1", edit=True, options={"moderation": "low"}) == (ErrorCode.VALIDATION_ERROR,
                                                                                 "moderation")
    assert refused("flux-schnell", size="1000x999") == (ErrorCode.VALIDATION_ERROR, "size")
    assert refused("fal/fal-ai/flux/schnell", size="300x300") == (ErrorCode.VALIDATION_ERROR, "size")
    assert refused("flux-kontext-pro", edit=True, n=2) == (ErrorCode.VALIDATION_ERROR, "n")


def test_unknown_or_missing_models() -> None:
    assert refused("dall-e-9") == (ErrorCode.NOT_FOUND, "model")
    assert refused(None) == (ErrorCode.VALIDATION_ERROR, "model")
    assert refused("") == (ErrorCode.VALIDATION_ERROR, "model")
    # a model whose provider this deployment does not run does not exist here
    sim_only = offered_in(ALL, ["sim"])
    assert isinstance(resolve("gpt-image-1", ImageAsk(prompt="x"), sim_only), Failure)
    assert [m.id for m in offered_models(sim_only)] == ["sim/image"]


def test_generate_only_and_edit_only_models() -> None:
    assert refused("flux-schnell", edit=True) == (ErrorCode.VALIDATION_ERROR, "model")
    assert refused("flux-kontext-pro") == (ErrorCode.VALIDATION_ERROR, "model")
    assert target("flux-kontext-pro", edit=True, size="1024x768").params == {"prompt": "a red fox",
                                                                           "aspect_ratio": "4:3"}


def test_openai_images_passes_its_own_fields_and_dalle_qualities() -> None:
    chosen = target("gpt-image-1", n=3, size="1536x1024", quality="hd",
                    options={"background": "transparent", "output_format": "webp"})
    assert (chosen.provider_id, chosen.model) == ("openai_images", "openai_images/gpt-image-1")
    assert chosen.params == {"prompt": "a red fox", "n": 3, "size": "1536x1024", "quality": "high",
                             "background": "transparent", "output_format": "webp"}
    assert target("gpt-image-1", quality="standard").params["quality"] == "medium"


def test_flux_sizes_become_aspect_ratios_or_named_sizes() -> None:
    assert target("flux-schnell", n=2, size="1024x576").params == {
        "prompt": "a red fox", "num_outputs": 2, "aspect_ratio": "16:9"}
    assert refused("flux-schnell", size="1792x1024") == (ErrorCode.VALIDATION_ERROR, "size")  # 7:4
    assert target("replicate/black-forest-labs/flux-schnell", size="1920x1080").params["aspect_ratio"] == "16:9"
    assert target("fal/fal-ai/flux/schnell", size="1024x1024", n=4).params == {
        "prompt": "a red fox", "image_size": "square_hd", "num_images": 4}


def test_aliases_and_ids_find_the_same_model() -> None:
    assert find_model("flux-schnell", ALL) == find_model("replicate/black-forest-labs/flux-schnell", ALL)
    assert find_model("openai_images/gpt-image-1", ALL) == find_model("gpt-image-1", ALL) is not None


def test_pixrelay_params_are_laid_over_the_mapped_ones() -> None:
    assert target("sim/image", n=2, params={"seed": 9, "num_images": 3}).params == {
        "prompt": "a red fox", "num_images": 3, "seed": 9}


def test_size_parsing() -> None:
    assert parse_size("1024x768") == (1024, 768)
    assert parse_size("1024X768") is None and parse_size("x768") is None and parse_size("-1x5") is None
    assert aspect_ratio("1024x768") == "4:3" and aspect_ratio("0x5") is None


def test_every_catalog_image_model_is_offered_by_its_id_and_the_table_names_catalog_models() -> None:
    listed = {m.id for m in offered_models(ALL)}
    assert set(MAPPED) <= listed
    assert {"openai_images/dall-e-3", "replicate/black-forest-labs/flux-1.1-pro", "luma/photon-1",
            "runway/gen4_image"} <= listed
    assert not any(m.provider_id == "kling" for m in offered_models(BUILTIN_MODELS))  # video only


def test_dall_e_3_is_the_catalog_model_with_its_own_fields() -> None:
    chosen = target("dall-e-3", size="1792x1024", quality="hd", options={"style": "natural"})
    assert chosen.model == "openai_images/dall-e-3"
    assert chosen.params == {"prompt": "a red fox", "size": "1792x1024", "quality": "hd", "style": "natural"}
    assert refused("dall-e-3", n=2) == (ErrorCode.VALIDATION_ERROR, "n")  # no count field
    assert refused("dall-e-3", size="300x300") == (ErrorCode.VALIDATION_ERROR, "size")  # its schema refuses it
    assert refused("dall-e-3", edit=True) == (ErrorCode.VALIDATION_ERROR, "model")


def test_a_model_outside_the_table_takes_n_as_its_count_field_and_refuses_what_it_has_no_field_for() -> None:
    assert target("replicate/black-forest-labs/flux-dev", n=3).params == {"prompt": "a red fox", "num_outputs": 3}
    assert target("flux-dev").model in ("replicate/black-forest-labs/flux-dev", "fal/fal-ai/flux/dev")
    assert target("fal/fal-ai/flux/dev", n=2).params == {"prompt": "a red fox", "num_images": 2}
    assert target("luma/photon-1").params == {"prompt": "a red fox"}
    assert refused("luma/photon-1", n=2) == (ErrorCode.VALIDATION_ERROR, "n")
    assert refused("luma/photon-1", size="1024x1024") == (ErrorCode.VALIDATION_ERROR, "size")
    assert refused("luma/photon-1", quality="hd") == (ErrorCode.VALIDATION_ERROR, "quality")
    assert target("luma/photon-1", size="auto", quality="standard").params == {"prompt": "a red fox"}
    assert target("runway/gen4_image", edit=True).operation_type is OperationType.IMAGE_TO_IMAGE


@pytest.mark.parametrize("model", offered_models(ALL), ids=lambda m: m.id)
def test_every_model_names_a_real_provider_operation(model: Any) -> None:
    info = INFOS[model.provider_id]
    for operation, offered in ((OperationType.TEXT_TO_IMAGE, model.generates),
                               (OperationType.IMAGE_TO_IMAGE, model.edits)):
        if offered:
            assert isinstance(info.operation(operation), Success), (model.id, operation)


SIZES = st.one_of(st.none(), st.sampled_from(["auto", "256x256", "1024x1024", "1536x1024", "1024x1536",
                                              "512x512", "1024x768", "1792x1024", "64x64", "1x1", "huge"]),
                  st.builds(lambda w, h: f"{w}x{h}", st.integers(0, 3000), st.integers(0, 3000)))
QUALITIES = st.one_of(st.none(), st.sampled_from(["auto", "standard", "hd", "low", "medium", "high", "ultra"]))
OPTIONS = st.dictionaries(st.sampled_from(["background", "output_format", "moderation", "style"]),
                          st.sampled_from(["auto", "png", "low", "vivid", "transparent"]), max_size=2)


@settings(max_examples=300, deadline=None)
@given(model=st.sampled_from([m.id for m in offered_models(ALL)] + ["flux-schnell", "dall-e-3", "nope"]),
       edit=st.booleans(),
       n=st.one_of(st.none(), st.integers(-1, 12)), size=SIZES, quality=QUALITIES, options=OPTIONS)
def test_a_mapped_request_is_one_its_provider_accepts_and_a_refusal_names_an_openai_parameter(
        model: str, edit: bool, n: int | None, size: str | None, quality: str | None, options: dict[str, str]) -> None:
    resolved = resolve(model, ImageAsk(prompt="a red fox", edit=edit, n=n, size=size, quality=quality,
                                       options=options), ALL)
    if isinstance(resolved, Failure):
        error = resolved.failure()
        assert error.code in (ErrorCode.VALIDATION_ERROR, ErrorCode.NOT_FOUND) and error.field in OPENAI_PARAMS
        return
    chosen = resolved.unwrap()
    catalog_model = find_in_catalog(ALL, chosen.model)
    assert catalog_model is not None and catalog_model.provider_id == chosen.provider_id
    operation = catalog_model.operation(chosen.operation_type)
    assert operation is not None
    checked = check_params(Chosen(catalog_model, operation), chosen.params)
    # the mapping never hands a model params its own schema refuses (a 400 here, not a 422 later)
    assert isinstance(checked, Success), (model, chosen, checked)
    if n is not None and catalog_model.price.quantity_param is not None:
        assert catalog_model.price.quantity(checked.unwrap()) == n  # n images are priced as n

"""The model catalog's rules: records over built-ins, filters, resolution, params, price."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.jobs import OperationType as Op
from domain.models import (
    Model,
    ModelOperation,
    ModelRecord,
    check_params,
    check_record,
    check_schema,
    effective,
    find,
    offered,
    price_of,
    record_of,
    resolve,
    select,
    tombstone,
)
from domain.providers import PriceRule, PriceUnit

PROPERTY = settings(max_examples=200, deadline=None, database=None)
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


class ImageParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1)]
    n: Annotated[int, msgspec.Meta(ge=1, le=4)] = 1


class EditParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str
    strength: float = 0.5


T2I = ModelOperation(operation_type=Op.TEXT_TO_IMAGE)
I2I = ModelOperation(operation_type=Op.IMAGE_TO_IMAGE, min_inputs=1, max_inputs=1, input_fields=("image",),
                     params_type=EditParams)
PER_IMAGE = PriceRule(credits_per_unit=2, unit=PriceUnit.IMAGE, quantity_param="n")


def model(id_: str, *ops: ModelOperation, aliases: tuple[str, ...] = (), default_for: tuple[Op, ...] = (),
          price: PriceRule = PER_IMAGE) -> Model:
    provider, _, remote = id_.partition("/")
    return Model(id=id_, provider_id=provider, remote_id=remote, operations=ops or (T2I,), price=price,
                 params_type=ImageParams, aliases=aliases, default_for=default_for)


SCHNELL_R = model("replicate/flux-schnell", aliases=("flux-schnell",), default_for=(Op.TEXT_TO_IMAGE,))
PRO_R = model("replicate/flux-pro", aliases=("flux-pro",))
SCHNELL_F = model("fal/fal-ai/flux/schnell", aliases=("flux-schnell",))
EDIT_F = model("fal/fal-ai/flux/dev/image-to-image", I2I, default_for=(Op.IMAGE_TO_IMAGE,))
CATALOG = [SCHNELL_R, PRO_R, SCHNELL_F, EDIT_F]


def record(id_: str, **changes: Any) -> ModelRecord:
    provider, _, remote = id_.partition("/")
    fields: dict[str, Any] = {"id": id_, "provider_id": provider, "remote_id": remote, "operations": (T2I,),
                              "price": PriceRule(credits_per_unit=3), "params_schema": {"type": "object"},
                              "created_at": NOW, "updated_at": NOW} | changes
    return ModelRecord(**fields)


# ---------------------------------------------------------------- resolution


def test_a_named_model_is_that_model() -> None:
    chosen = resolve(CATALOG, model="replicate/flux-pro", provider_id=None, operation_type="text_to_image")
    assert chosen.unwrap().model is PRO_R and chosen.unwrap().operation == T2I


def test_only_a_provider_means_its_default_model_for_the_operation() -> None:
    assert resolve(CATALOG, model=None, provider_id="replicate", operation_type="text_to_image"
                   ).unwrap().model is SCHNELL_R
    assert resolve(CATALOG, model=None, provider_id="fal", operation_type="image_to_image").unwrap().model is EDIT_F


def test_without_a_marked_default_the_first_capable_model_by_id_is_the_default() -> None:
    assert resolve(CATALOG, model=None, provider_id="fal", operation_type="text_to_image"
                   ).unwrap().model is SCHNELL_F


@pytest.mark.parametrize(("model_id", "provider", "operation", "field", "words"), [
    (None, None, "text_to_image", "model", "give a model"),
    ("nope/x", None, "text_to_image", "model", "unknown model"),
    (None, "nope", "text_to_image", "provider_id", "unknown provider"),
    (None, "replicate", "upscale", "operation_type", "does not offer"),
    (None, "replicate", "teleport", "operation_type", "does not offer"),
    ("replicate/flux-pro", "fal", "text_to_image", "provider_id", "not served by provider fal"),
    ("replicate/flux-pro", None, "image_to_image", "operation_type", "does not offer image_to_image"),
])
def test_what_cannot_be_resolved_is_a_validation_error_naming_its_field(
        model_id: str | None, provider: str | None, operation: str, field: str, words: str) -> None:
    chosen = resolve(CATALOG, model=model_id, provider_id=provider, operation_type=operation)
    assert isinstance(chosen, Failure)
    assert chosen.failure().field == field and words in chosen.failure().detail


def test_an_alias_with_a_provider_is_that_providers_model() -> None:
    chosen = resolve(CATALOG, model="flux-schnell", provider_id="fal", operation_type="text_to_image")
    assert chosen.unwrap().model is SCHNELL_F


def test_an_alias_alone_is_the_first_by_id_that_offers_the_operation() -> None:
    chosen = resolve(CATALOG, model="flux-schnell", provider_id=None, operation_type="text_to_image")
    assert chosen.unwrap().model is SCHNELL_F  # "fal/..." < "replicate/..."


def test_an_id_wins_over_an_alias_of_the_same_spelling() -> None:
    clash = model("sim/flux-pro", aliases=("replicate/flux-pro",))
    chosen = resolve([*CATALOG, clash], model="replicate/flux-pro", provider_id=None, operation_type="text_to_image")
    assert chosen.unwrap().model is PRO_R


ids = st.sampled_from([m.id for m in CATALOG] + ["flux-schnell", "flux-pro", "unknown/x", None])
providers = st.sampled_from(["replicate", "fal", "nope", None])
operations = st.sampled_from([str(op) for op in Op] + ["teleport"])


@PROPERTY
@given(ids, providers, operations)
def test_a_resolved_model_offers_the_operation_and_agrees_with_the_provider(
        wanted: str | None, provider: str | None, operation: str) -> None:
    chosen = resolve(CATALOG, model=wanted, provider_id=provider, operation_type=operation)
    if isinstance(chosen, Success):
        picked = chosen.unwrap()
        assert picked.operation.operation_type == operation
        assert picked.model.operation(operation) == picked.operation
        assert provider is None or picked.model.provider_id == provider
        assert wanted is None or wanted == picked.model.id or wanted in picked.model.aliases
        assert picked.model in CATALOG
    else:
        assert chosen.failure().field in ("model", "provider_id", "operation_type")


@PROPERTY
@given(st.permutations(CATALOG), ids, providers, operations)
def test_resolution_does_not_depend_on_the_catalogs_order(
        shuffled: list[Model], wanted: str | None, provider: str | None, operation: str) -> None:
    one = resolve(CATALOG, model=wanted, provider_id=provider, operation_type=operation)
    other = resolve(shuffled, model=wanted, provider_id=provider, operation_type=operation)
    assert type(one) is type(other)
    if isinstance(one, Success):
        assert one.unwrap() == other.unwrap()


# ---------------------------------------------------------------- params and price


def test_typed_params_come_back_with_their_defaults() -> None:
    chosen = resolve(CATALOG, model="replicate/flux-pro", provider_id=None, operation_type="text_to_image").unwrap()
    assert check_params(chosen, {"prompt": "fox"}).unwrap() == {"prompt": "fox", "n": 1}
    assert isinstance(check_params(chosen, {"prompt": "fox", "extra": 1}), Failure)
    assert isinstance(check_params(chosen, ["prompt"]), Failure)


def test_an_operation_with_its_own_params_type_is_checked_against_it() -> None:
    chosen = resolve(CATALOG, model=EDIT_F.id, provider_id=None, operation_type="image_to_image").unwrap()
    assert check_params(chosen, {"prompt": "x", "strength": 0.9}).unwrap() == {"prompt": "x", "strength": 0.9}
    assert isinstance(check_params(chosen, {"prompt": "x", "n": 2}), Failure)


SCHEMA = {"type": "object", "properties": {"prompt": {"type": "string", "minLength": 1},
                                           "steps": {"type": "integer", "minimum": 1, "maximum": 50}},
          "required": ["prompt"], "additionalProperties": False}


def test_json_schema_params_are_checked_and_passed_through_as_given() -> None:
    admin = effective([], [record("replicate/acme/painter", params_schema=SCHEMA)])[0]
    chosen = resolve([admin], model=admin.id, provider_id=None, operation_type="text_to_image").unwrap()
    assert check_params(chosen, {"prompt": "fox", "steps": 9}).unwrap() == {"prompt": "fox", "steps": 9}
    refused = check_params(chosen, {"prompt": "fox", "steps": 99})
    assert isinstance(refused, Failure) and "params.steps" in refused.failure().detail
    assert isinstance(check_params(chosen, {"steps": 3}), Failure)
    assert isinstance(check_params(chosen, {"prompt": "x", "other": 1}), Failure)


@PROPERTY
@given(st.dictionaries(st.sampled_from(["prompt", "steps", "x"]),
                       st.one_of(st.integers(-5, 60), st.text(max_size=3), st.none()), max_size=3))
def test_json_schema_params_pass_exactly_when_jsonschema_says_so(params: dict[str, Any]) -> None:
    import jsonschema

    admin = effective([], [record("replicate/acme/painter", params_schema=SCHEMA)])[0]
    chosen = resolve([admin], model=admin.id, provider_id=None, operation_type="text_to_image").unwrap()
    valid = jsonschema.Draft202012Validator(SCHEMA).is_valid(params)
    assert isinstance(check_params(chosen, params), Success) == valid


@PROPERTY
@given(st.integers(0, 100), st.integers(1, 4))
def test_a_model_is_priced_by_its_own_rule(credits: int, n: int) -> None:
    priced = model("x/y", price=PriceRule(credits_per_unit=credits, unit=PriceUnit.IMAGE, quantity_param="n"))
    assert price_of(priced, {"prompt": "p", "n": n}) == credits * n


# ---------------------------------------------------------------- records over built-ins


def test_a_record_of_a_new_id_adds_a_json_schema_model() -> None:
    models = effective(CATALOG, [record("replicate/acme/painter")])
    added = find(models, "replicate/acme/painter")
    assert added is not None and not added.builtin and added.params_type is None
    assert added.params_schema() == {"type": "object"}
    assert [m.id for m in models] == sorted(m.id for m in models)


def test_a_record_of_a_builtins_id_replaces_it_keeping_its_typed_params() -> None:
    replaced = record(EDIT_F.id, remote_id="fal-ai/flux/dev/image-to-image/v2", operations=(I2I,),
                      params_schema=None, price=PriceRule(credits_per_unit=9))
    got = find(effective(CATALOG, [replaced]), EDIT_F.id)
    assert got is not None and got.builtin and got.remote_id.endswith("/v2") and got.price.credits_per_unit == 9
    assert got.params_type is ImageParams
    assert got.operation("image_to_image") == I2I  # its per-operation params type too


def test_a_replacement_with_a_schema_drops_the_typed_params() -> None:
    got = find(effective(CATALOG, [record(PRO_R.id, params_schema=SCHEMA)]), PRO_R.id)
    assert got is not None and got.params_type is None and got.params_schema() == SCHEMA


def test_a_tombstone_hides_the_model_of_its_id() -> None:
    models = effective(CATALOG, [tombstone(PRO_R.id, "replicate", "flux-pro", NOW, "admin")])
    assert find(models, PRO_R.id) is None and len(models) == len(CATALOG) - 1


def test_record_of_a_model_applied_again_changes_nothing() -> None:
    for each in CATALOG:
        again = effective(CATALOG, [record_of(each, NOW, "admin")])
        assert find(again, each.id) == each


def test_only_the_models_of_running_providers_are_offered() -> None:
    assert {m.provider_id for m in offered(CATALOG, ["fal"])} == {"fal"}


def test_select_filters_by_provider_and_operation_in_id_order() -> None:
    assert select(CATALOG, provider_id="fal") == [EDIT_F, SCHNELL_F]
    assert select(CATALOG, operation_type="image_to_image") == [EDIT_F]
    assert select(CATALOG, provider_id="replicate", operation_type="upscale") == []


# ---------------------------------------------------------------- what an admin may store


@pytest.mark.parametrize(("changes", "field"), [
    ({"provider_id": "nope", "id": "nope/x"}, "provider_id"),
    ({"id": "fal/x"}, "id"),  # not the provider's
    ({"id": "replicate/"}, "id"),
    ({"remote_id": " "}, "remote_id"),
    ({"operations": ()}, "operations"),
    ({"operations": (T2I, T2I)}, "operations"),
    ({"operations": (ModelOperation(operation_type=Op.UPSCALE, min_inputs=2, max_inputs=1),)}, "operations"),
    ({"operations": (ModelOperation(operation_type=Op.UPSCALE, max_inputs=1, input_fields=("a", "b")),)},
     "operations"),
    ({"default_for": (Op.UPSCALE,)}, "default_for"),
    ({"price": PriceRule(credits_per_unit=-1)}, "price"),
    ({"aliases": ("has space",)}, "aliases"),
    ({"params_schema": {"type": "array"}}, "params_schema"),
    ({"params_schema": {"type": 12}}, "params_schema"),
])
def test_an_admins_record_is_checked(changes: dict[str, Any], field: str) -> None:
    checked = check_record(record("replicate/acme/painter", **changes), ["replicate", "fal"])
    assert isinstance(checked, Failure) and checked.failure().field == field


def test_a_sound_record_passes() -> None:
    sound = record("replicate/acme/painter:0123abcd", aliases=("painter",), default_for=(Op.TEXT_TO_IMAGE,),
                   params_schema=SCHEMA)
    assert check_record(sound, ["replicate"]).unwrap() == sound


def test_a_schema_must_be_a_json_schema_object() -> None:
    assert isinstance(check_schema([]), Failure)
    assert check_schema(SCHEMA).unwrap() == SCHEMA

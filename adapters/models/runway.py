"""Runway's models: Gen-4.5 and Gen-4 Turbo video, Gen-3 Alpha Turbo, Gen-4 images."""

from __future__ import annotations

from adapters.providers.runway import (
    RUNWAY_PROVIDER_ID,
    RunwayImageParams,
    RunwayImageToVideoParams,
    RunwayModels,
    RunwayTextToVideoParams,
)
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit

_DEFAULTS = RunwayModels()
_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)
_PER_IMAGE = PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE)
_I2V = ModelOperation(operation_type=Op.IMAGE_TO_VIDEO, min_inputs=1, max_inputs=1)
_T2I = ModelOperation(operation_type=Op.TEXT_TO_IMAGE)
_I2I = ModelOperation(operation_type=Op.IMAGE_TO_IMAGE, min_inputs=1, max_inputs=3)


def _model(remote: str, name: str, operations: tuple[ModelOperation, ...], params: type, price: PriceRule,
           default_for: tuple[Op, ...] = ()) -> Model:
    return Model(id=f"{RUNWAY_PROVIDER_ID}/{remote}", provider_id=RUNWAY_PROVIDER_ID, remote_id=remote, name=name,
                 operations=operations, params_type=params, price=price, default_for=default_for)


RUNWAY_MODELS: tuple[Model, ...] = (
    _model(_DEFAULTS.text_to_video, "Gen-4.5", (ModelOperation(operation_type=Op.TEXT_TO_VIDEO),),
           RunwayTextToVideoParams, _PER_SECOND, (Op.TEXT_TO_VIDEO,)),
    _model(_DEFAULTS.image_to_video, "Gen-4 Turbo", (_I2V,), RunwayImageToVideoParams, _PER_SECOND,
           (Op.IMAGE_TO_VIDEO,)),
    _model("gen3a_turbo", "Gen-3 Alpha Turbo", (_I2V,), RunwayImageToVideoParams, _PER_SECOND),
    _model(_DEFAULTS.text_to_image, "Gen-4 Image", (_T2I, _I2I), RunwayImageParams, _PER_IMAGE,
           (Op.TEXT_TO_IMAGE, Op.IMAGE_TO_IMAGE)),
    _model("gen4_image_turbo", "Gen-4 Image Turbo", (_I2I,), RunwayImageParams, _PER_IMAGE),
)

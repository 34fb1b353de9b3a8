"""Luma's models: Ray 2 and Ray Flash 2 video, Photon and Photon Flash images."""

from __future__ import annotations

from adapters.providers.luma import LUMA_PROVIDER_ID, LumaImageParams, LumaModels, LumaVideoParams
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit

_DEFAULTS = LumaModels()
_VIDEO_OPS = (Op.TEXT_TO_VIDEO, Op.IMAGE_TO_VIDEO, Op.VIDEO_TRANSITION, Op.VIDEO_EXTEND)
_INPUTS = {Op.TEXT_TO_VIDEO: 0, Op.IMAGE_TO_VIDEO: 1, Op.VIDEO_TRANSITION: 2, Op.VIDEO_EXTEND: 1}
_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)


def _video(remote: str, name: str, default: bool = False) -> Model:
    return Model(id=f"{LUMA_PROVIDER_ID}/{remote}", provider_id=LUMA_PROVIDER_ID, remote_id=remote, name=name,
                 operations=tuple(ModelOperation(operation_type=op, min_inputs=_INPUTS[op], max_inputs=_INPUTS[op])
                                  for op in _VIDEO_OPS),
                 params_type=LumaVideoParams, price=_PER_SECOND, default_for=_VIDEO_OPS if default else ())


def _image(remote: str, name: str, default: bool = False) -> Model:
    return Model(id=f"{LUMA_PROVIDER_ID}/{remote}", provider_id=LUMA_PROVIDER_ID, remote_id=remote, name=name,
                 operations=(ModelOperation(operation_type=Op.TEXT_TO_IMAGE),), params_type=LumaImageParams,
                 price=PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE),
                 default_for=(Op.TEXT_TO_IMAGE,) if default else ())


LUMA_MODELS: tuple[Model, ...] = (
    _video(_DEFAULTS.video, "Ray 2", default=True),
    _video("ray-flash-2", "Ray Flash 2"),
    _image(_DEFAULTS.image, "Photon", default=True),
    _image("photon-flash-1", "Photon Flash"),
)

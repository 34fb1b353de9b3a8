"""PixVerse's models: v5, v4.5 (the default) and v4, each for every PixVerse operation."""

from __future__ import annotations

from adapters.providers.pixverse import (
    PIXVERSE_PROVIDER_ID,
    PixverseModels,
    PixverseTextToVideoParams,
    PixverseVideoParams,
)
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit

_OPS = (
    ModelOperation(operation_type=Op.TEXT_TO_VIDEO, params_type=PixverseTextToVideoParams),
    ModelOperation(operation_type=Op.IMAGE_TO_VIDEO, min_inputs=1, max_inputs=1),
    ModelOperation(operation_type=Op.VIDEO_TRANSITION, min_inputs=2, max_inputs=2),
    ModelOperation(operation_type=Op.VIDEO_EXTEND, min_inputs=1, max_inputs=1),
)
_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)


def _pixverse(remote: str, default: bool = False) -> Model:
    return Model(id=f"{PIXVERSE_PROVIDER_ID}/{remote}", provider_id=PIXVERSE_PROVIDER_ID, remote_id=remote,
                 name=f"PixVerse {remote}", operations=_OPS, params_type=PixverseVideoParams, price=_PER_SECOND,
                 default_for=tuple(op.operation_type for op in _OPS) if default else ())


PIXVERSE_MODELS: tuple[Model, ...] = (
    _pixverse(PixverseModels().text_to_video, default=True),
    _pixverse("v5"),
    _pixverse("v4"),
)

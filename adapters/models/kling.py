"""Kling's models, directly: v1.6 (the adapter's default, both operations) and the v2 family.

Another model's params are the adapter's own without `model_name` (the model is the job's) and
without `cfg_scale` (refused by kling-v2* models). One credit per started second, as the adapter.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from adapters.providers.kling import (
    DEFAULT_MODEL,
    KLING_PROVIDER_ID,
    KlingImageToVideoParams,
    KlingTextToVideoParams,
    NegativePrompt,
    Prompt,
)
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit

_PER_SECOND = PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="duration", default_quantity=5)


class KlingV2TextToVideoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt
    negative_prompt: NegativePrompt | None = None
    mode: Literal["std", "pro"] = "std"
    duration: Literal[5, 10] = 5
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"


class KlingV2ImageToVideoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    prompt: Prompt | None = None
    negative_prompt: NegativePrompt | None = None
    mode: Literal["std", "pro"] = "std"
    duration: Literal[5, 10] = 5


_T2V = ModelOperation(operation_type=Op.TEXT_TO_VIDEO)
_I2V = ModelOperation(operation_type=Op.IMAGE_TO_VIDEO, min_inputs=1, max_inputs=1,
                      params_type=KlingV2ImageToVideoParams)


def _kling(remote: str, name: str, *operations: ModelOperation) -> Model:
    return Model(id=f"{KLING_PROVIDER_ID}/{remote}", provider_id=KLING_PROVIDER_ID, remote_id=remote, name=name,
                 operations=operations, params_type=KlingV2TextToVideoParams, price=_PER_SECOND)


KLING_MODELS: tuple[Model, ...] = (
    Model(id=f"{KLING_PROVIDER_ID}/{DEFAULT_MODEL}", provider_id=KLING_PROVIDER_ID, remote_id=DEFAULT_MODEL,
          name="Kling v1.6", params_type=KlingTextToVideoParams, price=_PER_SECOND, default_for=(Op.TEXT_TO_VIDEO, Op.IMAGE_TO_VIDEO),
          operations=(ModelOperation(operation_type=Op.TEXT_TO_VIDEO),
                      ModelOperation(operation_type=Op.IMAGE_TO_VIDEO, min_inputs=1, max_inputs=1,
                                     params_type=KlingImageToVideoParams))),
    _kling("kling-v2-master", "Kling v2 master", _T2V, _I2V),
    _kling("kling-v2-1-master", "Kling v2.1 master", _T2V, _I2V),
    _kling("kling-v2-1", "Kling v2.1", _I2V),
    _kling("kling-v2-5-turbo", "Kling v2.5 turbo", _T2V, _I2V),
)

"""The simulator's models: one per kind of output."""

from __future__ import annotations

from adapters.providers.sim import SIM_PROVIDER_ID, SimImageParams, SimUpscaleParams, SimVideoParams
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit


def _op(operation: Op, inputs: int) -> ModelOperation:
    return ModelOperation(operation_type=operation, min_inputs=inputs, max_inputs=inputs)


SIM_MODELS: tuple[Model, ...] = (
    Model(id="sim/image", provider_id=SIM_PROVIDER_ID, remote_id="image", name="Simulated images",
          operations=(_op(Op.TEXT_TO_IMAGE, 0), _op(Op.IMAGE_TO_IMAGE, 1)), params_type=SimImageParams,
          price=PriceRule(credits_per_unit=1, unit=PriceUnit.IMAGE, quantity_param="num_images"),
          default_for=(Op.TEXT_TO_IMAGE, Op.IMAGE_TO_IMAGE)),
    Model(id="sim/video", provider_id=SIM_PROVIDER_ID, remote_id="video", name="Simulated videos",
          operations=(_op(Op.TEXT_TO_VIDEO, 0), _op(Op.IMAGE_TO_VIDEO, 1), _op(Op.VIDEO_EXTEND, 1),
                      _op(Op.VIDEO_TRANSITION, 2)),
          params_type=SimVideoParams,
          price=PriceRule(credits_per_unit=1, unit=PriceUnit.SECOND, quantity_param="seconds", default_quantity=4),
          default_for=(Op.TEXT_TO_VIDEO, Op.IMAGE_TO_VIDEO, Op.VIDEO_EXTEND, Op.VIDEO_TRANSITION)),
    Model(id="sim/upscale", provider_id=SIM_PROVIDER_ID, remote_id="upscale", name="Simulated upscaler",
          operations=(_op(Op.UPSCALE, 1),), params_type=SimUpscaleParams,
          price=PriceRule(credits_per_unit=1, unit=PriceUnit.JOB), default_for=(Op.UPSCALE,)),
)

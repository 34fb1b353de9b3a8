"""Google's Veo models on the Gemini API: 3.1 and 3.0, each also in its Fast variant."""

from __future__ import annotations

from adapters.providers.veo import VEO_PROVIDER_ID, VeoModels, VeoParams
from domain.jobs import OperationType as Op
from domain.models import Model, ModelOperation
from domain.providers import PriceRule, PriceUnit

_OPS = (ModelOperation(operation_type=Op.TEXT_TO_VIDEO),
        ModelOperation(operation_type=Op.IMAGE_TO_VIDEO, min_inputs=1, max_inputs=1))


def _veo(remote: str, name: str, credits: int, default: bool = False) -> Model:
    return Model(id=f"{VEO_PROVIDER_ID}/{remote}", provider_id=VEO_PROVIDER_ID, remote_id=remote, name=name,
                 operations=_OPS, params_type=VeoParams,
                 price=PriceRule(credits_per_unit=credits, unit=PriceUnit.SECOND, quantity_param="duration_seconds",
                                 default_quantity=8),
                 default_for=(Op.TEXT_TO_VIDEO, Op.IMAGE_TO_VIDEO) if default else ())


VEO_MODELS: tuple[Model, ...] = (
    _veo(VeoModels().text_to_video, "Veo 3.1", 1, default=True),
    _veo("veo-3.1-fast-generate-preview", "Veo 3.1 Fast", 1),
    _veo("veo-3.0-generate-001", "Veo 3", 1),
    _veo("veo-3.0-fast-generate-001", "Veo 3 Fast", 1),
)

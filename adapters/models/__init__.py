"""The built-in model catalog: each provider's current flagship models, with typed params.

Each provider's default model for an operation (`default_for`) has the very params, price and
inputs its adapter declares for that operation (tests/unit/adapters/test_builtin_models.py),
so a job naming only `provider_id` runs as it did before models existed.
"""

from __future__ import annotations

from adapters.models.fal import FAL_MODELS
from adapters.models.kling import KLING_MODELS
from adapters.models.luma import LUMA_MODELS
from adapters.models.openai_images import OPENAI_MODELS
from adapters.models.pixverse import PIXVERSE_MODELS
from adapters.models.replicate import REPLICATE_MODELS
from adapters.models.runway import RUNWAY_MODELS
from adapters.models.sim import SIM_MODELS
from adapters.models.veo import VEO_MODELS
from domain.models import Model

BUILTIN_MODELS: tuple[Model, ...] = (
    *SIM_MODELS, *REPLICATE_MODELS, *FAL_MODELS, *OPENAI_MODELS, *RUNWAY_MODELS, *LUMA_MODELS, *VEO_MODELS,
    *PIXVERSE_MODELS, *KLING_MODELS,
)

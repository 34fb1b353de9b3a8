"""Bodies of the OpenAI-compatible routes, in OpenAI's own shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from application.openai_compat.models import ImageAsk
from entrypoints.http.schemas_common import In

ResponseFormat = Literal["url", "b64_json"]
Short = Annotated[str, Meta(max_length=200)]
OPTION_FIELDS = ("style", "background", "output_format", "moderation", "output_compression", "partial_images",
                 "input_fidelity")


class ImageGenerationIn(In, frozen=True, kw_only=True):
    """OpenAI's `POST /images/generations` body. Fields the chosen model cannot honour are a
    400 naming them; `pixrelay_params` (an extension) are provider params laid over the
    mapped ones (see GET /v1/providers for each provider's schema)."""

    prompt: Annotated[str, Meta(min_length=1, max_length=32000, examples=["a red fox in the snow"])]
    model: Annotated[str, Meta(min_length=1, max_length=200, examples=["sim/image"],
                               description="required here: GET /openai/v1/models lists them")]
    n: Annotated[int, Meta(ge=1, le=10, examples=[2])] | None = None
    size: Annotated[str, Meta(max_length=32, examples=["256x256"])] | None = None
    quality: Annotated[str, Meta(max_length=32, examples=["auto"])] | None = None
    response_format: Annotated[ResponseFormat, Meta(examples=["b64_json"])] | None = None
    user: Annotated[str, Meta(max_length=256, description="accepted and not used")] | None = None
    style: Short | None = None
    background: Short | None = None
    output_format: Short | None = None
    moderation: Short | None = None
    output_compression: Annotated[int, Meta(ge=0, le=100)] | None = None
    partial_images: Annotated[int, Meta(ge=0, le=3)] | None = None
    input_fidelity: Short | None = None
    stream: bool | None = None
    pixrelay_params: dict[str, Any] | None = None

    def ask(self, *, edit: bool = False) -> ImageAsk:
        options = {name: value for name in OPTION_FIELDS if (value := getattr(self, name)) is not None}
        if self.stream:
            options["stream"] = True
        return ImageAsk(prompt=self.prompt, edit=edit, n=self.n, size=self.size, quality=self.quality,
                        options=options, params=self.pixrelay_params or {})


class ImageData(msgspec.Struct, kw_only=True, omit_defaults=True):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(msgspec.Struct, kw_only=True):
    created: int
    data: list[ImageData]


class ModelOut(msgspec.Struct, kw_only=True):
    id: str
    created: int
    owned_by: str
    object: Literal["model"] = "model"


class ModelList(msgspec.Struct, kw_only=True):
    data: list[ModelOut]
    object: Literal["list"] = "list"


class ErrorDetail(msgspec.Struct, kw_only=True):
    message: str
    type: str
    code: str | None
    param: str | None


class ErrorOut(msgspec.Struct, kw_only=True):
    """OpenAI's error shape."""

    error: ErrorDetail

"""Every recorded provider answer parsed with the provider's official SDK response model, so a
fixture that drifts from the published schema is noticed. A fixture that is off-schema on
purpose (a surprising answer the adapter must survive) is listed in DELIBERATELY_INVALID with
the reason, and the test checks that it really is refused by the SDK.

SDKs without response models for what the adapters read (fal-client answers plain dicts; the
PixVerse and Gemini-API Veo REST answers have no official Python model used here) are not
covered by this file. Kling has no official Python SDK: its fixtures are checked against the
documented response body in test_kling.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest
import replicate.file
import replicate.prediction
from lumaai.types import Generation
from openai.types import ErrorObject, ImagesResponse
from runwayml.resources.uploads import _RunwayUploadStartedResponse
from runwayml.types import TaskRetrieveResponse, TextToVideoCreateResponse

from tests.support.recorded_http import FIXTURES
from tests.support.recorded_http import fixture_body as _body


def _v2(model: Any) -> Callable[[Any], object]:
    return pydantic.TypeAdapter(model).validate_python


def _v1(model: Any) -> Callable[[Any], object]:  # replicate's models are pydantic v1
    return model.parse_obj  # type: ignore[no-any-return]


# provider directory -> (fixture name prefix -> validator); error answers only where the SDK
# models them (OpenAI's ErrorObject)
MODELS: dict[str, dict[str, Callable[[Any], object]]] = {
    "openai_images": {"generated_": _v2(ImagesResponse), "edited_": _v2(ImagesResponse),
                      "empty_data": _v2(ImagesResponse), "bad_b64": _v2(ImagesResponse),
                      "neither": _v2(ImagesResponse),
                      "error_": lambda body: ErrorObject.model_validate(body["error"])},
    "runway": {"task_created": _v2(TextToVideoCreateResponse), "task_": _v2(TaskRetrieveResponse),
               # the model runwayml's uploads.create_ephemeral reads the POST /v1/uploads answer with
               "upload_slot": _v2(_RunwayUploadStartedResponse)},
    "luma": {"generation_": _v2(Generation)},
    "replicate": {"prediction_": _v1(replicate.prediction.Prediction), "file_": _v1(replicate.file.File)},
}

DELIBERATELY_INVALID = {
    ("runway", "task_unknown_status"): "a status Runway does not document, to test the adapter's fallback",
    ("luma", "generation_unknown_state"): "a state Luma does not document, to test the adapter's fallback",
    ("replicate", "prediction_surprising"): "a status Replicate does not document",
    ("replicate", "prediction_without_id"): "an answer with no id, to test the malformed-answer path",
    ("replicate", "prediction_aborted"): "`aborted` is in Replicate's HTTP API docs but not yet in the "
                                         "replicate client's Prediction.status literal",
}


def _fixtures() -> list[tuple[str, str]]:
    found = []
    for provider, prefixes in MODELS.items():
        for path in sorted((FIXTURES / provider).glob("*.json")):
            if any(path.stem.startswith(prefix) for prefix in prefixes):
                found.append((provider, path.stem))
    return found


def _validator(provider: str, name: str) -> Callable[[Any], object]:
    return next(check for prefix, check in MODELS[provider].items() if name.startswith(prefix))


def test_every_provider_directory_has_fixtures_checked() -> None:
    assert {provider for provider, _ in _fixtures()} == set(MODELS)
    assert set(DELIBERATELY_INVALID) <= set(_fixtures())


@pytest.mark.parametrize(("provider", "name"), [f for f in _fixtures() if f not in DELIBERATELY_INVALID])
def test_recorded_answer_matches_the_official_sdk_model(provider: str, name: str) -> None:
    _validator(provider, name)(_body(provider, name))


@pytest.mark.parametrize(("provider", "name"), sorted(DELIBERATELY_INVALID))
def test_deliberately_invalid_answer_is_refused_by_the_official_sdk_model(provider: str, name: str) -> None:
    with pytest.raises((pydantic.ValidationError, pydantic.v1.ValidationError)):
        _validator(provider, name)(_body(provider, name))

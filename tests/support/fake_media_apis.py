"""Stateful fakes of the Replicate, fal and OpenAI images HTTP APIs, for httpx.MockTransport.

They speak the documented wire formats just enough for the ProviderClient contract suite:
jobs move one state per `advance()`, outputs are real PNG bytes on a public-looking CDN host.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from typing import Any

import httpx

from adapters.media import png

PNG = png(16, 16, seed=7)


def _unauthorized() -> httpx.Response:
    return httpx.Response(401, json={"detail": "Unauthenticated"})


class FakeReplicate:
    secret = "r8_contract_token"

    def __init__(self) -> None:
        self.predictions: dict[str, dict[str, Any]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "replicate.delivery":
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        if request.headers.get("authorization") != f"Bearer {self.secret}":
            return _unauthorized()
        path = request.url.path
        if request.method == "POST" and re.fullmatch(r"/v1/models/[^/]+/[^/]+/predictions", path):
            prediction_id = hashlib.sha256(str(len(self.predictions)).encode()).hexdigest()[:26]
            self.predictions[prediction_id] = {"id": prediction_id, "status": "starting", "output": None,
                                               "error": None}
            return httpx.Response(201, json=self.predictions[prediction_id])
        match = re.fullmatch(r"/v1/predictions/([a-z0-9]+)(/cancel)?", path)
        prediction = self.predictions.get(match.group(1)) if match else None
        if prediction is None:
            return httpx.Response(404, json={"title": "Not found", "detail": "no such prediction", "status": 404})
        if match and match.group(2) and prediction["status"] in ("starting", "processing"):
            prediction["status"] = "canceled"
        return httpx.Response(200, json=prediction)

    def advance(self) -> None:
        for prediction in self.predictions.values():
            if prediction["status"] == "starting":
                prediction["status"] = "processing"
            elif prediction["status"] == "processing":
                prediction["status"] = "succeeded"
                prediction["output"] = [f"https://replicate.delivery/fake/{prediction['id']}/out-0.png"]


class FakeFal:
    secret = "fal-contract:key"

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "v3.fal.media":
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        if request.headers.get("authorization") != f"Key {self.secret}":
            return _unauthorized()
        path = request.url.path
        if request.method == "POST" and path == "/fal-ai/flux/schnell":
            request_id = str(uuid.uuid4())
            self.requests[request_id] = {"app": "fal-ai/flux", "status": "IN_QUEUE"}
            return httpx.Response(200, json={"request_id": request_id})
        match = re.fullmatch(r"/([^/]+/[^/]+)/requests/([0-9a-f-]+)(/status|/cancel)?", path)
        queued = self.requests.get(match.group(2)) if match else None
        if match is None or queued is None or queued["app"] != match.group(1):
            return httpx.Response(404, json={"detail": "Request not found"})
        if match.group(3) == "/status":
            return httpx.Response(200 if queued["status"] == "COMPLETED" else 202, json={"status": queued["status"]})
        if match.group(3) == "/cancel":
            if queued["status"] == "COMPLETED":
                return httpx.Response(400, json={"status": "ALREADY_COMPLETED"})
            queued["status"] = "COMPLETED"
            queued["cancelled"] = True
            return httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
        if queued["status"] != "COMPLETED":
            return httpx.Response(400, json={"detail": "Request is still in progress"})
        if queued.get("cancelled"):
            return httpx.Response(499, json={"detail": "cancelled", "error_type": "client_cancelled"})
        return httpx.Response(200, json={"images": [{"url": f"https://v3.fal.media/files/{match.group(2)}.png",
                                                     "content_type": "image/png"}],
                                         "has_nsfw_concepts": [False]})

    def advance(self) -> None:
        for queued in self.requests.values():
            queued["status"] = {"IN_QUEUE": "IN_PROGRESS", "IN_PROGRESS": "COMPLETED"}.get(queued["status"],
                                                                                         queued["status"])


class FakeOpenAIImages:
    secret = "sk-contract-key"

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.secret}":
            return httpx.Response(401, json={"error": {"message": "bad key", "type": "invalid_request_error",
                                                       "code": "invalid_api_key"}})
        if request.method == "POST" and request.url.path == "/v1/images/generations":
            return httpx.Response(200, json={"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()}]})
        return httpx.Response(404, json={"error": {"message": "no route", "type": "invalid_request_error"}})

    def advance(self) -> None:
        """The API is synchronous: nothing moves between polls."""

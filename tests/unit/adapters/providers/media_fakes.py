"""Stateful fakes of the Runway, PixVerse, Luma, Gemini (Veo) and Kling APIs for the ProviderClient
contract: jobs are created, move one step per `advance()` (queued, running, done) and finish with
a downloadable output. Answers are the recorded fixtures with the job's own id filled in; a
request without the provider's credentials is refused the way the provider documents."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable

import httpx
import jwt

from domain.account_secrets import encode_fields
from tests.unit.adapters.providers.media_replay import body

OUTPUT_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"fake-video" * 50


class _Fake:
    """Jobs by id, each with a step count; subclasses answer in their provider's format."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.steps: dict[str, int] = {}
        self.deleted: set[str] = set()
        self._ids = itertools.count(1)

    def advance(self) -> None:
        for job_id in self.steps:
            self.steps[job_id] += 1

    def new_job(self, make_id: Callable[[int], str]) -> str:
        job_id = make_id(next(self._ids))
        self.steps[job_id] = 0
        return job_id

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.startswith("cdn."):
            return httpx.Response(200, content=OUTPUT_BYTES, headers={"content-type": "video/mp4"})
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError


class FakeRunway(_Fake):
    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.secret}" \
                or request.headers.get("x-runway-version") != "2024-11-06":
            return httpx.Response(401, json={"error": "Invalid API key"})
        path = request.url.path
        if request.method == "POST" and path in ("/v1/text_to_video", "/v1/image_to_video", "/v1/text_to_image"):
            return httpx.Response(200, json={"id": self.new_job(lambda n: f"00000000-0000-4000-8000-{n:012d}")})
        match = re.fullmatch(r"/v1/tasks/([0-9a-f-]+)", path)
        task_id = match.group(1) if match else ""
        if task_id not in self.steps or task_id in self.deleted:
            return httpx.Response(404, json={"error": "Not found"})
        if request.method == "DELETE":
            self.deleted.add(task_id)
            return httpx.Response(204)
        name = ("task_pending", "task_running", "task_succeeded")[min(self.steps[task_id], 2)]
        task = body("runway", name) | {"id": task_id, "createdAt": "2026-01-01T12:00:00.000Z"}
        if name == "task_succeeded":
            task["output"] = [f"https://cdn.runway.test/{task_id}.mp4"]
        return httpx.Response(200, json=task)


class FakePixverse(_Fake):
    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("api-key") != self.secret or not request.headers.get("ai-trace-id"):
            return httpx.Response(200, json={"ErrCode": 10005, "ErrMsg": "Invalid API-KEY", "Resp": None})
        path = request.url.path
        if request.method == "POST" and path.startswith("/openapi/v2/video/") and path.endswith("/generate"):
            video_id = self.new_job(lambda n: str(356280142345216 + n))
            return httpx.Response(200, json={"ErrCode": 0, "ErrMsg": "success", "Resp": {"video_id": int(video_id)}})
        video_id = path.rsplit("/", 1)[-1]
        if not path.startswith("/openapi/v2/video/result/") or video_id not in self.steps:
            return httpx.Response(200, json={"ErrCode": 500008, "ErrMsg": "Requested data not found", "Resp": None})
        name = "result_success" if self.steps[video_id] >= 2 else "result_generating"
        answer = body("pixverse", name)
        answer["Resp"] |= {"id": int(video_id), "url": f"https://cdn.pixverse.test/{video_id}.mp4"
                           if name == "result_success" else ""}
        return httpx.Response(200, json=answer)


class FakeLuma(_Fake):
    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.secret}":
            return httpx.Response(401, json={"detail": "Invalid API key provided"})
        path = request.url.path
        if request.method == "POST" and path in ("/dream-machine/v1/generations/video",
                                                 "/dream-machine/v1/generations/image"):
            generation_id = self.new_job(lambda n: f"d5f0a2e4-0000-4000-8000-{n:012d}")
            return httpx.Response(201, json=body("luma", "generation_created") | {"id": generation_id})
        generation_id = path.rsplit("/", 1)[-1]
        if generation_id not in self.steps or generation_id in self.deleted:
            return httpx.Response(404, json={"detail": "Generation not found"})
        if request.method == "DELETE":
            self.deleted.add(generation_id)
            return httpx.Response(204)
        name = ("generation_queued", "generation_dreaming", "generation_completed")[min(self.steps[generation_id], 2)]
        generation = body("luma", name) | {"id": generation_id}
        if name == "generation_completed":
            generation["assets"] = {"video": f"https://cdn.luma.test/{generation_id}.mp4"}
        return httpx.Response(200, json=generation)


class FakeGemini(_Fake):
    """Veo operations; its video URIs need the API key, like the real files endpoint."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.startswith("cdn.") and request.headers.get("x-goog-api-key") != self.secret:
            return httpx.Response(403, json={"error": {"code": 403, "status": "PERMISSION_DENIED"}})
        return super().handler(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-goog-api-key") != self.secret:
            return httpx.Response(400, json=body("veo", "error_400_api_key"))
        path = request.url.path.removeprefix("/v1beta/")
        created = re.fullmatch(r"models/([\w.-]+):predictLongRunning", path)
        if request.method == "POST" and created:
            name = self.new_job(lambda n: f"models/{created.group(1)}/operations/op{n:06d}")
            return httpx.Response(200, json={"name": name})
        if path not in self.steps:
            return httpx.Response(404, json=body("veo", "error_404"))
        if self.steps[path] < 2:
            return httpx.Response(200, json={"name": path})
        done = body("veo", "operation_done") | {"name": path}
        done["response"]["generateVideoResponse"]["generatedSamples"] = [
            {"video": {"uri": f"https://cdn.gemini.test/files/{path.rsplit('/', 1)[-1]}:download?alt=media"}}]
        return httpx.Response(200, json=done)


class FakeKling(_Fake):
    """Kling's task API: every request must carry a JWT signed with the account's secret key,
    issued by its access key; tasks are found by task_id or by our external_task_id."""

    ACCESS_KEY = "AK-fake-kling-access"
    SECRET_KEY = "SK-fake-kling-secret-signing-key-0123"

    def __init__(self) -> None:
        super().__init__(encode_fields({"access_key": self.ACCESS_KEY, "secret_key": self.SECRET_KEY}))
        self.external: dict[str, str] = {}  # external_task_id -> task_id
        self.seen: list[httpx.Request] = []

    def _signed(self, request: httpx.Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, self.SECRET_KEY, algorithms=["HS256"],
                                options={"verify_exp": False, "verify_nbf": False})
        except jwt.InvalidTokenError:
            return False
        return scheme == "Bearer" and claims.get("iss") == self.ACCESS_KEY and claims["exp"] - claims["nbf"] == 1805

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if not self._signed(request):
            return httpx.Response(401, json={"code": 1002, "message": "Authorization is invalid"})
        match = re.fullmatch(r"/v1/videos/(text2video|image2video)(?:/([\w-]+))?", request.url.path)
        if match is None:
            return httpx.Response(404, json={"code": 1202, "message": "The requested method is invalid"})
        if request.method == "POST":
            external = json.loads(request.content).get("external_task_id")
            if external in self.external:
                return httpx.Response(400, json={"code": 1201, "message": "external_task_id already exists"})
            task_id = self.new_job(lambda n: f"CjhHxmdQ9XUAAAAAAH{n:04d}")
            self.external[external] = task_id
            return httpx.Response(200, json=body("kling", "task_created") | {
                "data": body("kling", "task_created")["data"] | {"task_id": task_id,
                                                                 "task_info": {"external_task_id": external}}})
        task_id = self.external.get(match.group(2), match.group(2))
        if task_id not in self.steps:
            return httpx.Response(400, json={"code": 1201, "message": "Task not found"})
        name = ("task_submitted", "task_processing", "task_succeed")[min(self.steps[task_id], 2)]
        data = body("kling", name)["data"] | {"task_id": task_id, "created_at": None}
        if name == "task_succeed":
            data["task_result"] = {"videos": [{"id": task_id, "url": f"https://cdn.kling.test/{task_id}.mp4",
                                               "duration": "5"}]}
        return httpx.Response(200, json=body("kling", name) | {"data": data})

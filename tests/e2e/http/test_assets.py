"""Assets over HTTP: streamed multipart uploads, dedup, downloads, deletion, lineage."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from application.policy import AssetPolicy, AuthPolicy, Policies
from domain.assets import UploadLimits
from tests.e2e.http.conftest import PNG, Api, assert_problem, serve
from tests.support.wiring import memory_wiring

BOUNDARY = "pixrelay-test-boundary"


def form(*parts: tuple[str, str | None, bytes], close: bool = True) -> bytes:
    """A hand-made multipart/form-data body: (field name, filename, bytes) per part."""
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + (f"--{BOUNDARY}--\r\n".encode() if close else b"")


FORM_TYPE = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_upload_png_then_dedup_gives_201_then_200(api: Api) -> None:
    alice = api.register()
    first = api.upload(alice, filename="../../etc/fox.png", workspace_id="ws1")
    assert first.status_code == 201, first.text
    asset = first.json()
    assert asset["media_type"] == "image" and asset["mime_type"] == "image/png"
    assert asset["size_bytes"] == len(PNG) and asset["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert asset["source"] == "uploaded" and asset["original_filename"] == "fox.png"
    assert asset["workspace_id"] == "ws1" and asset["created_at"].endswith("Z")
    assert {"id", "media_type", "mime_type", "size_bytes", "sha256", "source", "job_id", "original_filename",
            "created_at"} <= set(asset)
    again = api.upload(alice, filename="copy.png")
    assert again.status_code == 200 and again.json()["id"] == asset["id"]
    me = api.client.get("/v1/users/me", headers=alice.headers).json()
    assert me["usage"]["storage_bytes"] == len(PNG)


def test_type_comes_from_the_bytes_not_the_claim(api: Api) -> None:
    alice = api.register()
    text = api.client.post("/v1/assets", headers=alice.headers,
                           files={"file": ("image.png", b"just some text, not an image", "image/png")})
    assert_problem(text, 415, "UNSUPPORTED_MEDIA_TYPE")
    empty = api.upload(alice, data=b"")
    assert assert_problem(empty, 422, "VALIDATION_ERROR")["field"] == "file"


@pytest.fixture
def small_api() -> Iterator[Api]:
    limits = UploadLimits(image_bytes=1000, video_bytes=1000, audio_bytes=1000)
    policies = Policies(auth=AuthPolicy(login_attempts_per_client=1000), assets=AssetPolicy(limits=limits))
    yield from serve(memory_wiring(policies=policies))


def test_uploads_past_the_limit_are_413(small_api: Api) -> None:
    alice = small_api.register()
    big_png = PNG[:16] + b"\x00" * 5000
    assert_problem(small_api.upload(alice, data=big_png), 413, "PAYLOAD_TOO_LARGE")
    # past the whole-request cap, refused from Content-Length before anything is read
    huge = small_api.upload(alice, data=PNG[:16] + b"\x00" * 200_000)
    assert_problem(huge, 413, "PAYLOAD_TOO_LARGE")
    assert small_api.wiring.ports.blobs.keys() == []  # type: ignore[attr-defined]
    assert small_api.upload(alice, data=PNG[:16] + b"\x00" * 500).status_code == 201


def test_malformed_forms_are_4xx_problems(api: Api) -> None:
    alice = api.register()
    headers = {**alice.headers, **FORM_TYPE}

    def post(body: bytes, extra: dict[str, str] | None = None) -> dict[str, object]:
        response = api.client.post("/v1/assets", headers={**headers, **(extra or {})}, content=body)
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        result: dict[str, object] = response.json()
        return result

    assert post(form(("workspace_id", None, b"ws")))["code"] == "VALIDATION_ERROR"  # no file
    assert post(form(("other", None, b"x"), ("file", "a.png", PNG)))["field"] == "other"
    assert post(form(("file", "a.png", PNG), ("other", None, b"late")))["field"] == "other"  # after the file too
    assert post(form(("file", "a.png", PNG), ("file", "b.png", PNG)))["field"] == "file"
    assert post(form(("file", "a.png", PNG), ("workspace_id", None, b"")))["field"] == "workspace_id"
    assert post(form(("file", "a.png", PNG), close=False))["code"] == "VALIDATION_ERROR"  # truncated
    assert post(b"not multipart at all")["code"] == "VALIDATION_ERROR"
    assert post(form(("workspace_id", None, b"w" * 2000), ("file", "a.png", PNG)))["field"] == "workspace_id"
    assert post(form(("workspace_id", None, b"\xff\xfe"), ("file", "a.png", PNG)))["field"] == "workspace_id"
    assert post(form(("file", "a.png", PNG)), {"Content-Type": "application/json"})["code"] == (
        "UNSUPPORTED_MEDIA_TYPE")
    assert post(form(("file", "a.png", PNG)), {"Content-Type": "multipart/form-data"})["code"] == (
        "VALIDATION_ERROR")
    assert api.client.get("/v1/assets", headers=alice.headers).json()["items"] == []
    assert_problem(api.client.post("/v1/assets", content=form(("file", "a.png", PNG)), headers=FORM_TYPE), 401)


def test_content_streams_the_bytes_with_type_and_name(api: Api) -> None:
    alice = api.register()
    asset = api.upload(alice, filename='ré"sumé.png').json()
    response = api.client.get(f"/v1/assets/{asset['id']}/content", headers=alice.headers)
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == (
        "inline; filename=\"r__sum_.png\"; filename*=UTF-8''r%C3%A9%22sum%C3%A9.png")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_content_redirects_when_the_store_presigns(api: Api) -> None:
    alice = api.register()
    asset = api.upload(alice).json()

    async def presign(key: str, expires_seconds: int, mime_type: str, filename: str | None = None) -> str:
        return f"https://blobs.example/{key}?expires={expires_seconds}"

    api.wiring.ports.blobs.presigned_url = presign  # type: ignore[method-assign]
    response = api.client.get(f"/v1/assets/{asset['id']}/content", headers=alice.headers, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith("https://blobs.example/sha256/")


def test_get_list_filters_and_delete(api: Api) -> None:
    alice = api.register()
    image = api.upload(alice, workspace_id="ws").json()
    got = api.client.get(f"/v1/assets/{image['id']}", headers=alice.headers)
    assert got.status_code == 200 and got.json() == image
    listed = api.client.get("/v1/assets?media_type=image&source=uploaded&workspace_id=ws", headers=alice.headers)
    assert [a["id"] for a in listed.json()["items"]] == [image["id"]]
    assert api.client.get("/v1/assets?media_type=video", headers=alice.headers).json()["items"] == []
    for query in ("media_type=paint", "source=stolen", "limit=x", "cursor=%%%"):
        assert_problem(api.client.get(f"/v1/assets?{query}", headers=alice.headers), 422, "VALIDATION_ERROR")
    assert api.client.delete(f"/v1/assets/{image['id']}", headers=alice.headers).status_code == 204
    assert_problem(api.client.get(f"/v1/assets/{image['id']}", headers=alice.headers), 404, "NOT_FOUND")
    assert_problem(api.client.delete(f"/v1/assets/{image['id']}", headers=alice.headers), 404)
    assert_problem(api.client.get(f"/v1/assets/{image['id']}/content", headers=alice.headers), 404)
    assert api.client.get("/v1/assets", headers=alice.headers).json()["items"] == []


def test_lineage_of_a_generated_asset(api: Api) -> None:
    alice = api.register()
    api.pool_account()
    source = api.upload(alice).json()
    job = api.job(alice, operation_type="image_to_image", input_asset_ids=[source["id"]])
    api.drain()
    [result_id] = api.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers).json()["result_asset_ids"]
    graph = api.client.get(f"/v1/assets/{result_id}/lineage?direction=ancestors&max_depth=5",
                           headers=alice.headers)
    assert graph.status_code == 200
    body = graph.json()
    assert {n["id"] for n in body["nodes"]} == {source["id"], result_id}
    assert body["edges"] == [{"parent_id": source["id"], "child_id": result_id, "relation": "input",
                              "operation_type": "image_to_image", "job_id": job["id"]}]
    down = api.client.get(f"/v1/assets/{source['id']}/lineage?direction=descendants", headers=alice.headers)
    assert {n["id"] for n in down.json()["nodes"]} == {source["id"], result_id}
    api.client.delete(f"/v1/assets/{source['id']}", headers=alice.headers)
    tomb = api.client.get(f"/v1/assets/{result_id}/lineage", headers=alice.headers).json()
    assert [n["deleted"] for n in tomb["nodes"] if n["id"] == source["id"]] == [True]
    for query in ("direction=sideways", "max_depth=0", "max_depth=51", "max_depth=ten"):
        assert_problem(api.client.get(f"/v1/assets/{result_id}/lineage?{query}", headers=alice.headers), 422)
    assert_problem(api.client.get("/v1/assets/nope/lineage", headers=alice.headers), 404, "NOT_FOUND")

"""A JSON route reads JSON only: any other content type is a 415 problem, before the body is
looked at; `application/json` with parameters and `+json` types are JSON. Multipart stays."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.http.conftest import PNG, Api, assert_problem

REGISTER = {"email": "bob@example.com", "username": "bob", "password": "password123"}


def json_operations(api: Api) -> list[tuple[str, str]]:
    """(method, path) of every operation whose request body the live document says is JSON."""
    document: dict[str, Any] = api.client.get("/schema/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, dict) else {}
            if "application/json" in content:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "some-id", path)))
    return found


NOT_JSON = ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b", "application/xml", "application/jsonx", "json", None]


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_every_json_route_refuses_other_content_types(api: Api, content_type: str | None) -> None:
    root = api.admin()
    operations = json_operations(api)
    assert len(operations) >= 11, operations
    for method, path in operations:
        headers = dict(root.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = api.client.request(method, path, headers=headers, content=b'{"email": "x@example.com"}')
        if path.startswith("/openai/"):  # OpenAI's error shape there
            assert response.status_code == 415, (method, path, response.text)
            error = response.json()["error"]
            assert error["code"] == "unsupported_media_type" and "application/json" in error["message"], error
            continue
        body = assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert "application/json" in body["detail"], (method, path, body)


def test_the_415_is_documented_on_every_json_route(api: Api) -> None:
    document: dict[str, Any] = api.client.get("/schema/openapi.json").json()
    for method, path in json_operations(api):
        template = next(p for p in document["paths"] if re.sub(r"\{[^}]+\}", "some-id", p) == path)
        assert "415" in document["paths"][template][method.lower()]["responses"], (method, path)


def test_a_job_sent_as_text_plain_creates_nothing(api: Api) -> None:
    alice = api.register()
    job = b'{"provider_id":"sim","operation_type":"text_to_image","params":{"prompt":"fox"}}'
    response = api.client.post("/v1/jobs", content=job, headers={**alice.headers, "Content-Type": "text/plain"})
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert api.client.get("/v1/jobs", headers=alice.headers).json()["items"] == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8", "application/problem+json",
                                          "application/vnd.pixrelay+json; charset=utf-8"])
def test_json_in_any_of_its_spellings_is_accepted(api: Api, content_type: str) -> None:
    import msgspec

    response = api.client.post("/v1/auth/register", content=msgspec.json.encode(REGISTER),
                               headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text


def test_uploads_stay_multipart(api: Api) -> None:
    alice = api.register()
    assert api.upload(alice, PNG).status_code == 201

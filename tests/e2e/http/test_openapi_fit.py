"""The OpenAPI document as client generators read it: every operation has an explicit, unique,
camelCase operation id named after its use case (routes added later must set one too), and
request bodies and problem responses carry real examples that the schemas accept."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator
from litestar.routes import HTTPRoute
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from entrypoints.http.errors import STATUS, Problem
from tests.e2e.http.conftest import Api

CAMEL_CASE = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)*$")
DOCUMENT_URI = "urn:pixrelay:openapi"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def document(api: Api) -> dict[str, Any]:
    served: dict[str, Any] = api.client.get("/schema/openapi.json").json()
    return served


def operations(served: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in served["paths"].items()
            for method, operation in item.items() if method in METHODS]


def test_every_route_handler_sets_its_operation_id(api: Api) -> None:
    handlers = {(method, route.path): handler
                for route in api.client.app.routes if isinstance(route, HTTPRoute) and not route.path.startswith("/schema")
                for method, handler in ((m, h) for h in route.route_handlers for m in h.http_methods)
                if handler.resolve_include_in_schema() and method != "OPTIONS"}
    assert len(handlers) >= 39
    missing = sorted(f"{method} {path}" for (method, path), handler in handlers.items()
                     if not isinstance(handler.operation_id, str))
    assert not missing, f"set operation_id=... (camelCase, after the use case) on: {missing}"


def test_operation_ids_are_unique_camel_case_names_of_use_cases(api: Api) -> None:
    served = document(api)
    ids = [operation.get("operationId") for _, _, operation in operations(served)]
    assert all(isinstance(i, str) and CAMEL_CASE.match(i) for i in ids), ids
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    by_route = {f"{method.upper()} {path}": operation["operationId"] for method, path, operation in operations(served)}
    assert {by_route["POST /v1/jobs"], by_route["GET /v1/jobs"], by_route["GET /v1/jobs/{job_id}"],
            by_route["POST /v1/jobs/{job_id}/cancel"], by_route["POST /v1/auth/login"],
            by_route["POST /v1/assets"]} == {"createJob", "listJobs", "getJob", "cancelJob", "logIn", "uploadAsset"}


def validator(served: dict[str, Any], name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(served, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{DOCUMENT_URI}#/components/schemas/{name}"}, registry=registry)


def test_every_json_body_has_an_example_its_schema_accepts(api: Api) -> None:
    served = document(api)
    checked = 0
    for method, path, operation in operations(served):
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media is None:
            continue
        examples = media.get("examples", {})
        assert examples, f"{method.upper()} {path} has no request example"
        name = media["schema"]["$ref"].rsplit("/", 1)[1]
        for example in examples.values():
            errors = list(validator(served, name).iter_errors(example["value"]))
            assert not errors, (method, path, [e.message for e in errors])
            checked += 1
    assert checked >= 11


def test_the_job_example_is_accepted_by_the_api(api: Api) -> None:
    served = document(api)
    alice = api.register()
    [example] = served["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["examples"].values()
    response = api.client.post("/v1/jobs", headers=alice.headers, json=example["value"])
    assert response.status_code == 202, response.text


def test_every_problem_response_has_real_examples(api: Api) -> None:
    served = document(api)
    assert "examples" not in served["components"]["schemas"]["Problem"]  # no generated filler
    for method, path, operation in operations(served):
        for status, response in operation.get("responses", {}).items():
            media = response.get("content", {}).get("application/problem+json")
            if media is None:
                continue
            examples = media.get("examples", {})
            assert examples, f"{method.upper()} {path} {status} has no example"
            for example in examples.values():
                assert set(example) <= {"summary", "description", "value"}, example
                problem = msgspec.convert(example["value"], Problem)
                assert problem.status == int(status), (path, status, problem)
                assert problem.code in {str(c) for c, s in STATUS.items() if s == problem.status}, problem
                assert problem.type == "urn:pixrelay:problem:" + problem.code.lower().replace("_", "-")
                assert problem.detail and not re.fullmatch(r"[A-Za-z]{20}", problem.detail), problem


@pytest.mark.parametrize("name", ["JobIn", "QuoteIn"])
def test_job_bodies_name_their_variants_uniquely(api: Api, name: str) -> None:
    """Client generators name a model after each title: job and quote variants must not clash."""
    schemas = document(api)["components"]["schemas"]
    titles = [variant["title"] for variant in schemas[name]["oneOf"]]
    assert all(title.startswith(name + " ") for title in titles) and len(set(titles)) == len(titles)
    for variant in schemas[name]["oneOf"]:
        assert set(variant["properties"]["params"]) == {"$ref"}  # a shared component, one model

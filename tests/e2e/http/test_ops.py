"""Health, readiness, metrics, webhooks, OpenAPI, and failures of the infrastructure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from adapters.memory.uow import InMemoryUnitOfWorkFactory
from application.assets.upload import UploadAsset
from domain.errors import ErrorCode
from domain.providers import ProviderInfo
from domain.users import Role
from entrypoints.bootstrap import build_container
from entrypoints.http.app import create_app
from entrypoints.http.errors import STATUS
from entrypoints.http.routes_ops import ReadinessCheck
from tests.e2e.http.conftest import Api, assert_problem
from tests.support.wiring import memory_wiring


class BrokenUnitOfWork(InMemoryUnitOfWorkFactory):
    """The database is down (or, with `error`, something nobody expected happens)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def __call__(self) -> Any:
        raise self.error


@dataclass
class FakeStats:
    calls: dict[str, int]
    seconds: dict[str, float]
    failures: dict[str, int]


@dataclass
class FakeGuarded:
    """Shaped like adapters.providers.guarded.GuardedProvider, as /metrics reads it."""

    info: ProviderInfo
    state: str
    stats: FakeStats


def client_with(error: Exception, **app_options: Any) -> TestClient[Any]:
    wiring = memory_wiring()
    container = build_container(replace(wiring.ports, uow=BrokenUnitOfWork(error)))
    return TestClient(create_app(container, **app_options))


def test_every_error_code_has_a_status() -> None:
    assert set(STATUS) == set(ErrorCode)
    assert all(400 <= status < 600 for status in STATUS.values())


def test_live_and_ready(api: Api) -> None:
    assert api.client.get("/health/live").json() == {"status": "ok"}
    ready = api.client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert {"database", "blob_store", "providers"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())


def test_ready_is_503_with_the_failing_check() -> None:
    with client_with(ConnectionRefusedError("db down")) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] is False and "ConnectionRefusedError" in checks["database"]["detail"]
    assert checks["blob_store"]["ok"] is True


def test_readiness_checks_can_be_added() -> None:
    async def redis_down() -> None:
        raise ConnectionError("redis is not there")

    with TestClient(create_app(memory_wiring().container,
                               readiness_checks=[ReadinessCheck("redis", redis_down)])) as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"] == {"ok": False, "detail": "ConnectionError: redis is not there"}


def test_infrastructure_faults_are_503_and_bugs_are_500_without_internals() -> None:
    wiring = memory_wiring()
    token, _ = wiring.ports.tokens.issue("u1", "s1", Role.USER, wiring.clock.now())
    with client_with(ConnectionRefusedError("10.0.0.5:5432 refused")) as client:
        down = client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        login = client.post("/v1/auth/login", json={"email": "a@example.com", "password": "password123"})
    for response in (down, login):
        assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        assert "10.0.0.5" not in response.text and response.headers["retry-after"]
    with client_with(RuntimeError("internal detail xyz")) as client:
        bug = client.post("/v1/auth/login", json={"email": "a@example.com", "password": "password123"})
    body = assert_problem(bug, 500, "INTERNAL_ERROR")
    assert "xyz" not in bug.text and "Traceback" not in bug.text and body["detail"]


def test_metrics_report_circuits_of_guarded_providers() -> None:
    wiring = memory_wiring()
    guarded = FakeGuarded(wiring.sim.info, "open", FakeStats({"submit": 3}, {"submit": 1.5}, {"submit": 2}))
    token = "t" * 40
    with TestClient(create_app(wiring.container, guarded_providers=[guarded], metrics_token=token)) as client:
        text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
        ready = client.get("/health/ready")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("pixrelay_provider_circuit_state", (("provider", "sim"), ("state", "open")))] == 1
    assert samples[("pixrelay_provider_circuit_state", (("provider", "sim"), ("state", "closed")))] == 0
    submit = (("operation", "submit"), ("provider", "sim"))
    assert samples[("pixrelay_provider_call_seconds_total", submit)] == 1.5
    assert samples[("pixrelay_provider_calls_total", submit)] == 3
    assert samples[("pixrelay_provider_call_failures_total", submit)] == 2
    assert ready.status_code == 503 and ready.json()["checks"]["provider_circuits"]["ok"] is False


def test_webhooks_refuse_unknown_providers_and_providers_without_webhooks(api: Api) -> None:
    assert_problem(api.client.post("/v1/webhooks/nope", json={"id": "x"}), 404, "NOT_FOUND")
    assert_problem(api.client.post("/v1/webhooks/sim", json={"id": "x"}), 404, "NOT_FOUND")


def test_openapi_and_docs(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json")
    assert schema.status_code == 200
    spec = schema.json()
    create = spec["paths"]["/v1/jobs"]["post"]
    assert "Idempotency-Key" in create["description"]
    assert create["responses"]["422"]["content"]["application/problem+json"]
    assert "400" not in create["responses"]
    upload = spec["paths"]["/v1/assets"]["post"]
    assert upload["description"].startswith(UploadAsset.__doc__.strip().splitlines()[0])  # type: ignore[union-attr]
    assert "file" in upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "JobList" in spec["components"]["schemas"]
    docs = api.client.get("/schema")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")

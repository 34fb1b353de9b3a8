"""/metrics: Prometheus text for an admin or the metrics token only (it names accounts and
their credits), with latency, queue-wait and generation-time histograms; read back with
prometheus_client's own parser."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from application.policy import Policies
from entrypoints.bootstrap import build_container
from entrypoints.http.app import create_app
from entrypoints.http.metrics import Metrics, MetricsEventBus
from tests.e2e.http.conftest import ROOMY_AUTH, Api, assert_problem
from tests.support.wiring import Wiring, memory_wiring

METRICS_TOKEN = "m" * 40


@pytest.fixture
def metered() -> Iterator[Api]:
    """The API with the worker's events observed into the app's metrics, as `pixrelay serve` wires it."""
    base = memory_wiring(policies=Policies(auth=ROOMY_AUTH))
    metrics = Metrics()
    ports = dataclasses.replace(base.ports, events=MetricsEventBus(base.ports.events, base.ports.uow, metrics))
    wiring = Wiring(build_container(ports, Policies(auth=ROOMY_AUTH)), ports, base.clock, base.sim)
    with TestClient(create_app(wiring.container, metrics=metrics, metrics_token=METRICS_TOKEN)) as client:
        yield Api(client, wiring)


def scrape(api: Api, token: str = METRICS_TOKEN) -> dict[str, list[Sample]]:
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def test_metrics_need_an_admin_or_the_metrics_token(metered: Api) -> None:
    alice = metered.register()
    root = metered.admin()
    assert_problem(metered.client.get("/metrics"), 401, "UNAUTHENTICATED")
    assert_problem(metered.client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}),
                   401, "UNAUTHENTICATED")
    assert_problem(metered.client.get("/metrics", headers={"Authorization": "Basic " + METRICS_TOKEN}),
                   401, "UNAUTHENTICATED")
    assert_problem(metered.client.get("/metrics", headers=alice.headers), 403, "FORBIDDEN")
    assert metered.client.get("/metrics", headers=root.headers).status_code == 200
    assert "pixrelay_jobs" in scrape(metered)


def test_without_a_configured_token_only_admins_read_them() -> None:
    wiring = memory_wiring()
    with TestClient(create_app(wiring.container)) as client:
        for token in ("", "None", "null"):
            response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, response.text


def test_counts_gauges_and_histograms_by_route_and_provider(metered: Api) -> None:
    alice = metered.register()
    account = metered.pool_account()
    job = metered.job(alice, params={"sim_latency_ms": 3000})
    metered.wiring.clock.advance(7)  # waits 7 s in the queue
    metered.drain()
    metered.wiring.clock.advance(4)  # the provider works for 4 s (3 s asked)
    metered.drain()
    assert metered.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers).json()["status"] == "completed"
    metered.client.get("/nowhere")
    metered.client.get(f"/v1/jobs/{job['id']}", headers=alice.headers)

    families = scrape(metered)
    requests = families["pixrelay_http_requests"]
    assert value(requests, "pixrelay_http_requests_total", method="POST", route="/v1/jobs", status="202") == 1
    assert value(requests, "pixrelay_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(requests, "pixrelay_http_requests_total", method="GET", route="/v1/jobs/{job_id}",
                 status="200") == 2  # the template, never the raw path
    assert not any(job["id"] in str(s.labels) for samples in families.values() for s in samples)

    latency = families["pixrelay_http_request_duration_seconds"]
    assert value(latency, "pixrelay_http_request_duration_seconds_count", method="POST", route="/v1/jobs") == 1
    assert value(latency, "pixrelay_http_request_duration_seconds_bucket", method="POST", route="/v1/jobs",
                 le="+Inf") == 1

    wait = families["pixrelay_job_queue_wait_seconds"]
    assert value(wait, "pixrelay_job_queue_wait_seconds_count", provider="sim") == 1
    assert value(wait, "pixrelay_job_queue_wait_seconds_sum", provider="sim") == pytest.approx(7)
    assert value(wait, "pixrelay_job_queue_wait_seconds_bucket", provider="sim", le="5.0") == 0
    assert value(wait, "pixrelay_job_queue_wait_seconds_bucket", provider="sim", le="10.0") == 1

    generation = families["pixrelay_generation_seconds"]
    assert value(generation, "pixrelay_generation_seconds_count", provider="sim") == 1
    assert 3 <= value(generation, "pixrelay_generation_seconds_sum", provider="sim") <= 4

    assert value(families["pixrelay_jobs"], "pixrelay_jobs", status="completed") == 1
    assert value(families["pixrelay_jobs"], "pixrelay_jobs", status="pending") == 0
    assert value(families["pixrelay_provider_accounts"], "pixrelay_provider_accounts",
                 provider="sim", status="active") == 1
    assert value(families["pixrelay_account_current_jobs"], "pixrelay_account_current_jobs",
                 provider="sim", account=account.id) == 0
    assert value(families["pixrelay_account_credits"], "pixrelay_account_credits",
                 provider="sim", account=account.id) < account.credits
    assert "pixrelay_provider_circuit_state" not in families  # no guarded providers were handed in


def test_two_apps_in_one_process_keep_their_own_numbers(metered: Api) -> None:
    other_wiring = memory_wiring()
    with TestClient(create_app(other_wiring.container, metrics_token=METRICS_TOKEN)) as other:
        other.get("/health/live")
        other.get("/health/live")
        metered.client.get("/health/live")
        mine = scrape(metered)["pixrelay_http_requests"]
        theirs_text = other.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    theirs = {f.name: f.samples for f in text_string_to_metric_families(theirs_text)}["pixrelay_http_requests"]
    assert value(mine, "pixrelay_http_requests_total", route="/health/live") == 1
    assert value(theirs, "pixrelay_http_requests_total", route="/health/live") == 2



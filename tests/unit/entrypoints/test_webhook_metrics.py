"""/metrics observes every webhook delivery attempt's latency, by outcome (issue 11, item 3)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from domain.outbound import SendResult
from entrypoints.http.metrics import Metrics, MetricsWebhookSender


class Answers:
    """A target that answers what it is given, in order."""

    def __init__(self, *results: SendResult) -> None:
        self._results = list(results)
        self.sent: list[str] = []

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        self.sent.append(url)
        return self._results.pop(0)


def samples(metrics: Metrics) -> dict[tuple[str, str], float]:
    text = metrics.render().decode()
    return {(sample.name, sample.labels.get("outcome", "")): sample.value
            for family in text_string_to_metric_families(text) if family.name == "pixrelay_webhook_delivery_seconds"
            for sample in family.samples if sample.name.endswith(("_count", "_sum"))}


def test_each_attempt_is_observed_by_outcome_and_passed_on_unchanged() -> None:
    metrics = Metrics()
    answers = [SendResult(status_code=200, duration_ms=120), SendResult(status_code=503, duration_ms=40),
               SendResult(error="connection refused", duration_ms=5), SendResult(status_code=204, duration_ms=80)]
    inner = Answers(*answers)
    sender = MetricsWebhookSender(inner, metrics)

    async def deliver_all() -> list[SendResult]:
        return [await sender.send(f"https://hooks.example.com/{i}", {}, b"{}") for i in range(len(answers))]

    assert asyncio.run(deliver_all()) == answers
    assert len(inner.sent) == 4
    seen = samples(metrics)
    assert seen[("pixrelay_webhook_delivery_seconds_count", "delivered")] == 2
    assert seen[("pixrelay_webhook_delivery_seconds_sum", "delivered")] == 0.2
    assert seen[("pixrelay_webhook_delivery_seconds_count", "failed")] == 1
    assert seen[("pixrelay_webhook_delivery_seconds_count", "no_answer")] == 1

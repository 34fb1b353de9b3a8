"""What a delivery's body says is the HTTP API's business: a port, filled by the entrypoint."""

from __future__ import annotations

from typing import Protocol

from domain.assets import Asset
from domain.jobs import Job
from domain.outbound import WebhookDelivery


class PayloadRenderer(Protocol):
    def render(self, delivery: WebhookDelivery, job: Job | None, assets: list[Asset]) -> bytes:
        """The JSON body: `{type, timestamp, data}` with the job as the API shows it."""

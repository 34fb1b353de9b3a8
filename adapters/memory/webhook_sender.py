"""A webhook receiver in memory: records what was sent and answers as told."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from domain.outbound import SendResult, check_target


class SentWebhook(msgspec.Struct, frozen=True):
    url: str
    headers: dict[str, str]
    body: bytes


class RecordingWebhookSender:
    """Answers 200 unless `answers` (status codes, used up in order) says otherwise; refuses
    what the real sender refuses on the URL alone."""

    def __init__(self, allow_private: bool = False) -> None:
        self.sent: list[SentWebhook] = []
        self.answers: list[int] = []
        self._allow_private = allow_private

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> SendResult:
        refused = check_target(url, self._allow_private)
        if refused:
            return SendResult(error=f"refused: {refused}")
        self.sent.append(SentWebhook(url, dict(headers), body))
        return SendResult(status_code=self.answers.pop(0) if self.answers else 200, duration_ms=1)

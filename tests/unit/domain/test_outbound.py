"""Outbound webhook rules: signatures as the reference implementation makes them, the retry
schedule, rotation, targets."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from domain.outbound import (
    DEFAULT_RETRY_SCHEDULE,
    DeliveryStatus,
    SendResult,
    WebhookDelivery,
    WebhookEndpoint,
    after_failure,
    after_success,
    check_target,
    event_mask,
    new_secret,
    sign,
    signature_header,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OLD, NEW = new_secret(b"o" * 24), new_secret(b"n" * 24)


def delivery() -> WebhookDelivery:
    return WebhookDelivery(id="d1", message_id="msg_1", user_id="u", job_id="j", event_type="job.completed",
                           created_at=T0, next_attempt_at=T0, lease_token="lease")


def test_signatures_are_the_reference_implementations() -> None:
    body = '{"type":"job.completed"}'
    assert sign(NEW, "msg_1", int(T0.timestamp()), body.encode()) == Webhook(NEW).sign("msg_1", T0, body)


def test_every_secret_in_the_header_verifies_and_no_other() -> None:
    now = int(time.time())
    body = b'{"a":1}'
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(now),
               "webhook-signature": signature_header([NEW, OLD], "msg_2", now, body)}
    assert Webhook(NEW).verify(body, headers) == {"a": 1}
    assert Webhook(OLD).verify(body, headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret(b"x" * 24)).verify(body, headers)


def test_the_old_secret_signs_only_during_the_overlap() -> None:
    endpoint = WebhookEndpoint(id="e", user_id="u", url="https://x.example", events=("job.completed",), secret=NEW,
                               created_at=T0, previous_secret=OLD, previous_secret_until=T0 + timedelta(hours=24))
    assert endpoint.signing_secrets(T0) == [NEW, OLD]
    assert endpoint.signing_secrets(T0 + timedelta(hours=24)) == [NEW]


def test_the_default_schedule_retries_for_more_than_a_day() -> None:
    assert sum(DEFAULT_RETRY_SCHEDULE) > 24 * 3600


def test_failures_follow_the_schedule_then_fail_for_good() -> None:
    current, now = delivery(), T0
    for wait in (5, 300):
        current = after_failure(current, SendResult(status_code=500), now, (5, 300))
        assert current.status is DeliveryStatus.PENDING and current.next_attempt_at == now + timedelta(seconds=wait)
        assert current.lease_token is None and current.last_status_code == 500
        now = current.next_attempt_at
    current = after_failure(current, SendResult(error="timed out"), now, (5, 300))
    assert current.status is DeliveryStatus.FAILED and current.next_attempt_at is None and current.attempts == 3
    assert current.last_error == "timed out"


def test_a_success_ends_the_delivery() -> None:
    done = after_success(delivery(), SendResult(status_code=204), T0)
    assert done.status is DeliveryStatus.DELIVERED and done.delivered_at == T0 and done.next_attempt_at is None


@pytest.mark.parametrize(("url", "private", "refused"), [
    ("https://hooks.example.com/x", False, False),
    ("http://hooks.example.com/x", False, True),
    ("http://localhost:8080/x", True, False),
    ("https://localhost/x", False, True),
    ("https://127.0.0.1/x", False, True),
    ("https://[::1]/x", False, True),
    ("https://8.8.8.8/x", False, False),
    ("https://user@hooks.example.com/x", False, True),
    ("https://hooks.example.com:99999/x", False, True),
    ("https://" + "a" * 2100 + ".com", False, True),
])
def test_targets(url: str, private: bool, refused: bool) -> None:
    assert (check_target(url, private) is not None) is refused


def test_events_are_bits() -> None:
    assert event_mask(["job.completed", "job.failed", "job.cancelled"]) == 7
    assert event_mask(["job.failed"]) == 2

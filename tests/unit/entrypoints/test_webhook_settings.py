"""Webhook settings: read from the environment, refused with one line when malformed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entrypoints.runtime import policies_for
from entrypoints.settings import SettingsError, load_settings


def test_defaults_retry_for_over_a_day_and_disable_after_one() -> None:
    policy = policies_for(load_settings({}, dotenv=None)).webhooks
    assert sum(policy.retry_schedule) > 86400 and policy.disable_after == timedelta(hours=24)
    assert policy.allow_private is False


def test_the_environment_sets_them() -> None:
    settings = load_settings({"PIXRELAY_WEBHOOK_RETRY_SCHEDULE": "1, 2.5,3", "PIXRELAY_ALLOW_PRIVATE_WEBHOOKS": "true",
                              "PIXRELAY_WEBHOOK_DISABLE_AFTER_SECONDS": "600", "PIXRELAY_LEASE_SECONDS": "20"},
                             dotenv=None)
    policy = policies_for(settings).webhooks
    assert policy.retry_schedule == (1.0, 2.5, 3.0) and policy.allow_private
    assert policy.disable_after == timedelta(minutes=10) and policy.lease == timedelta(seconds=20)


@pytest.mark.parametrize(("name", "value"), [
    ("PIXRELAY_WEBHOOK_RETRY_SCHEDULE", "5,soon"), ("PIXRELAY_WEBHOOK_RETRY_SCHEDULE", "0,5"),
    ("PIXRELAY_WEBHOOK_DISABLE_AFTER_SECONDS", "0"), ("PIXRELAY_WEBHOOK_POLL_SECONDS", "0"),
    ("PIXRELAY_ALLOW_PRIVATE_WEBHOOKS", "maybe"),
])
def test_malformed_values_name_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value}, dotenv=None)

"""The tunable business settings use cases share, with the defaults docs/SPEC.md names."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from domain.accounts import CooldownRule
from domain.assets import UploadLimits
from domain.jobs import RetryPolicy


class AuthPolicy(msgspec.Struct, frozen=True, kw_only=True):
    refresh_ttl: timedelta = timedelta(days=30)
    login_attempts_per_client: int = 20
    login_attempts_per_email: int = 10
    login_window_seconds: int = 300
    signup_credits: int = 1000
    session_cache_seconds: int = 30  # how long Authenticate may trust a cached session; 0: never


class PipelinePolicy(msgspec.Struct, frozen=True, kw_only=True):
    lease: timedelta = timedelta(seconds=60)
    poll_interval: timedelta = timedelta(seconds=2)
    no_account_delay: timedelta = timedelta(seconds=5)
    retry: RetryPolicy = RetryPolicy()
    cooldown: CooldownRule = CooldownRule()
    claim_batch: int = 8
    provider_timeout_seconds: float = 30.0
    max_remote_seconds: float = 3600.0  # a provider job running longer than this is retried


class AssetPolicy(msgspec.Struct, frozen=True, kw_only=True):
    limits: UploadLimits = UploadLimits()
    content_url_seconds: int = 300


class Policies(msgspec.Struct, frozen=True, kw_only=True):
    auth: AuthPolicy = AuthPolicy()
    pipeline: PipelinePolicy = PipelinePolicy()
    assets: AssetPolicy = AssetPolicy()

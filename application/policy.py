"""The tunable business settings use cases share, with the defaults docs/SPEC.md names."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from domain.accounts import CooldownRule
from domain.assets import UploadLimits
from domain.jobs import RetryPolicy
from domain.outbound import DEFAULT_DISABLE_AFTER, DEFAULT_RETRY_SCHEDULE


class AuthPolicy(msgspec.Struct, frozen=True, kw_only=True):
    refresh_ttl: timedelta = timedelta(days=30)
    # Only failed logins count (see LogIn). The names say "attempts" for compatibility.
    login_failures_per_email_client: int = 10  # one email from one client, per login_window_seconds
    login_attempts_per_client: int = 50  # failures from one client, any email, per login_window_seconds
    login_window_seconds: int = 900
    login_attempts_per_email: int = 100  # failures on one email from clients it never used, per day
    login_email_window_seconds: int = 86_400
    known_client: timedelta = timedelta(days=90)  # a login from a client within this makes it known
    signup_credits: int = 1000
    session_cache_seconds: int = 30  # how long Authenticate may trust a cached session; 0: never
    api_key_failures_per_client: int = 20  # wrong API keys a client may send per window
    api_key_failure_window_seconds: int = 300


class PipelinePolicy(msgspec.Struct, frozen=True, kw_only=True):
    lease: timedelta = timedelta(seconds=60)
    poll_interval: timedelta = timedelta(seconds=2)
    # How often a worker renews the leases of the jobs it holds between polls (one round trip
    # for all of them), which is also how soon it sees a webhook's poke of one of them.
    lease_renewal: timedelta = timedelta(seconds=2)
    no_account_delay: timedelta = timedelta(seconds=5)
    retry: RetryPolicy = RetryPolicy()
    cooldown: CooldownRule = CooldownRule()
    claim_batch: int = 8
    provider_timeout_seconds: float = 30.0
    max_remote_seconds: float = 3600.0  # a provider job running longer than this is retried


class AssetPolicy(msgspec.Struct, frozen=True, kw_only=True):
    limits: UploadLimits = UploadLimits()
    content_url_seconds: int = 300


class WebhookPolicy(msgspec.Struct, frozen=True, kw_only=True):
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE  # seconds between attempts
    disable_after: timedelta = DEFAULT_DISABLE_AFTER  # failing without a break this long: disabled
    lease: timedelta = timedelta(seconds=60)  # longer than any attempt takes
    claim_batch: int = 16
    allow_private: bool = False  # loopback and private targets (local development, tests)
    public_url: str | None = None  # makes the assets' content URLs in payloads absolute


class OpenAICompatPolicy(msgspec.Struct, frozen=True, kw_only=True):
    wait_seconds: float = 60.0  # how long an OpenAI-compatible call waits for its job
    recheck_seconds: float = 1.0  # the job is read again at least this often while waiting


class CatalogPolicy(msgspec.Struct, frozen=True, kw_only=True):
    cache_seconds: float = 5.0  # how long a replica serves the admins' model records it read


class Policies(msgspec.Struct, frozen=True, kw_only=True):
    auth: AuthPolicy = AuthPolicy()
    pipeline: PipelinePolicy = PipelinePolicy()
    assets: AssetPolicy = AssetPolicy()
    webhooks: WebhookPolicy = WebhookPolicy()
    openai: OpenAICompatPolicy = OpenAICompatPolicy()
    catalog: CatalogPolicy = CatalogPolicy()

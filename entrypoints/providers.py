"""Build the configured provider clients, each behind its circuit breaker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from adapters.models import BUILTIN_MODELS
from adapters.providers.fal import FalProvider
from adapters.providers.guarded import GuardedProvider
from adapters.providers.httpio import SafeDownloader, pinned_client
from adapters.providers.kling import KlingProvider
from adapters.providers.luma import LumaProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.pixverse import PixverseProvider
from adapters.providers.replicate import ReplicateProvider
from adapters.providers.runway import RunwayProvider
from adapters.providers.sim import SimProvider
from adapters.providers.sim_state import DirectorySimState
from adapters.providers.veo import VeoProvider
from domain.assets import UploadLimits
from entrypoints.settings import Settings

PROVIDER_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=PROVIDER_TIMEOUT, limits=httpx.Limits(max_connections=100),
                             headers={"User-Agent": "pixrelay"})


def download_client(settings: Settings) -> httpx.AsyncClient:
    """Output downloads connect only to the addresses the SSRF check approved (no DNS rebinding)."""
    return pinned_client(allow_private=settings.allow_private_outputs, timeout=PROVIDER_TIMEOUT,
                         headers={"User-Agent": "pixrelay"})


def build_providers(settings: Settings, http: httpx.AsyncClient, clock: Callable[[], datetime],
                    downloads: httpx.AsyncClient | None = None) -> list[GuardedProvider]:
    """`downloads` fetches outputs (a `download_client`); `http` when not given."""
    downloader = SafeDownloader(downloads or http, max_bytes=UploadLimits().largest,
                                allow_private=settings.allow_private_outputs,
                                allow_http=settings.allow_private_outputs)
    urls = settings.provider_url_overrides
    webhook = (lambda name: f"{settings.public_url.rstrip('/')}/v1/webhooks/{name}") if settings.public_url else (
        lambda name: None)

    def base(name: str) -> dict[str, Any]:
        return {"base_url": urls[name]} if name in urls else {}

    common: dict[str, Any] = {"clock": clock}
    factories: dict[str, Callable[[], Any]] = {
        "sim": lambda: SimProvider(clock=clock, state=DirectorySimState(settings.effective_sim_state_dir)
                                   if settings.effective_sim_state_dir else None),
        "replicate": lambda: ReplicateProvider(
            http, downloader, **common, **base("replicate"), webhook_url=webhook("replicate"),
            webhook_secret=settings.replicate_webhook_secret),
        "fal": lambda: FalProvider(
            http, downloader, **common, **base("fal"), webhook_url=webhook("fal"),
            webhook_keys=[k for k in settings.fal_webhook_keys.split(",") if k.strip()],
            endpoints_offered=[m.remote_id for m in BUILTIN_MODELS if m.provider_id == "fal"]),
        "openai_images": lambda: OpenAIImagesProvider(http, downloader, **common, **base("openai_images")),
        "runway": lambda: RunwayProvider(http, downloader, **common, **base("runway")),
        "pixverse": lambda: PixverseProvider(http, downloader, **common, **base("pixverse"),
                                             webhook_secret=settings.pixverse_webhook_secret),
        "luma": lambda: LumaProvider(http, downloader, **common, **base("luma")),
        "veo": lambda: VeoProvider(http, downloader, **common, **base("veo")),
        "kling": lambda: KlingProvider(http, downloader, **common, **base("kling")),
    }
    return [GuardedProvider(factories[name]()) for name in settings.enabled_providers]

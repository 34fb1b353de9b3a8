"""The providers this deployment offers, handed over explicitly by the composition root."""

from __future__ import annotations

from collections.abc import Iterable

from domain.ports import ProviderClient
from domain.providers import ProviderInfo


class StaticProviderRegistry:
    """ProviderRegistry over a fixed set of clients, looked up by their `info.id`."""

    def __init__(self, clients: Iterable[ProviderClient]) -> None:
        self._clients: dict[str, ProviderClient] = {}
        for client in clients:
            provider_id = client.info.id
            if provider_id in self._clients:
                raise ValueError(f"two provider clients claim the id {provider_id!r}")
            self._clients[provider_id] = client

    def register(self, client: ProviderClient) -> None:
        """Add a client, or replace the one of its id (a test's second provider, a breaker)."""
        self._clients[client.info.id] = client

    def get(self, provider_id: str) -> ProviderClient | None:
        return self._clients.get(provider_id)

    def all(self) -> list[ProviderInfo]:
        return [self._clients[provider_id].info for provider_id in sorted(self._clients)]

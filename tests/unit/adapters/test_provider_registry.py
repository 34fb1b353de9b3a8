"""StaticProviderRegistry: lookup by id, listing sorted by id, no two clients per id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.sim import SimProvider
from domain.providers import ProviderInfo


class NamedClient:
    """Only `info` is read by the registry."""

    def __init__(self, provider_id: str) -> None:
        self.info = ProviderInfo(id=provider_id, name=provider_id.title(), operations=())


def make_sim() -> SimProvider:
    return SimProvider(lambda: datetime(2026, 1, 1, tzinfo=UTC))


def test_get_finds_a_client_by_its_id() -> None:
    sim = make_sim()
    registry = StaticProviderRegistry([NamedClient("zeta"), sim])  # type: ignore[list-item]
    assert registry.get("sim") is sim
    assert registry.get("replicate") is None


def test_all_lists_infos_sorted_by_id() -> None:
    registry = StaticProviderRegistry(
        [NamedClient("zeta"), make_sim(), NamedClient("alpha")])  # type: ignore[list-item]
    assert [info.id for info in registry.all()] == ["alpha", "sim", "zeta"]


def test_an_empty_registry_is_allowed() -> None:
    registry = StaticProviderRegistry([])
    assert registry.all() == [] and registry.get("sim") is None


def test_two_clients_with_one_id_are_refused() -> None:
    with pytest.raises(ValueError, match="sim"):
        StaticProviderRegistry([make_sim(), make_sim()])

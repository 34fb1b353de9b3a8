"""The built-in catalog: enough models, sound ids, and defaults that are the adapters' own."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.models import BUILTIN_MODELS
from adapters.providers.fal import FalProvider
from adapters.providers.httpio import SafeDownloader
from adapters.providers.kling import KlingProvider
from adapters.providers.luma import LumaProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.pixverse import PixverseProvider
from adapters.providers.replicate import ReplicateProvider
from adapters.providers.runway import RunwayProvider
from adapters.providers.sim import SimProvider
from adapters.providers.veo import VeoProvider
from domain.models import MODEL_ID, ModelRecord, check_record, effective, resolve
from domain.ports import ProviderClient
from domain.providers import ProviderInfo


def infos() -> list[ProviderInfo]:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    downloader = SafeDownloader(client, max_bytes=1000)
    clock = lambda: datetime(2026, 12, 3, tzinfo=UTC)  # noqa: E731
    clients: list[ProviderClient] = [
        SimProvider(clock=clock), ReplicateProvider(client, downloader, clock=clock),
        FalProvider(client, downloader, clock=clock), OpenAIImagesProvider(client, downloader, clock=clock),
        RunwayProvider(client, downloader, clock=clock), LumaProvider(client, downloader, clock=clock),
        VeoProvider(client, downloader, clock=clock), PixverseProvider(client, downloader, clock=clock),
        KlingProvider(client, downloader, clock=clock),
    ]
    return [c.info for c in clients]


INFOS = infos()


def test_at_least_twenty_models_over_every_provider_three_per_real_provider() -> None:
    assert len(BUILTIN_MODELS) >= 20
    per_provider: dict[str, int] = {}
    for model in BUILTIN_MODELS:
        per_provider[model.provider_id] = per_provider.get(model.provider_id, 0) + 1
    assert set(per_provider) == {info.id for info in INFOS}
    assert all(count >= 3 for count in per_provider.values()), per_provider


def test_ids_are_unique_and_name_provider_and_remote_id() -> None:
    ids = [m.id for m in BUILTIN_MODELS]
    assert len(ids) == len(set(ids))
    for model in BUILTIN_MODELS:
        assert MODEL_ID.fullmatch(model.id) and model.id == f"{model.provider_id}/{model.remote_id}"
        assert model.builtin and (model.params_type is not None)


def test_every_built_in_would_pass_as_an_admins_record() -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    for model in BUILTIN_MODELS:
        as_record = ModelRecord(id=model.id, provider_id=model.provider_id, remote_id=model.remote_id,
                                operations=model.operations, price=model.price, aliases=model.aliases,
                                default_for=model.default_for, created_at=now, updated_at=now)
        assert check_record(as_record, [i.id for i in INFOS]).unwrap() == as_record


@pytest.mark.parametrize("info", INFOS, ids=lambda i: i.id)
def test_a_providers_default_model_is_what_its_adapter_declares(info: ProviderInfo) -> None:
    """So a job naming only `provider_id` checks, prices and stages as before models existed."""
    catalog = effective(BUILTIN_MODELS, [])
    for spec in info.operations:
        chosen = resolve(catalog, model=None, provider_id=info.id, operation_type=spec.operation_type).unwrap()
        assert spec.operation_type in chosen.model.default_for
        assert (chosen.operation.params_type or chosen.model.params_type) is spec.params_type
        assert chosen.model.price == spec.price
        assert (chosen.operation.min_inputs, chosen.operation.max_inputs) == (spec.min_inputs, spec.max_inputs)


@pytest.mark.parametrize("info", INFOS, ids=lambda i: i.id)
def test_no_built_in_offers_an_operation_its_provider_does_not(info: ProviderInfo) -> None:
    offered = {spec.operation_type for spec in info.operations}
    for model in (m for m in BUILTIN_MODELS if m.provider_id == info.id):
        assert set(model.operation_types) <= offered, model.id


def test_every_provider_has_built_ins_kling_included() -> None:
    assert len(INFOS) == 9
    kling = {m.remote_id for m in BUILTIN_MODELS if m.provider_id == "kling"}
    assert {"kling-v1-6", "kling-v2-master", "kling-v2-1"} <= kling


def test_the_routing_aliases_name_models_on_several_providers() -> None:
    providers_of: dict[str, set[str]] = {}
    for model in BUILTIN_MODELS:
        for alias in model.aliases:
            providers_of.setdefault(alias, set()).add(model.provider_id)
    assert providers_of["flux-schnell"] == {"replicate", "fal"}
    assert providers_of["flux-1.1-pro"] == {"replicate", "fal"}
    assert providers_of["flux-dev"] == {"replicate", "fal"}
    assert providers_of["kling-v1.6"] == {"replicate", "fal"}

"""fal webhook keys from fal's JWKS: fetched in the background, cached 24 h, a failed fetch keeps
the last good copy, and the configured keys always count as the fallback."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from returns.result import Failure, Success

from adapters.memory.system import ManualClock
from adapters.providers.fal import FAL_JWKS, FalProvider
from tests.support.recorded_http import Replay, downloader
from tests.unit.adapters.providers.test_fal import NOW, PUBLIC_RAW, SIGNER, body_of, signed

ROTATED = Ed25519PrivateKey.generate()
JWKS = r"^https://rest\.alpha\.fal\.ai/\.well-known/jwks\.json$"


def jwks(*signers: Ed25519PrivateKey) -> httpx.Response:
    keys = [{"kty": "OKP", "crv": "Ed25519", "kid": f"k{n}", "x": base64.urlsafe_b64encode(
        signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode().rstrip("=")}
        for n, signer in enumerate(signers)]
    return httpx.Response(200, json={"keys": keys})


def fal(replay: Replay, clock: ManualClock, *configured: str) -> FalProvider:
    client = replay.client()
    return FalProvider(client, downloader(client), clock=clock.now, webhook_keys=configured)


async def background_fetch(provider: FalProvider) -> None:
    task = provider._jwks_refresh
    assert task is not None, "no background fetch was started"
    await asyncio.wait_for(task, 1)


def verify(provider: FalProvider, signer: Ed25519PrivateKey, clock: ManualClock) -> object:
    body = body_of("webhook_ok")
    return provider.verify_webhook(signed(body, at=clock.now(), signer=signer), body, clock.now())


def test_a_key_fal_rotated_in_is_fetched_and_then_verifies() -> None:
    clock = ManualClock(NOW)
    replay = Replay().on("GET", JWKS, jwks(ROTATED))
    provider = fal(replay, clock)

    async def scenario() -> tuple[object, object]:
        first = verify(provider, ROTATED, clock)  # nothing fetched yet: refused, fetch started
        await background_fetch(provider)
        return first, verify(provider, ROTATED, clock)

    first, second = asyncio.run(scenario())
    assert isinstance(first, Failure)
    assert isinstance(second, Success)
    assert [str(r.url) for r in replay.requests] == [FAL_JWKS]
    assert "authorization" not in replay.requests[0].headers


def test_the_jwks_is_cached_for_24_hours_then_fetched_again() -> None:
    clock = ManualClock(NOW)
    replay = Replay().on("GET", JWKS, jwks(ROTATED))
    provider = fal(replay, clock)

    async def scenario() -> None:
        await provider.refresh_webhook_keys()
        for _ in range(3):
            assert isinstance(verify(provider, ROTATED, clock), Success)
        clock.advance(timedelta(hours=25).total_seconds())
        verify(provider, ROTATED, clock)
        await background_fetch(provider)

    asyncio.run(scenario())
    assert len(replay.requests) == 2


def test_configured_keys_verify_when_fal_is_unreachable_and_a_failed_fetch_keeps_the_last_copy() -> None:
    clock = ManualClock(NOW)
    replay = Replay().on("GET", JWKS, jwks(ROTATED), httpx.Response(503), httpx.Response(200, json={"keys": []}))
    provider = fal(replay, clock, PUBLIC_RAW.hex())

    async def scenario() -> None:
        await provider.refresh_webhook_keys()
        await provider.refresh_webhook_keys()  # 503
        await provider.refresh_webhook_keys()  # no usable keys
        assert isinstance(verify(provider, ROTATED, clock), Success)
        assert isinstance(verify(provider, SIGNER, clock), Success)
        assert isinstance(verify(provider, Ed25519PrivateKey.generate(), clock), Failure)

    asyncio.run(scenario())


def test_without_a_running_loop_or_with_fetching_off_nothing_is_fetched() -> None:
    clock = ManualClock(NOW)
    replay = Replay()
    client = replay.client()
    off = FalProvider(client, downloader(client), clock=clock.now, jwks_url=None)
    assert isinstance(verify(off, ROTATED, clock), Failure)
    assert isinstance(verify(fal(replay, clock), ROTATED, clock), Failure)
    assert replay.requests == []

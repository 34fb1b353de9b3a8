"""Fetch a finished provider job's outputs into the blob store, typed by their bytes."""

from __future__ import annotations

import msgspec
from returns.result import Failure, Result, Success

from domain.accounts import FailureKind
from domain.assets import SNIFF_BYTES, Sniffed, sniff
from domain.ports import BlobStore, BlobTooLarge, OutputUnavailable, ProviderClient, StoredBlob
from domain.providers import ProviderFailure, ProviderOutput


class FetchedOutput(msgspec.Struct, frozen=True):
    output: ProviderOutput
    blob: StoredBlob
    kind: Sniffed


def unavailable(message: str) -> ProviderFailure:
    return ProviderFailure(kind=FailureKind.TRANSIENT, code="OUTPUT_UNAVAILABLE", message=message)


async def fetch_outputs(client: ProviderClient, blobs: BlobStore, outputs: tuple[ProviderOutput, ...],
                        max_bytes: int) -> Result[list[FetchedOutput], ProviderFailure]:
    """Download promptly (provider URLs expire), streaming, size-capped."""
    if not outputs:
        return Failure(unavailable("the provider reported success without any output"))
    fetched: list[FetchedOutput] = []
    for output in outputs:
        try:
            blob = await blobs.put(client.download(output), max_bytes)
        except OutputUnavailable as error:
            return Failure(unavailable(f"output could not be fetched: {error}"))
        except BlobTooLarge:
            return Failure(unavailable(f"output is larger than {max_bytes} bytes"))
        kind = sniff(await _head(blobs, blob.key))
        if isinstance(kind, Failure):
            return Failure(unavailable("output is not a supported media type"))
        fetched.append(FetchedOutput(output, blob, kind.unwrap()))
    return Success(fetched)


async def _head(blobs: BlobStore, key: str) -> bytes:
    head = b""
    chunks = blobs.open(key)
    try:
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()  # release the file or S3 response now, not at garbage collection
    return head[:SNIFF_BYTES]

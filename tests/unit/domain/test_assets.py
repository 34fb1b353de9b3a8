"""Assets: magic-byte sniffing, upload limits, content-addressed keys, client file names."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.assets import (
    MB,
    SNIFF_BYTES,
    Asset,
    AssetSource,
    MediaType,
    ProviderUpload,
    Sniffed,
    UploadLimits,
    check_size,
    generated_media_type,
    safe_filename,
    sniff,
    storage_key,
)
from domain.errors import ErrorCode

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=200, deadline=None, database=None)
SHA = hashlib.sha256(b"hello").hexdigest()


def make_asset(**changes: Any) -> Asset:
    fields: dict[str, Any] = {
        "id": "a1", "owner_id": "u1", "media_type": MediaType.IMAGE, "source": AssetSource.UPLOADED,
        "mime_type": "image/png", "size_bytes": 10, "sha256": SHA, "storage_key": storage_key(SHA, "png"),
        "created_at": NOW, "last_accessed_at": NOW,
    }
    fields.update(changes)
    return Asset(**fields)


# --- the structs ------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"size_bytes": -1}, {"sha256": "abc"}])
def test_asset_rejects_bad_fields(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_asset(**changes)


def test_asset_is_deleted_once_it_has_a_deletion_time() -> None:
    assert not make_asset().is_deleted
    assert make_asset(deleted_at=NOW).is_deleted


def test_provider_upload_is_usable_until_it_expires() -> None:
    forever = ProviderUpload(asset_id="a1", provider_id="sim", provider_asset_id="x", uploaded_at=NOW)
    assert forever.is_usable(NOW + timedelta(days=365))
    expiring = ProviderUpload(
        asset_id="a1", provider_id="sim", provider_asset_id="x", uploaded_at=NOW, expires_at=NOW + timedelta(hours=1)
    )
    assert expiring.is_usable(NOW + timedelta(minutes=59))
    assert not expiring.is_usable(NOW + timedelta(hours=1))


# --- sniffing ------------------------------------------------------------------------------


def padded(head: bytes) -> bytes:
    return head + b"\x00" * (SNIFF_BYTES - len(head))


HEADERS = {
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", MediaType.IMAGE, "image/png"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF", MediaType.IMAGE, "image/jpeg"),
    "gif87a": (b"GIF87a\x01\x00\x01\x00", MediaType.IMAGE, "image/gif"),
    "gif89a": (b"GIF89a\x01\x00\x01\x00", MediaType.IMAGE, "image/gif"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 ", MediaType.IMAGE, "image/webp"),
    "wav": (b"RIFF\x24\x00\x00\x00WAVEfmt ", MediaType.AUDIO, "audio/wav"),
    "mp4": (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", MediaType.VIDEO, "video/mp4"),
    "mov": (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", MediaType.VIDEO, "video/quicktime"),
    "m4a": (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", MediaType.AUDIO, "audio/mp4"),
    "webm": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", MediaType.VIDEO, "video/webm"),
    "mp3-id3": (b"ID3\x04\x00\x00\x00\x00\x00\x00", MediaType.AUDIO, "audio/mpeg"),
    "mp3-sync": (b"\xff\xfb\x90\x64\x00", MediaType.AUDIO, "audio/mpeg"),
    "ogg": (b"OggS\x00\x02\x00\x00", MediaType.AUDIO, "audio/ogg"),
    "flac": (b"fLaC\x00\x00\x00\x22", MediaType.AUDIO, "audio/flac"),
}


@pytest.mark.parametrize("name", sorted(HEADERS))
@pytest.mark.parametrize("pad", [False, True])
def test_sniff_recognises_hand_made_headers(name: str, pad: bool) -> None:
    head, media_type, mime = HEADERS[name]
    found = sniff(padded(head) if pad else head).unwrap()
    assert (found.media_type, found.mime_type) == (media_type, mime)


def test_sniff_names_the_file_extension() -> None:
    assert [sniff(HEADERS[n][0]).unwrap().extension for n in ("jpeg", "mov", "mp3-sync")] == ["jpg", "mov", "mp3"]
    assert sniff(HEADERS["png"][0]) == Success(Sniffed(MediaType.IMAGE, "image/png", "png"))


@pytest.mark.parametrize(
    "head",
    [b"", b"\xff", b"GIF88a", b"RIFF\x00\x00\x00\x00AVI ", b"%PDF-1.7", b"<svg xmlns=", b"\xff\x00\x00", b"PK\x03\x04"],
)
def test_sniff_rejects_unknown_formats(head: bytes) -> None:
    result = sniff(head)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.UNSUPPORTED_MEDIA_TYPE


# magic numbers that are also valid UTF-8 (WebM's is "\x1aE" + U+07E3)
MAGIC_TEXT = (b"GIF87a", b"GIF89a", b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1a\x45\xdf\xa3")


@PROPERTY
@given(st.text(max_size=SNIFF_BYTES))
def test_sniff_rejects_random_text(text: str) -> None:
    head = text.encode()  # UTF-8 never contains 0xFF, so no JPEG or MPEG frame sync
    if head.startswith(MAGIC_TEXT) or head[4:8] == b"ftyp":
        return
    result = sniff(head)
    assert isinstance(result, Failure)
    assert result.failure().code is ErrorCode.UNSUPPORTED_MEDIA_TYPE


@PROPERTY
@given(st.binary(max_size=SNIFF_BYTES))
def test_sniff_never_raises_and_returns_a_consistent_type(head: bytes) -> None:
    result = sniff(head)
    if isinstance(result, Success):
        found = result.unwrap()
        assert found.mime_type.split("/")[0] == found.media_type.value


@pytest.mark.parametrize(
    ("operation", "sniffed_as", "expected"),
    [
        ("text_to_video", "gif89a", MediaType.VIDEO),  # an animated GIF from a video operation
        ("image_to_video", "png", MediaType.VIDEO),
        ("video_extend", "mp4", MediaType.VIDEO),
        ("video_transition", "mp3-id3", MediaType.AUDIO),
        ("text_to_image", "gif89a", MediaType.IMAGE),
        ("upscale", "png", MediaType.IMAGE),
    ],
)
def test_generated_media_type(operation: str, sniffed_as: str, expected: MediaType) -> None:
    assert generated_media_type(operation, sniff(HEADERS[sniffed_as][0]).unwrap()) is expected


# --- sizes -------------------------------------------------------------------------------------


def test_upload_limits_defaults_match_the_spec() -> None:
    limits = UploadLimits()
    assert [limits.for_type(t) for t in MediaType] == [20 * MB, 500 * MB, 100 * MB]
    assert limits.largest == 500 * MB
    assert UploadLimits(1, 2, 3).largest == 3


@pytest.mark.parametrize("media_type", list(MediaType))
def test_check_size_boundaries(media_type: MediaType) -> None:
    limits = UploadLimits(image_bytes=10, video_bytes=30, audio_bytes=20)
    limit = limits.for_type(media_type)
    assert check_size(limits, media_type, 1) == Success(1)
    assert check_size(limits, media_type, limit) == Success(limit)
    too_big = check_size(limits, media_type, limit + 1)
    assert isinstance(too_big, Failure)
    assert too_big.failure().code is ErrorCode.PAYLOAD_TOO_LARGE
    assert str(limit) in too_big.failure().detail
    empty = check_size(limits, media_type, 0)
    assert isinstance(empty, Failure)
    assert (empty.failure().code, empty.failure().field) == (ErrorCode.VALIDATION_ERROR, "file")


# --- keys and names ------------------------------------------------------------------------------


def test_storage_key_is_content_addressed_and_deterministic() -> None:
    assert storage_key(SHA, "png") == f"sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}.png"
    assert storage_key(SHA, "png") == storage_key(SHA, "png")
    assert storage_key(SHA, "png") != storage_key(hashlib.sha256(b"other").hexdigest(), "png")


@PROPERTY
@given(st.binary(max_size=64), st.sampled_from(["png", "jpg", "mp4"]))
def test_storage_key_depends_only_on_the_content_hash(data: bytes, extension: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    key = storage_key(digest, extension)
    assert key == storage_key(hashlib.sha256(bytes(data)).hexdigest(), extension)
    assert key.startswith(f"sha256/{digest[:2]}/{digest[2:4]}/") and key.endswith(f"{digest}.{extension}")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.png", "photo.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\x\\y.png", "y.png"),
        ("/abs/path/to/clip.mp4", "clip.mp4"),
        ("dir/", None),
        ("..", None),
        ("a/..", None),
        (".", None),
        ("", None),
        (None, None),
        ("  spaced name.png  ", "spaced name.png"),
        ("bad\x00\x1b[31mname\n.png", "bad[31mname.png"),
        ("\x00\x01", None),
        ("x" * 300 + ".png", "x" * 255),
    ],
)
def test_safe_filename(name: str | None, expected: str | None) -> None:
    assert safe_filename(name) == expected


@PROPERTY
@given(st.text(max_size=400))
def test_safe_filename_never_returns_a_path(name: str) -> None:
    cleaned = safe_filename(name)
    if cleaned is not None:
        assert "/" not in cleaned and "\\" not in cleaned
        assert cleaned not in ("", ".", "..")
        assert len(cleaned) <= 255
        assert cleaned.isprintable()

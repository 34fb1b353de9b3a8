"""Assets: media types, what the first bytes of a file say it is, and upload size limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode

MB = 1000 * 1000
SNIFF_BYTES = 64  # enough of the head of a file to recognise every supported format
IMAGE_HEADER_BYTES = 1024 * 1024  # where an image must say how large it is (JPEG metadata comes first)


class MediaType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class AssetSource(StrEnum):
    GENERATED = "generated"
    UPLOADED = "uploaded"


class AssetStatus(StrEnum):
    REMOTE = "remote"
    DOWNLOADING = "downloading"
    STORED = "stored"
    FAILED = "failed"


class Asset(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    owner_id: str
    media_type: MediaType
    source: AssetSource
    mime_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    created_at: datetime
    last_accessed_at: datetime
    status: AssetStatus = AssetStatus.STORED
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    provider_id: str | None = None
    provider_asset_id: str | None = None
    job_id: str | None = None
    workspace_id: str | None = None
    original_filename: str | None = None
    deleted_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.size_bytes < 0:
            raise ValueError("size_bytes cannot be negative")
        if len(self.sha256) != 64:
            raise ValueError("sha256 must be 64 hex characters")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ProviderUpload(msgspec.Struct, frozen=True, kw_only=True):
    """An input asset already uploaded to a provider, reusable until it expires there."""

    asset_id: str
    provider_id: str
    provider_asset_id: str
    uploaded_at: datetime
    expires_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


class UploadLimits(msgspec.Struct, frozen=True):
    image_bytes: int = 20 * MB
    video_bytes: int = 500 * MB
    audio_bytes: int = 100 * MB
    image_pixels: int = 50 * MB  # width x height an image may declare: 50 megapixels

    def for_type(self, media_type: MediaType) -> int:
        return {
            MediaType.IMAGE: self.image_bytes,
            MediaType.VIDEO: self.video_bytes,
            MediaType.AUDIO: self.audio_bytes,
        }[media_type]

    @property
    def largest(self) -> int:
        return max(self.image_bytes, self.video_bytes, self.audio_bytes)


# Every type `sniff` recognises, for clients: the API states them as the upload's content types.
SNIFFED_MIME_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/quicktime",
                      "video/webm", "audio/mpeg", "audio/wav", "audio/ogg", "audio/flac", "audio/mp4")


class Sniffed(msgspec.Struct, frozen=True):
    media_type: MediaType
    mime_type: str
    extension: str


def sniff(head: bytes) -> Result[Sniffed, DomainError]:
    """The type of a file from its magic bytes; the client's claim is never trusted."""
    found = _sniff(head)
    if found is None:
        return Failure(
            DomainError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "unsupported file type: PNG, JPEG, GIF, WebP, MP4/MOV, WebM, MP3, WAV, OGG or FLAC expected",
            )
        )
    return Success(found)


def _sniff(head: bytes) -> Sniffed | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(MediaType.IMAGE, "image/png", "png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(MediaType.IMAGE, "image/jpeg", "jpg")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(MediaType.IMAGE, "image/gif", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(MediaType.IMAGE, "image/webp", "webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(MediaType.AUDIO, "audio/wav", "wav")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return Sniffed(MediaType.VIDEO, "video/quicktime", "mov")
        if brand[:3] in (b"M4A", b"M4B"):
            return Sniffed(MediaType.AUDIO, "audio/mp4", "m4a")
        return Sniffed(MediaType.VIDEO, "video/mp4", "mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed(MediaType.VIDEO, "video/webm", "webm")
    if head.startswith(b"ID3") or _mp3_frame(head):
        return Sniffed(MediaType.AUDIO, "audio/mpeg", "mp3")
    if head.startswith(b"OggS"):
        return Sniffed(MediaType.AUDIO, "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return Sniffed(MediaType.AUDIO, "audio/flac", "flac")
    return None


def image_dimensions(head: bytes, mime_type: str, *, complete: bool) -> Result[tuple[int, int] | None, DomainError]:
    """Width and height as an image's header declares them: PNG IHDR, GIF logical screen,
    WebP VP8/VP8L/VP8X, JPEG start-of-frame. `head` is the start of the file (the whole file
    when `complete`).

    None when the file declares none (a JPEG without a frame, a WebP of another chunk): it
    holds no image anything could decode. A header cut short is a VALIDATION_ERROR, and so
    is a JPEG whose frame header is not within `head` while the file goes on."""
    reader = {"image/png": _png_size, "image/gif": _gif_size, "image/webp": _webp_size, "image/jpeg": _jpeg_size}
    read = reader.get(mime_type)
    if read is None:
        return Success(None)
    try:
        return Success(read(head))
    except IndexError:
        detail = "the image header is cut short" if complete else (
            f"the image does not declare its size within its first {len(head)} bytes")
        return Failure(DomainError(ErrorCode.VALIDATION_ERROR, detail, field="file"))


def check_pixels(limits: UploadLimits, dimensions: tuple[int, int] | None) -> Result[None, DomainError]:
    """Decompression bombs: a small file may declare a huge image (100000 x 100000 pixels)."""
    if dimensions is not None and dimensions[0] * dimensions[1] > limits.image_pixels:
        width, height = dimensions
        return Failure(DomainError(ErrorCode.PAYLOAD_TOO_LARGE,
                                   f"a {width}x{height} image is over the limit of {limits.image_pixels} pixels"))
    return Success(None)


def _field(data: bytes, start: int, size: int, order: Literal["big", "little"]) -> int:
    if len(data) < start + size:
        raise IndexError(start + size)
    return int.from_bytes(data[start:start + size], order)


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) >= 16 and data[12:16] != b"IHDR":
        raise IndexError(16)  # the IHDR chunk must come first: without it the header is broken
    return _field(data, 16, 4, "big"), _field(data, 20, 4, "big")


def _gif_size(data: bytes) -> tuple[int, int]:
    return _field(data, 6, 2, "little"), _field(data, 8, 2, "little")


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if len(chunk) < 4:
        raise IndexError(16)
    if chunk == b"VP8X":  # 24-bit width and height minus one
        return _field(data, 24, 3, "little") + 1, _field(data, 27, 3, "little") + 1
    if chunk == b"VP8L":  # after the 0x2f signature: 14 bits of width - 1, 14 of height - 1
        bits = _field(data, 21, 4, "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # key frame start code
        return _field(data, 26, 2, "little") & 0x3FFF, _field(data, 28, 2, "little") & 0x3FFF
    if chunk == b"VP8 " and len(data) < 26:
        raise IndexError(26)
    return None


JPEG_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
JPEG_BARE_MARKERS = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length follows


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while True:
        while _field(data, pos, 1, "big") == 0xFF and _field(data, pos + 1, 1, "big") == 0xFF:
            pos += 1  # fill bytes
        if data[pos] != 0xFF:
            return None  # not a marker: no frame header where one should be
        marker = _field(data, pos + 1, 1, "big")
        if marker in JPEG_FRAMES:
            return _field(data, pos + 7, 2, "big"), _field(data, pos + 5, 2, "big")
        if marker in (0xD9, 0xDA):
            return None  # the image ends, or its data starts, before any frame header
        pos += 2 if marker in JPEG_BARE_MARKERS else 2 + _field(data, pos + 2, 2, "big")


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio Layer III frame header: the 11-bit sync and no reserved or invalid field.
    The sync alone (0xFFE) would take in UTF-16LE text, whose byte order mark is FF FE."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, sample_rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0b0000, 0b1111) and sample_rate != 0b11


def check_size(limits: UploadLimits, media_type: MediaType, size: int) -> Result[int, DomainError]:
    limit = limits.for_type(media_type)
    if size > limit:
        return Failure(
            DomainError(ErrorCode.PAYLOAD_TOO_LARGE, f"{media_type} files are limited to {limit} bytes")
        )
    if size == 0:
        return Failure(DomainError(ErrorCode.VALIDATION_ERROR, "the file is empty", field="file"))
    return Success(size)


def storage_key(sha256: str, extension: str) -> str:
    """Content-addressed: the same bytes always land at the same key."""
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def safe_filename(name: str | None) -> str | None:
    """Keep only the last path component of a client-supplied name, printable, bounded."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    if cleaned in ("", ".", ".."):
        return None
    return cleaned[:255]


VIDEO_OPERATIONS = frozenset({"text_to_video", "image_to_video", "video_extend", "video_transition"})


def generated_media_type(operation_type: str, sniffed: Sniffed) -> MediaType:
    """A video operation's result is a video even in an image container (animated GIF)."""
    if operation_type in VIDEO_OPERATIONS and sniffed.media_type is MediaType.IMAGE:
        return MediaType.VIDEO
    return sniffed.media_type

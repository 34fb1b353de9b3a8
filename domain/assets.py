"""Assets: media types, what the first bytes of a file say it is, and upload size limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec
from returns.result import Failure, Result, Success

from domain.errors import DomainError, ErrorCode

MB = 1000 * 1000
SNIFF_BYTES = 64  # enough of the head of a file to recognise every supported format


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

    def for_type(self, media_type: MediaType) -> int:
        return {
            MediaType.IMAGE: self.image_bytes,
            MediaType.VIDEO: self.video_bytes,
            MediaType.AUDIO: self.audio_bytes,
        }[media_type]

    @property
    def largest(self) -> int:
        return max(self.image_bytes, self.video_bytes, self.audio_bytes)


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
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Sniffed(MediaType.AUDIO, "audio/mpeg", "mp3")
    if head.startswith(b"OggS"):
        return Sniffed(MediaType.AUDIO, "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return Sniffed(MediaType.AUDIO, "audio/flac", "flac")
    return None


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

"""What an image's header declares (decompression bombs), and MP3 frame sniffing."""

from __future__ import annotations

import struct

import pytest
from returns.result import Failure, Success

from domain.assets import UploadLimits, check_pixels, image_dimensions, sniff
from domain.errors import ErrorCode
from tests.support.media_samples import gif_declaring, jpeg_declaring, picture, png_declaring, webp_declaring


def vp8(width: int, height: int) -> bytes:
    """A lossy WebP key frame header: frame tag, start code, 14-bit sides (+ 2 scale bits)."""
    frame = b"\x30\x01\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width | 0x4000, height | 0x8000)
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(frame)) + b"WEBPVP8 " + struct.pack("<I", len(frame)) + frame


def vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + struct.pack("<I", bits)
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBPVP8L" + struct.pack("<I", len(payload)) + payload


@pytest.mark.parametrize(("data", "mime", "size"), [
    (png_declaring(100_000, 100_000), "image/png", (100_000, 100_000)),
    (gif_declaring(640, 480), "image/gif", (640, 480)),
    (jpeg_declaring(1920, 1080), "image/jpeg", (1920, 1080)),
    (jpeg_declaring(30, 20, metadata=70_000), "image/jpeg", (30, 20)),
    (b"\xff\xd8\xff\xff\xff" + jpeg_declaring(7, 9)[2:], "image/jpeg", (7, 9)),  # fill bytes
    (b"\xff\xd8\xff\xd0" + jpeg_declaring(5, 6)[2:], "image/jpeg", (5, 6)),  # a bare marker, no length
    (webp_declaring(16_384, 3), "image/webp", (16_384, 3)),
    (vp8(1000, 700), "image/webp", (1000, 700)),
    (vp8l(16_384, 16_384), "image/webp", (16_384, 16_384)),
    (picture("JPEG", 33, 17), "image/jpeg", (33, 17)),
    (picture("WEBP", 33, 17), "image/webp", (33, 17)),
    (picture("GIF", 33, 17), "image/gif", (33, 17)),
    (png_declaring(0, 0), "image/png", (0, 0)),
])
def test_the_declared_size_is_read_from_every_image_header(data: bytes, mime: str, size: tuple[int, int]) -> None:
    assert sniff(data).unwrap().mime_type == mime
    assert image_dimensions(data, mime, complete=True) == Success(size)


@pytest.mark.parametrize(("data", "mime"), [
    (b"\xff\xd8\xff\xda\x00\x02", "image/jpeg"),  # scan data before any frame header
    (b"\xff\xd8\xff\xd9", "image/jpeg"),  # the image ends at once
    (b"\xff\xd8\xff\xe0\x00\x04ab" + b"junk", "image/jpeg"),  # no marker where one belongs
    (b"RIFF\x24\x00\x00\x00WEBPALPH" + bytes(20), "image/webp"),  # a chunk that declares no size
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20), "image/webp"),  # not a key frame
    (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),  # not an image at all
])
def test_files_declaring_no_size_hold_nothing_to_decode(data: bytes, mime: str) -> None:
    assert image_dimensions(data, mime, complete=True) == Success(None)


@pytest.mark.parametrize(("data", "mime"), [
    (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image/png"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIDAT" + bytes(16), "image/png"), (b"GIF89a\x01", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"), (b"\xff\xd8\xff\xe1\x01\x00", "image/jpeg"),
    (jpeg_declaring(9, 9)[:10], "image/jpeg"), (b"RIFF\x24\x00\x00\x00WEBP", "image/webp"),
    (webp_declaring(9, 9)[:28], "image/webp"), (vp8l(9, 9)[:23], "image/webp"), (vp8(9, 9)[:24], "image/webp"),
])
def test_a_header_cut_short_is_a_validation_error(data: bytes, mime: str) -> None:
    result = image_dimensions(data, mime, complete=True)
    assert isinstance(result, Failure)
    assert (result.failure().code, result.failure().field) == (ErrorCode.VALIDATION_ERROR, "file")
    assert "cut short" in result.failure().detail


def test_a_jpeg_frame_beyond_the_head_of_a_longer_file_is_refused_not_guessed() -> None:
    head = jpeg_declaring(9, 9, metadata=200_000)[:100_000]
    result = image_dimensions(head, "image/jpeg", complete=False)
    assert isinstance(result, Failure) and "within its first 100000 bytes" in result.failure().detail


def test_the_pixel_limit() -> None:
    limits = UploadLimits(image_pixels=1000)
    assert check_pixels(limits, (100, 10)) == Success(None)
    assert check_pixels(limits, None) == Success(None)
    refused = check_pixels(limits, (101, 10))
    assert isinstance(refused, Failure) and refused.failure().code is ErrorCode.PAYLOAD_TOO_LARGE
    assert "101x10" in refused.failure().detail
    assert UploadLimits().image_pixels == 50_000_000


@pytest.mark.parametrize("head", [
    "<html>x</html>".encode("utf-16"),  # FF FE: the UTF-16LE byte order mark, once taken for MP3
    b"\xff\xfe\x00\x00", b"\xff\xe0", b"\xff\xfb\xf0\x00", b"\xff\xfb\x9c\x00", b"\xff\xeb\x90\x00",
    b"\xff\xfd\x90\x00", b"\xff\xff\xff\xff",
])
def test_only_real_mp3_frame_headers_pass_for_mp3(head: bytes) -> None:
    assert isinstance(sniff(head), Failure)


@pytest.mark.parametrize("head", [b"\xff\xfb\x90\x64", b"\xff\xfa\x50\x00", b"\xff\xf3\x48\xc4", b"\xff\xe3\x18\xc4"])
def test_layer_iii_frames_of_every_mpeg_version_are_mp3(head: bytes) -> None:
    assert sniff(head).unwrap().mime_type == "audio/mpeg"

"""Small files of every type uploads accept (images decodable, drawn by Pillow), and the
hostile headers the upload corpus throws at the API."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Callable

from PIL import Image

from adapters.media import png


def picture(image_format: str, width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    colour = tuple(hashlib.sha256(f"{image_format}:{seed}".encode()).digest()[:3])
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format=image_format)
    return buffer.getvalue()


def _tagged(magic: bytes) -> Callable[[int], bytes]:
    return lambda seed: magic + hashlib.sha256(str(seed).encode()).digest() * 4


# One generator per type `domain.assets.sniff` recognises; different seeds, different bytes.
SAMPLES: dict[str, Callable[[int], bytes]] = {
    "image/png": lambda seed: png(8, 8, seed),
    "image/jpeg": lambda seed: picture("JPEG", seed=seed),
    "image/gif": lambda seed: picture("GIF", seed=seed),
    "image/webp": lambda seed: picture("WEBP", seed=seed),
    "video/mp4": _tagged(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00"),
    "video/quicktime": _tagged(b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00"),
    "video/webm": _tagged(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01"),
    "audio/mpeg": _tagged(b"ID3\x04\x00\x00\x00\x00\x00\x00"),
    "audio/wav": _tagged(b"RIFF\x24\x00\x00\x00WAVEfmt "),
    "audio/ogg": _tagged(b"OggS\x00\x02\x00\x00"),
    "audio/flac": _tagged(b"fLaC\x00\x00\x00\x22"),
    "audio/mp4": _tagged(b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00"),
}


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares `width` x `height` (a decompression bomb's header), with a
    tiny deflate stream: a decoder would try to inflate it to the declared size."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(header)) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    idat = zlib.compress(b"\x00" * 65536, 9)
    body = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    return b"\x89PNG\r\n\x1a\n" + chunk + body


def gif_declaring(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b";"


def jpeg_declaring(width: int, height: int, metadata: int = 0) -> bytes:
    """SOI, `metadata` bytes of APP1 segments, then a baseline frame header of that size."""
    segments = b""
    while metadata > 0:
        size = min(metadata, 65533)
        segments += b"\xff\xe1" + struct.pack(">H", size + 2) + b"\x00" * size
        metadata -= size
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + segments + frame + b"\xff\xd9"


def webp_declaring(width: int, height: int) -> bytes:
    """An extended (VP8X) WebP header: 24-bit sides."""
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBPVP8X" + struct.pack("<I", len(payload)) + payload

"""The generated media decode: PNG checked chunk by chunk, GIF frames LZW-decoded back."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest

from adapters.media import animated_gif, lzw_encode, png, read_gif_info, read_png_size
from domain.assets import sniff

# ------------------------------------------------------------------ reference decoders


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC on {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return chunks


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Rows of RGB bytes; only filter type 0 is expected from our encoder."""
    chunks = png_chunks(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == height * stride
    rows = [raw[y * stride:(y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, [row[1:] for row in rows]


def lzw_decode(data: bytes, min_code_size: int) -> bytes:
    clear = 1 << min_code_size
    end = clear + 1

    def fresh() -> list[bytes]:
        return [bytes((i,)) for i in range(clear)] + [b"", b""]

    table, code_size, bitpos, out, prev = fresh(), min_code_size + 1, 0, bytearray(), b""
    while True:
        if bitpos + code_size > 8 * len(data):
            raise ValueError("stream ends without the end code")
        code = sum(((data[(bitpos + i) >> 3] >> ((bitpos + i) & 7)) & 1) << i for i in range(code_size))
        bitpos += code_size
        if code == clear:
            table, code_size, prev = fresh(), min_code_size + 1, b""
            continue
        if code == end:
            return bytes(out)
        if not prev or code < len(table):
            entry = table[code]
        elif code == len(table):
            entry = prev + prev[:1]
        else:
            raise ValueError(f"code {code} is not in the table yet ({len(table)})")
        out += entry
        if prev and len(table) < 4096:
            table.append(prev + entry[:1])
            if len(table) == 1 << code_size and code_size < 12:
                code_size += 1
        prev = entry


def sub_blocks(stream: io.BytesIO) -> bytes:
    data = bytearray()
    while size := stream.read(1)[0]:
        data += stream.read(size)
    return bytes(data)


def gif_decode(data: bytes) -> dict[str, object]:
    stream = io.BytesIO(data)
    assert stream.read(6) == b"GIF89a"
    width, height, flags, _background, _aspect = struct.unpack("<HHBBB", stream.read(7))
    assert flags & 0x80, "a global colour table is expected"
    palette = stream.read(3 << ((flags & 7) + 1))
    frames: list[bytes] = []
    delays: list[int] = []
    loops = None
    while (marker := stream.read(1)) != b"\x3b":
        if marker == b"\x21":
            label = stream.read(1)
            body = sub_blocks(stream)
            if label == b"\xff":
                assert body[:11] == b"NETSCAPE2.0"
                loops = struct.unpack("<H", body[12:14])[0]
            elif label == b"\xf9":
                delays.append(struct.unpack("<H", body[1:3])[0])
        elif marker == b"\x2c":
            left, top, w, h, local = struct.unpack("<HHHHB", stream.read(9))
            assert (left, top, w, h, local) == (0, 0, width, height, 0)
            min_code_size = stream.read(1)[0]
            frames.append(lzw_decode(sub_blocks(stream), min_code_size))
        else:
            raise AssertionError(f"unexpected block {marker!r}")
    assert stream.read() == b"", "bytes after the trailer"
    return {"size": (width, height), "palette": palette, "frames": frames, "delays": delays, "loops": loops}


# ------------------------------------------------------------------ PNG


def test_png_is_a_valid_rgb_image_of_the_asked_size() -> None:
    data = png(200, 120, seed=7)
    width, height, rows = png_pixels(data)
    assert (width, height) == (200, 120) == read_png_size(data)
    assert len(rows) == 120 and all(len(row) == 600 for row in rows)
    assert len({row[i:i + 3] for row in rows for i in range(0, 600, 3)}) > 100, "a pattern, not a flat fill"
    assert sniff(data[:64]).unwrap().mime_type == "image/png"


def test_png_defaults_to_256_square() -> None:
    assert read_png_size(png()) == (256, 256)


def test_png_is_deterministic_in_the_seed() -> None:
    assert png(64, 64, seed=1) == png(64, 64, seed=1)
    assert png(64, 64, seed=1) != png(64, 64, seed=2)


def test_png_decodes_with_pillow_when_it_is_installed() -> None:
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(png(80, 40, seed=3))) as image:
        image.load()
        assert image.size == (80, 40) and image.mode == "RGB"


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0), (70000, 10)])
def test_png_refuses_impossible_sizes(width: int, height: int) -> None:
    with pytest.raises(ValueError):
        png(width, height)


def test_read_png_size_refuses_other_bytes() -> None:
    with pytest.raises(ValueError):
        read_png_size(b"GIF89a" + bytes(30))


# ------------------------------------------------------------------ LZW


@pytest.mark.parametrize("min_code_size", [2, 4, 6, 8])
@pytest.mark.parametrize("length", [0, 1, 2, 3, 300, 20000])
def test_lzw_round_trips_random_data(min_code_size: int, length: int) -> None:
    rng = random.Random(length * 10 + min_code_size)
    data = bytes(rng.randrange(1 << min_code_size) for _ in range(length))
    assert lzw_decode(lzw_encode(data, min_code_size), min_code_size) == data


def test_lzw_round_trips_through_table_resets() -> None:
    # random 8-bit data fills the 4096-entry table many times over; a long run compresses hard
    rng = random.Random(5)
    data = bytes(rng.randrange(256) for _ in range(60000)) + bytes(50000)
    encoded = lzw_encode(data, 8)
    assert lzw_decode(encoded, 8) == data
    assert len(lzw_encode(bytes(50000), 8)) < 2000


def test_lzw_refuses_indices_beyond_the_code_size() -> None:
    with pytest.raises(ValueError):
        lzw_encode(bytes([4]), 2)


# ------------------------------------------------------------------ GIF


def test_animated_gif_structure_and_frames_decode() -> None:
    data = animated_gif(96, 64, frames=5, seed=11, delay_cs=20)
    decoded = gif_decode(data)
    assert decoded["size"] == (96, 64)
    assert decoded["loops"] == 0
    assert decoded["delays"] == [20] * 5
    frames = decoded["frames"]
    assert isinstance(frames, list) and len(frames) == 5
    assert all(len(frame) == 96 * 64 for frame in frames)
    palette = decoded["palette"]
    assert isinstance(palette, bytes)
    assert all(max(frame) < len(palette) // 3 for frame in frames)
    assert len(set(frames)) == 5, "every frame moves"
    assert read_gif_info(data) == (96, 64, 5)
    assert data.endswith(b"\x3b")
    assert sniff(data[:64]).unwrap().mime_type == "image/gif"


def test_animated_gif_defaults_to_128_square() -> None:
    assert read_gif_info(animated_gif())[:2] == (128, 128)


def test_animated_gif_is_deterministic_in_the_seed() -> None:
    assert animated_gif(64, 64, 3, seed=4) == animated_gif(64, 64, 3, seed=4)
    assert animated_gif(64, 64, 3, seed=4) != animated_gif(64, 64, 3, seed=5)


def test_animated_gif_decodes_with_pillow_when_it_is_installed() -> None:
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(animated_gif(64, 48, frames=3, seed=2))) as image:
        assert image.size == (64, 48) and image.n_frames == 3


@pytest.mark.parametrize("frames", [0, -1])
def test_animated_gif_needs_a_frame(frames: int) -> None:
    with pytest.raises(ValueError):
        animated_gif(8, 8, frames=frames)


@pytest.mark.parametrize("data", [b"", b"PNG", b"GIF89a" + bytes(7), animated_gif(8, 8, 2)[:-5]])
def test_read_gif_info_refuses_malformed_bytes(data: bytes) -> None:
    with pytest.raises(ValueError):
        read_gif_info(data)

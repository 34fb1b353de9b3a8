"""Real, decodable media from the standard library alone: PNG stills and animated GIFs.

The simulator provider draws its outputs with these, so every path that stores, sniffs or
serves a generated file handles genuine bytes. Patterns are deterministic in the seed.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GIF_COLOURS = 64  # palette size: 6-bit LZW codes keep frames small and the encoder quick
_GIF_MIN_CODE_SIZE = 6
_MAX_CODES = 4096  # GIF codes are at most 12 bits
_MAX_SIDE = 65535  # both formats store sides in 16 bits (GIF) or more (PNG)


def _digest(kind: str, seed: int) -> bytes:
    # sha256 rather than random.Random: stable across Python versions by definition
    return hashlib.sha256(f"pixrelay-media:{kind}:{seed}".encode()).digest()


def _check_side(name: str, value: int) -> None:
    if not 1 <= value <= _MAX_SIDE:
        raise ValueError(f"{name} must be within 1..{_MAX_SIDE}, got {value}")


# ---------------------------------------------------------------------------- PNG


def png(width: int = 256, height: int = 256, seed: int = 0) -> bytes:
    """An 8-bit RGB PNG: a red ramp across, a green ramp down, blue diagonal stripes."""
    _check_side("width", width)
    _check_side("height", height)
    d = _digest("png", seed)
    red = bytes((d[0] + x * 256 * (1 + d[3] % 4) // width) & 255 for x in range(width))
    greens = [(d[1] + y * 256 * (1 + d[4] % 4) // height) & 255 for y in range(height)]
    stride = 1 + d[5] % 7
    blue = bytes((d[2] + i * stride) & 255 for i in range(width + height))
    rows = []
    for y in range(height):
        pixels = bytearray(3 * width)
        pixels[0::3] = red
        pixels[1::3] = bytes((greens[y],)) * width
        pixels[2::3] = blue[y:y + width]
        rows.append(b"\x00" + bytes(pixels))  # filter type 0 (None) on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join((
        PNG_SIGNATURE,
        _png_chunk(b"IHDR", header),
        _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6)),
        _png_chunk(b"IEND", b""),
    ))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def read_png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk; ValueError when this is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---------------------------------------------------------------------------- GIF


def animated_gif(width: int = 128, height: int = 128, frames: int = 16, seed: int = 0,
                 delay_cs: int = 25) -> bytes:
    """A looping GIF89a: colour bands drifting diagonally and a square crossing the frame."""
    _check_side("width", width)
    _check_side("height", height)
    if frames < 1:
        raise ValueError("an animation needs at least one frame")
    if not 0 <= delay_cs <= 65535:
        raise ValueError("delay_cs must be within 0..65535")
    d = _digest("gif", seed)
    parts = [
        b"GIF89a",
        # logical screen: global colour table of 2^(5+1) entries, 8 bits per primary
        struct.pack("<HHBBB", width, height, 0xF0 | (_GIF_MIN_CODE_SIZE - 1), 0, 0),
        _palette(d),
        b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00",  # loop forever
    ]
    for index in range(frames):
        parts.append(struct.pack("<BBBBHBB", 0x21, 0xF9, 4, 0x04, delay_cs, 0, 0))
        parts.append(struct.pack("<BHHHHB", 0x2C, 0, 0, width, height, 0))
        parts.append(bytes((_GIF_MIN_CODE_SIZE,)))
        parts.append(_sub_blocks(lzw_encode(_frame(width, height, index, frames, d), _GIF_MIN_CODE_SIZE)))
    parts.append(b"\x3b")
    return b"".join(parts)


def _palette(d: bytes) -> bytes:
    """Colours 0..62 blend between two seeded colours; 63 is their complement (the square)."""
    start, end = d[0:3], d[3:6]
    bands = GIF_COLOURS - 1
    table = bytearray()
    for i in range(bands):
        table += bytes(a + (b - a) * i // (bands - 1) for a, b in zip(start, end, strict=True))
    table += bytes(255 - (a + b) // 2 for a, b in zip(start, end, strict=True))
    return bytes(table)


def _frame(width: int, height: int, index: int, frames: int, d: bytes) -> bytes:
    bands = GIF_COLOURS - 1
    band_width = 2 + d[6] % 6
    drift = (1 + d[7] % 4) * index
    pattern = bytes((i // band_width) % bands for i in range(width + height + drift + 1))
    side = max(1, min(width, height) // 4)
    left = (width - side) * index // max(1, frames - 1)
    top = (height - side) * (d[8] % (index + 2)) // (index + 2)
    square = bytes((bands,)) * side
    out = bytearray()
    for y in range(height):
        row = bytearray(pattern[y + drift:y + drift + width])
        if top <= y < top + side:
            row[left:left + side] = square
        out += row
    return bytes(out)


def lzw_encode(indices: bytes, min_code_size: int) -> bytes:
    """GIF-flavoured variable-width LZW (codes LSB first), ending with the end code.

    A clear code starts the stream and is sent again whenever the 4096-entry table fills.
    """
    if not 2 <= min_code_size <= 8:
        raise ValueError("min_code_size must be within 2..8")
    clear = 1 << min_code_size
    end = clear + 1
    if indices and max(indices) >= clear:
        raise ValueError("an index does not fit the code size")
    out = bytearray()
    acc = 0
    nbits = 0
    code_size = min_code_size + 1

    def emit(code: int) -> None:
        nonlocal acc, nbits
        acc |= code << nbits
        nbits += code_size
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    emit(clear)
    if indices:
        table: dict[int, int] = {}  # (prefix code << 8 | next index) -> code
        next_code = end + 1
        prefix = indices[0]
        for value in indices[1:]:
            key = (prefix << 8) | value
            found = table.get(key)
            if found is not None:
                prefix = found
                continue
            emit(prefix)
            if next_code < _MAX_CODES:
                table[key] = next_code
                next_code += 1
                # the decoder adds this entry one code later, so it widens one code later too
                if next_code > (1 << code_size) and code_size < 12:
                    code_size += 1
            else:
                emit(clear)
                table.clear()
                next_code = end + 1
                code_size = min_code_size + 1
            prefix = value
        emit(prefix)
    emit(end)
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def _sub_blocks(data: bytes) -> bytes:
    blocks = bytearray()
    for start in range(0, len(data), 255):
        piece = data[start:start + 255]
        blocks.append(len(piece))
        blocks += piece
    blocks.append(0)
    return bytes(blocks)


def read_gif_info(data: bytes) -> tuple[int, int, int]:
    """(width, height, frame count) by walking the block structure; ValueError if malformed."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise ValueError("not a GIF")
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    try:
        while True:
            marker = data[pos]
            if marker == 0x3B:
                return width, height, frames
            if marker == 0x21:
                pos = _skip_sub_blocks(data, pos + 2)
            elif marker == 0x2C:
                frames += 1
                local = data[pos + 9]
                pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
                pos = _skip_sub_blocks(data, pos + 1)  # after the LZW minimum code size
            else:
                raise ValueError(f"unexpected GIF block 0x{marker:02x} at {pos}")
    except IndexError:
        raise ValueError("truncated GIF") from None


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1

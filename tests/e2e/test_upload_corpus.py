"""Hostile uploads through the HTTP API (TestClient on the in-memory wiring, blobs on disk):
every refused file is a 4xx problem and leaves nothing behind; accepted ones are typed by
their bytes and served so that no browser runs them.

Decisions: a polyglot that starts as a valid image is stored as that image and served as
such (its own type, `nosniff`, a sandboxing CSP), whatever it carries later; an image whose
header declares more than 50 megapixels is 413; a header cut short is 422."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from adapters.blobs.disk import LocalDiskBlobStore
from adapters.media import png
from adapters.memory.system import ManualClock
from adapters.providers.sim import SimProvider
from application.policy import AssetPolicy, AuthPolicy, Policies
from domain.assets import UploadLimits
from entrypoints.bootstrap import build_container
from tests.e2e.http.conftest import Api, Caller, assert_problem, serve
from tests.support.media_samples import gif_declaring, jpeg_declaring, picture, png_declaring, webp_declaring
from tests.support.wiring import Wiring, memory_ports

BOUNDARY = "corpus-boundary"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
LIMITS = UploadLimits(image_bytes=4000, video_bytes=8000, audio_bytes=2000)


def disk_wiring(root: Path, limits: UploadLimits) -> Wiring:
    """The in-memory wiring with its blobs on disk under `root`."""
    clock = ManualClock()
    sim = SimProvider(clock=clock.now)
    ports = replace(memory_ports(clock, sim), blobs=LocalDiskBlobStore(root))
    policies = Policies(auth=AuthPolicy(login_attempts_per_client=1000), assets=AssetPolicy(limits=limits))
    return Wiring(build_container(ports, policies), ports, clock, sim)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """Blobs under tmp_path/blobs, small size limits, the default pixel limit."""
    yield from serve(disk_wiring(tmp_path / "blobs", LIMITS))


def form(filename: str, data: bytes, *, part_type: str = "application/octet-stream") -> bytes:
    """A multipart body made by hand, so that file names go out byte for byte."""
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {part_type}\r\n\r\n")
    return head.encode("utf-8", "surrogateescape") + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(api: Api, who: Caller, data: bytes, filename: str = "upload.bin", **kwargs: str) -> httpx.Response:
    return api.client.post("/v1/assets", content=form(filename, data, **kwargs),
                           headers={**who.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_nothing_stored(api: Api, who: Caller, root: Path) -> None:
    assert stored_files(root / "blobs") == []
    assert api.client.get("/v1/assets", headers=who.headers).json()["items"] == []
    me = api.client.get("/v1/users/me", headers=who.headers).json()
    assert me["usage"]["storage_bytes"] == 0 and me["usage"]["assets_created"] == 0


# ---------------------------------------------------------------- not media at all

WRONG_MAGIC = {
    "plain text": b"Dear diary, today I uploaded a text file.\n",
    "html": HTML,
    "svg with script": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    "json": b'{"image": "no"}',
    "shell script": b"#!/bin/sh\nrm -rf /\n",
    "elf": b"\x7fELF\x02\x01\x01\x00" + bytes(56),
    "windows pe": b"MZ\x90\x00\x03\x00\x00\x00" + bytes(56),
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40),
    "gzip": b"\x1f\x8b\x08\x00" + bytes(20),
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "bmp": b"BM" + bytes(60),
    "tiff": b"II*\x00" + bytes(60),
    "utf-16 text": "<html>hello</html>".encode("utf-16"),
    "gif near miss": b"GIF88a" + bytes(20),
    "png near miss": b"\x89PNX\r\n\x1a\n" + bytes(20),
    "riff avi": b"RIFF\x24\x00\x00\x00AVI LIST" + bytes(20),
    "nul bytes": bytes(64),
    "one byte": b"\x89",
    "three png bytes": b"\x89PN",
}


@pytest.mark.parametrize("data", list(WRONG_MAGIC.values()), ids=list(WRONG_MAGIC))
def test_files_that_are_not_media_are_415_and_nothing_is_stored(api: Api, tmp_path: Path, data: bytes) -> None:
    alice = api.register()
    for claimed in ("image/png", "video/mp4", "application/octet-stream"):
        response = upload(api, alice, data, "photo.png", part_type=claimed)
        assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_nothing_stored(api, alice, tmp_path)


def test_an_empty_file_is_422(api: Api, tmp_path: Path) -> None:
    alice = api.register()
    assert assert_problem(upload(api, alice, b"", "empty.png"), 422, "VALIDATION_ERROR")["field"] == "file"
    assert_nothing_stored(api, alice, tmp_path)


# ---------------------------------------------------------------- truncated and bombs

TRUNCATED = {
    "png magic only": b"\x89PNG\r\n\x1a\n",
    "png cut in its ihdr": png(8, 8)[:20],
    "png without ihdr first": b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIDAT" + bytes(20),
    "gif magic only": b"GIF89a",
    "gif cut in its screen": b"GIF89a\x10\x00",
    "jpeg magic only": b"\xff\xd8\xff",
    "jpeg cut in a segment": b"\xff\xd8\xff\xe1\x10\x00" + bytes(100),
    "jpeg cut in its frame header": jpeg_declaring(10, 10)[:8],
    "webp cut before its chunk": b"RIFF\x24\x00\x00\x00WEBPVP",
    "webp cut in vp8x": webp_declaring(10, 10)[:26],
}


@pytest.mark.parametrize("data", list(TRUNCATED.values()), ids=list(TRUNCATED))
def test_images_cut_short_are_422_and_nothing_is_stored(api: Api, tmp_path: Path, data: bytes) -> None:
    alice = api.register()
    assert assert_problem(upload(api, alice, data, "cut.png"), 422, "VALIDATION_ERROR")["field"] == "file"
    assert_nothing_stored(api, alice, tmp_path)


BOMBS = {
    "png 100000x100000": png_declaring(100_000, 100_000),
    "png 2^31 wide": png_declaring(2**31 - 1, 1),
    "png one pixel too many": png_declaring(10_001, 5_000),
    "gif 65535x65535": gif_declaring(65_535, 65_535),
    "jpeg 65535x65535": jpeg_declaring(65_535, 65_535),
    "progressive jpeg 60000x1000": jpeg_declaring(60_000, 1_000).replace(b"\xff\xc0", b"\xff\xc2", 1),
    "webp vp8x 16384x16384": webp_declaring(16_384, 16_384),
}


@pytest.mark.parametrize("data", list(BOMBS.values()), ids=list(BOMBS))
def test_images_declaring_more_than_50_megapixels_are_413_and_nothing_is_stored(
        api: Api, tmp_path: Path, data: bytes) -> None:
    alice = api.register()
    assert len(data) < LIMITS.image_bytes  # small files: only the declared size gives them away
    assert "pixels" in assert_problem(upload(api, alice, data, "bomb.png"), 413, "PAYLOAD_TOO_LARGE")["detail"]
    assert_nothing_stored(api, alice, tmp_path)


def test_the_pixel_limit_is_inclusive_and_real_images_pass(api: Api) -> None:
    alice = api.register()
    at_limit = upload(api, alice, png_declaring(10_000, 5_000), "edge.png")  # exactly 50 megapixels
    assert at_limit.status_code == 201 and at_limit.json()["mime_type"] == "image/png"
    for image_format, mime in (("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp"),
                               ("PNG", "image/png")):
        response = upload(api, alice, picture(image_format, 40, 30), f"real.{image_format.lower()}")
        assert response.status_code == 201 and response.json()["mime_type"] == mime, response.text


def test_a_jpeg_hiding_its_frame_header_past_the_first_mebibyte_is_refused(tmp_path: Path) -> None:
    for api in serve(disk_wiring(tmp_path / "blobs", UploadLimits(image_bytes=4_000_000))):
        alice = api.register()
        hidden = jpeg_declaring(65_535, 65_535, metadata=1_100_000)
        assert "first" in assert_problem(upload(api, alice, hidden, "deep.jpg"), 422, "VALIDATION_ERROR")["detail"]
        assert_nothing_stored(api, alice, tmp_path)
        fine = upload(api, alice, jpeg_declaring(100, 100, metadata=300_000), "exif-heavy.jpg")
        assert fine.status_code == 201, fine.text


# ---------------------------------------------------------------- oversized streams


@pytest.mark.parametrize(("data", "limit"), [
    (png(64, 64, seed=1) + bytes(5000), LIMITS.image_bytes),
    (b"\x00\x00\x00\x18ftypmp42" + os.urandom(9000), LIMITS.video_bytes),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(3000), LIMITS.audio_bytes),
], ids=["image", "video", "audio"])
def test_a_stream_past_its_type_limit_is_413_and_nothing_is_stored(
        api: Api, tmp_path: Path, data: bytes, limit: int) -> None:
    alice = api.register()
    assert len(data) > limit
    assert str(limit) in assert_problem(upload(api, alice, data, "big.bin"), 413, "PAYLOAD_TOO_LARGE")["detail"]
    assert_nothing_stored(api, alice, tmp_path)
    assert list((tmp_path / "blobs").rglob("*.part")) == [] and stored_files(tmp_path / "blobs") == []


def test_a_body_past_the_request_cap_is_413_before_it_is_read(api: Api, tmp_path: Path) -> None:
    alice = api.register()
    response = upload(api, alice, png(8, 8) + bytes(200_000), "huge.png")
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert_nothing_stored(api, alice, tmp_path)


# ---------------------------------------------------------------- polyglots


POLYGLOTS = {
    "png then html": (png(8, 8, seed=3) + HTML, "image/png"),
    "png with html in a text chunk": (png(8, 8, seed=4)[:33] + b"\x00\x00\x00\x50tEXt" + HTML[:80] + bytes(4)
                                      + png(8, 8, seed=4)[33:], "image/png"),
    "gif/javascript": (b"GIF89a/*\x10\x00\x00\x00\x00*/=alert(1)//" + bytes(8), "image/gif"),
    "jpeg then html": (picture("JPEG", 8, 8, seed=5) + HTML, "image/jpeg"),
}


@pytest.mark.parametrize(("data", "mime"), list(POLYGLOTS.values()), ids=list(POLYGLOTS))
def test_a_polyglot_is_stored_and_served_as_its_image_type_only(api: Api, data: bytes, mime: str) -> None:
    alice = api.register()
    response = upload(api, alice, data, "payload.html", part_type="text/html")
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["mime_type"] == mime and asset["media_type"] == "image"
    assert asset["original_filename"] == "payload.html"  # the name is kept, it never decides the type
    served = api.client.get(f"/v1/assets/{asset['id']}/content", headers=alice.headers)
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == mime
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.headers["content-disposition"].startswith("inline; filename=")


# ---------------------------------------------------------------- file names

NAMES = {
    "../../etc/passwd": "passwd",
    "..\\..\\win.ini": "win.ini",
    "/etc/shadow": "shadow",
    "C:\\Windows\\System32\\cmd.exe": "cmd.exe",
    "\\\\server\\share\\x.png": "x.png",
    "./././a.png": "a.png",
    "a/../../b.png": "b.png",
    "..": None,
    ".": None,
    "../": None,
    "nul\x00byte.png": "nulbyte.png",
    "line\r\nX-Injected: 1.png": None,  # the raw CRLF ends the part's header: no name survives
    "tab\there.png": "tabhere.png",
    "right-to-left\u202egnp.exe": "right-to-leftgnp.exe",
    "   spaced.png   ": "spaced.png",
    'ré\\"sumé.png': 'ré"sumé.png',  # a quote escaped in the quoted string
    "%2e%2e%2fetc%2fpasswd": "%2e%2e%2fetc%2fpasswd",
    "x" * 1_000 + ".png": "x" * 255,
}


def test_file_names_are_reduced_to_a_safe_last_component_and_nothing_escapes_the_store(
        api: Api, tmp_path: Path) -> None:
    alice = api.register()
    before = {p for p in Path("/tmp").glob("*") if p.name in ("passwd", "shadow", "win.ini")}
    for seed, (sent, kept) in enumerate(NAMES.items()):
        response = upload(api, alice, png(8, 8, seed=100 + seed), sent)
        assert response.status_code == 201, (sent, response.text)
        asset = response.json()
        name = asset["original_filename"]
        assert name == kept, (sent, name)
        if name is not None:
            assert "/" not in name and "\\" not in name and "\x00" not in name and name not in (".", "..")
            assert name.isprintable() and len(name) <= 255
        served = api.client.get(f"/v1/assets/{asset['id']}/content", headers=alice.headers)
        disposition = served.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition and disposition.isascii()
    too_long = upload(api, alice, png(8, 8, seed=99), "x" * 10_000 + ".png")  # past the parser's header limit
    assert_problem(too_long, 422, "VALIDATION_ERROR")
    files = stored_files(tmp_path)  # the whole test directory: the store's root and around it
    assert len(files) == len(NAMES) and all(p.is_relative_to(tmp_path / "blobs" / "sha256") for p in files)
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() in p.name for p in files)  # named by content only
    assert {p for p in Path("/tmp").glob("*") if p.name in ("passwd", "shadow", "win.ini")} == before

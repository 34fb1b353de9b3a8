"""Stream a multipart/form-data upload straight from the request body, never buffering the file.

Litestar's own form parsing collects the whole form (spooling files to disk) before the
handler runs. Uploads here go part by part through the `multipart` push parser (the one
Litestar itself uses): the small text fields before `file` are read, then the file's bytes
are handed on as they arrive, so the type is sniffed from the first bytes and the size
limit stops the upload as soon as it is passed. Text fields may come before or after the
file: those after it are read once the file is (`FileUpload.fields` fills up then).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeAlias

from multipart import MultipartError, MultipartSegment, PushMultipartParser

from domain.errors import DomainError, ErrorCode, validation
from entrypoints.http.errors import ProblemException

FILE_FIELD = "file"
TEXT_FIELDS = frozenset({"workspace_id"})
MAX_TEXT_FIELD = 1024
MAX_PARTS = len(TEXT_FIELDS) + 1


class _End:
    """The form is over."""


END = _End()
Event: TypeAlias = MultipartSegment | bytes | _End | None  # None: the end of a part


@dataclass(frozen=True)
class FileUpload:
    filename: str | None
    fields: dict[str, str]
    chunks: AsyncIterator[bytes]


def boundary_of(content_type: str, file_field: str = FILE_FIELD) -> str:
    """The boundary of a multipart/form-data content type; 415 for any other type."""
    media_type, _, options = content_type.partition(";")
    if media_type.strip().lower() == "multipart/form-data":
        for option in options.split(";"):
            name, _, value = option.strip().partition("=")
            if name.strip().lower() == "boundary" and value.strip().strip('"'):
                return value.strip().strip('"')
        raise ProblemException(validation("multipart/form-data needs a boundary", file_field))
    raise ProblemException(DomainError(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"send multipart/form-data with the file in the field `{file_field}`"))


def too_large(limit: int) -> ProblemException:
    return ProblemException(DomainError(ErrorCode.PAYLOAD_TOO_LARGE, f"uploads are limited to {limit} bytes"))


async def capped(body: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in body:
        seen += len(chunk)
        if seen > limit:
            raise too_large(limit)
        yield chunk


class _Events:
    """Parser events pulled one at a time from the body, a chunk at a time."""

    def __init__(self, body: AsyncIterator[bytes], boundary: str, max_parts: int = MAX_PARTS) -> None:
        self._body = body
        try:
            self._parser = PushMultipartParser(boundary, max_segment_count=max_parts)
        except MultipartError as error:
            raise bad_form(error) from None
        self._queue: deque[Event] = deque()

    async def next(self) -> Event:
        while not self._queue:
            if self._parser.closed:
                return END
            chunk = await anext(self._body, b"")
            try:
                # the parser's events must be taken before its next chunk: at most one chunk's worth
                self._queue.extend(bytes(e) if isinstance(e, bytes | bytearray | memoryview) else e
                                   for e in self._parser.parse(chunk))
            except MultipartError as error:
                raise bad_form(error) from None
        return self._queue.popleft()


def bad_form(error: Exception, file_field: str = FILE_FIELD) -> ProblemException:
    return ProblemException(validation(f"malformed multipart/form-data: {error}", file_field))


async def open_upload(body: AsyncIterator[bytes], boundary: str, file_field: str = FILE_FIELD,
                      text_fields: frozenset[str] = TEXT_FIELDS, max_text: int = MAX_TEXT_FIELD) -> FileUpload:
    """Read the form up to the start of its file part (`file_field`); the text fields may be
    those of `text_fields`, each at most once and `max_text` bytes long."""
    events = _Events(body, boundary, max_parts=len(text_fields) + 1)
    fields: dict[str, str] = {}
    while True:
        segment = await events.next()
        if not isinstance(segment, MultipartSegment):
            raise ProblemException(validation(f"the form has no `{file_field}` part", file_field))
        if segment.name == file_field:
            return FileUpload(filename=segment.filename, fields=fields,
                              chunks=_file_chunks(events, fields, text_fields, max_text))
        await _text_field(events, segment, fields, text_fields, max_text)


async def _text_field(events: _Events, segment: MultipartSegment, fields: dict[str, str],
                      text_fields: frozenset[str] = TEXT_FIELDS, max_text: int = MAX_TEXT_FIELD) -> None:
    if segment.name not in text_fields or segment.name in fields:
        raise ProblemException(validation(f"unexpected form field {segment.name!r}", segment.name))
    fields[segment.name] = await _text(events, segment.name, max_text)


async def _text(events: _Events, name: str, max_text: int = MAX_TEXT_FIELD) -> str:
    value = bytearray()
    while isinstance(data := await events.next(), bytes):
        value += data
        if len(value) > max_text:
            raise ProblemException(validation(f"{name} is too long", name))
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ProblemException(validation(f"{name} is not UTF-8", name)) from None


async def _file_chunks(events: _Events, fields: dict[str, str],
                       text_fields: frozenset[str] = TEXT_FIELDS,
                       max_text: int = MAX_TEXT_FIELD) -> AsyncIterator[bytes]:
    while isinstance(data := await events.next(), bytes):
        yield data
    # The fields after the file, before the file counts as read: an error here aborts the
    # upload before anything is recorded.
    while isinstance(segment := await events.next(), MultipartSegment):
        await _text_field(events, segment, fields, text_fields, max_text)

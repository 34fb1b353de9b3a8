"""The one JSON API client every HTTP provider adapter talks through.

Configured once per provider: base URL, how the account secret becomes auth headers (bearer,
`Key`, a named key header, or a signer), default headers (static, or made anew for every request
such as a trace id), a timeout, and the provider's error mapping: how its error body reads as a
message, and how that refines the status class of httpio.classify_status. Every failure it
returns has the secret redacted. The adapters keep only their wire mapping: bodies, paths,
parsing answers and mapping statuses.

Built on the injected httpx client, so tests replay recorded answers through an
httpx.MockTransport the same way for every adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from returns.result import Failure, Result, Success

from adapters.providers.httpio import call, classify_status, failure, json_object, redact
from domain.accounts import FailureKind
from domain.providers import ProviderFailure

Auth = Callable[[str], dict[str, str]]
Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]
Decode = Callable[[httpx.Response], Result[dict[str, Any], ProviderFailure]]
Timeout = httpx.Timeout | float | None | httpx._client.UseClientDefault


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def scheme(name: str) -> Auth:
    """`Authorization: <name> <secret>` (fal's `Key`)."""
    return lambda secret: {"Authorization": f"{name} {secret}"}


def key_header(name: str) -> Auth:
    """The secret as it is in a header of its own (`x-goog-api-key`, `API-KEY`)."""
    return lambda secret: {name: secret}


@dataclass(frozen=True)
class ErrorAnswer:
    """An answer with an error status, as a provider's refinement sees it."""

    response: httpx.Response
    body: Mapping[str, Any]  # its JSON object, {} when it has none
    text: str  # the provider's message out of it ("" when none: the status text is the body's start)


def _no_text(body: Mapping[str, Any], response: httpx.Response) -> str:
    return ""


def _as_classified(classified: ProviderFailure, answer: ErrorAnswer) -> ProviderFailure:
    return classified


@dataclass(frozen=True)
class ErrorMapping:
    """A provider's error answers: `text` reads its error body as a message; `refine` turns the
    status class (classify_status with that message) into the provider's own (credits, moderation,
    an unknown job...)."""

    text: Callable[[Mapping[str, Any], httpx.Response], str] = _no_text
    refine: Callable[[ProviderFailure, ErrorAnswer], ProviderFailure] = _as_classified

    def rejected(self, response: httpx.Response) -> ProviderFailure | None:
        """The failure an answer stands for, or None below 400."""
        if response.status_code < 400:
            return None
        body = json_object(response).value_or({})
        text = self.text(body, response)
        classified = classify_status(response, text)
        return None if classified is None else self.refine(classified, ErrorAnswer(response, body, text))


def job_not_found(classified: ProviderFailure) -> ProviderFailure:
    """A 404 on a job's own URL: the job is unknown there (final, nobody's fault)."""
    return failure(FailureKind.INVALID, "JOB_NOT_FOUND", classified.message)


@dataclass(frozen=True)
class ApiClient:
    """One provider's JSON API over an injected httpx client."""

    http: httpx.AsyncClient
    base_url: str
    auth: Auth
    errors: ErrorMapping = field(default_factory=ErrorMapping)
    headers: Headers = field(default_factory=dict)
    timeout: Timeout = httpx.USE_CLIENT_DEFAULT
    empty_ok: bool = False  # a 204 or an empty 2xx body reads as {} rather than as malformed
    decode: Decode = json_object  # a 2xx answer to its payload (e.g. out of an envelope)

    def url(self, path: str) -> str:
        """`path` under the base URL, always (a provider's other host is an ApiClient of its own)."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def _headers(self, secret: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        defaults = self.headers() if callable(self.headers) else self.headers
        return {**self.auth(secret), **defaults, **(extra or {})}

    async def call(self, secret: str, method: str, path: str, *, headers: Mapping[str, str] | None = None,
                   **kwargs: Any) -> Result[httpx.Response, ProviderFailure]:
        """One request whatever its status: only transport errors become failures."""
        answered = await call(self.http, method, self.url(path), headers=self._headers(secret, headers),
                              timeout=self.timeout, **kwargs)
        return answered.alt(lambda problem: redact(problem, secret))

    async def send(self, secret: str, method: str, path: str, **kwargs: Any
                   ) -> Result[dict[str, Any], ProviderFailure]:
        """One API call: transport errors, error answers and malformed bodies become typed failures."""
        answered = await self.call(secret, method, path, **kwargs)
        if isinstance(answered, Failure):
            return answered
        response = answered.unwrap()
        refused = self.errors.rejected(response)
        if refused is not None:
            return Failure(redact(refused, secret))
        if self.empty_ok and (response.status_code == 204 or not response.content):
            return Success({})
        return self.decode(response).alt(lambda problem: redact(problem, secret))

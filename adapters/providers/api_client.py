"""The one JSON API client every HTTP provider adapter talks through.

Configured once per provider: base URL, how the account secret becomes auth headers (bearer,
`Key`, a named key header, or a signer such as a JWT made anew for every request), default headers (static, or made anew for every request
such as a trace id), a timeout, and the provider's error mapping: how its error body reads as a
message, and how that refines the status class of httpio.classify_status. Every failure it
returns has the secret redacted, with a structured secret's fields and a token signed from it. The adapters keep only their wire mapping: bodies, paths,
parsing answers, and their status words as a table (`StatusWords`).

Built on the injected httpx client, so tests replay recorded answers through an
httpx.MockTransport the same way for every adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import jwt
from returns.result import Failure, Result, Success

from adapters.providers.httpio import call, classify_status, failure, json_object, malformed, redact
from domain.account_secrets import secret_fields
from domain.accounts import FailureKind
from domain.providers import ProviderFailure, RemoteState, RemoteStatus

# an auth function may refuse a secret it cannot use: that failure is returned before anything is sent
Auth = Callable[[str], Mapping[str, str] | ProviderFailure]
Hide = Callable[[ProviderFailure], ProviderFailure]
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


def hs256_jwt(claims: Mapping[str, Any], key: str) -> str:
    return jwt.encode(dict(claims), key, algorithm="HS256", headers={"typ": "JWT"})


def jwt_bearer(keys: Callable[[str], tuple[str, str] | ProviderFailure],
               claims: Callable[[str, datetime], Mapping[str, Any]], clock: Callable[[], datetime]) -> Auth:
    """`Authorization: Bearer <JWT>`, HS256, signed anew for every request: `keys` reads the secret
    as (issuer, signing key) or refuses it; `claims` are the issuer's at the clock's now (Kling)."""
    def auth(secret: str) -> dict[str, str] | ProviderFailure:
        pair = keys(secret)
        if isinstance(pair, ProviderFailure):
            return pair
        issuer, key = pair
        return {"Authorization": f"Bearer {hs256_jwt(claims(issuer, clock()), key)}"}

    return auth


def _hider(secret: str, auth: Mapping[str, str]) -> Hide:
    """Redaction of the secret, of each field of a structured secret, and of any credential the
    auth headers carry that is not the secret itself (a token signed from it)."""
    fields = tuple((secret_fields(secret) or {}).values())
    derived = tuple(value.partition(" ")[2] or value for value in auth.values() if secret not in value)

    def hide(problem: ProviderFailure) -> ProviderFailure:
        for value in (secret, *fields, *derived):
            problem = redact(problem, value)
        return problem

    return hide


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


# the failure a failed job carries, read out of the job's body (its message, reason, code)
FailedAs = Callable[[Mapping[str, Any]], ProviderFailure]
Read = Result[RemoteStatus, ProviderFailure]


@dataclass(frozen=True)
class StatusWords:
    """A provider's raw status words and what each means: the RemoteState of a job that waits,
    runs or was cancelled, or for a failed one the failure it carries. A word for SUCCEEDED is
    read by the adapter (its outputs); a word not in the table is a malformed answer."""

    name: str  # what the word is ("Kling task status"), in the failure of an unknown one
    words: Mapping[object, RemoteState | FailedAs]

    def read(self, raw: object, body: Mapping[str, Any], succeeded: Callable[[], Read], *,
             shown: str | None = None, progress: float | None = None) -> Read:
        """The status `raw` stands for, shown as `shown` (the word itself by default); `progress`
        is a running job's."""
        try:
            meaning = self.words.get(raw)
        except TypeError:  # an unhashable JSON value (a list, an object) is no word
            meaning = None
        raw_status = str(raw) if shown is None else shown
        if meaning is None:
            return Failure(malformed(f"unknown {self.name} {str(raw)[:50]!r}"))
        if meaning is RemoteState.SUCCEEDED:
            return succeeded()
        if isinstance(meaning, RemoteState):
            running = progress if meaning is RemoteState.RUNNING else None
            return Success(RemoteStatus(state=meaning, raw_status=raw_status, progress=running))
        return Success(RemoteStatus(state=RemoteState.FAILED, raw_status=raw_status, failure=meaning(body)))


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

    async def _exchange(self, secret: str, method: str, path: str, extra: Mapping[str, str] | None,
                        kwargs: dict[str, Any]) -> tuple[Result[httpx.Response, ProviderFailure], Hide]:
        auth = self.auth(secret)
        if isinstance(auth, ProviderFailure):
            return Failure(redact(auth, secret)), lambda problem: redact(problem, secret)
        hide = _hider(secret, auth)
        defaults = self.headers() if callable(self.headers) else self.headers
        answered = await call(self.http, method, self.url(path), headers={**auth, **defaults, **(extra or {})},
                              timeout=self.timeout, **kwargs)
        return answered.alt(hide), hide

    async def call(self, secret: str, method: str, path: str, *, headers: Mapping[str, str] | None = None,
                   **kwargs: Any) -> Result[httpx.Response, ProviderFailure]:
        """One request whatever its status: only transport errors (and a refused secret) become failures."""
        answered, _ = await self._exchange(secret, method, path, headers, kwargs)
        return answered

    async def send(self, secret: str, method: str, path: str, *, headers: Mapping[str, str] | None = None,
                   **kwargs: Any) -> Result[dict[str, Any], ProviderFailure]:
        """One API call: transport errors, error answers and malformed bodies become typed failures."""
        answered, hide = await self._exchange(secret, method, path, headers, kwargs)
        if isinstance(answered, Failure):
            return answered
        response = answered.unwrap()
        refused = self.errors.rejected(response)
        if refused is not None:
            return Failure(hide(refused))
        if self.empty_ok and (response.status_code == 204 or not response.content):
            return Success({})
        return self.decode(response).alt(hide)

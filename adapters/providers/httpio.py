"""What every HTTP provider adapter shares: error classification, JSON decoding that never
crashes, and output downloads guarded against SSRF.

Classification (docs/SPEC.md §4): key rejected -> AUTH (account disabled); out of credits -> CREDITS
(exhausted); 429 -> RATE_LIMITED honouring Retry-After; 5xx, timeouts, transport errors and
malformed bodies -> TRANSIENT; invalid params -> INVALID (final).
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import mimetypes
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
import msgspec
from returns.result import Failure, Result, Success

from domain.accounts import FailureKind
from domain.ports import OutputUnavailable
from domain.providers import OperationSpec, ProviderFailure, ProviderInfo, SubmitRequest, check_input_count

MAX_REDIRECTS = 3
DOWNLOAD_LIMITS = httpx.Limits(max_connections=100)
CHUNK = 64 * 1024
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Special-purpose ranges never reachable for downloads, on top of what ipaddress flags.
BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "64:ff9b:1::/48", "100::/64", "2001:db8::/32",
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def failure(kind: FailureKind, code: str, message: str, retry_after: int | None = None) -> ProviderFailure:
    return ProviderFailure(kind=kind, code=code, message=message[:500], retry_after_seconds=retry_after)


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> int | None:
    """The wait a provider asks for, as the official OpenAI, Runway and Replicate clients read
    it: `retry-after-ms` (milliseconds, possibly decimal) first, then `retry-after` as seconds
    (whole or decimal) or an HTTP date. Rounded up to whole seconds; None when absent or unreadable."""
    milliseconds = _non_negative_float(response.headers.get("retry-after-ms"))
    if milliseconds is not None:
        return math.ceil(milliseconds / 1000)
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    seconds = _non_negative_float(raw)
    if seconds is not None:
        return math.ceil(seconds)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, math.ceil((when - (now or datetime.now(UTC))).total_seconds()))


def _non_negative_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def classify_status(response: httpx.Response, detail: str = "") -> ProviderFailure | None:
    """None for a 2xx/3xx answer, else the failure class of the status code."""
    status = response.status_code
    text = detail or response.text[:300]
    if status < 400:
        return None
    if status in (401, 403):
        return failure(FailureKind.AUTH, "PROVIDER_AUTH_REJECTED", f"{status}: {text}")
    if status == 402:
        return failure(FailureKind.CREDITS, "PROVIDER_OUT_OF_CREDITS", f"{status}: {text}")
    if status == 429:
        return failure(FailureKind.RATE_LIMITED, "PROVIDER_RATE_LIMITED", f"{status}: {text}",
                       retry_after_seconds(response))
    if status in (408, 409, 425) or status >= 500:
        return failure(FailureKind.TRANSIENT, "PROVIDER_UNAVAILABLE", f"{status}: {text}")
    return failure(FailureKind.INVALID, "PROVIDER_REJECTED_REQUEST", f"{status}: {text}")


def invalid_job_id(what: str, job_id: str) -> Failure[ProviderFailure]:
    """A job id that is not of this provider's shape: refused before anything is sent."""
    return Failure(failure(FailureKind.INVALID, "INVALID_JOB_ID", f"not {what}: {job_id[:100]!r}"))


def transport_failure(error: httpx.HTTPError) -> ProviderFailure:
    if isinstance(error, (httpx.ReadTimeout, httpx.WriteTimeout)):
        # Sent (or partly) but never answered: the provider may have acted on it. The code
        # the pipeline's own timeout gives, so a submit is re-attached rather than retried
        # elsewhere with an attempt spent and the account blamed.
        return failure(FailureKind.TRANSIENT, "PROVIDER_TIMEOUT", f"{type(error).__name__}: {error}")
    return failure(FailureKind.TRANSIENT, "PROVIDER_UNREACHABLE", f"{type(error).__name__}: {error}")


def malformed(message: str) -> ProviderFailure:
    return failure(FailureKind.TRANSIENT, "PROVIDER_MALFORMED_RESPONSE", message)


def json_object(response: httpx.Response) -> Result[dict[str, Any], ProviderFailure]:
    try:
        body = response.json()
    except ValueError:
        return Failure(malformed(f"answer is not JSON: {response.text[:200]!r}"))
    if not isinstance(body, dict):
        return Failure(malformed("answer is not a JSON object"))
    return Success(body)


async def call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
               ) -> Result[httpx.Response, ProviderFailure]:
    """One request whatever its status: only transport errors become failures. For adapters
    that read error bodies themselves (moderation, out-of-credit answers)."""
    try:
        return Success(await client.request(method, url, **kwargs))
    except httpx.HTTPError as error:
        return Failure(transport_failure(error))


def redact(failure: ProviderFailure, secret: str) -> ProviderFailure:
    """The failure without the account secret, should a provider echo it back."""
    if not secret or secret not in failure.message:
        return failure
    return ProviderFailure(kind=failure.kind, code=failure.code, message=failure.message.replace(secret, "***"),
                           retry_after_seconds=failure.retry_after_seconds)


def checked_request(info: ProviderInfo, request: SubmitRequest
                    ) -> Result[tuple[OperationSpec, msgspec.Struct], ProviderFailure]:
    """The request's operation and typed params, or INVALID before anything is sent."""
    spec = info.operation(request.operation_type).value_or(None)
    if spec is None:
        return Failure(failure(FailureKind.INVALID, "UNSUPPORTED_OPERATION",
                               f"{info.id} does not offer {request.operation_type}"))
    try:
        params = msgspec.convert(request.params, spec.params_type)
    except msgspec.ValidationError as error:
        return Failure(failure(FailureKind.INVALID, "INVALID_PARAMS", str(error)))
    counted = check_input_count(spec, len(request.inputs))
    if isinstance(counted, Failure):
        return Failure(failure(FailureKind.INVALID, "INVALID_INPUTS", counted.failure().detail))
    if any(ref.provider_asset_id is None and ref.url is None for ref in request.inputs):
        return Failure(failure(FailureKind.INVALID, "INVALID_INPUTS",
                               "every input needs a provider asset id or a URL"))
    return Success((spec, params))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping (webhook callers pass plain dicts)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def guess_mime(url: str) -> str | None:
    return mimetypes.guess_type(urlsplit(url).path)[0]


async def send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
               ) -> Result[dict[str, Any], ProviderFailure]:
    """One API call: transport errors, error statuses and malformed bodies become typed failures."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as error:
        return Failure(transport_failure(error))
    classified = classify_status(response)
    if classified is not None:
        return Failure(classified)
    if response.status_code == 204 or not response.content:
        return Success({})
    return json_object(response)


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved and documentation
    ranges, in any of their IPv6 spellings (IPv4-mapped, NAT64, 6to4, Teredo)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    return not any(ip in network for network in BLOCKED_NETWORKS if network.version == ip.version)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def ip_literal(host: str) -> str | None:
    """The address a host that is an IP literal stands for, in every spelling the system
    resolver reads as one (`127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`, `[::1]`);
    None for a name."""
    bare = host.strip("[]")
    try:
        return str(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        pass
    if not bare or not all(c in "0123456789abcdefxABCDEFX." for c in bare):
        return None  # inet_aton would also read "1.2.3.4 junk"; names never hold such text
    try:
        return socket.inet_ntoa(socket.inet_aton(bare))
    except OSError:
        return None


async def checked_addresses(host: str, port: int, resolver: Resolver, *,
                            allow_private: bool = False) -> list[str]:
    """Every address `host` stands for, or OutputUnavailable unless all are public."""
    literal = ip_literal(host)
    try:
        addresses = [literal] if literal else await resolver(host, port)
    except (OSError, TimeoutError) as error:
        raise OutputUnavailable(f"cannot resolve {host}: {error or type(error).__name__}") from error
    if not addresses or not (allow_private or all(is_public_address(a) for a in addresses)):
        raise OutputUnavailable(f"refused output host {host}: it resolves to a non-public address")
    return list(dict.fromkeys(addresses))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections to the addresses it has just checked, never to a name: the check and
    the connect see the same DNS answer, so a name that turns private between a check and
    the connect (DNS rebinding) is refused. TLS still verifies, and SNI still names, the
    host of the URL (httpcore starts TLS with the origin's name)."""

    def __init__(self, resolver: Resolver = system_resolver, *, allow_private: bool = False,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await checked_addresses(host, port, self._resolver, allow_private=self._allow_private)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from error
        except OutputUnavailable as refused:
            raise httpcore.ConnectError(str(refused)) from refused
        failure: Exception = httpcore.ConnectError(f"no address of {host} answered")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("output downloads never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on a PinnedBackend (httpx has no option to
    name a network backend, so the pool it built is replaced by an equal one that has)."""

    def __init__(self, resolver: Resolver = system_resolver, *, allow_private: bool = False,
                 limits: httpx.Limits = DOWNLOAD_LIMITS, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(resolver, allow_private=allow_private, inner=inner))


def pinned_client(*, allow_private: bool = False, resolver: Resolver = system_resolver,
                  **kwargs: Any) -> httpx.AsyncClient:
    """A client for output downloads whose connections go only where PinnedBackend checked.
    No proxy from the environment: a proxy would do its own resolving."""
    return httpx.AsyncClient(transport=PinnedTransport(resolver, allow_private=allow_private), trust_env=False,
                             **kwargs)


class SafeDownloader:
    """Streams provider outputs: https only, every address the name resolves to must be
    public (checked before connecting, and again on every redirect), size-capped.
    `allow_private` / `allow_http` exist for local fakes in tests and private deployments.
    Given a `pinned_client`, the connection itself goes to the addresses checked then."""

    def __init__(self, client: httpx.AsyncClient, *, max_bytes: int, allow_private: bool = False,
                 allow_http: bool = False, resolver: Resolver = system_resolver) -> None:
        self._client = client
        self._max_bytes = max_bytes
        self._allow_private = allow_private
        self._allow_http = allow_http
        self._resolver = resolver

    async def check(self, url: str) -> None:
        """Raise OutputUnavailable unless `url` may be fetched."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self._allow_http and parts.scheme == "http"):
            raise OutputUnavailable(f"refused non-https output URL scheme {parts.scheme!r}")
        try:
            host, port = parts.hostname, parts.port
        except ValueError as error:  # a port that is not a number, or out of range
            raise OutputUnavailable(f"refused malformed output URL: {error}") from error
        if not host or parts.username is not None or parts.password is not None:
            raise OutputUnavailable("refused output URL without a plain host")
        if self._allow_private:
            return
        await checked_addresses(host, port or (443 if parts.scheme == "https" else 80), self._resolver)

    async def stream(self, url: str, headers: Mapping[str, str] | None = None) -> AsyncIterator[bytes]:
        """`headers` (e.g. the API key a provider wants on its own download URLs) are sent to the
        origin of `url` only, never to another host it redirects to."""
        origin = None
        for _ in range(MAX_REDIRECTS + 1):
            await self.check(url)  # first: a URL that fails it may not even parse (a bad port)
            origin = origin or _origin(url)
            sent = dict(headers or {}) if _origin(url) == origin else {}
            try:
                async with self._client.stream("GET", url, headers=sent, follow_redirects=False) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise OutputUnavailable(f"output download answered {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > self._max_bytes:
                        raise OutputUnavailable(f"output is larger than {self._max_bytes} bytes")
                    size = 0
                    async for chunk in response.aiter_bytes(CHUNK):
                        size += len(chunk)
                        if size > self._max_bytes:
                            raise OutputUnavailable(f"output is larger than {self._max_bytes} bytes")
                        yield chunk
                    return
            except httpx.HTTPError as error:
                raise OutputUnavailable(f"output download failed: {error}") from error
        raise OutputUnavailable("too many redirects")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port



def created_id(created: Result[dict[str, Any], ProviderFailure], key: str, pattern: re.Pattern[str],
               what: str) -> Result[str, ProviderFailure]:
    """The remote job id out of a "created" answer: present, a string, and well formed."""
    if isinstance(created, Failure):
        return Failure(created.failure())
    remote_id = created.unwrap().get(key)
    if not isinstance(remote_id, str) or not pattern.fullmatch(remote_id):
        return Failure(malformed(f"the {what} has no usable id"))
    return Success(remote_id)

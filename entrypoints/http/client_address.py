"""Who is calling, as an address: the peer of the connection, or, when that peer is one of
the configured proxies (PIXRELAY_TRUSTED_PROXIES), the address the proxies say they serve.

X-Forwarded-For is read from the right: each proxy appends the address it got the request
from, so the rightmost entry not itself a trusted proxy is the client; everything left of
it was written by that client and may be anything. From any other peer the header is
ignored: otherwise rotating it would dodge the login limits and forge the address recorded
on sessions and in the audit log."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from litestar.connection import ASGIConnection

from entrypoints.settings import IPNetwork as Network
from entrypoints.settings import parse_networks

__all__ = ["client_address", "client_of", "parse_networks"]
UNKNOWN = "unknown"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]) -> str:
    """The client's address from the connection's `peer` and its X-Forwarded-For values."""
    peer_address = _address(peer) if peer else None
    if peer_address is None:
        return peer or UNKNOWN
    if not proxies or not _trusted(peer_address, proxies):
        return str(peer_address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage where an address should be: the last good one is the client
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    proxies: Sequence[Network] = connection.app.state.get("trusted_proxies", ())
    peer = connection.client.host if connection.client else None
    return client_address(peer, connection.headers.getall("x-forwarded-for", []), proxies)

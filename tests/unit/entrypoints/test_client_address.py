"""X-Forwarded-For counts only when the connection comes from a configured proxy."""

from __future__ import annotations

import pytest

from entrypoints.http.client_address import client_address, parse_networks
from entrypoints.settings import SettingsError, load_settings

PROXIES = parse_networks("10.0.0.0/8, 192.0.2.1, ::1")


@pytest.mark.parametrize(("peer", "forwarded", "proxies", "client"), [
    ("127.0.0.1", ["6.6.6.6"], [], "127.0.0.1"),  # the default: no proxy is trusted, not even loopback
    ("203.0.113.5", ["6.6.6.6"], PROXIES, "203.0.113.5"),  # not from a proxy: ignored
    ("192.0.2.1", ["198.51.100.7"], PROXIES, "198.51.100.7"),
    ("192.0.2.1", ["6.6.6.6, 198.51.100.7"], PROXIES, "198.51.100.7"),  # the left part is the client's own
    ("192.0.2.1", ["6.6.6.6, 198.51.100.7, 10.1.2.3"], PROXIES, "198.51.100.7"),  # through two proxies
    ("192.0.2.1", ["6.6.6.6", "198.51.100.7, 10.1.2.3"], PROXIES, "198.51.100.7"),  # header given twice
    ("192.0.2.1", ["10.9.9.9, 10.1.2.3"], PROXIES, "10.9.9.9"),  # every hop a proxy: the farthest
    ("192.0.2.1", ["not-an-ip, 10.1.2.3"], PROXIES, "10.1.2.3"),
    ("192.0.2.1", [], PROXIES, "192.0.2.1"),
    ("192.0.2.1", ["198.51.100.7:4711"], PROXIES, "198.51.100.7"),
    ("::1", ["[2001:db8::5]:443"], PROXIES, "2001:db8::5"),
    ("::ffff:192.0.2.1", ["198.51.100.7"], PROXIES, "198.51.100.7"),
    ("testclient", ["198.51.100.7"], PROXIES, "testclient"),
    (None, ["198.51.100.7"], PROXIES, "unknown"),
])
def test_the_client_address(peer: str | None, forwarded: list[str], proxies: list[object], client: str) -> None:
    assert client_address(peer, forwarded, proxies) == client  # type: ignore[arg-type]


def test_the_trusted_proxies_setting() -> None:
    assert load_settings({}, dotenv=None).trusted_proxies == ""
    settings = load_settings({"PIXRELAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"}, dotenv=None)
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.0/8", "192.0.2.1/32"]
    with pytest.raises(SettingsError, match=r"PIXRELAY_TRUSTED_PROXIES.*nonsense"):
        load_settings({"PIXRELAY_TRUSTED_PROXIES": "10.0.0.1, nonsense"}, dotenv=None)

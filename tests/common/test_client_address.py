"""The client's address: X-Forwarded-For is believed only from a trusted proxy, read from the right."""
import pytest
from django.test import RequestFactory

from common.client_address import client_address


def _address(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXIES = []
    assert _address("203.0.113.7", "198.51.100.1") == "203.0.113.7"


@pytest.mark.parametrize(("remote", "forwarded", "client"), [
    ("10.0.0.2", "198.51.100.20", "198.51.100.20"),  # one proxy
    ("10.0.0.2", "198.51.100.20, 10.0.0.9", "198.51.100.20"),  # two proxies: skip the trusted hops
    ("10.0.0.2", "1.2.3.4, 198.51.100.20", "198.51.100.20"),  # a client-written left hop is not believed
    ("10.0.0.2", "10.0.0.7, 10.0.0.9", "10.0.0.7"),  # a client inside the proxies' network
    ("10.0.0.2", "", "10.0.0.2"),  # the proxy itself (a health check)
    ("10.0.0.2", "1.2.3.4, not-an-address", "10.0.0.2"),  # unreadable: the proxy's own address
    ("2001:db8::1", "2001:0db8:0:0:0:0:0:0abc", "2001:db8::abc"),  # canonical form: one key per client
    ("203.0.113.7", "198.51.100.20", "203.0.113.7"),  # not from a trusted proxy: the header is the client's
])
def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client(  # type: ignore[no-untyped-def]
    settings, remote: str, forwarded: str, client: str
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::1"]
    assert _address(remote, forwarded) == client

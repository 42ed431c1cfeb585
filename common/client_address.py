"""The client's address, the one every throttle and the audit log key on.

``REMOTE_ADDR`` is the peer that opened the connection. Behind a reverse proxy that peer is the
proxy, so every client would share one address (and one lockout). ``TRUSTED_PROXIES`` lists the
proxies' addresses or networks: only when the peer is one of them is ``X-Forwarded-For`` read,
from the right, skipping further trusted proxies, and the first hop that is not one of them is
the client. Hops further left were written by the client itself and are never believed. When
every hop is a trusted proxy (a client inside the proxies' network) the left-most is the client;
a hop that is not an IP address stops the walk at the last address a trusted proxy reported.
"""
import ipaddress
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    peer = _ip(remote)
    if peer is None or not any(peer in network for network in networks):
        return remote
    address = str(peer)
    for hop in reversed(str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")):
        ip = _ip(hop)
        if ip is None:
            break  # unreadable: keep the last address a trusted proxy vouched for
        address = str(ip)
        if not any(ip in network for network in networks):
            break  # the first hop that is not a trusted proxy: the client
    return address

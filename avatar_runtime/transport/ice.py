"""ICE servers for WebRTC: STUN and TURN from settings, with time-limited TURN credentials.

TURN credentials follow the TURN REST scheme that coturn's ``use-auth-secret`` checks: the
username is ``<unix expiry>:<peer>`` and the password is base64(HMAC-SHA1(secret, username)). The
secret stays on the servers; each kiosk page and each worker gets a credential that names it and
stops working at its expiry, so a credential read out of a kiosk's browser is worth little.

Both ends of a call use the same servers: the page receives them over its authenticated WebSocket
(``kiosk.consumers``), the worker's aiortc peer builds its ``RTCConfiguration`` from them.
"""
import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str = ""
    credential: str = ""

    def for_browser(self) -> dict[str, Any]:
        """As the page's ``RTCPeerConnection`` takes it (``RTCIceServer`` in the WebRTC spec)."""
        server: dict[str, Any] = {"urls": list(self.urls)}
        if self.username:
            server["username"] = self.username
            server["credential"] = self.credential
        return server


def turn_rest_credentials(*, secret: str, peer: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    """(username, password) valid for ``ttl`` seconds from ``now`` for a TURN server sharing ``secret``."""
    expiry = int(time.time() if now is None else now) + ttl
    username = f"{expiry}:{peer}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass(frozen=True)
class IceConfig:
    """Which servers a call may use. Empty: host candidates only (kiosk and worker on one network)."""

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    turn_ttl: int = 86400
    relay_only: bool = False  # gather and use TURN relay candidates only (policy "relay")

    def servers_for(self, peer: str, now: float | None = None) -> list[IceServer]:
        """The servers for one peer (``kiosk-12``, ``worker-gpu1-ab12``), with fresh TURN credentials."""
        servers = []
        if self.stun_urls:
            servers.append(IceServer(self.stun_urls))
        if self.turn_urls:
            username, password = turn_rest_credentials(secret=self.turn_secret, peer=peer, ttl=self.turn_ttl, now=now)
            servers.append(IceServer(self.turn_urls, username, password))
        return servers

    def for_browser(self, peer: str) -> dict[str, Any]:
        """What the kiosk page passes to ``new RTCPeerConnection(...)``."""
        return {
            "iceServers": [server.for_browser() for server in self.servers_for(peer)],
            "iceTransportPolicy": "relay" if self.relay_only else "all",
        }

    def rtc_configuration(self, peer: str) -> RTCConfiguration:
        """The worker's aiortc configuration (aiortc uses the first STUN and the first TURN URL)."""
        servers = [RTCIceServer(urls=list(server.urls), username=server.username or None,
                                credential=server.credential or None)
                   for server in self.servers_for(peer)]
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


HOST_CANDIDATES_ONLY = IceConfig()


def ice_config_from_settings() -> IceConfig:
    from django.conf import settings

    return IceConfig(stun_urls=tuple(settings.ICE_STUN_URLS), turn_urls=tuple(settings.ICE_TURN_URLS),
                     turn_secret=settings.TURN_SECRET, turn_ttl=settings.TURN_CREDENTIAL_TTL,
                     relay_only=settings.ICE_RELAY_ONLY)

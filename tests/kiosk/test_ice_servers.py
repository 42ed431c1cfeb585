"""The kiosk page gets its STUN/TURN servers over its authenticated WebSocket, with a TURN credential
that names the kiosk and expires; the page itself never carries one."""
import base64
import hashlib
import hmac
import time

import pytest
from django.test import Client

from kiosk.pairing import TOKEN_COOKIE
from tests.kiosk.test_consumer import communicator, paired_kiosk, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]
SECRET = "shared-with-coturn"


@pytest.fixture(autouse=True)
def no_embedded_worker(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AVATAR_EMBEDDED_WORKER = False


@pytest.fixture
def turn(settings):  # type: ignore[no-untyped-def]
    settings.ICE_STUN_URLS = ["stun:turn.example.com:3478"]
    settings.ICE_TURN_URLS = ["turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=tcp"]
    settings.TURN_SECRET = SECRET
    settings.TURN_CREDENTIAL_TTL = 3600
    settings.ICE_RELAY_ONLY = True
    return settings


async def test_a_paired_kiosk_gets_a_turn_credential_that_names_it_and_expires(turn) -> None:  # type: ignore[no-untyped-def]
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    await comm.connect()
    await comm.send_json_to({"type": "ice_servers"})
    reply = await receive_until(comm, "ice_servers")
    await comm.disconnect()
    assert reply["iceTransportPolicy"] == "relay"
    stun, relay = reply["iceServers"]  # type: ignore[misc]
    assert stun == {"urls": ["stun:turn.example.com:3478"]}
    assert relay["urls"] == turn.ICE_TURN_URLS
    expiry, peer = relay["username"].split(":")
    assert peer == f"kiosk-{kiosk.pk}"
    assert abs(int(expiry) - (time.time() + 3600)) < 30
    expected = base64.b64encode(hmac.new(SECRET.encode(), relay["username"].encode(), hashlib.sha1).digest()).decode()
    assert relay["credential"] == expected


async def test_without_ice_settings_the_page_uses_host_candidates_only() -> None:
    _kiosk, token = await paired_kiosk()
    comm = communicator(token)
    await comm.connect()
    await comm.send_json_to({"type": "ice_servers"})
    reply = await receive_until(comm, "ice_servers")
    await comm.disconnect()
    assert reply["iceServers"] == [] and reply["iceTransportPolicy"] == "all"


def test_the_kiosk_page_carries_no_turn_server_or_secret(turn) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import async_to_sync

    _kiosk, token = async_to_sync(paired_kiosk)()
    client = Client()
    client.cookies[TOKEN_COOKIE] = token
    page = client.get("/").content.decode()
    assert 'id="avatar-video"' in page  # the paired kiosk's page, not the pairing screen
    assert SECRET not in page and "turn:" not in page

"""Fuzzing the kiosk WebSocket (the real consumer): every bad message gets a coded error, none a crash.

Hypothesis generates sequences of malformed JSON, wrong types, unknown and out-of-order message
types, binary garbage and oversized frames; after each sequence the socket must still answer a
ping, and every error it sent must carry a ``code`` and a human ``message``.
"""
import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.asgi import application
from kiosk.models import Kiosk, Venue
from kiosk.pairing import TOKEN_COOKIE, kiosk_pair, kiosk_pairing_code_create

pytestmark = [pytest.mark.django_db(transaction=True)]
TYPES = ["text", "language", "handoff", "rtc_offer", "media", "ping", "session", "audio", "", "TEXT", "error"]
KNOWN_CODES = {"bad_json", "bad_message", "unknown_type", "bad_text", "bad_language", "bad_sdp", "message_too_large",
               "bad_audio", "no_worker"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
objects = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | st.text(max_size=60) | json_values},
    optional={"text": json_values, "language": json_values, "sdp": json_values, "mode": json_values},
).map(json.dumps)
text_frames = st.one_of(
    objects,
    st.text(min_size=1, max_size=300),  # mostly not JSON at all
    json_values.map(json.dumps),  # JSON, but not an object with a string type
    st.just("{" * 5000),  # deeply unbalanced
    st.just(json.dumps({"type": "text", "text": "x" * 100_000})),  # a 100 KB text message
    st.just(json.dumps({"type": "media", "mode": "ws"})),  # out of order: no session yet
    st.just(json.dumps({"type": "rtc_offer", "sdp": "v=0\r\n" + "a=x\r\n" * 20})),
)
binary_frames = st.one_of(st.binary(min_size=1, max_size=2000), st.binary(min_size=32001, max_size=40000),
                          st.just(b"\x00" * 32002), st.just(b"\x01"))
frames = st.lists(st.one_of(text_frames.map(lambda t: ("text", t)), binary_frames.map(lambda b: ("bytes", b))),
                  min_size=1, max_size=8)


@pytest.fixture
def token(settings) -> str:  # type: ignore[no-untyped-def]
    settings.AVATAR_EMBEDDED_WORKER = False
    kiosk = Kiosk.objects.create(name="Fuzzed", venue=Venue.objects.create(name="V"))
    return kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5)))[1]


async def _exchange(token: str, sequence: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    comm = WebsocketCommunicator(application, "/ws/kiosk/", headers=[
        (b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"{TOKEN_COOKIE}={token}".encode())])
    connected, _ = await comm.connect(timeout=30)
    assert connected
    for kind, payload in sequence:
        await (comm.send_to(text_data=payload) if kind == "text" else comm.send_to(bytes_data=payload))
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    received = []
    while True:
        output = await comm.receive_output(timeout=30)
        assert output["type"] == "websocket.send", f"the consumer closed the socket: {output}"
        message = json.loads(output["text"])
        received.append(message)
        if message.get("type") == "pong":
            break
    await comm.disconnect()
    return received


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=frames)
def test_any_message_sequence_gets_coded_errors_and_the_socket_keeps_answering(
    token: str, sequence: list[tuple[str, Any]]
) -> None:
    received = async_to_sync(_exchange)(token, sequence)
    assert received[-1] == {"type": "pong"}
    for message in received:
        if message.get("type") == "error":
            assert message["code"] in KNOWN_CODES and isinstance(message["message"], str) and message["message"]


@pytest.mark.parametrize(("payload", "code"), [
    (json.dumps({"type": "text", "text": "x" * 100_000}), "message_too_large"),  # 100 KB
    (json.dumps({"type": "text", "text": "x" * 60_000}), "bad_text"),  # under the frame cap, over the text cap
    ("[" * 5000 + "]" * 5000, "bad_json"),  # valid JSON nested past the decoder's stack: refused, not a crash
    ("\ud800", "bad_json"),
])
def test_large_and_pathological_text_frames(token: str, payload: str, code: str) -> None:
    received = async_to_sync(_exchange)(token, [("text", payload)])
    assert code in [m.get("code") for m in received]
    assert received[-1] == {"type": "pong"}


@pytest.mark.parametrize("size", [1, 3, 32001, 32002, 1_000_000])
def test_oversized_or_odd_audio_frames(token: str, size: int) -> None:
    received = async_to_sync(_exchange)(token, [("bytes", b"\x7f" * size)])
    assert "bad_audio" in [m.get("code") for m in received]

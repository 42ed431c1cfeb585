"""The kiosk over real WebSockets: daphne serving the real consumer, a real avatar worker (the embedded
backends) in daphne's event loop, the test database; clients that misbehave in every way they can.

Daphne runs in a thread of this process, so the test can look inside the worker and the server once
the clients are gone. Twisted's reactor runs once per process: one server for this module.
"""
import asyncio
import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from avatar_runtime.worker.server import AvatarWorker
from config.asgi import application
from conversations.models import Conversation
from kiosk.pairing import TOKEN_COOKIE
from tests.kiosk.live_worker import astronaut_media, kiosk_with_avatar, start_worker, stop_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.timeout(900)]
T = TypeVar("T")
CAPACITY = 3
SOAK_SECONDS = 40.0
CLIENTS = 6  # at once, each opening connection after connection
ORIGIN = "http://127.0.0.1:8000"
KNOWN_ERRORS = {"bad_json", "bad_message", "unknown_type", "bad_text", "bad_language", "bad_sdp", "message_too_large",
                "bad_audio", "no_worker", "replaced"}
OWNED_TASKS = ("kiosk ", "session ", "runner ")  # TaskOwner prefixes of a connection's and a session's tasks


@dataclass
class LiveServer:
    url: str
    server: Any  # daphne.server.Server
    loop: asyncio.AbstractEventLoop
    worker: AvatarWorker
    worker_task: "asyncio.Task[None]"

    def call(self, make: Callable[[], Any], timeout: float = 60) -> Any:
        """Run a coroutine in the server's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout)

    def owned_tasks(self) -> list[str]:
        async def names() -> list[str]:
            return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith(OWNED_TASKS))
        return list(self.call(names))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return astronaut_media(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def worker_in_the_server(settings: Any, media: Path) -> None:
    settings.AVATAR_EMBEDDED_WORKER = False  # the server's worker is the module's, found through the registry
    settings.MEDIA_ROOT = media


@pytest.fixture(scope="module")
def live(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    from daphne.server import Server
    from twisted.internet import reactor

    server = Server(application=application, endpoints=["tcp:port=0:interface=127.0.0.1"], signal_handlers=False,
                    websocket_timeout=-1)
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.listening_addresses:
        assert time.monotonic() < deadline, "daphne did not start"
        time.sleep(0.05)
    _host, port = server.listening_addresses[0]
    loop = reactor._asyncioEventloop
    with django_db_blocker.unblock():  # the worker's warm-up reads the voices and the knowledge base
        worker, task = asyncio.run_coroutine_threadsafe(start_worker(CAPACITY), loop).result(600)
    live = LiveServer(f"http://127.0.0.1:{port}", server, loop, worker, task)
    try:
        yield live
    finally:
        with django_db_blocker.unblock():
            live.call(lambda: stop_worker(task))
        reactor.callFromThread(server.stop)  # stops the reactor
        thread.join(30)


@contextlib.asynccontextmanager
async def screen(live: LiveServer, token: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    headers = {"Origin": ORIGIN, "Cookie": f"{TOKEN_COOKIE}={token}"}
    async with aiohttp.ClientSession(headers=headers) as http, http.ws_connect(f"{live.url}/ws/kiosk/",
                                                                                max_msg_size=0) as ws:
        yield ws


async def next_json(ws: aiohttp.ClientWebSocketResponse, kinds: set[str], timeout: float) -> dict[str, Any]:
    """The next message whose type is in ``kinds``; ``{"type": "close", "code": ...}`` when the socket closes."""
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        if message.type == aiohttp.WSMsgType.TEXT:
            event = json.loads(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            continue
        else:
            event = {"type": "close", "code": ws.close_code}
        if event["type"] in kinds:
            return dict(event)
        if event["type"] == "close":
            raise AssertionError(f"the socket closed ({ws.close_code}) before any of {kinds}")


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(0.2)


def test_text_that_cannot_be_echoed_is_refused_and_the_session_lives_on(
        live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """A lone surrogate is valid JSON ("\\ud800") but cannot go back out as UTF-8: echoed as a caption it
    crashed the connection (1011) and leaked its worker session, whose transcript retried for ever."""
    _kiosk, token = kiosk_with_avatar("Surrogates")

    async def scenario() -> None:
        async with screen(live, token) as ws:
            assert (await next_json(ws, {"session"}, 120))["state"] == "ready"
            for text in ("hello\ud800", "\udfffwhere is the toilet?", "where is\x00 the toilet?", "bell\x07"):
                await ws.send_str(json.dumps({"type": "text", "text": text}))  # escaped: valid UTF-8 on the wire
                assert (await next_json(ws, {"error"}, 30))["code"] == "bad_text"
            await ws.send_str(json.dumps({"type": "ping"}))
            assert (await next_json(ws, {"pong"}, 30))["type"] == "pong"  # the socket is still open
            assert len(live.worker.runners) == 1

    asyncio.run(scenario())
    until(lambda: not live.worker.runners, 30, "the session closed with its connection")
    assert "retrying" not in caplog.text and "Exception inside application" not in caplog.text


def test_an_unpaired_screen_is_closed_with_4401_not_refused_at_the_handshake(live: LiveServer) -> None:
    """A refused handshake reaches a browser as 1006, like a network failure: the page would show
    "reconnecting" for ever instead of its pairing screen."""
    async def scenario() -> int | None:
        async with screen(live, "not-a-token") as ws:
            assert (await next_json(ws, {"error"}, 30))["code"] == "device_unpaired"
            return int((await next_json(ws, {"close"}, 30))["code"])

    assert asyncio.run(scenario()) == 4401


# ----- the soak ------------------------------------------------------------------------------
QUESTIONS = ["Where are the toilets?", "Is there free wifi?", "你好，洗手间在哪里？", "What time do you close?"]


def _bad_frames(rng: random.Random) -> list[tuple[str, Any]]:
    """What a broken or hostile client sends: text the kiosk must refuse, garbage, oversized frames."""
    text = rng.choice(QUESTIONS)
    return rng.choice([
        [("text", json.dumps({"type": "text", "text": text + "\ud800"}))],
        [("text", json.dumps({"type": "text", "text": "\x00" + text}))],
        [("text", json.dumps({"type": "text", "text": text + "\x1b[2J"}))],
        [("text", "{" * rng.randint(1, 5000))],
        [("text", json.dumps({"type": "text", "text": "x" * 100_000}))],
        [("text", json.dumps({"type": rng.choice(["launch", "", "TEXT", 5])}))],
        [("text", json.dumps({"type": "language", "language": "\ud800"}))],
        [("bytes", rng.randbytes(rng.choice([1, 3, 999, 32001, 200_000])))],
    ])


def _frames(rng: random.Random) -> list[tuple[str, Any]]:
    kind = rng.random()
    if kind < 0.25:
        return [("text", json.dumps({"type": "text", "text": rng.choice(QUESTIONS)}))]
    if kind < 0.35:  # a flood: as fast as the socket takes it
        return [rng.choice([("text", json.dumps({"type": "ping"})), *_bad_frames(rng)]) for _ in range(50)]
    if kind < 0.45:
        return [("bytes", rng.randbytes(3200))]  # 100 ms of (noise as) microphone audio
    if kind < 0.5:
        return [("text", json.dumps({"type": "media", "mode": rng.choice(["ws", "webrtc"])}))]
    if kind < 0.55:
        return [("text", json.dumps({"type": "language", "language": rng.choice(["en", "zh"])}))]
    return _bad_frames(rng)


@dataclass
class Seen:
    errors: set[str] = field(default_factory=set)
    closes: list[int | None] = field(default_factory=list)
    sessions: int = 0
    dropped_mid_answer: int = 0


async def _one_connection(live: LiveServer, token: str, rng: random.Random, seen: Seen) -> None:
    async with screen(live, token) as ws:
        speaking = asyncio.Event()

        async def read() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    event = json.loads(message.data)
                    if event["type"] == "error":
                        seen.errors.add(event["code"])
                    elif event["type"] == "session":
                        seen.sessions += 1
                    elif event["type"] == "state" and event["state"] == "speaking":
                        speaking.set()
            seen.closes.append(ws.close_code)

        reader = asyncio.create_task(read())
        try:
            for _ in range(rng.randint(1, 12)):
                for kind, payload in _frames(rng):
                    if ws.closed:
                        return
                    await (ws.send_str(payload) if kind == "text" else ws.send_bytes(payload))
                await asyncio.sleep(rng.uniform(0, 1.5))
            ending = rng.random()
            if ending < 0.4:  # mid-answer: ask, and go as the avatar starts speaking
                await ws.send_str(json.dumps({"type": "text", "text": rng.choice(QUESTIONS)}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(speaking.wait(), 20)
                    seen.dropped_mid_answer += 1
            if ending < 0.8:  # the network goes: no close frame, the socket just dies
                sock = ws.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def _client(live: LiveServer, tokens: list[str], seed: int, until_time: float, seen: Seen) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until_time:
        with contextlib.suppress(aiohttp.ClientError, ConnectionError, TimeoutError):
            await _one_connection(live, rng.choice(tokens), rng, seen)


def test_soak_many_misbehaving_clients_leave_every_slot_free_and_nothing_retrying(
        live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    tokens = [kiosk_with_avatar(f"Soak {n}")[1] for n in range(5)]  # more kiosks than slots; clients share them
    seen = Seen()

    async def soak() -> None:
        until_time = time.monotonic() + SOAK_SECONDS
        await asyncio.gather(*(_client(live, tokens, seed, until_time, seen) for seed in range(CLIENTS)))

    asyncio.run(soak())
    assert seen.sessions >= 5 and seen.dropped_mid_answer >= 1, seen  # it did talk, and was cut off mid-answer
    assert seen.errors <= KNOWN_ERRORS, seen.errors
    assert {"bad_text", "bad_json", "bad_audio", "message_too_large"} <= seen.errors
    assert set(seen.closes) <= {None, 1000, 4409}, seen.closes  # never 1011 (a crash) nor 4401

    # Every connection is gone, and everything it held with it.
    until(lambda: not live.worker.runners, 60, f"every worker slot free (held: {list(live.worker.runners)})")
    until(lambda: not live.server.connections, 30, "every connection's handler finished")
    # A slot is free as its session's close begins; its tasks end a moment later (each within 2 s).
    deadline = time.monotonic() + 15
    while (lingering := live.owned_tasks()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lingering == [], f"tasks of connections and sessions that are gone: {lingering}"
    quiet_from = len(caplog.records)
    time.sleep(6.0)  # longer than the transcript writer's longest backoff
    assert not [r for r in caplog.records[quiet_from:] if "retrying" in r.getMessage()]
    # A connection whose client has just vanished can fail its last send (the consumer ends there and
    # still lets go of its session): that race is the one exception allowed, never a crash on input.
    crashes = {r.getMessage() for r in caplog.records if "Exception inside application" in r.getMessage()}
    assert crashes <= {"Exception inside application: Attempt to send on a closed protocol"}, crashes
    assert not Conversation.objects.filter(status=Conversation.Status.ACTIVE).exists()

    async def afterwards() -> list[str]:
        async with aiohttp.ClientSession() as http, http.get(f"{live.url}/api/health/") as health:
            assert health.status == 200
        fresh = [kiosk_token for _kiosk, kiosk_token in [await asyncio.to_thread(kiosk_with_avatar, f"Fresh {n}")
                                                         for n in range(CAPACITY)]]

        async def first(token: str) -> str:
            async with screen(live, token) as ws:
                event = await next_json(ws, {"session", "error"}, 60)
                return str(event["type"]) if event["type"] == "session" else f"error {event['code']}: {event['message']}"

        return list(await asyncio.gather(*(first(token) for token in fresh)))

    assert asyncio.run(afterwards()) == ["session"] * CAPACITY  # every slot, at once: no "no_worker"
    until(lambda: not live.worker.runners, 30, "the fresh kiosks' sessions closed")

"""A real kiosk server (daphne, embedded worker, SQLite in a temp folder) for browser tests."""
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    pairing_code: str
    passwords: dict[str, str]

    def manage(self, *args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def kiosk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test.sh installs it)")
    var = tmp_path_factory.mktemp("kiosk-var")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"KIOSK_VAR_DIR": str(var), "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "var" / "models")),
                "AVATAR_RTC_LOOPBACK": "1", "DJANGO_SETTINGS_MODULE": "config.settings",
                "KIOSK_STAFF_PASSWORD": "staff-browser-pass-1", "KIOSK_SUPERVISOR_PASSWORD": "super-browser-pass-1",
                "KIOSK_ADMIN_PASSWORD": "admin-browser-pass-1"})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    demo = subprocess.run([sys.executable, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout
    code = re.search(r"code=(\d+)", demo)
    assert code, demo
    log = open(var / "daphne.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                               "config.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    try:
        yield LiveServer(url, env, code.group(1), {"staff": "staff-browser-pass-1",
                                                     "supervisor": "super-browser-pass-1"})
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "daphne.log").write_text((var / "daphne.log").read_text())


@pytest.fixture(scope="session")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of silence (the page connects and the worker loads its models), then the question."""
    import numpy as np

    from avatar_runtime.audio import resample
    from tests.speech_samples import speak

    audio, rate = speak("Where can I find a toilet?", "en")
    audio48 = resample(audio, rate, 48000)
    silence = np.zeros(48000 * 8, np.float32)
    path = tmp_path_factory.mktemp("audio") / "question.wav"
    sf.write(path, np.concatenate([silence, audio48, silence]), 48000, subtype="PCM_16")
    return path


def chromium_args(wav: Path | None) -> list[str]:
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required",
            "--allow-loopback-in-peer-connection", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--disable-features=WebRtcHideLocalIpsWithMdns"]
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav}%noloop")
    return args

"""A real coturn (Debian's ``coturn`` package) on loopback, checking credentials the way production
does (``use-auth-secret``): TURN REST usernames and HMAC passwords made from a shared secret."""
import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SECRET = "coturn-test-secret"
READY_TIMEOUT = 10.0


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers_stun(port: int) -> bool:
    """Whether a STUN Binding request to the port gets an answer (the server is listening)."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(request, ("127.0.0.1", port))
        try:
            answer = probe.recv(2048)
        except OSError:  # timed out, or refused while nothing listens yet
            return False
    return answer[8:20] == request[8:20]


@contextlib.contextmanager
def running_coturn(workdir: Path) -> Iterator[int]:
    """Starts ``turnserver`` on 127.0.0.1 and yields its port once it listens; stops it after."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("turnserver is missing: install the Debian package coturn (scripts/setup.sh --dev does)")
    port = _free_udp_port()
    log = workdir / "turnserver.log"
    command = [
        binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        "--min-port=49160", "--max-port=49400", "--use-auth-secret", f"--static-auth-secret={SECRET}",
        "--realm=kiosk.test", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp-relay",
        # Both ends' relays are on this host: each relays to the other's relay address.
        "--allow-loopback-peers",
        f"--pidfile={workdir / 'turnserver.pid'}", f"--userdb={workdir / 'turndb'}",
        f"--log-file={log}", "--simple-log",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not _answers_stun(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"turnserver did not start (exit {process.poll()}): "
                            f"{log.read_text(errors='replace')[-2000:] if log.exists() else ''}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

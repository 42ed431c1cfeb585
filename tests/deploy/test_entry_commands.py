"""The container images' commands, run outside a container (no image can be built where CI runs:
no registry to pull a base image from): each target's ``CMD`` in deploy/Containerfile and each
compose service's ``command`` must start here with the environment the image sets."""
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "deploy" / "Containerfile").read_text()


def image_commands() -> dict[str, list[str]]:
    """The ``CMD`` of each build target."""
    commands, target = {}, ""
    for line in CONTAINERFILE.splitlines():
        if match := re.match(r"FROM \S+ AS (\w+)", line):
            target = match.group(1)
        elif line.startswith("CMD "):
            commands[target] = json.loads(line.removeprefix("CMD "))
    return commands


def image_env(tmp: Path) -> dict[str, str]:
    """The image's ENV, with its folders moved under ``tmp`` and the executables of this venv."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    block = CONTAINERFILE[CONTAINERFILE.index("ENV PYTHONDONTWRITEBYTECODE"):].split("\n# ")[0]
    for key, value in re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")):
        env[key] = value
    env.update(KIOSK_VAR_DIR=str(tmp), DJANGO_MEDIA_ROOT=str(tmp / "media"), DJANGO_STATIC_ROOT=str(tmp / "static"),
               MODELS_DIR=os.environ.get("MODELS_DIR", str(ROOT / "var" / "models")))
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_every_target_has_a_command_and_the_compose_services_use_them() -> None:
    assert set(image_commands()) == {"web", "worker"}
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert {"db", "redis", "coturn", "migrate", "web", "jobs", "worker"} <= set(compose["services"])
    assert "USER kiosk" in CONTAINERFILE  # never root at run time


@pytest.mark.slow
def test_the_web_images_command_serves_its_health_check(tmp_path: Path) -> None:
    command = image_commands()["web"]
    port = free_port()
    command[command.index("-p") + 1] = str(port)
    command[command.index("-b") + 1] = "127.0.0.1"
    health = re.search(r"curl -fsS (\S+)", CONTAINERFILE)
    assert health is not None
    url = health.group(1).replace(":8000", f":{port}")
    server = subprocess.Popen(command, cwd=ROOT, env=image_env(tmp_path), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - http on loopback, built above
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "daphne did not answer its health check"
                time.sleep(0.3)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:  # daphne waits for open connections to close
            server.kill()
            server.wait()


@pytest.mark.slow
@pytest.mark.parametrize("which", ["worker", "jobs", "migrate"])
def test_the_other_commands_start_with_the_images_environment(tmp_path: Path, which: str) -> None:
    """The worker needs Redis and minutes of model loading, Celery a broker: their commands are
    checked as far as they go without them (the program, its settings and its arguments)."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    if which == "worker":
        commands = [[*image_commands()["worker"], "--help"]]
    elif which == "jobs":
        commands = [[*compose["jobs"]["command"], "--help"]]
    else:  # "migrate && provision_models": both steps, as a plan and a list (no database to fill here)
        script = compose["migrate"]["command"][-1]
        steps = [shlex.split(step) for step in script.split("&&")]
        assert [step[:3] for step in steps] == [["python", "manage.py", "migrate"], ["python", "manage.py", "provision_models"]]
        commands = [[*steps[0], "--plan"], [*steps[1], "--list"]]
    env = image_env(tmp_path)
    for command in commands:
        assert shutil.which(command[0], path=env["PATH"]) is not None
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]

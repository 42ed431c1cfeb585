"""A small Qwen GGUF served by llama.cpp (xllamacpp), OpenAI-compatible, for development and tests.

The server runs in a child process (``python -m avatar_runtime.llm.local_server``):
``xllamacpp.Server`` loads the model and starts llama.cpp's native HTTP server on its own
threads, and its destructor can wait forever for requests that a client abandoned mid-answer
(a turn that missed its deadline). Ending a child process always works; the child also exits
when its parent goes away (its stdin closes). Port 0 lets the OS pick a free port, which the
child reports on its first stdout line. The model comes from ``MODELS_DIR/qwen``
(``python manage.py provision_models qwen2.5-0.5b-gguf``); nothing is ever downloaded (``offline``).
"""
import argparse
import json
import logging
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from avatar_runtime.errors import ModelMissingError, ProviderError
from common.priority import INFERENCE_NICE, run_this_thread_at

logger = logging.getLogger(__name__)

PROVIDER = "llama.cpp"
GGUF_PATH = Path("qwen") / "qwen2.5-0.5b-instruct-q4.gguf"  # relative to MODELS_DIR (catalog: qwen2.5-0.5b-gguf)
MODEL_ALIAS = "qwen2.5-0.5b-instruct"
STOP_GRACE_S = 5.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the child imports this module from here


def default_model_path(models_dir: Path) -> Path:
    return models_dir / GGUF_PATH


@dataclass(frozen=True)
class LocalServerConfig:
    model_path: Path
    n_threads: int = 2
    n_ctx: int = 2048
    n_parallel: int = 1
    host: str = "127.0.0.1"
    startup_timeout: float = 60.0
    verbosity: int = 0  # llama.cpp log threshold: 0 keeps it to warnings and errors


class LocalLlamaServer:
    """Start with :meth:`start` (or ``with``); :attr:`base_url` is the OpenAI base URL (``.../v1``)."""

    def __init__(self, config: LocalServerConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[str] | None = None
        self._address = ""

    @property
    def pid(self) -> int | None:
        """The server's process, while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def base_url(self) -> str:
        if not self._address:
            raise RuntimeError("the local llama.cpp server is not running")
        return f"{self._address}/v1"

    @property
    def address(self) -> str:
        return self._address

    def start(self) -> str:
        """Load the model, serve it, wait until ``/health`` says ok; returns :attr:`base_url`."""
        if self._process is not None:
            return self.base_url
        path = self.config.model_path
        if not path.is_file():
            raise ModelMissingError(
                PROVIDER, f"{path} is missing (run: python manage.py provision_models qwen2.5-0.5b-gguf)"
            )
        command = [sys.executable, "-m", __name__, json.dumps({**asdict(self.config), "model_path": str(path)})]
        started = time.monotonic()
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
        )
        report = self._read_report(started + self.config.startup_timeout)
        if "error" in report:
            self.stop()
            raise ProviderError(PROVIDER, f"could not serve {path.name}: {report['error']}", retryable=False)
        self._address = report["address"]
        self._wait_healthy(started + self.config.startup_timeout)
        logger.info("local llama.cpp server on %s (%.1f s to start)", self._address, time.monotonic() - started)
        return self.base_url

    def _read_report(self, deadline: float) -> dict[str, str]:
        """The child's first stdout line: ``{"address": ...}`` once serving, or ``{"error": ...}``."""
        assert self._process is not None and self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = self._process.stdout.readline() if ready else ""
        if not line:
            code = self._process.poll()
            self.stop()
            if code is None:
                raise ProviderError(PROVIDER, f"not serving within {self.config.startup_timeout:.0f} s", retryable=True)
            return {"error": f"the server process exited with status {code}"}
        report: dict[str, str] = json.loads(line)
        return report

    def _wait_healthy(self, deadline: float) -> None:
        url = f"{self._address}/health"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback server
                    if json.loads(response.read()).get("status") == "ok":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass  # still loading
            if time.monotonic() > deadline:
                self.stop()
                raise ProviderError(PROVIDER, f"not healthy within {self.config.startup_timeout:.0f} s", retryable=True)
            time.sleep(0.2)

    def stop(self) -> None:
        """End the server process: closing its stdin asks it to exit; it is killed if it does not."""
        process, self._process, self._address = self._process, None, ""
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> "LocalLlamaServer":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _serve(config: dict[str, object]) -> None:
    """Child process: serve until stdin closes, then leave without running llama.cpp's destructors."""
    run_this_thread_at(INFERENCE_NICE)  # llama.cpp's threads inherit it: the avatar's media goes first
    try:
        import xllamacpp
    except ImportError:
        print(json.dumps({"error": "xllamacpp is not installed (pip install xllamacpp)"}), flush=True)
        os._exit(1)
    params = xllamacpp.CommonParams()
    params.model.path = str(config["model_path"])
    params.model_alias = {MODEL_ALIAS}
    params.n_ctx = config["n_ctx"]
    params.n_parallel = config["n_parallel"]
    params.cpuparams.n_threads = config["n_threads"]
    params.cpuparams_batch.n_threads = config["n_threads"]
    params.hostnames = [config["host"]]
    params.port = 0  # the OS picks a free port
    params.offline = True
    params.verbosity = config["verbosity"]
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:  # llama.cpp could not load the file (corrupt, not a GGUF, out of memory)
        print(json.dumps({"error": str(exc)}), flush=True)
        os._exit(1)
    print(json.dumps({"address": str(server.listening_address)}), flush=True)
    sys.stdin.read()  # returns when the parent closes our stdin or dies
    os._exit(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve a GGUF with llama.cpp until stdin closes (internal).")
    parser.add_argument("config", help="LocalServerConfig as JSON")
    _serve(json.loads(parser.parse_args().config))

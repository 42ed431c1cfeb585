"""A small Qwen GGUF served in-process by llama.cpp (xllamacpp), OpenAI-compatible, for development and tests.

``xllamacpp.Server`` loads the model and starts llama.cpp's native HTTP server on its own
threads; port 0 lets the OS pick a free port, which ``listening_address`` reports. The
model comes from ``MODELS_DIR/qwen`` (``python manage.py provision_models qwen2.5-0.5b-gguf``);
nothing is ever downloaded (``offline``).
"""
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from avatar_runtime.errors import ModelMissingError, ProviderError

logger = logging.getLogger(__name__)

PROVIDER = "llama.cpp"
GGUF_PATH = Path("qwen") / "qwen2.5-0.5b-instruct-q4.gguf"  # relative to MODELS_DIR (catalog: qwen2.5-0.5b-gguf)
MODEL_ALIAS = "qwen2.5-0.5b-instruct"


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
        self._server: Any = None
        self._address = ""

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
        if self._server is not None:
            return self.base_url
        path = self.config.model_path
        if not path.is_file():
            raise ModelMissingError(
                PROVIDER, f"{path} is missing (run: python manage.py provision_models qwen2.5-0.5b-gguf)"
            )
        try:
            import xllamacpp
        except ImportError as exc:
            raise ProviderError(PROVIDER, "xllamacpp is not installed (pip install xllamacpp)", retryable=False) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = {MODEL_ALIAS}
        params.n_ctx = self.config.n_ctx
        params.n_parallel = self.config.n_parallel
        params.cpuparams.n_threads = self.config.n_threads
        params.cpuparams_batch.n_threads = self.config.n_threads
        params.hostnames = [self.config.host]
        params.port = 0  # the OS picks a free port
        params.offline = True
        params.verbosity = self.config.verbosity
        started = time.monotonic()
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:  # llama.cpp could not load the file (corrupt, not a GGUF, out of memory)
            raise ProviderError(PROVIDER, f"could not serve {path.name}: {exc}", retryable=False) from exc
        self._address = str(self._server.listening_address)
        self._wait_healthy(started + self.config.startup_timeout)
        logger.info("local llama.cpp server on %s (%.1f s to start)", self._address, time.monotonic() - started)
        return self.base_url

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
        """Stop serving and free the model (the server's destructor joins its threads)."""
        server, self._server, self._address = self._server, None, ""
        del server

    def __enter__(self) -> "LocalLlamaServer":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

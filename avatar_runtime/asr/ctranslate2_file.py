"""Is a CTranslate2 ``model.bin`` whole? Its header lists every variable with its byte size; walk them.

A model split across registry packages can arrive short (the registry's Whisper small upload is
188,743,680 bytes of a 483 MB float16 model, cut inside variable 124 of 406): CTranslate2 then
refuses it only when loading, seconds into a worker's start. Walking the variable table costs a
few hundred small reads and seeks, cheap enough for ``doctor`` on every run.

The layout (CTranslate2's ``models/model.cc``, format version 4 and later): u32 version, the spec's
name (u16 length + bytes), u32 revision, u32 variable count, then per variable its name, u8 rank,
rank x u32 dimensions, u8 type, u32 byte count and the bytes; then a u32 count of aliases and their
pairs of names. Integers are little-endian.
"""
import struct
from pathlib import Path
from typing import BinaryIO

_MIN_VERSION = 4  # variables carry their byte count from this version on


class _Short(Exception):
    pass


def _read(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise _Short
    return data


def _u8(handle: BinaryIO) -> int:
    return _read(handle, 1)[0]


def _u16(handle: BinaryIO) -> int:
    return int(struct.unpack("<H", _read(handle, 2))[0])


def _u32(handle: BinaryIO) -> int:
    return int(struct.unpack("<I", _read(handle, 4))[0])


def _string(handle: BinaryIO) -> str:
    return _read(handle, _u16(handle)).rstrip(b"\0").decode("utf-8", "replace")


def ctranslate2_problem(path: Path) -> str | None:
    """What is wrong with the CTranslate2 model file at ``path`` (None: every variable is there)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        try:
            version = _u32(handle)
            if not _MIN_VERSION <= version <= 64:
                return f"{path.name} is not a CTranslate2 model (format version {version})"
            _string(handle)
            _u32(handle)
            count = _u32(handle)
            for index in range(count):
                name = _string(handle)
                rank = _u8(handle)
                _read(handle, 4 * rank)
                _u8(handle)
                payload = _u32(handle)
                end = handle.tell() + payload
                if end > size:
                    return (f"{path.name} is truncated: variable {index + 1} of {count} ({name}) ends at byte {end}, "
                            f"the file has {size}")
                handle.seek(end)
            for _ in range(_u32(handle)):
                _string(handle)
                _string(handle)
        except _Short:
            return f"{path.name} is truncated inside its variable table ({size} bytes)"
    return None

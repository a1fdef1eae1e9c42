"""Drum kits: GM bank-128 programs, the kit used for each genre, and sound-font checks.

FluidSynth selects a drum kit by a program change on the drum channel. When the sound
font has no such preset it silently substitutes the Standard kit (a warning on stderr,
exit code 0), which would make every genre sound the same without anyone noticing. So
we check the preset list of the sound font itself before rendering.
"""

import functools
import struct
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from drumeval.errors import AudioError

DRUM_BANK = 128  # the GM/GS percussion bank in SoundFont 2 files

KITS: MappingProxyType[str, int] = MappingProxyType(
    {"standard": 0, "electronic": 24, "tr808": 25, "jazz": 32, "brush": 40}
)

# One kit per genre, used for every clip of the genre (both models), so a listener
# cannot tell the models apart by their sound.
GENRE_KITS: MappingProxyType[str, str] = MappingProxyType(
    {"techno-house": "tr808", "jazz-soul": "jazz"}
)

_PHDR_RECORD = struct.Struct("<20sHHHIII")  # SoundFont 2.04 §7.2 preset header, 38 bytes


def kit_program(kit: str) -> int:
    """Bank-128 program number of a named kit; AudioError lists the known names."""
    try:
        return KITS[kit]
    except KeyError:
        raise AudioError(f"unknown drum kit {kit!r}; choose one of {', '.join(KITS)}") from None


def kit_for_genre(genre: str, *, overrides: Mapping[str, str] | None = None) -> str:
    """The kit every clip of `genre` is rendered with (`overrides` maps genre → kit)."""
    table = {**GENRE_KITS, **(overrides or {})}
    if genre not in table:
        raise AudioError(f"unknown genre {genre!r}; choose one of {', '.join(table)}")
    kit = table[genre]
    kit_program(kit)
    return kit


def parse_preset_headers(data: bytes) -> frozenset[tuple[int, int]]:
    """(bank, program) of every preset in a `phdr` chunk body (the final EOP record excluded)."""
    count = len(data) // _PHDR_RECORD.size
    presets = set()
    for index in range(count - 1):
        _, program, bank, *_ = _PHDR_RECORD.unpack_from(data, index * _PHDR_RECORD.size)
        presets.add((bank, program))
    return frozenset(presets)


def _read_chunk_header(handle) -> tuple[bytes, int]:
    header = handle.read(8)
    if len(header) < 8:
        raise AudioError(f"sound font {handle.name} is truncated (no pdta/phdr chunk)")
    chunk_id, size = struct.unpack("<4sI", header)
    return chunk_id, size


def _find_phdr(handle, end: int) -> bytes:
    """Walk RIFF chunks up to `end`, descending into LIST chunks, seeking past sample data."""
    while handle.tell() + 8 <= end:
        chunk_id, size = _read_chunk_header(handle)
        body_start = handle.tell()
        if chunk_id == b"LIST":
            handle.read(4)  # list type: INFO, sdta or pdta
            found = _find_phdr(handle, body_start + size)
            if found:
                return found
        elif chunk_id == b"phdr":
            return handle.read(size)
        handle.seek(body_start + size + (size & 1))
    return b""


@functools.lru_cache(maxsize=8)
def _soundfont_presets_cached(path: str, size: int, mtime_ns: int) -> frozenset[tuple[int, int]]:
    with open(path, "rb") as handle:
        chunk_id, riff_size = _read_chunk_header(handle)
        if chunk_id != b"RIFF" or handle.read(4) != b"sfbk":
            raise AudioError(f"{path} is not a SoundFont 2 file (no RIFF sfbk header)")
        phdr = _find_phdr(handle, 8 + riff_size)
    if not phdr:
        raise AudioError(f"sound font {path} has no preset headers (phdr chunk)")
    return parse_preset_headers(phdr)


def soundfont_presets(path: Path) -> frozenset[tuple[int, int]]:
    """All (bank, program) presets of an .sf2 file; read once per file version."""
    stat = Path(path).stat()
    return _soundfont_presets_cached(str(path), stat.st_size, stat.st_mtime_ns)


def check_kit_available(kit: str, soundfont: Path) -> int:
    """The kit's program, after checking the sound font really has it (else AudioError)."""
    program = kit_program(kit)
    if (DRUM_BANK, program) not in soundfont_presets(soundfont):
        raise AudioError(
            f"sound font {soundfont} has no {kit!r} kit (bank {DRUM_BANK}, program {program}); "
            "FluidSynth would silently use the Standard kit. Install fluid-soundfont-gm "
            "or choose another kit"
        )
    return program

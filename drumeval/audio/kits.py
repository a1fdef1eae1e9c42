"""Drum kits: GM bank-128 programs, the kit used for each genre, and sound-font checks.

FluidSynth selects a drum kit by a program change on the drum channel. When the sound
font has no such preset it silently substitutes the Standard kit (a warning on stderr,
exit code 0), which would make every genre sound the same without anyone noticing. So
we check the preset list of the sound font itself before rendering.
"""

import struct
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from drumeval.audio.sf2 import pdta_chunks
from drumeval.errors import AudioError
from drumeval.registry import GENRES

DRUM_BANK = 128  # the GM/GS percussion bank in SoundFont 2 files

KITS: MappingProxyType[str, int] = MappingProxyType(
    {"standard": 0, "electronic": 24, "tr808": 25, "jazz": 32, "brush": 40}
)

# One kit per genre (`registry.GENRES`), used for every clip of the genre (every model), so
# a listener cannot tell the models apart by their sound.
GENRE_KITS: MappingProxyType[str, str] = MappingProxyType(
    {name: genre.kit for name, genre in GENRES.items()}
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


def soundfont_presets(path: Path) -> frozenset[tuple[int, int]]:
    """All (bank, program) presets of an .sf2 file; read once per file version."""
    return parse_preset_headers(pdta_chunks(path)[b"phdr"])


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

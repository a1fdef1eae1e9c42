"""Reading a SoundFont 2 file's preset data (the `pdta` list) without loading its samples.

The fast renderer needs two facts FluidSynth applies silently: the velocities at which a
drum key switches to another sample (velocity layers), and the exclusive classes that
make one key cut another off (an open hi-hat choked by the closed one). Both live in the
zone generators of the preset and its instruments (SoundFont 2.04 §7.2–§7.9).
"""

import functools
import struct
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from drumeval.errors import AudioError

_PDTA_CHUNKS = (b"phdr", b"pbag", b"pgen", b"inst", b"ibag", b"igen")
_PHDR = struct.Struct("<20sHHHIII")  # name, program, bank, first zone, 3 reserved
_BAG = struct.Struct("<HH")  # first generator, first modulator
_GEN = struct.Struct("<HH")  # operator, amount
_INST = struct.Struct("<20sH")  # name, first zone
GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VELOCITY_RANGE = 44
GEN_SAMPLE_ID = 53
GEN_EXCLUSIVE_CLASS = 57
_FULL_RANGE = 127 << 8  # lo 0, hi 127 (ranges are two bytes: lo, hi)


@dataclass(frozen=True)
class KitZones:
    """What a drum preset does per key beyond playing its sample."""

    exclusive_class: Mapping[int, int]  # key → class (keys without a class are absent)
    velocity_splits: Mapping[int, tuple[int, ...]]  # key → first velocity of each layer


def _read_chunk_header(handle) -> tuple[bytes, int]:
    header = handle.read(8)
    if len(header) < 8:
        raise AudioError(f"sound font {handle.name} is truncated (no pdta/phdr chunk)")
    chunk_id, size = struct.unpack("<4sI", header)
    return chunk_id, size


def _collect_chunks(handle, end: int, found: dict[bytes, bytes]) -> None:
    """Walk RIFF chunks up to `end`, descending into LIST chunks, seeking past sample data."""
    while handle.tell() + 8 <= end:
        chunk_id, size = _read_chunk_header(handle)
        body_start = handle.tell()
        if chunk_id == b"LIST":
            handle.read(4)  # list type: INFO, sdta or pdta
            _collect_chunks(handle, body_start + size, found)
        elif chunk_id in _PDTA_CHUNKS:
            found[chunk_id] = handle.read(size)
        handle.seek(body_start + size + (size & 1))


@functools.lru_cache(maxsize=8)
def _pdta_cached(path: str, size: int, mtime_ns: int) -> Mapping[bytes, bytes]:
    with open(path, "rb") as handle:
        chunk_id, riff_size = _read_chunk_header(handle)
        if chunk_id != b"RIFF" or handle.read(4) != b"sfbk":
            raise AudioError(f"{path} is not a SoundFont 2 file (no RIFF sfbk header)")
        found: dict[bytes, bytes] = {}
        _collect_chunks(handle, 8 + riff_size, found)
    if b"phdr" not in found:
        raise AudioError(f"sound font {path} has no preset headers (phdr chunk)")
    return MappingProxyType(found)


def pdta_chunks(path: Path) -> Mapping[bytes, bytes]:
    """The preset-data chunks of an .sf2 file by id (phdr, pbag, …); read once per version."""
    stat = Path(path).stat()
    return _pdta_cached(str(path), stat.st_size, stat.st_mtime_ns)


def _records(data: bytes, record: struct.Struct) -> list[tuple]:
    return [record.unpack_from(data, offset) for offset in range(0, len(data), record.size)]


def _zones(bags: list[tuple], generators: list[tuple], first: int, end: int) -> list[dict]:
    """Generator dicts of the zones [first, end); a first zone without `link` is global."""
    return [dict(generators[bags[bag][0] : bags[bag + 1][0]]) for bag in range(first, end)]


def _split_global(zones: list[dict], link: int) -> tuple[dict, list[dict]]:
    if zones and link not in zones[0]:
        return zones[0], zones[1:]
    return {}, zones


def _range(amount: int) -> range:
    return range(amount & 0xFF, (amount >> 8) + 1)


def kit_zones(path: Path, bank: int, program: int) -> KitZones:
    """Exclusive classes and velocity layers per key of one preset (AudioError if absent)."""
    stat = Path(path).stat()
    return _kit_zones_cached(str(path), stat.st_size, stat.st_mtime_ns, bank, program)


@functools.lru_cache(maxsize=32)
def _kit_zones_cached(path: str, size: int, mtime_ns: int, bank: int, program: int) -> KitZones:
    chunks = _pdta_cached(path, size, mtime_ns)
    try:
        presets = _records(chunks[b"phdr"], _PHDR)
        preset_bags = _records(chunks[b"pbag"], _BAG)
        preset_gens = _records(chunks[b"pgen"], _GEN)
        instruments = _records(chunks[b"inst"], _INST)
        instrument_bags = _records(chunks[b"ibag"], _BAG)
        instrument_gens = _records(chunks[b"igen"], _GEN)
    except (KeyError, struct.error):
        raise AudioError(f"sound font {path} has damaged preset data") from None
    index = next((i for i, p in enumerate(presets[:-1]) if (p[2], p[1]) == (bank, program)), None)
    if index is None:
        raise AudioError(f"sound font {path} has no preset bank {bank}, program {program}")
    exclusive: dict[int, int] = {}
    splits: defaultdict[int, set[int]] = defaultdict(set)
    zones = _zones(preset_bags, preset_gens, presets[index][3], presets[index + 1][3])
    preset_global, preset_zones = _split_global(zones, GEN_INSTRUMENT)
    for preset_zone in preset_zones:
        preset_keys = preset_zone.get(GEN_KEY_RANGE, preset_global.get(GEN_KEY_RANGE))
        keys = set(_range(_FULL_RANGE if preset_keys is None else preset_keys))
        instrument = preset_zone[GEN_INSTRUMENT]
        first, end = instruments[instrument][1], instruments[instrument + 1][1]
        inst_global, inst_zones = _split_global(
            _zones(instrument_bags, instrument_gens, first, end), GEN_SAMPLE_ID
        )
        for zone in inst_zones:
            merged = {**inst_global, **zone}
            velocities = _range(merged.get(GEN_VELOCITY_RANGE, _FULL_RANGE))
            for key in keys & set(_range(merged.get(GEN_KEY_RANGE, _FULL_RANGE))):
                splits[key].update((velocities.start, velocities.stop))
                if merged.get(GEN_EXCLUSIVE_CLASS, 0):
                    exclusive[key] = merged[GEN_EXCLUSIVE_CLASS]
    return KitZones(
        exclusive_class=MappingProxyType(exclusive),
        velocity_splits=MappingProxyType(
            {key: tuple(sorted(starts - {0, 128})) for key, starts in splits.items()}
        ),
    )

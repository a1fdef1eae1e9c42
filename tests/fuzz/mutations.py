"""Seeded MIDI mutators: valid files bent the ways real-world and hostile files are bent.

Blind byte noise mostly breaks the `MThd` magic and tests one early check; these mutators
also aim at the structure a reader trusts: chunk and header length fields, variable-length
delta times, running status, meta and SysEx lengths, truncation at every depth. Each case
is reproducible from (seed, index) alone.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.data import malformed
from tests.data.malformed import END_OF_TRACK, TPQ, chunk, header, hits, meter, tempo, vlq

GROOVE = Path(__file__).resolve().parents[2] / "data" / "groove"
GROOVE_SEEDS = (
    "drummer7/session3/148_soul_105_fill_4-4.mid",
    "drummer7/session3/157_soul_98_fill_4-4.mid",
)

Mutator = Callable[[bytearray, np.random.Generator], bytearray]


def _format_one() -> bytes:
    """Two tracks: a tempo map track and a drum track (the common DAW export)."""
    conductor = tempo(96) + meter(4, 4) + END_OF_TRACK
    drums = hits([36, 38, 42, 46], steps=32) + END_OF_TRACK
    return header(num_tracks=2, midi_format=1) + chunk(conductor) + chunk(drums)


def _running_status() -> bytes:
    """Hits written with running status and note-on velocity 0 as note-off."""
    events = b"\x00\x99\x24\x64" + b"".join(
        vlq(TPQ // 8) + b"\x24\x00" + vlq(TPQ // 8) + bytes([38 if i % 2 else 36, 90])
        for i in range(31)
    )
    return malformed.smf(tempo(110), events)


def seed_files() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of the valid files every case starts from."""
    seeds = [
        ("four_bar_beat", malformed.four_bar_beat()),
        ("rmid_wrapper", malformed.rmid(malformed.four_bar_beat())),
        ("no_note_off", malformed.no_note_off()),
        ("format_one", _format_one()),
        ("running_status", _running_status()),
    ]
    seeds += [(Path(name).stem, (GROOVE / name).read_bytes()) for name in GROOVE_SEEDS]
    return tuple(seeds)


def _chunk_offsets(data: bytearray) -> list[int]:
    """Offsets of the 4-byte length fields of the header and of every chunk that parses."""
    start = data.find(b"MThd")
    if start < 0:
        return []
    offsets, position = [start + 4], start + 14
    while position + 8 <= len(data):
        offsets.append(position + 4)
        (length,) = struct.unpack(">I", data[position + 4 : position + 8])
        position += 8 + length
    return offsets


def _event_offset(data: bytearray, rng: np.random.Generator) -> int:
    """A position inside the MTrk payloads (where the events are), else anywhere."""
    tracks = [i + 8 for i in range(len(data) - 8) if data[i : i + 4] == b"MTrk"]
    if not tracks:
        return int(rng.integers(len(data))) if data else 0
    start = tracks[int(rng.integers(len(tracks)))]
    return int(rng.integers(start, len(data))) if start < len(data) else len(data) - 1


def flip_bytes(data: bytearray, rng: np.random.Generator) -> bytearray:
    for _ in range(int(rng.integers(1, 8))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    return data


def flip_bits(data: bytearray, rng: np.random.Generator) -> bytearray:
    for _ in range(int(rng.integers(1, 8))):
        data[_event_offset(data, rng)] ^= 1 << int(rng.integers(8))
    return data


def cut_span(data: bytearray, rng: np.random.Generator) -> bytearray:
    start = _event_offset(data, rng)
    del data[start : start + int(rng.integers(1, 64))]
    return data


def insert_bytes(data: bytearray, rng: np.random.Generator) -> bytearray:
    position = _event_offset(data, rng)
    noise = rng.integers(0, 256, int(rng.integers(1, 32)), dtype=np.uint8)
    data[position:position] = noise.tobytes()
    return data


def truncate(data: bytearray, rng: np.random.Generator) -> bytearray:
    return data[: int(rng.integers(len(data)))]


def length_field(data: bytearray, rng: np.random.Generator) -> bytearray:
    """Overwrite a header or chunk length with 0, ±small, huge or random values."""
    offsets = _chunk_offsets(data)
    if not offsets:
        return flip_bytes(data, rng)
    offset = offsets[int(rng.integers(len(offsets)))]
    (length,) = struct.unpack(">I", data[offset : offset + 4])
    choices = (0, 1, 5, 7, length - 1, length + 1, length * 2, 0x7FFFFFFF, 0xFFFFFFFF,
               int(rng.integers(2**32)))  # fmt: skip
    value = int(choices[int(rng.integers(len(choices)))]) % 2**32
    data[offset : offset + 4] = struct.pack(">I", value)
    return data


def header_fields(data: bytearray, rng: np.random.Generator) -> bytearray:
    """Format, track count and division: 0, 1, 2, 3, 0x7FFF, 0x8000 (SMPTE), 0xFFFF…"""
    start = data.find(b"MThd")
    if start < 0 or start + 14 > len(data):
        return flip_bytes(data, rng)
    field = start + 8 + 2 * int(rng.integers(3))
    values = (0, 1, 2, 3, 16, 0x7FFF, 0x8000, 0xE728, 0xFFFF, int(rng.integers(2**16)))
    data[field : field + 2] = struct.pack(">H", int(values[int(rng.integers(len(values)))]))
    return data


def huge_delta(data: bytearray, rng: np.random.Generator) -> bytearray:
    """A long (up to 4-byte and over-long 5-byte) delta time spliced before an event."""
    position = _event_offset(data, rng)
    value = int(rng.choice([0x0FFFFFFF, 0x3FFF, 0x1FFFFF, int(rng.integers(2**28))]))
    spliced = vlq(value) if rng.random() < 0.8 else b"\xff\xff\xff\xff\x7f"
    data[position:position] = spliced
    return data


def running_status_abuse(data: bytearray, rng: np.random.Generator) -> bytearray:
    """Drop status bytes, insert bare data bytes, or system messages inside a running run."""
    position = _event_offset(data, rng)
    kind = int(rng.integers(4))
    if kind == 0:
        for index in range(position, len(data)):
            if 0x80 <= data[index] < 0xF0:
                del data[index]
                break
    elif kind == 1:
        data[position:position] = bytes([int(rng.integers(0x80)), int(rng.integers(0x80))])
    elif kind == 2:
        data[position:position] = bytes([0, int(rng.choice([0xF1, 0xF2, 0xF8, 0xFE, 0xF4]))])
    else:
        data[position:position] = b"\x00" + bytes([0xC9 | 0, 0x7F])
    return data


def meta_lengths(data: bytearray, rng: np.random.Generator) -> bytearray:
    """Splice a meta or SysEx event whose declared length lies (short, long, huge)."""
    position = _event_offset(data, rng)
    meta_type = int(rng.choice([0x01, 0x2F, 0x51, 0x58, 0x59, 0x7F]))
    declared = int(rng.choice([0, 1, 2, 3, 4, 200, 0x0FFFFFFF]))
    body = bytes(int(rng.integers(256)) for _ in range(int(rng.integers(0, 6))))
    if rng.random() < 0.7:
        event = b"\x00\xff" + bytes([meta_type]) + vlq(declared) + body
    else:
        event = b"\x00\xf0" + vlq(declared) + body
    data[position:position] = event
    return data


def duplicate_chunk(data: bytearray, rng: np.random.Generator) -> bytearray:
    """Repeat the file's tail (extra tracks or alien chunks the header does not declare)."""
    tail = bytes(data[14:] if len(data) > 14 else data)
    for _ in range(int(rng.integers(1, 4))):
        data += tail
    return data


def tempo_storm() -> bytes:
    """20,000 tempo changes, each before a drum hit (quadratic once: minutes in the reader)."""
    step = b"\x00\xff\x51\x03\x07\xa1\x20" + b"\x00\x99\x24\x64" + b"\x02\x89\x24\x00"
    return malformed.smf(step * 20_000)


def note_on_pileup() -> bytes:
    """30,000 note-ons of one pitch, then their 30,000 note-offs (a queue per pitch)."""
    return malformed.smf(b"\x00\x99\x24\x64" + b"\x01\x24\x64" * 29_999 + b"\x00\x24\x00" * 30_000)


def event_flood() -> bytes:
    """600,000 controller messages in running status: 1.8 MB, under the byte cap."""
    return malformed.smf(b"\x00\xb9\x07\x64" + b"\x00\x07\x64" * 599_999)


HOSTILE_FILES: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("hostile-tempo_storm", tempo_storm),
    ("hostile-note_on_pileup", note_on_pileup),
    ("hostile-event_flood", event_flood),
)

MUTATORS: tuple[Mutator, ...] = (
    flip_bytes, flip_bits, cut_span, insert_bytes, truncate, length_field, header_fields,
    huge_delta, running_status_abuse, meta_lengths, duplicate_chunk,
)  # fmt: skip


@dataclass(frozen=True)
class FuzzCase:
    name: str  # <index>-<seed file>-<mutators>: the index orders the cases as made
    data: bytes


def make_cases(count: int, *, seed: int = 0) -> list[FuzzCase]:
    """`count` mutated files, each from a seed file by 1–3 mutators chosen by `seed`."""
    rng = np.random.default_rng(seed)
    seeds = seed_files()
    cases = []
    for index in range(count):
        seed_name, original = seeds[index % len(seeds)]
        data = bytearray(original)
        applied = []
        for _ in range(int(rng.integers(1, 4))):
            mutator = MUTATORS[int(rng.integers(len(MUTATORS)))]
            if not data:
                break
            data = mutator(data, rng)
            applied.append(mutator.__name__)
        cases.append(FuzzCase(f"{index:05d}-{seed_name}-{'+'.join(applied)}", bytes(data)))
    return cases

"""A suite of malformed (and tricky-but-valid) MIDI files, built byte by byte at test time.

Each case names the error class and a fragment of the message the loader must give, so
the tests prove that every trap in PLATFORM_NOTES gets its own clear reason. Valid cases
(`error=None`) give the hits per class the loader must find.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumeval.data.midi import variable_length_quantity
from drumeval.errors import (
    DrumevalError,
    FileTooLargeError,
    InvalidMidiError,
    NoDrumsError,
    UnsupportedMeterError,
)

TPQ = 480
SIXTEENTH = TPQ // 4
END_OF_TRACK = b"\x00\xff\x2f\x00"


vlq = variable_length_quantity


def header(num_tracks: int = 1, midi_format: int = 0, division: int = TPQ) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, midi_format, num_tracks, division)


def chunk(payload: bytes, length: int | None = None) -> bytes:
    return b"MTrk" + struct.pack(">I", len(payload) if length is None else length) + payload


def tempo(qpm: float = 120.0, microseconds: int | None = None) -> bytes:
    value = round(6e7 / qpm) if microseconds is None else microseconds
    return b"\x00\xff\x51\x03" + value.to_bytes(3, "big")


def meter(numerator: int, denominator: int, delta: int = 0) -> bytes:
    return vlq(delta) + b"\xff\x58\x04" + bytes([numerator, denominator.bit_length() - 1, 24, 8])


def hits(
    pitches: list[int], *, channel: int = 9, steps: int = 16, note_ticks: int = SIXTEENTH // 2
) -> bytes:
    """One note per 16th step cycling through `pitches`, each `note_ticks` long."""
    events = b""
    for step in range(steps):
        pitch = pitches[step % len(pitches)]
        delta = 0 if step == 0 else SIXTEENTH - note_ticks
        events += vlq(delta) + bytes([0x90 | channel, pitch, 100])
        events += vlq(note_ticks) + bytes([0x80 | channel, pitch, 0])
    return events


def timed(events: list[tuple[int, bytes]]) -> bytes:
    """Events at absolute ticks → delta-timed track bytes."""
    out, last = b"", 0
    for tick, message in sorted(events, key=lambda event: event[0]):
        out += vlq(tick - last) + message
        last = tick
    return out


def smf(*events: bytes, division: int = TPQ) -> bytes:
    """A format-0 file with one track of `events` (end-of-track appended)."""
    return header(division=division) + chunk(b"".join(events) + END_OF_TRACK)


def four_bar_beat() -> bytes:
    """4 bars: kick on beats, closed hat on off-16ths (GMD pitch 22 included)."""
    return smf(tempo(100), meter(4, 4), hits([36, 42, 22, 42], steps=64))


def rmid(midi: bytes) -> bytes:
    data = b"data" + struct.pack("<I", len(midi)) + midi + (b"\x00" if len(midi) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(data)) + b"RMID" + data


def no_note_off() -> bytes:
    events = b"".join(vlq(0 if i == 0 else TPQ) + bytes([0x99, 36, 100]) for i in range(8))
    return smf(tempo(), events)


def zero_length_notes() -> bytes:
    return smf(tempo(), hits([38], steps=8, note_ticks=0))


def giant_valid_file() -> bytes:
    """A well-formed file just over 5 MB (text meta events of 100 kB)."""
    text = b"".join(b"\x00\xff\x01" + vlq(100_000) + b"a" * 100_000 for _ in range(51))
    return smf(tempo(), text, hits([36], steps=16))


def too_many_notes() -> bytes:
    """200,001 drum hits with running status (≈ 600 kB, under the byte cap)."""
    return smf(b"\x00\x99\x24\x64" + b"\x00\x24\x64" * 200_000)


def too_long() -> bytes:
    """Two hits 45 minutes apart at 120 qpm (5,400 quarters)."""
    return smf(tempo(), b"\x00\x99\x24\x64", vlq(5_400 * TPQ) + b"\x99\x24\x64")


def huge_sysex() -> bytes:
    return smf(b"\x00\xf0" + vlq(2_000_000) + b"\x01" * 1_999_999 + b"\xf7", hits([36]))


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]
    error: type[DrumevalError] | None
    message: str  # fragment of the error message, or "" for valid files
    hits: tuple[int, ...] = ()  # expected hits per class for valid files


CASES: tuple[Case, ...] = (
    Case("empty", lambda: b"", InvalidMidiError, "file is empty"),
    Case(
        "random_bytes",
        lambda: np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        InvalidMidiError,
        "not a MIDI file",
    ),
    Case("truncated_chunk", lambda: four_bar_beat()[:200], InvalidMidiError, "only 178 remain"),
    Case(
        "truncated_event",
        lambda: header() + chunk(tempo() + b"\x00\x99\x24"),
        InvalidMidiError,
        "ends inside a channel message",
    ),
    Case(
        "wrong_track_count",
        lambda: header(num_tracks=2, midi_format=1) + chunk(hits([36]) + END_OF_TRACK),
        InvalidMidiError,
        "header declares 2 track(s) but the file has 1",
    ),
    Case(
        "smpte_division",
        lambda: smf(hits([36]), division=0xE728),
        InvalidMidiError,
        "SMPTE time division",
    ),
    Case(
        "chunk_length_ffffffff",
        lambda: header() + chunk(hits([36]) + END_OF_TRACK, length=0xFFFFFFFF),
        InvalidMidiError,
        "declares 4,294,967,295 bytes",
    ),
    Case(
        "header_length_ffffffff",
        lambda: b"MThd\xff\xff\xff\xff" + four_bar_beat()[8:],
        InvalidMidiError,
        "header declares length 4,294,967,295",
    ),
    Case(
        "running_status_without_status",
        lambda: smf(b"\x00\x24\x64"),
        InvalidMidiError,
        "data byte with no status byte",
    ),
    Case("zero_tempo", lambda: smf(tempo(microseconds=0), hits([36])), InvalidMidiError,
         "tempo of zero"),
    Case("huge_sysex", huge_sysex, InvalidMidiError, "SysEx message of 2,000,000 bytes"),
    Case("giant_valid_file", giant_valid_file, FileTooLargeError, "the limit is 5.0 MB"),
    Case("too_many_notes", too_many_notes, FileTooLargeError, "more than 200,000 notes"),
    Case("too_long", too_long, FileTooLargeError, "lasts 45.0 minutes"),
    Case(
        "too_many_quarters",
        lambda: smf(b"\x00\x99\x24\x64", vlq(13_000) + b"\x99\x24\x64", division=1),
        FileTooLargeError,
        "13,000 quarter notes long",
    ),
    Case(
        "meter_denominator_2_to_the_200",
        lambda: smf(b"\x00\xff\x58\x04\x04\xc8\x18\x08", hits([36])),
        InvalidMidiError,
        "denominator 2^200",
    ),
    Case(
        "bad_key_signature",
        lambda: smf(b"\x00\xff\x59\x02\x00\x4f", hits([36])),
        InvalidMidiError,
        "could not be parsed",
    ),
    Case(
        "no_drums_channel_1",
        lambda: smf(tempo(), hits([36, 38], channel=0)),
        NoDrumsError,
        "none on MIDI channel 10",
    ),
    Case("no_notes", lambda: smf(tempo()), NoDrumsError, "no notes at all"),
    Case("three_four", lambda: smf(meter(3, 4), hits([36])), UnsupportedMeterError,
         "file is in 3/4"),
    Case("seven_eight", lambda: smf(meter(7, 8), hits([36])), UnsupportedMeterError,
         "file is in 7/8"),
    Case(
        "meter_change",
        lambda: smf(meter(4, 4), hits([36], steps=16), meter(3, 4, delta=SIXTEENTH // 2),
                    hits([36], steps=12)),
        UnsupportedMeterError,
        "meter changes from 4/4 to 3/4",
    ),
    Case("four_bar_beat", four_bar_beat, None, "", hits=(16, 0, 48, 0, 0, 0, 0, 0, 0)),
    Case("rmid_wrapper", lambda: rmid(four_bar_beat()), None, "",
         hits=(16, 0, 48, 0, 0, 0, 0, 0, 0)),
    Case("zero_length_notes", zero_length_notes, None, "", hits=(0, 8, 0, 0, 0, 0, 0, 0, 0)),
    Case("no_note_off", no_note_off, None, "", hits=(8, 0, 0, 0, 0, 0, 0, 0, 0)),
)


def write_suite(directory: Path) -> dict[str, Path]:
    """Write every case as `<name>.mid` under `directory`; returns {name: path}."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for case in CASES:
        paths[case.name] = directory / f"{case.name}.mid"
        paths[case.name].write_bytes(case.make())
    return paths

"""Safe MIDI input and output for drum tracks.

MIDI files from the wild (Lakh, user uploads) trip pretty_midi and mido in ways that hang,
allocate gigabytes or fail with bare `EOFError`s (see PLATFORM_NOTES). So every file is
first scanned byte by byte with a tiny, linear Standard MIDI File walker that enforces
size, note, length and message limits and names the first problem it finds; only then is
it parsed with mido and turned into a note-seq `NoteSequence`. We convert mido → note-seq
ourselves rather than through pretty_midi because pretty_midi silently drops drum hits
without a note-off or with zero length, and drum hits are onsets: their length is noise.

From there the path is Magenta's: quantize to 4 steps per quarter, extract a note-seq
`DrumTrack`, and map its pitch sets onto the 9 drum classes as event ids.
"""

from __future__ import annotations

import bisect
import copy
import io
import math
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from drumeval.data.drum_classes import (
    CLASS_TO_PITCH,
    NUM_DRUM_CLASSES,
    PITCH_TO_CLASS,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
)
from drumeval.errors import (
    FileTooLargeError,
    InvalidMidiError,
    NoDrumsError,
    UnsupportedMeterError,
)

if TYPE_CHECKING:
    import pretty_midi
    from note_seq import NoteSequence

MAX_FILE_BYTES = 5_000_000
MAX_NOTES = 200_000
MAX_EVENTS = 500_000  # mido builds a Python object per event (~20 µs each): bounds the parse
MAX_MINUTES = 30.0
MAX_TICKS = 20_000_000  # pretty_midi-style tick→time tables are allocated per tick
MAX_QUARTERS = 12_000  # 30 minutes at 400 qpm; bounds the quantized grid, whatever the tempo
MAX_METER_EXPONENT = 6  # time signature denominators up to 64
MAX_MESSAGE_BYTES = 1_000_000  # mido refuses longer SysEx/meta messages
DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
DEFAULT_TEMPO_US = 500_000  # 120 qpm, the SMF default
MIN_NOTE_TICKS_DIVISOR = 8  # notes with no/zero length last a 32nd note
_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}


@dataclass(frozen=True)
class DrumTrackData:
    """One quantized drum performance (4 steps per quarter, 4/4)."""

    event_ids: np.ndarray
    qpm: float
    num_bars: int
    source: str
    hits_per_class: tuple[int, ...]


@dataclass(frozen=True)
class SmfScan:
    """What the byte-level scan learnt: enough to decide whether parsing is safe."""

    midi_format: int
    ticks_per_quarter: int
    tracks: tuple[bytes, ...]  # raw MTrk payloads, alien chunks dropped
    note_ons: int
    max_tick: int
    tempos: tuple[tuple[int, int], ...]  # (tick, microseconds per quarter)

    def seconds(self) -> float:
        """Length of the file in seconds at its tempo map."""
        return ticks_to_seconds(self.max_tick, self.tempos, self.ticks_per_quarter)


class TickClock:
    """Seconds at any tick of a tempo map of (tick, µs per quarter) changes (120 qpm before).

    The seconds at every change are summed once, so each lookup is a binary search: a file
    may hold 100,000s of tempo events, and a walk of the map per note would turn one
    upload into hours of work.
    """

    def __init__(self, tempos: tuple[tuple[int, int], ...], ticks_per_quarter: int) -> None:
        self._tpq = ticks_per_quarter
        self._ticks: list[int] = []
        self._tempos: list[int] = []
        self._seconds: list[float] = []
        seconds, last_tick, tempo = 0.0, 0, DEFAULT_TEMPO_US
        for change_tick, change_tempo in sorted(tempos):
            seconds += (change_tick - last_tick) * tempo / 1e6 / ticks_per_quarter
            last_tick, tempo = change_tick, change_tempo
            self._ticks.append(change_tick)
            self._tempos.append(change_tempo)
            self._seconds.append(seconds)

    def seconds(self, tick: int) -> float:
        index = bisect.bisect_left(self._ticks, tick) - 1  # the last change before `tick`
        if index < 0:
            return tick * DEFAULT_TEMPO_US / 1e6 / self._tpq
        elapsed = (tick - self._ticks[index]) * self._tempos[index] / 1e6 / self._tpq
        return self._seconds[index] + elapsed


def ticks_to_seconds(tick: int, tempos: tuple[tuple[int, int], ...], tpq: int) -> float:
    """Seconds at `tick` for a tempo map of (tick, µs per quarter) changes (120 qpm before)."""
    return TickClock(tempos, tpq).seconds(tick)


def unwrap_rmid(data: bytes) -> bytes:
    """The Standard MIDI File inside a RIFF `RMID` wrapper (or `data` unchanged).

    RMID is a Microsoft container whose `data` chunk is a complete SMF; neither mido
    nor pretty_midi unwraps it, but the music inside is perfectly valid.
    """
    if not data.startswith(b"RIFF"):
        return data
    if len(data) < 12 or data[8:12] != b"RMID":
        raise InvalidMidiError("RIFF file is not an RMID (MIDI) file")
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        (size,) = struct.unpack("<I", data[position + 4 : position + 8])
        body = data[position + 8 : position + 8 + size]
        if chunk_id == b"data":
            if len(body) < size:
                raise InvalidMidiError("RMID 'data' chunk is truncated")
            return body
        position += 8 + size + (size & 1)
    raise InvalidMidiError("RMID file has no 'data' chunk with MIDI inside")


def _read_vlq(data: bytes, position: int, end: int, where: str) -> tuple[int, int]:
    """A MIDI variable-length quantity (at most 4 bytes) and the position after it."""
    value = 0
    for offset in range(4):
        if position + offset >= end:
            raise InvalidMidiError(f"{where} is truncated (ends inside a length or delta time)")
        byte = data[position + offset]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, position + offset + 1
    raise InvalidMidiError(f"{where} has a variable-length number longer than 4 bytes")


@dataclass
class _TrackScan:
    note_ons: int = 0
    events: int = 0
    end_tick: int = 0
    end_position: int = 0  # bytes after end-of-track are ignored, as the standard says


def _scan_track(data: bytes, index: int, tempos: list[tuple[int, int]]) -> _TrackScan:
    """Walk one MTrk payload, checking every event's bounds; collect tempos and note-ons."""
    where = f"track {index + 1}"
    end, position, tick, running = len(data), 0, 0, None
    result = _TrackScan()
    while position < end:
        delta, position = _read_vlq(data, position, end, where)
        tick += delta
        result.events += 1
        if tick > MAX_TICKS:
            raise FileTooLargeError(
                f"{where} runs past tick {MAX_TICKS:,} (limit); the file is too long to read"
            )
        if position >= end:
            raise InvalidMidiError(f"{where} is truncated (ends after a delta time)")
        status = data[position]
        if status == 0xFF:
            if position + 1 >= end:
                raise InvalidMidiError(f"{where} is truncated (ends inside a meta event)")
            meta_type = data[position + 1]
            length, position = _read_vlq(data, position + 2, end, where)
            _check_message_length(length, "meta event", where)
            if position + length > end:
                raise InvalidMidiError(f"{where} is truncated (meta event runs past its end)")
            if meta_type == 0x58 and length >= 2 and data[position + 1] > MAX_METER_EXPONENT:
                raise InvalidMidiError(
                    f"{where} has a time signature with denominator 2^{data[position + 1]}"
                )
            if meta_type == 0x51 and length == 3:
                tempo = int.from_bytes(data[position : position + 3], "big")
                if tempo == 0:
                    raise InvalidMidiError(f"{where} sets a tempo of zero (0 µs per quarter)")
                tempos.append((tick, tempo))
            position += length
            if meta_type == 0x2F:
                break
        elif status in (0xF0, 0xF7):
            length, position = _read_vlq(data, position + 1, end, where)
            _check_message_length(length, "SysEx message", where)
            if position + length > end:
                raise InvalidMidiError(f"{where} is truncated (SysEx message runs past its end)")
            position += length
        else:
            if status & 0x80:
                if status >= 0xF0:
                    raise InvalidMidiError(
                        f"{where} has a system message 0x{status:02X} not allowed in a MIDI file"
                    )
                running, position = status, position + 1
            elif running is None:
                raise InvalidMidiError(f"{where} has a data byte with no status byte before it")
            size = _DATA_BYTES[running & 0xF0]
            if position + size > end:
                raise InvalidMidiError(f"{where} is truncated (ends inside a channel message)")
            if running & 0xF0 == 0x90 and data[position + 1] > 0:
                result.note_ons += 1
            position += size
    result.end_tick, result.end_position = tick, position
    return result


def _check_message_length(length: int, kind: str, where: str) -> None:
    if length > MAX_MESSAGE_BYTES:
        raise InvalidMidiError(
            f"{where} has a {kind} of {length:,} bytes; the limit is {MAX_MESSAGE_BYTES:,}"
        )


def _iter_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(chunk id, payload) for each chunk after the header; checks every declared length."""
    position = 14
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        (length,) = struct.unpack(">I", data[position + 4 : position + 8])
        remaining = len(data) - position - 8
        if length > remaining:
            raise InvalidMidiError(
                f"chunk {chunk_id.decode('latin-1')!r} declares {length:,} bytes "
                f"but only {remaining:,} remain "
                "(file truncated or corrupt)"
            )
        yield chunk_id, data[position + 8 : position + 8 + length]
        position += 8 + length


def scan_smf(data: bytes, *, max_notes: int = MAX_NOTES) -> SmfScan:
    """Validate Standard MIDI File bytes without trusting any length; raise on the first problem."""
    if not data:
        raise InvalidMidiError("file is empty")
    if not data.startswith(b"MThd"):
        raise InvalidMidiError("not a MIDI file (no 'MThd' header)")
    if len(data) < 14:
        raise InvalidMidiError("MIDI header is truncated")
    header_length, midi_format, num_tracks, division = struct.unpack(">IHHH", data[4:14])
    if header_length != 6:
        raise InvalidMidiError(f"MIDI header declares length {header_length:,}; it must be 6")
    if midi_format not in (0, 1, 2):
        raise InvalidMidiError(f"unknown MIDI format {midi_format}; expected 0, 1 or 2")
    if division & 0x8000:
        raise InvalidMidiError(
            "file uses SMPTE time division (frames per second), not beats; "
            "re-save it with ticks per quarter note"
        )
    if division == 0:
        raise InvalidMidiError("MIDI header has 0 ticks per quarter note")
    tracks = tuple(payload for chunk_id, payload in _iter_chunks(data) if chunk_id == b"MTrk")
    if len(tracks) != num_tracks:
        raise InvalidMidiError(
            f"header declares {num_tracks} track(s) but the file has {len(tracks)} "
            "(file truncated or corrupt)"
        )
    if midi_format == 0 and num_tracks != 1:
        raise InvalidMidiError(f"format 0 MIDI file must have 1 track, not {num_tracks}")
    tempos: list[tuple[int, int]] = []
    trimmed, note_ons, events, max_tick = [], 0, 0, 0
    for index, track in enumerate(tracks):
        scan = _scan_track(track, index, tempos)
        trimmed.append(track[: scan.end_position])
        note_ons += scan.note_ons
        if note_ons > max_notes:
            raise FileTooLargeError(f"file has more than {max_notes:,} notes (the limit)")
        events += scan.events
        if events > MAX_EVENTS:
            raise FileTooLargeError(f"file has more than {MAX_EVENTS:,} MIDI events (the limit)")
        max_tick = max(max_tick, scan.end_tick)
    return SmfScan(midi_format, division, tuple(trimmed), note_ons, max_tick, tuple(tempos))


def _clean_smf(scan: SmfScan) -> bytes:
    """Header + MTrk chunks only, so mido never meets alien chunks or trailing bytes."""
    header = b"MThd" + struct.pack(">IHHH", 6, scan.midi_format, len(scan.tracks),
                                   scan.ticks_per_quarter)
    chunks = (b"MTrk" + struct.pack(">I", len(track)) + track for track in scan.tracks)
    return header + b"".join(chunks)


def _check_path(path: Path, max_bytes: int) -> None:
    if not path.exists():
        raise InvalidMidiError(f"{path}: no such file")
    if path.is_dir():
        raise InvalidMidiError(f"{path} is a directory, not a MIDI file")
    size = path.stat().st_size
    if size > max_bytes:
        raise FileTooLargeError(
            f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB"
        )


def read_midi(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES) -> NoteSequence:
    """A validated MIDI file as a NoteSequence (times in seconds, all channels kept).

    Raises `InvalidMidiError` (or its `FileTooLargeError`) with the specific reason.
    """
    path = Path(path)
    _check_path(path, max_bytes)
    return midi_bytes_to_sequence(path.read_bytes(), source=path.name)


def midi_bytes_to_sequence(data: bytes, *, source: str = "MIDI data") -> NoteSequence:
    """Validate raw MIDI (or RMID) bytes, then parse them into a NoteSequence."""
    import mido
    from mido.midifiles.meta import KeySignatureError

    scan = scan_smf(unwrap_rmid(data))
    quarters = scan.max_tick / scan.ticks_per_quarter
    if quarters > MAX_QUARTERS:
        raise FileTooLargeError(
            f"file is {quarters:,.0f} quarter notes long; the limit is {MAX_QUARTERS:,}"
        )
    minutes = scan.seconds() / 60
    if minutes > MAX_MINUTES:
        raise FileTooLargeError(
            f"file lasts {minutes:.1f} minutes; the limit is {MAX_MINUTES:g} minutes"
        )
    try:
        midi = mido.MidiFile(file=io.BytesIO(_clean_smf(scan)), clip=True)
    except (OSError, EOFError, ValueError, KeyError, IndexError, KeySignatureError) as error:
        raise InvalidMidiError(f"{source}: MIDI data could not be parsed ({error})") from error
    sequence = _mido_to_sequence(midi, scan)
    sequence.filename = source
    return sequence


def _mido_to_sequence(midi, scan: SmfScan) -> NoteSequence:
    """mido events → NoteSequence, keeping every note-on (drum hits need no note-off)."""
    from note_seq.protobuf import music_pb2

    tpq = scan.ticks_per_quarter
    tempo_map = tuple(sorted(dict(sorted(scan.tempos)).items()))
    clock = TickClock(tempo_map, tpq)
    sequence = music_pb2.NoteSequence(ticks_per_quarter=tpq)
    if not tempo_map or tempo_map[0][0] > 0:
        sequence.tempos.add(time=0.0, qpm=6e7 / DEFAULT_TEMPO_US)
    for tick, tempo in tempo_map:
        sequence.tempos.add(time=clock.seconds(tick), qpm=6e7 / tempo)
    min_ticks = max(1, tpq // MIN_NOTE_TICKS_DIVISOR)
    for track_index, track in enumerate(midi.tracks):
        tick, open_notes, programs = 0, {}, {}
        for message in track:
            tick += message.time
            if message.type == "time_signature":
                sequence.time_signatures.add(
                    time=clock.seconds(tick),
                    numerator=message.numerator,
                    denominator=message.denominator,
                )
            elif message.type == "program_change":
                programs[message.channel] = message.program
            elif message.type == "note_on" and message.velocity > 0:
                started = open_notes.setdefault((message.channel, message.note), deque())
                started.append((tick, message.velocity, programs.get(message.channel, 0)))
            elif message.type in ("note_on", "note_off"):
                started = open_notes.get((message.channel, message.note))
                if started:
                    start, velocity, program = started.popleft()
                    _add_note(sequence, message.channel, message.note, velocity,
                              (start, max(tick, start + min_ticks)), track_index,
                              program, clock)
        for (channel, pitch), notes in open_notes.items():
            for start, velocity, program in notes:
                _add_note(sequence, channel, pitch, velocity, (start, start + min_ticks),
                          track_index, program, clock)
    sequence.notes.sort(key=lambda note: (note.start_time, note.pitch))
    sequence.total_time = max((note.end_time for note in sequence.notes), default=0.0)
    return sequence


def _add_note(sequence, channel, pitch, velocity, ticks, track_index, program, clock):
    sequence.notes.add(
        pitch=pitch,
        velocity=velocity,
        start_time=clock.seconds(ticks[0]),
        end_time=clock.seconds(ticks[1]),
        instrument=track_index * 16 + channel,
        program=program,
        is_drum=channel == DRUM_CHANNEL,
    )


def check_four_four(sequence: NoteSequence) -> None:
    """Raise `UnsupportedMeterError` unless the whole sequence is in 4/4 (none given = 4/4)."""
    signatures = sorted(sequence.time_signatures, key=lambda signature: signature.time)
    meters = [(signature.numerator, signature.denominator) for signature in signatures]
    if set(meters) <= {(4, 4)}:
        return
    current = meters[0] if signatures[0].time == 0 else (4, 4)
    if set(meters) == {current}:
        raise UnsupportedMeterError(
            f"file is in {current[0]}/{current[1]}; drumeval handles 4/4 only"
        )
    for signature, meter in zip(signatures, meters, strict=True):
        if meter != current:
            raise UnsupportedMeterError(
                f"meter changes from {current[0]}/{current[1]} to {meter[0]}/{meter[1]} "
                f"at {signature.time:.1f} s; drumeval handles files in 4/4 throughout"
            )


def drum_notes_only(sequence: NoteSequence) -> NoteSequence:
    """A copy with only the drum notes that map to a drum class; `NoDrumsError` if none."""
    drums = copy.deepcopy(sequence)
    del drums.notes[:]
    drums.notes.extend(
        note for note in sequence.notes if note.is_drum and note.pitch in PITCH_TO_CLASS
    )
    if drums.notes:
        return drums
    if any(note.is_drum for note in sequence.notes):
        raise NoDrumsError("drum channel has notes, but none on a General MIDI drum pitch")
    if sequence.notes:
        raise NoDrumsError(
            f"no drum notes: {len(sequence.notes)} notes, none on MIDI channel 10 "
            "(the General MIDI drum channel); move the drums to channel 10"
        )
    raise NoDrumsError("file has no notes at all")


def flatten_tempo(sequence: NoteSequence) -> NoteSequence:
    """Re-time a sequence to its first tempo, keeping each note's position in beats.

    Magenta's quantizer refuses tempo changes; drum patterns live on the beat grid, so
    mapping seconds → beats → seconds at one tempo quantizes them exactly where a
    musician would expect.
    """
    tempos = sorted(sequence.tempos, key=lambda tempo: tempo.time)
    if len({tempo.qpm for tempo in tempos}) <= 1 and (not tempos or tempos[0].time == 0):
        return sequence
    times = np.array([tempo.time for tempo in tempos])
    qpms = np.array([tempo.qpm for tempo in tempos])
    if times[0] > 0:
        times, qpms = np.r_[0.0, times], np.r_[120.0, qpms]
    beats_at = np.r_[0.0, np.cumsum(np.diff(times) * qpms[:-1] / 60)]

    def to_flat_seconds(seconds: float) -> float:
        index = int(np.searchsorted(times, seconds, side="right")) - 1
        beats = beats_at[index] + (seconds - times[index]) * qpms[index] / 60
        return float(beats * 60 / qpms[0])

    flat = copy.deepcopy(sequence)
    for note in flat.notes:
        note.start_time, note.end_time = to_flat_seconds(note.start_time), to_flat_seconds(
            note.end_time
        )
    for signature in flat.time_signatures:
        signature.time = to_flat_seconds(signature.time)
    del flat.tempos[:]
    flat.tempos.add(time=0.0, qpm=float(qpms[0]))
    flat.total_time = max((note.end_time for note in flat.notes), default=0.0)
    return flat


def pitch_sets_to_event_ids(events) -> np.ndarray:
    """note-seq DrumTrack events (frozensets of pitches) → int32 event ids."""
    return np.asarray(
        [sum({1 << PITCH_TO_CLASS[pitch] for pitch in pitches}) for pitches in events],
        dtype=np.int32,
    )


def hits_per_class(event_ids: np.ndarray) -> tuple[int, ...]:
    """How many steps hit each of the 9 classes."""
    ids = np.asarray(event_ids, dtype=np.int64)
    return tuple(int(((ids >> k) & 1).sum()) for k in range(NUM_DRUM_CLASSES))


def sequence_to_drum_track(sequence: NoteSequence, *, source: str = "") -> DrumTrackData:
    """Drums of a NoteSequence → quantized 16th-note event ids (Magenta's extraction path)."""
    from note_seq import drums_lib, sequences_lib

    check_four_four(sequence)
    drums = flatten_tempo(drum_notes_only(sequence))
    quantized = sequences_lib.quantize_note_sequence(drums, STEPS_PER_QUARTER)
    track = drums_lib.DrumTrack()
    gap_bars = quantized.total_quantized_steps // STEPS_PER_BAR + 2  # never split the track
    track.from_quantized_sequence(quantized, gap_bars=gap_bars, pad_end=True)
    event_ids = pitch_sets_to_event_ids(track)
    if not event_ids.size:
        raise NoDrumsError("no drum notes after quantization")
    qpm = float(drums.tempos[0].qpm) if drums.tempos else 120.0
    return DrumTrackData(
        event_ids=event_ids,
        qpm=qpm,
        num_bars=len(event_ids) // STEPS_PER_BAR,
        source=source or sequence.filename,
        hits_per_class=hits_per_class(event_ids),
    )


def load_drum_track(path: str | Path) -> DrumTrackData:
    """Read a MIDI file safely and return its drums as event ids (4/4 only)."""
    path = Path(path)
    return sequence_to_drum_track(read_midi(path), source=path.name)


def event_ids_to_pretty_midi(
    event_ids: np.ndarray, *, qpm: float = 120.0, kit_program: int = 0, velocity: int = 100
) -> pretty_midi.PrettyMIDI:
    """One drum instrument playing the event ids on a 16th-note grid at `qpm`.

    Built directly (not via note-seq) so the file has no empty piano part in front.
    """
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=float(qpm))
    drums = pretty_midi.Instrument(program=kit_program, is_drum=True, name="drums")
    step_seconds = 60.0 / qpm / STEPS_PER_QUARTER
    ids = np.asarray(event_ids, dtype=np.int64)
    for step in np.flatnonzero(ids):
        start = float(step * step_seconds)
        for drum_class in range(NUM_DRUM_CLASSES):
            if ids[step] >> drum_class & 1:
                drums.notes.append(
                    pretty_midi.Note(
                        velocity=velocity,
                        pitch=CLASS_TO_PITCH[drum_class],
                        start=start,
                        end=start + step_seconds,
                    )
                )
    midi.instruments.append(drums)
    return midi


WRITE_TICKS_PER_QUARTER = 220  # pretty_midi's default resolution: files as before, byte for byte


def variable_length_quantity(value: int) -> bytes:
    """An SMF variable-length quantity (7 bits per byte, high bit = more follows)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _chunk(kind: bytes, payload: bytes | bytearray) -> bytes:
    return kind + struct.pack(">I", len(payload)) + bytes(payload)


def event_ids_to_midi_bytes(
    event_ids: np.ndarray, *, qpm: float = 120.0, kit_program: int = 0, velocity: int = 100
) -> bytes:
    """The Standard MIDI File of `event_ids_to_pretty_midi(...)`, byte for byte, written directly.

    pretty_midi builds and validates a mido message per note on and off (~20 µs each: 0.1 s
    for one dense 2-minute track), a third of the CLI's 16-track run. Here a 16th step is
    `WRITE_TICKS_PER_QUARTER / 4` ticks, every note lasts one step, and events at one tick
    are ordered as pretty_midi orders them (by pitch, a note off before a note on), with
    running status as mido writes it. `tests/data/test_midi.py` compares both writers.
    """
    if not (0 <= kit_program <= 127 and 1 <= velocity <= 127 and 0 < qpm < math.inf):
        raise ValueError(
            f"no such MIDI file: program {kit_program}, velocity {velocity}, {qpm} qpm"
        )
    qpm = float(qpm)
    resolution = WRITE_TICKS_PER_QUARTER
    tick_scale = 60.0 / (qpm * resolution)  # pretty_midi's tempo arithmetic, kept exact
    tempo = int(6e7 / (60.0 / (tick_scale * resolution)))
    timing = bytearray(b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big"))
    timing += b"\x00\xff\x58\x04\x04\x02\x18\x08"  # 4/4, 24 clocks per click, 8 32nds
    timing += b"\x01\xff\x2f\x00"
    ids = np.asarray(event_ids, dtype=np.int64)
    steps, classes = np.nonzero((ids[:, None] >> np.arange(NUM_DRUM_CLASSES)) & 1)
    pitches = np.asarray(CLASS_TO_PITCH, dtype=np.int64)[classes]
    step_ticks = resolution // STEPS_PER_QUARTER
    ticks = np.concatenate([steps * step_ticks, (steps + 1) * step_ticks])
    notes = np.concatenate([pitches, pitches])
    velocities = np.concatenate([np.full_like(pitches, velocity), np.zeros_like(pitches)])
    order = np.lexsort((velocities, notes, ticks))
    name = b"drums"
    track = bytearray(b"\x00\xff\x03" + variable_length_quantity(len(name)) + name)
    track += bytes([0x00, 0xC0 | DRUM_CHANNEL, kit_program])
    status = bytes([0x90 | DRUM_CHANNEL])  # written once: running status for the rest
    previous = 0
    for tick, note, vel in zip(
        ticks[order].tolist(), notes[order].tolist(), velocities[order].tolist(), strict=True
    ):
        track += variable_length_quantity(tick - previous) + status + bytes((note, vel))
        previous, status = tick, b""
    track += variable_length_quantity(1) + b"\xff\x2f\x00"
    header = struct.pack(">HHH", 1, 2, resolution)
    return _chunk(b"MThd", header) + _chunk(b"MTrk", timing) + _chunk(b"MTrk", track)


def write_midi(
    event_ids: np.ndarray, path: str | Path, *, qpm: float = 120.0, kit_program: int = 0
) -> Path:
    """Write event ids as a one-drum-track MIDI file; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(event_ids_to_midi_bytes(event_ids, qpm=qpm, kit_program=kit_program))
    return path

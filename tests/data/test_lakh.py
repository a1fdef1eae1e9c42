"""Lakh MIDI filters on a tiny synthetic Lakh-like tree (TR… track-id directories)."""

import numpy as np
import pytest

from drumeval.data.corpus import load_corpus
from drumeval.data.lakh import (
    REASON_INVALID,
    REASON_METER,
    REASON_NO_DRUMS,
    REASON_NO_GENRE,
    REASON_SHORT,
    build_lakh_corpora,
    is_jazz_soul,
    is_techno_house,
    read_tags,
    track_id_from_path,
)
from drumeval.errors import DatasetError
from drumeval.metrics import kick_on_beat_share
from tests.data.malformed import SIXTEENTH, meter, smf, tempo, timed

FOUR_ON_THE_FLOOR = [36, 42, 46, 42]  # kick on every beat
SWING = [51, 0, 0, 51, 38, 0, 0, 51, 36, 0, 0, 51, 38, 0, 0, 51]


def track_id(letter: str) -> str:
    return "TR" + letter * 16


def drum_file(pattern: list[int], bars: int, *, numerator: int = 4, channel: int = 9) -> bytes:
    """`pattern` repeated over `bars` bars of 16ths; pitch 0 is a rest."""
    events = []
    for step in range(bars * 16):
        pitch = pattern[step % len(pattern)]
        if pitch:
            tick = step * SIXTEENTH
            events.append((tick, bytes([0x90 | channel, pitch, 100])))
            events.append((tick + SIXTEENTH // 2, bytes([0x80 | channel, pitch, 0])))
    return smf(tempo(125), meter(numerator, 4), timed(events))


@pytest.fixture
def lakh_tree(tmp_path):
    root = tmp_path / "lmd_matched"
    files = {
        ("A", "a1.mid"): drum_file(FOUR_ON_THE_FLOOR, 130),
        ("A", "a2.mid"): drum_file(FOUR_ON_THE_FLOOR, 20),
        ("B", "b.mid"): drum_file(SWING, 24),
        ("C", "c.mid"): drum_file(FOUR_ON_THE_FLOOR, 20, numerator=3),
        ("D", "d.mid"): drum_file(FOUR_ON_THE_FLOOR, 20, channel=0),
        ("E", "e.mid"): b"MThd garbage",
        ("F", "f.mid"): drum_file(FOUR_ON_THE_FLOOR, 8),
        ("G", "g.mid"): drum_file(SWING, 20),
    }
    for (letter, name), data in files.items():
        path = root / letter / letter / track_id(letter) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    tags = tmp_path / "tags.tsv"
    tags.write_text(f"{track_id('B')}\tjazz,smooth jazz\n{track_id('G')}\trock,soulful\n")
    return root, tags


def test_track_ids_and_tags(tmp_path):
    assert track_id_from_path(tmp_path / "R" / track_id("Q") / "x.mid") == track_id("Q")
    assert track_id_from_path(tmp_path / "0a1b.mid") is None
    csv = tmp_path / "tags.csv"
    csv.write_text(f'track_id,title,tags\n{track_id("A")},x,"acid jazz;house"\n')
    assert read_tags(csv) == {track_id("A"): ("acid jazz", "house")}
    plain = tmp_path / "plain.csv"
    plain.write_text(f"{track_id('B')},neo soul,pop\nnot-an-id,jazz\n")
    assert read_tags(plain) == {track_id("B"): ("neo soul", "pop")}
    assert is_jazz_soul(("neo soul",)) and not is_jazz_soul(("soulful house", "rock"))
    with pytest.raises(DatasetError, match="not found"):
        read_tags(tmp_path / "absent.tsv")


def test_four_on_the_floor_threshold():
    track = np.zeros(64, dtype=np.int32)
    track[::4] = 1
    assert is_techno_house(kick_on_beat_share(track))
    track[[4, 8]] = 0  # 14 of 16 beats = 87.5 %
    assert not is_techno_house(kick_on_beat_share(track))


def test_lakh_filters_report_and_corpora(lakh_tree, tmp_path):
    root, tags = lakh_tree
    ticks = []
    report = build_lakh_corpora(
        root,
        tmp_path / "out",
        kick_on_beat_share=kick_on_beat_share,
        tags_path=tags,
        progress=lambda *tick: ticks.append(tick),
    )
    assert report.files == 8
    assert ticks == [("MIDI files", done, 8) for done in range(1, 9)]
    assert dict(report.accepted) == {"techno-house": 2, "jazz-soul": 1}
    assert dict(report.rejected) == {
        REASON_METER: 1,
        REASON_NO_DRUMS: 1,
        REASON_INVALID: 1,
        REASON_SHORT: 1,
        REASON_NO_GENRE: 1,
    }
    assert "channel 10" in report.examples[REASON_NO_DRUMS][0]
    techno = load_corpus(tmp_path / "out" / "lakh-techno-house")
    assert techno.lengths.tolist() == [960, 960, 320]  # 130 bars → 60 + 60 (+10 dropped); 20
    assert techno.manifest["provenance"]["distinct_track_ids"] == 1
    assert not techno.is_eval.any()  # one track id: it cannot be split without leaking
    jazz = load_corpus(tmp_path / "out" / "lakh-jazz-soul")
    assert jazz.genre == "jazz-soul" and jazz.lengths.tolist() == [24 * 16]
    assert jazz.manifest["sources"] == [f"B/B/{track_id('B')}/b.mid"]


def test_without_tags_only_techno_house_is_built(lakh_tree, tmp_path):
    root, _ = lakh_tree
    report = build_lakh_corpora(root, tmp_path / "out", kick_on_beat_share=kick_on_beat_share)
    assert set(report.corpora) == {"lakh-techno-house"}
    assert report.rejected[REASON_NO_GENRE] == 2

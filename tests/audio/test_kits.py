import struct
from pathlib import Path

import pytest

from drumeval.audio.kits import (
    GENRE_KITS,
    KITS,
    check_kit_available,
    kit_for_genre,
    kit_program,
    parse_preset_headers,
    soundfont_presets,
)
from drumeval.audio.synth import DEFAULT_SOUNDFONT
from drumeval.errors import AudioError


def _phdr(presets: list[tuple[int, int]]) -> bytes:
    records = [
        struct.pack("<20sHHHIII", f"kit {p}".encode(), p, bank, i, 0, 0, 0)
        for i, (bank, p) in enumerate(presets)
    ]
    return b"".join(records) + struct.pack("<20sHHHIII", b"EOP", 0, 0, len(records), 0, 0, 0)


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def _tiny_sf2(path: Path, presets: list[tuple[int, int]]) -> Path:
    info = _chunk(b"LIST", b"INFO" + _chunk(b"ifil", struct.pack("<HH", 2, 1)))
    sdta = _chunk(b"LIST", b"sdta" + _chunk(b"smpl", b"\0" * 101))
    pdta = _chunk(b"LIST", b"pdta" + _chunk(b"phdr", _phdr(presets)))
    path.write_bytes(_chunk(b"RIFF", b"sfbk" + info + sdta + pdta))
    return path


def test_kit_programs_are_the_gm_bank_128_kits():
    assert dict(KITS) == {"standard": 0, "electronic": 24, "tr808": 25, "jazz": 32, "brush": 40}
    assert kit_program("tr808") == 25
    with pytest.raises(AudioError, match="unknown drum kit 'cowbell'"):
        kit_program("cowbell")


def test_each_genre_has_one_kit_and_it_can_be_overridden():
    assert kit_for_genre("techno-house") == "tr808"
    assert kit_for_genre("jazz-soul") == "jazz"
    assert kit_for_genre("jazz-soul", overrides={"jazz-soul": "brush"}) == "brush"
    assert set(GENRE_KITS) == {"techno-house", "jazz-soul"}
    with pytest.raises(AudioError, match="unknown genre"):
        kit_for_genre("polka")
    with pytest.raises(AudioError, match="unknown drum kit"):
        kit_for_genre("jazz-soul", overrides={"jazz-soul": "spoons"})


def test_preset_headers_parse_without_the_terminal_record():
    assert parse_preset_headers(_phdr([(128, 0), (0, 5)])) == {(128, 0), (0, 5)}


def test_kit_missing_from_the_sound_font_is_an_error(tmp_path):
    sf2 = _tiny_sf2(tmp_path / "tiny.sf2", [(128, 0), (0, 0)])
    assert soundfont_presets(sf2) == {(128, 0), (0, 0)}
    assert check_kit_available("standard", sf2) == 0
    with pytest.raises(AudioError, match=r"no 'jazz' kit .*silently"):
        check_kit_available("jazz", sf2)


def test_not_a_sound_font_is_an_error(tmp_path):
    bogus = tmp_path / "bogus.sf2"
    bogus.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(AudioError, match="not a SoundFont 2"):
        soundfont_presets(bogus)


def test_fluid_r3_has_every_kit():
    presets = soundfont_presets(DEFAULT_SOUNDFONT)
    assert {(128, program) for program in KITS.values()} <= presets

"""`drumeval inspect` and `drumeval data …` run in-process through `drumeval.cli.main`."""

import json

import numpy as np
import pytest

from drumeval.cli import main
from drumeval.cli.data_commands import drum_grid_lines
from drumeval.data.midi import load_drum_track
from tests.data import malformed
from tests.data.test_corpus import stand_in_track
from tests.data.test_lakh import FOUR_ON_THE_FLOOR, drum_file, track_id


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (whitespace-normalised: rich wraps long lines)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, " ".join(captured.out.split()), " ".join(captured.err.split())


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return malformed.write_suite(tmp_path_factory.mktemp("malformed"))


@pytest.fixture
def programmed_stand_in(monkeypatch):
    monkeypatch.setattr("drumeval.data.techno_house.generate_programmed_track", stand_in_track)


def test_drum_grid_lines_mark_hits_and_bar_lines():
    lines = drum_grid_lines(np.array([1, 0, 0, 0] * 4 + [3] + [0] * 15), bars=4)
    assert len(lines) == 9
    assert lines[0] == "kick         |x...x...x...x...|x...............|"
    assert lines[1] == "snare        |................|x...............|"


def test_inspect_shows_summary_and_grid(suite, capsys):
    code, out, err = run(["inspect", str(suite["four_bar_beat"])], capsys)
    assert code == 0 and not err
    assert "bars 4 · tempo 100.0 qpm · meter 4/4" in out
    assert "kick │ 16" in out and "closed_hihat │ 48" in out
    assert "kick |x...x...x...x...|x...x...x...x...|" in out


@pytest.mark.parametrize("case", [c for c in malformed.CASES if c.error], ids=lambda c: c.name)
def test_inspect_bad_file_exits_2_with_one_reason(case, suite, capsys):
    code, out, err = run(["inspect", str(suite[case.name])], capsys)
    assert code == 2
    assert case.message in err and err.startswith("error:")
    assert "Traceback" not in err + out


@pytest.mark.parametrize("name", ["absent.mid", ""])
def test_inspect_missing_file_or_directory(name, tmp_path, capsys):
    code, _, err = run(["inspect", str(tmp_path / name)], capsys)
    assert code == 2 and ("no such file" in err if name else "is a directory" in err)


def test_build_twice_gives_the_same_hash(tmp_path, capsys, programmed_stand_in):
    hashes = []
    for out in (tmp_path / "a", tmp_path / "b"):
        code, stdout, _ = run(["data", "build", "--corpus", "jazz-soul-700",
                               "--corpus", "techno-house-700", "--out", str(out)], capsys)
        assert code == 0 and "jazz-soul-700" in stdout
        hashes.append([json.loads((out / n / "manifest.json").read_text())["sha256"]
                       for n in ("jazz-soul-700", "techno-house-700")])
    assert hashes[0] == hashes[1]


def test_build_rejects_unknown_corpus(tmp_path, capsys):
    code, _, err = run(["data", "build", "--corpus", "polka-9", "--out", str(tmp_path)], capsys)
    assert code == 2 and "unknown corpus polka-9" in err


def test_stats_table_and_plot(tmp_path, capsys, programmed_stand_in):
    run(["data", "build", "--corpus", "techno-house-700", "--out", str(tmp_path)], capsys)
    plot = tmp_path / "stats.png"
    code, out, _ = run(["data", "stats", "--corpus", str(tmp_path / "techno-house-700"),
                        "--plot", str(plot)], capsys)
    assert code == 0
    assert "techno-house-700 │ 700 │ 630/70 │ 60.0 │ 8.0 │ 100%" in out
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_stats_of_a_missing_corpus_says_how_to_build_it(tmp_path, capsys):
    code, _, err = run(["data", "stats", "--corpus", "jazz-soul-700",
                        "--corpora-dir", str(tmp_path)], capsys)
    assert code == 2 and "drumeval data build" in err


def test_lakh_command_reports_reasons(tmp_path, capsys):
    root = tmp_path / "lmd"
    for letter, data in {"A": drum_file(FOUR_ON_THE_FLOOR, 20), "B": b"junk"}.items():
        path = root / track_id(letter) / "x.mid"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    code, out, _ = run(["data", "lakh", "--lmd", str(root), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert "accepted: techno-house │ 1" in out and "rejected: invalid MIDI │ 1" in out
    report = json.loads((tmp_path / "out" / "lakh_report.json").read_text())
    assert report["rejected"] == {"invalid MIDI": 1}
    assert (tmp_path / "out" / "lakh-techno-house" / "manifest.json").exists()


def test_programmed_writes_midi_and_sections_sidecars(tmp_path, capsys):
    from drumeval.data.programmed import generate_programmed_track

    code, _, _ = run(["data", "programmed", "--count", "2", "--seed", "7",
                      "--out", str(tmp_path)], capsys)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "programmed_7.json", "programmed_7.mid", "programmed_8.json", "programmed_8.mid"
    ]
    sidecar = json.loads((tmp_path / "programmed_8.json").read_text())
    track = generate_programmed_track(8)
    assert sidecar == json.loads(json.dumps(track.sidecar()))
    loaded = load_drum_track(tmp_path / "programmed_8.mid")
    assert round(loaded.qpm, 3) == track.qpm and sum(loaded.hits_per_class) == sum(
        bin(int(e)).count("1") for e in track.event_ids
    )
